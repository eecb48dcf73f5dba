/*
 * kc_buf.h - bounds-checked big-endian reader and writer over a byte buffer.
 *
 * Every wire format in this project (the native protocol, the Kafka protocol, the
 * RecordBatch header) is big-endian with Kafka's string and bytes conventions:
 *
 *   string   i16 length, then UTF-8 bytes        length -1 = null
 *   bytes    i32 length, then raw bytes          length -1 = null
 *   array    i32 count, then elements            count -1 = null
 *   compact  unsigned varint N+1, then N items   0 = null   (flexible versions only)
 *
 * Reader rules (picohttpparser-style contract):
 *  - Each kc_read_* returns 0 on success, KC_ENEEDMORE if the buffer ends first, or
 *    KC_EMALFORMED for bytes that can never be valid (a length below -1, an array count
 *    larger than the bytes left could hold).
 *  - On failure nothing is consumed and no out-parameter is written.
 *  - Strings and bytes are not copied: kc_slice points into the reader's buffer and is
 *    valid exactly as long as that buffer is.
 *
 * Writer rules:
 *  - Errors are sticky: writes after a failure do nothing, and kc_writer_error() reports
 *    the first failure (-ENOMEM, or KC_ETOOLARGE past the writer's limit). Build a whole
 *    message, then check once.
 *  - A growable writer owns its buffer (kc_writer_fini frees it, kc_writer_take hands it
 *    over); a fixed writer writes into the caller's buffer and never grows.
 *  - Pointers into the buffer (kc_writer_data) are invalidated by the next write that
 *    grows it.
 */
#ifndef KC_BUF_H
#define KC_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A view of bytes inside someone else's buffer; len -1 means null. */
struct kc_slice {
    const uint8_t *p;
    int32_t len;
};

struct kc_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
};

static inline void kc_reader_init(struct kc_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
}

static inline size_t kc_reader_left(const struct kc_reader *r)
{
    return r->len - r->pos;
}

int kc_read_i8(struct kc_reader *r, int8_t *v);
int kc_read_i16(struct kc_reader *r, int16_t *v);
int kc_read_i32(struct kc_reader *r, int32_t *v);
int kc_read_i64(struct kc_reader *r, int64_t *v);
int kc_read_u8(struct kc_reader *r, uint8_t *v);
int kc_read_u16(struct kc_reader *r, uint16_t *v);
int kc_read_u32(struct kc_reader *r, uint32_t *v);
int kc_read_varint(struct kc_reader *r, int32_t *v);
int kc_read_varlong(struct kc_reader *r, int64_t *v);
int kc_read_uvarint(struct kc_reader *r, uint32_t *v);
int kc_read_raw(struct kc_reader *r, size_t n, const uint8_t **p);
int kc_read_skip(struct kc_reader *r, size_t n);
/* Kafka string (i16 length) and bytes (i32 length); -1 reads as a null slice. */
int kc_read_str(struct kc_reader *r, struct kc_slice *s);
int kc_read_bytes(struct kc_reader *r, struct kc_slice *s);
/* Compact (flexible-version) string and bytes: unsigned varint N+1, 0 = null. */
int kc_read_compact_str(struct kc_reader *r, struct kc_slice *s);
/* Skip a flexible-version tagged-field block (count, then tag/size/bytes each). */
int kc_read_skip_tags(struct kc_reader *r);
/*
 * Array count (i32, -1 = null). min_elem is the smallest encoding of one element: a count
 * that cannot fit in the bytes left is malformed, so a hostile count never drives a
 * caller's allocation or loop.
 */
int kc_read_array_len(struct kc_reader *r, size_t min_elem, int32_t *n);

struct kc_writer {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t limit;
    int err;
    bool fixed;
};

/* A growable writer that refuses to grow beyond limit bytes (0 = no limit). */
void kc_writer_init(struct kc_writer *w, size_t limit);
/* A fixed writer over buf[0..cap); writing past cap fails with KC_ETOOLARGE. */
void kc_writer_init_fixed(struct kc_writer *w, void *buf, size_t cap);
void kc_writer_fini(struct kc_writer *w);
void kc_writer_reset(struct kc_writer *w);
/* Make room for n more bytes; returns a pointer to them (or NULL, with the error set). */
uint8_t *kc_writer_reserve(struct kc_writer *w, size_t n);
/* Hand the buffer to the caller (free() it); the writer is left empty. */
uint8_t *kc_writer_take(struct kc_writer *w, size_t *len);

static inline int kc_writer_error(const struct kc_writer *w)
{
    return w->err;
}

static inline size_t kc_writer_len(const struct kc_writer *w)
{
    return w->len;
}

static inline uint8_t *kc_writer_data(const struct kc_writer *w)
{
    return w->p;
}

void kc_write_i8(struct kc_writer *w, int8_t v);
void kc_write_i16(struct kc_writer *w, int16_t v);
void kc_write_i32(struct kc_writer *w, int32_t v);
void kc_write_i64(struct kc_writer *w, int64_t v);
void kc_write_u8(struct kc_writer *w, uint8_t v);
void kc_write_u16(struct kc_writer *w, uint16_t v);
void kc_write_u32(struct kc_writer *w, uint32_t v);
void kc_write_varint(struct kc_writer *w, int32_t v);
void kc_write_varlong(struct kc_writer *w, int64_t v);
void kc_write_uvarint(struct kc_writer *w, uint32_t v);
void kc_write_raw(struct kc_writer *w, const void *p, size_t n);
/*
 * Kafka string / bytes: a negative len writes null; (NULL, 0) writes an empty value; a
 * NULL p with len > 0 is a caller bug and fails the writer with -EINVAL. A string's len
 * must fit in an i16 (else KC_ETOOLARGE).
 */
void kc_write_str(struct kc_writer *w, const char *p, int32_t len);
void kc_write_cstr(struct kc_writer *w, const char *s); /* NULL -> null string */
void kc_write_bytes(struct kc_writer *w, const void *p, int32_t len);
void kc_write_compact_str(struct kc_writer *w, const char *p, int32_t len);
/* Overwrite an i32 written earlier at byte offset at (for length prefixes). */
void kc_writer_patch_i32(struct kc_writer *w, size_t at, int32_t v);

/* Raw big-endian loads and stores, for fixed layouts such as the RecordBatch header. */
static inline uint16_t kc_load_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t kc_load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t kc_load_be64(const uint8_t *p)
{
    return (uint64_t)kc_load_be32(p) << 32 | kc_load_be32(p + 4);
}

static inline void kc_store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void kc_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void kc_store_be64(uint8_t *p, uint64_t v)
{
    kc_store_be32(p, (uint32_t)(v >> 32));
    kc_store_be32(p + 4, (uint32_t)v);
}

#endif
