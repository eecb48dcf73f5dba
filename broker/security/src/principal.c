/*
 * principal.c - "User:" + a certificate subject the way Java's X500Principal.getName()
 * writes it (RFC 2253 form), so that ACLs written for a Kafka cluster match here.
 *
 *   DER (certificate order)            RFC 2253 (Java)
 *   SEQUENCE {                         CN=alice,OU=eng,O=acme,C=US
 *     SET { C  = "US"    }      ----->   ^ last RDN first, ',' between RDNs,
 *     SET { O  = "acme"  }              '+' inside a multi-valued RDN
 *     SET { OU = "eng"   }
 *     SET { CN = "alice" } }
 *
 * OpenSSL's own RFC 2253 printer (XN_FLAG_RFC2253) differs from Java's in the details that
 * matter for string equality: it writes "emailAddress=" where Java writes the OID and the
 * hex DER, and it escapes a different set of characters. So the string is built here, AVA
 * by AVA, with Java's rules (sun.security.x509.AVA.toRFC2253String).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "kc_err.h"
#include "sec_int.h"
#include "sec_principal.h"

/* Bounded output. */
struct out {
    char *p;
    size_t len, cap;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len + n >= o->cap) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* The keywords Java writes in RFC 2253 form; every other attribute becomes its OID. */
static const char *keyword(int nid)
{
    switch (nid) {
    case NID_commonName:
        return "CN";
    case NID_countryName:
        return "C";
    case NID_localityName:
        return "L";
    case NID_stateOrProvinceName:
        return "ST";
    case NID_organizationName:
        return "O";
    case NID_organizationalUnitName:
        return "OU";
    case NID_streetAddress:
        return "STREET";
    case NID_domainComponent:
        return "DC";
    case NID_userId:
        return "UID";
    default:
        return NULL;
    }
}

/* Java's isDerString(value, false): the string types written as text. */
static bool der_string(int type)
{
    return type == V_ASN1_PRINTABLESTRING || type == V_ASN1_T61STRING || type == V_ASN1_IA5STRING ||
           type == V_ASN1_GENERALSTRING || type == V_ASN1_BMPSTRING || type == V_ASN1_UTF8STRING;
}

/* '#' and the lowercase hex of the value's DER encoding (tag, length, contents). */
static void put_hex_der(struct out *o, const ASN1_STRING *v)
{
    ASN1_TYPE *t = ASN1_TYPE_new();
    unsigned char *der = NULL;
    int n = -1;
    if (t && ASN1_TYPE_set1(t, ASN1_STRING_type(v), v) == 1)
        n = i2d_ASN1_TYPE(t, &der);
    ASN1_TYPE_free(t);
    if (n < 0) {
        o->full = true; /* reported as -ENOMEM by the caller's check */
        return;
    }
    put(o, "#", 1);
    for (int i = 0; i < n; i++) {
        char hx[3];
        snprintf(hx, sizeof(hx), "%02x", der[i]);
        put(o, hx, 2);
    }
    OPENSSL_free(der);
}

/* The value's bytes read as UTF-8 the way Java's decoder does: a byte that does not start
 * a valid sequence becomes U+FFFD. Escaped as Java escapes, into buf. */
static size_t java_escape(const unsigned char *s, size_t n, char *buf)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        while (k <= 4 && i + k <= n && !sec__utf8_valid((const char *)s + i, k) && s[i] != 0)
            k++;
        if (s[i] == 0) {
            memcpy(buf + o, "\\00", 3), o += 3, i++;
        } else if (k > 4 || i + k > n) {
            memcpy(buf + o, "\xef\xbf\xbd", 3), o += 3, i++;
        } else {
            if (k == 1 && strchr(",=+<>#;\"\\", s[i]))
                buf[o++] = '\\';
            memcpy(buf + o, s + i, k), o += k, i += k;
        }
    }
    return o;
}

/* Leading and trailing spaces and CRs get a backslash each (after the escaping above). */
static void put_value(struct out *o, const ASN1_STRING *v)
{
    size_t n = (size_t)ASN1_STRING_length(v);
    char buf[4 * 1024 + 16];
    if (n > 1024) {
        o->full = true;
        return;
    }
    size_t len = java_escape(ASN1_STRING_get0_data(v), n, buf);
    size_t lead = 0, trail = len;
    while (lead < len && (buf[lead] == ' ' || buf[lead] == '\r'))
        lead++;
    while (trail > lead && (buf[trail - 1] == ' ' || buf[trail - 1] == '\r'))
        trail--;
    for (size_t i = 0; i < len; i++) {
        if (i < lead || i >= trail)
            put(o, "\\", 1);
        put(o, buf + i, 1);
    }
}

static void put_ava(struct out *o, const X509_NAME_ENTRY *e)
{
    const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
    const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
    const char *kw = keyword(OBJ_obj2nid(obj));
    char oid[128];
    if (!kw) {
        if (OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0) {
            o->full = true;
            return;
        }
        kw = oid;
    }
    puts_(o, kw);
    put(o, "=", 1);
    if (kw == oid || !der_string(ASN1_STRING_type(v)))
        put_hex_der(o, v);
    else
        put_value(o, v);
}

int sec_principal_from_subject_der(const uint8_t *der, size_t len, char *out, size_t cap)
{
    const unsigned char *p = der;
    X509_NAME *name = len <= 65536 ? d2i_X509_NAME(NULL, &p, (long)len) : NULL;
    if (!name || p != der + len) {
        X509_NAME_free(name);
        return -EINVAL;
    }
    struct out o = {out, 0, cap, cap == 0};
    if (cap)
        out[0] = '\0';
    puts_(&o, "User:");
    /* RDNs from the last to the first; the AVAs of one RDN (same set index) in order. */
    for (int i = X509_NAME_entry_count(name) - 1; i >= 0;) {
        int set = X509_NAME_ENTRY_set(X509_NAME_get_entry(name, i)), first = i;
        while (first > 0 && X509_NAME_ENTRY_set(X509_NAME_get_entry(name, first - 1)) == set)
            first--;
        if (o.len > 5)
            put(&o, ",", 1);
        for (int k = first; k <= i; k++) {
            if (k > first)
                put(&o, "+", 1);
            put_ava(&o, X509_NAME_get_entry(name, k));
        }
        i = first - 1;
    }
    X509_NAME_free(name);
    return o.full ? -ENOSPC : 0;
}

int sec_principal_from_user(const char *user, char *out, size_t cap)
{
    int n = snprintf(out, cap, "User:%s", user);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

int sec_principal_mapping_rules_check(const char *rules)
{
    if (!rules)
        return 0;
    size_t n = strlen(rules);
    while (n && (unsigned char)rules[n - 1] <= ' ')
        n--;
    while (n && (unsigned char)*rules <= ' ')
        rules++, n--;
    return n == 7 && memcmp(rules, "DEFAULT", 7) == 0 ? 0 : KC_EUNSUPPORTED;
}
