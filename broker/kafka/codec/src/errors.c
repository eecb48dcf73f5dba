/*
 * errors.c - Kafka's error codes by name, for logs (kp_errors.h).
 */
#include "kp_errors.h"

const char *kp_error_name(int16_t code)
{
    switch (code) {
#define KP_ERROR_CASE(name, value)                                                            \
    case value:                                                                               \
        return &(#name)[sizeof("KP_ERR_") - 1];
        KP_ERRORS(KP_ERROR_CASE)
#undef KP_ERROR_CASE
    }
    return "UNKNOWN";
}
