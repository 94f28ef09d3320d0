/*
 * ratelimit.c - token buckets by key (ratelimit.h).
 *
 * Buckets are kept in an open hash table that grows as needed; a bucket
 * that has refilled completely is the same as no bucket, so such entries
 * are dropped when the table is rebuilt: memory stays bounded by the
 * number of keys active within one window, and nothing is forgotten that
 * matters.
 */
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "util.h"

struct bucket {
	char	*key;
	double	 tokens;
	int64_t	 at_ms;		/* when tokens was computed */
	int64_t	 refused_ms;	/* first refusal of the window, 0 = none */
};

struct ratelimit {
	double		 rate_per_ms;
	double		 burst;
	int64_t		 window_ms;
	struct bucket	*slots;
	size_t		 nslots;	/* a power of two */
	size_t		 used;
};

struct ratelimit *
ratelimit_create(double rate, int64_t window_ms, double burst)
{
	struct ratelimit	*rl = xcalloc(1, sizeof *rl);

	rl->window_ms = window_ms > 0 ? window_ms : 1000;
	rl->rate_per_ms = rate / (double)rl->window_ms;
	rl->burst = burst >= 1 ? burst : 1;
	rl->nslots = 64;
	rl->slots = xcalloc(rl->nslots, sizeof *rl->slots);
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	size_t	 i;

	if (rl == NULL)
		return;
	for (i = 0; i < rl->nslots; i++)
		free(rl->slots[i].key);
	free(rl->slots);
	free(rl);
}

static uint64_t
hash(const char *s)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void
refill(struct ratelimit *rl, struct bucket *b, int64_t now)
{
	if (now > b->at_ms) {
		b->tokens += (double)(now - b->at_ms) * rl->rate_per_ms;
		if (b->tokens > rl->burst)
			b->tokens = rl->burst;
		b->at_ms = now;
	}
}

static struct bucket *
slot_for(struct bucket *slots, size_t nslots, const char *key)
{
	size_t	 i = (size_t)hash(key) & (nslots - 1);

	while (slots[i].key != NULL && strcmp(slots[i].key, key) != 0)
		i = (i + 1) & (nslots - 1);
	return &slots[i];
}

/* Rebuilds the table, dropping full buckets, doubling when still busy. */
static void
rebuild(struct ratelimit *rl, int64_t now)
{
	struct bucket	*old = rl->slots;
	size_t		 nold = rl->nslots, live = 0, i;

	for (i = 0; i < nold; i++) {
		if (old[i].key == NULL)
			continue;
		refill(rl, &old[i], now);
		if (old[i].tokens < rl->burst ||
		    now - old[i].refused_ms < rl->window_ms)
			live++;
	}
	while (live * 2 >= rl->nslots)
		rl->nslots *= 2;
	rl->slots = xcalloc(rl->nslots, sizeof *rl->slots);
	rl->used = 0;
	for (i = 0; i < nold; i++) {
		if (old[i].key == NULL)
			continue;
		if (old[i].tokens >= rl->burst &&
		    now - old[i].refused_ms >= rl->window_ms) {
			free(old[i].key);
			continue;
		}
		*slot_for(rl->slots, rl->nslots, old[i].key) = old[i];
		rl->used++;
	}
	free(old);
}

int
ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms,
    int *first)
{
	struct bucket	*b;

	*first = 0;
	if ((rl->used + 1) * 4 >= rl->nslots * 3)
		rebuild(rl, now_ms);
	b = slot_for(rl->slots, rl->nslots, key);
	if (b->key == NULL) {
		b->key = xstrdup(key);
		b->tokens = rl->burst;
		b->at_ms = now_ms;
		b->refused_ms = 0;
		rl->used++;
	}
	refill(rl, b, now_ms);
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return 1;
	}
	if (b->refused_ms == 0 || now_ms - b->refused_ms >= rl->window_ms) {
		b->refused_ms = now_ms;
		*first = 1;
	}
	return 0;
}
