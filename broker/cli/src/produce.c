/*
 * produce.c - commands 1 (produce), 5 (produce-batch) and 6 (consume-batch).
 *
 * `produce <topic> -` sends one record per line of standard input, pipelined: up to
 * CLI_STDIN_WINDOW requests travel before the first answer is read, so a file of a million
 * lines is limited by the broker, not by a round trip per line. Answers come back in order
 * and each prints its line as it arrives.
 *
 * Batches are built here with kc_batch_builder: the broker receives a finished RecordBatch
 * v2 and stores it as it is. Going the other way, consume-batch receives whole stored
 * batches and trims them: records before the offset asked for, and past the count.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"
#include "kc_common.h"

#define CLI_STDIN_WINDOW     64
#define CLI_CONSUME_MAX_BYTES (1 << 20)

struct produce_args {
    const char *topic;
    const char *key;
    int32_t partition;
    int16_t acks;
};

static int parse_common(struct cli *cli, const char *cmd, const char *part, const char *acks,
                        struct produce_args *pa)
{
    int64_t p = -1;
    if (part && cli__num(cli, cmd, "--partition", part, -1, INT32_MAX, &p))
        return CLI_EUSAGE;
    pa->partition = (int32_t)p;
    pa->acks = NP_ACKS_LEADER;
    if (acks && cli_parse_acks(acks, &pa->acks) != 0)
        return cli__usage(cli, cmd, "--acks must be 0, 1 or all");
    return CLI_OK;
}

/* After acks=0 requests: one answered request proves they were all processed. */
static int acks0_barrier(struct cli *cli)
{
    int rc = np_client_ping(&cli->client, NULL, -1);
    if (rc)
        return cli__report(cli, rc);
    if (cli->client.async_err) {
        fprintf(cli->err, "error: %s\n", cli->client.async_errmsg);
        cli->client.async_err = 0;
        return CLI_EBROKER;
    }
    return CLI_OK;
}

static struct np_produce_req produce_req(const struct produce_args *pa, const char *value,
                                         size_t len)
{
    struct np_produce_req req = {np_str(pa->topic), pa->partition, pa->acks, -1,
                                 np_str(pa->key), {(const uint8_t *)value, (int32_t)len}};
    return req;
}

/* Read one answer of the stdin pipeline and print it; *failed counts broker errors. */
static int stdin_answer(struct cli *cli, const struct produce_args *pa, uint32_t first,
                        int *failed)
{
    struct np_frame f;
    struct np_produce_resp resp;
    int rc = np_client_recv(&cli->client, &f);
    if (rc == 0)
        rc = np_client_check(&cli->client, &f);
    if (rc == 0)
        rc = np_decode_produce_resp(f.body, f.body_len, &resp);
    if (np_is_err(rc)) {
        fprintf(cli->err, "line %u: ", f.h.corr - first + 1);
        (*failed)++;
        cli__report(cli, rc);
        return CLI_OK;
    }
    if (rc)
        return cli__report(cli, rc);
    fprintf(cli->out, "topic=%s partition=%d offset=%lld\n", pa->topic, resp.partition,
            (long long)resp.offset);
    return CLI_OK;
}

static int produce_stdin(struct cli *cli, const struct produce_args *pa)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int inflight = 0, failed = 0, rc = CLI_OK;
    uint32_t first = cli->client.next_corr;
    while (rc == CLI_OK && (n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        struct np_produce_req req = produce_req(pa, line, (size_t)n);
        np_encode_produce(np_client_out(&cli->client), np_client_next_corr(&cli->client), &req);
        inflight += pa->acks != NP_ACKS_NONE;
        if (inflight < CLI_STDIN_WINDOW && kc_writer_len(np_client_out(&cli->client)) < 65536)
            continue;
        if ((rc = np_client_flush(&cli->client)) != 0)
            rc = cli__report(cli, rc);
        for (; rc == CLI_OK && inflight > CLI_STDIN_WINDOW / 2; inflight--)
            rc = stdin_answer(cli, pa, first, &failed);
    }
    free(line);
    if (rc == CLI_OK && (rc = np_client_flush(&cli->client)) != 0)
        rc = cli__report(cli, rc);
    for (; rc == CLI_OK && inflight > 0; inflight--)
        rc = stdin_answer(cli, pa, first, &failed);
    if (rc == CLI_OK && pa->acks == NP_ACKS_NONE)
        rc = acks0_barrier(cli);
    return rc != CLI_OK ? rc : failed ? CLI_EBROKER : CLI_OK;
}

int cli__cmd_produce(struct cli *cli, int argc, char **argv)
{
    bool help = false;
    char *pos[8];
    const char *part = NULL, *acks = NULL;
    int n, rc;
    struct produce_args pa = {0};
    struct np_produce_resp resp;
    const struct cli_opt opts[] = {{"help", NULL, &help, NULL},      {"key", &pa.key, NULL, NULL},
                                   {"partition", &part, NULL, NULL}, {"acks", &acks, NULL, NULL},
                                   {NULL, NULL, NULL, NULL}};
    rc = cli__args(cli, argc, argv, opts, pos, 2, 8, &n, &help);
    if (rc || help)
        return rc;
    if (n > 2)
        return cli__usage(cli, argv[0], "one message per produce: quote it, as in "
                                        "1 payments \"Hello World\"");
    pa.topic = pos[0];
    if ((rc = parse_common(cli, argv[0], part, acks, &pa)) || (rc = cli__connect(cli)))
        return rc;
    if (strcmp(pos[1], "-") == 0)
        return produce_stdin(cli, &pa);
    struct np_produce_req req = produce_req(&pa, pos[1], strlen(pos[1]));
    if ((rc = np_client_produce(&cli->client, &req, &resp)))
        return cli__report(cli, rc);
    if (pa.acks == NP_ACKS_NONE)
        return acks0_barrier(cli);
    fprintf(cli->out, "topic=%s partition=%d offset=%lld\n", pa.topic, resp.partition,
            (long long)resp.offset);
    return CLI_OK;
}

/* ---- 5 produce-batch ------------------------------------------------------------------- */

static int batch_add(struct cli *cli, struct kc_batch_builder *b, const char *v, size_t len)
{
    int rc = kc_batch_builder_add(b, kc_wall_ms(), NULL, -1, v, (int32_t)len, NULL, 0);
    if (rc)
        fprintf(cli->err, "error: cannot add a record to the batch: %s\n", kc_strerror(rc));
    return rc ? CLI_EUSAGE : CLI_OK;
}

/* Add every message of words (split on sep), or every line of stdin for "-". */
static int batch_fill(struct cli *cli, struct kc_batch_builder *b, char **words, int n,
                      const char *sep)
{
    int rc = CLI_OK;
    if (n == 1 && strcmp(words[0], "-") == 0) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while (rc == CLI_OK && (len = getline(&line, &cap, stdin)) >= 0)
            rc = batch_add(cli, b, line, (size_t)len - (len > 0 && line[len - 1] == '\n'));
        free(line);
        return rc;
    }
    size_t slen = strlen(sep);
    for (int i = 0; rc == CLI_OK && i < n; i++) {
        const char *p = words[i], *end;
        while (rc == CLI_OK && (end = slen ? strstr(p, sep) : NULL) != NULL) {
            rc = batch_add(cli, b, p, (size_t)(end - p));
            p = end + slen;
        }
        if (rc == CLI_OK)
            rc = batch_add(cli, b, p, strlen(p));
    }
    return rc;
}

static int send_batch(struct cli *cli, const struct produce_args *pa, struct kc_batch_builder *b)
{
    uint8_t *batch;
    size_t len;
    struct np_produce_batch_resp resp;
    if (kc_batch_builder_count(b) == 0) {
        fprintf(cli->err, "error: no messages to send\n");
        return CLI_EUSAGE;
    }
    int rc = kc_batch_builder_finish(b, &batch, &len);
    if (rc) {
        fprintf(cli->err, "error: cannot build the batch: %s\n", kc_strerror(rc));
        return CLI_EUSAGE;
    }
    struct np_produce_batch_req req = {np_str(pa->topic), pa->partition, pa->acks,
                                       {batch, (int32_t)len}};
    if ((rc = np_client_produce_batch(&cli->client, &req, &resp)))
        return cli__report(cli, rc);
    if (pa->acks == NP_ACKS_NONE)
        return acks0_barrier(cli);
    fprintf(cli->out, "topic=%s partition=%d base_offset=%lld count=%d\n", pa->topic,
            resp.partition, (long long)resp.base_offset, resp.count);
    return CLI_OK;
}

int cli__cmd_produce_batch(struct cli *cli, int argc, char **argv)
{
    bool help = false;
    char *pos[256];
    const char *part = NULL, *acks = NULL, *sep = ",";
    int n, rc;
    struct produce_args pa = {0};
    struct kc_batch_builder b;
    const struct cli_opt opts[] = {{"help", NULL, &help, NULL},      {"sep", &sep, NULL, NULL},
                                   {"partition", &part, NULL, NULL}, {"acks", &acks, NULL, NULL},
                                   {NULL, NULL, NULL, NULL}};
    rc = cli__args(cli, argc, argv, opts, pos, 2, 256, &n, &help);
    if (rc || help)
        return rc;
    pa.topic = pos[0];
    if ((rc = parse_common(cli, argv[0], part, acks, &pa)))
        return rc;
    kc_batch_builder_init(&b, NULL, 0);
    rc = batch_fill(cli, &b, pos + 1, n - 1, sep);
    if (rc == CLI_OK && (rc = cli__connect(cli)) == CLI_OK)
        rc = send_batch(cli, &pa, &b);
    kc_batch_builder_fini(&b);
    return rc;
}

/* ---- 6 consume-batch ------------------------------------------------------------------- */

static int print_batch(struct cli *cli, const uint8_t *p, size_t len, int64_t from,
                       int64_t *left, int64_t *next)
{
    struct kc_record_iter it;
    struct kc_record rec;
    int rc = kc_record_iter_init(&it, p, len);
    if (rc == KC_EUNSUPPORTED) {
        fprintf(cli->err, "error: records %lld.. are in a compressed batch (codec %d); "
                          "kafka_cli does not decompress\n",
                (long long)kc_batch_base_offset(p), p[KC_BATCH_OFF_ATTRIBUTES + 1] & 7);
        return CLI_EBROKER;
    }
    while (rc == 0 && *left > 0 && (rc = kc_record_iter_next(&it, &rec)) == 1) {
        rc = 0;
        if (rec.offset < from)
            continue;
        cli_print_record(cli->out, rec.offset, rec.value, rec.value_len);
        (*left)--;
        *next = rec.offset + 1;
    }
    if (rc < 0) {
        fprintf(cli->err, "error: a batch does not decode: %s\n", kc_strerror(rc));
        return CLI_EBROKER;
    }
    if (*left > 0) /* the whole batch was looked at (records below `from` included) */
        *next = kc_batch_last_offset(p) + 1;
    return CLI_OK;
}

int cli__print_batches(struct cli *cli, const uint8_t *records, size_t len, int64_t from,
                       int64_t *left, int64_t *next)
{
    size_t off = 0;
    while (off < len && *left > 0) {
        int size = kc_batch_validate(records + off, len - off, NULL);
        if (size < 0) {
            fprintf(cli->err, "error: the broker sent a batch that fails validation: %s\n",
                    kc_strerror(size));
            return CLI_EBROKER;
        }
        int rc = print_batch(cli, records + off, (size_t)size, from, left, next);
        if (rc)
            return rc;
        off += (size_t)size;
    }
    return CLI_OK;
}

static int consume_loop(struct cli *cli, struct np_consume_batch_req *req, int64_t count)
{
    int64_t left = count;
    struct np_consume_batch_resp resp;
    while (left > 0) {
        req->max_records = left > INT32_MAX ? INT32_MAX : (int32_t)left;
        int rc = np_client_consume_batch(&cli->client, req, &resp);
        if (rc)
            return cli__report(cli, rc);
        if (resp.records.len == 0)
            break; /* the log end (after the wait, if one was asked): what exists is shown */
        int64_t next = req->offset;
        rc = cli__print_batches(cli, resp.records.p, (size_t)resp.records.len, req->offset,
                                &left, &next);
        if (rc)
            return rc;
        if (next <= req->offset)
            break; /* nothing new in what came back: do not spin */
        req->offset = next;
        req->max_wait_ms = 0; /* only the first request long-polls */
    }
    return CLI_OK;
}

int cli__cmd_consume_batch(struct cli *cli, int argc, char **argv)
{
    bool help = false;
    char *pos[4];
    const char *wait = "0", *maxb = NULL;
    int n, rc;
    int64_t part, off, count, wait_ms, max_bytes = CLI_CONSUME_MAX_BYTES;
    const struct cli_opt opts[] = {{"help", NULL, &help, NULL},
                                   {"max-wait", &wait, NULL, NULL},
                                   {"max-bytes", &maxb, NULL, NULL},
                                   {NULL, NULL, NULL, NULL}};
    rc = cli__args(cli, argc, argv, opts, pos, 4, 4, &n, &help);
    if (rc || help)
        return rc;
    if ((rc = cli__num(cli, argv[0], "partition", pos[1], 0, INT32_MAX, &part)) ||
        (rc = cli__num(cli, argv[0], "offset", pos[2], INT64_MIN, INT64_MAX, &off)) ||
        (rc = cli__num(cli, argv[0], "count", pos[3], 1, INT64_MAX, &count)) ||
        (rc = cli__num(cli, argv[0], "--max-wait", wait, 0, NP_MAX_WAIT_MS_MAX, &wait_ms)) ||
        (maxb && (rc = cli__num(cli, argv[0], "--max-bytes", maxb, 1, INT32_MAX, &max_bytes))))
        return rc;
    if ((rc = cli__connect(cli)))
        return rc;
    if (wait_ms + 5000 > cli->client.timeout_ms && cli->client.timeout_ms >= 0)
        cli->client.timeout_ms = (int)wait_ms + 5000; /* the answer may take that long */
    struct np_consume_batch_req req = {np_str(pos[0]), (int32_t)part, off, 0,
                                       (int32_t)max_bytes, (int32_t)wait_ms};
    rc = consume_loop(cli, &req, count);
    cli->client.timeout_ms = cli->timeout_ms;
    return rc;
}
