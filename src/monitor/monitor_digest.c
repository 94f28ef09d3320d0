/*
 * monitor_digest.c - the daily digest and the samples it draws from.
 *
 * Samples: each cycle adds node CPU and the hottest temperature of each
 * node to a 15-minute bucket; the bucket's value (average for CPU, high
 * for temperature) is written to table metric_samples, so memory holds
 * one bucket per series and a day is 96 rows per series. Samples older
 * than 8 days and alert events older than 90 days are pruned.
 *
 * The digest: once a day at digest.time in digest.timezone, one message
 * per alert room. The date it was last sent is stored (kv
 * digest.last_date) before it is sent, so it is never sent twice; a
 * digest missed while pvebot was down goes out at the first cycle of the
 * same day. Lines stay short for phones (about 40 characters).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "app.h"
#include "conf.h"
#include "exec_proxmox.h"
#include "exec_ssh.h"
#include "http.h"
#include "jsonx.h"
#include "log.h"
#include "monitor_int.h"
#include "outbox.h"
#include "prov.h"
#include "store.h"
#include "store_monitor.h"
#include "util.h"
#include "worker.h"

#define BUCKET		900
#define KEEP_SAMPLES	(8 * 86400)
#define KEEP_EVENTS	(90 * 86400)

/* ---- samples ---- */

static struct mon_series *
series_get(struct monitor *m, const char *name, int use_max)
{
	size_t	 i;

	for (i = 0; i < m->nseries; i++) {
		if (strcmp(m->series[i].name, name) == 0)
			return &m->series[i];
	}
	m->series = xreallocarray(m->series, m->nseries + 1,
	    sizeof *m->series);
	memset(&m->series[m->nseries], 0, sizeof *m->series);
	m->series[m->nseries].name = xstrdup(name);
	m->series[m->nseries].use_max = use_max;
	return &m->series[m->nseries++];
}

static void
series_add(struct monitor *m, const char *name, int use_max, double v,
    int64_t bucket)
{
	struct mon_series	*se = series_get(m, name, use_max);

	if (se->bucket != bucket) {
		se->bucket = bucket;
		se->sum = 0;
		se->n = 0;
		se->max = v;
	}
	se->sum += v;
	se->n++;
	if (v > se->max)
		se->max = v;
}

void
mon_series_record(struct monitor *m, const struct mon_samples *s,
    int64_t now)
{
	int64_t		 bucket = now - now % BUCKET;
	size_t		 i, lo, hi;
	char		*name;

	for (i = 0; i < m->nseries; i++)
		m->series[i].n = m->series[i].bucket == bucket ?
		    m->series[i].n : 0;
	/* Only the two metrics drawn: their readings, from the sort. */
	mon_samples_metric(s, "node.cpu", &lo, &hi);
	for (i = lo; i < hi; i++) {
		const struct mon_sample	*x = &s->v[s->order[i]];

		name = xasprintf("node.cpu:%s", x->node);
		series_add(m, name, 0, x->value, bucket);
		free(name);
	}
	mon_samples_metric(s, "sensor.temp", &lo, &hi);
	for (i = lo; i < hi; i++) {
		const struct mon_sample	*x = &s->v[s->order[i]];

		if (x->node == NULL)
			continue;
		name = xasprintf("temp.max:%s", x->node);
		series_add(m, name, 1, x->value, bucket);
		free(name);
	}
	if (store_begin(m->store) != 0)
		return;
	for (i = 0; i < m->nseries; i++) {
		struct mon_series	*se = &m->series[i];

		if (se->bucket != bucket || se->n == 0)
			continue;
		/* A failed write loses one bucket: the next is tried. */
		metric_sample_put(m->store, se->name, bucket, se->use_max ?
		    se->max : se->sum / se->n);
	}
	if (now - m->pruned_at >= 3600 || now < m->pruned_at) {
		metric_samples_prune(m->store, now - KEEP_SAMPLES);
		alert_events_prune(m->store, now - KEEP_EVENTS);
		m->pruned_at = now;
	}
	store_commit(m->store);
}

/* ---- the digest ---- */

/* Hourly averages of the last 24 h as a sparkline (0-100%, a space for
 * an hour without samples); NULL if there are none. */
static char *
cpu_sparkline(struct store *s, const char *node, int64_t now)
{
	struct metric_sample	*samples;
	double			 sum[24], v[24];
	int			 n[24], any = 0, i;
	int64_t			 start = now - 86400;
	size_t			 nsamples, j;
	char			*series = xasprintf("node.cpu:%s", node);

	memset(sum, 0, sizeof sum);
	memset(n, 0, sizeof n);
	/* On an error, the samples read before it. */
	metric_samples_range(s, series, start, now, &samples,
	    &nsamples);
	for (j = 0; j < nsamples; j++) {
		int	 k = (int)((samples[j].at - start) / 3600);

		if (k < 0 || k > 23)
			continue;
		sum[k] += samples[j].value;
		n[k]++;
		any = 1;
	}
	free(samples);
	free(series);
	if (!any)
		return NULL;
	for (i = 0; i < 24; i++)
		v[i] = n[i] > 0 ? sum[i] / n[i] : -1;
	/* Percent of the node's CPUs: one scale for every node. */
	return mon_sparkline(v, 24, 0, 100);
}

static int
temp_high(struct store *s, const char *node, int64_t now, double *out)
{
	char		*series = xasprintf("temp.max:%s", node);
	int		 found;

	found = metric_sample_max(s, series, now - 86400, out) == 1;
	free(series);
	return found;
}

/* ---- what the monitor read on its own schedules (kv monitor.health) ---- */

static json_t *
health_read(struct store *s)
{
	char	*text = NULL;
	json_t	*o = NULL;

	if (store_kv_get(s, "monitor.health", &text) == 0 && text != NULL)
		o = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	return o;
}

/* "disks 4 healthy" or the ones that are not, one line. */
static void
node_disks(struct buf *b, const json_t *n)
{
	const json_t	*disks = json_object_get(n, "disks"), *d;
	size_t		 i, bad = 0;

	if (disks == NULL)
		return;
	if (!json_is_true(json_object_get(n, "disks_ok"))) {
		buf_puts(b, "  disks: not read\n");
		return;
	}
	json_array_foreach(disks, i, d) {
		const char	*health = jx_str(d, "health", "");
		const char	*dev = jx_str(d, "dev", "?");
		int		 failed = strcasestr(health, "FAIL") != NULL;
		int		 wear = (int)jx_num(d, "wear");
		int64_t		 rising = jx_int(d, "rising");

		if (!failed && wear < 80 && rising <= 0)
			continue;
		buf_puts(b, bad++ == 0 ? "  disk " : "; ");
		if (failed)
			buf_printf(b, "%s SMART %s", dev, health);
		else if (rising > 0)
			buf_printf(b, "%s +%" PRId64 " bad sectors", dev,
			    rising);
		else
			buf_printf(b, "%s %d%% worn", dev, wear);
	}
	if (bad > 0)
		buf_puts(b, "\n");
	else
		buf_printf(b, "  disks: %zu healthy\n", json_array_size(disks));
}

static void
node_pools(struct buf *b, const json_t *n)
{
	const json_t	*pools = json_object_get(n, "pools"), *p;
	size_t		 i, bad = 0;

	if (pools == NULL || json_array_size(pools) == 0)
		return;
	if (!json_is_true(json_object_get(n, "pools_ok"))) {
		buf_puts(b, "  ZFS: not read\n");
		return;
	}
	json_array_foreach(pools, i, p) {
		const char	*health = jx_str(p, "health", "?");

		if (strcmp(health, "ONLINE") == 0)
			continue;
		bad++;
		buf_printf(b, "  ZFS %s %s%s%.40s\n", jx_str(p, "name", "?"),
		    health, jx_str(p, "fault", NULL) != NULL ? ": " : "",
		    jx_str(p, "fault", ""));
	}
	if (bad > 0)
		return;
	buf_puts(b, "  ZFS");
	json_array_foreach(pools, i, p)
		buf_printf(b, " %s", jx_str(p, "name", "?"));
	buf_puts(b, " ONLINE\n");
}

/* The certificate that expires first. */
static void
node_certs(struct buf *b, const json_t *n, int64_t now)
{
	const json_t	*certs = json_object_get(n, "certs"), *c;
	const json_t	*first = NULL;
	size_t		 i;
	int64_t		 days;

	json_array_foreach(certs, i, c) {
		if (first == NULL || jx_int(c, "notafter") <
		    jx_int(first, "notafter"))
			first = c;
	}
	if (first == NULL)
		return;
	days = (jx_int(first, "notafter") - now + 43200) / 86400;
	if (jx_int(first, "notafter") < now)
		buf_printf(b, "  cert %s EXPIRED\n", jx_str(first, "file", "?"));
	else
		buf_printf(b, "  cert %s: %" PRId64 " day%s left\n",
		    jx_str(first, "file", "?"), days, days == 1 ? "" : "s");
}

static void
node_updates(struct buf *b, const json_t *n)
{
	const json_t	*u = json_object_get(n, "updates");
	const json_t	*k = json_object_get(n, "kernel");
	const char	*run = jx_str(k, "running", NULL);
	const char	*inst = jx_str(k, "installed", NULL);
	int		 count = (int)jx_num(u, "count");
	int		 sec = (int)jx_num(u, "security");
	int		 reboot = run != NULL && inst != NULL &&
	    strcmp(run, inst) != 0;

	if (u == NULL && k == NULL)
		return;
	buf_puts(b, "  ");
	if (u != NULL && !json_is_true(json_object_get(u, "ok")))
		buf_puts(b, "updates not read");
	else if (u != NULL && count == 0)
		buf_puts(b, "no updates");
	else if (u != NULL && sec >= 0)
		buf_printf(b, "%d update%s (%d security)", count, count == 1 ?
		    "" : "s", sec);
	else if (u != NULL)
		buf_printf(b, "%d update%s", count, count == 1 ? "" : "s");
	if (reboot)
		buf_printf(b, "%sreboot required", u != NULL ? ", " : "");
	buf_puts(b, "\n");
	if (reboot)
		buf_printf(b, "    kernel %.14s, running %.14s\n", inst, run);
}

static void
node_health(struct buf *b, const json_t *health, const char *node,
    int64_t now)
{
	const json_t	*n = json_object_get(json_object_get(health, "nodes"),
	    node);

	if (n == NULL)
		return;
	node_disks(b, n);
	node_pools(b, n);
	node_certs(b, n, now);
	node_updates(b, n);
}

static void
section_cluster(struct buf *b, struct pve *pve, const json_t *res,
    const json_t *health)
{
	json_t		*status = NULL, *o;
	const json_t	*ceph;
	const char	*name = NULL;
	size_t		 i;
	int		 quorate = -1, nodes = 0, online = 0;

	if (pve_request(pve, "GET", "/cluster/status", NULL, 0, &status,
	    NULL) == PVE_OK && json_is_array(status)) {
		json_array_foreach(status, i, o) {
			const char	*type = jx_str(o, "type", NULL);

			if (type != NULL && strcmp(type, "cluster") == 0) {
				name = jx_str(o, "name", NULL);
				quorate = jx_num(o, "quorate") != 0;
			}
		}
	}
	json_array_foreach(res, i, o) {
		const char	*type = jx_str(o, "type", NULL);
		const char	*st = jx_str(o, "status", NULL);

		if (type == NULL || strcmp(type, "node") != 0)
			continue;
		nodes++;
		online += st != NULL && strcmp(st, "online") == 0;
	}
	buf_printf(b, "Cluster %s: %s\n", name != NULL ? name : "",
	    quorate < 0 ? "quorum unknown" : quorate ? "quorate" :
	    "NO QUORUM");
	buf_printf(b, "Nodes: %d/%d online\n", online, nodes);
	json_decref(status);
	if ((ceph = json_object_get(health, "ceph")) != NULL) {
		static const char *const names[] = { "HEALTH_OK",
		    "HEALTH_WARN", "HEALTH_ERR" };
		int	 level = (int)jx_num(ceph, "level");

		buf_printf(b, "Ceph: %s%s%.60s\n", names[level < 0 ? 0 :
		    level > 2 ? 2 : level], level > 0 ? " " : "",
		    level > 0 ? jx_str(ceph, "checks", "") : "");
	}
}

static void
section_nodes(struct buf *b, struct store *s, const json_t *res,
    const json_t *health, int64_t now)
{
	const json_t	*o;
	size_t		 i;
	char		 up[32], *spark;
	double		 t;

	json_array_foreach(res, i, o) {
		const char	*type = jx_str(o, "type", NULL);
		const char	*node = jx_str(o, "node", NULL);
		const char	*st = jx_str(o, "status", NULL);

		if (type == NULL || strcmp(type, "node") != 0 || node == NULL)
			continue;
		if (st == NULL || strcmp(st, "online") != 0) {
			buf_printf(b, "%s: OFFLINE\n", node);
			continue;
		}
		format_duration((int64_t)jx_num(o, "uptime"), up, sizeof up);
		buf_printf(b, "%s: up %s\n", node, up);
		buf_printf(b, "  CPU %.0f%% mem %.0f%% disk %.0f%%\n",
		    100.0 * jx_num(o, "cpu"), mon_pct(jx_num(o, "mem"),
		    jx_num(o, "maxmem")), mon_pct(jx_num(o, "disk"),
		    jx_num(o, "maxdisk")));
		if (temp_high(s, node, now, &t))
			buf_printf(b, "  temp high %.1f C\n", t);
		if ((spark = cpu_sparkline(s, node, now)) != NULL) {
			buf_printf(b, "  CPU 24h %s\n", spark);
			free(spark);
		}
		node_health(b, health, node, now);
	}
}

struct top {
	const json_t	*g;
	double		 v;
};

static int
top_cmp(const void *a, const void *b)
{
	const struct top	*x = a, *y = b;

	if (x->v != y->v)
		return x->v < y->v ? 1 : -1;
	return (int)(jx_num(x->g, "vmid") - jx_num(y->g, "vmid"));
}

static void
section_guests(struct buf *b, const json_t *res)
{
	const json_t	*o;
	struct top	*cpu, *mem;
	size_t		 i, n = 0, k;
	int		 running = 0, stopped = 0;

	cpu = xreallocarray(NULL, json_array_size(res) + 1, sizeof *cpu);
	mem = xreallocarray(NULL, json_array_size(res) + 1, sizeof *mem);
	json_array_foreach(res, i, o) {
		const char	*type = jx_str(o, "type", NULL);
		const char	*st = jx_str(o, "status", NULL);

		if (type == NULL || (strcmp(type, "qemu") != 0 &&
		    strcmp(type, "lxc") != 0) || jx_num(o, "template") != 0)
			continue;
		if (st != NULL && strcmp(st, "running") == 0) {
			running++;
			cpu[n].g = mem[n].g = o;
			cpu[n].v = 100.0 * jx_num(o, "cpu");
			mem[n].v = mon_pct(jx_num(o, "mem"), jx_num(o, "maxmem"));
			n++;
		} else if (st != NULL && strcmp(st, "stopped") == 0)
			stopped++;
	}
	buf_printf(b, "Guests: %d running, %d stopped\n", running, stopped);
	if (n > 0) {
		qsort(cpu, n, sizeof *cpu, top_cmp);
		qsort(mem, n, sizeof *mem, top_cmp);
		buf_puts(b, "Top CPU:\n");
		for (k = 0; k < n && k < 5; k++)
			buf_printf(b, "  %.20s (%d) %.0f%%\n",
			    jx_str(cpu[k].g, "name", "?"),
			    (int)jx_num(cpu[k].g, "vmid"),
			    cpu[k].v);
		buf_puts(b, "Top memory:\n");
		for (k = 0; k < n && k < 5; k++)
			buf_printf(b, "  %.20s (%d) %.0f%%\n",
			    jx_str(mem[k].g, "name", "?"),
			    (int)jx_num(mem[k].g, "vmid"),
			    mem[k].v);
	}
	free(cpu);
	free(mem);
}

static void
section_storage(struct buf *b, const json_t *res)
{
	const json_t	*o;
	char		**seen;
	size_t		 i, nseen = 0, k;

	seen = xreallocarray(NULL, json_array_size(res) + 1, sizeof *seen);
	buf_puts(b, "Storage:\n");
	json_array_foreach(res, i, o) {
		const char	*type = jx_str(o, "type", NULL);
		const char	*id = jx_str(o, "storage", NULL);
		const char	*node = jx_str(o, "node", NULL);
		const char	*st = jx_str(o, "status", NULL);
		char		*key, *bar;
		double		 p;

		if (type == NULL || strcmp(type, "storage") != 0 || id ==
		    NULL || node == NULL || st == NULL ||
		    strcmp(st, "available") != 0 || jx_num(o, "maxdisk") <= 0)
			continue;
		key = jx_num(o, "shared") != 0 ? xstrdup(id) :
		    xasprintf("%s@%s", id, node);
		for (k = 0; k < nseen && strcmp(seen[k], key) != 0; k++)
			;
		if (k < nseen) {
			free(key);
			continue;
		}
		seen[nseen++] = key;
		p = mon_pct(jx_num(o, "disk"), jx_num(o, "maxdisk"));
		bar = mon_bar(p, 10);
		buf_printf(b, "  %-14.14s %s %3.0f%%\n", key, bar, p);
		free(bar);
	}
	for (k = 0; k < nseen; k++)
		free(seen[k]);
	free(seen);
}

/* A count for the digest: 0 when it cannot be read. */
static int64_t
count_or_zero(int64_t n)
{
	return n > 0 ? n : 0;
}

static void
section_alerts(struct buf *b, struct store *s, int64_t now)
{
	struct alert_row	*rows;
	size_t			 nrows, i;
	int			 n = 0;

	buf_printf(b, "Alerts 24h: %" PRId64 " fired, %" PRId64
	    " resolved\n",
	    count_or_zero(alert_events_count(s, "fired", now - 86400)),
	    count_or_zero(alert_events_count(s, "resolved", now - 86400)));
	/* On an error, the alerts read before it. */
	alerts_all(s, &rows, &nrows);
	for (i = 0; i < nrows; i++) {
		const struct alert_row	*a = &rows[i];

		if (a->state != ALERT_FIRING && a->state != ALERT_FLAPPING &&
		    a->state != ALERT_STALE && a->state != ALERT_UNKNOWN)
			continue;
		if (n++ == 0)
			buf_puts(b, "  still firing:\n");
		if (n > 8)
			continue;
		buf_printf(b, "  #%" PRId64 " %s%s\n", a->id,
		    a->summary != NULL ? a->summary : "?",
		    a->state == ALERT_STALE ? " (stale: not measured)" :
		    a->state == ALERT_UNKNOWN ?
		    " (unknown: cannot be measured)" : "");
	}
	if (n > 8)
		buf_printf(b, "  and %d more\n", n - 8);
	alert_rows_free(rows, nrows);
}

static void
section_jobs(struct buf *b, struct store *s, int64_t now)
{
	int64_t	 since = now - 86400;

	buf_printf(b, "Jobs 24h: %" PRId64 " ok, %" PRId64 " failed, %"
	    PRId64 " denied\n", count_or_zero(jobs_actions_count_since(s,
	    "succeeded", since)), count_or_zero(jobs_actions_count_since(s,
	    "failed", since)) + count_or_zero(jobs_actions_count_since(s,
	    "interrupted", since)), count_or_zero(jobs_actions_count_since(s,
	    "denied", since)));
}

/* Coverage and failures, as the monitor last read them. */
static void
section_coverage(struct buf *b, const json_t *health)
{
	const json_t	*bk = json_object_get(health, "backups");
	const json_t	*none = json_object_get(bk, "not_backed_up");
	const json_t	*failed = json_object_get(bk, "failed"), *o;
	size_t		 i;

	if (none != NULL && json_array_size(none) == 0)
		buf_puts(b, "Backup jobs: every guest is in one\n");
	else if (none != NULL) {
		buf_puts(b, "In no backup job:\n");
		json_array_foreach(none, i, o) {
			if (i == 8) {
				buf_printf(b, "  and %zu more\n",
				    json_array_size(none) - 8);
				break;
			}
			buf_printf(b, "  %.20s (%d)\n", jx_str(o, "name", "?"),
			    (int)jx_num(o, "vmid"));
		}
	}
	if (json_array_size(failed) == 0)
		return;
	buf_puts(b, "Backups failed:\n");
	json_array_foreach(failed, i, o) {
		if (jx_num(o, "vmid") > 0)
			buf_printf(b, "  %.20s (%d): %.36s\n", jx_str(o, "name",
			    "?"), (int)jx_num(o, "vmid"), jx_str(o, "why",
			    "?"));
		else
			buf_printf(b, "  job on %s: %.36s\n", jx_str(o, "node",
			    "?"), jx_str(o, "why", "?"));
	}
}

/* The last day's runs of schedules (jobs asked by schedule:NAME). */
static void
section_schedules(struct buf *b, struct store *s, int64_t now)
{
	struct job_line	*v;
	size_t		 nv, i;
	int		 n = 0;

	/* On an error, the runs read before it. */
	jobs_scheduled_since(s, now - 86400, &v, &nv);
	for (i = 0; i < nv; i++) {
		if (n++ == 0)
			buf_puts(b, "Scheduled runs 24h:\n");
		if (n > 12)
			continue;
		/* The schedule's name, after "schedule:". */
		buf_printf(b, "  %s: %.80s (%s)\n", v[i].requester +
		    strlen("schedule:"), v[i].command, v[i].state);
	}
	if (n > 12)
		buf_printf(b, "  and %d more\n", n - 12);
	job_lines_free(v, nv);
}

static void
section_backups(struct buf *b, struct pve *pve, const struct conf *conf,
    const json_t *res, int64_t now)
{
	struct mon_backup	*v = NULL;
	struct pve_resources	 rs;
	size_t			 n = 0, i, k;
	int			 count = 0;
	int64_t			 days = conf->monitor.no_backup_days > 0 ?
	    conf->monitor.no_backup_days : 7;
	char			*text;

	/* The storages as records, as the monitor reads them (once a
	 * day: the tree's text read again costs nothing that matters). */
	memset(&rs, 0, sizeof rs);
	text = json_dumps(res, JSON_COMPACT);
	if (text == NULL || pve_resources_parse(text, strlen(text), &rs,
	    NULL) != 0 || mon_read_backups(pve, &rs, &v, &n) != 0) {
		free(text);
		pve_resources_release(&rs);
		buf_puts(b, "Backups: could not list them\n");
		return;
	}
	free(text);
	for (i = 0; i < rs.n; i++) {
		const struct pve_res	*o = &rs.v[i];
		int			 vmid = o->vmid;
		int64_t			 last = 0;

		if (!pve_res_is_guest(o) || o->is_template)
			continue;
		for (k = 0; k < n; k++) {
			if (v[k].vmid == vmid)
				last = v[k].ctime;
		}
		if (last != 0 && now - last <= days * 86400)
			continue;
		if (count++ == 0)
			buf_printf(b, "No backup in %" PRId64 " days:\n", days);
		buf_printf(b, "  %.20s (%d)%s\n", RES_NAME(o), vmid,
		    last == 0 ? " never" : "");
	}
	if (count == 0)
		buf_printf(b, "Backups: all within %" PRId64 " days\n", days);
	free(v);
	pve_resources_release(&rs);
}

/*
 * The audit log's checkpoint, written and logged now: a copy outside the
 * database (the chat's history) that `pvebot audit --verify --checkpoint`
 * can hold the log against later.
 */
static void
section_audit(struct buf *b, struct store *s)
{
	struct audit_head	 h;
	const char		*hex;
	char			*cause = NULL;

	if (audit_checkpoint(s, &h, &cause) != 0) {
		buf_printf(b, "Audit log: %s\n", cause);
		free(cause);
		return;
	}
	hex = str_has_prefix(h.hash, "hmac:") ? h.hash + 5 : h.hash;
	if (!h.keyed)
		buf_printf(b, "Audit log: %" PRId64 " rows (no audit key)\n",
		    h.rows);
	else
		buf_printf(b, "Audit log: %" PRId64 " rows, checkpoint %"
		    PRId64 ":%.16s\n", h.rows, h.id, hex);
}

char *
monitor_digest_text(struct app *app, struct store *s, int64_t now,
    char **cause)
{
	const struct conf	*conf = app->conf;
	json_t			*res = NULL, *health;
	struct buf		 b;
	struct tm		 tm;
	char			 day[64];

	if (app->pve == NULL) {
		set_cause(cause, "no Proxmox endpoint is configured");
		return NULL;
	}
	if (pve_request(app->pve, "GET", "/cluster/resources", NULL, 0, &res,
	    cause) != PVE_OK)
		return NULL;
	if (!json_is_array(res)) {
		json_decref(res);
		set_cause(cause, "/cluster/resources is not a list");
		return NULL;
	}
	if (tz_localtime(now, conf->digest.timezone, &tm) != 0)
		tz_localtime(now, NULL, &tm);
	strftime(day, sizeof day, "%a %d %b %Y", &tm);
	buf_init(&b, 0);
	buf_printf(&b, "\xf0\x9f\x93\x8b Daily digest, %s\n", day);
	health = health_read(s);
	section_cluster(&b, app->pve, res, health);
	section_nodes(&b, s, res, health, now);
	section_guests(&b, res);
	section_storage(&b, res);
	section_alerts(&b, s, now);
	http_digest(&b, s, now);
	section_jobs(&b, s, now);
	section_coverage(&b, health);
	section_schedules(&b, s, now);
	prov_inventory_digest(&b, app->pve, conf->inventory_dir);
	section_backups(&b, app->pve, conf, res, now);
	section_audit(&b, s);
	json_decref(health);
	json_decref(res);
	return buf_steal(&b);
}

char *
worker_digest(struct app *app, struct store *s, char **cause)
{
	return monitor_digest_text(app, s, wall_now(), cause);
}

struct digest_post {
	struct store	*store;
	const char	*text;
	int		 failed;
};

static void
send_digest(void *arg, struct connector *c, const char *room)
{
	struct digest_post	*dp = arg;
	struct chat_msg		 msg;

	memset(&msg, 0, sizeof msg);
	msg.text = dp->text;
	if (outbox_send(dp->store, c->ops->name, room, &msg, NULL) <= 0)
		dp->failed = 1;
}

/*
 * Without a digest ever sent, today's is due only if its time came after
 * pvebot first ran: a fresh install at 15:00 has missed nothing.
 */
static int
due_since_first_cycle(struct monitor *m, const struct tm *today, int h,
    int min)
{
	const struct conf_digest	*d = &m->conf->digest;
	struct tm			 at = *today;
	char				*first = NULL;
	const char			*errstr;
	int64_t				 first_at, scheduled;

	if (store_kv_get(m->store, "monitor.first_cycle", &first) != 0 ||
	    first == NULL) {
		free(first);
		return 0;
	}
	first_at = strtonum(first, 0, INT64_MAX, &errstr);
	free(first);
	at.tm_hour = h;
	at.tm_min = min;
	at.tm_sec = 0;
	scheduled = tz_mktime(&at, d->timezone);
	return errstr == NULL && scheduled >= 0 && scheduled >= first_at;
}

void
mon_digest_tick(struct monitor *m, int64_t now)
{
	const struct conf_digest	*d = &m->conf->digest;
	struct tm			 tm;
	char				 date[32], *last = NULL, *text;
	char				*cause = NULL;
	struct digest_post		 dp;
	int				 h, min;

	if (m->first_cycle == 0) {
		char	*first = NULL, num[32];

		if (store_kv_get(m->store, "monitor.first_cycle", &first) ==
		    0 && first == NULL) {
			snprintf(num, sizeof num, "%lld", (long long)now);
			store_kv_set(m->store, "monitor.first_cycle", num);
		}
		free(first);
		m->first_cycle = now;
	}
	if (!d->enabled || d->time == NULL ||
	    sscanf(d->time, "%d:%d", &h, &min) != 2)
		return;
	if (tz_localtime(now, d->timezone, &tm) != 0)
		return;
	if (tm.tm_hour * 60 + tm.tm_min < h * 60 + min)
		return;
	snprintf(date, sizeof date, "%04d-%02d-%02d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday);
	if (store_kv_get(m->store, "digest.last_date", &last) != 0)
		return;
	if (last != NULL && strcmp(last, date) == 0) {
		free(last);
		return;
	}
	if (last == NULL && !due_since_first_cycle(m, &tm, h, min)) {
		free(last);
		return;
	}
	free(last);
	if ((text = monitor_digest_text(m->app, m->store, now, &cause)) ==
	    NULL) {
		log_warn("monitor", "digest not built: %s", cause);
		free(cause);
		return;
	}
	/* The date and the messages in one transaction: once, even across
	 * a crash, and never lost. */
	dp.store = m->store;
	dp.text = text;
	dp.failed = 0;
	if (store_begin(m->store) != 0) {
		free(text);
		return;
	}
	mon_alert_rooms(m->app, send_digest, &dp);
	if (dp.failed || store_kv_set(m->store, "digest.last_date", date) !=
	    0 || store_commit(m->store) != 0) {
		store_rollback(m->store);
		log_warn("monitor", "digest not stored date=%s; trying again "
		    "next cycle", date);
	} else
		log_info("monitor", "digest queued date=%s", date);
	free(text);
}
