/*
 * tcore_params.h - threadCore's tunables, in one place.
 */
#ifndef TCORE_PARAMS_H
#define TCORE_PARAMS_H

/* Events collected by one epoll_wait. More ready fds than this are simply reported by the
 * next epoll_wait (level-triggered), so the value bounds latency, not correctness. */
#define TCORE_EPOLL_BATCH 256

/* First sizes of the fd table and the timer heap; both double when full. */
#define TCORE_IO_TABLE_MIN   64
#define TCORE_TIMER_HEAP_MIN 64

/* Linux thread names: 15 characters plus the NUL (TASK_COMM_LEN). */
#define TCORE_THREAD_NAME_MAX 15

#endif
