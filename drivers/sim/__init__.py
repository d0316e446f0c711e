"""The virtual subject and the stand-ins that push it through the real stacks."""
