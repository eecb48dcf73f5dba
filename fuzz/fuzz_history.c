/*
 * fuzz_history.c - libFuzzer target: the queue-history checker (reliability/), which reads
 * files that client processes wrote - often the clients the harness just crashed, so a
 * torn last line is the normal case, not the exception.
 *
 * Properties checked:
 *  - every line parses to 0 or -EINVAL with a message naming its line; nothing else;
 *  - a refused line adds no event;
 *  - the check of whatever was accepted returns 0 or -EINVAL (a history it cannot
 *    judge, with a message), and then counts are never negative and never exceed the
 *    events (each anomaly is about at least one event);
 *  - judging twice gives the same result (sorting in place must not change the history).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rel_history.h"

static void check(const struct rel_hist *h)
{
    struct rel_hist_result a, b;
    char err[256] = "";
    int rc = rel_hist_check(h, &a, err, sizeof(err));
    if (rc == -EINVAL && err[0] != '\0')
        return;
    if (rc != 0)
        abort();
    for (int k = 0; k < REL_HIST_NKINDS; k++)
        if (a.count[k] < 0 || a.count[k] > (int64_t)h->n)
            abort();
    if (rel_hist_check(h, &b, err, sizeof(err)) != 0 || memcmp(a.count, b.count, sizeof(a.count)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rel_hist h;
    char line[256], err[256];
    rel_hist_init(&h);
    for (size_t at = 0; at < size;) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t n = (nl ? (size_t)(nl - data) : size) - at;
        size_t keep = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
        memcpy(line, data + at, keep);
        line[keep] = '\0';
        size_t before = h.n;
        err[0] = '\0';
        int rc = rel_hist_add_line(&h, line, err, sizeof(err));
        if (rc == -EINVAL ? (h.n != before || strncmp(err, "line ", 5) != 0) : rc != 0)
            abort();
        at += n + 1;
    }
    check(&h);
    rel_hist_fini(&h);
    return 0;
}
