"""A short tone for the breathing cue, through Qt, and silence where there is no sound to make.

With QtMultimedia (PySide6-Addons) and an audio output device: a 0.15 s sine, higher for "inhale" than for
"exhale", played through QAudioSink. PySide6-Essentials (the station's dependency) has no QtMultimedia: then
the system bell (QApplication.beep(): once for inhale, twice for exhale), as the dashboard's other cues do.
Offscreen or on the minimal platform there is no one to hear it: visual only. Any failure to play turns the
tone off for the session (one line in `problem`), never the dashboard.
"""

from __future__ import annotations

import math
from array import array

from PySide6 import QtCore, QtGui, QtWidgets

TONE_S = 0.15
RATE_HZ = 22050
PITCH_HZ = {"inhale": 660.0, "exhale": 440.0}  # rising breath, higher note; breathing out, lower
BELLS = {"inhale": 1, "exhale": 2}
SILENT_PLATFORMS = ("offscreen", "minimal")


def sine_pcm(freq_hz: float, seconds: float = TONE_S, rate_hz: int = RATE_HZ) -> bytes:
    """Signed 16-bit mono samples of a sine with 10 ms fades (no click at either end)."""
    n = int(seconds * rate_hz)
    fade = max(1, int(0.010 * rate_hz))
    gain = [12000 * min(1.0, k / fade, (n - k) / fade) for k in range(n)]
    out = array("h", (int(g * math.sin(2 * math.pi * freq_hz * k / rate_hz)) for k, g in enumerate(gain)))
    return out.tobytes()


class Tone:
    """play("inhale" | "exhale"): a short tone if the platform can make one; `mode` says which way."""

    def __init__(self) -> None:
        self.problem: str | None = None
        self._sink = None
        self._buffers: list[QtCore.QBuffer] = []
        self.played = 0  # tones started (tests, status)
        self.mode = self._probe()

    def _probe(self) -> str:
        if QtGui.QGuiApplication.platformName() in SILENT_PLATFORMS:
            return "none"
        try:
            from PySide6 import QtMultimedia  # PySide6-Addons only
        except ImportError:
            return "bell"
        device = QtMultimedia.QMediaDevices.defaultAudioOutput()
        if device.isNull():
            return "none"  # no audio device: visual only, silently
        fmt = QtMultimedia.QAudioFormat()
        fmt.setSampleRate(RATE_HZ)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QtMultimedia.QAudioFormat.SampleFormat.Int16)
        self._sink = QtMultimedia.QAudioSink(device, fmt)
        return "sine"

    def play(self, kind: str) -> None:
        if self.mode == "none" or kind not in PITCH_HZ:
            return
        try:
            if self.mode == "sine":
                buffer = QtCore.QBuffer()
                buffer.setData(QtCore.QByteArray(sine_pcm(PITCH_HZ[kind])))
                buffer.open(QtCore.QIODevice.OpenModeFlag.ReadOnly)
                self._buffers = [buffer]  # kept alive while the sink reads it
                self._sink.stop()
                self._sink.start(buffer)
            else:
                QtWidgets.QApplication.beep()
                for k in range(1, BELLS[kind]):
                    QtCore.QTimer.singleShot(180 * k, QtWidgets.QApplication.beep)
            self.played += 1
        except Exception as exc:  # noqa: BLE001 (a sound problem must never stop the dashboard)
            self.problem = f"breathing tone off: {exc}"
            self.mode = "none"
