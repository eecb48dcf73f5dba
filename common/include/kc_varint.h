/*
 * kc_varint.h - the variable-length integers of the Kafka formats.
 *
 * A varint stores 7 bits per byte, least significant group first; the top bit of each byte
 * says "another byte follows". Kafka uses two flavours, and mixing them up is a classic bug:
 *
 *   zigzag (signed)   inside records: lengths (-1 = null), timestamp and offset deltas.
 *                     zigzag maps 0,-1,1,-2,2... to 0,1,2,3,4... so small negatives stay short.
 *   unsigned          in "flexible" protocol versions: compact lengths (N+1) and tag counts.
 *
 *     value 300 = 0b1_0010_1100  ->  bytes  ac 02   (0x2c|0x80, 0x02)
 *     zigzag(-1) = 1             ->  bytes  01
 *
 * A 32-bit varint takes at most 5 bytes and a 64-bit varlong at most 10; longer encodings,
 * or bits beyond the type's width, are malformed (a hostile peer must not make us loop).
 *
 * Decoders return the number of bytes consumed (> 0), KC_ENEEDMORE when the input ends in
 * the middle of the number, or KC_EMALFORMED. Encoders write into dst, which must have room
 * for KC_VARINT_MAX / KC_VARLONG_MAX bytes, and return the count written.
 */
#ifndef KC_VARINT_H
#define KC_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define KC_VARINT_MAX  5
#define KC_VARLONG_MAX 10

static inline uint64_t kc_zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t kc_unzigzag64(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

size_t kc_uvarint_encode(uint8_t *dst, uint64_t v);
size_t kc_uvarint_size(uint64_t v);
/* Unsigned decode of at most max_bytes (5 for 32-bit, 10 for 64-bit) into *v. */
int kc_uvarint_decode(const uint8_t *p, size_t len, size_t max_bytes, uint64_t *v);

size_t kc_varint_encode(uint8_t *dst, int32_t v);
size_t kc_varlong_encode(uint8_t *dst, int64_t v);
size_t kc_varint_size(int32_t v);
size_t kc_varlong_size(int64_t v);
int kc_varint_decode(const uint8_t *p, size_t len, int32_t *v);
int kc_varlong_decode(const uint8_t *p, size_t len, int64_t *v);

#endif
