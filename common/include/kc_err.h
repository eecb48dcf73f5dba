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
    X(KC_EEMPTY, -1012, "no data at this offset yet")                                         \
    X(KC_ENOFILES, -1013, "out of file descriptors: every open log is in use; retry")

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
