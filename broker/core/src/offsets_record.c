/*
 * offsets_record.c - the __consumer_offsets key and value (format in brk_offsets_record.h).
 *
 * Decoding takes a whole record field, so a short buffer is malformed, never "need more",
 * and bytes left over are malformed too: the version number fixes the layout exactly.
 */
#include <errno.h>

#include "brk_offsets_record.h"
#include "kc_err.h"

int brk_offset_key_encode(struct kc_writer *w, const struct brk_offset_key *k)
{
    bool group = k->kind == BRK_OREC_GROUP;
    if (k->group.len < 0 || (!group && k->topic.len < 0))
        return -EINVAL;
    kc_write_i16(w, group ? BRK_GROUP_META_KEY_VERSION : BRK_OFFSET_KEY_VERSION);
    /* kc_write_str reads a NULL pointer with len 0 as empty: never null here. */
    kc_write_str(w, (const char *)k->group.p, k->group.len);
    if (group)
        return kc_writer_error(w); /* a group's metadata is keyed by the group alone */
    kc_write_str(w, (const char *)k->topic.p, k->topic.len);
    kc_write_i32(w, k->partition);
    return kc_writer_error(w);
}

int brk_offset_key_decode(const uint8_t *p, size_t len, struct brk_offset_key *out)
{
    struct kc_reader r;
    struct brk_offset_key k = {.kind = BRK_OREC_OFFSET, .partition = -1};
    int16_t version;
    kc_reader_init(&r, p, len);
    if (kc_read_i16(&r, &version))
        return KC_EMALFORMED;
    if (version != 0 && version != BRK_OFFSET_KEY_VERSION && version != BRK_GROUP_META_KEY_VERSION)
        return KC_EUNSUPPORTED;
    if (kc_read_str(&r, &k.group) || k.group.len < 0)
        return KC_EMALFORMED;
    if (version == BRK_GROUP_META_KEY_VERSION)
        k.kind = BRK_OREC_GROUP;
    else if (kc_read_str(&r, &k.topic) || kc_read_i32(&r, &k.partition) || k.topic.len < 0)
        return KC_EMALFORMED;
    if (kc_reader_left(&r) != 0)
        return KC_EMALFORMED;
    *out = k;
    return 0;
}

int brk_offset_value_encode(struct kc_writer *w, const struct brk_offset_value *v)
{
    kc_write_i16(w, BRK_OFFSET_VALUE_VERSION);
    kc_write_i64(w, v->offset);
    kc_write_i32(w, v->leader_epoch);
    kc_write_str(w, (const char *)v->metadata.p, v->metadata.len); /* -1: null */
    kc_write_i64(w, v->commit_timestamp);
    return kc_writer_error(w);
}

int brk_offset_value_decode(const uint8_t *p, size_t len, struct brk_offset_value *out)
{
    struct kc_reader r;
    struct brk_offset_value v = {.leader_epoch = -1, .expire_timestamp = -1};
    int16_t version;
    kc_reader_init(&r, p, len);
    if (kc_read_i16(&r, &version))
        return KC_EMALFORMED;
    if (version < 0 || version > BRK_OFFSET_VALUE_VERSION)
        return KC_EUNSUPPORTED;
    int rc = kc_read_i64(&r, &v.offset);
    if (rc == 0 && version >= 3)
        rc = kc_read_i32(&r, &v.leader_epoch);
    if (rc == 0)
        rc = kc_read_str(&r, &v.metadata);
    if (rc == 0)
        rc = kc_read_i64(&r, &v.commit_timestamp);
    if (rc == 0 && version == 1)
        rc = kc_read_i64(&r, &v.expire_timestamp);
    if (rc || kc_reader_left(&r) != 0)
        return KC_EMALFORMED;
    *out = v;
    return 0;
}
