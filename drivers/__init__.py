"""Devices and their stand-ins, named in one registry (drivers.registry): the serial force plate, the
RealSense camera (live or a .db3 recording), and the simulator (drivers.sim) that pushes a virtual
subject through the same stacks. Imports from station only its shared base."""
