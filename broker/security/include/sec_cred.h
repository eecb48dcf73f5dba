/*
 * sec_cred.h - the SCRAM credential store: one file in the data directory, loaded at start,
 * changed online, read by every network thread.
 *
 * The file, <data-dir>/scram-credentials (mode 0600; text, so an operator can read what
 * users exist, and nothing in it logs anyone in):
 *
 *   kafka-c scram-credentials 1
 *   secret <base64 of 32 random bytes>               derives unknown users' fake salts
 *   SCRAM-SHA-256 alice salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=4096
 *   SCRAM-SHA-512 alice salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=8192
 *   SCRAM-SHA-256 bob%20smith salt=...                names: bytes outside 0x21-0x7e and
 *   end 3 crc32c=5f0c1a2b                               '%' are written %XX
 *
 * The credential field is Kafka's own serialisation (ScramCredentialUtils, the format the
 * ZooKeeper-era brokers stored under /config/users). The last line counts the entries and
 * carries the CRC-32C of every byte before it, so a truncated or edited file is refused
 * (KC_ECORRUPT, with the line in the log) instead of silently losing users.
 *
 * Every change rewrites the whole file and commits it atomically:
 *
 *   write scram-credentials.tmp (0600) -> fsync -> rename over scram-credentials -> fsync dir
 *
 * so a crash leaves the old file or the new one, never a mix; a stale .tmp is ignored.
 * A change is visible to readers only after it is durable.
 *
 * Threads: lookups take a read lock for the length of a copy (a binary search in a sorted
 * array); changes are serialised by a writer mutex, build the new table and file without
 * blocking readers, and take the write lock only to swap the table in.
 */
#ifndef SEC_CRED_H
#define SEC_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sec_scram.h"

#define SEC_CRED_FILE "scram-credentials"

struct sec_cred_store;

/*
 * Open the store of data_dir: load its file, or create an empty one (with a fresh secret)
 * if there is none. 0, or -errno, or KC_ECORRUPT (the file does not parse: the broker must
 * not start with half its users; the log names the line). The directory must exist.
 */
int sec_cred_store_open(const char *data_dir, struct sec_cred_store **out);
/* Wipe and free. No thread may be using the store. NULL is fine. */
void sec_cred_store_close(struct sec_cred_store *st);

/* Copy user's credential for mech into *out: 0, or -ENOENT. Thread-safe. */
int sec_cred_store_get(struct sec_cred_store *st, enum sec_sasl_mech mech, const char *user,
                       struct sec_scram_cred *out);

/* The credential an unknown user seems to have: the salt is HMAC-SHA-256 of the store's
 * secret and (mech, user), so it is stable across attempts and restarts; iterations are
 * SEC_SCRAM_ITER_DEFAULT; the keys are derived the same way and match no password anyone
 * knows. Thread-safe; the cost is two HMACs whether or not the user exists. */
void sec_cred_store_fake(struct sec_cred_store *st, enum sec_sasl_mech mech, const char *user,
                         struct sec_scram_cred *out);

/* ---- changes: AlterUserScramCredentials, --add-scram ---------------------------------- */

/* Kafka's error codes for one change (AlterUserScramCredentialsResponse results). */
enum sec_cred_error {
    SEC_CRED_OK = 0,
    SEC_CRED_UNSUPPORTED_SASL_MECHANISM = 33,
    SEC_CRED_RESOURCE_NOT_FOUND = 91,
    SEC_CRED_DUPLICATE_RESOURCE = 92,
    SEC_CRED_UNACCEPTABLE_CREDENTIAL = 93,
};

/*
 * One upsertion or deletion. An upsertion carries either a salted password with its salt
 * (the wire form: the admin client salts and hashes, the password never travels) or a
 * clear password (--add-scram, the demo; salt_len 0 means "make a random salt").
 * The store reads the inputs and writes error/error_message.
 */
struct sec_cred_change {
    bool delete; /* deletion of (user, mech); else upsertion */
    const char *user;
    int mech;            /* Kafka's mechanism type code, as received (1, 2, ...) */
    uint32_t iterations; /* upsertion: Kafka's bounds apply */
    const uint8_t *salt;
    size_t salt_len;
    const uint8_t *salted_password; /* either this ... */
    size_t salted_password_len;
    const char *password; /* ... or this (NUL-terminated), never both */
    /* out */
    enum sec_cred_error error;
    const char *error_message; /* static, Kafka's text; NULL when error is SEC_CRED_OK */
};

/*
 * Apply n changes as Kafka's controller does: each change is checked on its own (empty
 * name, unknown mechanism, iterations out of [4096, 16384], a deletion of a credential
 * that does not exist, the same user named twice in one call -> that user's changes all
 * fail with DUPLICATE_RESOURCE); the valid ones are then committed together with one
 * durable file write, or not at all. Returns the number of changes that failed their own
 * check (0..n), or -errno if the file could not be written (then nothing changed and the
 * per-change results are meaningless). Thread-safe; blocks for the fsyncs.
 */
int sec_cred_store_apply(struct sec_cred_store *st, struct sec_cred_change *changes, size_t n);

/* What DescribeUserScramCredentials returns for one user: mechanisms and iterations. */
struct sec_cred_info {
    enum sec_sasl_mech mech;
    uint32_t iterations;
};

/* user's credentials into info[0..cap): the count (0 means the user has none: Kafka's
 * RESOURCE_NOT_FOUND "Attempt to describe a user credential that does not exist").
 * Thread-safe. */
int sec_cred_store_describe(struct sec_cred_store *st, const char *user, struct sec_cred_info *info,
                            size_t cap);

/* Call fn(arg, user, info) once per (user, mechanism), users in byte order. fn runs under
 * the read lock: it must not call back into the store. Returns the number of calls. */
int sec_cred_store_each(struct sec_cred_store *st,
                        void (*fn)(void *arg, const char *user, const struct sec_cred_info *info),
                        void *arg);

/* Number of credentials stored. */
size_t sec_cred_store_count(struct sec_cred_store *st);

/* ---- --add-scram: kafka-storage format's syntax --------------------------------------- */

/*
 * 'SCRAM-SHA-256=[name=alice,password=alice-secret]'
 * 'SCRAM-SHA-512=[name=alice,iterations=8192,salt="MWx2...",saltedpassword="mT0y..."]'
 *
 * Keys: name (required), password or saltedpassword (one of them), salt (base64; required
 * with saltedpassword, random otherwise), iterations (default 4096, Kafka's bounds). A value
 * may be wrapped in double quotes. Values cannot contain ',' (Kafka splits on it).
 */
struct sec_add_scram {
    enum sec_sasl_mech mech;
    char *name;
    char *password; /* NULL when saltedpassword was given */
    uint8_t *salt;  /* NULL: make a random one */
    size_t salt_len;
    uint8_t *salted_password;
    size_t salted_password_len;
    uint32_t iterations;
};

/*
 * Parse one --add-scram argument. 0, or -EINVAL with a message in err[errcap] in Kafka's
 * words ("You must supply 'name' to add-scram", "Unknown SCRAM configurations: foo", ...).
 * Error messages never quote a password or a salted password. Free with
 * sec_add_scram_fini (which wipes the secrets) whether or not it succeeded.
 */
int sec_add_scram_parse(const char *arg, struct sec_add_scram *out, char *err, size_t errcap);
void sec_add_scram_fini(struct sec_add_scram *a);

/* Store a parsed --add-scram in st (one sec_cred_store_apply). 0, or -EINVAL with Kafka's
 * message in err, or -errno if the file could not be written. */
int sec_add_scram_apply(struct sec_cred_store *st, const struct sec_add_scram *a, char *err,
                        size_t errcap);

#endif
