/*
 * clu_pids.h - producer ids unique across a cluster: blocks taken from ZooKeeper's
 * /latest_producer_id_block with a conditional write, and a slot that keeps the next
 * block ready so that InitProducerId never waits for ZooKeeper.
 *
 * Why (the bug this fixed): each broker used to take its blocks from a file in its own
 * data directory, so brokers 1, 2 and 3 all handed out ids from [0, 1000). Two
 * idempotent producers that asked different brokers shared an id, and a partition leader
 * took the second one's first batches for retries of the first one's: acknowledged
 * records were answered with someone else's offsets and never written.
 *
 * Kafka's ZooKeeper-mode way (ProducerIdManager), which this is:
 *
 *   /latest_producer_id_block
 *   {"version":1,"broker":2,"block_start":"3000","block_end":"3999"}   (inclusive end)
 *
 *   take a block:  get -> body, version v          missing: create it with 0..999
 *                  set {start: end+1, end: end+1000} if version == v
 *                  BADVERSION (another broker won) -> read again and retry
 *                  NODEEXISTS (a racing create)    -> read again and retry
 *
 * The znode only grows: the block a broker wrote is durable in ZooKeeper before any of
 * its ids is answered, so a restarted broker (even with an empty disk) takes a fresh one.
 *
 * Who waits for ZooKeeper (nobody that serves clients):
 *
 *   network loop (InitProducerId)            the pids thread (one per broker)
 *   -----------------------------            ----------------------------------
 *   clu_pids_next(p, &id)  ── mu ──> slot <── mu ── offer(block)
 *     an id from the current block           sleeps until the slot wants a block:
 *     none ready: -EAGAIN at once            the current one is 90% used or empty,
 *     (the door answers a retriable           and no spare is ready; then claims one
 *      error: COORDINATOR_LOAD_IN_PROGRESS)   from ZooKeeper (sync calls, bounded by
 *                                             the session timeout) and offers it
 *
 * The pids thread has a ZooKeeper session of its own (clu's thread owns the broker's
 * registration; its calls would wait behind a controller's work). Cost: one more session
 * per broker. It holds no ephemeral node, so its loss harms nothing: a new one is opened.
 */
#ifndef CLU_PIDS_H
#define CLU_PIDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLU_PIDS_PATH       "/latest_producer_id_block"
#define CLU_PIDS_BLOCK_SIZE 1000 /* Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE */
#define CLU_PIDS_BODY_MAX   160  /* the longest body clu_pids_block_encode writes */

/* ---- the znode's body (pure) --------------------------------------------------------- */

struct clu_pids_block {
    int32_t broker; /* who took it, >= 0 */
    int64_t start;  /* first id, >= 0 */
    int64_t end;    /* last id (inclusive, as Kafka writes it), >= start */
};

/* Write b's body into buf[0..cap): its length, or -ENOSPC; -EINVAL for a block that
 * breaks the rules decode enforces. NUL-terminated. */
int clu_pids_block_encode(const struct clu_pids_block *b, char *buf, size_t cap);
/* Read a body (a znode's data arrives whole: a truncated one is malformed). 0 and *b;
 * KC_EMALFORMED: not JSON, version other than 1, a member missing or of the wrong type
 * (block_start/block_end are decimal strings, as Kafka writes them), a negative or
 * overflowing number, block_end < block_start. Unknown members are ignored. */
int clu_pids_block_decode(const char *buf, size_t len, struct clu_pids_block *b);
/* The block after prev (taken by broker): 0, or -EOVERFLOW when the ids ran out. */
int clu_pids_block_after(const struct clu_pids_block *prev, int32_t broker,
                         struct clu_pids_block *next);

/* ---- the slot (pure; the caller locks) ----------------------------------------------- */

/*
 * The block being handed out, and at most one spare. Ids come out in increasing order
 * only: a block offered below the highest id ever offered is refused, so even a confused
 * caller cannot make the slot hand out an id twice.
 */
struct clu_pids_slot {
    int64_t start, next, end; /* current block: [start, end), next to hand out */
    bool spare;               /* a spare block is ready */
    int64_t spare_start, spare_end;
    int64_t high; /* the end of the last block offered: ids below it are spent */
};

void clu_pids_slot_init(struct clu_pids_slot *s);
/* The next id: 0 and *id; -EAGAIN when the current block is spent and no spare is ready. */
int clu_pids_slot_take(struct clu_pids_slot *s, int64_t *id);
/* Should a block be fetched now? No spare, and the current block is empty or 90% used. */
bool clu_pids_slot_wants(const struct clu_pids_slot *s);
/* Hand over ids [b->start, b->end]: 0; -EINVAL (an id of it was offered before, or it is
 * empty); -EBUSY (a spare is already there: the block is NOT taken, its ids are lost). */
int clu_pids_slot_offer(struct clu_pids_slot *s, const struct clu_pids_block *b);

/* ---- the pids thread ----------------------------------------------------------------- */

struct clu_pids;

/*
 * Start the thread of broker `broker` on ZooKeeper `zk_connect` ("h:p[,h:p][/chroot]",
 * whose chroot exists: call it after clu_open). It claims the first block at once.
 * Non-blocking. 0 and *out, -ENOMEM, -EINVAL, or a pthread error (negated).
 */
int clu_pids_open(const char *zk_connect, int session_timeout_ms, int32_t broker,
                  struct clu_pids **out);
/* Stop the thread (waits for a ZooKeeper call in flight: up to ~2/3 of the session
 * timeout) and close its session. NULL is a no-op. */
void clu_pids_close(struct clu_pids *p);
/* A producer id never handed out by any broker of the cluster: 0 and *id, or -EAGAIN
 * (no block ready: ZooKeeper is slow or unreachable; retry). Any thread; never blocks
 * beyond a mutex held for a few instructions. */
int clu_pids_next(struct clu_pids *p, int64_t *id);

/*
 * Claim one block on a connected handle (sync calls; the pids thread's, and tests').
 * zh is a zhandle_t *. 0 and *out; -EAGAIN (connection loss, timeout: retry);
 * KC_EMALFORMED (the znode holds something else: never guess); -EOVERFLOW; -EIO.
 */
int clu_pids_claim(void *zh, int32_t broker, struct clu_pids_block *out);

#endif
