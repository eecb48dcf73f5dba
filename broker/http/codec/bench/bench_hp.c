/*
 * bench_hp.c - what the HTTP door's codec costs: parsing a Prometheus scrape request,
 * writing a /metrics text the size of a broker with many partitions, and parsing that text
 * back (what kafka_cli top does every interval).
 *
 *   bench_hp [partitions]      (default 1000)
 *
 * Each figure is the median of 7 runs; the machine's load is printed with them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp.h"
#include "hp_expo.h"
#include "kc_common.h"

#define RUNS 7

static const char scrape[] =
    "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9644\r\nUser-Agent: Prometheus/2.42.0\r\n"
    "Accept: application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4\r\n"
    "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";

/* ns per request parse, over n parses */
static double bench_request(int n)
{
    struct hp_request req;
    int64_t t0 = kc_mono_ns();
    for (int i = 0; i < n; i++)
        if (hp_parse_request((const uint8_t *)scrape, sizeof(scrape) - 1, NULL, &req) <= 0)
            abort();
    return (double)(kc_mono_ns() - t0) / n;
}

/* The per-partition families of the broker's exposition, for parts partitions. */
static void write_text(struct kc_writer *w, int parts)
{
    static const char *const fams[] = {"kafka_log_start_offset", "kafka_log_end_offset",
                                       "kafka_log_appended_bytes_total",
                                       "kafka_log_appended_records_total"};
    struct hp_expo e;
    char topic[32], part[16];
    hp_expo_init(&e, w);
    for (size_t f = 0; f < KC_ARRAY_SIZE(fams); f++) {
        hp_expo_family(&e, fams[f], strstr(fams[f], "_total") ? HP_COUNTER : HP_GAUGE, "x");
        for (int p = 0; p < parts; p++) {
            snprintf(topic, sizeof(topic), "topic-%d", p / 10);
            snprintf(part, sizeof(part), "%d", p % 10);
            const struct hp_label l[] = {{"topic", topic}, {"partition", part}};
            hp_expo_sample_u64(&e, l, 2, (uint64_t)p * 1234567);
        }
    }
    if (hp_expo_finish(&e) != 0)
        abort();
}

int main(int argc, char **argv)
{
    int parts = argc > 1 ? atoi(argv[1]) : 1000;
    double req[RUNS], wr[RUNS], rd[RUNS];
    size_t bytes = 0;
    for (int r = 0; r < RUNS; r++) {
        struct kc_writer w;
        struct hp_scrape s;
        req[r] = bench_request(200000);
        kc_writer_init(&w, 0);
        int64_t t0 = kc_mono_ns();
        write_text(&w, parts);
        wr[r] = (double)(kc_mono_ns() - t0);
        bytes = kc_writer_len(&w);
        t0 = kc_mono_ns();
        if (hp_expo_parse((const char *)kc_writer_data(&w), bytes, &s, NULL, 0) != 0)
            abort();
        rd[r] = (double)(kc_mono_ns() - t0);
        hp_scrape_free(&s);
        kc_writer_fini(&w);
    }
    char a[32], b[32], c[32], d[32];
    double l1 = -1, l5 = -1, l15 = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) != 3)
            l1 = l5 = l15 = -1;
        fclose(f);
    }
    printf("bench_hp: medians of %d runs (load average %.2f %.2f %.2f on %ld cpus)\n", RUNS, l1,
           l5, l15, sysconf(_SC_NPROCESSORS_ONLN));
    printf("  parse one scrape request (%zu bytes)       %s\n", sizeof(scrape) - 1,
           kc_fmt_ns(kc_median(req, RUNS), a, sizeof(a)));
    printf("  write /metrics, %d partitions (%s)    %s\n", parts, kc_fmt_bytes((double)bytes, b, sizeof(b)),
           kc_fmt_ns(kc_median(wr, RUNS), c, sizeof(c)));
    printf("  parse it back (hp_expo_parse)              %s\n", kc_fmt_ns(kc_median(rd, RUNS), d, sizeof(d)));
    return 0;
}
