"""dowel"""
