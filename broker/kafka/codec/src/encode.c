/*
 * encode.c - the interpreter's writing half: C struct + schema + version -> bytes.
 *
 * The mirror of decode.c, with Kafka's writer rules:
 *
 *   field not in this version      -> nothing on the wire; it must hold its default
 *                                     unless Kafka marks it ignorable (KP_ENONDEFAULT)
 *   null where the version has no  -> -EINVAL (Kafka's writers throw)
 *   null for that field
 *   flexible version               -> lengths as uvarint(len + 1), then the tag block:
 *                                     count, and per non-default tagged field, ascending
 *                                     by tag: uvarint tag, uvarint size, value
 *   records with .p NULL, .len > 0 -> the length prefix only, and a kp_gap {at, len}
 *
 * A tagged value's size precedes it, but is known only once the value is written: one
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

/* ---- what "default" means, per type -------------------------------------------------- */

static bool struct_is_default(const struct kp_schema *s, const uint8_t *obj)
{
    for (uint16_t i = 0; i < s->nfields; i++)
        if (!kp_field_is_default(&s->fields[i], obj))
            return false;
    return true;
}

static bool value_is_default(const struct kp_field *f, const uint8_t *at)
{
    switch (f->type) {
    case KP_T_BOOL:
        return *(const bool *)at == (f->def != 0);
    case KP_T_INT8:
        return *(const int8_t *)at == f->def;
    case KP_T_INT16:
        return *(const int16_t *)at == f->def;
    case KP_T_UINT16:
        return *(const uint16_t *)at == f->def;
    case KP_T_INT32:
        return *(const int32_t *)at == f->def;
    case KP_T_UINT32:
        return *(const uint32_t *)at == f->def;
    case KP_T_INT64:
        return *(const int64_t *)at == f->def;
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
        return struct_is_default(f->nested, at);
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

/* ---- primitives -------------------------------------------------------------------- */

static void put_uvarint(struct kc_writer *w, uint32_t v)
{
    if (v < 0x80) {
        uint8_t *p = kc_writer_reserve(w, 1);
        if (p)
            *p = (uint8_t)v;
        return;
    }
    kc_write_uvarint(w, v);
}

static void enc_fixed(struct kc_writer *w, uint8_t type, const uint8_t *at)
{
    static const uint8_t width[] = {
        [KP_T_BOOL] = 1, [KP_T_INT8] = 1, [KP_T_INT16] = 2, [KP_T_UINT16] = 2,
        [KP_T_INT32] = 4, [KP_T_UINT32] = 4, [KP_T_INT64] = 8, [KP_T_FLOAT64] = 8,
        [KP_T_UUID] = 16,
    };
    uint8_t *p = kc_writer_reserve(w, width[type]);
    if (!p)
        return;
    switch (type) {
    case KP_T_BOOL:
        p[0] = *(const bool *)at ? 1 : 0;
        break;
    case KP_T_INT8:
        p[0] = *at;
        break;
    case KP_T_INT16:
    case KP_T_UINT16:
        kc_store_be16(p, *(const uint16_t *)at);
        break;
    case KP_T_INT32:
    case KP_T_UINT32:
        kc_store_be32(p, *(const uint32_t *)at);
        break;
    case KP_T_INT64:
    case KP_T_FLOAT64: {
        uint64_t u;
        memcpy(&u, at, sizeof(u));
        kc_store_be64(p, u);
        break;
    }
    default: /* uuid */
        memcpy(p, at, 16);
        break;
    }
}

/* A length prefix: uvarint(len + 1) when compact, else i16 (strings) or i32; -1 = null. */
static void put_length(struct kc_writer *w, bool compact, bool wide, int32_t len)
{
    if (compact) {
        put_uvarint(w, (uint32_t)(len + 1));
        return;
    }
    uint8_t *p = kc_writer_reserve(w, wide ? 4 : 2);
    if (!p)
        return;
    if (wide)
        kc_store_be32(p, (uint32_t)len);
    else
        kc_store_be16(p, (uint16_t)len);
}

static int enc_gap(struct enc *e, const struct kc_slice *s, const uint8_t *owner)
{
    struct kp_gaps *g = e->gaps;
    if (!g)
        return -EINVAL;
    if (g->n == g->cap)
        return -E2BIG;
    g->v[g->n++] = (struct kp_gap){kc_writer_len(e->w), s->len, owner};
    g->bytes += (size_t)s->len;
    return 0;
}

static int enc_slice(struct enc *e, const struct kp_field *f, uint8_t type, bool nullable,
                     const struct kc_slice *s, const uint8_t *owner)
{
    bool compact = e->flex && !(f->flags & KP_F_NO_FLEX);
    if (s->len < -1 || (s->len == -1 && !nullable))
        return -EINVAL;
    if (type == KP_T_STRING && s->len > INT16_MAX)
        return KC_ETOOLARGE;
    put_length(e->w, compact, type != KP_T_STRING, s->len);
    if (s->len <= 0)
        return 0;
    if (!s->p)
        return type == KP_T_RECORDS ? enc_gap(e, s, owner) : -EINVAL;
    kc_write_raw(e->w, s->p, (size_t)s->len);
    return 0;
}

static int enc_value(struct enc *e, const struct kp_field *f, uint8_t type, bool nullable,
                     const uint8_t *at, const uint8_t *owner);

static int enc_array(struct enc *e, const struct kp_field *f, bool nullable, const uint8_t *at)
{
    struct kp__array a;
    memcpy(&a.n, at, sizeof(a.n));
    memcpy(&a.v, at + offsetof(struct kp__array, v), sizeof(a.v));
    if (a.n < -1 || (a.n == -1 && !nullable) || (a.n > 0 && !a.v))
        return -EINVAL;
    put_length(e->w, e->flex && !(f->flags & KP_F_NO_FLEX), true, a.n);
    const uint8_t *v = a.v;
    for (int32_t i = 0; i < a.n; i++) {
        const uint8_t *el = v + (size_t)i * f->elem_size;
        int rc = enc_value(e, f, f->elem, false, el, el);
        if (rc)
            return rc;
    }
    return 0;
}

static int enc_value(struct enc *e, const struct kp_field *f, uint8_t type, bool nullable,
                     const uint8_t *at, const uint8_t *owner)
{
    switch (type) {
    case KP_T_STRING:
    case KP_T_BYTES:
    case KP_T_RECORDS:
        return enc_slice(e, f, type, nullable, (const struct kc_slice *)at, owner);
    case KP_T_STRUCT:
        return enc_struct(e, f->nested, at);
    case KP_T_ARRAY:
        return enc_array(e, f, nullable, at);
    default:
        enc_fixed(e->w, type, at);
        return 0;
    }
}

/* ---- tagged fields ----------------------------------------------------------------- */

/* uvarint tag, uvarint size, value: the size is patched in once the value is written. */
static int write_tagged(struct enc *e, const struct kp_field *f, const uint8_t *obj)
{
    struct kc_writer *w = e->w;
    put_uvarint(w, f->tag);
    size_t at = kc_writer_len(w);
    put_uvarint(w, 0); /* the size's first byte */
    int rc = enc_value(e, f, f->type, kp_vin(f->nullable, e->version), obj + f->offset, obj);
    if (rc || kc_writer_error(w))
        return rc;
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

static int enc_tags(struct enc *e, const struct kp_schema *s, const uint8_t *obj)
{
    uint32_t count = 0;
    for (uint16_t i = s->npositional; i < s->nfields; i++) {
        const struct kp_field *f = &s->fields[i];
        count += kp_vin(f->tagged, e->version) && !kp_field_is_default(f, obj);
    }
    put_uvarint(e->w, count);
    for (uint16_t i = s->npositional; i < s->nfields && count; i++) {
        const struct kp_field *f = &s->fields[i];
        if (!kp_vin(f->tagged, e->version) || kp_field_is_default(f, obj))
            continue;
        int rc = write_tagged(e, f, obj);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- structs ----------------------------------------------------------------------- */

/* A field the version does not carry: fine if default, or if Kafka lets it be dropped. */
static int check_absent(const struct kp_field *f, const uint8_t *obj)
{
    if (f->flags & KP_F_IGNORABLE)
        return 0;
    return kp_field_is_default(f, obj) ? 0 : KP_ENONDEFAULT;
}

static int enc_struct(struct enc *e, const struct kp_schema *s, const uint8_t *obj)
{
    const struct kp_field *f = s->fields, *pos_end = f + s->npositional, *end = f + s->nfields;
    for (; f < pos_end; f++) {
        int rc = kp_vin(f->ver, e->version)
                     ? enc_value(e, f, f->type, kp_vin(f->nullable, e->version),
                                 obj + f->offset, obj)
                     : check_absent(f, obj);
        if (rc)
            return rc;
    }
    for (; f < end; f++) {
        int rc = kp_vin(f->ver, e->version) ? 0 : check_absent(f, obj);
        if (rc)
            return rc;
    }
    return e->flex ? enc_tags(e, s, obj) : 0;
}

int kp_encode(const struct kp_schema *s, int16_t version, const void *in, struct kc_writer *w,
              struct kp_gaps *gaps)
{
    if (!kp_vin(s->versions, version))
        return KP_EBADVERSION;
    struct enc e = {w, version, version >= s->flex_min, gaps};
    int rc = enc_struct(&e, s, in);
    return rc ? rc : kc_writer_error(w);
}
