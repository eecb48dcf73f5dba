/*
 * kc_codec.h - Kafka's four compression codecs, and compressed RecordBatches.
 *
 * A producer may compress a batch: then everything after the 61-byte header is ONE blob,
 * the records section compressed with the codec named by attributes bits 0-2. The header
 * (offsets, timestamps, counts, CRC) stays in the clear, so a broker can store and serve
 * the batch without ever opening the blob; only someone who must look at the records (a
 * consumer, the log cleaner) decompresses it.
 *
 *   header (61 B, plain)  | records section
 *                         | uncompressed:  record record record ...
 *                         | compressed:    [ codec framing | compressed record bytes ... ]
 *
 *   codec   attr  what goes on the wire                          library (Debian)
 *   gzip    1     RFC 1952 gzip member(s) (Java's GZIPOutputStream)   zlib1g
 *   snappy  2     Java: xerial framing (below); librdkafka: raw snappy   libsnappy1v5
 *   lz4     3     LZ4 frame format, 64 KiB independent blocks, no checksums liblz4-1
 *   zstd    4     zstd frame(s), content size optional             libzstd1
 *
 * Snappy has two shapes. Kafka's Java client writes snappy-java's stream format, "xerial
 * framing"; librdkafka 2.0.2 (kcat) writes one raw snappy block (the fixture in
 * tests/fixtures/kcat_snappy.bin starts with the varint length 0xf0 0x53 = 10736):
 *
 *   xerial   82 'S' 'N' 'A' 'P' 'P' 'Y' 00 | version i32 = 1 | compatible i32 = 1 |
 *            { length i32 (big-endian) | raw snappy block of that many bytes } ...
 *   raw      varint uncompressed length | snappy tags ...
 *
 * Both are read (as both Kafka and librdkafka do); kc_compress writes xerial framing with
 * 32 KiB blocks, what Kafka itself writes, which every client reads.
 *
 * Rules:
 *  - Output goes to a kc_writer (appended). Decompression is BOUNDED: limit is the most it
 *    may produce, checked before each piece is inflated, so a 1 KiB "decompression bomb"
 *    that claims gigabytes costs at most limit bytes of memory and is refused with
 *    KC_ETOOLARGE. Kafka's own bound is the batch size a consumer accepts.
 *  - The input is complete (a whole batch arrived): truncated or corrupt compressed bytes
 *    are KC_EMALFORMED, never "need more". Bytes after the end of the compressed stream
 *    are malformed too (a stream that ends early lied about its length).
 *  - Errors: KC_EUNSUPPORTED (codec not 1-4), KC_EMALFORMED, KC_ETOOLARGE, -ENOMEM. On
 *    error the writer may hold a partial output: reset it.
 *  - Thread-safe: no state is kept between calls (each call makes its own context).
 *
 * The batch reader and the rebuilder (kc_batch.h's builder with rb.codec set) are built
 * on these: decompress a batch once, walk its records; build records back into a batch
 * compressed with the same codec (what Kafka's log cleaner does when it compacts).
 */
#ifndef KC_CODEC_H
#define KC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "kc_batch.h"
#include "kc_buf.h"

/* "none", "gzip", "snappy", "lz4", "zstd"; "unknown" otherwise. Static. */
const char *kc_codec_name(int codec);

/* Append src[0..len) decompressed with codec to out; at most limit bytes (see above). */
int kc_decompress(int codec, const uint8_t *src, size_t len, size_t limit, struct kc_writer *out);

/* Append src[0..len) compressed with codec (Kafka's framing and default level) to out. */
int kc_compress(int codec, const uint8_t *src, size_t len, struct kc_writer *out);

/*
 * Reading the records of any batch, compressed or not: the records section is decompressed
 * once (at most limit bytes) into the reader's own buffer, then walked record by record.
 *
 *   struct kc_batch_reader br;
 *   if (kc_batch_reader_open(&br, batch, len, 8 << 20) == 0) {
 *       while ((rc = kc_batch_reader_next(&br, &rec)) == 1) ... rec.offset, rec.key ...
 *       kc_batch_reader_close(&br);
 *   }
 *
 * The batch must be whole (len >= its size) with a header that decodes; the CRC is not
 * checked here (kc_batch_validate does that). Records may have offset gaps (a compacted
 * batch keeps each record's offset): their offset deltas must strictly increase and stay
 * within lastOffsetDelta, else KC_EMALFORMED; the count must be exactly recordsCount and
 * the records must end exactly where the section does. A kc_record points into the batch
 * (uncompressed) or into the reader (compressed): valid until kc_batch_reader_close.
 */
struct kc_batch_reader {
    struct kc_batch_header h;
    struct kc_record_iter it;
    struct kc_writer buf; /* the decompressed records section (compressed batches) */
    int32_t last_delta;   /* the previous record's offset delta (-1 before the first) */
};

/* 0, or KC_ENEEDMORE (len short of the batch), KC_EMALFORMED, KC_EUNSUPPORTED,
 * KC_ETOOLARGE (the records section inflates past limit), -ENOMEM. Nothing to close on
 * failure. */
int kc_batch_reader_open(struct kc_batch_reader *br, const uint8_t *batch, size_t len,
                         size_t limit);
/* 1 and *rec, 0 at the end (exactly recordsCount records), or KC_EMALFORMED. */
int kc_batch_reader_next(struct kc_batch_reader *br, struct kc_record *rec);
void kc_batch_reader_close(struct kc_batch_reader *br);

/*
 * The deep check a stored batch deserves before anyone relies on its records: the CRC
 * (as kc_batch_validate), then every record read through a kc_batch_reader (decompressing
 * at most limit bytes). Unlike kc_batch_validate it accepts what compaction leaves behind
 * (offset gaps inside a batch, a batch with no records left) and looks inside compressed
 * batches. Returns the batch's size (> 0) or the first error.
 */
int kc_batch_validate_deep(const uint8_t *batch, size_t len, size_t limit);

/*
 * The rebuilder: finish a kc_batch_builder (kc_batch.h) whose rebuild settings name a codec
 * compressing its records section with it (0 builds a plain batch, as
 * kc_batch_builder_finish). A batch with no records is always written plain, as Kafka
 * writes one. Returns as kc_batch_builder_finish, plus the codec's errors.
 */
int kc_batch_builder_finish_codec(struct kc_batch_builder *b, uint8_t **batch, size_t *len);

#endif
