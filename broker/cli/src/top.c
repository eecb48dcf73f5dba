/*
 * top.c - `kafka_cli top`: a broker's /metrics, polled and shown as rates.
 *
 *   kafka_cli top [--metrics host:port] [--interval S] [--partitions] [--once] [--json]
 *
 * Every interval it GETs /metrics (http_client.c), parses it (hp_expo_parse), and shows
 * what changed since the scrape before (top_view.c): records/s and bytes/s appended per
 * topic, log end offsets, each group's lag, requests/s with p50/p99 latency per protocol
 * and API, network rates and open connections. On a terminal the block is redrawn in
 * place (ANSI: cursor home, clear screen); otherwise one block follows another, so the
 * output can be logged. --json prints one JSON object per line instead.
 *
 * The first block comes one interval after the start: a rate needs two scrapes. --once
 * prints that block and exits. A scrape that fails is reported and the next interval
 * starts over (a restarting broker does not end top), except with --once.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_http.h"
#include "cli_int.h"
#include "hp.h"
#include "kc_common.h"

/* ---- text -------------------------------------------------------------------------------- */

enum col_kind { COL_RATE, COL_BYTES_RATE, COL_COUNT, COL_SECONDS };

struct col {
    const char *title;
    enum col_kind kind;
};

static const char *fmt_col(char *buf, size_t cap, enum col_kind kind, double v, bool known)
{
    char tmp[32];
    if (!known || isnan(v))
        return "-";
    switch (kind) {
    case COL_RATE:
        snprintf(buf, cap, "%.1f", v);
        break;
    case COL_BYTES_RATE:
        snprintf(buf, cap, "%s/s", kc_fmt_bytes(v, tmp, sizeof(tmp)));
        break;
    case COL_COUNT:
        snprintf(buf, cap, "%.0f", v);
        break;
    case COL_SECONDS:
        snprintf(buf, cap, "%s", kc_fmt_ns(v * 1e9, tmp, sizeof(tmp)));
        break;
    }
    return buf;
}

/* A key as it can be shown on one line: control characters as \n, \t, \xNN. */
static const char *key_text(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    for (; s && *s && n + 5 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n' || c == '\t')
            n += (size_t)snprintf(buf + n, cap - n, "\\%c", c == '\n' ? 'n' : 't');
        else if (c < 0x20 || c == 0x7f)
            n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", c);
        else
            buf[n++] = (char)c;
    }
    buf[n] = '\0';
    return s ? buf : "-";
}

/* "1h02m05s", "3m10s", "42s". */
static const char *fmt_uptime(double secs, char *buf, size_t cap)
{
    long t = (long)secs;
    if (isnan(secs) || secs < 0)
        snprintf(buf, cap, "?");
    else if (t >= 3600)
        snprintf(buf, cap, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
    else if (t >= 60)
        snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, cap, "%lds", t);
    return buf;
}

/* A table: key columns as wide as their widest value, number columns right-aligned. */
static void print_table(FILE *f, const struct top_table *t, const char *const *keys, int nkeys,
                        const struct col *cols, int ncols)
{
    int w[3] = {0};
    char buf[64], key[256];
    if (t->n == 0)
        return;
    for (int k = 0; k < nkeys; k++) {
        w[k] = (int)strlen(keys[k]);
        for (size_t i = 0; i < t->n; i++)
            w[k] = KC_MAX(w[k], (int)strlen(key_text(t->rows[i].key[k], key, sizeof(key))));
    }
    fputc('\n', f);
    for (int k = 0; k < nkeys; k++)
        fprintf(f, "%-*s  ", w[k], keys[k]);
    for (int c = 0; c < ncols; c++)
        fprintf(f, "%14s", cols[c].title);
    fputc('\n', f);
    for (size_t i = 0; i < t->n; i++) {
        const struct top_row *r = &t->rows[i];
        for (int k = 0; k < nkeys; k++)
            fprintf(f, "%-*s  ", w[k], key_text(r->key[k], key, sizeof(key)));
        for (int c = 0; c < ncols; c++)
            fprintf(f, "%14s", fmt_col(buf, sizeof(buf), cols[c].kind, r->v[c], r->known[c]));
        fputc('\n', f);
    }
}

void cli__top_print(FILE *f, const char *addr, const struct top_view *v,
                    const struct top_opts *o)
{
    char a[32], b[32];
    fprintf(f, "kafka_cli top  %s  broker %s  up %s  interval %.2f s\n", addr,
            v->version ? v->version : "?",
            fmt_uptime(v->uptime, a, sizeof(a)), v->seconds);
    fprintf(f, "flusher backlog %s  fsync p99 %s\n",
            isnan(v->backlog) ? "-" : kc_fmt_bytes(v->backlog, a, sizeof(a)),
            fmt_col(b, sizeof(b), COL_SECONDS, v->fsync_p99, true));
    const char *tk[] = {"TOPIC", "PARTITION"}, *gk[] = {"GROUP", "TOPIC", "PARTITION"};
    const char *rk[] = {"PROTOCOL", "API"}, *nk[] = {"PROTOCOL"};
    print_table(f, &v->topics, tk, o->partitions ? 2 : 1,
                (const struct col[]){{"RECORDS/S", COL_RATE}, {"BYTES/S", COL_BYTES_RATE},
                                     {"LOG END", COL_COUNT}, {"LOG START", COL_COUNT}},
                o->partitions ? 4 : 3);
    print_table(f, &v->groups, gk, o->partitions ? 3 : 2,
                (const struct col[]){{"LAG", COL_COUNT}, {"COMMITTED", COL_COUNT}},
                o->partitions ? 2 : 1);
    print_table(f, &v->requests, rk, 2,
                (const struct col[]){{"REQUESTS/S", COL_RATE}, {"P50", COL_SECONDS},
                                     {"P99", COL_SECONDS}},
                3);
    print_table(f, &v->network, nk, 1,
                (const struct col[]){{"IN/S", COL_BYTES_RATE}, {"OUT/S", COL_BYTES_RATE},
                                     {"CONNECTIONS", COL_COUNT}},
                3);
}

/* ---- JSON -------------------------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* A number exactly as a double reads back, or null when unknown. */
static void json_num(FILE *f, double v, bool known)
{
    char buf[HP_DOUBLE_BUF];
    if (!known || !isfinite(v))
        fputs("null", f);
    else {
        hp_format_double(v, buf);
        fputs(buf, f);
    }
}

static void json_table(FILE *f, const char *name, const struct top_table *t,
                       const char *const *keys, int nkeys, const char *const *cols, int ncols)
{
    fprintf(f, ",\"%s\":[", name);
    for (size_t i = 0; i < t->n; i++) {
        fputs(i ? ",{" : "{", f);
        for (int k = 0; k < nkeys; k++) {
            fprintf(f, "%s\"%s\":", k ? "," : "", keys[k]);
            json_str(f, t->rows[i].key[k]);
        }
        for (int c = 0; c < ncols; c++) {
            fprintf(f, ",\"%s\":", cols[c]);
            json_num(f, t->rows[i].v[c], t->rows[i].known[c]);
        }
        fputc('}', f);
    }
    fputc(']', f);
}

void cli__top_print_json(FILE *f, const char *addr, const struct top_view *v,
                         const struct top_opts *o)
{
    static const char *const tk[] = {"topic", "partition"}, *const gk[] = {"group", "topic", "partition"};
    static const char *const rk[] = {"protocol", "api"}, *const nk[] = {"protocol"};
    static const char *const tc[] = {"records_per_s", "bytes_per_s", "log_end_offset", "log_start_offset"};
    static const char *const gc[] = {"lag", "committed_offset"};
    static const char *const rc[] = {"requests_per_s", "p50_s", "p99_s"};
    static const char *const nc[] = {"received_bytes_per_s", "sent_bytes_per_s", "connections_open"};
    fputs("{\"metrics\":", f);
    json_str(f, addr);
    fputs(",\"interval_s\":", f);
    json_num(f, v->seconds, true);
    fputs(",\"broker\":{\"version\":", f);
    if (v->version)
        json_str(f, v->version);
    else
        fputs("null", f);
    fputs(",\"uptime_s\":", f);
    json_num(f, v->uptime, true);
    fputs(",\"flusher_backlog_bytes\":", f);
    json_num(f, v->backlog, true);
    fputs(",\"fsync_p99_s\":", f);
    json_num(f, v->fsync_p99, true);
    fputc('}', f);
    json_table(f, "topics", &v->topics, tk, o->partitions ? 2 : 1, tc, o->partitions ? 4 : 3);
    json_table(f, "groups", &v->groups, gk, o->partitions ? 3 : 2, gc, o->partitions ? 2 : 1);
    json_table(f, "requests", &v->requests, rk, 2, rc, 3);
    json_table(f, "network", &v->network, nk, 1, nc, 3);
    fputs("}\n", f);
}

/* ---- the command ------------------------------------------------------------------------ */

/* GET /metrics and parse it. A cli_status; the reason is printed. */
static int scrape(struct cli *cli, const char *addr, struct hp_scrape *s)
{
    struct cli_http_resp resp;
    char why[256];
    /* metrics.basic.auth: the same user as the SASL options, when they are given */
    const char *user = cli->sec.sasl_password ? cli->sec.sasl_username : NULL;
    int rc = cli__http_get(addr, "/metrics", cli->timeout_ms, CLI_HTTP_MAX_BODY, user,
                           cli->sec.sasl_password, &resp);
    if (rc) {
        fprintf(cli->err, "error: GET http://%s/metrics: %s\n", addr, kc_strerror(rc));
        return CLI_ENET;
    }
    if (resp.status != 200) {
        fprintf(cli->err, "error: GET http://%s/metrics: status %d%s\n", addr, resp.status,
                resp.status != 401 ? ""
                : user ? " (the broker refused these credentials)"
                       : " (metrics.basic.auth: give --sasl-username and a password)");
        cli__http_resp_free(&resp);
        return CLI_EBROKER;
    }
    rc = hp_expo_parse((const char *)resp.body, resp.body_len, s, why, sizeof(why));
    cli__http_resp_free(&resp);
    if (rc) {
        fprintf(cli->err, "error: http://%s/metrics: %s\n", addr,
                rc == KC_EMALFORMED ? why : kc_strerror(rc));
        return CLI_EBROKER;
    }
    return CLI_OK;
}

/* The metrics address: --metrics, else the -b broker's host on the metrics port. */
static void metrics_addr(const struct cli *cli, const char *opt, char *out, size_t cap)
{
    char host[256], port[16];
    if (opt)
        snprintf(out, cap, "%s", opt);
    else if (np_client_parse_addr(cli->addr, host, sizeof(host), port, sizeof(port)) == 0)
        snprintf(out, cap, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, CLI_METRICS_PORT);
    else
        snprintf(out, cap, "127.0.0.1:%s", CLI_METRICS_PORT);
}

static int parse_interval(struct cli *cli, const char *cmd, const char *s, int64_t *ms)
{
    char *end;
    double secs = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(secs >= 0.05 && secs <= 3600))
        return cli__usage(cli, cmd, "--interval must be seconds from 0.05 to 3600");
    *ms = (int64_t)(secs * 1000 + 0.5);
    return CLI_OK;
}

/* Show one interval: the view from prev to cur. */
static int show(struct cli *cli, const char *addr, const struct hp_scrape *prev,
                const struct hp_scrape *cur, double secs, const struct top_opts *o, bool tty)
{
    struct top_view v;
    if (cli__top_view(prev, cur, secs, o, &v) != 0) {
        fprintf(cli->err, "error: out of memory\n");
        return CLI_EUSAGE;
    }
    if (o->json)
        cli__top_print_json(cli->out, addr, &v, o);
    else {
        fputs(tty ? "\033[H\033[2J" : "\n", cli->out);
        cli__top_print(cli->out, addr, &v, o);
    }
    fflush(cli->out);
    cli__top_view_fini(&v);
    return CLI_OK;
}

/* Scrape every interval and show each; count blocks (0: until interrupted). */
static int top_loop(struct cli *cli, const char *addr, int64_t interval_ms, int64_t count,
                    const struct top_opts *o, bool once)
{
    struct hp_scrape prev = {0}, cur;
    bool have_prev = false, tty = !o->json && isatty(fileno(cli->out));
    int64_t shown = 0, t_prev = 0;
    int rc = CLI_OK;
    while (count == 0 || shown < count) {
        int64_t t0 = kc_mono_ns();
        rc = scrape(cli, addr, &cur);
        if (rc == CLI_OK && have_prev) {
            rc = show(cli, addr, &prev, &cur, (double)(t0 - t_prev) / 1e9, o, tty);
            shown++;
        }
        if (have_prev)
            hp_scrape_free(&prev);
        have_prev = rc == CLI_OK;
        if (have_prev) {
            prev = cur;
            t_prev = t0;
        }
        if ((rc != CLI_OK && once) || (count && shown >= count))
            break;
        kc_sleep_ms(KC_MAX(interval_ms - (kc_mono_ns() - t0) / 1000000, (int64_t)0));
    }
    if (have_prev)
        hp_scrape_free(&prev);
    return rc;
}

int cli__cmd_top(struct cli *cli, int argc, char **argv)
{
    bool help = false, once = false, json = false, partitions = false;
    const char *metrics = NULL, *interval = "2", *count = "0";
    char *pos[1], addr[300];
    int n, rc;
    int64_t interval_ms = 2000, blocks = 0;
    const struct cli_opt opts[] = {{"help", NULL, &help, NULL},          {"once", NULL, &once, NULL},
                                   {"json", NULL, &json, NULL},          {"partitions", NULL, &partitions, NULL},
                                   {"metrics", &metrics, NULL, NULL},    {"interval", &interval, NULL, NULL},
                                   {"count", &count, NULL, NULL},        {NULL, NULL, NULL, NULL}};
    rc = cli__args(cli, argc, argv, opts, pos, 0, 0, &n, &help);
    if (rc || help)
        return rc;
    if ((rc = parse_interval(cli, argv[0], interval, &interval_ms)) ||
        (rc = cli__num(cli, argv[0], "--count", count, 0, INT32_MAX, &blocks)))
        return rc;
    metrics_addr(cli, metrics, addr, sizeof(addr));
    struct top_opts o = {.partitions = partitions, .json = json};
    return top_loop(cli, addr, interval_ms, once ? 1 : blocks, &o, once);
}
