/* Force plate wire protocol v1 (shared/spec/plate-protocol.md): frame packing and CRC in plain C.
 * Shared by the sketch (plate_fw.ino) and the host-side test vector (host_test/frame_vector.c). */
#ifndef PLATE_FRAME_H
#define PLATE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PLATE_FRAME_SIZE 28
#define PLATE_SYNC0 0xA5
#define PLATE_SYNC1 0x5A
#define PLATE_TYPE_SAMPLE 0x01
#define PLATE_FLAG_SATURATED 0x01
#define PLATE_FLAG_STALE 0x02

/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0. "123456789" -> 0x29B1. */
uint16_t plate_crc16_ccitt_false(const uint8_t *data, size_t len);

/* 24-bit two's complement ADC word -> int32 (sign-extended). */
int32_t plate_sign_extend_24(uint32_t raw24);

/* Pack one little-endian sample frame into out[0..27]; the CRC covers bytes 2..25. */
void plate_pack_frame(uint8_t out[PLATE_FRAME_SIZE], uint16_t seq, uint32_t t_us,
                      const int32_t counts[4], uint8_t flags);

#ifdef __cplusplus
}
#endif

#endif /* PLATE_FRAME_H */
