/*
 * offset_map.h - key -> latest offset, in a fixed memory budget (offset_map.c teaches).
 *
 * Rules: one thread per map (a cleaner owns its own); put records in offset order (a later
 * put for a key replaces the offset); the table starts small and doubles up to the budget,
 * then a put of a new key is refused with KC_EFULL (nothing stored: the caller stops
 * there); get returns -1 for a key never put.
 */
#ifndef OFFSET_MAP_H
#define OFFSET_MAP_H

#include <stddef.h>
#include <stdint.h>

struct alog_omap {
    void *slots;
    size_t cap;       /* slots now */
    size_t limit;     /* slots the budget allows */
    size_t size;      /* used */
    int64_t latest;   /* the largest offset put (or noted), -1 */
    uint64_t key[2];  /* SipHash key, random per clear */
};

/* A map of at most `budget` bytes (24 a slot, 90% of them usable). 0, -EINVAL (a budget
 * below 16 slots), -ENOMEM. */
int alog__omap_init(struct alog_omap *m, size_t budget);
/* Empty it, with a new random hash key; the table shrinks back to its first size. */
int alog__omap_clear(struct alog_omap *m);
void alog__omap_fini(struct alog_omap *m);
/* 0, KC_EFULL (the budget is used up: nothing stored), -ENOMEM (growing failed). */
int alog__omap_put(struct alog_omap *m, const void *key, size_t len, int64_t offset);
int64_t alog__omap_get(const struct alog_omap *m, const void *key, size_t len);
/* How many more new keys surely fit in the budget. */
size_t alog__omap_room(const struct alog_omap *m);
/* Every offset up to `offset` has been looked at (batches without keys move it too). */
void alog__omap_note(struct alog_omap *m, int64_t offset);

/* SipHash-2-4, 128-bit output (exported for its test vectors). */
void alog__siphash128(const uint64_t key[2], const void *data, size_t len, uint64_t out[2]);

#endif
