/*
 * name.c - topic names, and the directory names built from them.
 *
 * A topic name becomes part of a path, so it is checked before anything touches the disk.
 * Kafka's rule (org.apache.kafka.common.internals.Topic.validate) is the whole defence:
 *
 *   characters   A-Z a-z 0-9 . _ -        nothing else: no '/', no NUL, no byte >= 0x80
 *   length       1 .. 249                 so "<topic>-<partition>" fits in NAME_MAX (255)
 *   not          "." or ".."              the only all-dot names a path could misuse
 *
 * With '/' and NUL excluded and "." / ".." refused, a name can only ever name one entry
 * inside the data directory: "../x", "a/b", "x\0y" are all refused here.
 *
 * A partition directory is "<topic>-<p>". Topic names may contain '-' themselves, so the
 * name is split at the LAST '-' (p never contains one), and p is plain decimal without
 * leading zeros: every directory name maps back to exactly one (topic, partition).
 *
 *   payments-0        -> ("payments", 0)
 *   my-topic-2        -> ("my-topic", 2)
 *   a-b-c-10          -> ("a-b-c", 10)
 *   payments-01       -> not a partition (leading zero: "payments-1" would be the same p)
 *   payments-         -> not a partition (no number)
 *   -3                -> not a partition (empty topic)
 */
#include <errno.h>
#include <string.h>

#include "kc_err.h"
#include "part_int.h"

static bool legal_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

int part_name_check(const char *name, size_t len)
{
    if (!name || len == 0 || len > PART_NAME_MAX)
        return KC_EBADNAME;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return KC_EBADNAME;
    for (size_t i = 0; i < len; i++)
        if (!legal_char((unsigned char)name[i]))
            return KC_EBADNAME;
    return 0;
}

int part__parse_partition_dir(const char *name, size_t *topic_len, int32_t *p)
{
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name)
        return -EINVAL;
    const char *num = dash + 1;
    size_t digits = strlen(num);
    if (digits == 0 || digits > PART_MAX_DIGITS || (digits > 1 && num[0] == '0'))
        return -EINVAL; /* 7 digits: PART_MAX_PARTITIONS_LIMIT is 2^20 */
    int32_t value = 0;
    for (size_t i = 0; i < digits; i++) {
        if (num[i] < '0' || num[i] > '9')
            return -EINVAL;
        value = value * 10 + (num[i] - '0');
    }
    size_t len = (size_t)(dash - name);
    if (value >= PART_MAX_PARTITIONS_LIMIT || part_name_check(name, len) != 0)
        return -EINVAL;
    *topic_len = len;
    *p = value;
    return 0;
}

int part__parse_marker(const char *name, const char *suffix, size_t *topic_len)
{
    size_t n = strlen(name), s = strlen(suffix);
    if (n <= s || strcmp(name + n - s, suffix) != 0)
        return -EINVAL;
    if (part_name_check(name, n - s) != 0)
        return -EINVAL;
    *topic_len = n - s;
    return 0;
}
