/* test_plain.c - SASL PLAIN: parsing (every malformed form refused), verification against
 * SCRAM credentials of either mechanism, Kafka's texts, constant-time comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "sec.h"
#include "support/sec_fixture.h"

#define INVALID "Authentication failed: Invalid username or password"

static int auth(struct sec_cred_store *st, const char *msg, size_t len, char *user,
                struct sec_sasl_status *status)
{
    return sec_plain_authenticate(st, (const uint8_t *)msg, len, user, status);
}

static void test_plain_parse_splits_three_fields(void **state)
{
    (void)state;
    struct sec_plain_msg m;
    static const char msg[] = "admin\0alice\0pw";
    assert_int_equal(sec_plain_parse((const uint8_t *)msg, sizeof(msg) - 1, &m, NULL), 0);
    assert_int_equal(m.authzid_len, 5);
    assert_memory_equal(m.authzid, "admin", 5);
    assert_int_equal(m.user_len, 5);
    assert_memory_equal(m.user, "alice", 5);
    assert_int_equal(m.password_len, 2);
    assert_memory_equal(m.password, "pw", 2);
}

static void test_plain_malformed_refused_with_reason(void **state)
{
    (void)state;
    static const struct {
        const char *msg;
        size_t len;
        const char *reason;
    } cases[] = {
        {"", 0, "two NUL"},
        {"alice", 5, "two NUL"},
        {"\0alice", 6, "two NUL"},
        {"\0alice\0pw\0", 10, "two NUL"},
        {"\0alice\0pw\0x", 11, "two NUL"},
        {"\0\0pw", 4, "user name is empty"},
        {"\0alice\0", 7, "password is empty"},
        {"\0al\xffice\0pw", 10, "UTF-8"},
        {"\0alice\0p\xc3", 9, "UTF-8"},
        {"\xed\xa0\x80\0alice\0pw", 11, "UTF-8"}, /* a surrogate in the authzid */
    };
    struct sec_fx_store fx;
    sec_fx_store_open(&fx);
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        struct sec_sasl_status st = {0};
        char user[SEC_USER_MAX + 1];
        int rc = auth(fx.st, cases[i].msg, cases[i].len, user, &st);
        if (rc != KC_EMALFORMED || !strstr(st.reason, cases[i].reason))
            fail_msg("case %zu: rc %d, reason %s", i, rc, st.reason ? st.reason : "(null)");
        assert_string_equal(st.client_message,
                            "Authentication failed during authentication due to invalid "
                            "credentials with SASL mechanism PLAIN");
    }
    /* over-long fields */
    char *big = calloc(1, SEC_USER_MAX + 20);
    assert_non_null(big);
    memset(big + 1, 'u', SEC_USER_MAX + 1);
    memcpy(big + SEC_USER_MAX + 2, "\0pw", 3);
    struct sec_plain_msg m;
    const char *why = NULL;
    assert_int_equal(sec_plain_parse((const uint8_t *)big, SEC_USER_MAX + 5, &m, &why),
                     KC_EMALFORMED);
    assert_non_null(strstr(why, "longer"));
    free(big);
    sec_fx_store_close(&fx);
}

/* Every truncated prefix of a valid message is refused: cutting it drops a NUL or empties
 * the password. */
static void test_plain_every_prefix_refused(void **state)
{
    (void)state;
    static const char msg[] = "alice\0alice\0secret";
    struct sec_plain_msg m;
    for (size_t len = 0; len < sizeof(msg) - 1; len++) {
        const char *why = NULL;
        int rc = sec_plain_parse((const uint8_t *)msg, len, &m, &why);
        if (len <= 12) {
            if (rc != KC_EMALFORMED)
                fail_msg("prefix of %zu bytes parsed", len);
        } else {
            assert_int_equal(rc, 0); /* a shorter password: valid, and wrong */
            assert_int_equal(m.password_len, len - 12);
        }
    }
}

static void test_plain_checks_against_either_scram_credential(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    struct sec_sasl_status st;
    char user[SEC_USER_MAX + 1];
    sec_fx_store_open(&fx);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_256, "only256", "pw-a", 4096);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_512, "only512", "pw-b", 8192);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_256, "both", "pw-c", 4096);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_512, "both", "pw-c", 4096);
    static const char m1[] = "\0only256\0pw-a", m2[] = "\0only512\0pw-b", m3[] = "both\0both\0pw-c";
    assert_int_equal(auth(fx.st, m1, sizeof(m1) - 1, user, &st), SEC_SASL_DONE);
    assert_string_equal(user, "only256");
    assert_null(st.client_message);
    assert_int_equal(auth(fx.st, m2, sizeof(m2) - 1, user, &st), SEC_SASL_DONE);
    assert_string_equal(user, "only512");
    assert_int_equal(auth(fx.st, m3, sizeof(m3) - 1, user, &st), SEC_SASL_DONE);
    assert_string_equal(user, "both");
    sec_fx_store_close(&fx);
}

/* Wrong password and unknown user: same code, same text; the authzid is checked only
 * after the password (Kafka's order). */
static void test_plain_failures_use_kafka_texts(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    struct sec_sasl_status st;
    char user[SEC_USER_MAX + 1];
    sec_fx_store_open(&fx);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_256, "alice", "right", 4096);
    static const char wrong[] = "\0alice\0wrong", unknown[] = "\0bob\0right",
                      other_authz[] = "admin\0alice\0right",
                      other_authz_wrong[] = "admin\0alice\0x";
    assert_int_equal(auth(fx.st, wrong, sizeof(wrong) - 1, user, &st), -EACCES);
    assert_string_equal(st.client_message, INVALID);
    assert_non_null(strstr(st.reason, "does not match"));
    assert_int_equal(auth(fx.st, unknown, sizeof(unknown) - 1, user, &st), -EACCES);
    assert_string_equal(st.client_message, INVALID);
    assert_non_null(strstr(st.reason, "no SCRAM credential"));
    assert_int_equal(auth(fx.st, other_authz, sizeof(other_authz) - 1, user, &st), -EPERM);
    assert_string_equal(st.client_message, "Authentication failed: Client requested an "
                                           "authorization id that is different from username");
    assert_int_equal(auth(fx.st, other_authz_wrong, sizeof(other_authz_wrong) - 1, user, &st),
                     -EACCES);
    sec_fx_store_close(&fx);
}

/* The recomputed StoredKey is compared with CRYPTO_memcmp, for a known and an unknown user
 * alike (the unknown one against the fake credential, after a full PBKDF2). */
static void test_plain_compare_is_constant_time_for_all(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    struct sec_fx_ct a, b;
    char user[SEC_USER_MAX + 1];
    sec_fx_store_open(&fx);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_512, "carol", "pw", 4096);
    static const char known[] = "\0carol\0nope", unknown[] = "\0dave\0nope";
    sec_fx_ct_read(&a);
    assert_int_equal(auth(fx.st, known, sizeof(known) - 1, user, NULL), -EACCES);
    sec_fx_ct_read(&b);
    assert_int_equal(b.calls_64 - a.calls_64, 1); /* carol has SHA-512 only */
    assert_int_equal(auth(fx.st, unknown, sizeof(unknown) - 1, user, NULL), -EACCES);
    sec_fx_ct_read(&a);
    assert_int_equal(a.calls_32 - b.calls_32, 1); /* the fake credential is SHA-256 */
    sec_fx_store_close(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_parse_splits_three_fields),
        cmocka_unit_test(test_plain_malformed_refused_with_reason),
        cmocka_unit_test(test_plain_every_prefix_refused),
        cmocka_unit_test(test_plain_checks_against_either_scram_credential),
        cmocka_unit_test(test_plain_failures_use_kafka_texts),
        cmocka_unit_test(test_plain_compare_is_constant_time_for_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
