/*
 * cred_store.c - the credential store: a sorted table behind a read-write lock, changed
 * by copy, commit, swap.
 *
 *   readers (network threads)             one writer at a time (write_mu)
 *   ------------------------             ---------------------------------------------
 *   rdlock                                copy the table, apply the changes  (no lock held
 *   binary search, copy the credential    serialise, commit the file          that readers
 *   unlock                                  (tmp, fsync, rename, fsync dir)   wait for)
 *                                         wrlock; swap the table pointer; unlock
 *                                         wipe and free the old table
 *
 * A reader never waits for an fsync or a PBKDF2, only for a pointer swap; a change becomes
 * visible only once it is on disk, so a crash never forgets a credential a client has
 * already used.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cred_int.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "sec_cred.h"

struct sec_cred_store {
    pthread_rwlock_t lock;    /* guards `table` (the pointer; snapshots are immutable) */
    pthread_mutex_t write_mu; /* serialises changes */
    struct cred_table *table;
    struct sec__hook hook;
    uint8_t secret[SEC_SECRET_BYTES];
    char path[PATH_MAX];
};

int cred__cmp(const char *user_a, int mech_a, const char *user_b, int mech_b)
{
    int c = strcmp(user_a, user_b);
    return c ? c : (mech_a > mech_b) - (mech_a < mech_b);
}

long cred__find(const struct cred_table *t, const char *user, int mech)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cred__cmp(t->e[mid].user, t->e[mid].cred.mech, user, mech);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void cred__table_clear(struct cred_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->e[i].user);
        sec_scram_cred_wipe(&t->e[i].cred);
    }
    free(t->e);
    t->e = NULL;
    t->n = 0;
}

static void table_free(struct cred_table *t)
{
    if (t) {
        cred__table_clear(t);
        free(t);
    }
}

/* Write st's file from table t (the commit point of every change). */
static int store_commit(struct sec_cred_store *st, const struct cred_table *t)
{
    struct sec__text text = {0};
    int rc = cred__serialize(st->secret, t, &text);
    if (rc == 0)
        rc = sec__file_commit(st->path, &text, t->n, &st->hook);
    sec__text_free(&text);
    return rc;
}

/* Load the file, or create it with a fresh secret. */
static int store_load(struct sec_cred_store *st)
{
    struct cred_table *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    int rc = cred__load(st->path, st->secret, t);
    if (rc == -ENOENT) {
        rc = sec__random(st->secret, sizeof(st->secret));
        if (rc == 0)
            rc = store_commit(st, t);
    }
    if (rc < 0) {
        table_free(t);
        return rc;
    }
    struct stat sb;
    if (stat(st->path, &sb) == 0 && (sb.st_mode & 077))
        kc_log_warn("security: %s is readable by other users (mode %03o); it should be 0600",
                    st->path, (unsigned)(sb.st_mode & 0777));
    st->table = t;
    return 0;
}

int sec_cred_store_open(const char *data_dir, struct sec_cred_store **out)
{
    struct sec_cred_store *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    int rc = kc_path_join(st->path, sizeof(st->path), data_dir, SEC_CRED_FILE);
    if (rc == 0 && (rc = -pthread_rwlock_init(&st->lock, NULL)) == 0) {
        if ((rc = -pthread_mutex_init(&st->write_mu, NULL)) == 0) {
            rc = store_load(st);
            if (rc == 0) {
                *out = st;
                return 0;
            }
            pthread_mutex_destroy(&st->write_mu);
        }
        pthread_rwlock_destroy(&st->lock);
    }
    sec__wipe(st, sizeof(*st));
    free(st);
    return rc;
}

void sec_cred_store_close(struct sec_cred_store *st)
{
    if (!st)
        return;
    table_free(st->table);
    pthread_rwlock_destroy(&st->lock);
    pthread_mutex_destroy(&st->write_mu);
    sec__wipe(st, sizeof(*st));
    free(st);
}

void sec__cred_store_set_hook(struct sec_cred_store *st, const struct sec__hook *hook)
{
    st->hook = hook ? *hook : (struct sec__hook){0};
}

int sec_cred_store_get(struct sec_cred_store *st, enum sec_sasl_mech mech, const char *user,
                       struct sec_scram_cred *out)
{
    pthread_rwlock_rdlock(&st->lock);
    long i = cred__find(st->table, user, mech);
    if (i >= 0)
        *out = st->table->e[i].cred;
    pthread_rwlock_unlock(&st->lock);
    return i >= 0 ? 0 : -ENOENT;
}

void sec_cred_store_fake(struct sec_cred_store *st, enum sec_sasl_mech mech, const char *user,
                         struct sec_scram_cred *out)
{
    /* "fake-salt" NUL mech NUL user  and  "fake-key" NUL mech NUL user */
    uint8_t msg[16 + SEC_USER_MAX];
    size_t ulen = strnlen(user, SEC_USER_MAX);
    memset(out, 0, sizeof(*out));
    out->mech = mech;
    out->iterations = SEC_SCRAM_ITER_DEFAULT;
    out->salt_len = 32;
    memcpy(msg, "fake-salt\0", 10);
    msg[10] = (uint8_t)mech;
    msg[11] = 0;
    memcpy(msg + 12, user, ulen);
    /* libcrypto failing here leaves zero keys: the proof still cannot match (a client
     * would need H(ClientKey) == 0...0), and the exchange fails as it should. */
    (void)sec__hmac(0, st->secret, sizeof(st->secret), msg, 12 + ulen, out->salt);
    memcpy(msg, "fake-key\0\0", 10);
    (void)sec__hmac(mech, st->secret, sizeof(st->secret), msg, 12 + ulen, out->stored_key);
    memcpy(out->server_key, out->stored_key, sizeof(out->server_key));
}

int sec_cred_store_describe(struct sec_cred_store *st, const char *user, struct sec_cred_info *info,
                            size_t cap)
{
    int n = 0;
    pthread_rwlock_rdlock(&st->lock);
    for (int mech = SEC_SASL_SCRAM_SHA_256; mech <= SEC_SASL_SCRAM_SHA_512; mech++) {
        long i = cred__find(st->table, user, mech);
        if (i >= 0 && (size_t)n < cap)
            info[n++] = (struct sec_cred_info){mech, st->table->e[i].cred.iterations};
    }
    pthread_rwlock_unlock(&st->lock);
    return n;
}

int sec_cred_store_each(struct sec_cred_store *st,
                        void (*fn)(void *arg, const char *user, const struct sec_cred_info *info),
                        void *arg)
{
    pthread_rwlock_rdlock(&st->lock);
    const struct cred_table *t = st->table;
    for (size_t i = 0; i < t->n; i++) {
        struct sec_cred_info info = {t->e[i].cred.mech, t->e[i].cred.iterations};
        fn(arg, t->e[i].user, &info);
    }
    int n = (int)t->n;
    pthread_rwlock_unlock(&st->lock);
    return n;
}

size_t sec_cred_store_count(struct sec_cred_store *st)
{
    pthread_rwlock_rdlock(&st->lock);
    size_t n = st->table->n;
    pthread_rwlock_unlock(&st->lock);
    return n;
}

/* ---- changes ---------------------------------------------------------------------- */

static void set_error(struct sec_cred_change *ch, enum sec_cred_error e, const char *msg)
{
    ch->error = e;
    ch->error_message = msg;
}

/* One change on its own, as Kafka's ScramControlManager validates it (plus the checks a
 * file that must load again needs: name length and UTF-8, salt and salted password). */
static void validate(const struct cred_table *t, struct sec_cred_change *ch)
{
    size_t ulen = ch->user ? strlen(ch->user) : 0;
    if (ulen == 0)
        return set_error(ch, SEC_CRED_UNACCEPTABLE_CREDENTIAL, "Username must not be empty");
    if (!sec_scram_is_scram(ch->mech))
        return set_error(ch, SEC_CRED_UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism");
    if (ulen > SEC_USER_MAX || !sec__utf8_valid(ch->user, ulen))
        return set_error(ch, SEC_CRED_UNACCEPTABLE_CREDENTIAL,
                         "Username must be UTF-8 of at most 1024 bytes");
    if (ch->delete) {
        if (cred__find(t, ch->user, ch->mech) < 0)
            set_error(ch, SEC_CRED_RESOURCE_NOT_FOUND,
                      "Attempt to delete a user credential that does not exist");
        return;
    }
    if (ch->iterations < SEC_SCRAM_ITER_MIN)
        return set_error(ch, SEC_CRED_UNACCEPTABLE_CREDENTIAL, "Too few iterations");
    if (ch->iterations > SEC_SCRAM_ITER_MAX)
        return set_error(ch, SEC_CRED_UNACCEPTABLE_CREDENTIAL, "Too many iterations");
    if (!ch->password == !ch->salted_password)
        return set_error(ch, SEC_CRED_UNACCEPTABLE_CREDENTIAL,
                         "Give either a password or a salted password");
    if (ch->salted_password && (ch->salt_len == 0 || ch->salted_password_len == 0))
        return set_error(ch, SEC_CRED_UNACCEPTABLE_CREDENTIAL,
                         "A salted password needs its salt, and neither may be empty");
    if (ch->salt_len > SEC_SCRAM_SALT_MAX)
        return set_error(ch, SEC_CRED_UNACCEPTABLE_CREDENTIAL, "Salt is longer than 256 bytes");
}

/* Kafka's order: deletions, then upsertions, each in request order. */
static bool processed_before(const struct sec_cred_change *ch, size_t j, size_t i)
{
    if (ch[j].delete != ch[i].delete)
        return ch[j].delete;
    return j < i;
}

/* Validate every change, and fail every change of a user named twice (Kafka's "A user
 * credential cannot be altered twice in the same request"); a user whose first change is
 * invalid keeps that error for all its changes. Returns the number failed. */
static size_t check_changes(const struct cred_table *t, struct sec_cred_change *ch, size_t n)
{
    for (size_t i = 0; i < n; i++)
        set_error(&ch[i], SEC_CRED_OK, NULL);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            if (ch[i].delete != (pass == 0))
                continue;
            /* An earlier change of the same user (all earlier ones share one outcome). */
            size_t first = i;
            for (size_t j = 0; j < n && first == i; j++)
                if (j != i && processed_before(ch, j, i) && ch[j].user && ch[i].user &&
                    strcmp(ch[j].user, ch[i].user) == 0)
                    first = j;
            if (first == i) {
                validate(t, &ch[i]);
            } else if (ch[first].error != SEC_CRED_OK) {
                set_error(&ch[i], ch[first].error, ch[first].error_message);
            } else {
                for (size_t j = 0; j < n; j++)
                    if ((j == i || processed_before(ch, j, i)) && ch[j].user &&
                        strcmp(ch[j].user, ch[i].user) == 0)
                        set_error(&ch[j], SEC_CRED_DUPLICATE_RESOURCE,
                                  "A user credential cannot be altered twice in the same "
                                  "request");
            }
        }
    }
    size_t failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += ch[i].error != SEC_CRED_OK;
    return failed;
}

/* The credential an upsertion stores. */
static int change_cred(const struct sec_cred_change *ch, struct sec_scram_cred *out)
{
    if (ch->salted_password)
        return sec_scram_cred_from_salted(ch->mech, ch->salted_password, ch->salted_password_len,
                                          ch->salt, ch->salt_len, ch->iterations, out);
    if (ch->salt_len)
        return sec_scram_cred_make(ch->mech, ch->password, strlen(ch->password), ch->salt,
                                   ch->salt_len, ch->iterations, out);
    return sec_scram_cred_from_password(ch->mech, ch->password, strlen(ch->password),
                                        ch->iterations, out);
}

/* t with change ch applied (t is a private copy). */
static int table_apply(struct cred_table *t, const struct sec_cred_change *ch)
{
    long i = cred__find(t, ch->user, ch->mech);
    if (ch->delete) {
        free(t->e[i].user);
        sec_scram_cred_wipe(&t->e[i].cred);
        memmove(&t->e[i], &t->e[i + 1], (t->n - (size_t)i - 1) * sizeof(*t->e));
        t->n--;
        return 0;
    }
    struct sec_scram_cred cred;
    int rc = change_cred(ch, &cred);
    if (rc < 0)
        return rc;
    if (i >= 0) {
        t->e[i].cred = cred;
    } else {
        size_t at = 0;
        while (at < t->n && cred__cmp(t->e[at].user, t->e[at].cred.mech, ch->user, ch->mech) < 0)
            at++;
        char *user = strdup(ch->user);
        if (!user) {
            sec_scram_cred_wipe(&cred);
            return -ENOMEM;
        }
        memmove(&t->e[at + 1], &t->e[at], (t->n - at) * sizeof(*t->e));
        t->e[at] = (struct cred_entry){user, cred};
        t->n++;
    }
    sec_scram_cred_wipe(&cred);
    return 0;
}

/* A deep copy of t with room for `extra` more entries. */
static struct cred_table *table_copy(const struct cred_table *t, size_t extra)
{
    struct cred_table *c = calloc(1, sizeof(*c));
    if (!c || !(c->e = calloc(t->n + extra + 1, sizeof(*c->e)))) {
        free(c);
        return NULL;
    }
    for (; c->n < t->n; c->n++) {
        c->e[c->n].cred = t->e[c->n].cred;
        if (!(c->e[c->n].user = strdup(t->e[c->n].user))) {
            table_free(c);
            return NULL;
        }
    }
    return c;
}

int sec_cred_store_apply(struct sec_cred_store *st, struct sec_cred_change *changes, size_t n)
{
    pthread_mutex_lock(&st->write_mu);
    struct cred_table *old = st->table; /* only writers replace it, and we are the writer */
    size_t failed = check_changes(old, changes, n);
    struct cred_table *t = table_copy(old, n);
    int rc = t ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (changes[i].error == SEC_CRED_OK)
            rc = table_apply(t, &changes[i]);
    if (rc == 0 && failed < n)
        rc = store_commit(st, t);
    if (rc == 0 && failed < n) {
        pthread_rwlock_wrlock(&st->lock);
        st->table = t; /* the change is durable: now readers may see it */
        pthread_rwlock_unlock(&st->lock);
        t = old;
    }
    table_free(t);
    pthread_mutex_unlock(&st->write_mu);
    return rc < 0 ? rc : (int)failed;
}
