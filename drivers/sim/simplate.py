"""`sim:PATTERN` plate: the real ForcePlate driver reading the plate emulator on a pseudo-terminal.

The emulator is owned by this source (started before the port opens, stopped after it closes), so a
simulated trial's bytes go through pyserial exactly as a real plate's do.
"""

from __future__ import annotations

from drivers.forceplate import ForcePlate
from drivers.sim.plate_emulator import PlateEmulator, emulator_for_pattern
from drivers.sim.subject import coached_arms
from station.config import StationConfig


class SimPlate(ForcePlate):
    """A ForcePlate whose port is an emulator's pty; its factory sheet is the emulator's truth."""

    def __init__(self, emulator: PlateEmulator, *, name: str, **plate_options: object) -> None:
        super().__init__("", name=name, **plate_options)
        self.emulator = emulator

    def start(self) -> None:
        self.port = self.emulator.start()
        try:
            super().start()
        except Exception:
            self.emulator.stop()
            raise

    def stop(self) -> None:
        super().stop()
        self.emulator.stop()

    def align_to_trial_start(self, t0_host_ns: int) -> None:
        """The simulated subject's t=0 at the trial's t=0 (host monotonic ns), when no source or outlet
        has fixed it yet: the trial file's consumers take their time between the trial's t=0 and this
        plate's start (0.02-0.2 s with the host's load), which would otherwise shift every rep's time
        against the subject's own."""
        from drivers.sim.timeline import claim_trial_epoch_ns

        claim_trial_epoch_ns(t0_host_ns)

    def factory_calibration(self) -> dict | None:
        """The emulator's true offsets and gains, as a vendor's sheet would give them."""
        truth = self.emulator.truth()
        return {"offsets_counts": truth["offsets_counts"], "gains_n_per_count": truth["gains_n_per_count"],
                "source": "factory sheet of the simulated plate"}


def open_sim_plate(pattern: str, config: StationConfig, *, arms: str = "crossed", load_kg: float = 0.0,
                   **plate_options: object) -> SimPlate:
    """`sim:PATTERN` (default hinge): the virtual subject on the shared simulated timeline, arms and load
    as the set's drill says (drivers.registry.open_sources)."""
    emulator = emulator_for_pattern(pattern or "hinge", rate_hz=config.plate.rate_hz, shared_timeline=True,
                                    arms=coached_arms(arms, config), load_kg=load_kg, config=config)
    return SimPlate(emulator, name=f"sim:{pattern}", **plate_options)
