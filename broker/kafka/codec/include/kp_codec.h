/*
 * kp_codec.h - a Kafka message codec driven by schema tables: decode bytes into a C
 * struct, encode a C struct into bytes, for any message, at any version.
 *
 * Kafka describes each message once, in JSON: a list of fields, each with a type and the
 * versions it exists in. gen/kpgen.py turns that JSON into two things per struct: the C
 * struct (include/kpm_*.h) and a schema table (src/kpm_*.c), an array of kp_field
 * descriptors that says where each field lives in the struct and how it travels:
 *
 *   struct kp_produce_req            kp_produce_req_schema.fields[]
 *   +----------------------------+   +---------------------------------------------------+
 *   | kc_slice transactional_id  |<--| "transactional_id" off 0  STRING  v3+ nullable 3+ |
 *   | int16_t  acks              |<--| "acks"             off 16 INT16   v0+             |
 *   | int32_t  timeout_ms        |<--| "timeout_ms"       off 20 INT32   v0+             |
 *   | KP_ARRAY(...) topic_data   |<--| "topic_data"       off 24 ARRAY of STRUCT ------+ |
 *   +----------------------------+   +-----------------------------------------------|---+
 *                                      kp_produce_req_topic_produce_data_schema  <----+
 *
 * One interpreter (src/decode.c, src/encode.c) walks those tables. Everything version-
 * dependent is data: a field outside its versions is skipped on the wire and holds its
 * default in the struct; a flexible version (KIP-482) swaps the i16/i32 length prefixes
 * for unsigned varints of length+1 and ends every struct with a tagged-field block.
 *
 * The C shapes (what the generator emits):
 *   int8..int64, uint16/32, float64, bool   the C type of that width
 *   string, bytes, records                 struct kc_slice {p, len}: len -1 = null; a
 *                                          decoded slice points into the input, never
 *                                          copied, and lives as long as those bytes
 *   uuid                                   struct kp_uuid, 16 bytes
 *   [] of anything                         KP_ARRAY(T): .n (-1 = null array), .v items
 *   a nested struct (tagged, in Fetch)     the struct itself, by value
 *
 * Rules:
 *  - kp_decode reads one struct at one version from bytes it does not own. Arrays come
 *    from the caller's arena (kp_arena), freed all at once; slices point into the bytes.
 *    Every count and length is checked against the bytes left before anything is
 *    allocated or looped over. Returns 0, KC_ENEEDMORE (the bytes end inside the
 *    message: a caller holding a whole frame treats it as malformed), KC_EMALFORMED,
 *    -ENOMEM, or KC_ETOOLARGE (the arena's limit). On failure the struct holds a partial
 *    decode: do not use it (its arrays are still in the arena).
 *  - kp_encode appends one struct at one version to a kc_writer. A field the version does
 *    not carry must hold its default, unless Kafka marks it ignorable (KC_ENONDEFAULT
 *    otherwise: the same rule as Kafka's generated writers). A null where the version
 *    cannot carry null is -EINVAL. Tagged fields are written when they differ from their
 *    default, in ascending tag order. A records field with .p NULL and .len > 0 is a
 *    *gap*: the length prefix is written, the bytes are not, and a kp_gap records where
 *    they belong (the caller sends them itself, e.g. with sendfile).
 *  - Unknown tagged fields are skipped on decode and so are not re-encoded. Tags in any
 *    order are accepted (Kafka's generated readers accept them too); a known tag whose
 *    value does not fill exactly its declared size is malformed.
 *  - Pure functions over caller-owned memory: any thread, no locks, no global state.
 *
 * Read next: kp_api.h (frames, headers, the API table), kp_msgs.h (the generated structs),
 * README.md (the wire format in pictures).
 */
#ifndef KP_CODEC_H
#define KP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kc_buf.h"
#include "kc_err.h"

/* ---- return codes: -errno, or kc_err.h's project codes (one table, kc_strerror) ---------
 *
 *   KC_ENOAPI        an api_key this codec does not speak
 *   KC_EBADVERSION   a version outside what the schema describes
 *   KC_ENONDEFAULT   encode: a field this version cannot carry holds a non-default value
 *   KC_ENEEDMORE / KC_EMALFORMED / KC_ETOOLARGE   as everywhere in the project
 */

/* ---- the shapes generated structs are made of ------------------------------------------ */

/* An array field: n elements at v; n == -1 is Kafka's null array (v NULL), n == 0 empty. */
#define KP_ARRAY(T)                                                                           \
    struct {                                                                                  \
        int32_t n;                                                                            \
        T *v;                                                                                 \
    }

/* Point an array field at n items: KP_SET(resp->topics, n, topics). */
#define KP_SET(arr, count, items) ((arr).n = (count), (arr).v = (items))

/* A kc_slice over a C string, pointing at it (no copy); NULL gives the null slice. */
static inline struct kc_slice kp_slice_str(const char *s)
{
    return (struct kc_slice){(const uint8_t *)s, s ? (int32_t)strlen(s) : -1};
}

/* Does s hold exactly the C string str? A null slice equals nothing. */
static inline bool kp_slice_eq(struct kc_slice s, const char *str)
{
    size_t n = strlen(str);
    return s.len >= 0 && (size_t)s.len == n && (n == 0 || memcmp(s.p, str, n) == 0);
}

struct kp_uuid {
    uint8_t b[16];
};

/* ---- schema tables (generated; read by the interpreter, and by anyone who wants to walk a
 * message generically, like the demo's pretty-printer) -------------------------------------- */

enum kp_type {
    KP_T_BOOL = 1,
    KP_T_INT8,
    KP_T_INT16,
    KP_T_UINT16,
    KP_T_INT32,
    KP_T_UINT32,
    KP_T_INT64,
    KP_T_FLOAT64,
    KP_T_UUID,
    KP_T_STRING,
    KP_T_BYTES,
    KP_T_RECORDS,
    KP_T_STRUCT,
    KP_T_ARRAY,
};

enum kp_field_flags {
    KP_F_IGNORABLE = 1, /* may hold a non-default value in versions that do not carry it */
    KP_F_NO_FLEX = 2,   /* never compact, even in flexible versions (the header's client_id) */
};

/* An inclusive version range; lo > hi is empty. "3+" is {3, KP_VMAX}. */
struct kp_vrange {
    int16_t lo, hi;
};

#define KP_VMAX 0x7fff
#define KP_VNONE {1, 0}
/* kp_field.def of a string, bytes or array whose default is null rather than empty. */
#define KP_DEF_NULL (-1)

static inline bool kp_vin(struct kp_vrange r, int16_t v)
{
    return v >= r.lo && v <= r.hi;
}

struct kp_schema;

struct kp_field {
    const char *name;        /* the C member's name ("partition_index") */
    uint16_t offset;         /* offsetof(struct, member) */
    uint8_t type;            /* enum kp_type */
    uint8_t elem;            /* KP_T_ARRAY: the element's type */
    uint16_t elem_size;      /* KP_T_ARRAY: sizeof one element */
    uint8_t flags;           /* enum kp_field_flags */
    uint32_t tag;            /* tagged fields: the tag */
    struct kp_vrange ver;    /* versions the field exists in */
    struct kp_vrange nullable; /* versions in which it may be null */
    struct kp_vrange tagged; /* versions in which it travels as a tagged field */
    int64_t def;             /* numbers and bool: the default; strings, bytes, arrays:
                              * KP_DEF_NULL or 0 (empty); uuid and structs: 0 (zero) */
    const struct kp_schema *nested; /* KP_T_STRUCT (or an array of them): its schema */
};

struct kp_schema {
    const char *name;        /* Kafka's name: "ProduceRequest", "TopicProduceData" */
    const struct kp_field *fields; /* positional fields in wire order, then tagged by tag */
    uint16_t nfields;
    uint16_t npositional;
    uint16_t fixed_max;      /* encoder's room: fixed-width fields + length prefixes */
    uint16_t wire_min[2];    /* fewest bytes it takes at any [classic, flexible] version */
    uint16_t tag_lo, tag_hi; /* the bytes of the struct that hold its tagged fields */
    uint32_t size;           /* sizeof the C struct */
    const void *defaults;    /* one struct holding every field's default (kp_init copies it) */
    struct kp_vrange versions; /* the message's valid versions */
    int16_t flex_min;        /* the message's first flexible version (KP_VMAX: never) */
};

/* ---- arena: where a decoded message's arrays live ------------------------------------- */

struct kp__chunk;

struct kp_arena {
    struct kp__chunk *head;
    size_t total; /* bytes handed out so far */
    size_t limit; /* refuse to hand out more than this (KC_ETOOLARGE); 0 = no limit */
};

/* An empty arena with a limit (0 = none). Arenas need no other setup: {0} is empty too. */
static inline void kp_arena_init(struct kp_arena *a, size_t limit)
{
    a->head = NULL;
    a->total = 0;
    a->limit = limit;
}

/* n zeroed bytes, 16-byte aligned, valid until kp_arena_fini; NULL on -ENOMEM or limit. */
void *kp_arena_alloc(struct kp_arena *a, size_t n);
/* Free everything the arena handed out; the arena is empty (and reusable) afterwards. */
void kp_arena_fini(struct kp_arena *a);

/* ---- the interpreter ------------------------------------------------------------------- */

/*
 * Decode one struct of schema s at version from p[0..len) into out (s->size bytes).
 * *used receives the bytes read. Trailing bytes are left alone (the caller decides).
 * Returns as described above; KC_EBADVERSION if version is outside s->versions.
 */
int kp_decode(const struct kp_schema *s, int16_t version, const uint8_t *p, size_t len,
              struct kp_arena *a, void *out, size_t *used);

/* Gaps: where an encoded message leaves room for bytes the caller sends itself. */
struct kp_gap {
    size_t at;         /* writer offset where the bytes belong (just after their length) */
    int32_t len;       /* how many */
    const void *owner; /* the struct holding the records field (e.g. a Fetch partition) */
};

struct kp_gaps {
    struct kp_gap *v; /* caller's array of cap entries */
    size_t n, cap;
    size_t bytes;     /* sum of the gaps' lengths */
};

/*
 * Append struct in (schema s) at version to w. gaps may be NULL when no records field is
 * a gap. Returns 0, the writer's sticky error (-ENOMEM, KC_ETOOLARGE), KC_EBADVERSION,
 * KC_ENONDEFAULT, -EINVAL (a null the version cannot carry, a negative length other than
 * -1, or a gap with no gap list), -E2BIG (gap list full) or KC_ETOOLARGE (a string over
 * 32767 bytes). On error w holds a partial message: discard it.
 */
int kp_encode(const struct kp_schema *s, int16_t version, const void *in, struct kc_writer *w,
              struct kp_gaps *gaps);

/* Every field of obj (schema s) to its default: what a decode of a version without the
 * field would leave there. Nested structs too; arrays to empty (or null by default). */
void kp_init(const struct kp_schema *s, void *obj);

/* n structs of schema s from the arena, each kp_init'ed; NULL on -ENOMEM/limit. For
 * filling a response's arrays: resp->topics.v = kp_new(a, &..._schema, n). */
void *kp_new(struct kp_arena *a, const struct kp_schema *s, int32_t n);

/* True when field f of obj holds its default (the encoder's test for tagged fields). */
bool kp_field_is_default(const struct kp_field *f, const void *obj);

#endif
