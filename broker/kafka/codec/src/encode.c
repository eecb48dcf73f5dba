/*
 * encode.c - the interpreter's writing half: C struct + schema + version -> bytes.
 *
 * The mirror of decode.c, with Kafka's writer rules:
 *
 *   field not in this version      -> nothing on the wire; it must hold its default
 *                                     unless Kafka marks it ignorable (KC_ENONDEFAULT)
 *   null where the version has no  -> -EINVAL (Kafka's writers throw)
 *   null for that field
 *   flexible version               -> lengths as uvarint(len + 1), then the tag block:
 *                                     count, and per non-default tagged field, ascending
 *                                     by tag: uvarint tag, uvarint size, value
 *   records with .p NULL, .len > 0 -> the length prefix only, and a kp_gap {at, len}
 *
 * One deviation from Kafka's writers, for speed: a *tagged* field the version cannot
 * carry is dropped, as an ignorable field is, where Kafka refuses it when it is not
 * marked ignorable. A tagged field is optional by design (readers that do not know it
 * skip it), and checking three tagged structs per Fetch partition cost a fifth of a
 * v4-v11 Fetch encode (bench/).
 *
 * Speed: this loop runs once per field of every partition of every Fetch response. A
 * struct's fixed-width fields and length prefixes are written through a local pointer
 * into room taken once (kp_schema.fixed_max bytes), so no byte store makes the compiler
 * reload the writer; the writer gets its length back before anything else writes.
 *
 * A tagged value's size precedes it but is known only once the value is written: one
 * byte is reserved for it (sizes below 128, which is all of them in practice) and the
 * value is moved up in the rare case it needs more (write_tagged).
 */
#include <errno.h>
#include <string.h>

#include "kp_int.h"

struct enc {
    struct kc_writer *w;
    int16_t version;
    bool flex;
    struct kp_gaps *gaps;
};

static int enc_struct(struct enc *e, const struct kp_schema *s, const uint8_t *obj);
static int enc_value(struct enc *e, const struct kp_field *f, uint8_t type, bool nullable,
                     const uint8_t *at, const uint8_t *owner);

/* ---- what "default" means, per type -------------------------------------------------- */

static bool value_is_default(const struct kp_field *f, const uint8_t *at);

static bool struct_is_default(const struct kp_schema *s, const uint8_t *obj)
{
    const struct kp_field *f = s->fields, *end = f + s->nfields;
    for (; f < end; f++)
        if (!value_is_default(f, obj + f->offset))
            return false;
    return true;
}

/* a == b over n bytes, 8 at a time: the structs compared here are a few words long. */
static inline bool bytes_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint64_t x, y;
    for (; n >= 8; n -= 8, a += 8, b += 8) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y)
            return false;
    }
    return n == 0 || memcmp(a, b, n) == 0;
}

/* Loads through memcpy: the compiler makes them plain loads, and no alias rule bends. */
static inline int64_t load_num(uint8_t type, const uint8_t *at)
{
    int8_t i8;
    int16_t i16;
    uint16_t u16;
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    switch (type) {
    case KP_T_INT8:
        memcpy(&i8, at, 1);
        return i8;
    case KP_T_INT16:
        memcpy(&i16, at, 2);
        return i16;
    case KP_T_UINT16:
        memcpy(&u16, at, 2);
        return u16;
    case KP_T_INT32:
        memcpy(&i32, at, 4);
        return i32;
    case KP_T_UINT32:
        memcpy(&u32, at, 4);
        return u32;
    default:
        memcpy(&i64, at, 8);
        return i64;
    }
}

static bool value_is_default(const struct kp_field *f, const uint8_t *at)
{
    switch (f->type) {
    case KP_T_INT8:
    case KP_T_INT16:
    case KP_T_UINT16:
    case KP_T_INT32:
    case KP_T_UINT32:
    case KP_T_INT64:
        return load_num(f->type, at) == f->def;
    case KP_T_BOOL:
        return *(const bool *)at == (f->def != 0);
    case KP_T_FLOAT64: {
        double x;
        memcpy(&x, at, sizeof(x));
        return x == 0.0;
    }
    case KP_T_UUID: {
        static const struct kp_uuid zero;
        return memcmp(at, &zero, sizeof(zero)) == 0;
    }
    case KP_T_STRING:
    case KP_T_BYTES:
    case KP_T_RECORDS:
        return ((const struct kc_slice *)at)->len == (f->def == KP_DEF_NULL ? -1 : 0);
    case KP_T_STRUCT:
        /* Fast accept: the bytes of the default image (equal bytes are equal values;
         * padding that differs only sends us to the field-by-field answer). */
        return bytes_equal(at, f->nested->defaults, f->nested->size) ||
               struct_is_default(f->nested, at);
    default: { /* array */
        int32_t n;
        memcpy(&n, at, sizeof(n));
        return n == (f->def == KP_DEF_NULL ? -1 : 0);
    }
    }
}

bool kp_field_is_default(const struct kp_field *f, const void *obj)
{
    return value_is_default(f, (const uint8_t *)obj + f->offset);
}

/* A field the version does not carry: fine if default, or if Kafka lets it be dropped. */
static inline int check_absent(const struct kp_field *f, const uint8_t *obj)
{
    if (f->flags & KP_F_IGNORABLE)
        return 0;
    return value_is_default(f, obj + f->offset) ? 0 : KC_ENONDEFAULT;
}

/* ---- primitives -------------------------------------------------------------------- */

/*
 * Room for n more bytes at the writer's end, without claiming them: fields are written
 * through a local pointer, and the writer gets its length back before anything else
 * writes. NULL after a writer error.
 */
static inline uint8_t *room(struct kc_writer *w, size_t n)
{
    if (!w->err && w->cap - w->len >= n)
        return w->p + w->len;
    if (!kc_writer_reserve(w, n))
        return NULL;
    w->len -= n;
    return w->p + w->len;
}

/* A fixed-width value at p; returns the bytes written, or 0 if the type is not fixed. */
static inline size_t put_fixed(uint8_t *p, uint8_t type, const uint8_t *at)
{
    switch (type) {
    case KP_T_INT16:
    case KP_T_UINT16:
        kc_store_be16(p, (uint16_t)load_num(KP_T_INT16, at));
        return 2;
    case KP_T_INT32:
    case KP_T_UINT32:
        kc_store_be32(p, (uint32_t)load_num(KP_T_INT32, at));
        return 4;
    case KP_T_INT64:
    case KP_T_FLOAT64:
        kc_store_be64(p, (uint64_t)load_num(KP_T_INT64, at));
        return 8;
    case KP_T_INT8:
        *p = *at;
        return 1;
    case KP_T_BOOL:
        *p = *(const bool *)at ? 1 : 0;
        return 1;
    case KP_T_UUID:
        memcpy(p, at, 16);
        return 16;
    default:
        return 0;
    }
}

/* A length prefix at p (room is there): uvarint(len + 1), or i16 / i32; -1 = null. */
static inline size_t put_len_at(uint8_t *p, bool compact, bool wide, int32_t len)
{
    uint32_t u = (uint32_t)(len + 1);
    if (compact && u < 0x80) {
        *p = (uint8_t)u; /* one byte: lengths under 127, nearly all of them */
        return 1;
    }
    if (compact && u < 0x4000) { /* two: a batch of records under 16 KiB */
        p[0] = (uint8_t)(u | 0x80);
        p[1] = (uint8_t)(u >> 7);
        return 2;
    }
    if (compact)
        return kc_uvarint_encode(p, (uint32_t)(len + 1));
    if (wide)
        kc_store_be32(p, (uint32_t)len);
    else
        kc_store_be16(p, (uint16_t)len);
    return wide ? 4 : 2;
}

static int enc_gap(struct enc *e, int32_t len, const uint8_t *owner)
{
    struct kp_gaps *g = e->gaps;
    if (!g)
        return -EINVAL;
    if (g->n == g->cap)
        return -E2BIG;
    g->v[g->n++] = (struct kp_gap){kc_writer_len(e->w), len, owner};
    g->bytes += (size_t)len;
    return 0;
}

/* ---- variable-length values: their prefix at *pp, their body through the writer ---- */

static int put_slice(struct enc *e, const struct kp_field *f, uint8_t type, bool nullable,
                     const struct kc_slice *s, const uint8_t *owner, uint8_t **pp)
{
    struct kc_writer *w = e->w;
    if (s->len < -1 || (s->len == -1 && !nullable))
        return -EINVAL;
    if (type == KP_T_STRING && s->len > INT16_MAX)
        return KC_ETOOLARGE;
    *pp += put_len_at(*pp, e->flex && !(f->flags & KP_F_NO_FLEX), type != KP_T_STRING,
                      s->len);
    w->len = (size_t)(*pp - w->p);
    if (s->len <= 0)
        return 0;
    if (!s->p)
        return type == KP_T_RECORDS ? enc_gap(e, s->len, owner) : -EINVAL;
    uint8_t *dst = kp__reserve(w, (size_t)s->len);
    if (dst)
        memcpy(dst, s->p, (size_t)s->len);
    return 0;
}

static int put_array(struct enc *e, const struct kp_field *f, bool nullable, const uint8_t *at,
                     uint8_t **pp)
{
    struct kc_writer *w = e->w;
    struct kp__array a;
    memcpy(&a.n, at, sizeof(a.n));
    memcpy(&a.v, at + offsetof(struct kp__array, v), sizeof(a.v));
    if (a.n < -1 || (a.n == -1 && !nullable) || (a.n > 0 && !a.v))
        return -EINVAL;
    *pp += put_len_at(*pp, e->flex && !(f->flags & KP_F_NO_FLEX), true, a.n);
    w->len = (size_t)(*pp - w->p);
    const uint8_t *v = a.v;
    for (int32_t i = 0; i < a.n; i++) {
        const uint8_t *el = v + (size_t)i * f->elem_size;
        int rc = f->elem == KP_T_STRUCT ? enc_struct(e, f->nested, el)
                                        : enc_value(e, f, f->elem, false, el, el);
        if (rc)
            return rc;
    }
    return 0;
}

/* Any value, through the writer (array elements, tagged values). */
static int enc_value(struct enc *e, const struct kp_field *f, uint8_t type, bool nullable,
                     const uint8_t *at, const uint8_t *owner)
{
    struct kc_writer *w = e->w;
    if (type == KP_T_STRUCT)
        return enc_struct(e, f->nested, at);
    uint8_t *p = room(w, 16); /* the widest fixed value, or any length prefix */
    if (!p)
        return kc_writer_error(w);
    size_t n = put_fixed(p, type, at);
    if (n) {
        w->len += n;
        return 0;
    }
    if (type == KP_T_ARRAY)
        return put_array(e, f, nullable, at, &p);
    return put_slice(e, f, type, nullable, (const struct kc_slice *)at, owner, &p);
}

/* ---- tagged fields ----------------------------------------------------------------- */

static inline void put_uvarint(struct kc_writer *w, uint32_t v)
{
    uint8_t *p = room(w, KC_VARINT_MAX);
    if (p)
        w->len += kc_uvarint_encode(p, v);
}

/* uvarint tag, uvarint size, value: the size is patched in once the value is written. */
static int write_tagged(struct enc *e, const struct kp_field *f, const uint8_t *obj)
{
    struct kc_writer *w = e->w;
    put_uvarint(w, f->tag);
    size_t at = kc_writer_len(w);
    put_uvarint(w, 0); /* the size's first byte */
    int rc = enc_value(e, f, f->type, kp_vin(f->nullable, e->version), obj + f->offset, obj);
    if (rc || kc_writer_error(w))
        return rc ? rc : kc_writer_error(w);
    size_t size = kc_writer_len(w) - at - 1;
    if (size > INT32_MAX)
        return KC_ETOOLARGE;
    uint8_t buf[KC_VARINT_MAX];
    size_t k = kc_uvarint_encode(buf, (uint32_t)size);
    if (k > 1 && !kc_writer_reserve(w, k - 1))
        return kc_writer_error(w);
    uint8_t *base = kc_writer_data(w) + at;
    if (k > 1)
        memmove(base + k, base + 1, size);
    memcpy(base, buf, k);
    return 0;
}

/* At most this many tagged fields per struct (the generator checks; Kafka's have <= 4). */
#define MAX_TAGS 32

/* The tag block after the fields just written: count, then each non-default tagged
 * field. p is the writer's end, with room for at least the count byte. */
static int enc_tags(struct enc *e, const struct kp_schema *s, const uint8_t *obj, uint8_t *p)
{
    struct kc_writer *w = e->w;
    const struct kp_field *set[MAX_TAGS];
    uint32_t count = 0;
    for (const struct kp_field *f = s->fields + s->npositional; f < s->fields + s->nfields; f++)
        if (kp_vin(f->tagged, e->version) && !value_is_default(f, obj + f->offset))
            set[count++] = f; /* ascending: the generator sorted them by tag */
    *p++ = (uint8_t)count;     /* count < MAX_TAGS < 128: one byte */
    w->len = (size_t)(p - w->p);
    for (uint32_t i = 0; i < count; i++) {
        int rc = write_tagged(e, set[i], obj);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- structs ----------------------------------------------------------------------- */

static int enc_struct(struct enc *e, const struct kp_schema *s, const uint8_t *obj)
{
    struct kc_writer *w = e->w;
    const struct kp_field *f = s->fields, *end = f + s->npositional;
    uint8_t *p = room(w, s->fixed_max);
    for (; p && f < end; f++) {
        if (!kp_vin(f->ver, e->version)) {
            int rc = check_absent(f, obj);
            if (rc)
                return rc;
            continue;
        }
        const uint8_t *at = obj + f->offset;
        size_t n = put_fixed(p, f->type, at);
        if (n) {
            p += n;
            continue;
        }
        int rc;
        bool nullable = kp_vin(f->nullable, e->version);
        if (f->type == KP_T_ARRAY) {
            rc = put_array(e, f, nullable, at, &p);
        } else if (f->type == KP_T_STRUCT) {
            w->len = (size_t)(p - w->p);
            rc = enc_struct(e, f->nested, at);
        } else {
            rc = put_slice(e, f, f->type, nullable, (const struct kc_slice *)at, obj, &p);
        }
        if (rc)
            return rc;
        p = room(w, s->fixed_max); /* each of those handed the writer its length back */
    }
    if (!p)
        return kc_writer_error(w);
    if (e->flex) { /* tagged fields: flexible versions only */
        /* Fast accept: every tagged field still holds the bytes of its default (the usual
         * case, e.g. a Fetch partition's three tagged structs): an empty tag block. */
        const uint8_t *def = s->defaults;
        if (!bytes_equal(obj + s->tag_lo, def + s->tag_lo, s->tag_hi - s->tag_lo))
            return enc_tags(e, s, obj, p);
        *p++ = 0;
    }
    w->len = (size_t)(p - w->p);
    return 0;
}

int kp_encode(const struct kp_schema *s, int16_t version, const void *in, struct kc_writer *w,
              struct kp_gaps *gaps)
{
    if (!kp_vin(s->versions, version))
        return KC_EBADVERSION;
    struct enc e = {w, version, version >= s->flex_min, gaps};
    int rc = enc_struct(&e, s, in);
    return rc ? rc : kc_writer_error(w);
}
