/*
 * kafka_security - a tour of broker/security on a throw-away data directory:
 *
 *   1. --add-scram stores alice's credentials; the file holds no password
 *   2. a SCRAM-SHA-256 login, message by message
 *   3. a wrong password and an unknown user: the same answer at the same step
 *   4. PLAIN checked against the same store, and what it costs
 *   5. ACLs: a few bindings, the decisions and why, and the time per decision
 *   6. the principal of a certificate subject, the way Kafka (Java) writes it
 *
 *   usage: kafka_security [--dir DIR]   (default: a temporary directory, removed at exit)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "kc_common.h"
#include "sec.h"

static void show_file(const char *dir)
{
    char path[4200], *text;
    size_t len;
    snprintf(path, sizeof(path), "%s/%s", dir, SEC_CRED_FILE);
    if (kc_read_file(path, 1 << 20, &text, &len) < 0)
        return;
    printf("   %s:\n", path);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "secret ", 7) == 0) /* the key of unknown users' fake salts */
            printf("     secret <32 random bytes, base64: not shown>\n");
        else
            printf("     %.110s%s\n", line, strlen(line) > 110 ? "..." : "");
    }
    free(text);
}

static int add_scram(struct sec_cred_store *st, const char *arg)
{
    struct sec_add_scram a;
    char err[256];
    int rc = sec_add_scram_parse(arg, &a, err, sizeof(err));
    if (rc == 0)
        rc = sec_add_scram_apply(st, &a, err, sizeof(err));
    sec_add_scram_fini(&a);
    printf("   --add-scram '%s'\n     -> %s\n", arg, rc == 0 ? "stored" : err);
    return rc;
}

/* One SCRAM login; prints the messages when `verbose`. Returns the final step's rc. */
static int scram_login(struct sec_cred_store *st, const char *user, const char *password,
                       bool verbose, struct sec_sasl_status *status)
{
    struct sec_scram_client *c;
    struct sec_scram_server *s;
    const uint8_t *m;
    size_t n;
    if (sec_scram_client_new(SEC_SASL_SCRAM_SHA_256, user, password, &c) < 0 ||
        sec_scram_server_new(SEC_SASL_SCRAM_SHA_256, st, &s) < 0)
        exit(1);
    sec_scram_client_first(c, &m, &n);
    if (verbose)
        printf("   C: %.*s\n", (int)n, (const char *)m);
    int rc = sec_scram_server_step(s, m, n, &m, &n, status);
    if (rc == SEC_SASL_CONTINUE) {
        if (verbose)
            printf("   S: %.*s\n", (int)n, (const char *)m);
        sec_scram_client_final(c, m, n, &m, &n);
        if (verbose)
            printf("   C: %.*s\n", (int)n, (const char *)m);
        rc = sec_scram_server_step(s, m, n, &m, &n, status);
        if (rc == SEC_SASL_DONE && verbose)
            printf("   S: %.*s\n   -> authenticated as User:%s; the client checked the server's "
                   "signature: %s\n",
                   (int)n, (const char *)m, sec_scram_server_user(s),
                   sec_scram_client_verify(c, m, n) == 0 ? "ok" : "BAD");
    }
    sec_scram_client_free(c);
    sec_scram_server_free(s);
    return rc;
}

static void plain_cost(struct sec_cred_store *st)
{
    static const char msg[] = "\0alice\0alice-secret";
    char user[SEC_USER_MAX + 1];
    double t[11];
    for (int i = 0; i < 11; i++) {
        int64_t t0 = kc_mono_ns();
        if (sec_plain_authenticate(st, (const uint8_t *)msg, sizeof(msg) - 1, user, NULL) !=
            SEC_SASL_DONE)
            exit(1);
        t[i] = (double)(kc_mono_ns() - t0);
    }
    char buf[32];
    printf("   PLAIN \"\\0alice\\0alice-secret\" -> User:%s, %s per login (median of 11: one "
           "PBKDF2-SHA-256, 4096 iterations)\n",
           user, kc_fmt_ns(kc_median(t, 11), buf, sizeof(buf)));
}

static void acl_tour(const char *dir)
{
    struct sec_authorizer_config cfg = {.super_users = "User:admin"};
    struct sec_authorizer *a;
    static const struct sec_acl acls[] = {
        {SEC_RES_TOPIC, SEC_PAT_LITERAL, "orders", "User:alice", "*", SEC_OP_WRITE, SEC_PERM_ALLOW},
        {SEC_RES_TOPIC, SEC_PAT_PREFIXED, "orders", "User:bob", "*", SEC_OP_READ, SEC_PERM_ALLOW},
        {SEC_RES_TOPIC, SEC_PAT_LITERAL, "orders-audit", "User:bob", "*", SEC_OP_ALL,
         SEC_PERM_DENY},
    };
    struct sec_acl_result res[3];
    if (sec_authorizer_open(dir, &cfg, &a) < 0 || sec_acl_create(a, acls, 3, res) != 0)
        exit(1);
    for (size_t i = 0; i < 3; i++)
        printf("   + %s %s %s %s %s %s\n", sec_resource_type_name(acls[i].resource_type),
               sec_pattern_type_name(acls[i].pattern_type), acls[i].resource_name,
               acls[i].principal, sec_acl_op_name(acls[i].operation),
               sec_acl_perm_name(acls[i].permission));
    static const struct {
        const char *who, *topic;
        int op;
    } q[] = {
        {"User:alice", "orders", SEC_OP_WRITE},       {"User:alice", "orders", SEC_OP_DESCRIBE},
        {"User:alice", "orders", SEC_OP_READ},        {"User:bob", "orders-eu", SEC_OP_READ},
        {"User:bob", "orders-audit", SEC_OP_READ},    {"User:carol", "payments", SEC_OP_READ},
        {"User:admin", "orders-audit", SEC_OP_DELETE}};
    for (size_t i = 0; i < KC_ARRAY_SIZE(q); i++) {
        enum sec_authz_rule rule;
        int r = sec_authorize(a, q[i].who, "127.0.0.1", (enum sec_acl_op)q[i].op, SEC_RES_TOPIC,
                              q[i].topic, strlen(q[i].topic), &rule);
        printf("   %-10s %-8s %-12s -> %-7s (%s)\n", q[i].who, sec_acl_op_name(q[i].op), q[i].topic,
               r ? "ALLOWED" : "DENIED", sec_authz_rule_name(rule));
    }
    int64_t t0 = kc_mono_ns();
    int allowed = 0;
    for (int i = 0; i < 1000000; i++)
        allowed += sec_authorize(a, "User:alice", "127.0.0.1", SEC_OP_WRITE, SEC_RES_TOPIC,
                                 "orders", 6, NULL);
    printf("   1,000,000 produce checks: %.0f ns each (%d allowed)\n",
           (double)(kc_mono_ns() - t0) / 1e6, allowed);
    sec_authorizer_close(a);
}

static void principal_tour(void)
{
    X509_NAME *name = X509_NAME_new();
    static const char *const rdn[][2] = {
        {"C", "US"}, {"O", "acme"}, {"OU", "eng, platform"}, {"CN", "alice"}};
    for (size_t i = 0; name && i < 4; i++)
        X509_NAME_add_entry_by_txt(name, rdn[i][0], MBSTRING_UTF8, (const unsigned char *)rdn[i][1],
                                   -1, -1, 0);
    unsigned char *der = NULL;
    int n = name ? i2d_X509_NAME(name, &der) : -1;
    char out[SEC_PRINCIPAL_MAX];
    if (n > 0 && sec_principal_from_subject_der(der, (size_t)n, out, sizeof(out)) == 0)
        printf("   subject C=US, O=acme, OU=\"eng, platform\", CN=alice (certificate order)\n"
               "   -> %s\n",
               out);
    OPENSSL_free(der);
    X509_NAME_free(name);
}

int main(int argc, char **argv)
{
    char dir[4096];
    bool temp = !(argc == 3 && strcmp(argv[1], "--dir") == 0);
    if (temp ? kc_mkdtemp("kafka-security-", dir, sizeof(dir)) < 0
             : snprintf(dir, sizeof(dir), "%s", argv[2]) < 0 || kc_mkdir_p(dir, 0700) < 0) {
        fprintf(stderr, "usage: kafka_security [--dir DIR]\n");
        return 2;
    }
    struct sec_cred_store *st;
    if (sec_cred_store_open(dir, &st) < 0)
        return 1;
    printf("1. credentials (data directory %s)\n", dir);
    add_scram(st, "SCRAM-SHA-256=[name=alice,password=alice-secret]");
    add_scram(st, "SCRAM-SHA-512=[name=alice,password=alice-secret,iterations=8192]");
    add_scram(st, "SCRAM-SHA-256=[name=bob,password=x,iterations=1000]");
    show_file(dir);
    printf("\n2. SCRAM-SHA-256 login as alice\n");
    struct sec_sasl_status a, b;
    scram_login(st, "alice", "alice-secret", true, &a);
    printf("\n3. a wrong password, and a user that does not exist\n");
    int ra = scram_login(st, "alice", "guess", false, &a);
    int rb = scram_login(st, "mallory", "guess", false, &b);
    printf("   alice/guess:   %s at the final step: \"%s\"  (log: %s)\n", kc_errname(ra),
           a.client_message, a.reason);
    printf("   mallory/guess: %s at the final step: \"%s\"  (log: %s)\n", kc_errname(rb),
           b.client_message, b.reason);
    printf("\n4. PLAIN against the same store\n");
    plain_cost(st);
    sec_cred_store_close(st);
    printf("\n5. ACLs (super.users=User:admin)\n");
    acl_tour(dir);
    printf("\n6. a certificate's principal\n");
    principal_tour();
    if (temp)
        kc_rm_rf(dir);
    return 0;
}
