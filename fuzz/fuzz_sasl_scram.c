/*
 * fuzz_sasl_scram.c - libFuzzer target: the SCRAM client-first and client-final parsers
 * and the server state machine (broker/security), the code that reads what an
 * unauthenticated client sends.
 *
 * The input is "<client-first>\n<client-final>" (without a '\n', all of it is the first
 * message). Used three ways:
 *  1. the whole input through both parsers;
 *  2. each half through its parser;
 *  3. a real server (a store with user "user", password "pencil", RFC 7677's salt, and the
 *     RFC's server nonce): step(first), then step(final), then one more step.
 *
 * Properties checked:
 *  - an accepted client-first: gs2 + bare are exactly the input; the name re-escaped is
 *    exactly what the message carried ("n=<saslname>,r="), so the decoding is canonical;
 *    the nonce is printable ASCII without ','; names hold no NUL and fit SEC_USER_MAX;
 *  - an accepted client-final: without_proof is a prefix followed by ",p="; the proof is
 *    1..64 bytes; the nonce lies inside without_proof;
 *  - the server: a step after DONE or after a failure is -EPROTO; DONE is reached only
 *    with a final message (two steps); any failure carries both texts;
 *  - nothing reads out of bounds, no UB, no leak (ASan, UBSan, LSan).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "sec.h"

/* broker/security's test hook (src/sec_int.h): a fixed server nonce, so that a seed's
 * client-final can reach the proof check and DONE. */
void sec__scram_server_set_nonce(struct sec_scram_server *s, const char *nonce);

static struct sec_cred_store *store;
static char store_dir[4096];

static void cleanup(void)
{
    sec_cred_store_close(store);
    kc_rm_rf(store_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    /* W22ZaJ0SNY7soEsUEjb6gQ== (RFC 7677's salt) */
    static const uint8_t salt[16] = {0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e,
                                     0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81};
    struct sec_cred_change ch = {.user = "user",
                                 .mech = SEC_SASL_SCRAM_SHA_256,
                                 .iterations = 4096,
                                 .salt = salt,
                                 .salt_len = 16,
                                 .password = "pencil"};
    if (kc_mkdtemp("fuzz-sasl-", store_dir, sizeof(store_dir)) < 0 ||
        sec_cred_store_open(store_dir, &store) < 0 || sec_cred_store_apply(store, &ch, 1) != 0)
        abort();
    atexit(cleanup);
    kc_log_set_level(KC_LOG_ERROR);
    return 0;
}

static void check_first(const uint8_t *in, size_t len)
{
    struct sec_scram_first m;
    const char *why = NULL;
    if (sec_scram_parse_first(in, len, &m, &why) != 0) {
        if (!why)
            abort();
        return;
    }
    if ((const uint8_t *)m.gs2 != in || m.gs2_len + m.bare_len != len ||
        m.bare != m.gs2 + m.gs2_len)
        abort();
    if (m.user_len == 0 || m.user_len > SEC_USER_MAX || strlen(m.user) != m.user_len ||
        strlen(m.authzid) != m.authzid_len || (m.has_authzid && m.authzid_len == 0))
        abort();
    char esc[3 * SEC_USER_MAX + 8];
    int n = 0;
    /* re-escaping the decoded name gives back the bytes of the message */
    for (size_t i = 0; i < m.user_len; i++) {
        const char *rep = m.user[i] == ',' ? "=2C" : m.user[i] == '=' ? "=3D" : NULL;
        memcpy(esc + n, rep ? rep : &m.user[i], rep ? 3 : 1);
        n += rep ? 3 : 1;
    }
    if (m.bare_len < (size_t)n + 5 || memcmp(m.bare, "n=", 2) != 0 ||
        memcmp(m.bare + 2, esc, (size_t)n) != 0 || memcmp(m.bare + 2 + n, ",r=", 3) != 0)
        abort();
    if (m.nonce != m.bare + 2 + n + 3 || m.nonce_len == 0)
        abort();
    for (size_t i = 0; i < m.nonce_len; i++)
        if (m.nonce[i] < 0x21 || m.nonce[i] > 0x7e || m.nonce[i] == ',')
            abort();
}

static void check_final(const uint8_t *in, size_t len)
{
    struct sec_scram_final m;
    const char *why = NULL;
    if (sec_scram_parse_final(in, len, &m, &why) != 0) {
        if (!why)
            abort();
        return;
    }
    if ((const uint8_t *)m.without_proof != in || m.without_proof_len + 3 > len ||
        memcmp(m.without_proof + m.without_proof_len, ",p=", 3) != 0)
        abort();
    if (m.proof_len == 0 || m.proof_len > SEC_SCRAM_KEY_MAX)
        abort();
    if (m.nonce < m.without_proof || m.nonce + m.nonce_len > m.without_proof + m.without_proof_len)
        abort();
}

static void run_server(const uint8_t *first, size_t first_len, const uint8_t *final,
                       size_t final_len, bool has_final)
{
    struct sec_scram_server *s;
    struct sec_sasl_status st;
    const uint8_t *out;
    size_t n;
    if (sec_scram_server_new(SEC_SASL_SCRAM_SHA_256, store, &s) != 0)
        abort();
    sec__scram_server_set_nonce(s, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    int rc = sec_scram_server_step(s, first, first_len, &out, &n, &st);
    if (rc == SEC_SASL_DONE || (rc < 0 && (!st.client_message || !st.reason)))
        abort();
    if (rc == SEC_SASL_CONTINUE && has_final) {
        rc = sec_scram_server_step(s, final, final_len, &out, &n, &st);
        if (rc == SEC_SASL_CONTINUE || (rc < 0 && (!st.client_message || !st.reason)))
            abort();
        if (rc == SEC_SASL_DONE && (!sec_scram_server_user(s) || n < 3))
            abort();
    }
    if (rc != SEC_SASL_CONTINUE &&
        sec_scram_server_step(s, first, first_len, &out, &n, &st) != -EPROTO)
        abort();
    sec_scram_server_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_first(data, size);
    check_final(data, size);
    const uint8_t *nl = memchr(data, '\n', size);
    size_t first_len = nl ? (size_t)(nl - data) : size;
    const uint8_t *final = nl ? nl + 1 : data + size;
    size_t final_len = nl ? size - first_len - 1 : 0;
    if (nl) {
        check_first(data, first_len);
        check_final(final, final_len);
    }
    run_server(data, first_len, final, final_len, nl != NULL);
    return 0;
}
