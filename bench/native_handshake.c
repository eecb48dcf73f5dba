/*
 * native_handshake.c - bench_native handshake: how many new connections a second the broker
 * accepts, one after another, each as a real client's first moments:
 *
 *   connect --> TLS handshake (--tls-ca) --> SASL login (--sasl-mechanism) --> ping --> close
 *               ECDHE + certificate          SCRAM: the client's PBKDF2,      proves the
 *               check, both sides            the broker's stored keys         login took
 *
 * One connection at a time: the figure is the latency of a whole login turned into a rate,
 * which is what a reconnect storm (every consumer of a group at once) costs per client. The
 * ping makes the broker's side complete: a close straight after the login could leave the
 * broker's last SASL step unrun when the clock stops.
 *
 *   RESULT bench=NAME records=<connections> bytes=0 ... p50_us p99_us (per connection)
 */
#include <errno.h>
#include <stdlib.h>

#include "kc_time.h"
#include "native.h"
#include "np_client.h"

#define HANDSHAKE_MAX 1000000 /* latencies kept: far more than a run of seconds makes */

/* One connection's life; its latency in *ns. */
static int handshake_once(const struct native_opts *o, int64_t *ns)
{
    struct np_client c;
    int64_t t0 = kc_mono_ns();
    int err = native__connect(o, &c);

    if (err != 0)
        return err; /* native__connect said why; nothing to close */
    err = np_client_ping(&c, "hi", 2);
    np_client_close(&c);
    *ns = kc_mono_ns() - t0;
    return err;
}

int native__run_handshake(const struct native_opts *o)
{
    struct bench_result r = { .bench = o->name };
    int64_t *lat = malloc(HANDSHAKE_MAX * sizeof(*lat));
    int64_t start = kc_mono_ns(), end = start + o->ms * 1000000;
    int err = lat != NULL ? 0 : -ENOMEM;

    while (err == 0 && kc_mono_ns() < end && r.nlat < HANDSHAKE_MAX)
        err = handshake_once(o, &lat[r.nlat++]);
    r.elapsed_ns = kc_mono_ns() - start;
    r.records = (int64_t)r.nlat;
    r.lat_ns = lat;
    if (err == 0)
        bench_result_print(stdout, &r);
    free(lat);
    return err;
}
