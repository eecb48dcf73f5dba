/*
 * fsess.c - the fetch session cache: sessions by id, their last use, eviction, the
 * partition budget (fsess.h has the lesson; fsess_table.c one session's partitions).
 *
 *   ids      [bucket] -> session -> session ...      by id (random, 1..INT32_MAX-1)
 *   lru      least recently used first ... most recently used last
 *   counts   sessions, partitions (the budget), evictions, requests by kind
 *
 * Everything here runs under mu, and mu is held only for this table work: O(1) to find,
 * touch or remove a session, O(named + forgotten) to update one, O(sessions) to choose
 * whom to evict (a scan: there are at most `slots`, and only a full Fetch that finds
 * the cache full pays it). A session's partitions belong to its lease holder between
 * brk__fsess_begin and brk__fsess_end; the cache touches them only inside begin (under
 * mu, while nobody holds the lease) and frees a session only when no lease holds it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "fsess_int.h"
#include "kc_time.h"
#include "kp_errors.h"

struct brk_fsess_cache {
    pthread_mutex_t mu;
    struct brk_fsess_config cfg;
    struct brk_fsess **ids;        /* chains by id */
    uint32_t idmask;
    TAILQ_HEAD(fs_lru, brk_fsess) lru;
    uint64_t rng;                  /* splitmix64 state, for ids */
    struct brk_fsess_stats st;
};

int brk__fsess_cache_create(const struct brk_fsess_config *cfg, struct brk_fsess_cache **out)
{
    struct brk_fsess_cache *c = calloc(1, sizeof(*c));
    uint32_t n = 16;
    while (n < 2u * (uint32_t)KC_MAX(cfg->slots, 0) && n < (1u << 16))
        n <<= 1;
    if (!c || !(c->ids = calloc(n, sizeof(*c->ids)))) {
        free(c);
        return -ENOMEM;
    }
    int rc = -pthread_mutex_init(&c->mu, NULL);
    if (rc) {
        free(c->ids);
        free(c);
        return rc;
    }
    c->cfg = *cfg;
    c->idmask = n - 1;
    TAILQ_INIT(&c->lru);
    if (getrandom(&c->rng, sizeof(c->rng), GRND_NONBLOCK) != (ssize_t)sizeof(c->rng))
        c->rng = (uint64_t)kc_mono_ns() ^ ((uint64_t)getpid() << 32); /* ids need not be secret */
    *out = c;
    return 0;
}

void brk__fsess_cache_destroy(struct brk_fsess_cache *c)
{
    if (!c)
        return;
    struct brk_fsess *s;
    while ((s = TAILQ_FIRST(&c->lru))) {
        TAILQ_REMOVE(&c->lru, s, lru);
        fsess__free(s);
    }
    pthread_mutex_destroy(&c->mu);
    free(c->ids);
    free(c);
}

/* ---- the table of sessions (under mu) --------------------------------------------------- */

static struct brk_fsess **chain(struct brk_fsess_cache *c, int32_t id)
{
    return &c->ids[((uint32_t)id * 0x9e3779b1u) >> 16 & c->idmask];
}

static struct brk_fsess *lookup(struct brk_fsess_cache *c, int32_t id)
{
    struct brk_fsess *s = *chain(c, id);
    while (s && s->id != id)
        s = s->next;
    return s;
}

/* A random id in [1, INT32_MAX) that no session has (Kafka's newSessionId). */
static int32_t new_id(struct brk_fsess_cache *c)
{
    int32_t id;
    do {
        uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull); /* splitmix64 */
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        id = (int32_t)((z ^ (z >> 31)) % (uint64_t)(INT32_MAX - 1)) + 1;
    } while (lookup(c, id));
    return id;
}

/* s was just used: last in the LRU list, its partitions counted again. */
static void touch(struct brk_fsess_cache *c, struct brk_fsess *s, int64_t now)
{
    TAILQ_REMOVE(&c->lru, s, lru);
    TAILQ_INSERT_TAIL(&c->lru, s, lru);
    s->used_ms = now;
    c->st.partitions += s->n - s->counted;
    s->counted = s->n;
}

/* Out of the cache; freed now unless a request holds its lease (then at brk__fsess_end). */
static void remove_session(struct brk_fsess_cache *c, struct brk_fsess *s)
{
    struct brk_fsess **pp = chain(c, s->id);
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    TAILQ_REMOVE(&c->lru, s, lru);
    c->st.partitions -= s->counted;
    c->st.sessions--;
    s->counted = 0;
    s->cached = false;
    if (!s->leased)
        fsess__free(s);
}

/* Kafka's EvictableKey order, the first to go first: consumers' sessions before
 * followers', then the smaller, then the lower id. */
static bool goes_before(const struct brk_fsess *a, const struct brk_fsess *b)
{
    if (a->privileged != b->privileged)
        return !a->privileged;
    if (a->counted != b->counted)
        return a->counted < b->counted;
    return a->id < b->id;
}

/* May a newcomer (a follower's: privileged) push s out, age and kind alone? Sessions older
 * than eviction_ms, by anyone; a consumer's, however young, by a follower's. */
static bool evictable(const struct brk_fsess_cache *c, const struct brk_fsess *s,
                      bool privileged, int64_t now)
{
    return now - s->created_ms > c->cfg.eviction_ms || (privileged && !s->privileged);
}

/* Does a newcomer of size partitions (a follower's: privileged) win victim's slot? A
 * follower's over any consumer's session, a consumer's never over a follower's; of the
 * same kind, only a bigger one (Kafka compares EvictableKeys, the newcomer's id 0). */
static bool outranks(bool privileged, int64_t size, const struct brk_fsess *victim)
{
    if (privileged != victim->privileged)
        return privileged;
    return size > victim->counted;
}

/*
 * Make room for a session of size partitions (a follower's: privileged) by evicting one
 * other than keep (Kafka's tryEvict): the least recently used if stale; else the first
 * evictable one in goes_before's order, if the newcomer outranks it (Kafka looks no
 * further either). true if one went.
 */
static bool try_evict(struct brk_fsess_cache *c, int64_t size, bool privileged,
                      const struct brk_fsess *keep, int64_t now)
{
    struct brk_fsess *s, *victim = NULL;
    TAILQ_FOREACH(s, &c->lru, lru)
        if (s != keep)
            break;
    if (s && now - s->used_ms > c->cfg.eviction_ms) {
        victim = s; /* stale: unused for longer than eviction_ms, a follower's or not */
    } else {
        TAILQ_FOREACH(s, &c->lru, lru)
            if (s != keep && evictable(c, s, privileged, now) &&
                (!victim || goes_before(s, victim)))
                victim = s;
        if (victim && !outranks(privileged, size, victim))
            victim = NULL; /* no bigger, or a consumer's facing only followers' sessions */
    }
    if (!victim)
        return false;
    remove_session(c, victim);
    c->st.evictions++;
    return true;
}

/* Is there room for one more session (a new one: keep NULL) and for `more` partitions
 * more? Evicts as it may, for a newcomer as privileged as the session it is or grows. */
static bool make_room(struct brk_fsess_cache *c, const struct brk_fsess *keep, bool privileged,
                      int64_t size, int64_t more, int64_t now)
{
    if (more > c->cfg.max_partitions)
        return false;
    if (!keep && c->st.sessions >= c->cfg.slots && !try_evict(c, size, privileged, keep, now))
        return false;
    while (c->st.partitions + more > c->cfg.max_partitions)
        if (!try_evict(c, size, privileged, keep, now))
            return false;
    return true;
}

/* ---- serving a Fetch ---------------------------------------------------------------------- */

/* An incremental Fetch on session s (mu held, epoch and kind checked): its additions,
 * then its removals (Kafka's FetchSession.update); 70 if they do not fit. */
static int update(struct brk_fsess_cache *c, struct brk_fsess *s,
                  const struct brk_fsess_request *rq, int16_t *error)
{
    int32_t more, topics;
    fsess__count_new(s, rq->named, rq->nnamed, &more, &topics);
    if (more > 0 && !make_room(c, s, s->privileged, s->n + more, more, rq->now_ms)) {
        remove_session(c, s);
        *error = KP_ERR_FETCH_SESSION_ID_NOT_FOUND; /* the client starts over, full */
        return BRK_FSESS_ERROR;
    }
    if (fsess__reserve(s, more, topics))
        return -ENOMEM;
    for (int32_t i = 0; i < rq->nnamed; i++)
        if (fsess__put(s, &rq->named[i], -1, -1)) /* -1: unknown, so answered the first time */
            return -ENOMEM; /* what was added stays: a valid session, the connection closes */
    fsess__forget(s, rq->forgotten, rq->nforgotten);
    if (s->n == 0) {
        remove_session(c, s); /* nothing left: Kafka closes it, and serves sessionless */
        return BRK_FSESS_SESSIONLESS;
    }
    touch(c, s, rq->now_ms);
    s->epoch = brk__fsess_next_epoch(s->epoch);
    s->leased = true;
    return BRK_FSESS_INCREMENTAL;
}

static int begin_incremental(struct brk_fsess_cache *c, const struct brk_fsess_request *rq,
                             struct brk_fsess **out, int16_t *error)
{
    struct brk_fsess *s = lookup(c, rq->id);
    if (!s)
        *error = KP_ERR_FETCH_SESSION_ID_NOT_FOUND;
    else if (s->leased || s->epoch != rq->epoch)
        *error = KP_ERR_INVALID_FETCH_SESSION_EPOCH;
    else if (s->by_id != rq->by_id)
        *error = KP_ERR_FETCH_SESSION_TOPIC_ID_ERROR;
    else {
        int kind = update(c, s, rq, error);
        if (kind == BRK_FSESS_INCREMENTAL)
            *out = s;
        return kind;
    }
    return BRK_FSESS_ERROR;
}

int brk__fsess_begin(struct brk_fsess_cache *c, const struct brk_fsess_request *rq,
                     struct brk_fsess **s, int16_t *error)
{
    int kind;
    *s = NULL;
    *error = KP_ERR_NONE;
    pthread_mutex_lock(&c->mu);
    if (rq->epoch == BRK_FSESS_INITIAL_EPOCH || rq->epoch == BRK_FSESS_FINAL_EPOCH) {
        struct brk_fsess *old = rq->id != BRK_FSESS_NONE ? lookup(c, rq->id) : NULL;
        if (old)
            remove_session(c, old); /* a full Fetch closes the session it names */
        /* A follower's too: its session is made privileged (brk__fsess_create). */
        kind = rq->epoch == BRK_FSESS_INITIAL_EPOCH ? BRK_FSESS_FULL : BRK_FSESS_SESSIONLESS;
    } else {
        kind = begin_incremental(c, rq, s, error);
    }
    if (kind >= 0)
        c->st.by_kind[kind]++;
    pthread_mutex_unlock(&c->mu);
    return kind;
}

/* A session of parts[0..n) as a full Fetch answered them, outside the lock. */
static struct brk_fsess *build(bool by_id, const struct brk_fsess_entry *parts,
                               const struct brk_fsess_result *answered, int32_t n)
{
    struct brk_fsess *s = calloc(1, sizeof(*s));
    if (!s || fsess__reserve(s, KC_MAX(n, 1), KC_MAX(n, 1))) {
        fsess__free(s);
        return NULL;
    }
    s->by_id = by_id;
    for (int32_t i = 0; i < n; i++) {
        const struct brk_fsess_result *r = &answered[i];
        if (fsess__put(s, &parts[i], r->error ? -1 : r->hwm, r->log_start)) {
            fsess__free(s);
            return NULL;
        }
    }
    return s;
}

int32_t brk__fsess_create(struct brk_fsess_cache *c, bool by_id, const void *follower,
                          int64_t now_ms, const struct brk_fsess_entry *parts,
                          const struct brk_fsess_result *answered, int32_t n)
{
    bool privileged = follower != NULL;
    if (c->cfg.slots <= 0 || n > c->cfg.max_partitions)
        return BRK_FSESS_NONE; /* no room, whatever we evict: do not even build it */
    struct brk_fsess *s = build(by_id, parts, answered, n);
    if (!s)
        return -ENOMEM;
    pthread_mutex_lock(&c->mu);
    int32_t id = BRK_FSESS_NONE;
    if (make_room(c, NULL, privileged, s->n, s->n, now_ms)) {
        s->id = id = new_id(c);
        s->privileged = privileged;
        s->follower = follower;
        s->epoch = brk__fsess_next_epoch(BRK_FSESS_INITIAL_EPOCH);
        s->cached = true;
        s->created_ms = now_ms;
        struct brk_fsess **head = chain(c, id);
        s->next = *head;
        *head = s;
        TAILQ_INSERT_TAIL(&c->lru, s, lru);
        touch(c, s, now_ms);
        c->st.sessions++;
        c->st.created++;
    }
    pthread_mutex_unlock(&c->mu);
    if (id == BRK_FSESS_NONE)
        fsess__free(s);
    return id;
}

int brk__fsess_close_follower(struct brk_fsess_cache *c, const void *follower)
{
    struct brk_fsess *s, *next;
    int closed = 0;
    if (!follower)
        return 0;
    pthread_mutex_lock(&c->mu);
    for (s = TAILQ_FIRST(&c->lru); s; s = next) {
        next = TAILQ_NEXT(s, lru);
        if (s->follower == follower) {
            remove_session(c, s);
            closed++;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return closed;
}

void brk__fsess_end(struct brk_fsess_cache *c, struct brk_fsess *s)
{
    pthread_mutex_lock(&c->mu);
    s->leased = false;
    bool gone = !s->cached;
    pthread_mutex_unlock(&c->mu);
    if (gone)
        fsess__free(s); /* evicted or closed while its request was being served */
}

void brk__fsess_stats(struct brk_fsess_cache *c, struct brk_fsess_stats *st)
{
    pthread_mutex_lock(&c->mu);
    *st = c->st;
    pthread_mutex_unlock(&c->mu);
}
