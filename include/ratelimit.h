/*
 * ratelimit.h - token buckets by key (core/ratelimit.c): how the router
 * keeps one person or one room from flooding pvebot.
 *
 * A bucket holds at most `burst` tokens and gains `rate` tokens per
 * `window`; each command takes one. A key that is refused learns whether
 * it is the first refusal of its window, so the caller answers and
 * audits once per window, not once per message. Buckets live in memory
 * (a restart forgives everyone) and are owned by one thread.
 */
#ifndef PVEBOT_RATELIMIT_H
#define PVEBOT_RATELIMIT_H

#include <stdint.h>

struct ratelimit;

/* rate tokens per window_ms, at most burst at once. */
struct ratelimit *ratelimit_create(double rate, int64_t window_ms,
		    double burst);
void	ratelimit_free(struct ratelimit *);
/*
 * Takes a token for key at now_ms: 1 when allowed. When refused returns
 * 0 and sets *first to 1 for the first refusal in the current window.
 */
int	ratelimit_take(struct ratelimit *, const char *key, int64_t now_ms,
	    int *first);

#endif
