/*
 * brk_native.h - the native door: the project's own protocol (PROTOCOL.md), commands 0-11,
 * served on every listener beside Kafka's, behind the listener's security: on a SASL
 * listener nothing but the exchange (10, 11) until it succeeds, and Kafka's ACLs on every
 * command (src/auth.c).
 *
 * A native frame starts with a length and the magic 0xCAFE, whose first byte sits where a
 * Kafka request has the high byte of its (non-negative) api_key: byte 4 >= 0x80 claims the
 * connection for this adapter. main.c attaches it; the rest is the core's seam
 * (brk_adapter.h) and services (brk_service.h), exactly as the Kafka adapter uses them.
 */
#ifndef BRK_NATIVE_H
#define BRK_NATIVE_H

struct brk_server;

/* Register the native adapter with srv (before brk_server_run). 0 or -errno. */
int brk_native_attach(struct brk_server *srv);

#endif
