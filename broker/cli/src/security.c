/*
 * security.c - how kafka_cli reaches a broker's SSL, SASL_PLAINTEXT and SASL_SSL listeners:
 * its options, the password, and the one function every connection goes through.
 *
 *   --tls-ca FILE            TLS on; the broker's certificate must chain to FILE and name
 *                            the host of -b (a DNS name, or an IP address in its SAN)
 *   --tls-cert FILE          our certificate, for mutual TLS (the broker's principal for
 *   --tls-key FILE           us is then the certificate's subject); the key may be in the
 *                            certificate's file
 *   --sasl-mechanism M       PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
 *   --sasl-username U
 *   --sasl-password-file F   the password: the file's first line, or else the environment
 *   $KAFKA_CLI_SASL_PASSWORD variable
 *
 * Never a password on the command line: every user of the machine can read a process's
 * arguments (ps, /proc/<pid>/cmdline) and shells keep them in their history. A file (mode
 * 0600) or the environment of one process is visible to its owner only.
 *
 *   cli__open:  connect -> TLS handshake (if --tls-*) -> SASL exchange (if --sasl-*)
 *
 * Each step's failure gets its own sentence, because "connection reset" says nothing to
 * someone who pointed a plaintext client at a TLS port.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_int.h"
#include "kc_common.h"
#include "sec_sasl.h"
#include "zc_tls.h"

#define CLI_PASSWORD_MAX 1024

int cli__read_secret_file(struct cli *cli, const char *opt, const char *path, char **out)
{
    char *text;
    size_t len;
    struct stat st;
    int rc = kc_read_file(path, CLI_PASSWORD_MAX + 2, &text, &len);
    if (rc) {
        fprintf(cli->err, "error: %s %s: %s\n", opt, path,
                rc == KC_ETOOLARGE ? "larger than a password can be" : kc_strerror(rc));
        return CLI_EUSAGE;
    }
    size_t n = strcspn(text, "\r\n");
    text[n] = '\0';
    *out = n ? strdup(text) : NULL;
    explicit_bzero(text, len);
    free(text);
    if (!*out) {
        fprintf(cli->err, "error: %s %s: %s\n", opt, path,
                n ? "out of memory" : "its first line is empty");
        return CLI_EUSAGE;
    }
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        fprintf(cli->err, "warning: %s can be read by other users (chmod 600 it)\n", path);
    return CLI_OK;
}

static int sasl_init(struct cli *cli)
{
    struct cli_security *s = &cli->sec;
    enum sec_sasl_mech mech;
    const char *env = getenv(CLI_PASSWORD_ENV);
    if (!s->sasl_mechanism && !s->sasl_username && !s->sasl_password_file)
        return CLI_OK;
    if (!s->sasl_mechanism || sec_sasl_mech_parse(s->sasl_mechanism, &mech) != 0) {
        fprintf(cli->err,
                "error: --sasl-mechanism must be PLAIN, SCRAM-SHA-256 or "
                "SCRAM-SHA-512%s%s\n",
                s->sasl_mechanism ? ", not " : "", s->sasl_mechanism ? s->sasl_mechanism : "");
        return CLI_EUSAGE;
    }
    if (!s->sasl_username || !*s->sasl_username) {
        fprintf(cli->err, "error: --sasl-mechanism needs --sasl-username\n");
        return CLI_EUSAGE;
    }
    if (s->sasl_password_file)
        return cli__read_secret_file(cli, "--sasl-password-file", s->sasl_password_file,
                                     &s->sasl_password);
    if (!env || !*env || strlen(env) > CLI_PASSWORD_MAX) {
        fprintf(cli->err,
                "error: no SASL password: give --sasl-password-file FILE or set %s "
                "(never on the command line)\n",
                CLI_PASSWORD_ENV);
        return CLI_EUSAGE;
    }
    if (!(s->sasl_password = strdup(env)))
        return CLI_EUSAGE;
    return CLI_OK;
}

static int tls_init(struct cli *cli)
{
    struct cli_security *s = &cli->sec;
    struct zc_tls_config cfg = {.truststore_location = s->tls_ca,
                                .certificate_location = s->tls_cert,
                                .key_location = s->tls_key,
                                .no_ktls = true}; /* a client sends requests, not files */
    char err[512];
    if (!s->tls_ca && !s->tls_cert && !s->tls_key)
        return CLI_OK;
    if (s->tls_key && !s->tls_cert) {
        fprintf(cli->err, "error: --tls-key goes with --tls-cert\n");
        return CLI_EUSAGE;
    }
    if (zc_tls_ctx_new(&cfg, false, &s->tls, err, sizeof(err)) != 0) {
        fprintf(cli->err, "error: TLS: %s\n", err);
        return CLI_EUSAGE;
    }
    return CLI_OK;
}

int cli_security_init(struct cli *cli)
{
    int rc = tls_init(cli);
    return rc ? rc : sasl_init(cli);
}

void cli_security_fini(struct cli *cli)
{
    struct cli_security *s = &cli->sec;
    zc_tls_ctx_free(s->tls);
    s->tls = NULL;
    if (s->sasl_password) {
        explicit_bzero(s->sasl_password, strlen(s->sasl_password));
        free(s->sasl_password);
        s->sasl_password = NULL;
    }
}

/* ---- connecting ------------------------------------------------------------------------------ */

static int tls_failed(const struct cli *cli, const struct np_client *c, int rc, char *err,
                      size_t cap)
{
    const char *hint = rc == -ECONNRESET
                           ? " (the broker closed the connection: is this a TLS port? a "
                             "plaintext listener closes a TLS client)"
                           : "";
    snprintf(err, cap, "TLS handshake with %s failed: %s%s", cli->addr,
             c->errmsg[0] ? c->errmsg : kc_strerror(rc), hint);
    return rc == -ETIMEDOUT ? CLI_ENET : CLI_EAUTH;
}

static int sasl_failed(const struct cli *cli, const struct np_client *c, int rc, char *err,
                       size_t cap)
{
    const char *what = np_is_err(rc) ? np_error_name(np_err_code(rc)) : np_strerror(rc);
    if (!np_is_err(rc) && rc != -EACCES && rc != -EPROTO) {
        snprintf(err, cap, "SASL authentication with %s failed: %s", cli->addr, what);
        return CLI_ENET;
    }
    snprintf(err, cap, "SASL %s authentication as '%s' failed: %s: %s", cli->sec.sasl_mechanism,
             cli->sec.sasl_username, what, c->errmsg[0] ? c->errmsg : np_strerror(rc));
    return CLI_EAUTH;
}

int cli__open(const struct cli *cli, struct np_client *c, char *err, size_t cap)
{
    const struct cli_security *s = &cli->sec;
    int rc = np_client_connect(c, cli->addr, cli->timeout_ms);
    if (rc) {
        snprintf(err, cap, "cannot reach the broker at %s: %s", cli->addr, np_strerror(rc));
        return CLI_ENET;
    }
    if (s->tls && (rc = np_client_start_tls(c, s->tls, NULL)) != 0)
        return tls_failed(cli, c, rc, err, cap);
    if (s->sasl_password &&
        (rc = np_client_sasl_login(c, s->sasl_mechanism, s->sasl_username, s->sasl_password)))
        return sasl_failed(cli, c, rc, err, cap);
    return CLI_OK;
}
