/*
 * sec_principal.h - who a connection is: "User:<name>", from SASL or from a certificate.
 *
 * Kafka's DefaultKafkaPrincipalBuilder gives every connection a principal of type User:
 *
 *   PLAINTEXT, or SSL without a client certificate   User:ANONYMOUS
 *   SASL_PLAINTEXT / SASL_SSL                         User:<the SASL user name>
 *   SSL with a client certificate                     User:<subject DN, RFC 2253>
 *
 * For a certificate the name is what Java's X500Principal.getName() prints, passed through
 * ssl.principal.mapping.rules (only DEFAULT, the identity, is offered here):
 *
 *   certificate subject, in DER order:  C=US, O=acme, OU=eng, CN=alice
 *   principal:                          User:CN=alice,OU=eng,O=acme,C=US
 *
 * Java's rules, reproduced byte for byte (src/principal.c):
 *  - RDNs last to first, joined by ','; the values of a multi-valued RDN joined by '+', in
 *    the certificate's order;
 *  - only CN, C, L, ST, O, OU, STREET, DC and UID are written as keywords; every other
 *    attribute (emailAddress, serialNumber, title, ...) as its dotted OID with the value
 *    as '#' and the lowercase hex of its DER encoding:
 *      1.2.840.113549.1.9.1=#16116d6540616c6963652e6578616d706c65
 *  - string values: ',', '=', '+', '<', '>', '#', ';', '"' and '\' get a backslash
 *    anywhere in the value, a NUL is written \00, leading and trailing spaces (and CRs)
 *    get a backslash each; other bytes are copied (UTF-8 stays UTF-8).
 */
#ifndef SEC_PRINCIPAL_H
#define SEC_PRINCIPAL_H

#include <stddef.h>
#include <stdint.h>

#define SEC_PRINCIPAL_ANONYMOUS "User:ANONYMOUS"
/* Longest principal produced: "User:" and a name of SEC_USER_MAX, or a DN. */
#define SEC_PRINCIPAL_MAX 2048

/* "User:" + user into out[cap]. 0, or -ENOSPC. */
int sec_principal_from_user(const char *user, char *out, size_t cap);

/*
 * The principal of a certificate whose subject name is the DER in der[0..len) (what
 * zc_tls_peer_subject gives): "User:" + the RFC 2253 form above, NUL-terminated in
 * out[cap]. 0, or -EINVAL (not a DER X.509 Name), -ENOSPC (out too small), -ENOMEM.
 */
int sec_principal_from_subject_der(const uint8_t *der, size_t len, char *out, size_t cap);

/* Check ssl.principal.mapping.rules: 0 for "DEFAULT" (surrounding spaces allowed) or NULL,
 * KC_EUNSUPPORTED for any RULE:... list (not implemented here: say so at start-up rather
 * than map names differently from what the operator wrote). */
int sec_principal_mapping_rules_check(const char *rules);

#endif
