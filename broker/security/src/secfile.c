/*
 * secfile.c - the frame both security files share, and how it reaches the disk.
 *
 *   kafka-c scram-credentials 1          <- header: names the file and its version
 *   ...one entry per line...
 *   end 3 crc32c=5f0c1a2b                 <- trailer: entry count, CRC-32C of all bytes above
 *
 * Commit (the one durability point of each store):
 *
 *   open path.tmp O_CREAT|O_TRUNC mode 0600 -> write all -> fsync -> close
 *   rename(path.tmp, path)                  <- commit: readers of the file see old or new
 *   fsync(dir)                              <- and after a crash too
 *
 * common/'s kc_atomic_replace does the same with mode 0644; the credential file must
 * never exist, even as a temporary, readable by other users, so this one passes 0600 to
 * open (and fchmods, in case a stale .tmp with a wider mode is being reused).
 *
 * Load checks the frame before anyone parses an entry: the header exactly, the trailer
 * last, its CRC over every byte before it, and its count (checked by the caller, which
 * counts entries as it parses them).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_crc32c.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "sec_int.h"
#include "sec_params.h"

void sec__text_free(struct sec__text *t)
{
    sec__wipe(t->buf, t->cap);
    free(t->buf);
    t->buf = NULL;
    t->len = t->cap = 0;
}

/* Room for n more bytes and a NUL. Growing copies: wipe the old buffer before freeing. */
static int text_reserve(struct sec__text *t, size_t n)
{
    if (t->len + n + 1 <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + n + 1)
        cap *= 2;
    char *p = malloc(cap);
    if (!p)
        return -ENOMEM;
    if (t->buf)
        memcpy(p, t->buf, t->len + 1);
    sec__wipe(t->buf, t->cap);
    free(t->buf);
    t->buf = p;
    t->cap = cap;
    return 0;
}

int sec__text_put(struct sec__text *t, const char *s, size_t len)
{
    int rc = text_reserve(t, len);
    if (rc < 0)
        return rc;
    memcpy(t->buf + t->len, s, len);
    t->len += len;
    t->buf[t->len] = '\0';
    return 0;
}

int sec__text_printf(struct sec__text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    int rc = text_reserve(t, (size_t)n);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
    return 0;
}

static bool plain_byte(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != '%';
}

int sec__text_put_escaped(struct sec__text *t, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc = plain_byte(c) ? sec__text_put(t, (const char *)&c, 1)
                               : sec__text_printf(t, "%%%02X", c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int sec__unescape(const char *in, size_t len, char **out)
{
    char *s = malloc(len + 1);
    size_t o = 0;
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            int hi = len - i >= 3 ? hexval(in[i + 1]) : -1;
            int lo = len - i >= 3 ? hexval(in[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                goto bad;
            c = (unsigned char)(hi << 4 | lo);
            if (c == 0 || plain_byte(c))
                goto bad; /* an escaped NUL, or a byte that needed no escape */
            i += 2;
        } else if (!plain_byte(c)) {
            goto bad;
        }
        s[o++] = (char)c;
    }
    s[o] = '\0';
    *out = s;
    return 0;
bad:
    free(s);
    return KC_EMALFORMED;
}

bool sec__next_line(const char **p, const char *end, const char **line, size_t *len)
{
    if (*p >= end)
        return false;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    *line = *p;
    *len = (size_t)((nl ? nl : end) - *p);
    *p = nl ? nl + 1 : end;
    return true;
}

bool sec__next_field(const char **p, const char *end, const char **field, size_t *len)
{
    if (*p >= end)
        return false;
    const char *sp = memchr(*p, ' ', (size_t)(end - *p));
    *field = *p;
    *len = (size_t)((sp ? sp : end) - *p);
    *p = sp ? sp + 1 : end;
    return true;
}

/* Write the temporary file with mode 0600, durably. */
static int write_tmp(const char *tmp, const struct sec__text *t)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    int rc = fchmod(fd, 0600) < 0 ? -errno : 0;
    if (rc == 0) {
        ssize_t w = kc_write_all(fd, t->buf, t->len);
        rc = w < 0 ? (int)w : kc_fsync(fd);
    }
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

int sec__file_commit(const char *path, struct sec__text *t, size_t entries,
                     const struct sec__hook *hook)
{
    char tmp[PATH_MAX];
    uint32_t crc = kc_crc32c(0, t->buf, t->len);
    int rc = sec__text_printf(t, "end %zu crc32c=%08x\n", entries, crc);
    if (rc < 0)
        return rc;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    rc = write_tmp(tmp, t);
    if (rc == 0 && hook && hook->fn)
        hook->fn(hook->arg); /* tests die here: the old file must survive */
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0) {
        (void)unlink(tmp); /* best effort: a stale .tmp is never read, and overwritten */
        return rc;
    }
    /* Durable only once the directory entry is: this fsync is the commit point. */
    return kc_fsync_parent(path);
}

/* Check the trailer line [line, line+len) against the bytes before it. */
static int check_trailer(const char *path, const char *buf, const char *line, size_t len,
                         size_t *entries)
{
    char copy[80];
    unsigned int crc = 0;
    size_t n = 0;
    int used = 0;
    if (len >= sizeof(copy))
        goto bad;
    memcpy(copy, line, len);
    copy[len] = '\0';
    if (sscanf(copy, "end %zu crc32c=%8x%n", &n, &crc, &used) != 2 || (size_t)used != len)
        goto bad;
    if (kc_crc32c(0, buf, (size_t)(line - buf)) != crc) {
        kc_log_error("security: %s: checksum mismatch (truncated or edited)", path);
        return KC_ECORRUPT;
    }
    *entries = n;
    return 0;
bad:
    kc_log_error("security: %s: the last line is not \"end <n> crc32c=<hex>\"", path);
    return KC_ECORRUPT;
}

int sec__file_load(const char *path, const char *header, char **buf, const char **body,
                   size_t *body_len, size_t *entries)
{
    char *data = NULL;
    size_t len = 0;
    int rc = kc_read_file(path, SEC_FILE_MAX, &data, &len);
    if (rc < 0)
        return rc;
    size_t hlen = strlen(header);
    const char *end = data + len;
    if (len < hlen + 1 || memcmp(data, header, hlen) != 0 || data[hlen] != '\n') {
        kc_log_error("security: %s: the first line is not \"%s\"", path, header);
        rc = KC_ECORRUPT;
        goto out;
    }
    /* The trailer is the last line, and the file ends with its newline. */
    const char *last = len >= 2 && end[-1] == '\n' ? end - 1 : NULL;
    while (last && last > data + hlen + 1 && last[-1] != '\n')
        last--;
    if (!last || last <= data + hlen) {
        kc_log_error("security: %s: no trailer line (truncated?)", path);
        rc = KC_ECORRUPT;
        goto out;
    }
    rc = check_trailer(path, data, last, (size_t)(end - 1 - last), entries);
    if (rc == 0) {
        *buf = data;
        *body = data + hlen + 1;
        *body_len = (size_t)(last - *body);
        data = NULL;
    }
out:
    if (data)
        sec__wipe(data, len);
    free(data);
    return rc;
}
