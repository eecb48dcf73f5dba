/*
 * arena.c - the per-message arena: one bump allocator, freed in one go.
 *
 * A decoded request owns nothing but arrays (slices point into the frame), so all its
 * memory comes from here and kp_arena_fini gives it back with a handful of free() calls:
 *
 *   head -> [chunk 1 KiB: hdr | used ........ | free ]
 *             next -> [chunk: ...]             (a larger request gets larger chunks)
 *
 * Chunks double (1 KiB, 2 KiB, ... up to 1 MiB; bigger requests get a chunk of their
 * own), so a message with N arrays costs O(log) mallocs, not N; most requests fit the
 * first kilobyte, which malloc hands out from its per-thread cache. The limit counts bytes
 * handed out, so a hostile frame cannot make a decoder allocate more than the caller
 * allows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kp_int.h"

#define CHUNK_FIRST (1024u - sizeof(struct kp__chunk)) /* malloc's small-size fast path */
#define CHUNK_MAX (1024u * 1024)
#define ALIGN 16u

struct kp__chunk {
    struct kp__chunk *next;
    size_t cap, used;
    _Alignas(ALIGN) uint8_t data[];
};

int kp__arena_alloc(struct kp_arena *a, size_t n, void **out)
{
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (n == 0) {
        *out = NULL;
        return 0;
    }
    if (a->limit && (n > a->limit || a->total > a->limit - n))
        return KC_ETOOLARGE;
    struct kp__chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = c ? (c->cap < CHUNK_MAX ? c->cap * 2 : CHUNK_MAX) : CHUNK_FIRST;
        if (cap < n)
            cap = n;
        c = malloc(sizeof(*c) + cap);
        if (!c)
            return -ENOMEM;
        c->next = a->head;
        c->cap = cap;
        c->used = 0;
        a->head = c;
    }
    uint8_t *p = c->data + c->used;
    c->used += n;
    a->total += n;
    memset(p, 0, n);
    *out = p;
    return 0;
}

void *kp_arena_alloc(struct kp_arena *a, size_t n)
{
    void *p;
    return kp__arena_alloc(a, n, &p) == 0 ? p : NULL;
}

void kp_arena_fini(struct kp_arena *a)
{
    struct kp__chunk *c = a->head;
    while (c) {
        struct kp__chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}
