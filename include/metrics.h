/*
 * metrics.h - pvebot's own counters, gauges and histograms, shown on the
 * /metrics page in the Prometheus text format (util/metrics.c; the page
 * is src/http/http_metrics.c, which adds what it reads from SQLite).
 *
 * Every family is declared once, in the table in util/metrics.c (name,
 * type, help, label names, label values shown from the start), and named
 * here by an enum. A part changes a value with one call, cheap and never
 * blocking: values are atomics. A series (one set of label values) is
 * made on first use under a mutex and never removed; a family holds at
 * most METRIC_MAX_SERIES of them, label values past that are counted
 * under "other", so a caller passing unbounded values cannot grow memory.
 * The registry is process-wide: tests compare values before and after.
 */
#ifndef PVEBOT_METRICS_H
#define PVEBOT_METRICS_H

#include <stdint.h>

struct buf;

#define METRIC_MAX_SERIES	32
#define METRIC_MAX_LABEL	48	/* longer label values are cut */

enum metric_id {
	M_COMMANDS,		/* counter {result} */
	M_APPROVALS,		/* counter {outcome} */
	M_CONNECTOR_UP,		/* gauge {platform}: 1 or 0 */
	M_CONNECTOR_POLL,	/* gauge {platform}: UNIX time of the last
				 * successful poll (or gateway beat) */
	M_PVE_LATENCY,		/* histogram: Proxmox API requests */
	M_PVE_ERRORS,		/* counter {reason} */
	M_SQLITE_COMMIT,	/* histogram: COMMIT of a transaction */
	M_HTTP_REQUESTS,	/* counter {route, code}: pvebot's listener */
	M_WEBHOOK_EVENTS,	/* counter {source, result} */
	M_AM_SILENCES,		/* counter {result} */
	M_HEARTBEAT,		/* counter {result} */
	M_NMETRICS
};

/* Adds 1 to a counter; label values NULL for a family without labels. */
void	metric_inc(enum metric_id, const char *label);
void	metric_inc2(enum metric_id, const char *label1, const char *label2);
/* Sets a gauge. */
void	metric_set(enum metric_id, const char *label, int64_t value);
/*
 * A chat platform's receive path worked (ok 1: connector up, and its
 * last successful poll is now) or failed (ok 0: down).
 */
void	metric_connector(const char *platform, int ok);
/* Counts a duration in a histogram. */
void	metric_observe(enum metric_id, const char *label, double seconds);
/* A counter's or gauge's value, a histogram's count (tests); 0 when the
 * series does not exist. */
int64_t	metric_get(enum metric_id, const char *label1, const char *label2);
/* Appends every family in the Prometheus text format 0.0.4. */
void	metric_render(struct buf *);
/* The text of a label value as Prometheus wants it: \\, \" and \n. */
void	metric_escape(struct buf *, const char *);

/* Microseconds on the monotonic clock, for durations. */
int64_t	metric_now_us(void);

#endif
