/*
 * kp_int.h - libbrk_kp's private parts: the generated API table, the decoder's cursor and
 * the fast inline reads both halves of the interpreter share.
 *
 * The interpreter's inner loop runs once per field of every struct of every message, so
 * the reads here are inline and branch once on "enough bytes?"; only varints longer than
 * one byte leave the fast path (kc_uvarint_decode in common/).
 */
#ifndef KP_INT_H
#define KP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_buf.h"
#include "kc_err.h"
#include "kc_varint.h"
#include "kp_api.h"

/* The generated table (src/kpm_api.c), ascending by key. */
extern const struct kp_api kp__apis[KP_NAPIS];

/* A decoder's position in its input, and what every field needs to know. */
struct kp__dec {
    const uint8_t *p;
    size_t len, pos;
    int16_t version;
    bool flex;
    struct kp_arena *arena;
};

static inline size_t kp__left(const struct kp__dec *d)
{
    return d->len - d->pos;
}

/* Unsigned varint of at most 32 bits (flexible lengths, counts, tags). */
static inline int kp__rd_uvarint(struct kp__dec *d, uint32_t *v)
{
    if (d->pos < d->len && d->p[d->pos] < 0x80) {
        *v = d->p[d->pos++];
        return 0;
    }
    uint64_t u;
    int n = kc_uvarint_decode(d->p + d->pos, kp__left(d), KC_VARINT_MAX, &u);
    if (n < 0)
        return n;
    d->pos += (size_t)n;
    *v = (uint32_t)u;
    return 0;
}

/*
 * Every KP_ARRAY(T) has this layout (a count, then a pointer: all object pointers are alike
 * on the platforms we build for), so the interpreter reads and writes any array through it,
 * with memcpy at the field's offset.
 */
struct kp__array {
    int32_t n;
    void *v;
};

/*
 * kc_writer_reserve's fast path, inline: room for n bytes is already there (a writer's
 * capacity never exceeds its limit, so no limit check is needed). Otherwise, or after an
 * error, the real function decides.
 */
static inline uint8_t *kp__reserve(struct kc_writer *w, size_t n)
{
    if (!w->err && w->cap - w->len >= n) {
        uint8_t *p = w->p + w->len;
        w->len += n;
        return p;
    }
    return kc_writer_reserve(w, n);
}

/* kp_arena_alloc with the reason for a failure: 0, -ENOMEM or KC_ETOOLARGE (the limit). */
int kp__arena_alloc(struct kp_arena *a, size_t n, void **out);

#endif
