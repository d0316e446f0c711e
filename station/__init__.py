"""Hip-hinge lab station: force plate + depth camera -> CoP, hip travel, reps, verdicts.

The modules here are the shared base every package may import (config, errors, streams, results,
documents, lazy) and the command line (cli); each job has its own package (docs/architecture.md).
"""

__version__ = "0.1.0"
