/*
 * kafka_histcheck - judge a queue history: lost acknowledged records, duplicates,
 * inconsistent offsets, polls that go backwards or skip (the anomalies of rel_history.h).
 *
 *   kafka_histcheck [FILE...]         (no FILE, or "-": standard input)
 *
 * Every file is one history (the lines of several files are judged together: one file
 * per client process is the usual shape). Exit status: 0 no anomaly, 1 anomalies (listed,
 * with examples), 2 a history that cannot be judged (the line that breaks it) or usage.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kc_common.h"
#include "rel_history.h"

static int read_one(struct rel_hist *h, const char *path, char *err, size_t cap)
{
    if (!strcmp(path, "-"))
        return rel_hist_read(h, stdin, err, cap);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, cap, "%s", kc_strerror(-errno));
        return -EIO;
    }
    int rc = rel_hist_read(h, f, err, cap);
    fclose(f);
    return rc;
}

int main(int argc, char **argv)
{
    struct rel_hist h;
    struct rel_hist_result r;
    char err[256] = "";
    int rc = 0;
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: kafka_histcheck [FILE...]   (reliability/include/rel_history.h: the "
               "format)\n");
        return 0;
    }
    rel_hist_init(&h);
    for (int i = 1; rc == 0 && i < argc; i++)
        if ((rc = read_one(&h, argv[i], err, sizeof(err))) != 0)
            fprintf(stderr, "kafka_histcheck: %s: %s\n", argv[i], err);
    if (argc == 1 && (rc = read_one(&h, "-", err, sizeof(err))) != 0)
        fprintf(stderr, "kafka_histcheck: stdin: %s\n", err);
    if (rc == 0 && (rc = rel_hist_check(&h, &r, err, sizeof(err))) != 0)
        fprintf(stderr, "kafka_histcheck: %s\n", err);
    rel_hist_fini(&h);
    if (rc)
        return 2;
    rel_hist_print(&r, stdout);
    return rel_hist_anomalies(&r) ? 1 : 0;
}
