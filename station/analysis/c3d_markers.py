"""C3D marker labels -> station marker names: the rule lives in station.markers.labels (moved there so the
live path, `--markers lsl:NAME`, maps a mocap stream by the same presets and `--markers` mapping); this
module keeps the names C3D import and its tests have always used."""

from station.markers.labels import (
    HARRINGTON_2007,
    STATION_NAMES,
    TROCHANTER_LABELS,
    choose_side,
    clean_label,
    harrington_hjc,
    map_markers,
    parse_mapping,
)

__all__ = ["HARRINGTON_2007", "STATION_NAMES", "TROCHANTER_LABELS", "choose_side", "clean_label",
           "harrington_hjc", "map_markers", "parse_mapping"]
