/* zc_fixture.c - the patterned file of the zeroCopy tests (see zc_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "kc_common.h"
#include "zc_fixture.h"

int zc_fx_pattern_file(const char *dir, const char *name, size_t len)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = zc_fx_pattern(i);
    assert_int_equal(kc_write_all(fd, buf, len), (ssize_t)len);
    free(buf);
    return fd;
}
