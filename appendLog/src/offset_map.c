/*
 * offset_map.c - the cleaner's map from a key to the latest offset it was written at
 * (Kafka's SkimpyOffsetMap), in a fixed budget of memory.
 *
 *   slot (24 bytes)   [ hash of the key: 128 bits            | offset i64 ]
 *   table             open addressing, linear probing, at most 90% full (Kafka's load)
 *
 * Keys are not stored, only a 128-bit hash of each, so a million keys cost 24 MB whatever
 * their size (Kafka's default budget, log.cleaner.dedupe.buffer.size = 128 MiB, holds 5.0
 * million). The table starts at 64 Ki slots and doubles as keys come: cleaning a log of a
 * thousand keys does not touch 128 MiB.
 *
 * Two keys with the same hash would be one key to the map, and the cleaner would drop the
 * older one's latest record: the hash must make that as unlikely as guessing. Kafka uses
 * MD5; here SipHash-2-4 with 128-bit output, KEYED with 16 random bytes drawn for each
 * map, so that no producer can craft two keys that collide (with an unkeyed hash, MD5
 * included, they can: MD5 collisions are cheap to make). 2^-128 a pair otherwise.
 *
 * SipHash (Aumasson and Bernstein, 2012): a 256-bit state of four 64-bit words mixed by
 * "SipRounds" of add, rotate, xor; 2 rounds per 8-byte word of input, 4 at the end; the
 * 128-bit variant finalises twice. Written here from the paper's description.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "alog_int.h"
#include "kc_err.h"
#include "kc_time.h"
#include "offset_map.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = ROTL(v[1], 13);
    v[1] ^= v[0];
    v[0] = ROTL(v[0], 32);
    v[2] += v[3];
    v[3] = ROTL(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = ROTL(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = ROTL(v[1], 17);
    v[1] ^= v[2];
    v[2] = ROTL(v[2], 32);
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

static void compress_word(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
}

void alog__siphash128(const uint64_t key[2], const void *data, size_t len, uint64_t out[2])
{
    const uint8_t *p = data;
    uint64_t v[4] = {key[0] ^ 0x736f6d6570736575ull, key[1] ^ 0x646f72616e646f6dull,
                     key[0] ^ 0x6c7967656e657261ull, key[1] ^ 0x7465646279746573ull};
    v[1] ^= 0xee; /* the 128-bit variant */
    size_t whole = len / 8 * 8;
    for (size_t i = 0; i < whole; i += 8)
        compress_word(v, load_le64(p + i));
    uint64_t last = (uint64_t)len << 56; /* the length's low byte, then the tail bytes */
    for (size_t i = 0; i < len - whole; i++)
        last |= (uint64_t)p[whole + i] << (8 * i);
    compress_word(v, last);
    v[2] ^= 0xee;
    for (int i = 0; i < 4; i++)
        sip_round(v);
    out[0] = v[0] ^ v[1] ^ v[2] ^ v[3];
    v[1] ^= 0xdd;
    for (int i = 0; i < 4; i++)
        sip_round(v);
    out[1] = v[0] ^ v[1] ^ v[2] ^ v[3];
}

struct slot {
    uint64_t h[2];
    int64_t offset; /* -1: empty */
};

#define OMAP_FIRST_SLOTS (1u << 16) /* 1.5 MiB: a small log's cleaning costs no more */

static size_t usable(size_t slots)
{
    return slots / 10 * 9; /* Kafka's load factor: 0.9 */
}

static int table_alloc(struct alog_omap *m, size_t slots)
{
    struct slot *s = malloc(slots * sizeof(*s));
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < slots; i++)
        s[i].offset = -1;
    free(m->slots);
    m->slots = s;
    m->cap = slots;
    return 0;
}

int alog__omap_init(struct alog_omap *m, size_t budget)
{
    memset(m, 0, sizeof(*m));
    m->limit = budget / sizeof(struct slot);
    if (m->limit < 16)
        return -EINVAL;
    return alog__omap_clear(m);
}

int alog__omap_clear(struct alog_omap *m)
{
    size_t first = m->limit < OMAP_FIRST_SLOTS ? m->limit : OMAP_FIRST_SLOTS;
    int rc = table_alloc(m, first);
    m->size = 0;
    m->latest = -1;
    if (getrandom(m->key, sizeof(m->key), 0) != (ssize_t)sizeof(m->key)) {
        /* no entropy yet (early boot): the clock, still unknown to a producer in advance */
        m->key[0] = (uint64_t)kc_mono_ns() * 0x9e3779b97f4a7c15ull;
        m->key[1] = (uint64_t)(uintptr_t)m ^ ((uint64_t)kc_wall_ms() << 20);
    }
    return rc;
}

void alog__omap_fini(struct alog_omap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = 0;
}

/* The slot holding h, or the empty one where it would go (the table is never full). */
static struct slot *probe(struct slot *s, size_t cap, const uint64_t h[2])
{
    size_t i = (size_t)(h[0] % cap);
    while (s[i].offset >= 0 && (s[i].h[0] != h[0] || s[i].h[1] != h[1]))
        i = i + 1 == cap ? 0 : i + 1;
    return &s[i];
}

/* Double the table (up to the budget), moving every slot: the hashes are stored, so no
 * key is needed to move it. A table that may still grow does so at 5/8 full: linear
 * probing at 90% walks ~50 slots for a key not there (measured: a third of the cleaner's
 * time went to probing); only the last, budget-sized table fills to 90%. */
static int grow(struct alog_omap *m)
{
    size_t want = m->cap * 2 < m->limit ? m->cap * 2 : m->limit;
    struct slot *old = m->slots, *s = malloc(want * sizeof(*s));
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < want; i++)
        s[i].offset = -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (old[i].offset >= 0)
            *probe(s, want, old[i].h) = old[i];
    }
    free(old);
    m->slots = s;
    m->cap = want;
    return 0;
}

int alog__omap_put(struct alog_omap *m, const void *key, size_t len, int64_t offset)
{
    uint64_t h[2];
    alog__siphash128(m->key, key, len, h);
    struct slot *s = probe(m->slots, m->cap, h);
    if (s->offset < 0) {
        if (m->size >= usable(m->limit))
            return KC_EFULL; /* nothing stored: the caller stops before this record */
        if (m->cap < m->limit && m->size >= m->cap / 8 * 5) {
            int rc = grow(m);
            if (rc)
                return rc;
            s = probe(m->slots, m->cap, h);
        }
        s->h[0] = h[0];
        s->h[1] = h[1];
        m->size++;
    }
    s->offset = offset;
    alog__omap_note(m, offset);
    return 0;
}

int64_t alog__omap_get(const struct alog_omap *m, const void *key, size_t len)
{
    uint64_t h[2];
    alog__siphash128(m->key, key, len, h);
    return probe(m->slots, m->cap, h)->offset;
}

size_t alog__omap_room(const struct alog_omap *m)
{
    return usable(m->limit) - m->size;
}

void alog__omap_note(struct alog_omap *m, int64_t offset)
{
    if (offset > m->latest)
        m->latest = offset;
}
