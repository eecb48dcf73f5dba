/*
 * fuzz_sasl_plain.c - libFuzzer target: the SASL PLAIN parser (broker/security), the first
 * thing the broker reads from a client that logs in with PLAIN.
 *
 * Properties checked:
 *  - an accepted message is exactly authzid NUL user NUL password: the three fields tile the
 *    input with the two separators between them, none contains a NUL, the user name and
 *    password are not empty, the names fit SEC_USER_MAX;
 *  - a refused message says why;
 *  - nothing reads out of bounds, no UB (ASan, UBSan).
 * (sec_plain_authenticate is not run here: after parsing it is one PBKDF2 of 4096
 * iterations, a millisecond per input, and test_plain covers it.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sec_plain_msg m;
    const char *why = NULL;
    if (sec_plain_parse(data, size, &m, &why) != 0) {
        if (!why)
            abort();
        return 0;
    }
    const char *p = (const char *)data;
    if (m.authzid != p || m.user != p + m.authzid_len + 1 ||
        m.password != m.user + m.user_len + 1 ||
        m.authzid_len + m.user_len + m.password_len + 2 != size)
        abort();
    if (p[m.authzid_len] != 0 || m.user[m.user_len] != 0)
        abort();
    if (memchr(m.authzid, 0, m.authzid_len) || memchr(m.user, 0, m.user_len) ||
        memchr(m.password, 0, m.password_len))
        abort();
    if (m.user_len == 0 || m.password_len == 0 || m.user_len > SEC_USER_MAX ||
        m.authzid_len > SEC_USER_MAX)
        abort();
    return 0;
}
