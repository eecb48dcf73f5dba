/*
 * test_codec.c - the four codecs against bytes real clients and independent programs made.
 *
 * The fixtures are the records of Produce requests kcat 1.7.1 (librdkafka 2.0.2) sent with
 * -z gzip|snappy|lz4|zstd (scripts/capture-kcat-batch.py): 200 records, null keys, the
 * value "compressible compressible compressible payload". Decoding them proves we read
 * what librdkafka writes. Python's zlib/gzip, the lz4 and zstd command-line tools and
 * snappy-java's stream classes (the ones Kafka's Java client uses, when a JVM is
 * installed) read what we write and write what we read. Our own round trips alone would
 * prove nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"

#define FIX(name) "common/tests/fixtures/" name
#define VALUE     "compressible compressible compressible payload"
#define LIMIT     (16u << 20)

static const struct {
    const char *file;
    int codec;
} fixtures[] = {{FIX("kcat_gzip.bin"), KC_COMPRESS_GZIP},
                {FIX("kcat_snappy.bin"), KC_COMPRESS_SNAPPY},
                {FIX("kcat_lz4.bin"), KC_COMPRESS_LZ4},
                {FIX("kcat_zstd.bin"), KC_COMPRESS_ZSTD}};

static const int codecs[] = {KC_COMPRESS_GZIP, KC_COMPRESS_SNAPPY, KC_COMPRESS_LZ4,
                             KC_COMPRESS_ZSTD};

/* n bytes: compressible text when text, else PRNG noise (incompressible). */
static uint8_t *make_data(size_t n, bool text, uint64_t *seed)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = text ? (uint8_t)("the quick brown fox "[i % 20] + (i / 4096) % 3)
                    : (uint8_t)kc_test_rand(seed);
    return p;
}

static void roundtrip(int codec, const uint8_t *data, size_t n)
{
    struct kc_writer z, back;
    kc_writer_init(&z, 0);
    kc_writer_init(&back, 0);
    assert_int_equal(kc_compress(codec, data, n, &z), 0);
    int rc = kc_decompress(codec, kc_writer_data(&z), kc_writer_len(&z), n, &back);
    if (rc)
        fail_msg("%s, %zu bytes: %s", kc_codec_name(codec), n, kc_strerror(rc));
    assert_int_equal(kc_writer_len(&back), n);
    if (n)
        assert_memory_equal(kc_writer_data(&back), data, n);
    kc_writer_fini(&z);
    kc_writer_fini(&back);
}

static void check_fixture_records(struct kc_batch_reader *br)
{
    struct kc_record rec;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(kc_batch_reader_next(br, &rec), 1);
        assert_int_equal(rec.offset, br->h.base_offset + i);
        assert_null(rec.key);
        assert_int_equal(rec.key_len, -1);
        assert_int_equal(rec.value_len, (int32_t)strlen(VALUE));
        assert_memory_equal(rec.value, VALUE, strlen(VALUE));
        assert_int_equal(rec.header_count, 0);
        assert_true(rec.timestamp >= br->h.base_timestamp && rec.timestamp <= br->h.max_timestamp);
    }
    assert_int_equal(kc_batch_reader_next(br, &rec), 0);
}

static void test_codec_kcat_fixtures_decode_to_their_records(void **state)
{
    (void)state;
    for (size_t i = 0; i < KC_ARRAY_SIZE(fixtures); i++) {
        size_t len;
        uint8_t *batch = kc_test_load(fixtures[i].file, &len);
        struct kc_batch_reader br;
        assert_int_equal(kc_batch_reader_open(&br, batch, len, LIMIT), 0);
        assert_int_equal(br.h.attributes & KC_BATCH_ATTR_COMPRESSION, fixtures[i].codec);
        assert_int_equal(kc_writer_len(&br.buf), 10736); /* the plain records section */
        check_fixture_records(&br);
        kc_batch_reader_close(&br);
        assert_int_equal(kc_batch_validate_deep(batch, len, LIMIT), (int)len);
        free(batch);
    }
}

/* Records in, a batch compressed with the same codec out: Kafka's cleaner does this. */
static void test_codec_rebuild_fixture_same_codec_same_records(void **state)
{
    (void)state;
    for (size_t i = 0; i < KC_ARRAY_SIZE(fixtures); i++) {
        size_t len, out_len;
        uint8_t *batch = kc_test_load(fixtures[i].file, &len), *out;
        struct kc_batch_reader br, again;
        struct kc_record rec;
        assert_int_equal(kc_batch_reader_open(&br, batch, len, LIMIT), 0);
        struct kc_batch_opts o;
        kc_batch_opts_default(&o);
        o.base_offset = 5000;
        struct kc_batch_builder b;
        kc_batch_builder_init(&b, &o, 0);
        kc_batch_builder_set_rebuild(&b, &(struct kc_batch_rebuild){.codec = fixtures[i].codec});
        while (kc_batch_reader_next(&br, &rec) == 1)
            assert_int_equal(kc_batch_builder_add_record(&b, &rec, (int32_t)rec.offset), 0);
        assert_int_equal(kc_batch_builder_finish(&b, &out, &out_len), -EINVAL); /* not plain */
        assert_int_equal(kc_batch_builder_finish_codec(&b, &out, &out_len), 0);
        assert_int_equal(kc_batch_validate(out, out_len, NULL), (int)out_len);
        assert_int_equal(kc_batch_reader_open(&again, out, out_len, LIMIT), 0);
        assert_int_equal(again.h.attributes & KC_BATCH_ATTR_COMPRESSION, fixtures[i].codec);
        assert_int_equal(again.h.base_timestamp, br.h.base_timestamp);
        check_fixture_records(&again);
        kc_batch_reader_close(&again);
        kc_batch_reader_close(&br);
        kc_batch_builder_fini(&b);
        free(batch);
    }
}

static void test_codec_roundtrip_sizes_and_content(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 100, 4095, 32768, 32769, 65535, 65536, 65537,
                                   200000, 1u << 20};
    uint64_t seed = kc_test_seed();
    for (size_t c = 0; c < KC_ARRAY_SIZE(codecs); c++) {
        for (size_t i = 0; i < KC_ARRAY_SIZE(sizes); i++) {
            for (int text = 0; text < 2; text++) {
                uint8_t *data = make_data(sizes[i], text, &seed);
                roundtrip(codecs[c], data, sizes[i]);
                free(data);
            }
        }
    }
}

/* Exactly limit bytes decode; one byte more is KC_ETOOLARGE; a bomb stops at the limit. */
static void test_codec_bomb_refused_at_the_limit(void **state)
{
    (void)state;
    size_t big = 64u << 20;
    uint8_t *zeros = calloc(big, 1);
    assert_non_null(zeros);
    for (size_t c = 0; c < KC_ARRAY_SIZE(codecs); c++) {
        struct kc_writer z, out;
        kc_writer_init(&z, 0);
        kc_writer_init(&out, 0);
        assert_int_equal(kc_compress(codecs[c], zeros, big, &z), 0);
        assert_true(kc_writer_len(&z) < big / 20); /* a bomb: small in, huge out (snappy: ~5%) */
        assert_int_equal(kc_decompress(codecs[c], z.p, z.len, 1u << 20, &out), KC_ETOOLARGE);
        assert_true(out.cap <= (2u << 20) + 65536); /* what it cost: about the limit */
        kc_writer_reset(&out);
        assert_int_equal(kc_decompress(codecs[c], z.p, z.len, big - 1, &out), KC_ETOOLARGE);
        kc_writer_reset(&out);
        assert_int_equal(kc_decompress(codecs[c], z.p, z.len, big, &out), 0);
        assert_int_equal(out.len, big);
        kc_writer_fini(&z);
        kc_writer_fini(&out);
    }
    free(zeros);
    /* Raw snappy whose length varint claims 4 GiB: refused before any allocation. */
    static const uint8_t claim[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    struct kc_writer out;
    kc_writer_init(&out, 0);
    assert_int_equal(kc_decompress(KC_COMPRESS_SNAPPY, claim, sizeof(claim), 1u << 20, &out),
                     KC_ETOOLARGE);
    assert_int_equal(out.cap, 0);
    kc_writer_fini(&out);
}

/* A batch around compressed bytes, with a correct CRC: what a hostile client can send. */
static size_t forge_compressed(uint8_t *out, int codec, const uint8_t *z, size_t zlen)
{
    memset(out, 0, KC_BATCH_HEADER_SIZE);
    kc_store_be32(out + KC_BATCH_OFF_LENGTH, (uint32_t)(KC_BATCH_HEADER_SIZE - 12 + zlen));
    out[KC_BATCH_OFF_MAGIC] = 2;
    kc_store_be16(out + KC_BATCH_OFF_ATTRIBUTES, (uint16_t)codec);
    kc_store_be32(out + KC_BATCH_OFF_LAST_OFFSET_DELTA, 199);
    kc_store_be32(out + KC_BATCH_OFF_RECORDS_COUNT, 200);
    memcpy(out + KC_BATCH_HEADER_SIZE, z, zlen);
    size_t len = KC_BATCH_HEADER_SIZE + zlen;
    kc_store_be32(out + KC_BATCH_OFF_CRC,
                  kc_crc32c(0, out + KC_BATCH_OFF_ATTRIBUTES, len - KC_BATCH_OFF_ATTRIBUTES));
    return len;
}

/* Every truncation of every fixture's compressed section, re-CRC'd so that only the codec
 * and the record parser stand between it and acceptance: all refused, none read past the
 * buffer (each is a copy of exactly its length, for ASan). */
static void test_codec_truncated_payloads_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < KC_ARRAY_SIZE(fixtures); i++) {
        size_t len;
        uint8_t *batch = kc_test_load(fixtures[i].file, &len);
        const uint8_t *z = batch + KC_BATCH_HEADER_SIZE;
        size_t zlen = len - KC_BATCH_HEADER_SIZE;
        for (size_t cut = 0; cut < zlen; cut++) {
            uint8_t *forged = malloc(KC_BATCH_HEADER_SIZE + cut);
            size_t flen = forge_compressed(forged, fixtures[i].codec, z, cut);
            int rc = kc_batch_validate_deep(forged, flen, LIMIT);
            if (rc >= 0)
                fail_msg("%s cut at %zu of %zu: accepted", fixtures[i].file, cut, zlen);
            struct kc_writer out;
            kc_writer_init(&out, 0);
            uint8_t *exact = malloc(cut ? cut : 1);
            memcpy(exact, z, cut);
            rc = kc_decompress(fixtures[i].codec, exact, cut, LIMIT, &out);
            assert_true(rc == KC_EMALFORMED || (rc == 0 && out.len < 10736));
            kc_writer_fini(&out);
            free(exact);
            free(forged);
        }
        free(batch);
    }
}

/* Corruption inside the compressed bytes: the batch CRC catches every flip; behind it the
 * decoders never crash or overrun on garbage, and gzip's own CRC-32 refuses every flip. */
static void test_codec_corrupt_payloads_refused(void **state)
{
    (void)state;
    uint64_t seed = kc_test_seed();
    for (size_t i = 0; i < KC_ARRAY_SIZE(fixtures); i++) {
        size_t len;
        uint8_t *batch = kc_test_load(fixtures[i].file, &len);
        for (size_t at = KC_BATCH_HEADER_SIZE; at < len; at += 7) {
            batch[at] ^= 0x10;
            assert_int_equal(kc_batch_validate_deep(batch, len, LIMIT), KC_ECRC);
            batch[at] ^= 0x10;
        }
        uint8_t *z = batch + KC_BATCH_HEADER_SIZE;
        size_t zlen = len - KC_BATCH_HEADER_SIZE;
        for (int n = 0; n < 3000; n++) {
            size_t at = kc_test_rand(&seed) % zlen;
            uint8_t flip = (uint8_t)(1u << (kc_test_rand(&seed) % 8));
            z[at] ^= flip;
            struct kc_writer out;
            kc_writer_init(&out, 0);
            int rc = kc_decompress(fixtures[i].codec, z, zlen, LIMIT, &out);
            assert_true(rc == 0 || rc == KC_EMALFORMED || rc == KC_ETOOLARGE);
            assert_true(out.len <= LIMIT);
            /* gzip: the magic and method (bytes 0-2), the deflate data and the CRC-32 +
             * size trailer are checked; the flags, mtime, xfl and os (3-9) and the padding
             * bits of the last deflate byte (zlen - 9) may be anything */
            bool covered = at < 3 || (at >= 10 && at != zlen - 9);
            if (fixtures[i].codec == KC_COMPRESS_GZIP && covered)
                assert_int_not_equal(rc, 0);
            kc_writer_fini(&out);
            z[at] ^= flip;
        }
        free(batch);
    }
}

static void test_codec_unknown_codec_unsupported(void **state)
{
    (void)state;
    struct kc_writer out;
    kc_writer_init(&out, 0);
    for (int codec = 5; codec <= 7; codec++) {
        assert_int_equal(kc_compress(codec, (const uint8_t *)"x", 1, &out), KC_EUNSUPPORTED);
        assert_int_equal(kc_decompress(codec, (const uint8_t *)"x", 1, 10, &out), KC_EUNSUPPORTED);
        assert_string_equal(kc_codec_name(codec), "unknown");
    }
    assert_string_equal(kc_codec_name(KC_COMPRESS_LZ4), "lz4");
    size_t len;
    uint8_t *batch = kc_test_load(FIX("kcat_zstd.bin"), &len);
    kc_store_be16(batch + KC_BATCH_OFF_ATTRIBUTES, 5);
    struct kc_batch_reader br;
    assert_int_equal(kc_batch_reader_open(&br, batch, len, LIMIT), KC_EUNSUPPORTED);
    free(batch);
    kc_writer_fini(&out);
}

/* A compacted batch: records at deltas 0, 3, 7 of 0..9, a delete horizon as base timestamp,
 * every codec; and a batch whose records are all gone. */
static void test_codec_rebuild_keeps_gaps_last_offset_and_horizon(void **state)
{
    (void)state;
    static const int32_t deltas[] = {0, 3, 7};
    for (int codec = 0; codec <= KC_COMPRESS_ZSTD; codec++) {
        struct kc_batch_opts o;
        kc_batch_opts_default(&o);
        o.base_offset = 100;
        struct kc_batch_rebuild rb = {.codec = codec, .keep_last_offset_delta = true,
                                      .last_offset_delta = 9, .keep_base_timestamp = true,
                                      .base_timestamp = 1700000000000};
        struct kc_batch_builder b;
        kc_batch_builder_init(&b, &o, 0);
        kc_batch_builder_set_rebuild(&b, &rb);
        for (size_t i = 0; i < KC_ARRAY_SIZE(deltas); i++) {
            struct kc_record r = {.timestamp = 1600000000000 + deltas[i], .key = (const uint8_t *)"k",
                                  .key_len = 1, .value = i == 2 ? NULL : (const uint8_t *)"v",
                                  .value_len = i == 2 ? -1 : 1};
            assert_int_equal(kc_batch_builder_add_record(&b, &r, deltas[i]), 0);
        }
        struct kc_record r0 = {.key = (const uint8_t *)"k", .key_len = 1, .value_len = -1};
        assert_int_equal(kc_batch_builder_add_record(&b, &r0, 7), -EINVAL); /* not above 7 */
        uint8_t *p;
        size_t len;
        assert_int_equal(kc_batch_builder_finish_codec(&b, &p, &len), 0);
        assert_int_equal(kc_batch_validate(p, len, NULL), KC_EMALFORMED); /* no producer sends it */
        assert_int_equal(kc_batch_validate_deep(p, len, LIMIT), (int)len);
        assert_int_equal(kc_batch_last_offset(p), 109);
        struct kc_batch_reader br;
        struct kc_record rec;
        assert_int_equal(kc_batch_reader_open(&br, p, len, LIMIT), 0);
        assert_int_equal(br.h.base_timestamp, 1700000000000);
        for (size_t i = 0; i < KC_ARRAY_SIZE(deltas); i++) {
            assert_int_equal(kc_batch_reader_next(&br, &rec), 1);
            assert_int_equal(rec.offset, 100 + deltas[i]);
            assert_int_equal(rec.timestamp, 1600000000000 + deltas[i]);
            assert_true(i == 2 ? rec.value == NULL : rec.value_len == 1);
        }
        assert_int_equal(kc_batch_reader_next(&br, &rec), 0);
        kc_batch_reader_close(&br);
        kc_batch_builder_fini(&b);
    }
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    kc_batch_builder_set_rebuild(&b, &(struct kc_batch_rebuild){.codec = KC_COMPRESS_LZ4,
                                                                .keep_last_offset_delta = true,
                                                                .last_offset_delta = 41});
    uint8_t *p;
    size_t len;
    assert_int_equal(kc_batch_builder_finish_codec(&b, &p, &len), 0);
    assert_int_equal(len, KC_BATCH_HEADER_SIZE);
    assert_int_equal(kc_batch_validate_deep(p, len, LIMIT), KC_BATCH_HEADER_SIZE);
    struct kc_batch_header h;
    assert_int_equal(kc_batch_header_decode(p, len, &h), KC_EMALFORMED); /* not a producer's */
    assert_int_equal(kc_batch_header_decode_stored(p, len, &h), 0);
    assert_int_equal(h.records_count, 0);
    assert_int_equal(h.attributes & KC_BATCH_ATTR_COMPRESSION, 0);
    kc_batch_builder_fini(&b);
}

/* Records out of order or past lastOffsetDelta behind a valid CRC are malformed. */
static void test_codec_reader_refuses_disorder(void **state)
{
    (void)state;
    /* two records, offset deltas 1 then 0 (each: len 7, attrs, ts 0, delta, null key,
     * value "a", no headers) */
    static const uint8_t recs[] = {0x0e, 0x00, 0x00, 0x02, 0x01, 0x02, 'a', 0x00,
                                   0x0e, 0x00, 0x00, 0x00, 0x01, 0x02, 'a', 0x00};
    uint8_t buf[128];
    for (int variant = 0; variant < 2; variant++) {
        memset(buf, 0, sizeof(buf));
        size_t len = KC_BATCH_HEADER_SIZE + (variant ? 8 : sizeof(recs));
        kc_store_be32(buf + KC_BATCH_OFF_LENGTH, (uint32_t)(len - 12));
        buf[KC_BATCH_OFF_MAGIC] = 2;
        kc_store_be32(buf + KC_BATCH_OFF_LAST_OFFSET_DELTA, variant ? 0 : 1); /* v1: 1 > 0 */
        kc_store_be32(buf + KC_BATCH_OFF_RECORDS_COUNT, variant ? 1 : 2);
        memcpy(buf + KC_BATCH_HEADER_SIZE, recs, len - KC_BATCH_HEADER_SIZE);
        kc_store_be32(buf + KC_BATCH_OFF_CRC,
                      kc_crc32c(0, buf + KC_BATCH_OFF_ATTRIBUTES, len - KC_BATCH_OFF_ATTRIBUTES));
        assert_int_equal(kc_batch_validate_deep(buf, len, LIMIT), KC_EMALFORMED);
    }
}

/* ---- independent implementations ---------------------------------------------------- */

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static bool have(const char *probe)
{
    return run(probe) == 0;
}

/* Ours -> theirs (tool decodes what we wrote), theirs -> ours (we decode what it wrote). */
static void cross_check(int codec, const char *dir, const char *decode_fmt,
                        const char *encode_fmt, const uint8_t *data, size_t n)
{
    char zpath[512], plain[512], back[512], cmd[2048];
    struct kc_writer z, out;
    snprintf(zpath, sizeof(zpath), "%s/ours.z", dir);
    snprintf(plain, sizeof(plain), "%s/plain", dir);
    snprintf(back, sizeof(back), "%s/back", dir);
    kc_writer_init(&z, 0);
    assert_int_equal(kc_compress(codec, data, n, &z), 0);
    write_file(zpath, z.p, z.len);
    write_file(plain, data, n);
    snprintf(cmd, sizeof(cmd), decode_fmt, zpath, back);
    if (run(cmd) != 0 || run((snprintf(cmd, sizeof(cmd), "cmp -s %s %s", plain, back), cmd)))
        fail_msg("%s: the independent decoder disagrees with ours (%s)", kc_codec_name(codec), cmd);
    snprintf(cmd, sizeof(cmd), encode_fmt, plain, zpath);
    assert_int_equal(run(cmd), 0);
    size_t zlen;
    char *theirs;
    assert_int_equal(kc_read_file(zpath, 1u << 30, &theirs, &zlen), 0);
    kc_writer_init(&out, 0);
    assert_int_equal(kc_decompress(codec, (const uint8_t *)theirs, zlen, n, &out), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.p, data, n);
    free(theirs);
    kc_writer_fini(&out);
    kc_writer_fini(&z);
}

#define PY "python3 -c \"import gzip,sys; "
static void test_codec_cross_check_independent_tools(void **state)
{
    const char *dir = *state;
    uint64_t seed = kc_test_seed();
    size_t n = 300000;
    uint8_t *data = make_data(n, true, &seed);
    for (size_t i = 100000; i < 140000; i++) /* an incompressible stretch: stored blocks */
        data[i] = (uint8_t)kc_test_rand(&seed);
    cross_check(KC_COMPRESS_GZIP, dir,
                PY "open(sys.argv[2],'wb').write(gzip.decompress(open(sys.argv[1],'rb').read()))\" %s %s",
                PY "open(sys.argv[2],'wb').write(gzip.compress(open(sys.argv[1],'rb').read()))\" %s %s",
                data, n);
    if (have("command -v lz4 >/dev/null"))
        cross_check(KC_COMPRESS_LZ4, dir, "lz4 -q -d -f -c %s > %s", "lz4 -q -f -c -B4 -BI %s > %s",
                    data, n);
    else
        print_message("SKIP lz4: the lz4 tool is not installed (scripts/deps.sh test)\n");
    if (have("command -v zstd >/dev/null"))
        cross_check(KC_COMPRESS_ZSTD, dir, "zstd -q -d -f -c %s > %s", "zstd -q -f -c %s > %s",
                    data, n);
    else
        print_message("SKIP zstd: the zstd tool is not installed (scripts/deps.sh test)\n");
    const char *jar = "/usr/share/java/snappy-java.jar";
    if (have("command -v java >/dev/null") && access(jar, R_OK) == 0) {
        char dec[1024], enc[1024];
        const char *src = getenv("KC_SRC_DIR") ? getenv("KC_SRC_DIR") : ".";
        snprintf(dec, sizeof(dec), "java -cp %s %s/common/tests/tools/XerialCheck.java decode %%s %%s",
                 jar, src);
        snprintf(enc, sizeof(enc), "java -cp %s %s/common/tests/tools/XerialCheck.java encode %%s %%s",
                 jar, src);
        cross_check(KC_COMPRESS_SNAPPY, dir, dec, enc, data, n);
    } else {
        print_message("SKIP snappy: no JVM with snappy-java (libsnappy-java) to cross-check\n");
    }
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_kcat_fixtures_decode_to_their_records),
        cmocka_unit_test(test_codec_rebuild_fixture_same_codec_same_records),
        cmocka_unit_test(test_codec_roundtrip_sizes_and_content),
        cmocka_unit_test(test_codec_bomb_refused_at_the_limit),
        cmocka_unit_test(test_codec_truncated_payloads_refused),
        cmocka_unit_test(test_codec_corrupt_payloads_refused),
        cmocka_unit_test(test_codec_unknown_codec_unsupported),
        cmocka_unit_test(test_codec_rebuild_keeps_gaps_last_offset_and_horizon),
        cmocka_unit_test(test_codec_reader_refuses_disorder),
        cmocka_unit_test_setup_teardown(test_codec_cross_check_independent_tools,
                                        kc_test_dir_setup, kc_test_dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
