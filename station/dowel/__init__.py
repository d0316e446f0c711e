"""The virtual dowel: spine neutrality from the depth image, as a coach's dowel on the back would show it.

tracker (DowelTracker: one DowelFrame per depth frame) builds on the trunk's posterior outline (contour),
the regions that show the back itself (regions) and a real dowel found and read around (rod). frame holds
the result type and its small views; step runs it in the live path; series turns frames into per-rep
gaps and faults.
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "DowelFrame": "frame", "DowelTracker": "tracker", "DowelStep": "step", "is_dowel_drill": "step",
    "dowel_block": "series", "rep_dowel_gaps": "series", "dowel_faults": "series",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
