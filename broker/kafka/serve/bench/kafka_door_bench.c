/*
 * kafka_door_bench.c - the Kafka door at one version against the same door at another: a
 * running broker, one connection, requests pipelined, the same work at a classic and a
 * flexible version, so that what differs is the version alone.
 *
 *   kafka_door_bench --port P --topic T --case CASE [--ms 1500 | --count N] [--window 64]
 *
 *   produce_v7 / produce_v9      Produce acks=1 of one batch of 10 records of 100 bytes
 *                                (1.1 KiB: small, so that the door's work per request
 *                                weighs against the append's) to partition 0: decode,
 *                                check, append, answer
 *   fetch_v11 / fetch_v12        Fetch of PARTS partitions, one batch each, max_wait 0:
 *   (PARTS = 1 or 32: _1, _32)   decode, read, answer (the records by sendfile)
 *
 * For --ms (or for --count requests) it keeps --window requests in flight, counts the
 * answers, and prints
 *   RESULT <case> <requests/s> <MB/s of records> <requests answered>
 * Run by bench/run.sh, which starts the broker and alternates the cases, and by
 * bench/instr.sh (--count: the same work under callgrind).
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kc_common.h"
#include "kp_api.h"

struct opts {
    int port;
    const char *topic;
    const char *name;
    int64_t ms;
    int window;
    int64_t count; /* > 0: send exactly this many requests, whatever the time */
};

static int dial(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("kafka_door_bench: connect");
        exit(1);
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* best effort */
    return fd;
}

/* ---- the requests --------------------------------------------------------------------------- */

static uint8_t *one_batch(size_t *len)
{
    struct kc_batch_builder bb;
    uint8_t *p, *copy;
    char v[100];
    memset(v, 'x', sizeof(v));
    kc_batch_builder_init(&bb, NULL, 0);
    for (int i = 0; i < 10; i++)
        if (kc_batch_builder_add(&bb, kc_wall_ms(), NULL, -1, v, sizeof(v), NULL, 0) != 0)
            exit(1);
    if (kc_batch_builder_finish(&bb, &p, len) != 0 || !(copy = malloc(*len)))
        exit(1);
    memcpy(copy, p, *len);
    kc_batch_builder_fini(&bb);
    return copy;
}

/* The request frame for a case, into w; *bytes: the records one answer carries. */
static void build(const struct opts *o, int16_t key, int16_t v, int parts, struct kc_writer *w,
                  size_t batch_len, const uint8_t *batch)
{
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct kp_request_header h = {key, v, 1, kp_slice_str("bench")};
    void *msg;
    if (key == KP_API_PRODUCE) {
        struct kp_produce_req *r = kp_new(&a, &kp_produce_req_schema, 1);
        struct kp_produce_req_topic_produce_data *t =
            kp_new(&a, &kp_produce_req_topic_produce_data_schema, 1);
        struct kp_produce_req_partition_produce_data *p =
            kp_new(&a, &kp_produce_req_partition_produce_data_schema, 1);
        p->records = (struct kc_slice){batch, (int32_t)batch_len};
        t->name = kp_slice_str(o->topic);
        KP_SET(t->partition_data, 1, p);
        r->acks = 1;
        r->timeout_ms = 30000;
        KP_SET(r->topic_data, 1, t);
        msg = r;
    } else {
        struct kp_fetch_req *r = kp_new(&a, &kp_fetch_req_schema, 1);
        struct kp_fetch_req_topic *t = kp_new(&a, &kp_fetch_req_topic_schema, 1);
        struct kp_fetch_req_partition *p = kp_new(&a, &kp_fetch_req_partition_schema, parts);
        for (int i = 0; i < parts; i++) {
            p[i].partition = i;
            p[i].partition_max_bytes = (int32_t)batch_len; /* one batch each */
        }
        t->topic = kp_slice_str(o->topic);
        KP_SET(t->partitions, parts, p);
        r->max_bytes = 64 << 20;
        KP_SET(r->topics, 1, t);
        msg = r;
    }
    if (kp_request_encode(w, &h, msg) != 0)
        exit(1);
    kp_arena_fini(&a);
}

/* ---- the loop -------------------------------------------------------------------------------- */

/* Read whole answers from fd into in; how many were completed. */
static int64_t drain(int fd, struct kc_writer *in)
{
    int64_t done = 0;
    uint8_t *room = kc_writer_reserve(in, 1 << 20);
    ssize_t n = room ? read(fd, room, 1 << 20) : -1;
    if (n <= 0) {
        fprintf(stderr, "kafka_door_bench: the broker closed the connection\n");
        exit(1);
    }
    in->len -= (size_t)(1 << 20) - (size_t)n;
    size_t at = 0;
    while (kc_writer_len(in) - at >= 4) {
        size_t f = 4 + kc_load_be32(kc_writer_data(in) + at);
        if (kc_writer_len(in) - at < f)
            break;
        at += f;
        done++;
    }
    memmove(kc_writer_data(in), kc_writer_data(in) + at, kc_writer_len(in) - at);
    in->len -= at;
    return done;
}

static void run(const struct opts *o)
{
    int16_t key = strncmp(o->name, "produce", 7) == 0 ? KP_API_PRODUCE : KP_API_FETCH;
    int16_t v = (int16_t)atoi(strchr(o->name, 'v') + 1);
    const char *us = strchr(strchr(o->name, 'v'), '_');
    int parts = us ? atoi(us + 1) : 1;
    size_t batch_len;
    uint8_t *batch = one_batch(&batch_len);
    struct kc_writer req, in;
    kc_writer_init(&req, 0);
    kc_writer_init(&in, 0);
    build(o, key, v, parts, &req, batch_len, batch);
    int fd = dial(o->port);
    int64_t sent = 0, answered = 0, t0 = kc_mono_ns(), end = t0 + o->ms * 1000000;
    bool by_count = o->count > 0;
    while ((by_count ? sent < o->count : kc_mono_ns() < end) || answered < sent) {
        while (sent - answered < o->window && (by_count ? sent < o->count : kc_mono_ns() < end)) {
            if (kc_write_all(fd, kc_writer_data(&req), kc_writer_len(&req)) < 0)
                exit(1);
            sent++;
        }
        answered += drain(fd, &in);
    }
    double s = (double)(kc_mono_ns() - t0) / 1e9;
    printf("RESULT %s %.0f %.1f %lld\n", o->name, (double)answered / s,
           (double)answered * (double)batch_len * (key == KP_API_FETCH ? parts : 1) / s / 1e6,
           (long long)answered);
    close(fd);
    kc_writer_fini(&req);
    kc_writer_fini(&in);
    free(batch);
}

int main(int argc, char **argv)
{
    struct opts o = {.topic = "door", .ms = 1500, .window = 64};
    static const struct option longs[] = {
        {"port", 1, NULL, 'p'}, {"topic", 1, NULL, 't'}, {"case", 1, NULL, 'c'},
        {"ms", 1, NULL, 'm'},   {"window", 1, NULL, 'w'}, {"count", 1, NULL, 'n'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (c == 'p')
            o.port = atoi(optarg);
        else if (c == 't')
            o.topic = optarg;
        else if (c == 'c')
            o.name = optarg;
        else if (c == 'm')
            o.ms = atoll(optarg);
        else if (c == 'w')
            o.window = atoi(optarg);
        else if (c == 'n')
            o.count = atoll(optarg);
        else
            return 2;
    }
    if (!o.port || !o.name || !strchr(o.name, 'v')) {
        fprintf(stderr, "usage: kafka_door_bench --port P --case produce_v7|produce_v9|"
                        "fetch_v11_1|fetch_v12_32|... [--topic T] [--ms MS | --count N] [--window N]\n");
        return 2;
    }
    run(&o);
    return 0;
}
