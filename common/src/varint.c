/*
 * varint.c - Kafka's varints: 7 bits per byte, low group first, top bit = "more".
 * Zigzag folds the sign into bit 0 so that -1 costs one byte, not ten.
 */
#include "kc_err.h"
#include "kc_varint.h"

size_t kc_uvarint_encode(uint8_t *dst, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        dst[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    dst[n++] = (uint8_t)v;
    return n;
}

size_t kc_uvarint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

int kc_uvarint_decode(const uint8_t *p, size_t len, size_t max_bytes, uint64_t *v)
{
    uint64_t acc = 0;
    unsigned width = max_bytes >= KC_VARLONG_MAX ? 64 : 32;
    for (size_t i = 0; i < max_bytes; i++) {
        if (i == len)
            return KC_ENEEDMORE;
        uint64_t group = p[i] & 0x7f;
        unsigned shift = (unsigned)(7 * i);
        /* Bits that would land beyond the type's width make the encoding malformed. */
        if (shift + 7 > width && (group >> (width - shift)) != 0)
            return KC_EMALFORMED;
        acc |= group << shift;
        if (!(p[i] & 0x80)) {
            *v = acc;
            return (int)(i + 1);
        }
    }
    return KC_EMALFORMED; /* continuation bit set on the last allowed byte */
}

size_t kc_varint_encode(uint8_t *dst, int32_t v)
{
    return kc_uvarint_encode(dst, (uint32_t)kc_zigzag64(v));
}

size_t kc_varlong_encode(uint8_t *dst, int64_t v)
{
    return kc_uvarint_encode(dst, kc_zigzag64(v));
}

size_t kc_varint_size(int32_t v)
{
    return kc_uvarint_size((uint32_t)kc_zigzag64(v));
}

size_t kc_varlong_size(int64_t v)
{
    return kc_uvarint_size(kc_zigzag64(v));
}

int kc_varint_decode(const uint8_t *p, size_t len, int32_t *v)
{
    uint64_t u;
    int n = kc_uvarint_decode(p, len, KC_VARINT_MAX, &u);
    if (n > 0)
        *v = (int32_t)kc_unzigzag64(u);
    return n;
}

int kc_varlong_decode(const uint8_t *p, size_t len, int64_t *v)
{
    uint64_t u;
    int n = kc_uvarint_decode(p, len, KC_VARLONG_MAX, &u);
    if (n > 0)
        *v = kc_unzigzag64(u);
    return n;
}
