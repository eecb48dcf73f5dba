/*
 * cli_scram.c - `kafka_cli scram ...`: SCRAM credentials, as Kafka's
 * `kafka-configs.sh --entity-type users --alter --add-config 'SCRAM-SHA-256=[...]'` manages
 * them, over the Kafka protocol (KIP-554: DescribeUserScramCredentials and
 * AlterUserScramCredentials).
 *
 *   scram describe [USER...]                          any broker
 *   scram set USER --mechanism M [--iterations N]     the controller
 *   scram delete USER --mechanism M                   the controller
 *
 * The password never leaves this process. As Kafka's AdminClient does, the client draws a
 * random salt and computes the salted password itself,
 *
 *   SaltedPassword = Hi(password, salt, iterations)      PBKDF2-HMAC-SHA-256/512
 *
 * and sends {salt, iterations, SaltedPassword}; the broker derives StoredKey and ServerKey
 * from it and keeps those (broker/security/include/sec_scram.h draws the whole scheme).
 * SaltedPassword is a secret too (whoever has it can log in), so the request travels best
 * inside TLS, and every copy here is wiped.
 *
 * Where the password comes from: --password-file F (its first line) or the environment
 * variable KAFKA_CLI_SCRAM_PASSWORD. Never the command line, where every user of the
 * machine can read it (ps, /proc/PID/cmdline) and the shell keeps it in its history.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli_admin.h"
#include "kc_common.h"
#include "sec_scram.h"

#define SCRAM_PASSWORD_ENV "KAFKA_CLI_SCRAM_PASSWORD"
#define SCRAM_SALT_BYTES   32 /* Kafka's tool draws a random salt of about this size */

static const char *mech_name(int8_t m)
{
    return m == SEC_SASL_SCRAM_SHA_256   ? "SCRAM-SHA-256"
           : m == SEC_SASL_SCRAM_SHA_512 ? "SCRAM-SHA-512"
                                         : "UNKNOWN";
}

static int mech_parse(struct cli_admin *a, const char *s, enum sec_sasl_mech *m)
{
    if (s && sec_sasl_mech_parse(s, m) == 0 && sec_scram_is_scram(*m))
        return CLI_OK;
    return cli__admin_usage(a, "--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512%s%s",
                            s ? ", not " : "", s ? s : "");
}

/* ---- describe ------------------------------------------------------------------------------ */

static void human_user(struct cli_admin *a,
                       const struct kp_describe_user_scram_credentials_resp_result *u)
{
    fputs("SCRAM credential configs for user-principal '", a->cli->out);
    cli_escape(a->cli->out, u->user.p, u->user.len);
    fputs("' are ", a->cli->out);
    for (int32_t i = 0; i < u->credential_infos.n; i++)
        fprintf(a->cli->out, "%s%s=iterations=%d", i ? ", " : "",
                mech_name(u->credential_infos.v[i].mechanism), u->credential_infos.v[i].iterations);
    fputc('\n', a->cli->out);
}

static void json_user(struct cli_json *j,
                      const struct kp_describe_user_scram_credentials_resp_result *u)
{
    cli__json_open(j, '{');
    cli__json_kslice(j, "user", u->user);
    cli__json_key(j, "credentials");
    cli__json_open(j, '[');
    for (int32_t i = 0; i < u->credential_infos.n; i++) {
        cli__json_open(j, '{');
        cli__json_kstr(j, "mechanism", mech_name(u->credential_infos.v[i].mechanism));
        cli__json_kint(j, "iterations", u->credential_infos.v[i].iterations);
        cli__json_close(j, '}');
    }
    cli__json_close(j, ']');
    cli__json_kstr(j, "error", u->error_code ? cli__kerr_name(u->error_code) : NULL);
    cli__json_close(j, '}');
}

static int describe_print(struct cli_admin *a,
                          const struct kp_describe_user_scram_credentials_resp *r)
{
    int rc = CLI_OK;
    char what[300];
    if (r->error_code)
        return cli__kerr(&a->k, "cannot describe SCRAM credentials", r->error_code,
                         r->error_message);
    if (a->json) {
        cli__json_list_begin(&a->j, "users");
    }
    for (int32_t i = 0; i < r->results.n; i++) {
        const struct kp_describe_user_scram_credentials_resp_result *u = &r->results.v[i];
        if (a->json)
            json_user(&a->j, u);
        else if (!u->error_code)
            human_user(a, u);
        if (!u->error_code)
            continue;
        snprintf(what, sizeof(what), "user '%.*s'", (int)KC_MIN(KC_MAX(u->user.len, 0), 256),
                 u->user.p);
        rc = cli__kerr(&a->k, what, u->error_code, u->error_message);
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    }
    return rc;
}

static int scram_describe(struct cli_admin *a, int argc, char **argv)
{
    struct kp_describe_user_scram_credentials_req req;
    struct kp_describe_user_scram_credentials_req_user_name users[CLI_OPTLIST_MAX];
    struct cli_kconn *conn;
    struct cli_kresp resp;
    char *pos[CLI_OPTLIST_MAX];
    int n, rc;
    int16_t v;
    if ((rc = cli__admin_args(a, argc, argv, NULL, pos, 0, CLI_OPTLIST_MAX, &n)) || a->help ||
        (rc = cli__admin_open(a)) || (rc = cli__kafka_any(&a->k, &conn)) ||
        (rc = cli__kafka_version(&a->k, conn, KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS, 0, 0, &v)))
        return rc;
    kp_init(&kp_describe_user_scram_credentials_req_schema, &req);
    for (int i = 0; i < n; i++)
        users[i].name = kp_slice_str(pos[i]);
    KP_SET(req.users, n ? n : -1, users); /* null: every user */
    if ((rc = cli__kafka_call(&a->k, conn, KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS, v, &req, &resp)))
        return rc;
    rc = describe_print(a, resp.r.msg);
    cli__kresp_fini(&resp);
    return rc;
}

/* ---- set and delete ------------------------------------------------------------------------- */

/* One AlterUserScramCredentials with the request already built; prints the outcome. */
static int alter_call(struct cli_admin *a, const struct kp_alter_user_scram_credentials_req *req,
                      const char *user, const char *mech, int32_t iterations)
{
    char what[300];
    for (;;) {
        struct cli_kconn *conn;
        struct cli_kresp resp;
        int16_t v;
        int rc = cli__kafka_controller(&a->k, &conn);
        if (rc ||
            (rc = cli__kafka_version(&a->k, conn, KP_API_ALTER_USER_SCRAM_CREDENTIALS, 0, 0, &v)) ||
            (rc = cli__kafka_call(&a->k, conn, KP_API_ALTER_USER_SCRAM_CREDENTIALS, v, req, &resp)))
            return rc;
        const struct kp_alter_user_scram_credentials_resp *r = resp.r.msg;
        int16_t code = r->results.n == 1 ? r->results.v[0].error_code : KP_ERR_UNKNOWN_SERVER_ERROR;
        if (code && cli__kafka_retry(&a->k, code)) {
            cli__kresp_fini(&resp);
            continue;
        }
        snprintf(what, sizeof(what), "cannot change the %s credential of user '%s'", mech, user);
        rc = code ? cli__kerr(&a->k, what, code,
                              r->results.n == 1 ? r->results.v[0].error_message
                                                : (struct kc_slice){NULL, -1})
                  : CLI_OK;
        cli__kresp_fini(&resp);
        if (!code && a->json) {
            cli__json_open(&a->j, '{');
            cli__json_kstr(&a->j, "user", user);
            cli__json_kstr(&a->j, "mechanism", mech);
            cli__json_kstr(&a->j, "action", iterations ? "set" : "deleted");
            if (iterations)
                cli__json_kint(&a->j, "iterations", iterations);
            cli__json_close(&a->j, '}');
        } else if (!code) {
            fprintf(a->cli->out, "Completed updating config for user %s.\n", user);
        }
        return rc;
    }
}

/* The new password: --password-file, else the environment. Wipe and free it. */
static int new_password(struct cli_admin *a, const char *file, char **out)
{
    const char *env = getenv(SCRAM_PASSWORD_ENV);
    if (file)
        return cli__read_secret_file(a->cli, "--password-file", file, out);
    if (!env || !*env)
        return cli__admin_usage(a,
                                "no password: give --password-file FILE or set %s (never "
                                "on the command line)",
                                SCRAM_PASSWORD_ENV);
    return (*out = strdup(env)) ? CLI_OK : CLI_EUSAGE;
}

/* Salt and SaltedPassword for password: into salt[SCRAM_SALT_BYTES] and salted[]. */
static int salt_password(struct cli_admin *a, enum sec_sasl_mech m, const char *password,
                         int32_t iterations, uint8_t *salt, uint8_t *salted)
{
    ssize_t got = getrandom(salt, SCRAM_SALT_BYTES, 0);
    if (got != SCRAM_SALT_BYTES) {
        fprintf(a->cli->err, "error: no random salt: %s\n",
                got < 0 ? kc_strerror(-errno) : "short read");
        return CLI_EUSAGE;
    }
    if (sec_scram_salted_password(m, password, strlen(password), salt, SCRAM_SALT_BYTES,
                                  (uint32_t)iterations, salted) != 0) {
        fprintf(a->cli->err, "error: PBKDF2 failed (libcrypto)\n");
        return CLI_EUSAGE;
    }
    return CLI_OK;
}

static int scram_set(struct cli_admin *a, int argc, char **argv)
{
    const char *mech = NULL, *iter = NULL, *file = NULL;
    struct kp_alter_user_scram_credentials_req req;
    struct kp_alter_user_scram_credentials_req_scram_credential_upsertion up;
    uint8_t salt[SCRAM_SALT_BYTES], salted[SEC_SCRAM_KEY_MAX];
    enum sec_sasl_mech m;
    char *pos[1], *password = NULL;
    int n, rc;
    int64_t iterations = SEC_SCRAM_ITER_DEFAULT;
    const struct cli_opt opts[] = {{"mechanism", &mech, NULL, NULL},
                                   {"iterations", &iter, NULL, NULL},
                                   {"password-file", &file, NULL, NULL},
                                   {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 1, 1, &n)) || a->help ||
        (rc = mech_parse(a, mech, &m)) ||
        (iter && (rc = cli__admin_num(a, "--iterations", iter, SEC_SCRAM_ITER_MIN,
                                      SEC_SCRAM_ITER_MAX, &iterations))) ||
        (rc = new_password(a, file, &password)))
        return rc;
    rc = salt_password(a, m, password, (int32_t)iterations, salt, salted);
    explicit_bzero(password, strlen(password));
    free(password);
    if (rc == CLI_OK && (rc = cli__admin_open(a)) == CLI_OK) {
        kp_init(&kp_alter_user_scram_credentials_req_schema, &req);
        up = (struct kp_alter_user_scram_credentials_req_scram_credential_upsertion){
            kp_slice_str(pos[0]),
            (int8_t)m,
            (int32_t)iterations,
            {salt, SCRAM_SALT_BYTES},
            {salted, (int32_t)sec_scram_key_len(m)}};
        KP_SET(req.upsertions, 1, &up);
        rc = alter_call(a, &req, pos[0], mech_name((int8_t)m), (int32_t)iterations);
    }
    explicit_bzero(salted, sizeof(salted));
    return rc;
}

static int scram_delete(struct cli_admin *a, int argc, char **argv)
{
    const char *mech = NULL;
    struct kp_alter_user_scram_credentials_req req;
    struct kp_alter_user_scram_credentials_req_scram_credential_deletion del;
    enum sec_sasl_mech m;
    char *pos[1];
    int n, rc;
    const struct cli_opt opts[] = {{"mechanism", &mech, NULL, NULL}, {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 1, 1, &n)) || a->help ||
        (rc = mech_parse(a, mech, &m)) || (rc = cli__admin_open(a)))
        return rc;
    kp_init(&kp_alter_user_scram_credentials_req_schema, &req);
    del = (struct kp_alter_user_scram_credentials_req_scram_credential_deletion){
        kp_slice_str(pos[0]), (int8_t)m};
    KP_SET(req.deletions, 1, &del);
    return alter_call(a, &req, pos[0], mech_name((int8_t)m), 0);
}

static const struct cli_verb scram_verbs[] = {
    {"describe", "[<user>...]", "users' SCRAM mechanisms and iteration counts (no secrets)",
     "with no user: every user that has a credential", scram_describe},
    {"set",
     "<user> --mechanism SCRAM-SHA-256|SCRAM-SHA-512 [--iterations N] "
     "[--password-file F]",
     "create or replace a credential; the password is salted and hashed here, never sent",
     "--iterations N      PBKDF2 rounds, 4096 (default) to 16384\n"
     "--password-file F   the password is F's first line; without it, the environment\n"
     "                    variable " SCRAM_PASSWORD_ENV " (never on the command line)",
     scram_set},
    {"delete", "<user> --mechanism SCRAM-SHA-256|SCRAM-SHA-512", "remove a credential", NULL,
     scram_delete},
};

const struct cli_family cli__scram_family = {
    "scram", "kafka-configs.sh --entity-type users (SCRAM credentials)", scram_verbs,
    KC_ARRAY_SIZE(scram_verbs)};
