/* Frame packing and CRC for the force plate protocol v1; see frame.h. No allocation, no libc beyond stdint. */
#include "frame.h"

uint16_t plate_crc16_ccitt_false(const uint8_t *data, size_t len) {
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint16_t)data[i] << 8);
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

int32_t plate_sign_extend_24(uint32_t raw24) {
    raw24 &= 0xFFFFFFUL;
    return (raw24 & 0x800000UL) ? (int32_t)(raw24 | 0xFF000000UL) : (int32_t)raw24;
}

static void put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v & 0xFF);
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v & 0xFF);
    p[1] = (uint8_t)((v >> 8) & 0xFF);
    p[2] = (uint8_t)((v >> 16) & 0xFF);
    p[3] = (uint8_t)((v >> 24) & 0xFF);
}

void plate_pack_frame(uint8_t out[PLATE_FRAME_SIZE], uint16_t seq, uint32_t t_us,
                      const int32_t counts[4], uint8_t flags) {
    out[0] = PLATE_SYNC0;
    out[1] = PLATE_SYNC1;
    out[2] = PLATE_TYPE_SAMPLE;
    out[3] = flags;
    put_u16(out + 4, seq);
    put_u32(out + 6, t_us);
    for (int ch = 0; ch < 4; ch++) {
        put_u32(out + 10 + 4 * ch, (uint32_t)counts[ch]); /* two's complement, little-endian */
    }
    put_u16(out + 26, plate_crc16_ccitt_false(out + 2, 24));
}
