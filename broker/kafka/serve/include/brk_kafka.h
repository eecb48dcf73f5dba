/*
 * brk_kafka.h - the Kafka door: Kafka's own wire protocol, so kcat, librdkafka, kafkajs,
 * kafka-python and confluent-kafka work unchanged, on the main listener beside the native
 * protocol.
 *
 * A Kafka request's byte 4 is the high byte of its api_key, never negative: below 0x80
 * claims the connection for this adapter. main.c attaches it; the adapter keeps one
 * server-wide object, the consumer-group coordinator, freed by its stop.
 */
#ifndef BRK_KAFKA_H
#define BRK_KAFKA_H

struct brk_server;

/* Create the Kafka adapter's state (the group coordinator) and register it with srv
 * (before brk_server_run). 0 or -errno. */
int brk_kafka_attach(struct brk_server *srv);

#endif
