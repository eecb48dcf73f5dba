/* zc_fixture.h - the file both zeroCopy tests send: bytes anyone can recompute from their
 * position, so a receiver checks every byte without keeping a copy. */
#ifndef ZC_FIXTURE_H
#define ZC_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

static inline uint8_t zc_fx_pattern(size_t i)
{
    return (uint8_t)(i * 131u + (i >> 8) * 7u + (i >> 16));
}

/* Create dir/name holding bytes zc_fx_pattern(0 .. len-1); returns its fd (read-write), or
 * fails the test. */
int zc_fx_pattern_file(const char *dir, const char *name, size_t len);

#endif
