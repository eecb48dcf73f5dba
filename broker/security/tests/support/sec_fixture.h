/* sec_fixture.h - what the broker/security tests share: a counting CRYPTO_memcmp, and a
 * credential store in a fresh directory. */
#ifndef SEC_FIXTURE_H
#define SEC_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "sec.h"

/*
 * The tests link their own CRYPTO_memcmp (support/ct_memcmp.c), which the library's calls
 * bind to instead of libcrypto's: it compares in constant time like the real one and
 * counts calls by length, so a test can prove that a proof or a password was checked
 * with it (and not with memcmp).
 */
struct sec_fx_ct {
    unsigned long calls;    /* every call */
    unsigned long calls_32; /* calls comparing 32 bytes (SHA-256 keys) */
    unsigned long calls_64; /* calls comparing 64 bytes (SHA-512 keys) */
};
void sec_fx_ct_read(struct sec_fx_ct *out);

/* A fresh temp dir with an open store in it; sec_fx_store_close removes both. */
struct sec_fx_store {
    char *dir;
    struct sec_cred_store *st;
};
void sec_fx_store_open(struct sec_fx_store *fx);
void sec_fx_store_close(struct sec_fx_store *fx);
/* Add user's credential for mech from a password (cmocka-asserted). */
void sec_fx_add(struct sec_cred_store *st, enum sec_sasl_mech mech, const char *user,
                const char *password, uint32_t iterations);

#endif
