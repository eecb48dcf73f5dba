/*
 * batch_codec.c - the records of any batch, compressed or not, and the rebuilder that
 * compresses them again (see kc_codec.h).
 *
 *   kc_batch_reader_open   header decoded, batch whole?  compressed: decompress the records
 *                          section ONCE into the reader's buffer (bounded by limit)
 *   kc_batch_reader_next   one record, from the batch's bytes or from that buffer; offset
 *                          deltas must strictly increase and stay within lastOffsetDelta
 *                          (compaction leaves gaps, never disorder)
 *
 * Walking the decompressed bytes reuses kc_record_iter (batch.c): only where its bytes come
 * from differs, so a compressed batch is parsed by exactly the code a plain one is.
 */
#include <errno.h>
#include <string.h>

#include "kc_codec.h"
#include "kc_crc32c.h"
#include "kc_err.h"

/* Point the iterator at a decompressed records section. */
static void iter_over(struct kc_record_iter *it, const struct kc_batch_header *h,
                      const uint8_t *records, size_t len)
{
    it->p = records;
    it->end = records + len;
    it->base_offset = h->base_offset;
    it->base_timestamp = h->base_timestamp;
    it->count = h->records_count;
    it->index = 0;
}

static int open_compressed(struct kc_batch_reader *br, const uint8_t *batch, size_t size,
                           size_t limit)
{
    int codec = br->h.attributes & KC_BATCH_ATTR_COMPRESSION;
    if (codec > KC_COMPRESS_ZSTD)
        return KC_EUNSUPPORTED;
    if (br->h.records_count == 0 && size == KC_BATCH_HEADER_SIZE) {
        iter_over(&br->it, &br->h, batch + size, 0); /* nothing was compressed */
        return 0;
    }
    int rc = kc_decompress(codec, batch + KC_BATCH_HEADER_SIZE, size - KC_BATCH_HEADER_SIZE,
                           limit, &br->buf);
    if (rc) {
        kc_writer_fini(&br->buf);
        return rc;
    }
    iter_over(&br->it, &br->h, kc_writer_data(&br->buf), kc_writer_len(&br->buf));
    return 0;
}

int kc_batch_reader_open(struct kc_batch_reader *br, const uint8_t *batch, size_t len,
                         size_t limit)
{
    memset(br, 0, sizeof(*br));
    br->last_delta = -1;
    kc_writer_init(&br->buf, 0);
    int rc = kc_batch_header_decode_stored(batch, len, &br->h);
    if (rc)
        return rc;
    size_t size = (size_t)br->h.batch_length + KC_BATCH_LOG_OVERHEAD;
    if (len < size)
        return KC_ENEEDMORE;
    if (br->h.attributes & KC_BATCH_ATTR_COMPRESSION)
        return open_compressed(br, batch, size, limit);
    iter_over(&br->it, &br->h, batch + KC_BATCH_HEADER_SIZE, size - KC_BATCH_HEADER_SIZE);
    return 0;
}

int kc_batch_reader_next(struct kc_batch_reader *br, struct kc_record *rec)
{
    struct kc_record r;
    int rc = kc_record_iter_next(&br->it, &r);
    if (rc != 1)
        return rc;
    /* The iterator made the offset base + delta (wrapping); the delta itself: */
    int64_t delta = (int64_t)((uint64_t)r.offset - (uint64_t)br->h.base_offset);
    if (delta <= br->last_delta || delta > br->h.last_offset_delta)
        return KC_EMALFORMED;
    br->last_delta = (int32_t)delta;
    *rec = r;
    return 1;
}

void kc_batch_reader_close(struct kc_batch_reader *br)
{
    kc_writer_fini(&br->buf);
}

int kc_batch_validate_deep(const uint8_t *batch, size_t len, size_t limit)
{
    struct kc_batch_header h;
    int rc = kc_batch_header_decode_stored(batch, len, &h);
    if (rc)
        return rc;
    size_t size = (size_t)h.batch_length + KC_BATCH_LOG_OVERHEAD;
    if (len < size)
        return KC_ENEEDMORE;
    if (kc_crc32c(0, batch + KC_BATCH_OFF_ATTRIBUTES, size - KC_BATCH_OFF_ATTRIBUTES) != h.crc)
        return KC_ECRC;
    struct kc_batch_reader br;
    struct kc_record rec;
    if ((rc = kc_batch_reader_open(&br, batch, size, limit)) != 0)
        return rc;
    while ((rc = kc_batch_reader_next(&br, &rec)) == 1)
        ;
    kc_batch_reader_close(&br);
    return rc < 0 ? rc : (int)size;
}

/* Compress the records section in place: [header | records] -> [header | blob]. */
static int compress_records(struct kc_batch_builder *b, int codec)
{
    struct kc_writer tmp;
    kc_writer_init(&tmp, 0);
    uint8_t *p = kc_writer_data(&b->w);
    int rc = kc_compress(codec, p + KC_BATCH_HEADER_SIZE,
                         kc_writer_len(&b->w) - KC_BATCH_HEADER_SIZE, &tmp);
    if (rc == 0) {
        b->w.len = KC_BATCH_HEADER_SIZE;
        kc_write_raw(&b->w, kc_writer_data(&tmp), kc_writer_len(&tmp));
        rc = kc_writer_error(&b->w);
    }
    kc_writer_fini(&tmp);
    return rc;
}

int kc_batch_builder_finish_codec(struct kc_batch_builder *b, uint8_t **batch, size_t *len)
{
    int32_t last;
    int codec = b->rb.codec;
    if (codec < 0 || codec > KC_COMPRESS_ZSTD)
        return KC_EUNSUPPORTED;
    int rc = kc__batch_builder_prepare(b, &last);
    if (rc == 0 && b->count > 0 && codec)
        rc = compress_records(b, codec);
    if (rc)
        return rc;
    uint8_t *p = kc_writer_data(&b->w);
    size_t size = kc_writer_len(&b->w);
    kc__batch_write_header(b, p, size, last, b->count ? codec : 0);
    *batch = p;
    *len = size;
    return 0;
}
