/*
 * hp.h - the HTTP door's codec: HTTP/1.1 request heads in, responses out. No sockets.
 *
 * The broker answers two operator requests on its metrics port, GET /metrics and
 * GET /health. That needs very little of HTTP/1.1: a request head, never a request body,
 * and responses with a Content-Length. This codec parses exactly that much, and refuses
 * everything else with a result of its own, so the server can answer the right status.
 *
 *   "GET /metrics?x=1 HTTP/1.1\r\n"        request line: method SP target SP version CRLF
 *   "Host: 127.0.0.1:9644\r\n"             header field: name ":" OWS value OWS CRLF
 *   "Accept: text/plain\r\n"
 *   "\r\n"                                 the empty line ends the head
 *    ^-- hp_parse_request() returns the bytes up to here; the next request starts after
 *
 * The parser's contract is picohttpparser's:
 *   > 0          a whole head: that many bytes are consumed, *req filled
 *   KC_ENEEDMORE the buffer ends inside a head that is valid so far: read more, call again
 *   < 0 other    the bytes can never become an acceptable head: one of the KC_EHTTP_* codes
 *                below (or KC_EMALFORMED never; every refusal has its own code), which
 *                hp_status_for() turns into the status to answer, before closing.
 * Every prefix of an acceptable head is KC_ENEEDMORE (tests feed them all), and a refusal
 * comes as early as the bytes allow: a NUL, a bare CR or an over-long line is refused when
 * it arrives, not when the head ends. Limits (struct hp_limits) bound what is buffered
 * before an answer: a head that passes a limit is refused at once (414 / 431).
 *
 * Decisions (the reasons are in README.md, "hostile input"):
 *  - Lines end with CRLF. A bare LF (KC_EHTTP_BARELF) and a CR not followed by LF (KC_EHTTP_BARECR)
 *    are refused: RFC 9112 allows either to be read as a line end, and two parsers that
 *    disagree on where a line ends disagree on which headers exist (request smuggling).
 *  - obs-fold (a field line that starts with SP or HTAB) is refused (KC_EHTTP_OBSFOLD).
 *  - The target must be in origin form ("/path?query"), with RFC 3986 characters only;
 *    a space inside it is KC_EHTTP_TARGETSPACE; a "." or ".." segment (also spelled with %2e)
 *    or a %00 anywhere is KC_EHTTP_UNSAFEPATH. Nothing is percent-decoded.
 *  - Versions HTTP/1.0 and HTTP/1.1; HTTP/1.2..1.9 are read as 1.1 (RFC 9110 2.5);
 *    another major version is KC_EHTTP_VERSION (505); anything not "HTTP/d.d" KC_EHTTP_BADVERSION.
 *  - No request bodies. Transfer-Encoding of any kind is KC_EHTTP_TRANSFERENCODING (501, the
 *    answer for a coding a server does not implement). Content-Length is parsed (one
 *    header, decimal digits only: KC_EHTTP_DUPLENGTH, KC_EHTTP_BADLENGTH) and reported: the server
 *    answers a request whose content_length > 0 with 413 and closes the connection (see
 *    hp_request_refusal), because a body it does not read must not be read as the next
 *    request.
 *  - Host: exactly one in HTTP/1.1 (KC_EHTTP_NOHOST, KC_EHTTP_BADHOST), at most one in 1.0.
 *  - Keep-alive: HTTP/1.1 keeps the connection unless a Connection header lists "close";
 *    HTTP/1.0 closes unless it lists "keep-alive" (and not "close").
 *  - Pipelining: the bytes after the consumed head are the next request's; call again on
 *    them. The server answers in order.
 *  - One empty line before the request line is skipped (RFC 9112 2.2's robustness rule,
 *    for clients that send CRLF after a body); it counts against the line limit.
 *
 * Ownership: every kc_slice in a parsed head points into the caller's buffer and is valid
 * exactly as long as that buffer is. Nothing here allocates; nothing is global; every
 * function may run on any thread.
 *
 * Read next: hp_expo.h (the Prometheus text format), then README.md.
 */
#ifndef HP_H
#define HP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp_params.h"
#include "kc_buf.h"

/* ---- results ----------------------------------------------------------------------------
 * A refused head is one of the project's own codes, KC_EHTTP_* (kc_err.h, kc_strerror);
 * this X-macro maps each to the status to answer with.
 */
#define HP_STATUSES(X)                                                                        \
    X(KC_EHTTP_LINETOOLONG, 414)                                                              \
    X(KC_EHTTP_TOOMANYHEADERS, 431)                                                           \
    X(KC_EHTTP_HEADERSTOOLARGE, 431)                                                          \
    X(KC_EHTTP_BADREQLINE, 400)                                                               \
    X(KC_EHTTP_BADTARGET, 400)                                                                \
    X(KC_EHTTP_TARGETSPACE, 400)                                                              \
    X(KC_EHTTP_UNSAFEPATH, 400)                                                               \
    X(KC_EHTTP_BADVERSION, 400)                                                               \
    X(KC_EHTTP_VERSION, 505)                                                                  \
    X(KC_EHTTP_NUL, 400)                                                                      \
    X(KC_EHTTP_BARECR, 400)                                                                   \
    X(KC_EHTTP_BARELF, 400)                                                                   \
    X(KC_EHTTP_OBSFOLD, 400)                                                                  \
    X(KC_EHTTP_BADHEADER, 400)                                                                \
    X(KC_EHTTP_DUPLENGTH, 400)                                                                \
    X(KC_EHTTP_BADLENGTH, 400)                                                                \
    X(KC_EHTTP_TRANSFERENCODING, 501)                                                         \
    X(KC_EHTTP_NOHOST, 400)                                                                   \
    X(KC_EHTTP_BADHOST, 400)

/* The status to answer a refused request with: the table's, 400 for any other error. */
int hp_status_for(int err);

/* ---- requests ---------------------------------------------------------------------------- */

struct hp_limits {
    size_t max_line;         /* request line bytes, CRLF excluded          -> KC_EHTTP_LINETOOLONG */
    size_t max_headers;      /* header fields (<= HP_HEADERS_MAX)          -> KC_EHTTP_TOOMANYHEADERS */
    size_t max_header_bytes; /* header lines, CRLFs included               -> KC_EHTTP_HEADERSTOOLARGE */
};

#define HP_LIMITS_DEFAULT                                                                     \
    ((struct hp_limits){HP_MAX_LINE_DEFAULT, HP_MAX_HEADERS_DEFAULT, HP_MAX_HEADER_BYTES_DEFAULT})

enum hp_method {
    HP_METHOD_OTHER = 0, /* a valid token we do not serve: answer 405 */
    HP_METHOD_GET,
    HP_METHOD_HEAD,
};

/* One header field as sent: name without the colon, value without surrounding OWS. */
struct hp_header {
    struct kc_slice name;
    struct kc_slice value;
};

struct hp_request {
    enum hp_method method;
    struct kc_slice method_name;  /* the token as sent ("GET", "POST", "get"...) */
    struct kc_slice target;       /* "/metrics?x=1" */
    struct kc_slice path;         /* "/metrics" */
    struct kc_slice query;        /* "x=1"; len -1 (null) when there is no '?' */
    int minor_version;            /* 0 or 1 */
    bool keep_alive;              /* the connection stays open after the answer */
    int64_t content_length;       /* -1: no Content-Length header */
    struct kc_slice host;         /* len -1 when absent (HTTP/1.0 only) */
    size_t nheaders;
    struct hp_header headers[HP_HEADERS_MAX];
};

/*
 * Parse one request head from buf[0..len) under lim (NULL: HP_LIMITS_DEFAULT; a
 * max_headers above HP_HEADERS_MAX is read as HP_HEADERS_MAX). Returns the bytes consumed
 * (> 0) with *req filled, KC_ENEEDMORE, or an HP_E* code (rules above). *req is written
 * only on success; its slices point into buf.
 */
int hp_parse_request(const uint8_t *buf, size_t len, const struct hp_limits *lim,
                     struct hp_request *req);

/*
 * What a parsed request asks that this door refuses before looking at its path: 413 for
 * a body (content_length > 0; answer, then close), else 0. 405 is the router's to decide.
 */
int hp_request_refusal(const struct hp_request *req);

/*
 * The value of the first header named name (ASCII case-insensitive), or NULL. The
 * pointer is into headers[]; the slice inside points into the parsed buffer.
 */
const struct kc_slice *hp_header_get(const struct hp_header *headers, size_t n,
                                     const char *name);

static inline const struct kc_slice *hp_request_header(const struct hp_request *req,
                                                       const char *name)
{
    return hp_header_get(req->headers, req->nheaders, name);
}

/* Does the comma-separated list in value hold token (case-insensitive), as in
 * "Connection: keep-alive, Upgrade"? */
bool hp_list_has(struct kc_slice value, const char *token);

/* ---- Authorization: Basic ------------------------------------------------------------- */

/*
 * Decode strict base64 (RFC 4648 alphabet, '=' padding required, no whitespace, unused
 * bits zero) from in[0..len) into out[0..cap). Returns the decoded length, KC_EMALFORMED,
 * or KC_ETOOLARGE when cap is too small. out is written only on success.
 */
int hp_base64_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* The canonical base64 of in[0..len) into out, which must hold 4 * ((len + 2) / 3) + 1
 * bytes; NUL-terminated. Returns the length written (without the NUL). For a client's
 * "Authorization: Basic" (kafka_cli top). */
size_t hp_base64_encode(const uint8_t *in, size_t len, char *out);

/*
 * The credentials of "Authorization: Basic <base64(user:password)>" (RFC 7617), decoded
 * into buf[0..cap) as two NUL-terminated strings: *user and *pass point into buf.
 * Returns 0; -ENOENT without an Authorization header; KC_EUNSUPPORTED for another scheme;
 * KC_EMALFORMED for two Authorization headers, bad base64, no ':' or a control character
 * (NUL included) in the decoded text; KC_ETOOLARGE when buf is too small.
 *
 * Comparing the result with the configured credentials is the caller's job, and it must
 * compare in constant time (CRYPTO_memcmp or equal): a memcmp that returns at the first
 * differing byte tells an attacker, by its timing, how many leading bytes were right.
 */
int hp_basic_auth(const struct hp_request *req, char *buf, size_t cap, const char **user,
                  const char **pass);

/* ---- responses -------------------------------------------------------------------------- */

struct hp_response {
    int status;               /* 200, 404, ... */
    const char *content_type; /* NULL: no Content-Type header */
    const void *body;
    size_t body_len;          /* always sent as Content-Length */
    bool close;               /* Connection: close (the server closes after writing) */
    bool head_only;           /* the answer to HEAD: every header, no body bytes */
    const char *allow;        /* Allow header (405), or NULL */
    const char *www_authenticate; /* WWW-Authenticate header (401: the challenge, e.g.
                                     'Basic realm="kafka-c"'), or NULL */
    int64_t date;             /* Date header from these Unix seconds; < 0: no Date */
};

/* The reason phrase for status ("Not Found"); "Unknown" outside the table. Static. */
const char *hp_reason(int status);

/* Append the status line and headers, ending with the empty line. Errors are the
 * writer's (sticky; check kc_writer_error once). */
void hp_write_head(struct kc_writer *w, const struct hp_response *resp);
/* hp_write_head, then the body unless head_only. */
void hp_write_response(struct kc_writer *w, const struct hp_response *resp);

/*
 * A whole canned answer with a short text/plain body: 400, 404, 405 (with Allow: GET,
 * HEAD), 408, 413, 414, 431, 501, 503, 505; any other status gets its reason phrase as
 * the body. close asks for Connection: close, and is forced for the statuses that follow
 * a request the server could not read to its end (400, 408, 413, 414, 431, 501, 505):
 * after those the byte stream cannot be trusted to be at a request boundary.
 */
void hp_write_canned(struct kc_writer *w, int status, bool close, bool head_only, int64_t date);

/* Would hp_write_canned force Connection: close for this status? */
bool hp_status_closes(int status);

/* ---- the client side: a response head (for kafka_cli top and the tests) ---------------- */

struct hp_response_head {
    int status;
    int minor_version;
    bool keep_alive;
    int64_t content_length; /* -1: none (the body runs until the server closes) */
    size_t nheaders;
    struct hp_header headers[HP_HEADERS_MAX];
};

/*
 * Parse "HTTP/1.x NNN reason CRLF headers CRLF" from buf[0..len) with the request
 * parser's line rules and limits. Returns the head's length, KC_ENEEDMORE, KC_EMALFORMED
 * (any refusal: a client has no one to answer), or KC_EUNSUPPORTED for a
 * Transfer-Encoding (this door never sends one). *head written only on success.
 */
int hp_parse_response_head(const uint8_t *buf, size_t len, const struct hp_limits *lim,
                           struct hp_response_head *head);

#endif
