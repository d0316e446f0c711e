"""Hip-hinge lab station: force plate + depth camera -> CoP, hip travel, reps, verdicts."""

__version__ = "0.1.0"
