/*
 * index_lookup.c - the mapped offset index against the same binary search done with
 * pread(2), on indexes of 1e3, 1e5 and 1e6 entries (8 KB .. 8 MB).
 *
 *   mapped        mm_index_lookup: every probe is a load from the mapping
 *   pread         the same probes, each an 8-byte pread (a system call and a copy)
 *   mapped, tail  lookups in the last 1024 entries: Kafka's warm section (consumers at the
 *                 tail), the probes stay in a few hot pages
 *
 * ns per lookup over QUERIES random keys, median of RUNS runs, ratio pread / mapped. The
 * page cache is warm (the index was just written): this measures the access path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "kc_common.h"
#include "mm_index.h"

#define RUNS    5
#define QUERIES 100000

static int pread_floor(int fd, size_t n, int64_t key, uint32_t *value)
{
    uint8_t e[8];
    if (n == 0 || kc_pread_full(fd, e, 8, 0) != 8 || (int64_t)kc_load_be32(e) > key)
        return -ENOENT;
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (kc_pread_full(fd, e, 8, (off_t)(mid * 8)) != 8)
            return -EIO;
        if ((int64_t)kc_load_be32(e) <= key)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (kc_pread_full(fd, e, 8, (off_t)(lo * 8)) != 8)
        return -EIO;
    *value = kc_load_be32(e + 4);
    return 0;
}

enum way { MAPPED, PREAD, TAIL, WAYS };

static double run(const struct mm_index *idx, enum way way, uint64_t seed)
{
    size_t n = mm_index_entries(idx);
    int64_t span = (int64_t)n * 10, from = way == TAIL && n > 1024 ? (int64_t)(n - 1024) * 10 : 0;
    uint64_t sink = 0;
    int64_t t0 = kc_mono_ns();
    for (int q = 0; q < QUERIES; q++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int64_t key = from + (int64_t)((seed >> 17) % (uint64_t)(span - from));
        struct mm_index_entry e = {0};
        uint32_t v = 0;
        if (way == PREAD)
            (void)pread_floor(idx->file.fd, n, key, &v);
        else if (mm_index_lookup(idx, key, &e, NULL) == 0)
            v = e.value;
        sink += v;
    }
    double ns = (double)(kc_mono_ns() - t0) / QUERIES;
    return sink == 1 ? ns * 2 : ns; /* sink keeps the loop's work alive */
}

static int bench(const char *dir, size_t entries)
{
    char path[4096];
    int rc = kc_path_join(path, sizeof(path), dir, "bench.index");
    struct mm_index idx;
    if (rc == 0)
        rc = mm_index_open(&idx, path, MM_INDEX_OFFSET,
                           MM_INDEX_WRITABLE | MM_INDEX_CREATE | MM_INDEX_EMPTY, entries * 8);
    for (size_t i = 0; rc == 0 && i < entries; i++)
        rc = mm_index_append(&idx, (int64_t)i * 10 + 9, (uint32_t)(i + 1) * 4100);
    if (rc)
        return rc;
    double t[WAYS][RUNS];
    for (int r = 0; r < RUNS; r++) {
        for (int w = 0; w < WAYS; w++)
            t[w][r] = run(&idx, (enum way)w, 7 + (uint64_t)r);
    }
    double m = kc_median(t[MAPPED], RUNS), p = kc_median(t[PREAD], RUNS);
    printf("  %8zu entries (%7zu B): mapped %6.0f ns   pread %6.0f ns   pread/mapped %5.1fx"
           "   mapped, tail %5.0f ns\n",
           entries, entries * 8, m, p, p / m, kc_median(t[TAIL], RUNS));
    return mm_index_close(&idx);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    char dir[4096] = "";
    int rc = kc_mkdtemp("bench-mm-", dir, sizeof(dir));
    printf("index_lookup: floor lookups in the mapped .index vs pread per probe, median of %d "
           "runs x %d lookups\n",
           RUNS, QUERIES);
    static const size_t sizes[] = {1000, 100000, 1000000};
    for (size_t i = 0; rc == 0 && i < 3; i++)
        rc = bench(dir, sizes[i]);
    int rm = dir[0] ? kc_rm_rf(dir) : 0;
    rc = rc ? rc : rm;
    if (rc)
        fprintf(stderr, "index_lookup: %s\n", kc_strerror(rc));
    return rc ? 1 : 0;
}
