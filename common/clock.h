/*
 * clock.h - the one set of millisecond clocks and the one nap.
 *
 * clock_now_ms is wall time (Unix ms): use it for what is stored or sent
 * (retry times, dead-letter times, webhook timestamps).  clock_mono_ms never
 * jumps: use it for budgets, deadlines and elapsed times.  Neither can fail
 * with a valid clock id, so they return plain values.
 */
#ifndef DOSSIER_CLOCK_H
#define DOSSIER_CLOCK_H

#include <stdint.h>
#include <time.h>

uint64_t clock_now_ms(void);    /* CLOCK_REALTIME, ms since the Unix epoch */
uint64_t clock_mono_ms(void);   /* CLOCK_MONOTONIC, ms */
/* Sleep about ms milliseconds; a signal ends the nap early (callers re-check
 * their stop flag), which is why this does not loop on EINTR. */
void     clock_sleep_ms(uint64_t ms);
/* The CLOCK_REALTIME instant ms from now, normalised: the absolute deadline
 * pthread_cond_timedwait() takes. */
struct timespec clock_deadline_ms(uint64_t ms);

#endif
