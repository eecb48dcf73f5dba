/*
 * fuzz_producer_snapshot.c - libFuzzer target: the producer-state snapshot decoder
 * (appendLog/include/alog_producer.h), which reads files a crash may have damaged.
 *
 * Properties checked on arbitrary bytes:
 *  - alog_snapshot_decode never reads outside [data, data+size) (ASan), never invokes UB,
 *    and answers only 0 or one of its documented verdicts;
 *  - a file it accepts has exactly the size its count says, every entry reads inside it,
 *    and encoding the entries again gives the same bytes (a lossless round trip);
 *  - every proper prefix of an accepted file is "need more" (a file cut short is never
 *    taken for a smaller valid one).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alog_producer.h"
#include "kc_common.h"

static void round_trip(const uint8_t *data, size_t size, int32_t count)
{
    if (size != ALOG_SNAPSHOT_HEADER + (size_t)count * ALOG_SNAPSHOT_ENTRY)
        abort();
    struct alog_snapshot_entry *e = calloc((size_t)count + 1, sizeof(*e));
    if (!e)
        return;
    for (int32_t i = 0; i < count; i++)
        alog_snapshot_entry_at(data, i, &e[i]);
    struct kc_writer w;
    kc_writer_init(&w, 0);
    if (alog_snapshot_encode(&w, e, count) == 0 &&
        (kc_writer_len(&w) != size || memcmp(kc_writer_data(&w), data, size) != 0))
        abort();
    kc_writer_fini(&w);
    free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int32_t count = -1;
    int rc = alog_snapshot_decode(data, size, &count);
    if (rc != 0 && rc != KC_ENEEDMORE && rc != KC_EUNSUPPORTED && rc != KC_EMALFORMED &&
        rc != KC_ECRC)
        abort();
    if (rc != 0)
        return 0;
    if (count < 0)
        abort();
    round_trip(data, size, count);
    for (size_t cut = 0; cut < size; cut += 1 + cut / 8) { /* a sample of the prefixes */
        int32_t c2;
        if (alog_snapshot_decode(data, cut, &c2) != KC_ENEEDMORE)
            abort();
    }
    return 0;
}
