/*
 * metrics.c - the registry behind include/metrics.h.
 *
 * One table declares every family. A family's series live in a fixed
 * array: a writer finds its series by scanning the published ones
 * (an acquire load of the count), and only when it is new takes the
 * family's mutex to fill the next slot and publish it (a release store),
 * so updates of existing series never lock. Histograms keep one count per
 * bucket (made cumulative when rendered) and their sum in microseconds.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "util.h"

enum metric_type { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

/* Upper bounds of the histogram buckets, in seconds; +Inf follows. */
static const double bucket_le[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25, 0.5, 1, 2.5, 5, 10, 30 };
#define NBUCKETS	(sizeof bucket_le / sizeof bucket_le[0])

struct series {
	char			 l1[METRIC_MAX_LABEL];
	char			 l2[METRIC_MAX_LABEL];
	_Atomic int64_t		 value;		/* counter, gauge, count */
	_Atomic int64_t		 sum_us;	/* histogram */
	_Atomic int64_t		 buckets[NBUCKETS];
};

struct family {
	const char		*name;
	enum metric_type	 type;
	const char		*help;
	const char		*label1;	/* NULL: no labels */
	const char		*label2;
	const char		*seed;		/* label1 values shown at 0 */
	pthread_mutex_t		 lock;
	_Atomic size_t		 n;
	struct series		 v[METRIC_MAX_SERIES];
};

#define FAM(id, n, t, h, l1, l2, seed) \
	[id] = { n, t, h, l1, l2, seed, PTHREAD_MUTEX_INITIALIZER, 0, {{{0}}} }

static struct family families[M_NMETRICS] = {
	FAM(M_COMMANDS, "pvebot_commands_total", MT_COUNTER,
	    "Chat commands by result: allowed (run), approval (sent to "
	    "approvers), lookup (guest looked up first), refused (by the "
	    "policy), invalid, late (sent while pvebot was down), "
	    "rate_limited.", "result", NULL,
	    "allowed,approval,lookup,refused,invalid,late,rate_limited"),
	FAM(M_APPROVALS, "pvebot_approvals_total", MT_COUNTER,
	    "Approve and deny attempts by outcome.", "outcome", NULL,
	    "recorded,complete,denied,refused,expired"),
	FAM(M_CONNECTOR_UP, "pvebot_connector_up", MT_GAUGE,
	    "1 while the chat platform answers its poll or gateway, 0 after "
	    "a failure.", "platform", NULL, NULL),
	FAM(M_CONNECTOR_POLL,
	    "pvebot_connector_last_poll_success_timestamp_seconds", MT_GAUGE,
	    "UNIX time of the last successful poll (Telegram getUpdates, "
	    "Matrix sync) or gateway heartbeat (Discord).", "platform", NULL,
	    NULL),
	FAM(M_PVE_LATENCY, "pvebot_proxmox_request_duration_seconds",
	    MT_HISTOGRAM, "Time of one Proxmox VE API request, answered or "
	    "not.", NULL, NULL, NULL),
	FAM(M_PVE_ERRORS, "pvebot_proxmox_request_errors_total", MT_COUNTER,
	    "Proxmox VE API requests that failed, by reason: network (no "
	    "complete answer), tls (certificate refused), http (an error "
	    "status).", "reason", NULL, "network,tls,http"),
	FAM(M_SQLITE_COMMIT, "pvebot_sqlite_commit_duration_seconds",
	    MT_HISTOGRAM, "Time of one SQLite COMMIT.", NULL, NULL, NULL),
	FAM(M_HTTP_REQUESTS, "pvebot_http_requests_total", MT_COUNTER,
	    "Requests to pvebot's listener by route and status code.",
	    "route", "code", NULL),
	FAM(M_WEBHOOK_EVENTS, "pvebot_webhook_events_total", MT_COUNTER,
	    "Webhook notifications by source and what became of them: "
	    "alert, digest (a line in the daily digest), silenced, "
	    "resolved (a success that closed an earlier failure), "
	    "duplicate, updated (an Alertmanager group changed).", "source",
	    "result", NULL),
	FAM(M_AM_SILENCES, "pvebot_alertmanager_silences_total", MT_COUNTER,
	    "Silences asked of Alertmanager from chat, by result.", "result",
	    NULL, "created,failed,retried"),
	FAM(M_HEARTBEAT, "pvebot_heartbeat_pings_total", MT_COUNTER,
	    "Dead-man pings: sent, failed (the URL did not answer 2xx), "
	    "withheld (pvebot was not healthy).", "result", NULL,
	    "sent,failed,withheld"),
};

int64_t
metric_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
label_copy(char dst[METRIC_MAX_LABEL], const char *src)
{
	snprintf(dst, METRIC_MAX_LABEL, "%s", src != NULL ? src : "");
}

static int
series_is(const struct series *s, const char *l1, const char *l2)
{
	return strncmp(s->l1, l1 != NULL ? l1 : "", METRIC_MAX_LABEL - 1) ==
	    0 && strncmp(s->l2, l2 != NULL ? l2 : "", METRIC_MAX_LABEL - 1) ==
	    0;
}

/* The series of these label values, made when new; never NULL. */
static struct series *
series_get(struct family *f, const char *l1, const char *l2)
{
	size_t	 i, n = atomic_load_explicit(&f->n, memory_order_acquire);

	for (i = 0; i < n; i++) {
		if (series_is(&f->v[i], l1, l2))
			return &f->v[i];
	}
	pthread_mutex_lock(&f->lock);
	n = atomic_load_explicit(&f->n, memory_order_relaxed);
	for (i = 0; i < n; i++) {
		if (series_is(&f->v[i], l1, l2)) {
			pthread_mutex_unlock(&f->lock);
			return &f->v[i];
		}
	}
	if (n == METRIC_MAX_SERIES - 1) {
		/* The last slot is "other", for every further value. */
		l1 = "other";
		l2 = l2 != NULL ? "other" : NULL;
		for (i = 0; i < n; i++) {
			if (series_is(&f->v[i], l1, l2)) {
				pthread_mutex_unlock(&f->lock);
				return &f->v[i];
			}
		}
	} else if (n == METRIC_MAX_SERIES) {
		pthread_mutex_unlock(&f->lock);
		return &f->v[n - 1];
	}
	label_copy(f->v[n].l1, l1);
	label_copy(f->v[n].l2, l2);
	atomic_store_explicit(&f->n, n + 1, memory_order_release);
	pthread_mutex_unlock(&f->lock);
	return &f->v[n];
}

void
metric_inc(enum metric_id id, const char *label)
{
	metric_inc2(id, label, NULL);
}

void
metric_inc2(enum metric_id id, const char *l1, const char *l2)
{
	atomic_fetch_add(&series_get(&families[id], l1, l2)->value, 1);
}

void
metric_set(enum metric_id id, const char *label, int64_t value)
{
	atomic_store(&series_get(&families[id], label, NULL)->value, value);
}

void
metric_connector(const char *platform, int ok)
{
	struct timespec	 ts;

	metric_set(M_CONNECTOR_UP, platform, ok ? 1 : 0);
	if (ok) {
		clock_gettime(CLOCK_REALTIME, &ts);
		metric_set(M_CONNECTOR_POLL, platform, (int64_t)ts.tv_sec);
	}
}

void
metric_observe(enum metric_id id, const char *label, double seconds)
{
	struct series	*s = series_get(&families[id], label, NULL);
	size_t		 i;

	if (seconds < 0)
		seconds = 0;
	for (i = 0; i < NBUCKETS && seconds > bucket_le[i]; i++)
		;
	if (i < NBUCKETS)
		atomic_fetch_add(&s->buckets[i], 1);
	atomic_fetch_add(&s->sum_us, (int64_t)(seconds * 1e6 + 0.5));
	atomic_fetch_add(&s->value, 1);
}

int64_t
metric_get(enum metric_id id, const char *l1, const char *l2)
{
	struct family	*f = &families[id];
	size_t		 i, n = atomic_load_explicit(&f->n,
			    memory_order_acquire);

	for (i = 0; i < n; i++) {
		if (series_is(&f->v[i], l1, l2))
			return atomic_load(&f->v[i].value);
	}
	return 0;
}

void
metric_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			buf_puts(b, "\\\\");
		else if (*s == '"')
			buf_puts(b, "\\\"");
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_append(b, s, 1);
	}
}

static void
labels(struct buf *b, const struct family *f, const struct series *s,
    const char *le)
{
	int	 any = 0;

	if (f->label1 == NULL && le == NULL)
		return;
	buf_puts(b, "{");
	if (f->label1 != NULL) {
		buf_printf(b, "%s=\"", f->label1);
		metric_escape(b, s->l1);
		buf_puts(b, "\"");
		any = 1;
	}
	if (f->label2 != NULL) {
		buf_printf(b, ",%s=\"", f->label2);
		metric_escape(b, s->l2);
		buf_puts(b, "\"");
	}
	if (le != NULL)
		buf_printf(b, "%sle=\"%s\"", any ? "," : "", le);
	buf_puts(b, "}");
}

/* Label-less families and seeded values exist from the start. */
static void
seed(struct family *f)
{
	char	*list, *p, *v;

	if (f->label1 == NULL) {
		series_get(f, NULL, NULL);
		return;
	}
	if (f->seed == NULL || f->label2 != NULL)
		return;
	p = list = xstrdup(f->seed);
	while ((v = strsep(&p, ",")) != NULL)
		series_get(f, v, NULL);
	free(list);
}

void
metric_render(struct buf *b)
{
	size_t	 i, k, j, n;
	char	 le[32];

	for (i = 0; i < M_NMETRICS; i++) {
		struct family	*f = &families[i];

		seed(f);
		buf_printf(b, "# HELP %s ", f->name);
		metric_escape(b, f->help);
		buf_printf(b, "\n# TYPE %s %s\n", f->name,
		    f->type == MT_COUNTER ? "counter" : f->type == MT_GAUGE ?
		    "gauge" : "histogram");
		n = atomic_load_explicit(&f->n, memory_order_acquire);
		for (k = 0; k < n; k++) {
			struct series	*s = &f->v[k];
			int64_t		 cum = 0, count;

			if (f->type != MT_HISTOGRAM) {
				buf_puts(b, f->name);
				labels(b, f, s, NULL);
				buf_printf(b, " %lld\n", (long long)
				    atomic_load(&s->value));
				continue;
			}
			/* The count first, so no bucket ever exceeds it. */
			count = atomic_load(&s->value);
			for (j = 0; j < NBUCKETS; j++) {
				cum += atomic_load(&s->buckets[j]);
				snprintf(le, sizeof le, "%g", bucket_le[j]);
				buf_printf(b, "%s_bucket", f->name);
				labels(b, f, s, le);
				buf_printf(b, " %lld\n", (long long)(cum < count ?
				    cum : count));
			}
			buf_printf(b, "%s_bucket", f->name);
			labels(b, f, s, "+Inf");
			buf_printf(b, " %lld\n", (long long)count);
			buf_printf(b, "%s_sum", f->name);
			labels(b, f, s, NULL);
			buf_printf(b, " %.6f\n", (double)atomic_load(
			    &s->sum_us) / 1e6);
			buf_printf(b, "%s_count", f->name);
			labels(b, f, s, NULL);
			buf_printf(b, " %lld\n", (long long)count);
		}
	}
}
