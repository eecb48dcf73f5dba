/*
 * np_int.h - what the codec's source files share and nothing outside needs.
 */
#ifndef NP_INT_H
#define NP_INT_H

#include "kc_buf.h"
#include "np.h"

/* mechanisms: i32 count, then count non-null strings. 0 with *m pointing into r's bytes, or
 * KC_EMALFORMED (a negative count, a null name, a name or a count the bytes cannot hold). */
int np__read_mechanisms(struct kc_reader *r, struct np_sasl_mechanisms *m);
/* The same list from C strings. */
void np__write_mechanisms(struct kc_writer *w, const char *const *names, int n);

#endif
