/*
 * chaos_errs.h - which error a broker last answered each record's batch with, for the
 * history's fail and info lines (rel_history.h), in a librdkafka producer.
 *
 * librdkafka hands the application one error per record, at the end: a record whose batch
 * a broker refused with NOT_LEADER_OR_FOLLOWER and which then expired in the queue before
 * its retry is reported _MSG_TIMED_OUT, with the persistence status the broker's error set
 * (NOT_PERSISTED). The broker's error itself reaches only librdkafka's debug log ("msg"
 * context), one line per refused batch, naming the batch's first message id:
 *
 *   MSGSET ... chaos [1]: MessageSet with 21 message(s) (MsgId 8117, BaseSeq 8116)
 *              encountered error: Broker: Not leader for partition (actions Refresh,...)
 *
 * A message id is librdkafka's count of the records one producer instance queued to that
 * partition (1, 2, 3, ...), so a producer that writes down, per partition, the value of each
 * record it queued finds the values of msgids [8117, 8137] by index, and keeps the last
 * broker error of each. The delivery report then names that error (the one that decided
 * the record's status) in place of a local one of librdkafka's (_MSG_TIMED_OUT, or
 * _PURGE_QUEUE after a fatal error), or librdkafka's if no broker ever refused the record.
 *
 *   producer thread   ce_queued(k, value)        before each rd_kafka_produce (ce_unqueue
 *                                                if librdkafka refused it at once)
 *   librdkafka thread ce_log_line(line)          every log line (only MSGSET errors count)
 *   producer thread   ce_last_error(k, value)    in the delivery report: a name, or NULL
 *   producer thread   ce_reset()                 a new producer instance: ids from 1 again
 *
 * A header of static functions, included by chaos_clients.h; a mutex guards the tables
 * (the log callback runs on librdkafka's broker threads).
 */
#ifndef CHAOS_ERRS_H
#define CHAOS_ERRS_H

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CE_PARTS 64 /* partitions followed; more are answered "unknown" */

struct chaos_errs {
    pthread_mutex_t mu;
    struct {
        uint64_t *value; /* [msgid - 1]: the record queued with that id, increasing */
        int16_t *err;    /* [msgid - 1]: the broker's last error code for it, 0 none */
        size_t n, cap;
    } p[CE_PARTS];
    const struct rd_kafka_err_desc *descs; /* librdkafka's table: code, name, text */
    size_t ndescs;
};

#define CE_FN static __attribute__((unused))

CE_FN void ce_init(struct chaos_errs *e, const struct rd_kafka_err_desc *descs, size_t n)
{
    memset(e, 0, sizeof(*e));
    pthread_mutex_init(&e->mu, NULL);
    e->descs = descs;
    e->ndescs = n;
}

CE_FN void ce_reset(struct chaos_errs *e)
{
    pthread_mutex_lock(&e->mu);
    for (int k = 0; k < CE_PARTS; k++)
        e->p[k].n = 0;
    pthread_mutex_unlock(&e->mu);
}

CE_FN void ce_fini(struct chaos_errs *e)
{
    for (int k = 0; k < CE_PARTS; k++) {
        free(e->p[k].value);
        free(e->p[k].err);
    }
    pthread_mutex_destroy(&e->mu);
}

/* A record queued to partition k (its msgid is the count so far). -ENOMEM, 0. */
CE_FN int ce_queued(struct chaos_errs *e, int32_t k, uint64_t value)
{
    int rc = 0;
    if (k < 0 || k >= CE_PARTS)
        return 0;
    pthread_mutex_lock(&e->mu);
    __typeof__(e->p[0]) *p = &e->p[k];
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 4096;
        uint64_t *v = realloc(p->value, cap * sizeof(*v));
        if (v)
            p->value = v;
        int16_t *x = v ? realloc(p->err, cap * sizeof(*x)) : NULL;
        if (x)
            p->err = x;
        if (v && x)
            p->cap = cap;
        else
            rc = -ENOMEM;
    }
    if (rc == 0) {
        p->value[p->n] = value;
        p->err[p->n++] = 0;
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

/* The record ce_queued last for partition k was refused before librdkafka queued it. */
CE_FN void ce_unqueue(struct chaos_errs *e, int32_t k)
{
    if (k < 0 || k >= CE_PARTS)
        return;
    pthread_mutex_lock(&e->mu);
    if (e->p[k].n > 0)
        e->p[k].n--;
    pthread_mutex_unlock(&e->mu);
}

/* librdkafka's code for an error text ("Broker: Not leader for partition"), or 0. */
CE_FN int ce_code(const struct chaos_errs *e, const char *text, size_t len)
{
    for (size_t i = 0; i < e->ndescs; i++)
        if (e->descs[i].desc && strlen(e->descs[i].desc) == len &&
            !memcmp(e->descs[i].desc, text, len))
            return e->descs[i].code;
    return 0;
}

/* One librdkafka log line: a refused batch's broker error onto its records. */
CE_FN void ce_log_line(struct chaos_errs *e, const char *topic, const char *line)
{
    char head[160];
    const char *at, *text, *end;
    int k, n;
    unsigned long long id;
    snprintf(head, sizeof(head), "%s [", topic);
    if (!(at = strstr(line, head)) || !(text = strstr(line, "encountered error: Broker: ")) ||
        !(end = strstr(text, " (actions ")))
        return; /* librdkafka's own errors (Local: ...) are in the delivery report */
    if (sscanf(at + strlen(head), "%d]: MessageSet with %d message(s) (MsgId %llu", &k, &n,
               &id) != 3 || k < 0 || k >= CE_PARTS || n < 1 || id < 1)
        return;
    text += strlen("encountered error: ");
    int code = ce_code(e, text, (size_t)(end - text));
    pthread_mutex_lock(&e->mu);
    for (unsigned long long i = id - 1; code && i < id - 1 + (unsigned)n && i < e->p[k].n; i++)
        e->p[k].err[i] = (int16_t)code;
    pthread_mutex_unlock(&e->mu);
}

/* The last broker error for the record of partition k holding value (the values of a
 * partition increase with their ids: a binary search), or 0. */
CE_FN int ce_last_error(struct chaos_errs *e, int32_t k, uint64_t value)
{
    int code = 0;
    if (k < 0 || k >= CE_PARTS)
        return 0;
    pthread_mutex_lock(&e->mu);
    size_t lo = 0, hi = e->p[k].n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->p[k].value[mid] < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < e->p[k].n && e->p[k].value[lo] == value)
        code = e->p[k].err[lo];
    pthread_mutex_unlock(&e->mu);
    return code;
}

#endif
