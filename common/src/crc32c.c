/*
 * crc32c.c - CRC-32C two ways.
 *
 * Software: "slicing-by-8". Eight 256-entry tables let one loop iteration fold 8 input
 * bytes into the CRC with 8 table lookups instead of 8 dependent shift/xor rounds.
 * table[0] is the classic byte-at-a-time table; table[k][b] is the CRC of byte b followed
 * by k zero bytes.
 *
 * Hardware: SSE4.2's crc32 instruction computes exactly this polynomial, 8 bytes at a time.
 * The function carries a target attribute so the rest of the project needs no -msse4.2 and
 * still runs on CPUs without it; kc_crc32c() checks the CPU before taking this path.
 */
#include <pthread.h>
#include <string.h>

#include "kc_crc32c.h"

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (POLY & (0u - (c & 1)));
        table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++)
            table[k][b] = (table[k - 1][b] >> 8) ^ table[0][table[k - 1][b] & 0xff];
}

uint32_t kc_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    pthread_once(&table_once, table_init);
    crc = ~crc;
    while (len && ((uintptr_t)p & 7)) {
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
        len--;
    }
    while (len >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4); /* little-endian loads: the reflected CRC eats bytes low first */
        memcpy(&hi, p + 4, 4);
        lo ^= crc;
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t kc_crc32c_hw(uint32_t crc, const void *buf,
                                                        size_t len)
{
    const uint8_t *p = buf;
    uint64_t c = ~crc;
    while (len && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    while (len--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

bool kc_crc32c_hw_available(void)
{
    return __builtin_cpu_supports("sse4.2");
}
#else
uint32_t kc_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
    return kc_crc32c_sw(crc, buf, len);
}

bool kc_crc32c_hw_available(void)
{
    return false;
}
#endif

uint32_t kc_crc32c(uint32_t crc, const void *buf, size_t len)
{
    if (kc_crc32c_hw_available())
        return kc_crc32c_hw(crc, buf, len);
    return kc_crc32c_sw(crc, buf, len);
}
