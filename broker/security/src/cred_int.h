/*
 * cred_int.h - the credential table shared by cred_store.c (locking, changes) and
 * cred_file.c (the file format).
 */
#ifndef CRED_INT_H
#define CRED_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sec_int.h"
#include "sec_params.h"
#include "sec_scram.h"

/* One (user, mechanism) credential. */
struct cred_entry {
    char *user;
    struct sec_scram_cred cred;
};

/* An immutable snapshot: entries sorted by (user bytes, mechanism), no duplicates. */
struct cred_table {
    struct cred_entry *e;
    size_t n;
};

int cred__cmp(const char *user_a, int mech_a, const char *user_b, int mech_b);
/* Index of (user, mech) in t, or -1. */
long cred__find(const struct cred_table *t, const char *user, int mech);
/* Wipe and free the entries (and t->e); t itself is the caller's. */
void cred__table_clear(struct cred_table *t);

/* The file's text: header, secret, entries (cred_file.c). */
int cred__serialize(const uint8_t *secret, const struct cred_table *t, struct sec__text *out);
/* Parse the file at path into *t and secret: 0, -ENOENT (no file), KC_ECORRUPT (logged),
 * -errno. */
int cred__load(const char *path, uint8_t *secret, struct cred_table *t);

#define CRED_HEADER "kafka-c scram-credentials 1"

#endif
