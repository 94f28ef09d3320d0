/*
 * test_metrics.c - the metrics registry (util/metrics.c): counters and
 * gauges by label, histograms with cumulative buckets, label values
 * escaped as Prometheus wants, a family that cannot grow past its cap,
 * and updates from many threads at once counted exactly.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "t.h"
#include "util.h"

static char *
page(void)
{
	struct buf	 b;

	buf_init(&b, 0);
	metric_render(&b);
	return buf_steal(&b);
}

static void
test_counters_gauges_and_seeds(void)
{
	int64_t	 before = metric_get(M_COMMANDS, "allowed", NULL);
	char	*p;

	/* Seeded values show from the start, at 0. */
	p = page();
	T_CONTAINS(p, "# TYPE pvebot_commands_total counter\n");
	T_CONTAINS(p, "pvebot_commands_total{result=\"rate_limited\"} ");
	T_CONTAINS(p, "pvebot_heartbeat_pings_total{result=\"withheld\"} ");
	free(p);
	metric_inc(M_COMMANDS, "allowed");
	metric_inc(M_COMMANDS, "allowed");
	T_EQ_INT(metric_get(M_COMMANDS, "allowed", NULL), before + 2);
	metric_inc2(M_HTTP_REQUESTS, "proxmox", "200");
	T_EQ_INT(metric_get(M_HTTP_REQUESTS, "proxmox", "200"), 1);
	metric_connector("telegram", 1);
	metric_connector("matrix", 0);
	T_EQ_INT(metric_get(M_CONNECTOR_UP, "telegram", NULL), 1);
	T_EQ_INT(metric_get(M_CONNECTOR_UP, "matrix", NULL), 0);
	T_OK(metric_get(M_CONNECTOR_POLL, "telegram", NULL) > 1700000000);
	T_EQ_INT(metric_get(M_CONNECTOR_POLL, "matrix", NULL), 0);
	p = page();
	T_CONTAINS(p, "pvebot_http_requests_total{route=\"proxmox\","
	    "code=\"200\"} 1\n");
	T_CONTAINS(p, "# TYPE pvebot_connector_up gauge\n"
	    "pvebot_connector_up{platform=\"telegram\"} 1\n"
	    "pvebot_connector_up{platform=\"matrix\"} 0\n");
	free(p);
}

static void
test_histogram_buckets_are_cumulative(void)
{
	char	*p;

	metric_observe(M_SQLITE_COMMIT, NULL, 0.0004);	/* <= 0.001 */
	metric_observe(M_SQLITE_COMMIT, NULL, 0.02);	/* <= 0.025 */
	metric_observe(M_SQLITE_COMMIT, NULL, 0.02);
	metric_observe(M_SQLITE_COMMIT, NULL, 99);	/* +Inf only */
	p = page();
	T_CONTAINS(p, "# TYPE pvebot_sqlite_commit_duration_seconds "
	    "histogram\n");
	T_CONTAINS(p, "pvebot_sqlite_commit_duration_seconds_bucket"
	    "{le=\"0.001\"} 1\n");
	T_CONTAINS(p, "pvebot_sqlite_commit_duration_seconds_bucket"
	    "{le=\"0.01\"} 1\n");
	T_CONTAINS(p, "pvebot_sqlite_commit_duration_seconds_bucket"
	    "{le=\"0.025\"} 3\n");
	T_CONTAINS(p, "pvebot_sqlite_commit_duration_seconds_bucket"
	    "{le=\"30\"} 3\n");
	T_CONTAINS(p, "pvebot_sqlite_commit_duration_seconds_bucket"
	    "{le=\"+Inf\"} 4\n");
	T_CONTAINS(p, "pvebot_sqlite_commit_duration_seconds_count 4\n");
	T_CONTAINS(p, "pvebot_sqlite_commit_duration_seconds_sum 99.040400\n");
	free(p);
}

static void
test_labels_escaped_and_capped(void)
{
	char	 v[16], *p;
	int	 i;

	metric_inc2(M_WEBHOOK_EVENTS, "we\"ird\\src\nx", "alert");
	p = page();
	T_CONTAINS(p, "pvebot_webhook_events_total{source=\"we\\\"ird\\\\src"
	    "\\nx\",result=\"alert\"} 1\n");
	free(p);
	/* More values than the family holds end up as "other". */
	for (i = 0; i < METRIC_MAX_SERIES + 10; i++) {
		snprintf(v, sizeof v, "r%d", i);
		metric_inc(M_AM_SILENCES, v);
	}
	T_EQ_INT(metric_get(M_AM_SILENCES, "r0", NULL), 1);
	T_OK(metric_get(M_AM_SILENCES, "other", NULL) >= 10);
	T_EQ_INT(metric_get(M_AM_SILENCES, "r40", NULL), 0);
}

static void *
bump(void *arg)
{
	int	 i;

	for (i = 0; i < 10000; i++) {
		metric_inc(M_PVE_ERRORS, (i & 1) ? "network" : "http");
		metric_observe(M_PVE_LATENCY, NULL, 0.003);
	}
	return arg;
}

static void
test_threads_count_exactly(void)
{
	pthread_t	 t[8];
	int64_t		 net = metric_get(M_PVE_ERRORS, "network", NULL);
	int64_t		 obs = metric_get(M_PVE_LATENCY, NULL, NULL);
	int		 i;

	for (i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, bump, NULL);
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	T_EQ_INT(metric_get(M_PVE_ERRORS, "network", NULL), net + 40000);
	T_EQ_INT(metric_get(M_PVE_LATENCY, NULL, NULL), obs + 80000);
}

int
main(void)
{
	T_RUN(test_counters_gauges_and_seeds);
	T_RUN(test_histogram_buckets_are_cumulative);
	T_RUN(test_labels_escaped_and_capped);
	T_RUN(test_threads_count_exactly);
	return t_summary();
}
