/*
 * codec.c - gzip, snappy, lz4 and zstd over Debian's libraries, bounded (see kc_codec.h).
 *
 * Every decoder has the same shape: ask the library to fill the writer's free space, never
 * more than `limit` bytes in all, and tell three endings apart:
 *
 *   the stream ended and the input is used up    -> 0
 *   the output reached limit with more to come   -> KC_ETOOLARGE   (a bomb, or a batch
 *                                                                   bigger than allowed)
 *   the library refused the bytes, the input ran  -> KC_EMALFORMED
 *   out first, or bytes follow the stream's end
 *
 * The output grows by doubling (room()), starting from a guess of 4x the input, so a
 * normal batch costs one or two library calls and a bomb is stopped at limit, having cost
 * at most limit bytes. The decoders run with room for limit + 1 bytes: a stream of exactly
 * limit bytes must still be able to reach its end marker, and the one byte more is how a
 * longer one is caught.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "kc_codec.h"
#include "kc_err.h"

/* snappy-java's stream header: magic, version 1, compatible version 1. */
static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER 16
#define XERIAL_BLOCK  (32 * 1024) /* snappy-java's default block size */
#define GZIP_LEVEL    6           /* Java's Deflater.DEFAULT_COMPRESSION */
#define ZSTD_LEVEL    3           /* zstd-jni's and librdkafka's default */

const char *kc_codec_name(int codec)
{
    static const char *const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    return codec >= 0 && codec <= KC_COMPRESS_ZSTD ? names[codec] : "unknown";
}

/*
 * Free space at the end of out for the next decoder step: at least `want` bytes if the
 * limit allows (start bytes - used so far otherwise), reserved in the writer; the caller
 * gives back what it did not fill with giveback(). NULL with *err set when there is no
 * room left under the limit (KC_ETOOLARGE) or no memory.
 */
static uint8_t *room(struct kc_writer *out, size_t start, size_t limit, size_t want, size_t *got,
                     int *err)
{
    size_t used = kc_writer_len(out) - start;
    if (used >= limit) {
        *err = KC_ETOOLARGE;
        return NULL;
    }
    size_t n = want < limit - used ? want : limit - used;
    uint8_t *p = kc_writer_reserve(out, n);
    if (!p) {
        *err = kc_writer_error(out);
        return NULL;
    }
    *got = n;
    return p;
}

static void giveback(struct kc_writer *out, size_t unused)
{
    out->len -= unused;
}

/* The next step's size: double what was produced so far, at least 64 KiB. */
static size_t next_want(const struct kc_writer *out, size_t start, size_t hint)
{
    size_t used = kc_writer_len(out) - start;
    size_t want = used > hint ? used : hint;
    return want < 64 * 1024 ? 64 * 1024 : want;
}

/* ---- gzip --------------------------------------------------------------------------- */

static bool gzip_member_follows(const z_stream *zs)
{
    return zs->avail_in >= 2 && zs->next_in[0] == 0x1f && zs->next_in[1] == 0x8b;
}

static int gunzip_loop(z_stream *zs, struct kc_writer *out, size_t start, size_t limit)
{
    for (;;) {
        size_t got;
        int err = 0;
        uint8_t *p = room(out, start, limit, next_want(out, start, zs->avail_in * 4), &got, &err);
        if (!p)
            return err;
        zs->next_out = p;
        zs->avail_out = (uInt)(got < UINT_MAX ? got : UINT_MAX);
        size_t before = zs->avail_out;
        int zr = inflate(zs, Z_NO_FLUSH);
        giveback(out, got - (before - zs->avail_out));
        if (zr == Z_STREAM_END) {
            if (zs->avail_in == 0)
                return 0;
            if (!gzip_member_follows(zs) || inflateReset(zs) != Z_OK)
                return KC_EMALFORMED; /* garbage after the last member */
            continue; /* concatenated members, as Java's GZIPInputStream reads them */
        }
        if (zr == Z_MEM_ERROR)
            return -ENOMEM;
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            return KC_EMALFORMED;
        if (zr == Z_BUF_ERROR && zs->avail_out > 0)
            return KC_EMALFORMED; /* no progress with room to spare: the input ended */
    }
}

static int gunzip(const uint8_t *src, size_t len, size_t limit, struct kc_writer *out)
{
    if (len > UINT_MAX)
        return KC_ETOOLARGE;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 16) != Z_OK) /* 15-bit window, gzip wrapper only */
        return -ENOMEM;
    zs.next_in = (Bytef *)src; /* zlib's API is not const-correct; it does not write */
    zs.avail_in = (uInt)len;
    int rc = gunzip_loop(&zs, out, kc_writer_len(out), limit);
    inflateEnd(&zs);
    return rc;
}

static int gzip(const uint8_t *src, size_t len, struct kc_writer *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (len > UINT_MAX)
        return KC_ETOOLARGE;
    if (deflateInit2(&zs, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    size_t bound = deflateBound(&zs, (uLong)len);
    uint8_t *p = kc_writer_reserve(out, bound);
    int rc = p ? 0 : kc_writer_error(out);
    if (rc == 0) {
        zs.next_in = (Bytef *)src;
        zs.avail_in = (uInt)len;
        zs.next_out = p;
        zs.avail_out = (uInt)bound;
        rc = deflate(&zs, Z_FINISH) == Z_STREAM_END ? 0 : -ENOMEM;
        giveback(out, zs.avail_out);
    }
    deflateEnd(&zs);
    return rc;
}

/* ---- snappy ------------------------------------------------------------------------- */

/* One raw snappy block, its claimed size checked against the room left first. */
static int unsnappy_block(const uint8_t *src, size_t len, size_t start, size_t limit,
                          struct kc_writer *out)
{
    size_t n;
    if (snappy_uncompressed_length((const char *)src, len, &n) != SNAPPY_OK)
        return KC_EMALFORMED;
    if (n > limit - (kc_writer_len(out) - start))
        return KC_ETOOLARGE; /* refused before a byte is inflated */
    uint8_t *p = kc_writer_reserve(out, n);
    if (!p)
        return kc_writer_error(out);
    size_t made = n;
    if (snappy_uncompress((const char *)src, len, (char *)p, &made) != SNAPPY_OK || made != n)
        return KC_EMALFORMED;
    return 0;
}

static int unsnappy_xerial(const uint8_t *src, size_t len, size_t limit, struct kc_writer *out)
{
    size_t start = kc_writer_len(out), at = XERIAL_HEADER;
    while (at < len) {
        if (len - at < 4)
            return KC_EMALFORMED;
        uint32_t n = kc_load_be32(src + at);
        at += 4;
        if (n > len - at)
            return KC_EMALFORMED;
        int rc = unsnappy_block(src + at, n, start, limit, out);
        if (rc)
            return rc;
        at += n;
    }
    return 0;
}

static int unsnappy(const uint8_t *src, size_t len, size_t limit, struct kc_writer *out)
{
    if (len >= XERIAL_HEADER && memcmp(src, xerial_magic, sizeof(xerial_magic)) == 0)
        return unsnappy_xerial(src, len, limit, out);
    return unsnappy_block(src, len, kc_writer_len(out), limit, out);
}

static int snappy_xerial(const uint8_t *src, size_t len, struct kc_writer *out)
{
    kc_write_raw(out, xerial_magic, sizeof(xerial_magic));
    kc_write_i32(out, 1); /* version */
    kc_write_i32(out, 1); /* compatible version */
    for (size_t at = 0; at < len && !kc_writer_error(out); at += XERIAL_BLOCK) {
        size_t n = len - at < XERIAL_BLOCK ? len - at : XERIAL_BLOCK;
        size_t bound = snappy_max_compressed_length(n);
        size_t lenpos = kc_writer_len(out);
        kc_write_i32(out, 0); /* patched below */
        uint8_t *p = kc_writer_reserve(out, bound);
        if (!p)
            break;
        size_t made = bound;
        if (snappy_compress((const char *)src + at, n, (char *)p, &made) != SNAPPY_OK)
            return -ENOMEM;
        giveback(out, bound - made);
        kc_writer_patch_i32(out, lenpos, (int32_t)made);
    }
    return kc_writer_error(out);
}

/* ---- lz4 ---------------------------------------------------------------------------- */

static int unlz4_loop(LZ4F_dctx *dc, const uint8_t *src, size_t len, size_t limit,
                      struct kc_writer *out)
{
    size_t start = kc_writer_len(out), at = 0, hint = 1;
    while (hint != 0) {
        size_t got;
        int err = 0;
        uint8_t *p = room(out, start, limit, next_want(out, start, len * 4), &got, &err);
        if (!p)
            return err;
        size_t in = len - at, made = got;
        hint = LZ4F_decompress(dc, p, &made, src + at, &in, NULL);
        giveback(out, got - made);
        if (LZ4F_isError(hint))
            return KC_EMALFORMED;
        at += in;
        if (hint != 0 && at == len && made < got)
            return KC_EMALFORMED; /* the frame wants more input than there is */
    }
    return at == len ? 0 : KC_EMALFORMED; /* 0: the frame is complete */
}

static int unlz4(const uint8_t *src, size_t len, size_t limit, struct kc_writer *out)
{
    LZ4F_dctx *dc;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dc, LZ4F_VERSION)))
        return -ENOMEM;
    int rc = unlz4_loop(dc, src, len, limit, out);
    (void)LZ4F_freeDecompressionContext(dc); /* returns a hint about unfinished input */
    return rc;
}

/* Kafka's KafkaLZ4BlockOutputStream: 64 KiB independent blocks, no checksums (its reader
 * refuses dependent blocks). */
static int lz4(const uint8_t *src, size_t len, struct kc_writer *out)
{
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    size_t bound = LZ4F_compressFrameBound(len, &prefs);
    uint8_t *p = kc_writer_reserve(out, bound);
    if (!p)
        return kc_writer_error(out);
    size_t made = LZ4F_compressFrame(p, bound, src, len, &prefs);
    if (LZ4F_isError(made))
        return -ENOMEM;
    giveback(out, bound - made);
    return 0;
}

/* ---- zstd --------------------------------------------------------------------------- */

static int unzstd_loop(ZSTD_DCtx *dc, const uint8_t *src, size_t len, size_t limit,
                       struct kc_writer *out)
{
    size_t start = kc_writer_len(out), hint = 1;
    ZSTD_inBuffer in = {src, len, 0};
    while (in.pos < len || hint != 0) {
        size_t got;
        int err = 0;
        uint8_t *p = room(out, start, limit, next_want(out, start, len * 4), &got, &err);
        if (!p)
            return err;
        ZSTD_outBuffer ob = {p, got, 0};
        size_t in_before = in.pos;
        hint = ZSTD_decompressStream(dc, &ob, &in);
        giveback(out, got - ob.pos);
        if (ZSTD_isError(hint))
            return ZSTD_getErrorCode(hint) == ZSTD_error_memory_allocation ? -ENOMEM
                                                                            : KC_EMALFORMED;
        if (hint != 0 && in.pos == len && in.pos == in_before && ob.pos < got)
            return KC_EMALFORMED; /* a frame cut short: no input left, no progress */
    }
    return 0; /* every frame ended exactly at the end of the input */
}

/*
 * zstd's contexts are kept, one pair per thread, instead of made per call: making one
 * costs more than decompressing a small batch (the log cleaner, which does it for every
 * batch, spent 6% of its time in ZSTD_createDCtx). The thread's exit frees them.
 */
struct zstd_ctx {
    ZSTD_DCtx *d;
    ZSTD_CCtx *c;
};
static pthread_key_t zstd_key;
static pthread_once_t zstd_once = PTHREAD_ONCE_INIT;
static bool zstd_key_ok;

static void zstd_ctx_free(void *p)
{
    struct zstd_ctx *z = p;
    ZSTD_freeDCtx(z->d);
    ZSTD_freeCCtx(z->c);
    free(z);
}

static void zstd_key_init(void)
{
    zstd_key_ok = pthread_key_create(&zstd_key, zstd_ctx_free) == 0;
}

/* This thread's contexts (NULL: no memory; then the caller makes its own). */
static struct zstd_ctx *zstd_ctx(void)
{
    (void)pthread_once(&zstd_once, zstd_key_init);
    if (!zstd_key_ok)
        return NULL;
    struct zstd_ctx *z = pthread_getspecific(zstd_key);
    if (z)
        return z;
    z = calloc(1, sizeof(*z));
    if (z && (!(z->d = ZSTD_createDCtx()) || !(z->c = ZSTD_createCCtx()) ||
              pthread_setspecific(zstd_key, z) != 0)) {
        zstd_ctx_free(z);
        z = NULL;
    }
    return z;
}

static int unzstd(const uint8_t *src, size_t len, size_t limit, struct kc_writer *out)
{
    struct zstd_ctx *z = zstd_ctx();
    ZSTD_DCtx *dc = z ? z->d : ZSTD_createDCtx();
    if (!dc)
        return -ENOMEM;
    if (z)
        (void)ZSTD_DCtx_reset(dc, ZSTD_reset_session_only); /* a failed call's leftovers */
    int rc = unzstd_loop(dc, src, len, limit, out);
    if (!z)
        ZSTD_freeDCtx(dc);
    return rc;
}

static int zstd(const uint8_t *src, size_t len, struct kc_writer *out)
{
    size_t bound = ZSTD_compressBound(len);
    uint8_t *p = kc_writer_reserve(out, bound);
    if (!p)
        return kc_writer_error(out);
    struct zstd_ctx *z = zstd_ctx();
    size_t made = z ? ZSTD_compressCCtx(z->c, p, bound, src, len, ZSTD_LEVEL)
                    : ZSTD_compress(p, bound, src, len, ZSTD_LEVEL);
    if (ZSTD_isError(made))
        return -ENOMEM;
    giveback(out, bound - made);
    return 0;
}

/* ---- dispatch ----------------------------------------------------------------------- */

int kc_decompress(int codec, const uint8_t *src, size_t len, size_t limit, struct kc_writer *out)
{
    if (kc_writer_error(out))
        return kc_writer_error(out);
    size_t start = kc_writer_len(out), cap = limit < SIZE_MAX ? limit + 1 : limit;
    int rc;
    switch (codec) {
    case KC_COMPRESS_GZIP:
        rc = gunzip(src, len, cap, out);
        break;
    case KC_COMPRESS_SNAPPY:
        rc = unsnappy(src, len, cap, out);
        break;
    case KC_COMPRESS_LZ4:
        rc = unlz4(src, len, cap, out);
        break;
    case KC_COMPRESS_ZSTD:
        rc = unzstd(src, len, cap, out);
        break;
    default:
        return KC_EUNSUPPORTED;
    }
    if (rc == 0 && kc_writer_len(out) - start > limit)
        rc = KC_ETOOLARGE;
    return rc;
}

int kc_compress(int codec, const uint8_t *src, size_t len, struct kc_writer *out)
{
    if (kc_writer_error(out))
        return kc_writer_error(out);
    switch (codec) {
    case KC_COMPRESS_GZIP:
        return gzip(src, len, out);
    case KC_COMPRESS_SNAPPY:
        return snappy_xerial(src, len, out);
    case KC_COMPRESS_LZ4:
        return lz4(src, len, out);
    case KC_COMPRESS_ZSTD:
        return zstd(src, len, out);
    default:
        return KC_EUNSUPPORTED;
    }
}
