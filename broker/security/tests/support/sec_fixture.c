/* sec_fixture.c - see sec_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdlib.h>

#include "kc_test.h"
#include "sec_fixture.h"

static atomic_ulong ct_calls, ct_32, ct_64;

/* Replaces libcrypto's for everything linked into a test binary (the library's own calls
 * bind to the executable's definition). Same contract: 0 if equal, constant time. */
int CRYPTO_memcmp(const void *a, const void *b, size_t len);
int CRYPTO_memcmp(const void *a, const void *b, size_t len)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < len; i++)
        d |= x[i] ^ y[i];
    atomic_fetch_add(&ct_calls, 1);
    if (len == 32)
        atomic_fetch_add(&ct_32, 1);
    if (len == 64)
        atomic_fetch_add(&ct_64, 1);
    return d != 0;
}

void sec_fx_ct_read(struct sec_fx_ct *out)
{
    out->calls = atomic_load(&ct_calls);
    out->calls_32 = atomic_load(&ct_32);
    out->calls_64 = atomic_load(&ct_64);
}

void sec_fx_store_open(struct sec_fx_store *fx)
{
    fx->dir = kc_test_tmpdir();
    assert_int_equal(sec_cred_store_open(fx->dir, &fx->st), 0);
}

void sec_fx_store_close(struct sec_fx_store *fx)
{
    sec_cred_store_close(fx->st);
    fx->st = NULL;
    kc_test_rmdir(fx->dir);
    fx->dir = NULL;
}

void sec_fx_add(struct sec_cred_store *st, enum sec_sasl_mech mech, const char *user,
                const char *password, uint32_t iterations)
{
    struct sec_cred_change ch = {
        .user = user, .mech = mech, .iterations = iterations, .password = password};
    assert_int_equal(sec_cred_store_apply(st, &ch, 1), 0);
    assert_int_equal(ch.error, SEC_CRED_OK);
}
