/*
 * record.c - GroupMetadataValue, the group-metadata record's value (format in kg_record.h).
 *
 * The fields come in schema order, each present from the version the schema gives it; the
 * decoder reads exactly what the version says and nothing else, so a field a version does
 * not have keeps the value Kafka's loader gives it (rebalance timeout = session timeout
 * before v1, no state timestamp before v2, no instance id before v3).
 */
#include <errno.h>
#include <stdlib.h>

#include "kc_err.h"
#include "kg_record.h"

/* The fewest bytes one member takes at version v: four strings (and v3's nullable one),
 * two i32 byte lengths, the timeouts. A count beyond what is left is malformed. */
static size_t member_min(int16_t v)
{
    return 2 + (v >= 3 ? 2 : 0) + 2 + 2 + (v >= 1 ? 4 : 0) + 4 + 4 + 4;
}

static bool bad_str(struct kc_slice s)
{
    return s.len < 0;
}

static void write_member(struct kc_writer *w, const struct kg_record_member *m)
{
    kc_write_str(w, (const char *)m->member_id.p, m->member_id.len);
    kc_write_str(w, (const char *)m->group_instance_id.p, m->group_instance_id.len);
    kc_write_str(w, (const char *)m->client_id.p, m->client_id.len);
    kc_write_str(w, (const char *)m->client_host.p, m->client_host.len);
    kc_write_i32(w, m->rebalance_timeout_ms);
    kc_write_i32(w, m->session_timeout_ms);
    kc_write_bytes(w, m->subscription.p, m->subscription.len);
    kc_write_bytes(w, m->assignment.p, m->assignment.len);
}

int kg_record_encode(struct kc_writer *w, const struct kg_record *rec)
{
    if (bad_str(rec->protocol_type) || rec->nmembers < 0 || (rec->nmembers && !rec->members))
        return -EINVAL;
    for (int32_t i = 0; i < rec->nmembers; i++) {
        const struct kg_record_member *m = &rec->members[i];
        if (bad_str(m->member_id) || bad_str(m->client_id) || bad_str(m->client_host) ||
            m->subscription.len < 0 || m->assignment.len < 0)
            return -EINVAL;
    }
    kc_write_i16(w, KG_RECORD_VERSION);
    kc_write_str(w, (const char *)rec->protocol_type.p, rec->protocol_type.len);
    kc_write_i32(w, rec->generation);
    kc_write_str(w, (const char *)rec->protocol.p, rec->protocol.len);
    kc_write_str(w, (const char *)rec->leader.p, rec->leader.len);
    kc_write_i64(w, rec->current_state_timestamp);
    kc_write_i32(w, rec->nmembers);
    for (int32_t i = 0; i < rec->nmembers; i++)
        write_member(w, &rec->members[i]);
    return kc_writer_error(w);
}

/* A non-nullable string or bytes: null is malformed, as in Kafka's generated readers. */
static int read_str(struct kc_reader *r, struct kc_slice *s, bool nullable)
{
    if (kc_read_str(r, s) || (!nullable && s->len < 0))
        return KC_EMALFORMED;
    return 0;
}

static int read_bytes(struct kc_reader *r, struct kc_slice *s)
{
    if (kc_read_bytes(r, s) || s->len < 0)
        return KC_EMALFORMED;
    return 0;
}

static int read_member(struct kc_reader *r, int16_t v, struct kg_record_member *m)
{
    m->group_instance_id = (struct kc_slice){NULL, -1};
    if (read_str(r, &m->member_id, false) ||
        (v >= 3 && read_str(r, &m->group_instance_id, true)) ||
        read_str(r, &m->client_id, false) || read_str(r, &m->client_host, false) ||
        (v >= 1 && kc_read_i32(r, &m->rebalance_timeout_ms)) ||
        kc_read_i32(r, &m->session_timeout_ms) || read_bytes(r, &m->subscription) ||
        read_bytes(r, &m->assignment))
        return KC_EMALFORMED;
    if (v == 0)
        m->rebalance_timeout_ms = m->session_timeout_ms; /* Kafka's loader does the same */
    return 0;
}

/* Everything before the members. */
static int read_head(struct kc_reader *r, struct kg_record *rec)
{
    int16_t v;
    if (kc_read_i16(r, &v))
        return KC_EMALFORMED;
    if (v < 0 || v > KG_RECORD_VERSION)
        return KC_EUNSUPPORTED;
    rec->version = v;
    rec->current_state_timestamp = -1;
    if (read_str(r, &rec->protocol_type, false) || kc_read_i32(r, &rec->generation) ||
        read_str(r, &rec->protocol, true) || read_str(r, &rec->leader, true) ||
        (v >= 2 && kc_read_i64(r, &rec->current_state_timestamp)))
        return KC_EMALFORMED;
    if (kc_read_array_len(r, member_min(v), &rec->nmembers) || rec->nmembers < 0)
        return KC_EMALFORMED;
    return 0;
}

int kg_record_decode(const uint8_t *p, size_t len, struct kg_record *out)
{
    struct kc_reader r;
    struct kg_record rec = {0};
    kc_reader_init(&r, p, len);
    int rc = read_head(&r, &rec);
    if (rc)
        return rc;
    if (rec.nmembers > 0 && !(rec.members = calloc((size_t)rec.nmembers, sizeof(*rec.members))))
        return -ENOMEM;
    for (int32_t i = 0; i < rec.nmembers && rc == 0; i++)
        rc = read_member(&r, rec.version, &rec.members[i]);
    if (rc == 0 && kc_reader_left(&r) != 0)
        rc = KC_EMALFORMED; /* the version fixes the layout: nothing may follow */
    if (rc) {
        free(rec.members);
        return rc;
    }
    *out = rec;
    return 0;
}

void kg_record_fini(struct kg_record *rec)
{
    if (!rec)
        return;
    free(rec->members);
    rec->members = NULL;
    rec->nmembers = 0;
}
