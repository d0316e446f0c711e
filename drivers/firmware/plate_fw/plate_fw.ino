// Reference force plate firmware: four load cells on four HX711 (80 Hz), protocol v1 binary frames.
// Wire format: shared/spec/plate-protocol.md. Frame + CRC code: frame.c (checked on the host against
// drivers/plate_protocol.py by tests/test_plate_firmware.py). Wiring: ../WIRING.md.
//
// The four HX711 share one clock line (PD_SCK) and each has its own data line, so one burst of 25
// clock pulses reads all four at once: the four channels of a frame are sampled together.
// The plate streams from power-up; the host never sends anything.

#include "frame.h"

static const uint8_t PIN_SCK = 6;                        // PD_SCK of all four HX711
static const uint8_t PIN_DOUT[4] = {2, 3, 4, 5};         // DOUT of channel 0..3 (see WIRING.md)
static const uint32_t BAUD = 921600;                     // ignored by native USB (CDC) boards
static const uint32_t READY_TIMEOUT_US = 50000;          // > 4 periods at 80 Hz
static const int32_t ADC_MAX = 0x7FFFFF;
static const int32_t ADC_MIN = -0x800000;

static uint16_t seq = 0;                                 // +1 per sample, wraps 65535 -> 0
static int32_t last_counts[4] = {0, 0, 0, 0};

static bool all_ready() {
  for (uint8_t ch = 0; ch < 4; ch++) {
    if (digitalRead(PIN_DOUT[ch]) != LOW) return false;  // HX711 pulls DOUT low when a conversion is ready
  }
  return true;
}

// Clock 24 data bits out of all four chips, then one more pulse: channel A, gain 128, for the next one.
static void read_all(uint32_t raw[4]) {
  raw[0] = raw[1] = raw[2] = raw[3] = 0;
  noInterrupts();  // PD_SCK high for more than 60 us would power the HX711 down
  for (uint8_t bit = 0; bit < 24; bit++) {
    digitalWrite(PIN_SCK, HIGH);
    delayMicroseconds(1);
    digitalWrite(PIN_SCK, LOW);
    for (uint8_t ch = 0; ch < 4; ch++) raw[ch] = (raw[ch] << 1) | (uint32_t)digitalRead(PIN_DOUT[ch]);
    delayMicroseconds(1);
  }
  digitalWrite(PIN_SCK, HIGH);
  delayMicroseconds(1);
  digitalWrite(PIN_SCK, LOW);
  interrupts();
}

void setup() {
  pinMode(PIN_SCK, OUTPUT);
  digitalWrite(PIN_SCK, LOW);
  for (uint8_t ch = 0; ch < 4; ch++) pinMode(PIN_DOUT[ch], INPUT);
  Serial.begin(BAUD);
  Serial.print("# plate fw=1.0 rate=80 ch=4\n");  // device info; the host treats `#` lines as comments
}

void loop() {
  uint32_t waited_from = micros();
  while (!all_ready()) {
    if ((uint32_t)(micros() - waited_from) > READY_TIMEOUT_US) {
      // a chip is missing or stuck: keep streaming the last values, marked stale, so the host sees it
      uint8_t frame[PLATE_FRAME_SIZE];
      plate_pack_frame(frame, seq++, micros(), last_counts, PLATE_FLAG_STALE);
      Serial.write(frame, PLATE_FRAME_SIZE);
      waited_from = micros();
    }
  }
  uint32_t t_us = micros();  // u32 microseconds, wraps after ~71.6 min like the protocol's t_us
  uint32_t raw[4];
  read_all(raw);
  uint8_t flags = 0;
  for (uint8_t ch = 0; ch < 4; ch++) {
    last_counts[ch] = plate_sign_extend_24(raw[ch]);
    if (last_counts[ch] >= ADC_MAX || last_counts[ch] <= ADC_MIN) flags |= PLATE_FLAG_SATURATED;
  }
  uint8_t frame[PLATE_FRAME_SIZE];
  plate_pack_frame(frame, seq++, t_us, last_counts, flags);
  Serial.write(frame, PLATE_FRAME_SIZE);
}
