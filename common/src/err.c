/* err.c - names and messages for -errno and the project's own error codes. */
#include <errno.h>
#include <string.h>

#include "kc_err.h"

const char *kc_strerror(int err)
{
    switch (err) {
#define KC_ERR_MSG(code, value, msg)                                                          \
    case code:                                                                                \
        return msg;
        KC_ERRORS(KC_ERR_MSG)
#undef KC_ERR_MSG
    case 0:
        return "success";
    }
    if (err < 0 && err > -4096)
        return strerror(-err); /* glibc's strerror returns static strings for known codes */
    return "unknown error";
}

const char *kc_errname(int err)
{
    switch (err) {
#define KC_ERR_NAME(code, value, msg)                                                         \
    case code:                                                                                \
        return #code;
        KC_ERRORS(KC_ERR_NAME)
#undef KC_ERR_NAME
    case 0:
        return "OK";
    }
    if (err < 0 && err > -4096) {
        const char *name = strerrorname_np(-err);
        if (name)
            return name;
    }
    return "EUNKNOWN";
}
