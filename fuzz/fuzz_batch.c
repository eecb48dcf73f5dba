/*
 * fuzz_batch.c - libFuzzer target: the RecordBatch v2 validator and the record iterator.
 *
 * Properties checked on arbitrary bytes:
 *  - kc_batch_validate never reads outside [data, data+size) (ASan) and never invokes UB;
 *  - a batch it accepts iterates cleanly to the end, every record's key/value/headers lie
 *    inside the batch, and rebuilding the records yields a batch that validates too;
 *  - the record iterator, run even on batches validation refused, stays in bounds;
 *  - kc_batch_validate_stored (compacted logs' rules) accepts whatever the strict
 *    validator accepts, with the same size, and a stored batch it accepts iterates to its
 *    end with rising offsets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"

static void check_inside(const uint8_t *p, int32_t len, const uint8_t *lo, const uint8_t *hi)
{
    if (len > 0 && (p < lo || p + len > hi))
        abort();
}

static void rebuild(const uint8_t *data, size_t size)
{
    struct kc_batch_builder b;
    struct kc_record_iter it;
    struct kc_record rec;
    kc_batch_builder_init(&b, NULL, 0);
    if (kc_record_iter_init(&it, data, size) != 0)
        abort(); /* validated and uncompressed: must iterate */
    int rc;
    while ((rc = kc_record_iter_next(&it, &rec)) == 1) {
        check_inside(rec.key, rec.key_len, data, data + size);
        check_inside(rec.value, rec.value_len, data, data + size);
        struct kc_header hdrs[64];
        struct kc_header_iter hi;
        int n = 0;
        kc_header_iter_init(&hi, &rec);
        while (n < 64 && kc_header_iter_next(&hi, &hdrs[n]) == 1)
            n++;
        if (rec.header_count <= 64 && n != rec.header_count)
            abort();
        if (n == rec.header_count &&
            kc_batch_builder_add(&b, rec.timestamp, rec.key, rec.key_len, rec.value,
                                 rec.value_len, hdrs, n) != 0)
            abort();
    }
    if (rc != 0)
        abort();
    uint8_t *out;
    size_t len;
    if (kc_batch_builder_count(&b) > 0 && kc_batch_builder_finish(&b, &out, &len) == 0 &&
        kc_batch_validate(out, len, NULL) != (int)len)
        abort();
    kc_batch_builder_fini(&b);
}

static void check_stored(const uint8_t *data, size_t size, int strict)
{
    struct kc_batch_header h;
    struct kc_record_iter it;
    struct kc_record rec;
    int rc = kc_batch_validate_stored(data, size, &h);
    if (strict > 0) { /* what a log can hold (its offsets >= 0 and fitting) is accepted */
        int64_t base = kc_batch_base_offset(data);
        int32_t last = (int32_t)kc_load_be32(data + KC_BATCH_OFF_LAST_OFFSET_DELTA);
        if (base >= 0 && base <= INT64_MAX - last && rc != strict)
            abort();
    }
    if (rc <= 0 || (h.attributes & KC_BATCH_ATTR_COMPRESSION))
        return;
    if (kc_record_iter_init(&it, data, (size_t)rc) != 0)
        abort();
    int64_t last = h.base_offset - 1;
    while ((rc = kc_record_iter_next(&it, &rec)) == 1) {
        if (rec.offset <= last)
            abort();
        last = rec.offset;
    }
    if (rc != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kc_batch_header h;
    int rc = kc_batch_validate(data, size, &h);
    check_stored(data, size, rc);
    if (rc > 0) {
        if ((size_t)rc > size)
            abort();
        if (!(h.attributes & KC_BATCH_ATTR_COMPRESSION))
            rebuild(data, (size_t)rc);
        return 0;
    }
    /* Refused input: the iterator alone must still stay inside the buffer. */
    struct kc_record_iter it;
    struct kc_record rec;
    if (kc_record_iter_init(&it, data, size) == 0) {
        for (int i = 0; i < 10000 && kc_record_iter_next(&it, &rec) == 1; i++)
            check_inside(rec.value, rec.value_len, data, data + size);
    }
    return 0;
}
