"""The virtual subject and the stand-ins that push it through the real stacks."""

from drivers.sim.subject import ARMS, PATTERNS, VirtualSubject

__all__ = ["ARMS", "PATTERNS", "VirtualSubject"]
