"""The drill catalogue (metrics.md "Screening and progression"): ids, plain names, arm variations, loads.

Gated drills progress dowel_hinge -> bw_rdl -> weighted_rdl; the loaded variants are recorded and
analysed like any set but have no gate of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from station.errors import StationError


@dataclass(frozen=True)
class Drill:
    id: str
    name: str
    gated: bool  # part of the dowel -> bodyweight -> weighted progression
    takes_arms: bool = False
    takes_load: bool = False
    short: str = ""  # for sentences: "dowel hinge", "bodyweight RDL"
    holds_dowel: bool = False  # a real dowel along the back (head, upper back, sacrum)
    movement: str = "hinge"  # how the core finds and judges its reps: "hinge", "swing" or "step"


DRILLS: dict[str, Drill] = {d.id: d for d in (
    Drill("dowel_hinge", "Dowel hinge", gated=True, short="dowel hinge", holds_dowel=True),
    Drill("bw_rdl", "Bodyweight Romanian deadlift", gated=True, takes_arms=True,
          short="bodyweight RDL"),
    Drill("weighted_rdl", "Weighted Romanian deadlift", gated=True, takes_load=True,
          short="weighted RDL"),
    Drill("goblet_hinge", "Goblet hinge (load held in front)", gated=False, takes_load=True),
    Drill("kb_upper_back", "Hinge with kettlebell on the upper back", gated=False, takes_load=True),
    Drill("pull_through", "Cable/band pull-through", gated=False, takes_load=True),
    Drill("kb_swing", "Kettlebell swing", gated=False, takes_load=True, movement="swing"),
    Drill("step_down", "Step tap-down (one foot on the plate, the other taps the floor)", gated=False,
          movement="step"),
    Drill("step_up", "Step-up (the working foot on the plate on the step)", gated=False, movement="step"),
    Drill("deadlift", "Deadlift", gated=False, takes_load=True),
)}

# the gated progression, in order
GATED_STAGES: tuple[str, ...] = ("dowel_hinge", "bw_rdl", "weighted_rdl")

# ordered easy -> hard
ARM_VARIATIONS: dict[str, str] = {
    "hands_low_back": "hands on the low back",
    "fingertips_ears": "fingertips at the ears",
    "arms_crossed": "arms crossed on the chest",
}

IMPLEMENTS: dict[str, str] = {"dumbbell": "dumbbell", "kettlebell": "kettlebell", "barbell": "barbell"}


def movement_of(drill_id: str | None) -> str:
    """The movement the core judges a drill's reps as (hinge for an unknown or missing drill)."""
    d = DRILLS.get(drill_id or "")
    return d.movement if d else "hinge"


def drill(drill_id: str) -> Drill:
    try:
        return DRILLS[drill_id]
    except KeyError:
        raise StationError(f"--drill {drill_id!r}: unknown drill (known: {', '.join(DRILLS)})") from None


def check_names(drill_id: str, arms: str | None) -> Drill:
    """The drill, refusing an unknown drill or arm variation in one line that lists the known ones."""
    d = drill(drill_id)
    if arms and arms not in ARM_VARIATIONS:
        raise StationError(f"--arms {arms!r}: unknown arm variation (known: {', '.join(ARM_VARIATIONS)})")
    return d


def subject_posture(drill_id: str, arms: str | None, load_kg: float | None) -> dict:
    """What the person's arms do in this set, for a simulated subject to act it out: {"arms": "dowel"}
    for a dowel drill, "weights" with a load in the hands, else the arm variation (arms crossed by
    default); and load_kg."""
    d = drill(drill_id)
    if d.holds_dowel:
        posture = "dowel"
    elif load_kg:
        posture = "weights"
    else:
        posture = arms or "arms_crossed"
    return {"arms": posture, "load_kg": float(load_kg or 0.0)}


def check_setup(drill_id: str, arms: str | None, implement: str | None, load_kg: float | None) -> None:
    """Refuse a set description that cannot be right (one line naming the option)."""
    d = drill(drill_id)
    if arms is not None:
        if not d.takes_arms:
            raise StationError(f"--arms: {d.name} has no arm variation")
        if arms not in ARM_VARIATIONS:
            raise StationError(f"--arms {arms!r}: unknown (known: {', '.join(ARM_VARIATIONS)})")
    elif d.takes_arms:
        raise StationError(f"--arms: {d.name} needs one of {', '.join(ARM_VARIATIONS)}")
    if implement is not None and implement not in IMPLEMENTS:
        raise StationError(f"--implement {implement!r}: unknown (known: {', '.join(IMPLEMENTS)})")
    if d.takes_load and d.id == "weighted_rdl":
        if load_kg is None or implement is None:
            raise StationError("--load-kg and --implement: a weighted RDL needs the implement and load")
    if load_kg is not None:
        if not d.takes_load:
            raise StationError(f"--load-kg: {d.name} is done without load")
        if not (0 < load_kg < 500):
            raise StationError(f"--load-kg {load_kg}: expected a load between 0 and 500 kg")


def describe_set(drill_id: str, arms: str | None, implement: str | None, load_kg: float | None) -> str:
    """E.g. 'Bodyweight Romanian deadlift, arms crossed on the chest'."""
    d = DRILLS.get(drill_id)
    parts = [d.name if d else drill_id]
    if arms:
        parts.append(ARM_VARIATIONS.get(arms, arms))
    if implement or load_kg is not None:
        load = f"{load_kg:g} kg" if load_kg is not None else ""
        parts.append(" ".join(p for p in (IMPLEMENTS.get(implement or "", implement or ""), load) if p))
    return ", ".join(parts)
