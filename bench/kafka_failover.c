/*
 * kafka_failover.c - bench_kafka failover: how long partition 0 cannot take an acks=all
 * produce when its leader is killed (SIGKILL) or shut down (SIGTERM, a controlled
 * shutdown that hands its leaderships over first).
 *
 *   acks:   ─┬──┬──┬──┬──┬─ ... ──────────────────────────┬──┬──┬──┬─
 *            │  │  │  │  │                                │
 *            old leader          signal ──▶ errors, Metadata, retries
 *                                  │                      │
 *                                  └──── failover_ms ─────┘ first ack at another broker
 *                             └────────── max_gap_ms ─────┘ longest time between two acks
 *
 * and, to tell where a long gap went, slowest_produce_ms: the longest single produce (send
 * to answer, acknowledged or not); a gap much longer than it was spent in retries.
 *
 * One record a request, one request at a time, as a latency-bound producer sends: the gap
 * between two acknowledgements is then the time the partition could take no write, to
 * within one round trip. Only acknowledged produces count (an answer with an error code,
 * or none, is a retry), so the figure holds whether or not the cluster replicates: with
 * replication, an acknowledgement means the ISR has the record.
 *
 * The client acts as Kafka's does on a leader change: NOT_LEADER_OR_FOLLOWER (6),
 * LEADER_NOT_AVAILABLE (5), NOT_ENOUGH_REPLICAS (19, 20), REQUEST_TIMED_OUT (7), a refused,
 * reset or closed connection, or no answer within FAILOVER_RECV_MS: back off
 * FAILOVER_BACKOFF_MS (librdkafka's retry.backoff.ms is 100; 5 here, so the figure is the
 * cluster's and not the client's patience), read Metadata from the first broker of
 * --bootstrap that answers, connect to the leader it names, and send again.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "kafka.h"
#include "kc_err.h"
#include "kc_time.h"

#define FAILOVER_BACKOFF_MS 5
#define FAILOVER_RECV_MS    5000
#define MAX_BOOTSTRAP       16

struct failover {
    const struct kafka_opts *o;
    const struct kafka_versions *v;
    int ports[MAX_BOOTSTRAP];
    int nports;
    struct kafka_conn conn;   /* to the leader we know (fd -1: none) */
    int leader_port;
    int16_t version;
    int64_t acked, retries, lookups;
    int64_t last_ack_ns, max_gap_ns;
    int64_t slowest_ns;       /* the longest single produce, send to answer (or error) */
    int64_t signal_ns, first_new_ns; /* 0: not yet */
    int old_port, new_port;
};

static int parse_bootstrap(struct failover *f, const char *s)
{
    char *end;

    while (*s != '\0' && f->nports < MAX_BOOTSTRAP) {
        long port = strtol(s, &end, 10);

        if (end == s || port < 1 || port > 65535)
            return -EINVAL;
        f->ports[f->nports++] = (int)port;
        s = *end == ',' ? end + 1 : end;
    }
    return f->nports > 0 && *s == '\0' ? 0 : -EINVAL;
}

/* Kafka's retriable answers to a produce during a leader change - and right after the
 * topic's creation: the leader Metadata named may not have heard of it yet (3), which
 * Kafka's clients retry too (an InvalidMetadataException). */
static bool retriable(int16_t code)
{
    return code == 3 || code == 5 || code == 6 || code == 7 || code == 19 || code == 20;
}

/* Metadata from the first broker that answers with a leader; connect to it. 0, or
 * KC_EEMPTY when no broker names a reachable leader (the caller backs off, tries again). */
static int find_leader(struct failover *f)
{
    struct kafka_leader l;
    struct timeval tv = { FAILOVER_RECV_MS / 1000, 0 };

    kafka__close(&f->conn);
    f->conn.fd = -1;
    f->lookups++;
    for (int i = 0; i < f->nports; i++) {
        if (kafka__leader_lookup(f->ports[i], f->v, f->o->topic, &l) != 0)
            continue;
        if (kafka__connect(l.port, &f->conn) != 0) {
            kafka__close(&f->conn);
            f->conn.fd = -1;
            continue; /* Metadata still names the dead leader: ask again after a pause */
        }
        setsockopt(f->conn.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        f->leader_port = l.port;
        return 0;
    }
    return KC_EEMPTY;
}

/* One produce: 1 when acknowledged, 0 when it must be retried, or a fatal error. */
static int produce_once(struct failover *f, const uint8_t *batch, size_t len)
{
    int32_t corr = f->conn.corr;
    int16_t code = 0;
    int64_t base = -1, t0 = kc_mono_ns();
    int err = kafka__produce_one(&f->conn, f->version, f->o->topic, batch, len);

    if (err == 0)
        err = kafka__produce_answer(&f->conn, f->version, corr, &code, &base);
    if (kc_mono_ns() - t0 > f->slowest_ns)
        f->slowest_ns = kc_mono_ns() - t0;
    if (err == KC_EMALFORMED)
        return err;
    if (err != 0) /* refused, reset, closed, timed out: the leader is gone or going */
        return 0;
    if (code == 0)
        return 1;
    if (retriable(code))
        return 0;
    return kafka__refused("Produce", code, (struct kc_slice){ NULL, -1 });
}

/* The bookkeeping of one acknowledgement at time now. */
static void acked(struct failover *f, int64_t now)
{
    if (f->last_ack_ns != 0 && now - f->last_ack_ns > f->max_gap_ns)
        f->max_gap_ns = now - f->last_ack_ns;
    f->last_ack_ns = now;
    f->acked++;
    if (f->signal_ns != 0 && f->first_new_ns == 0 && f->leader_port != f->old_port) {
        f->first_new_ns = now;
        f->new_port = f->leader_port;
    }
}

static int send_signal(struct failover *f)
{
    f->old_port = f->leader_port;
    f->signal_ns = kc_mono_ns();
    if (kill((pid_t)f->o->kill_pid, f->o->kill_signal) != 0) {
        fprintf(stderr, "bench_kafka failover: kill %lld: %s\n", (long long)f->o->kill_pid,
                strerror(errno));
        return -errno;
    }
    return 0;
}

/* The stream: until after_ms past the first ack at the new leader, or the deadline. */
static int stream(struct failover *f, const uint8_t *batch, size_t len)
{
    int64_t start = kc_mono_ns(), now;
    int err = 0, rc;

    for (;;) {
        now = kc_mono_ns();
        if (f->signal_ns == 0 && now - start >= f->o->warm_ms * 1000000)
            err = send_signal(f);
        if (err != 0)
            return err;
        if (f->first_new_ns != 0 && now - f->first_new_ns >= f->o->after_ms * 1000000)
            return 0;
        if (f->signal_ns != 0 && f->first_new_ns == 0 &&
            now - f->signal_ns > f->o->deadline_ms * 1000000) {
            fprintf(stderr, "bench_kafka failover: no acknowledged produce at a new leader "
                            "within %lld ms of the signal\n", (long long)f->o->deadline_ms);
            return -ETIMEDOUT;
        }
        rc = f->conn.fd >= 0 ? produce_once(f, batch, len) : 0;
        if (rc < 0)
            return rc;
        if (rc == 1) {
            acked(f, kc_mono_ns());
            continue;
        }
        f->retries++;
        kc_sleep_ms(FAILOVER_BACKOFF_MS);
        find_leader(f);
    }
}

int kafka__run_failover(const struct kafka_opts *o, const struct kafka_versions *v,
                        const uint8_t *value)
{
    struct failover f = { .o = o, .v = v, .conn = { .fd = -1 } };
    struct bench_result r = { .bench = o->name };
    uint8_t *batch = NULL;
    size_t len = 0;
    int64_t start = kc_mono_ns();
    int err = parse_bootstrap(&f, o->bootstrap);

    f.version = kafka__produce_version(v);
    if (err == 0 && f.version < 0)
        err = KAFKA_ENOTOFFERED;
    if (err == 0)
        err = kafka__one_record(o, value, &batch, &len);
    if (err == 0 && find_leader(&f) != 0) {
        fprintf(stderr, "bench_kafka failover: no broker of %s names a leader for %s\n",
                o->bootstrap, o->topic);
        err = KC_EEMPTY;
    }
    if (err == 0)
        err = stream(&f, batch, len);
    r.elapsed_ns = kc_mono_ns() - start;
    r.records = f.acked;
    r.bytes = f.acked * o->size;
    if (err == 0) {
        bench_result_print(stdout, &r);
        printf("FAILOVER bench=%s signal=%s failover_ms=%.1f max_gap_ms=%.1f "
               "slowest_produce_ms=%.1f acked=%lld retries=%lld lookups=%lld "
               "old_leader_port=%d new_leader_port=%d\n", o->name,
               o->kill_signal == SIGKILL ? "KILL" : "TERM",
               (double)(f.first_new_ns - f.signal_ns) / 1e6, (double)f.max_gap_ns / 1e6,
               (double)f.slowest_ns / 1e6, (long long)f.acked, (long long)f.retries, (long long)f.lookups, f.old_port,
               f.new_port);
    }
    kafka__close(&f.conn);
    free(batch);
    return err;
}
