"""The firmware's frame and CRC code (plain C) must produce the bytes the host parser expects."""

import shutil
import subprocess

import pytest

from drivers.plate_protocol import encode_binary_frame
from tests.conftest import REPO

FIRMWARE = REPO / "drivers" / "firmware"
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
CXX = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler (cc/gcc/clang) on this machine")

# (seq, t_us, four raw 24-bit ADC words as the chips send them, flags)
VECTORS = [
    (0, 0, (0, 0, 0, 0), 0),
    (1, 1000, (0x00A0F1, 0x7FFFFF, 0x800000, 0xFFFFFF), 0x01),
    (65535, 0xFFFFFFFF, (0x123456, 0xFEDCBA, 0x5AA55A, 0xA55AA5), 0x03),
    (4242, 987654321, (184000, 0xFFFFFF - 17, 6, 0x400000), 0x02),
]


def sign_extend_24(raw: int) -> int:
    return raw - (1 << 24) if raw & 0x800000 else raw


@pytest.fixture(scope="module")
def frame_vector(tmp_path_factory):
    exe = tmp_path_factory.mktemp("fw") / "frame_vector"
    subprocess.run([CC, "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(FIRMWARE / "plate_fw"),
                    str(FIRMWARE / "host_test" / "frame_vector.c"), str(FIRMWARE / "plate_fw" / "frame.c"),
                    "-o", str(exe)], check=True, capture_output=True, text=True)
    return exe


def test_firmware_crc_check_value(frame_vector):
    out = subprocess.run([frame_vector, "crc", "123456789"], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "29b1"


@pytest.mark.parametrize("vector", VECTORS)
def test_firmware_frame_bytes_equal_the_host_encoder(frame_vector, vector):
    seq, t_us, raw, flags = vector
    out = subprocess.run([frame_vector, "frame", str(seq), str(t_us), *(hex(r) for r in raw), str(flags)],
                         check=True, capture_output=True, text=True)
    expected = encode_binary_frame(seq, t_us, [sign_extend_24(r) for r in raw], flags)
    assert bytes.fromhex(out.stdout.strip()) == expected


@pytest.mark.skipif(CXX is None, reason="no C++ compiler to syntax-check the sketch")
def test_sketch_compiles_against_a_minimal_arduino_api(tmp_path):
    stub = tmp_path / "arduino_stub.h"
    stub.write_text("\n".join([
        "#include <stdint.h>", "#include <stddef.h>",
        "#define HIGH 1", "#define LOW 0", "#define INPUT 0", "#define OUTPUT 1",
        "void pinMode(uint8_t, uint8_t); void digitalWrite(uint8_t, uint8_t); int digitalRead(uint8_t);",
        "void delayMicroseconds(unsigned); unsigned long micros(void);",
        "void noInterrupts(); void interrupts();",
        "struct SerialStub { void begin(unsigned long); size_t print(const char*);",
        "  size_t write(const uint8_t*, size_t); };",
        "extern SerialStub Serial;", ""]))
    sketch = FIRMWARE / "plate_fw" / "plate_fw.ino"
    res = subprocess.run([CXX, "-fsyntax-only", "-Wall", "-Werror", "-include", str(stub), "-I",
                          str(FIRMWARE / "plate_fw"), "-x", "c++", str(sketch)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
