/*
 * hp_fixture.h - a representative /metrics text for the exposition tests: every metric
 * the broker's core exposes (the names kafka_cli top reads), all three types, label
 * values and HELP text that need escaping, two histograms, one of them without labels.
 */
#ifndef HP_FIXTURE_H
#define HP_FIXTURE_H

#include "hp_expo.h"
#include "kc_buf.h"

/* The group name with every character the format escapes: " \ and a newline. */
#define HP_FIXTURE_ODD_GROUP "ops \"night\" \\ shift\nB"

/* Append the exposition to w; the writer's result (0 on success). */
int hp_fixture_write(struct kc_writer *w);

#endif
