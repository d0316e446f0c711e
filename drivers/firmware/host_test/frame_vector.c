/* Host-side test vector for the firmware's frame code (tests/test_plate_firmware.py compiles and runs it).
 *   frame_vector crc TEXT                          -> CRC of TEXT as 4 hex digits
 *   frame_vector frame SEQ T_US RAW0 RAW1 RAW2 RAW3 FLAGS
 *       RAWi are 24-bit ADC words (0..0xFFFFFF, as read from the chip), sign-extended like the sketch does;
 *       prints the 28 frame bytes as hex. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "crc") == 0) {
        printf("%04x\n", plate_crc16_ccitt_false((const uint8_t *)argv[2], strlen(argv[2])));
        return 0;
    }
    if (argc == 9 && strcmp(argv[1], "frame") == 0) {
        int32_t counts[4];
        uint8_t out[PLATE_FRAME_SIZE];
        for (int ch = 0; ch < 4; ch++) {
            counts[ch] = plate_sign_extend_24((uint32_t)strtoul(argv[4 + ch], NULL, 0));
        }
        plate_pack_frame(out, (uint16_t)strtoul(argv[2], NULL, 0), (uint32_t)strtoul(argv[3], NULL, 0),
                         counts, (uint8_t)strtoul(argv[8], NULL, 0));
        for (int i = 0; i < PLATE_FRAME_SIZE; i++) printf("%02x", out[i]);
        printf("\n");
        return 0;
    }
    fprintf(stderr, "usage: frame_vector crc TEXT | frame SEQ T_US RAW0 RAW1 RAW2 RAW3 FLAGS\n");
    return 2;
}
