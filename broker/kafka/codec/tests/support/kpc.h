/*
 * kpc.h - what the codec's tests share: the captured fixtures, and a generic message
 * filler that exercises every field of a schema.
 *
 * Fixtures are broker/kafka/tests/fixtures/<scenario>/<Api>_v<N>_<k>.req (a whole request
 * frame, size prefix included) and, when the client got one, .resp (the response frame).
 * The API key and version of both come from the request's header.
 */
#ifndef KPC_H
#define KPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kp_api.h"

#define KPC_FIXTURES "broker/kafka/tests/fixtures"

struct kpc_fixture {
    char name[256];    /* "<scenario>/<Api>_v<N>_<k>" */
    uint8_t *req;      /* whole frame, malloc'ed */
    size_t req_len;
    uint8_t *resp;     /* whole frame or NULL (no answer: acks=0, or cut off) */
    size_t resp_len;
    int16_t key, version;
};

/* Call fn for every fixture pair, scenarios and names sorted; returns how many. */
int kpc_each_fixture(void (*fn)(const struct kpc_fixture *fx, void *arg), void *arg);

/* Fill every field obj has at version with a non-default value (arrays get n_elems
 * elements, strings distinct lengths), from arena a. seed varies the values. */
void kpc_fill(const struct kp_schema *s, int16_t version, void *obj, struct kp_arena *a,
              int n_elems, uint32_t seed);

/* An exact-size malloc'ed copy of p[0..n) (so ASan sees a read past its end). */
uint8_t *kpc_dup(const void *p, size_t n);

#endif
