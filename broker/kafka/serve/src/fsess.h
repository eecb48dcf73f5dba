/*
 * fsess.h - the fetch session cache (KIP-227): what the broker remembers of a consumer's
 * (or a follower's) partitions between two Fetch requests, so that neither side resends
 * what did not change.
 *
 * Without sessions, a consumer of N partitions names all N in every Fetch and gets all N
 * back, changed or not: 10,000 idle partitions cost some 300 KB per round trip for
 * nothing. With a session, the first (full) Fetch names them all and the broker keeps
 * them under a session id; every later (incremental) Fetch names only what changed on
 * the client's side (a new fetch offset or any other of its fields, a partition added,
 * one forgotten), and its answer carries only the partitions with something new. The
 * session keeps every field a request gives a partition - fetch offset, max bytes,
 * current leader epoch, last fetched epoch, log start offset - as the client last sent
 * them: a partition left out is read as if named again, fenced by the same leader epoch
 * (KIP-320) and checked for divergence against the same last fetched epoch. The two
 * sides stay in step through an epoch, counted by both:
 *
 *   client                                      broker
 *   Fetch id 0, epoch 0, [p0..p9999]  ------->  full: read all, new session 7, epoch 1
 *               <--------------  id 7, [p0..p9999 with their HWMs]     (all of them)
 *   Fetch id 7, epoch 1, []           ------->  incremental: read the session's 10,000
 *               <--------------  id 7, [p42: 3 records]   (only what changed)
 *   Fetch id 7, epoch 2, [p42 @ 103]  ------->  p42's fetch offset moves; epoch 3 next
 *   Fetch id 7, epoch 2, ...  (again) ------->  71 INVALID_FETCH_SESSION_EPOCH
 *   Fetch id 9, epoch 5               ------->  70 FETCH_SESSION_ID_NOT_FOUND (evicted?)
 *   Fetch id 7, epoch -1, [...]       ------->  session 7 closed; a sessionless full fetch
 *
 * The epochs (Kafka's FetchMetadata): 0 (INITIAL) asks for a new session, -1 (FINAL) for
 * none; both are "full" requests, and a full request naming a session id closes it. A
 * session's epochs then run 1, 2, ... INT32_MAX, 1, ... The answer to an incremental
 * Fetch holds a partition only if it has records, or its high watermark or log start
 * offset moved since the session last answered it, or it has an error (which also
 * forgets the cached high watermark, so the partition is answered again once the error
 * is gone), or a diverging epoch (a follower's log went past the leader's: it must hear
 * where to truncate, though nothing else changed) - Kafka's
 * CachedPartition.maybeUpdateResponseData. Partitions that returned
 * records move to the end of the session's order, so that one busy partition cannot
 * keep the others out of a request's max_bytes.
 *
 * Followers. A replica fetcher makes and uses a session as a consumer does. What it saves:
 * its idle partitions are neither named in its requests nor carried in the answers, so
 * an idle round costs a few bytes each way instead of a few dozen a partition. The leader
 * still serves every partition of the session each round, with the fetch offset the
 * session keeps - what keeps the follower's position counted toward the high watermark
 * and the ISR while it names nothing - but a partition its last read found idle is
 * answered from here (quiet, below) without a read until its log changes (fetch.c,
 * idle_skip). A follower's session ends with its connection (brk__fsess_close_follower).
 *
 * The cache (Kafka's FetchSessionCache): at most `slots` sessions
 * (max.incremental.fetch.session.cache.slots, 1000) and `max_partitions` partitions over
 * all of them (this broker's own budget: a session of 100,000 partitions is 6 MB). A
 * follower's session (a Fetch with replica_id >= 0) is *privileged*: replication must
 * not lose its session to a crowd of consumers. A full Fetch that finds no room tries to
 * evict one session, in Kafka's order (FetchSessionCache.tryEvict):
 *
 *   1. the least recently used one, if unused for more than eviction_ms
 *      (min.incremental.fetch.session.eviction.ms, 2 minutes): stale, whoever it is
 *   2. else the first, in the order (consumer's before follower's, fewest partitions,
 *      lowest id), of those the newcomer may push out: a consumer's newcomer, sessions
 *      created more than eviction_ms ago; a follower's, those and every consumer's
 *      session, however young. It goes if the newcomer outranks it: a follower's newcomer
 *      any consumer's session, else only a bigger newcomer of its own kind. So a new
 *      session never pushes out one just made of its kind, a small one never a big one,
 *      and a consumer never a follower (short of the follower's going stale)
 *
 * If nothing can go, the answer says session 0 and the client carries on with full
 * requests, which always work. An incremental Fetch that would add partitions past the
 * budget closes its session and is answered 70: the client then starts over, full.
 *
 * Locking. The cache is shared by every network loop (a consumer's connection may land
 * on any of them) and sits behind one mutex, held only for table work: finding a
 * session, checking its epoch, applying a request's additions and removals, evicting,
 * counting - never while a log is read or an answer written. A session is *leased* to
 * the one request that holds its current epoch (begin to end): only that request reads
 * or rewrites the session's partitions, so reading 10,000 partitions and answering
 * needs no lock at all. A second request for a leased session (a client that did not
 * wait for its answer) is refused 71, as Kafka's epoch check would; a session evicted
 * while leased leaves the cache at once and is freed when its lease ends.
 *
 * Keys. A session uses topic names (Fetch v7-12) or topic ids (v13+), never both (106,
 * FETCH_SESSION_TOPIC_ID_ERROR, for a request of the other kind): a key's topic is the
 * name's bytes or the 16 id bytes. Topics are interned once per session; a partition is
 * (topic index, partition) and its request fields: 56 bytes, plus 8 of index.
 *
 * How it differs from Kafka: one lock, not shards (Kafka 3.8's KAFKA-9401 splits its
 * cache when thousands of sessions contend; here the lock covers microseconds of table
 * work); a partition budget (Kafka counts slots only); a leased session refuses a second
 * request instead of racing it; whether a session is old enough to be pushed out is
 * judged when a newcomer asks (Kafka files it in its evictable sets when it is used, by
 * its age then).
 */
#ifndef FSESS_H
#define FSESS_H

#include <stdbool.h>
#include <stdint.h>

#define BRK_FSESS_INITIAL_EPOCH 0  /* a full Fetch asking for a session */
#define BRK_FSESS_FINAL_EPOCH (-1) /* a full Fetch asking for none */
#define BRK_FSESS_NONE 0           /* session id 0: no session */

struct brk_fsess_config {
    int32_t slots;          /* max.incremental.fetch.session.cache.slots (Kafka: 1000) */
    int64_t eviction_ms;    /* min.incremental.fetch.session.eviction.ms (Kafka: 120000) */
    int64_t max_partitions; /* max.incremental.fetch.session.cache.partitions (ours) */
};

/* A partition as a request names it: its topic's name (or 16-byte id) and its index. */
struct brk_fsess_key {
    const uint8_t *topic;
    int32_t len;
    int32_t partition;
};

/* A partition named in a Fetch, with every field the request says of it (Kafka's
 * CachedPartition keeps them all: a partition left out of an incremental request is read
 * with what the client sent last, fencing and divergence checks included). */
struct brk_fsess_entry {
    struct brk_fsess_key key;
    int64_t fetch_offset;
    int32_t max_bytes;
    int32_t current_leader_epoch; /* KIP-320: -1 none; else fenced (74) or unknown (75) */
    int32_t last_fetched_epoch;   /* a follower's: the divergence check; -1 none */
    int64_t log_start_offset;     /* a follower's log start; -1: a consumer's */
};

/* What a session keeps per partition, in fetch order. */
struct brk_fsess_part {
    int32_t topic;          /* brk__fsess_topic(s, topic) */
    int32_t partition;
    int64_t fetch_offset;   /* the last the client sent, as the four below */
    int32_t max_bytes;
    int32_t current_leader_epoch;
    int32_t last_fetched_epoch;
    int64_t log_start_offset;
    int64_t hwm;            /* the last answered; -1: unknown, or after an error */
    int64_t log_start;      /* the last answered */
    /* A follower's partition found idle by its last read (brk__fsess_set_quiet): fetch.c
     * may skip reading it while its log's alog_changes stays quiet_changes. Cleared
     * whenever a request names the partition (its position moved). */
    bool quiet;
    uint64_t quiet_changes;
    int64_t quiet_ms;       /* when that read was */
};

/* What one partition's read found, to decide whether the answer must carry it. */
struct brk_fsess_result {
    int32_t records;        /* bytes of records in the answer */
    int64_t hwm;
    int64_t log_start;
    int16_t error;
    bool diverged;          /* a diverging epoch (a follower must truncate): no records,
                             * error 0, yet always answered */
};

/* How a Fetch is served (Kafka's FetchContext kinds). */
enum brk_fsess_kind {
    BRK_FSESS_SESSIONLESS, /* epoch -1: every partition, session 0 */
    BRK_FSESS_FULL,        /* epoch 0: every partition; then brk__fsess_create */
    BRK_FSESS_INCREMENTAL, /* the session's partitions; only what changed is answered */
    BRK_FSESS_ERROR,       /* a top-level error and nothing else: 70, 71 or 106 */
};

/* A Fetch's session fields and partitions, for brk__fsess_begin. */
struct brk_fsess_request {
    int32_t id;
    int32_t epoch;
    bool by_id;                            /* v13+: topics are 16-byte ids */
    bool replica;                          /* replica_id >= 0: served as a consumer's
                                            * (its session is privileged: create) */
    const struct brk_fsess_entry *named;   /* the request's partitions (none twice) */
    int32_t nnamed;
    const struct brk_fsess_key *forgotten; /* forgotten_topics_data */
    int32_t nforgotten;
    int64_t now_ms;                        /* monotonic */
};

/* Counters for /metrics. */
struct brk_fsess_stats {
    int64_t sessions;        /* in the cache now */
    int64_t partitions;      /* over all of them */
    uint64_t evictions;      /* sessions pushed out to make room */
    uint64_t created;
    uint64_t by_kind[4];     /* Fetch requests, by enum brk_fsess_kind */
};

struct brk_fsess;
struct brk_fsess_cache;

/* A cache with cfg's limits. 0 and *out, or -ENOMEM / the mutex's error. */
int brk__fsess_cache_create(const struct brk_fsess_config *cfg, struct brk_fsess_cache **out);
/* Free it and every session (no lease may be outstanding). NULL is fine. */
void brk__fsess_cache_destroy(struct brk_fsess_cache *c);

/*
 * Decide how to serve a Fetch (Kafka's FetchManager.newContext) and apply what it says to
 * its session. Returns the kind, or -ENOMEM (nothing changed; close the connection):
 *   SESSIONLESS / FULL: a session id given is closed first. FULL: after the reads, offer
 *     the partitions to brk__fsess_create.
 *   INCREMENTAL: *s is the session, leased to the caller until brk__fsess_end: its
 *     partitions were updated from named (added at the end, or every field updated) and
 *     forgotten, its epoch moved on. A session left empty is closed instead: SESSIONLESS.
 *   ERROR: *error is 70 (no such session, or no room for its new partitions: closed),
 *     71 (wrong epoch, or a request of it is still being served) or 106 (names versus
 *     ids). Nothing was applied.
 * Any thread; takes the cache's lock.
 */
int brk__fsess_begin(struct brk_fsess_cache *c, const struct brk_fsess_request *rq,
                     struct brk_fsess **s, int16_t *error);

/*
 * A full Fetch's answer is ready: make a session of its n partitions (in answer order,
 * with what each answer said) if there is room or room can be made (eviction, above).
 * follower: for a follower's Fetch, its connection (any token that outlives the session's
 * use): the session is privileged, and brk__fsess_close_follower closes it with the
 * connection; NULL for a consumer's. Returns the new session's id (> 0), BRK_FSESS_NONE
 * when there is no room, or -ENOMEM. The session is not leased: its first incremental
 * Fetch comes with epoch 1.
 */
int32_t brk__fsess_create(struct brk_fsess_cache *c, bool by_id, const void *follower,
                          int64_t now_ms, const struct brk_fsess_entry *parts,
                          const struct brk_fsess_result *answered, int32_t n);

/*
 * The follower's connection `follower` is closing: close the sessions made on it. A
 * follower never takes a session over to another connection (after any failure it starts
 * over with a full Fetch, as Kafka's replica fetchers do); but a full Fetch whose answer
 * it never read - the fetcher cut the connection to add a partition, or timed out - made
 * a session whose id it never learned, so its next full Fetch could not close it, and a
 * privileged session is pushed out by no one until it goes stale. Creating 6,000
 * partitions left ~500 of them (500,000 partitions' worth) on each broker. Returns how
 * many were closed. Any thread; takes the cache's lock.
 */
int brk__fsess_close_follower(struct brk_fsess_cache *c, const void *follower);

/* The leased session's partitions, in fetch order (*n of them), and a topic's key bytes.
 * Valid until brk__fsess_settle or brk__fsess_end. Lease holder only; no lock. */
const struct brk_fsess_part *brk__fsess_parts(const struct brk_fsess *s, int32_t *n);
const uint8_t *brk__fsess_topic(const struct brk_fsess *s, int32_t topic, int32_t *len);
int32_t brk__fsess_id(const struct brk_fsess *s);

/* Partition k (brk__fsess_parts order) of a follower's session was read idle at now_ms,
 * its log's alog_changes read before that read being `changes` (quiet), or was read and
 * was not (!quiet). Lease holder only; no lock. */
void brk__fsess_set_quiet(struct brk_fsess *s, int32_t k, bool quiet, uint64_t changes,
                          int64_t now_ms);

/*
 * The incremental answer is ready: r[i] is what partition i (brk__fsess_parts order) got.
 * Sets include[i] when the answer must carry it, remembers its high watermark and log
 * start, and moves the partitions that returned records to the end of the order. Lease
 * holder only; no lock.
 */
void brk__fsess_settle(struct brk_fsess *s, const struct brk_fsess_result *r, bool *include);

/* The request holding s's lease is done with it (answered, or its connection died). Any
 * thread; takes the cache's lock. */
void brk__fsess_end(struct brk_fsess_cache *c, struct brk_fsess *s);

/* The counters now. Any thread; takes the lock. */
void brk__fsess_stats(struct brk_fsess_cache *c, struct brk_fsess_stats *st);

/* Kafka's FetchMetadata.nextEpoch: 1, 2, ... INT32_MAX, 1, ...; -1 stays -1. */
static inline int32_t brk__fsess_next_epoch(int32_t epoch)
{
    return epoch < 0 ? BRK_FSESS_FINAL_EPOCH : epoch == INT32_MAX ? 1 : epoch + 1;
}

#endif
