/* test_principal.c - the principal of a client certificate, as Java's X500Principal
 * prints the subject (RFC 2253), for certificates the test makes with the openssl CLI.
 *
 * The expected strings were checked against Java itself: the same certificates read by
 * OpenJDK 17's CertificateFactory, getSubjectX500Principal().getName(), printed these seven
 * lines exactly (see the README). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "kc_common.h"
#include "kc_test.h"
#include "sec.h"

/* Run openssl with argv (no shell: subjects are full of quotes and backslashes). */
static void openssl(char *const argv[])
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", 1);
        if (null >= 0)
            dup2(null, 2);
        execvp("openssl", argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("openssl %s failed (status %d): is the openssl package installed?", argv[1],
                 status);
}

/* A self-signed certificate for subj; its subject's DER into der (malloc'ed). */
static size_t subject_der(const char *dir, const char *subj, bool multivalue, uint8_t **der)
{
    char key[4200], crt[4200];
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(crt, sizeof(crt), "%s/crt.pem", dir);
    if (access(key, F_OK) != 0)
        openssl((char *[]){"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                           "ec_paramgen_curve:P-256", "-out", key, NULL});
    openssl((char *[]){"openssl", "req", "-x509", "-key", key, "-out", crt, "-days", "1", "-utf8",
                       "-subj", (char *)subj, multivalue ? "-multivalue-rdn" : "-utf8", NULL});
    FILE *f = fopen(crt, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    *der = NULL;
    int n = i2d_X509_NAME(X509_get_subject_name(x), der);
    X509_free(x);
    assert_true(n > 0);
    return (size_t)n;
}

static void test_principal_from_certificates_matches_java(void **state)
{
    (void)state;
    static const struct {
        const char *subj;
        bool multivalue;
        const char *principal;
    } cases[] = {
        {"/C=US/O=acme/OU=eng/CN=alice", false, "User:CN=alice,OU=eng,O=acme,C=US"},
        {"/DC=com/DC=example/ST=Vaud/L=Lausanne/street=1 Rue/CN=bob", false,
         "User:CN=bob,STREET=1 Rue,L=Lausanne,ST=Vaud,DC=example,DC=com"},
        /* emailAddress and serialNumber: OIDs with the DER in hex (IA5String, PrintableString) */
        {"/CN=bob/emailAddress=bob@example.com/serialNumber=123", false,
         "User:2.5.4.5=#1303313233,1.2.840.113549.1.9.1=#160f626f62406578616d706c652e636f6d,"
         "CN=bob"},
        /* every special character escaped, '=' and '#' included */
        {"/O=acme/CN=a,b\\+c\"d\\\\e<f>g;h#i=j", false, /* openssl -subj unescapes \+ \\ */
         "User:CN=a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h\\#i\\=j,O=acme"},
        /* leading and trailing spaces, a leading '#' */
        {"/O=  x y  /CN=#hash", false, "User:CN=\\#hash,O=\\ \\ x y\\ \\ "},
        /* a multi-valued RDN: '+', in DER (sorted) order */
        {"/O=acme/CN=alice+UID=7", true, "User:CN=alice+UID=7,O=acme"},
        /* UTF-8 stays UTF-8 */
        {"/CN=j\xc3\xb3zef", false, "User:CN=j\xc3\xb3zef"},
    };
    char *dir = kc_test_tmpdir();
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        uint8_t *der;
        size_t len = subject_der(dir, cases[i].subj, cases[i].multivalue, &der);
        char out[SEC_PRINCIPAL_MAX];
        int rc = sec_principal_from_subject_der(der, len, out, sizeof(out));
        if (rc != 0 || strcmp(out, cases[i].principal) != 0)
            fail_msg("%s: rc %d, got \"%s\", want \"%s\"", cases[i].subj, rc, out,
                     cases[i].principal);
        /* too small a buffer is -ENOSPC, never a cut principal */
        assert_int_equal(sec_principal_from_subject_der(der, len, out, strlen(cases[i].principal)),
                         -ENOSPC);
        assert_int_equal(
            sec_principal_from_subject_der(der, len, out, strlen(cases[i].principal) + 1), 0);
        OPENSSL_free(der);
    }
    kc_test_rmdir(dir);
}

static void test_principal_bad_der_refused(void **state)
{
    (void)state;
    char out[256];
    static const uint8_t junk[] = {0x30, 0x05, 0x31, 0x03, 0x30, 0x01};
    assert_int_equal(sec_principal_from_subject_der(junk, sizeof(junk), out, sizeof(out)), -EINVAL);
    assert_int_equal(sec_principal_from_subject_der(junk, 0, out, sizeof(out)), -EINVAL);
    /* a valid empty name (SEQUENCE {}) followed by a stray byte */
    static const uint8_t trailing[] = {0x30, 0x00, 0x00};
    assert_int_equal(sec_principal_from_subject_der(trailing, 3, out, sizeof(out)), -EINVAL);
    assert_int_equal(sec_principal_from_subject_der(trailing, 2, out, sizeof(out)), 0);
    assert_string_equal(out, "User:");
}

static void test_principal_user_and_mapping_rules(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(sec_principal_from_user("alice", out, sizeof(out)), 0);
    assert_string_equal(out, "User:alice");
    assert_int_equal(sec_principal_from_user("a-much-longer-name", out, sizeof(out)), -ENOSPC);
    assert_int_equal(sec_principal_mapping_rules_check(NULL), 0);
    assert_int_equal(sec_principal_mapping_rules_check(" DEFAULT "), 0);
    assert_int_equal(sec_principal_mapping_rules_check("RULE:^CN=(.*?),.*$/$1/,DEFAULT"),
                     KC_EUNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_principal_from_certificates_matches_java),
        cmocka_unit_test(test_principal_bad_der_refused),
        cmocka_unit_test(test_principal_user_and_mapping_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
