/*
 * kc_crc32c.h - CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2.
 *
 * Reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF; the published
 * check value is crc32c("123456789") = 0xE3069283. x86 CPUs with SSE4.2 compute it with the
 * crc32 instruction (8 bytes per instruction); everywhere else a slicing-by-8 table does.
 * kc_crc32c() picks the hardware path when the CPU has it; both paths are exported so tests
 * can hold them against each other.
 *
 * Chaining: kc_crc32c(kc_crc32c(0, a, n), b, m) == kc_crc32c(0, a||b, n+m); start with 0.
 * Thread-safe; no state beyond a table built once.
 */
#ifndef KC_CRC32C_H
#define KC_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint32_t kc_crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t kc_crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* Only call when kc_crc32c_hw_available() says so. */
uint32_t kc_crc32c_hw(uint32_t crc, const void *buf, size_t len);
bool kc_crc32c_hw_available(void);

#endif
