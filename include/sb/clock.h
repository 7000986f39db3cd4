/* SPDX-License-Identifier: MIT */
/* Time sources: wall-clock milliseconds for stored timestamps, monotonic for durations. */
#ifndef SB_CLOCK_H
#define SB_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t sb_now_ms(void);
/* Monotonic nanoseconds (CLOCK_MONOTONIC), for measuring durations and deadlines. */
int64_t sb_mono_ns(void);

#endif
