/*
 * chaos_values.h - what one reader saw, by offset, and which of its duplicates a producer
 * resent under a new epoch (chaos_resent.h), for the chaos tests on one broker and on a
 * cluster. Include after chaos_clients.h (PARTS, TOPIC, rd_kafka_message_t).
 *
 *   struct part_values v;
 *   values_read(bootstrap, hi, dir, name, id, &v)  one slot per offset below hi[k], read
 *   chaos_resent_values(dir, nbrokers, &v)         the client's duplicates (brokers
 *                                                  stopped: their segments are read)
 *   values_fini(&v);
 */
#ifndef CHAOS_VALUES_H
#define CHAOS_VALUES_H

#include "chaos_resent.h"

/* Values by offset, per partition, as one reader saw them (0: not read). */
struct part_values {
    uint64_t *v[PARTS];
    int64_t n[PARTS];
};

CH_FN void keep_value(const rd_kafka_message_t *m, void *arg)
{
    struct part_values *pv = arg;
    char text[32];
    size_t n = KC_MIN(m->len, sizeof(text) - 1);
    memcpy(text, m->payload, n);
    text[n] = '\0';
    if (m->offset < pv->n[m->partition])
        pv->v[m->partition][m->offset] = strtoull(text, NULL, 10);
}

CH_FN void values_init(struct part_values *pv, const int64_t *hi)
{
    for (int k = 0; k < PARTS; k++) {
        pv->n[k] = hi[k];
        assert_non_null(pv->v[k] = calloc((size_t)KC_MAX(hi[k], 1), sizeof(uint64_t)));
    }
}

CH_FN void values_fini(struct part_values *pv)
{
    for (int k = 0; k < PARTS; k++)
        free(pv->v[k]);
}

/* Every partition of bootstrap below hi[], read whole into pv (values_init'ed here) as
 * reader id, its lines written to <dir>/<name> (a history-like file, for a post-mortem). */
CH_FN void values_read(const char *bootstrap, const int64_t *hi, const char *dir,
                       const char *name, int id, struct part_values *pv)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    values_init(pv, hi);
    read_whole(bootstrap, hi, f, id, keep_value, pv);
    fclose(f);
}

/* Of the values pv holds twice, how many one producer id wrote under two epochs: the
 * brokers' (nbrokers; 0: the lone broker of <dir>/data) segment files say. */
CH_FN int64_t chaos_resent_values(const char *dir, int nbrokers, const struct part_values *pv)
{
    struct resent_copy *c;
    size_t n = 0, total = 0;
    for (int k = 0; k < PARTS; k++)
        total += (size_t)pv->n[k];
    assert_non_null(c = calloc(KC_MAX(total, 1), sizeof(*c)));
    for (int k = 0; k < PARTS; k++)
        for (int64_t o = 0; o < pv->n[k]; o++)
            if (pv->v[k][o])
                c[n++] = (struct resent_copy){pv->v[k][o], k, o};
    int64_t resent = chaos_resent(dir, nbrokers, TOPIC, PARTS, c, n);
    free(c);
    assert_true(resent >= 0);
    return resent;
}

#endif
