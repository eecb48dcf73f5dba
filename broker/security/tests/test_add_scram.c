/* test_add_scram.c - `--add-scram`: Kafka's ScramParser cases and messages (its
 * ScramParserTest, case for case where the behaviour is the same), and the credential a
 * parsed argument stores. */
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
#include "sec_int.h"
#include "support/sec_fixture.h"

/* Kafka's ScramParserTest.TEST_SALT ("1lv4pdnw4fwq7notcxm0yy1k7q", as base64) and its
 * TEST_SALTED_PASSWORD. */
#define TEST_SALT_B64 "MWx2NHBkbnc0ZndxN25vdGN4bTB5eTFrN3E="
#define TEST_SP_B64   "mT0yyUUxnlJaC99HXgRTSYlbuqa4FSGtJCJfTMvjYCE="

static void test_add_scram_parses_password_form(void **state)
{
    (void)state;
    struct sec_add_scram a;
    char err[256];
    assert_int_equal(sec_add_scram_parse("SCRAM-SHA-256=[name=alice,password=alice-secret]", &a,
                                         err, sizeof(err)),
                     0);
    assert_int_equal(a.mech, SEC_SASL_SCRAM_SHA_256);
    assert_string_equal(a.name, "alice");
    assert_string_equal(a.password, "alice-secret");
    assert_null(a.salt);
    assert_int_equal(a.iterations, 4096);
    sec_add_scram_fini(&a);
    /* iterations, quoted values, spaces inside a value, surrounding whitespace trimmed */
    assert_int_equal(sec_add_scram_parse("  SCRAM-SHA-512=[name=\"bob\",password=my pass,"
                                         "iterations=8192,salt=\"" TEST_SALT_B64 "\"]\n",
                                         &a, err, sizeof(err)),
                     0);
    assert_int_equal(a.mech, SEC_SASL_SCRAM_SHA_512);
    assert_string_equal(a.name, "bob");
    assert_string_equal(a.password, "my pass");
    assert_int_equal(a.iterations, 8192);
    assert_int_equal(a.salt_len, 26);
    assert_memory_equal(a.salt, "1lv4pdnw4fwq7notcxm0yy1k7q", 26);
    sec_add_scram_fini(&a);
    /* name="" is an empty name (refused later by the store), as Kafka's parser reads it */
    assert_int_equal(
        sec_add_scram_parse("SCRAM-SHA-256=[name=\"\",password=x]", &a, err, sizeof(err)), 0);
    assert_string_equal(a.name, "");
    sec_add_scram_fini(&a);
}

static void test_add_scram_parses_salted_form(void **state)
{
    (void)state;
    struct sec_add_scram a;
    char err[256];
    assert_int_equal(sec_add_scram_parse("SCRAM-SHA-256=[name=alice,salt=\"" TEST_SALT_B64
                                         "\",saltedpassword=\"" TEST_SP_B64 "\"]",
                                         &a, err, sizeof(err)),
                     0);
    assert_null(a.password);
    assert_int_equal(a.salted_password_len, 32);
    assert_int_equal(a.salted_password[0], 0x99); /* -103 in Kafka's byte array */
    assert_int_equal(a.salted_password[31], 0x21);
    sec_add_scram_fini(&a);
}

static void test_add_scram_errors_use_kafka_words(void **state)
{
    (void)state;
    static const struct {
        const char *arg, *msg;
    } cases[] = {
        {"SCRAM-SHA-512", "Failed to find equals sign in SCRAM argument"},
        {"SCRAM-SHA-UNSUPPORTED=[name=a,password=b]",
         "The add-scram mechanism SCRAM-SHA-UNSUPPORTED is not supported."},
        {"PLAIN=[name=a,password=b]", "The add-scram mechanism PLAIN is not supported."},
        {"SCRAM-SHA-256=name=scram-admin,password=scram-user-secret",
         "Expected configuration string to start with ["},
        {"SCRAM-SHA-256=[name=scram-admin,password=scram-user-secret",
         "Expected configuration string to end with ]"},
        {"SCRAM-SHA-256=[password=mypass]", "You must supply 'name' to add-scram"},
        {"SCRAM-SHA-256=[name=bar]",
         "You must supply one of 'password' or 'saltedpassword' to add-scram"},
        {"SCRAM-SHA-256=[name=bob,password=mypass,unknown=something,unknown2=somethingelse]",
         "Unknown SCRAM configurations: unknown, unknown2"},
        {"SCRAM-SHA-256=[name=alice,saltedpassword=\"" TEST_SP_B64 "\"]",
         "You must supply 'salt' with 'saltedpassword' to add-scram"},
        {"SCRAM-SHA-256=[name]", "No equals sign found in SCRAM component 1"},
        {"SCRAM-SHA-256=[]", "No equals sign found in SCRAM component 1"},
        {"SCRAM-SHA-256=[name=a,,password=b]", "No equals sign found in SCRAM component 2"},
        {"SCRAM-SHA-256=[name=a,password=b,salt=not*base64]",
         "Failed to decode given salt: not*base64"},
        {"SCRAM-SHA-256=[name=a,password=b,iterations=lots]",
         "Failed to parse iterations count: lots"},
        {"SCRAM-SHA-256=[name=a,salt=" TEST_SALT_B64 ",saltedpassword=%%%%]",
         "Failed to decode given saltedPassword"},
        {"SCRAM-SHA-256=[name=a,name=b,password=c]", "Duplicate SCRAM configuration: name"},
        {"SCRAM-SHA-256=[name=a,password=b,salt=" TEST_SALT_B64 ",saltedpassword=" TEST_SP_B64 "]",
         "Supply only one of 'password' or 'saltedpassword' to add-scram"},
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        struct sec_add_scram a;
        char err[256];
        int rc = sec_add_scram_parse(cases[i].arg, &a, err, sizeof(err));
        if (rc != -EINVAL || strcmp(err, cases[i].msg) != 0)
            fail_msg("case %zu: rc %d, \"%s\"", i, rc, err);
        sec_add_scram_fini(&a);
    }
}

/* A message never repeats a password or a salted password. */
static void test_add_scram_errors_never_quote_secrets(void **state)
{
    (void)state;
    static const char *const args[] = {
        "hunter2-secret",
        "SCRAM-SHA-256=[name=a,password=hunter2,secret]",
        "SCRAM-SHA-256=[name=a,salt=" TEST_SALT_B64 ",saltedpassword=hunter2-secret]",
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(args); i++) {
        struct sec_add_scram a;
        char err[256];
        assert_int_equal(sec_add_scram_parse(args[i], &a, err, sizeof(err)), -EINVAL);
        assert_null(strstr(err, "hunter2"));
        assert_null(strstr(err, "secret"));
        sec_add_scram_fini(&a);
    }
}

/* Applying: iteration bounds in Kafka's words; the stored credential works for a login;
 * the salted form stores exactly Kafka's derivation. */
static void test_add_scram_apply_stores_usable_credential(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    struct sec_add_scram a;
    char err[256];
    sec_fx_store_open(&fx);
    assert_int_equal(sec_add_scram_parse("SCRAM-SHA-256=[name=a,password=b,iterations=4000]", &a,
                                         err, sizeof(err)),
                     0);
    assert_int_equal(sec_add_scram_apply(fx.st, &a, err, sizeof(err)), -EINVAL);
    assert_string_equal(err,
                        "The 'iterations' value must be >= 4096 for add-scram using SCRAM_SHA_256");
    sec_add_scram_fini(&a);
    assert_int_equal(sec_add_scram_parse("SCRAM-SHA-512=[name=a,password=b,iterations=20000]", &a,
                                         err, sizeof(err)),
                     0);
    assert_int_equal(sec_add_scram_apply(fx.st, &a, err, sizeof(err)), -EINVAL);
    assert_string_equal(
        err, "The 'iterations' value must be <= 16384 for add-scram using SCRAM_SHA_512");
    sec_add_scram_fini(&a);
    assert_int_equal(
        sec_add_scram_parse("SCRAM-SHA-256=[name=\"\",password=x]", &a, err, sizeof(err)), 0);
    assert_int_equal(sec_add_scram_apply(fx.st, &a, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "Username must not be empty");
    sec_add_scram_fini(&a);

    assert_int_equal(sec_add_scram_parse("SCRAM-SHA-256=[name=alice,password=alice-secret]", &a,
                                         err, sizeof(err)),
                     0);
    assert_int_equal(sec_add_scram_apply(fx.st, &a, err, sizeof(err)), 0);
    sec_add_scram_fini(&a);
    char user[SEC_USER_MAX + 1];
    static const char login[] = "\0alice\0alice-secret";
    assert_int_equal(
        sec_plain_authenticate(fx.st, (const uint8_t *)login, sizeof(login) - 1, user, NULL),
        SEC_SASL_DONE);

    assert_int_equal(sec_add_scram_parse("SCRAM-SHA-512=[name=kafka,salt=\"" TEST_SALT_B64
                                         "\",saltedpassword=\"" TEST_SP_B64 "\"]",
                                         &a, err, sizeof(err)),
                     0);
    assert_int_equal(sec_add_scram_apply(fx.st, &a, err, sizeof(err)), 0);
    struct sec_scram_cred got, want;
    assert_int_equal(sec_cred_store_get(fx.st, SEC_SASL_SCRAM_SHA_512, "kafka", &got), 0);
    assert_int_equal(sec_scram_cred_from_salted(SEC_SASL_SCRAM_SHA_512, a.salted_password, 32,
                                                a.salt, a.salt_len, 4096, &want),
                     0);
    assert_memory_equal(&got, &want, sizeof(got));
    sec_add_scram_fini(&a);
    sec_fx_store_close(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_scram_parses_password_form),
        cmocka_unit_test(test_add_scram_parses_salted_form),
        cmocka_unit_test(test_add_scram_errors_use_kafka_words),
        cmocka_unit_test(test_add_scram_errors_never_quote_secrets),
        cmocka_unit_test(test_add_scram_apply_stores_usable_credential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
