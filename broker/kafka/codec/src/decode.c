/*
 * decode.c - the interpreter's reading half: bytes + schema + version -> C struct.
 *
 * One walk per struct, in the schema's order:
 *
 *   for each positional field f:
 *       f not in this version        -> the struct gets f's default, the wire nothing
 *       else                         -> read f's type (recursing into structs/arrays)
 *   for each tagged field:           -> default first ...
 *   flexible version                 -> ... then the tag block: count, {tag, size, bytes}*
 *                                       known tags decoded from exactly size bytes,
 *                                       unknown tags skipped
 *
 * What can be refused, and as what (kc_err.h's rule: need-more is not malformed):
 *   the bytes end inside a field                     KC_ENEEDMORE
 *   a length below -1, a null where the version      KC_EMALFORMED
 *   says "not nullable", a compact string over
 *   32767 bytes, a varint over 32 bits, an array
 *   count larger than the bytes left could hold,
 *   a tagged value that does not fill its size
 * A count is checked against the smallest encoding of one element (for structs the
 * generator's kp_schema.wire_min, over the classic or the flexible versions) *before*
 * the array is allocated, so a hostile count can neither allocate nor loop much.
 */
#include <errno.h>
#include <string.h>

#include "kp_int.h"

static int dec_struct(struct kp__dec *d, const struct kp_schema *s, uint8_t *obj);

/* ---- defaults ---------------------------------------------------------------------- */

static void set_default(const struct kp_field *f, uint8_t *at)
{
    switch (f->type) {
    case KP_T_BOOL:
        *(bool *)at = f->def != 0;
        break;
    case KP_T_INT8:
        *(int8_t *)at = (int8_t)f->def;
        break;
    case KP_T_INT16:
        *(int16_t *)at = (int16_t)f->def;
        break;
    case KP_T_UINT16:
        *(uint16_t *)at = (uint16_t)f->def;
        break;
    case KP_T_INT32:
        *(int32_t *)at = (int32_t)f->def;
        break;
    case KP_T_UINT32:
        *(uint32_t *)at = (uint32_t)f->def;
        break;
    case KP_T_INT64:
        *(int64_t *)at = f->def;
        break;
    case KP_T_FLOAT64:
        *(double *)at = 0.0;
        break;
    case KP_T_UUID:
        memset(at, 0, sizeof(struct kp_uuid));
        break;
    case KP_T_STRING:
    case KP_T_BYTES:
    case KP_T_RECORDS:
        *(struct kc_slice *)at = (struct kc_slice){NULL, f->def == KP_DEF_NULL ? -1 : 0};
        break;
    case KP_T_STRUCT:
        memcpy(at, f->nested->defaults, f->nested->size);
        break;
    case KP_T_ARRAY: {
        int32_t n = f->def == KP_DEF_NULL ? -1 : 0;
        void *v = NULL;
        memcpy(at, &n, sizeof(n));
        memcpy(at + offsetof(struct kp__array, v), &v, sizeof(v));
        break;
    }
    }
}

void kp_init(const struct kp_schema *s, void *obj)
{
    memcpy(obj, s->defaults, s->size); /* the generator wrote every default there */
}

void *kp_new(struct kp_arena *a, const struct kp_schema *s, int32_t n)
{
    if (n <= 0)
        return NULL;
    uint8_t *v = kp_arena_alloc(a, (size_t)n * s->size);
    for (int32_t i = 0; v && i < n; i++)
        kp_init(s, v + (size_t)i * s->size);
    return v;
}

/* ---- sizes ------------------------------------------------------------------------- */

static const uint8_t fixed_width[] = {
    [KP_T_BOOL] = 1, [KP_T_INT8] = 1, [KP_T_INT16] = 2, [KP_T_UINT16] = 2, [KP_T_INT32] = 4,
    [KP_T_UINT32] = 4, [KP_T_INT64] = 8, [KP_T_FLOAT64] = 8, [KP_T_UUID] = 16,
    [KP_T_STRING] = 0, [KP_T_BYTES] = 0, [KP_T_RECORDS] = 0, [KP_T_STRUCT] = 0, [KP_T_ARRAY] = 0,
};

/* The fewest bytes one array element takes at d's kind of version: a floor for counts. */
static size_t elem_floor(const struct kp__dec *d, const struct kp_field *f)
{
    if (f->elem == KP_T_STRUCT)
        return f->nested->wire_min[d->flex]; /* the generator's, over those versions */
    if (fixed_width[f->elem])
        return fixed_width[f->elem];
    if (d->flex && !(f->flags & KP_F_NO_FLEX))
        return 1;
    return f->elem == KP_T_STRING ? 2 : 4;
}

/* ---- lengths: i16 / i32 / compact, all returning -1 for null ------------------------ */

/* Read a length prefix; *len >= -1 on success. wide: i32 (bytes, arrays), else i16. */
static inline int rd_length(struct kp__dec *d, bool compact, bool wide, int64_t *len)
{
    if (compact) {
        uint32_t u;
        int rc = kp__rd_uvarint(d, &u);
        if (rc)
            return rc;
        *len = (int64_t)u - 1;
        return 0;
    }
    if (kp__left(d) < (wide ? 4u : 2u))
        return KC_ENEEDMORE;
    const uint8_t *p = d->p + d->pos;
    *len = wide ? (int32_t)kc_load_be32(p) : (int16_t)kc_load_be16(p);
    d->pos += wide ? 4 : 2;
    return *len < -1 ? KC_EMALFORMED : 0;
}

/* A string, bytes or records field: a slice into the input. */
static int dec_slice(struct kp__dec *d, const struct kp_field *f, uint8_t type, bool nullable,
                     struct kc_slice *out)
{
    bool compact = d->flex && !(f->flags & KP_F_NO_FLEX);
    int64_t len;
    int rc = rd_length(d, compact, type != KP_T_STRING, &len);
    if (rc)
        return rc;
    if (len == -1) {
        if (!nullable)
            return KC_EMALFORMED;
        *out = (struct kc_slice){NULL, -1};
        return 0;
    }
    if (len > (type == KP_T_STRING ? INT16_MAX : INT32_MAX))
        return KC_EMALFORMED;
    if ((uint64_t)len > kp__left(d))
        return KC_ENEEDMORE;
    *out = (struct kc_slice){d->p + d->pos, (int32_t)len};
    d->pos += (size_t)len;
    return 0;
}

/* ---- values ------------------------------------------------------------------------ */

/* A fixed-width value from p into at (the caller checked the bytes are there). */
static inline void get_fixed(uint8_t type, const uint8_t *p, uint8_t *at)
{
    switch (type) {
    case KP_T_BOOL:
        *(bool *)at = p[0] != 0;
        break;
    case KP_T_INT8:
        *(int8_t *)at = (int8_t)p[0];
        break;
    case KP_T_INT16:
    case KP_T_UINT16: {
        uint16_t u = kc_load_be16(p);
        memcpy(at, &u, 2);
        break;
    }
    case KP_T_INT32:
    case KP_T_UINT32: {
        uint32_t u = kc_load_be32(p);
        memcpy(at, &u, 4);
        break;
    }
    case KP_T_INT64:
    case KP_T_FLOAT64: {
        uint64_t u = kc_load_be64(p);
        memcpy(at, &u, 8);
        break;
    }
    default: /* uuid */
        memcpy(at, p, 16);
        break;
    }
}

static int dec_fixed(struct kp__dec *d, uint8_t type, uint8_t *at)
{
    size_t w = fixed_width[type];
    if (kp__left(d) < w)
        return KC_ENEEDMORE;
    get_fixed(type, d->p + d->pos, at);
    d->pos += w;
    return 0;
}

static int dec_value(struct kp__dec *d, const struct kp_field *f, uint8_t type, bool nullable,
                     uint8_t *at);

static int dec_array(struct kp__dec *d, const struct kp_field *f, bool nullable, uint8_t *at)
{
    bool compact = d->flex && !(f->flags & KP_F_NO_FLEX);
    int64_t n;
    int rc = rd_length(d, compact, true, &n);
    if (rc)
        return rc;
    uint8_t *v = NULL;
    if (n == -1 && !nullable)
        return KC_EMALFORMED;
    if (n > 0) {
        if ((uint64_t)n > kp__left(d) / elem_floor(d, f))
            return KC_EMALFORMED; /* cannot fit in what is left of a whole message */
        void *mem;
        rc = kp__arena_alloc(d->arena, (size_t)n * f->elem_size, &mem);
        v = mem;
        for (int64_t i = 0; i < n && rc == 0; i++)
            rc = dec_value(d, f, f->elem, false, v + (size_t)i * f->elem_size);
    }
    int32_t n32 = (int32_t)n;
    memcpy(at, &n32, sizeof(n32));
    memcpy(at + offsetof(struct kp__array, v), &v, sizeof(v));
    return rc;
}

static int dec_value(struct kp__dec *d, const struct kp_field *f, uint8_t type, bool nullable,
                     uint8_t *at)
{
    switch (type) {
    case KP_T_STRING:
    case KP_T_BYTES:
    case KP_T_RECORDS:
        return dec_slice(d, f, type, nullable, (struct kc_slice *)at);
    case KP_T_STRUCT:
        return dec_struct(d, f->nested, at);
    case KP_T_ARRAY:
        return dec_array(d, f, nullable, at);
    default:
        return dec_fixed(d, type, at);
    }
}

/* ---- tagged fields ------------------------------------------------------------------- */

static const struct kp_field *find_tag(const struct kp_schema *s, uint32_t tag, int16_t v)
{
    for (uint16_t i = s->npositional; i < s->nfields; i++)
        if (s->fields[i].tag == tag && kp_vin(s->fields[i].tagged, v))
            return &s->fields[i];
    return NULL;
}

/* One known tagged field, decoded from exactly its declared size bytes. */
static int dec_tagged(struct kp__dec *d, const struct kp_field *f, size_t size, uint8_t *obj)
{
    struct kp__dec sub = *d;
    sub.len = d->pos + size;
    int rc = dec_value(&sub, f, f->type, kp_vin(f->nullable, d->version), obj + f->offset);
    if (rc == KC_ENEEDMORE || (rc == 0 && sub.pos != sub.len))
        return KC_EMALFORMED; /* the value disagrees with its own size */
    d->pos = sub.pos;
    return rc;
}

static int dec_tags(struct kp__dec *d, const struct kp_schema *s, uint8_t *obj)
{
    uint32_t count, tag, size;
    int rc = kp__rd_uvarint(d, &count);
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        rc = kp__rd_uvarint(d, &tag);
        if (rc == 0)
            rc = kp__rd_uvarint(d, &size);
        if (rc)
            break;
        if (size > kp__left(d))
            return KC_ENEEDMORE;
        const struct kp_field *f = find_tag(s, tag, d->version);
        if (f)
            rc = dec_tagged(d, f, size, obj);
        else
            d->pos += size; /* unknown: skipped, as Kafka's readers keep it aside */
    }
    return rc;
}

/* ---- structs ----------------------------------------------------------------------- */

static int dec_struct(struct kp__dec *d, const struct kp_schema *s, uint8_t *obj)
{
    const struct kp_field *f = s->fields, *pos_end = f + s->npositional, *end = f + s->nfields;
    for (; f < pos_end; f++) {
        uint8_t *at = obj + f->offset;
        if (!kp_vin(f->ver, d->version)) {
            set_default(f, at);
            continue;
        }
        size_t w = fixed_width[f->type];
        if (w) { /* the common case, inline: a fixed-width number */
            if (kp__left(d) < w)
                return KC_ENEEDMORE;
            get_fixed(f->type, d->p + d->pos, at);
            d->pos += w;
            continue;
        }
        int rc = dec_value(d, f, f->type, kp_vin(f->nullable, d->version), at);
        if (rc)
            return rc;
    }
    for (; f < end; f++)
        set_default(f, obj + f->offset);
    return d->flex ? dec_tags(d, s, obj) : 0;
}

int kp_decode(const struct kp_schema *s, int16_t version, const uint8_t *p, size_t len,
              struct kp_arena *a, void *out, size_t *used)
{
    if (!kp_vin(s->versions, version))
        return KC_EBADVERSION;
    struct kp__dec d = {p, len, 0, version, version >= s->flex_min, a};
    int rc = dec_struct(&d, s, out);
    if (rc == 0 && used)
        *used = d.pos;
    return rc;
}
