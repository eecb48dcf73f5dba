/*
 * kfr.h - the replica fetcher: how a follower copies its leader's log, over the Kafka
 * protocol (Kafka's ReplicaFetcherThread).
 *
 * A follower is a client of its leader. It sends the same Fetch a consumer sends, with
 * its broker id as replica_id, and for each partition: the offset it needs next, the
 * epoch of the last batch it holds (so the leader can tell it that its history
 * diverged: Fetch v12's diverging_epoch, KIP-595's truncation on fetch) and the leader
 * epoch it believes current (so a leader that is no longer one refuses: KIP-320).
 *
 *   owner (the broker's replica manager)          struct kfr_fetcher (one thread, one
 *   ------------------------------------          connection to one leader broker)
 *   kfr_add(tp) / kfr_remove(tp)  ──────────────> the partition set
 *                                                  each round:
 *   ops->position(tp) -> offset, epochs  <──────   1. where is each partition?
 *                                                  2. Fetch v12 (replica_id), wait
 *   ops->received(tp, answer)            <──────   3. each partition's answer: whole
 *     append at the leader's offsets, or             batches, the leader's high watermark
 *     truncate (diverging epoch), or                 and log start, or an error
 *     stop fetching it (error)
 *   ops->round_done()                    <──────   4. the round is handed over: make it
 *     fsync what was appended                         durable before the next fetch
 *
 * The fetcher holds no replication state: the owner's log and its struct repl_replica
 * (replication/) are the truth, and every round starts from what position() says. That
 * is also how this project keeps its rule that an offset counts toward the high
 * watermark only once it is on disk on the follower: round_done() fsyncs before the
 * next Fetch goes out, so the fetch offset a leader sees is always durable.
 *
 * Sessions: the fetcher keeps a fetch session (KIP-227) with its leader, so a round names
 * only the partitions whose position() changed since the session last had them, and an
 * answer carries only the partitions with something new; received() is called for those
 * only. Any doubt (a failed or cut round, a leader refusing the session, a change of the
 * partition set) starts over with a full round. README.md has the lesson.
 *
 * Threads: one thread per fetcher, started by kfr_open and joined by kfr_close. The ops
 * run on it, one at a time, never with a lock of the fetcher held (they may call
 * kfr_add/kfr_remove/kfr_wake). kfr_add/remove/wake/stats are safe from any thread.
 *
 * Failures: a connection that fails, times out, or answers something malformed is closed
 * and opened again after retry_backoff_ms; nothing of a round that failed is handed over,
 * so a round is all or nothing per answer. A partition error is the owner's to act on.
 *
 * Long polls: a round the leader has nothing for waits there up to max_wait_ms (500 ms).
 * A partition added meanwhile cannot join that request, and answers on a connection come
 * in order, so kfr_add cuts it: the connection is dropped before any of the answer is read
 * (nothing is lost: nothing was handed over) and the next round, on a new connection,
 * names the new partition. Without it a leadership moving to a broker this follower
 * already fetches from waits out the long poll, and every acks=all produce with it.
 */
#ifndef KFR_H
#define KFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KFR_TOPIC_MAX 249 /* Kafka's longest topic name */

struct kfr_fetcher;

struct kfr_tp {
    char topic[KFR_TOPIC_MAX + 1];
    int32_t partition;
};

/* Where a partition stands, as the owner says before each round. */
struct kfr_position {
    int64_t fetch_offset;         /* the next offset wanted: its durable log end */
    int32_t current_leader_epoch; /* the epoch it follows (KIP-320 fencing) */
    int32_t last_fetched_epoch;   /* the epoch of its last batch, -1 for an empty log */
    int64_t log_start_offset;     /* its own log start */
    int32_t retry_ms;             /* position() false: asked again in this many ms (a
                                   * pause ending); 0: not known (a wake, or idle_ms) */
};

/* One partition's part of an answer. */
struct kfr_answer {
    int16_t error;            /* Kafka's code: 0, or why there is nothing (6, 74, 59, 1, 3...) */
    int64_t high_watermark;   /* the leader's, as of this answer */
    int64_t log_start_offset; /* the leader's */
    bool diverged;            /* the leader's epoch `diverging_epoch` ends at
                               * `diverging_end`: truncate before fetching on */
    int32_t diverging_epoch;
    int64_t diverging_end;
    const uint8_t *batches;   /* whole RecordBatches from fetch_offset on, at the leader's
                               * offsets (a trailing partial batch already cut off) */
    size_t len;
};

struct kfr_ops {
    /* Before a round: fill *pos and return true, or false to leave tp out of this round
     * (paused: after an error, while truncating, while the log is busy). Returning false,
     * it may set pos->retry_ms: the round's long poll then ends by that time, so a pause
     * of a few ms is not a max_wait_ms spent waiting on the other partitions. */
    bool (*position)(void *arg, const struct kfr_tp *tp, struct kfr_position *pos);
    /* One partition's answer (only partitions sent this round, at most once each). The
     * batches are valid during the call only. */
    void (*received)(void *arg, const struct kfr_tp *tp, const struct kfr_answer *a);
    /* After every partition of an answer was received: make it durable. */
    void (*round_done)(void *arg);
};

struct kfr_config {
    const char *host; /* the leader's advertised host and port */
    int port;
    const char *source_host; /* a numeric address to connect FROM (the follower's own
                              * listener address, so that the leader and anything between
                              * them sees which broker this is), NULL or "": the kernel's
                              * choice; an address of another family is not used */
    int32_t replica_id;      /* this broker's id (>= 0) */
    int max_wait_ms;         /* replica.fetch.wait.max.ms     (0: 500) */
    int min_bytes;           /* replica.fetch.min.bytes       (0: 1) */
    int max_bytes;           /* replica.fetch.response.max.bytes (0: 10 MiB) */
    int partition_max_bytes; /* replica.fetch.max.bytes       (0: 1 MiB) */
    int retry_backoff_ms;    /* replica.fetch.backoff.ms      (0: 1000) */
    int idle_ms;             /* partitions, none to fetch (the owner paused them): look
                              * again after this (0: retry_backoff_ms) */
    int socket_timeout_ms;   /* replica.socket.timeout.ms     (0: 30000) */
    const char *client_id;   /* (NULL: "replica-<id>") */
};

/* Start a fetcher (its thread connects by itself). 0, -EINVAL, -ENOMEM, -errno. */
int kfr_open(const struct kfr_config *cfg, const struct kfr_ops *ops, void *arg,
             struct kfr_fetcher **out);
/* Stop the thread (an answer being waited for is abandoned) and free. NULL is fine. */
void kfr_close(struct kfr_fetcher *f);

/* Fetch tp from the next round on (a no-op if present). 0, -ENOMEM, -EINVAL (name). A
 * long poll in flight for the other partitions is cut short (its connection dropped and
 * made again at once): a partition just added - a new leader's - is asked now, not after
 * max_wait_ms. */
int kfr_add(struct kfr_fetcher *f, const struct kfr_tp *tp);
/* Stop fetching tp. Once this returns, no op is called for tp any more unless the round
 * in flight already handed it over: call it from an op, or expect one late call. */
void kfr_remove(struct kfr_fetcher *f, const struct kfr_tp *tp);
/* Start a round now if the fetcher is idle (a paused partition may fetch again). */
void kfr_wake(struct kfr_fetcher *f);

struct kfr_stats {
    uint64_t rounds, answers_bytes, batches_bytes;
    uint64_t connects, failures; /* connections opened; rounds lost to a failure */
    uint64_t connect_failures;   /* connections (or their ApiVersions) that failed */
    uint64_t cuts;               /* long polls cut short by a kfr_add */
    uint64_t full;               /* rounds that named every partition (no session yet) */
    uint64_t session_errors;     /* sessions the leader refused (70, 71): started over */
    int partitions;
    bool connected;
};
void kfr_stats(struct kfr_fetcher *f, struct kfr_stats *out);

/* Does tp name a valid partition (a topic name of 1-249 bytes, partition >= 0)? */
bool kfr_tp_valid(const struct kfr_tp *tp);

#endif
