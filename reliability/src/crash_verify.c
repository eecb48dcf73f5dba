/*
 * crash_verify.c - after each restart: read everything back and hold it against the model.
 *
 *   1. scan     every partition from offset 0 to its log end with consume-batch; every
 *               batch must validate (lengths, CRC-32C) and begin exactly where the last
 *               one ended; every record must be a value some producer sent to this
 *               partition, found once, later in its producer's order than the one before,
 *               and at the offset it was acknowledged at
 *   2. sweep    each producer's records in seq order: acknowledged or once-kept records
 *               that were not found are lost (allowed only for acks=1 under a power cut,
 *               and only as a tail: a record kept after a lost one is a hole)
 *   3. groups   each partition's committed offset is the last acknowledged commit, or
 *               the commit in flight when the broker died
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crash_int.h"
#include "kc_common.h"

int crl__violation(struct crl_run *run, const char *fmt, ...)
{
    if (run->r->error[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(run->r->error, sizeof(run->r->error), fmt, ap);
        va_end(ap);
    }
    return KC_ECORRUPT;
}

struct scan {
    struct crl_run *run;
    int32_t part;
    int64_t next;                        /* the offset the next record must have */
    int64_t last_seq[CRL_MAX_PRODUCERS]; /* per producer, in this partition */
};

/* One record found at rec->offset of partition s->part. */
static int scan_record(struct scan *s, const struct kc_record *rec)
{
    struct crl_run *run = s->run;
    struct rel_crash_result *r = run->r;
    int prod;
    uint64_t seq;
    if (crl__value_parse(rec->value, rec->value_len, run->o->seed, &prod, &seq) != 0 ||
        prod >= run->o->producers || seq >= run->prod[prod].next_seq) {
        r->corrupt++;
        return crl__violation(run, "partition %d offset %lld: a record nobody wrote", s->part,
                              (long long)rec->offset);
    }
    struct crl_rec *m = &run->prod[prod].recs[seq];
    if (m->part != s->part || m->state == CRL_GONE) {
        r->corrupt++;
        return crl__violation(run, "partition %d offset %lld: producer %d seq %llu %s", s->part,
                              (long long)rec->offset, prod, (unsigned long long)seq,
                              m->part != s->part ? "was sent to another partition"
                                                 : "was missing after an earlier restart");
    }
    if (m->seen++) {
        r->duplicates++;
        return crl__violation(run, "partition %d offset %lld: producer %d seq %llu again", s->part,
                              (long long)rec->offset, prod, (unsigned long long)seq);
    }
    bool placed = m->state == CRL_ACKED || m->state == CRL_KEPT;
    if ((placed && m->offset != rec->offset) || (int64_t)seq <= s->last_seq[prod]) {
        r->out_of_order++;
        return crl__violation(run, "partition %d offset %lld: producer %d seq %llu %s %lld",
                              s->part, (long long)rec->offset, prod, (unsigned long long)seq,
                              placed ? "belongs at offset" : "comes after its seq",
                              placed ? (long long)m->offset : (long long)s->last_seq[prod]);
    }
    if (!placed)
        m->offset = rec->offset;
    s->last_seq[prod] = (int64_t)seq;
    r->checked++;
    return 0;
}

/* The batches of one consume-batch answer. */
static int scan_batches(struct scan *s, const uint8_t *p, size_t len)
{
    for (size_t at = 0; at < len;) {
        struct kc_record_iter it;
        struct kc_record rec;
        int size = kc_batch_validate(p + at, len - at, NULL), rc;
        if (size <= 0 || kc_batch_base_offset(p + at) != s->next ||
            kc_record_iter_init(&it, p + at, (size_t)size) != 0) {
            s->run->r->corrupt++;
            return crl__violation(s->run,
                                  "partition %d: the batch served for offset %lld is "
                                  "bad (%s)",
                                  s->part, (long long)s->next,
                                  size <= 0 ? kc_strerror(size) : "wrong base offset");
        }
        while ((rc = kc_record_iter_next(&it, &rec)) == 1) {
            if (rec.offset != s->next) {
                s->run->r->corrupt++;
                return crl__violation(s->run, "partition %d: offset %lld where %lld was due",
                                      s->part, (long long)rec.offset, (long long)s->next);
            }
            if ((rc = scan_record(s, &rec)) != 0)
                return rc;
            s->next++;
        }
        if (rc != 0) {
            s->run->r->corrupt++;
            return crl__violation(s->run,
                                  "partition %d: a record near offset %lld does not "
                                  "parse",
                                  s->part, (long long)s->next);
        }
        at += (size_t)size;
    }
    return 0;
}

static int scan_partition(struct crl_run *run, struct np_client *c, int32_t p)
{
    struct scan s = {.run = run, .part = p};
    int64_t end = -1;
    for (int i = 0; i < CRL_MAX_PRODUCERS; i++)
        s.last_seq[i] = -1;
    while (end < 0 || s.next < end) {
        struct np_consume_batch_resp br;
        struct np_consume_batch_req q = {np_str(CRL_TOPIC), p, s.next, 1 << 20, 1 << 20, 0};
        int rc = np_client_consume_batch(c, &q, &br);
        if (rc)
            return np_is_err(rc) ? crl__violation(run, "partition %d: reading offset %lld: %s", p,
                                                  (long long)s.next, c->errmsg)
                                 : rc;
        if (end < 0 && br.log_start != 0)
            return crl__violation(run, "partition %d starts at %lld, not 0", p,
                                  (long long)br.log_start);
        end = br.log_end;
        if (s.next < end && br.records.len == 0)
            return crl__violation(run,
                                  "partition %d: nothing served at %lld below the end "
                                  "%lld",
                                  p, (long long)s.next, (long long)end);
        if ((rc = scan_batches(&s, br.records.p, (size_t)br.records.len)) != 0)
            return rc;
    }
    return 0;
}

/* What became of one record this verification did not account for yet. */
static int sweep_one(struct crl_run *run, int prod, uint64_t seq, bool *gap)
{
    struct rel_crash_result *r = run->r;
    struct crl_rec *m = &run->prod[prod].recs[seq];
    bool lossy = run->o->acks != -1 && run->o->powercut;
    int rc = 0;
    if (m->seen && gap[m->part] && m->state != CRL_KEPT) {
        r->holes++;
        rc = crl__violation(run,
                            "partition %d: producer %d seq %llu was kept after an "
                            "earlier record of it was lost",
                            m->part, prod, (unsigned long long)seq);
    }
    if (m->seen) {
        r->unacked_present += m->state == CRL_SENT || m->state == CRL_ERROR;
        m->state = CRL_KEPT;
    } else if (m->state == CRL_KEPT || (m->state == CRL_ACKED && !lossy)) {
        r->lost++;
        rc =
            crl__violation(run,
                           "LOST: partition %d: producer %d seq %llu, %s at offset "
                           "%lld, is gone",
                           m->part, prod, (unsigned long long)seq,
                           m->state == CRL_KEPT ? "found after an earlier restart" : "acknowledged",
                           (long long)m->offset);
    } else if (m->state == CRL_ACKED || m->state == CRL_SENT) {
        r->lost_unsynced += m->state == CRL_ACKED;
        gap[m->part] = true; /* later records of this producer here must be gone too */
        m->state = CRL_GONE;
    } else if (m->state == CRL_ERROR) {
        m->state = CRL_GONE;
    }
    m->seen = 0;
    return rc;
}

static int sweep(struct crl_run *run)
{
    int first = 0;
    for (int i = 0; i < run->o->producers; i++) {
        bool gap[CRL_MAX_PARTS] = {false};
        struct crl_producer *pr = &run->prod[i];
        for (uint64_t seq = 0; seq < pr->next_seq; seq++) {
            struct crl_rec *m = &pr->recs[seq];
            if (m->state == CRL_GONE || (m->state == CRL_KEPT && m->seen))
                m->seen = 0;
            else if (!first)
                first = sweep_one(run, i, seq, gap);
            else
                (void)sweep_one(run, i, seq, gap); /* counting the rest; first one reported */
        }
    }
    return first;
}

static int check_groups(struct crl_run *run, struct np_client *c)
{
    struct crl_consumer *cs = &run->cons;
    for (int32_t p = 0; p < run->o->partitions; p++) {
        struct np_fetch_offset_resp fr;
        struct np_fetch_offset_req q = {np_str(CRL_GROUP), np_str(CRL_TOPIC), p};
        int rc = np_client_fetch_offset(c, &q, &fr);
        if (rc)
            return np_is_err(rc) ? crl__violation(run, "fetch-offset %d: %s", p, c->errmsg) : rc;
        run->r->commits_checked++;
        if (fr.offset != cs->acked[p] && fr.offset != cs->pending[p]) {
            run->r->commits_lost++;
            return crl__violation(run,
                                  "group offset of partition %d is %lld; the last "
                                  "acknowledged commit was %lld (in flight: %lld)",
                                  p, (long long)fr.offset, (long long)cs->acked[p],
                                  (long long)cs->pending[p]);
        }
        cs->acked[p] = fr.offset;
        cs->pending[p] = -2;
    }
    return 0;
}

int crl__verify(struct crl_run *run)
{
    struct np_client c;
    int rc = np_client_connect(&c, run->b.addr, CRL_CONNECT_MS);
    if (rc)
        return rc;
    c.timeout_ms = CRL_IO_MS;
    for (int32_t p = 0; p < run->o->partitions && rc == 0; p++)
        rc = scan_partition(run, &c, p);
    if (rc == 0)
        rc = sweep(run);
    if (rc == 0)
        rc = check_groups(run, &c);
    np_client_close(&c);
    return rc;
}
