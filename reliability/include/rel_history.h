/*
 * rel_history.h - a checker for what clients saw of a queue: lost acknowledged records,
 * duplicates, one offset holding two values, polls that go backwards or skip, in the spirit
 * of Jepsen's Kafka and Redpanda analyses.
 *
 * A cluster test drives real clients (librdkafka, kafkajs) against brokers it kills, pauses
 * and cuts off. The clients write down what they did and what they were told, one line per
 * event; this checker reads the lines and judges them. It knows nothing of brokers: only of
 * keys (partitions), offsets and values.
 *
 *   producer 1:   send 1 0 1001           "I send value 1001 to partition 0"
 *                 ok   1 0 1001 17        "the broker acknowledged it at offset 17"
 *                 send 1 0 1002
 *                 info 1 0 1002           "no answer: it may or may not be written"
 *                 send 1 2 1003
 *                 fail 1 2 1003           "refused: it was certainly not written"
 *                 fail 1 3 1004 NOT_ENOUGH_REPLICAS   the same, saying which error the
 *                 info 1 3 1005 _MSG_TIMED_OUT        client was given (an optional last
 *                                                     word on fail and info lines)
 *   consumer 9:   seek 9 0 0              "my position in partition 0 is now 0"
 *                 poll 9 0 17 1001        "I read value 1001 at offset 17"
 *   the end:      drain 0 18              "a final reader read partition 0 whole, up to 18"
 *
 * An error's name is the client's own (librdkafka's rd_kafka_err2name, kafkajs' error type):
 * 1-47 characters of [A-Za-z0-9_], at most REL_HIST_MAX_ERRS distinct names a history.
 *
 * Values must be unique per history (a workload makes them so: producer << 32 | counter);
 * processes and keys are small integers. Lines starting with '#' are comments.
 *
 * The anomalies (each counted; the first few of each kind kept as examples):
 *
 *   LOST           an acknowledged value never read, though reads covered its offset (a
 *                  consumer polled through it, or a drain read the key whole); or a value
 *                  acknowledged or read at an offset a drain says the log no longer has
 *   DUPLICATE      one value read or acknowledged at two offsets
 *   INCONSISTENT   one offset of a key read or acknowledged with two values
 *   NONMONOTONIC   a consumer's next poll of a key at an offset <= its previous one, with no
 *                  seek between them
 *   SKIP           a consumer's next poll jumped over an offset that holds a value (someone
 *                  read or was acknowledged there), with no seek between them
 *   PHANTOM        a value read that no producer ever sent to that key
 *   FAILED_READ    a value read whose send had failed definitely, with an error (or none)
 *                  that Kafka's protocol gives only for a record it did not write
 *   REORDERED      one producer's acknowledged offsets of a key out of the order it sent
 *                  them in (an idempotent producer must keep its order)
 *
 * Values acknowledged "info" (indeterminate) and never read are not anomalies: that is what
 * indeterminate means. Ownership: the caller owns struct rel_hist; init, add lines, check,
 * fini. Not thread-safe.
 */
#ifndef REL_HISTORY_H
#define REL_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum rel_hist_kind {
    REL_HIST_LOST,
    REL_HIST_DUPLICATE,
    REL_HIST_INCONSISTENT,
    REL_HIST_NONMONOTONIC,
    REL_HIST_SKIP,
    REL_HIST_PHANTOM,
    REL_HIST_FAILED_READ,
    REL_HIST_REORDERED,
    REL_HIST_NKINDS
};

/* "lost", "duplicate", ... */
const char *rel_hist_kind_name(enum rel_hist_kind k);

enum rel_hist_op {
    REL_OP_SEND, /* proc key value            */
    REL_OP_OK,   /* proc key value offset     */
    REL_OP_FAIL, /* proc key value            */
    REL_OP_INFO, /* proc key value            */
    REL_OP_POLL, /* proc key offset value     */
    REL_OP_SEEK, /* proc key offset           */
    REL_OP_DRAIN /* key offset: read whole below it */
};

/* One event, in the order it happened on its process. */
struct rel_hist_event {
    enum rel_hist_op op;
    int32_t proc, key;
    int64_t offset;
    uint64_t value;
    int64_t line; /* where it came from, for the report */
    int16_t err;  /* fail, info: 1 + the index of its error's name in rel_hist.errs; 0 none */
};

#define REL_HIST_EXAMPLES 5
#define REL_HIST_MAX_ERRS 64 /* distinct error names in one history */
#define REL_HIST_ERR_LEN  48 /* an error's name, with its NUL */

/* What became of the refusals (fail lines) that gave one error's name. */
struct rel_hist_err_count {
    char name[REL_HIST_ERR_LEN]; /* "" for refusals that named none */
    bool ambiguous;              /* rel_hist_err_ambiguous(name) */
    int64_t refused, read;       /* refused with it; of those, read all the same */
};

struct rel_hist_result {
    int64_t count[REL_HIST_NKINDS];
    char example[REL_HIST_NKINDS][REL_HIST_EXAMPLES][160];
    /* What the history held. */
    int64_t sends, acked, failed, indeterminate, polls, keys;
    int64_t indeterminate_read; /* indeterminate sends that turned out written */
    /* Refusals with an error whose outcome Kafka leaves open (rel_hist_err_ambiguous),
     * found written: not FAILED_READ, counted apart (also in failed), and printed. */
    int64_t refused_ambiguous_read;
    struct rel_hist_err_count by_err[REL_HIST_MAX_ERRS + 1]; /* [0]: no name; [i]: errs[i-1] */
    int nby_err;
};

struct rel_hist {
    struct rel_hist_event *ev;
    size_t n, cap;
    int64_t lines;
    char errs[REL_HIST_MAX_ERRS][REL_HIST_ERR_LEN]; /* the error names seen, in order */
    int nerrs;
};

/*
 * Does a refusal with this error leave the record's fate open, by Kafka's protocol? True
 * only for the errors a Kafka leader gives AFTER it appended the batch, so that its
 * followers may have copied it and it may be committed all the same:
 *   REQUEST_TIMED_OUT                 acks=all past the request's timeout (Kafka's
 *                                     DelayedProduce expires; the records stay)
 *   NOT_ENOUGH_REPLICAS_AFTER_APPEND  written, the ISR shrank below min.insync meanwhile
 *   NOT_LEADER_OR_FOLLOWER            a parked acks=all produce whose leader lost its
 *                                     leadership (Kafka's Partition.checkEnoughReplicas-
 *                                     ReachOffset answers it); librdkafka's name for it,
 *                                     NOT_LEADER_FOR_PARTITION, too
 * librdkafka itself reports the first two POSSIBLY_PERSISTED, but NOT_LEADER_OR_FOLLOWER
 * NOT_PERSISTED (rdkafka_request.c, rd_kafka_handle_Produce_error: a "refresh" error is
 * taken for a refusal before the append). Every other name, and none: false.
 */
bool rel_hist_err_ambiguous(const char *name);

void rel_hist_init(struct rel_hist *h);
void rel_hist_fini(struct rel_hist *h);

/* Add one event. 0, -ENOMEM, -EINVAL (a negative key or offset, an unknown op). */
int rel_hist_add(struct rel_hist *h, const struct rel_hist_event *e);

/*
 * Parse one line of the text format above and add it. 0 (also for blank and comment
 * lines); -EINVAL with err[0..cap) saying what is wrong (the line's number counts from 1
 * in the order lines were given); -ENOMEM.
 */
int rel_hist_add_line(struct rel_hist *h, const char *line, char *err, size_t cap);

/* Read a whole file of lines. 0; -EINVAL (err says which line); -errno. */
int rel_hist_read(struct rel_hist *h, FILE *f, char *err, size_t cap);

/*
 * Judge the history. 0 with *out filled (anomalies counted in out->count), -EINVAL when
 * the history itself is unusable (a value sent twice: err says which), -ENOMEM.
 */
int rel_hist_check(const struct rel_hist *h, struct rel_hist_result *out, char *err, size_t cap);

/* Every anomaly's count, zero or not. */
int64_t rel_hist_anomalies(const struct rel_hist_result *r);

/* Print the result for a person: the counts, then the examples. */
void rel_hist_print(const struct rel_hist_result *r, FILE *f);

#endif
