/*
 * kc_err.h - one error space for the whole project.
 *
 * Every function that can fail returns 0 (or a count) on success and a negative number on
 * failure: either -errno straight from the system (-ENOENT, -EIO, ...) or one of the project
 * codes below. The project codes live at -1000 and below, so they can never collide with an
 * errno value (Linux's errno values stay under 200). kc_strerror() names both kinds.
 *
 * Rule: "need more bytes" is not "malformed". A decoder returns KC_ENEEDMORE when the
 * buffer ends before the item does (more bytes may still arrive on a socket), and
 * KC_EMALFORMED when no amount of extra input could make the bytes valid. A caller that
 * already holds a complete frame turns KC_ENEEDMORE into KC_EMALFORMED: within a whole
 * frame, running short means the frame lied about its contents.
 */
#ifndef KC_ERR_H
#define KC_ERR_H

/* X-macro: code, name, message. One table, used by kc_strerror() and kc_errname(). */
#define KC_ERRORS(X)                                                                          \
    X(KC_ENEEDMORE, -1000, "need more bytes")                                                 \
    X(KC_EMALFORMED, -1001, "malformed data")                                                 \
    X(KC_ECRC, -1002, "CRC-32C mismatch")                                                     \
    X(KC_ECORRUPT, -1003, "corrupt on-disk state")                                            \
    X(KC_ETOOLARGE, -1004, "size exceeds a limit")                                            \
    X(KC_EUNSUPPORTED, -1005, "valid but not supported here")                                 \
    X(KC_EBADNAME, -1006, "invalid name")                                                     \
    X(KC_EOFFSET, -1007, "offset out of range")                                               \
    X(KC_ENOTOPIC, -1008, "unknown topic")                                                    \
    X(KC_ENOPARTITION, -1009, "unknown partition")                                            \
    X(KC_ECLOSED, -1010, "shutting down")                                                     \
    X(KC_EFULL, -1011, "index full")                                                          \
    X(KC_EEMPTY, -1012, "no data at this offset yet")                                        \
    X(KC_ENOAPI, -1013, "unknown API key")                                                    \
    X(KC_EBADVERSION, -1014, "API version not supported")                                     \
    X(KC_ENOFILES, -1015, "out of file descriptors: every open log is in use; retry")          \
    /* a Kafka encoder (broker/kafka/codec): a field the version cannot carry is set */     \
    X(KC_ENONDEFAULT, -1016, "a field this version cannot carry holds a non-default value") \
    /* an idempotent producer's batch the log refuses (appendLog's producer state) */        \
    X(KC_ESEQUENCE, -1200, "out-of-order sequence number from an idempotent producer")       \
    X(KC_EFENCED, -1201, "producer epoch older than the one the log knows (fenced)")          \
    /* an HTTP request head that can never become acceptable (the HTTP door's codec) */     \
    X(KC_EHTTP_LINETOOLONG, -1100, "request line longer than the limit")                      \
    X(KC_EHTTP_TOOMANYHEADERS, -1101, "more header fields than the limit")                    \
    X(KC_EHTTP_HEADERSTOOLARGE, -1102, "header section larger than the limit")                \
    X(KC_EHTTP_BADREQLINE, -1103, "request line is not 'method SP target SP version'")        \
    X(KC_EHTTP_BADTARGET, -1104, "target not in origin form, or a character RFC 3986 forbids")\
    X(KC_EHTTP_TARGETSPACE, -1105, "space inside the request target")                         \
    X(KC_EHTTP_UNSAFEPATH, -1106, "'.' or '..' path segment, or %00, in the target")          \
    X(KC_EHTTP_BADVERSION, -1107, "HTTP version is not 'HTTP/d.d'")                           \
    X(KC_EHTTP_VERSION, -1108, "HTTP major version other than 1")                             \
    X(KC_EHTTP_NUL, -1109, "NUL byte in the request head")                                    \
    X(KC_EHTTP_BARECR, -1110, "CR not followed by LF")                                        \
    X(KC_EHTTP_BARELF, -1111, "LF without a CR before it")                                    \
    X(KC_EHTTP_OBSFOLD, -1112, "header line starts with whitespace (obs-fold)")               \
    X(KC_EHTTP_BADHEADER, -1113, "header field without a token name and a colon, or a control character in its value")\
    X(KC_EHTTP_DUPLENGTH, -1114, "more than one Content-Length")                              \
    X(KC_EHTTP_BADLENGTH, -1115, "Content-Length is not a decimal number")                    \
    X(KC_EHTTP_TRANSFERENCODING, -1116, "Transfer-Encoding in a request (no request bodies here)")\
    X(KC_EHTTP_NOHOST, -1117, "HTTP/1.1 request without a Host header")                       \
    X(KC_EHTTP_BADHOST, -1118, "more than one Host header, or an invalid one")

enum kc_err {
#define KC_ERR_ENUM(code, value, msg) code = value,
    KC_ERRORS(KC_ERR_ENUM)
#undef KC_ERR_ENUM
};

/* A message for err (negative errno or a project code); never NULL, always static. */
const char *kc_strerror(int err);

/* The symbolic name ("KC_ECRC", "ENOENT", "EIO", ...); never NULL, always static. */
const char *kc_errname(int err);

#endif
