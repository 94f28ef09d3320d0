/*
 * monitor_poll.c - one cycle's measurements: /cluster/resources (nodes,
 * running guests, storages), /cluster/status (quorum), backup ages from
 * the content of backup storages, and temperatures and fans from
 * libsensors and `sensors -j` over SSH (in the demo, from its sensor
 * feed instead: app.h), GPU temperatures from nvidia-smi over SSH.
 *
 * A source that could not be read leaves its flag in mon_samples unset,
 * so the evaluation does not take "not measured" for "back to normal".
 * Events become values: node.offline and cluster.quorum are 0/1, a guest
 * that was running and is now stopped without a pvebot job behind it is
 * guest.stopped_unexpectedly 1 until it runs again, a fan that spun and
 * reads 0 RPM is sensor.fan_stall 1.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "conf.h"
#include "exec_proxmox.h"
#include "exec_ssh.h"
#include "jsonx.h"
#include "log.h"
#include "monitor_int.h"
#include "sensors_limits.h"
#include "sensors_local.h"
#include "store.h"
#include "store_monitor.h"
#include "util.h"

/* Days of guest.no_backup for a guest that was never backed up. */
#define NEVER_BACKED_UP	99999.0
/* How often backup storages are listed. */
#define BACKUP_REFRESH	3600
/* "guest:" and a VMID of up to 9 digits, NUL. */
#define GTARGET_SIZE	16

void
mon_samples_free(struct mon_samples *s)
{
	size_t	 i;

	for (i = 0; i < s->n; i++) {
		struct mon_sample	*x = &s->v[i];

		if (!x->borrowed) {
			free(x->target);
			free(x->node);
			free(x->name);
			free(x->tags);
		}
		free(x->summary);
	}
	free(s->v);
	pve_resources_release(&s->res);
	free(s->gtargets);
	for (i = 0; i < s->nunknown; i++)
		free(s->unknown[i]);
	free(s->unknown);
	strv_free(s->offline, s->noffline);
	free(s->order);
	memset(s, 0, sizeof *s);
}

void
mon_samples_node_offline(struct mon_samples *s, const char *node)
{
	s->offline = xreallocarray(s->offline, s->noffline + 1,
	    sizeof *s->offline);
	s->offline[s->noffline++] = xstrdup(node);
}

int
mon_samples_node_unknown(const struct mon_samples *s, const char *node)
{
	size_t	 i;

	for (i = 0; i < s->noffline; i++) {
		if (strcmp(s->offline[i], node) == 0)
			return 1;
	}
	return 0;
}

static int
metric_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * By metric, then by order of addition: the metrics are few (a few
 * dozen names), the readings many, so each reading is counted under its
 * metric's rank and placed in one pass (a stable counting sort), with no
 * string comparison per pair of readings.
 */
void
mon_samples_sort(struct mon_samples *s)
{
	const char	**names = NULL, *last = NULL;
	size_t		 nnames = 0, i, k, lastk = 0, *rank, *count;
	size_t		*id;

	free(s->order);
	s->order = xreallocarray(NULL, s->n + 1, sizeof *s->order);
	id = xreallocarray(NULL, s->n + 1, sizeof *id);
	for (i = 0; i < s->n; i++) {
		const char	*metric = s->v[i].metric;

		/* Readings of one metric come in runs: the same pointer. */
		if (metric == last) {
			id[i] = lastk;
			continue;
		}
		/* The same constant, mostly; else the same text. */
		for (k = 0; k < nnames && names[k] != metric; k++)
			;
		if (k == nnames) {
			for (k = 0; k < nnames && strcmp(names[k], metric) != 0;
			    k++)
				;
		}
		if (k == nnames) {
			names = xreallocarray(names, nnames + 1,
			    sizeof *names);
			names[nnames++] = metric;
		}
		id[i] = k;
		last = metric;
		lastk = k;
	}
	/* The rank of each name, then where each rank starts. */
	rank = xcalloc(nnames + 1, sizeof *rank);
	count = xcalloc(nnames + 1, sizeof *count);
	{
		const char	**sorted = xreallocarray(NULL, nnames + 1,
		    sizeof *sorted);

		memcpy(sorted, names, nnames * sizeof *names);
		qsort(sorted, nnames, sizeof *sorted, metric_cmp);
		for (k = 0; k < nnames; k++) {
			size_t	 r;

			for (r = 0; strcmp(sorted[r], names[k]) != 0; r++)
				;
			rank[k] = r;
		}
		free(sorted);
	}
	for (i = 0; i < s->n; i++)
		count[rank[id[i]] + 1]++;
	for (k = 1; k < nnames; k++)
		count[k] += count[k - 1];
	for (i = 0; i < s->n; i++)
		s->order[count[rank[id[i]]]++] = i;
	free(count);
	free(rank);
	free(id);
	free(names);
}

void
mon_samples_metric(const struct mon_samples *s, const char *metric,
    size_t *lo, size_t *hi)
{
	size_t	 a = 0, b = s->n, mid;

	/* The first reading of `metric`, then the first past it. */
	while (a < b) {
		mid = a + (b - a) / 2;
		if (strcmp(s->v[s->order[mid]].metric, metric) < 0)
			a = mid + 1;
		else
			b = mid;
	}
	*lo = a;
	b = s->n;
	while (a < b) {
		mid = a + (b - a) / 2;
		if (strcmp(s->v[s->order[mid]].metric, metric) <= 0)
			a = mid + 1;
		else
			b = mid;
	}
	*hi = a;
}

void
mon_samples_unknown(struct mon_samples *s, const char *target)
{
	s->unknown = xreallocarray(s->unknown, s->nunknown + 1,
	    sizeof *s->unknown);
	s->unknown[s->nunknown++] = xstrdup(target);
}

int
mon_samples_is_unknown(const struct mon_samples *s, const char *target)
{
	size_t	 i;

	for (i = 0; i < s->nunknown; i++) {
		if (strcmp(s->unknown[i], target) == 0)
			return 1;
	}
	return 0;
}

static struct mon_sample *
sample_new(struct mon_samples *s, const char *metric, const char *kind,
    double value)
{
	struct mon_sample	*x;

	if (s->n == s->size) {
		s->size = s->size == 0 ? 64 : s->size * 2;
		s->v = xreallocarray(s->v, s->size, sizeof *s->v);
	}
	x = &s->v[s->n++];
	memset(x, 0, sizeof *x);
	x->metric = metric;
	x->kind = kind;
	x->value = value;
	return x;
}

struct mon_sample *
mon_sample_add(struct mon_samples *s, const char *metric, const char *kind,
    const char *target, double value)
{
	struct mon_sample	*x = sample_new(s, metric, kind, value);

	x->target = xstrdup(target);
	return x;
}

/* The short chip name: "k10temp" of "k10temp-pci-00c3"; a GPU keeps
 * its index: "nvidia-gpu0". */
static char *
chip_short(const char *name)
{
	const char	*slash = strchr(name, '/');
	const char	*dash = strchr(name, '-');
	size_t		 len;

	if (str_has_prefix(name, MON_GPU_CHIP))
		dash = NULL;
	len = dash != NULL && (slash == NULL || dash < slash) ?
	    (size_t)(dash - name) : slash != NULL ? (size_t)(slash - name) :
	    strlen(name);
	return xstrndup(name, len);
}

void
mon_sample_summary(struct mon_sample *x)
{
	const char	*m = x->metric;
	char		*who, *chip = NULL;
	const char	*label;

	free(x->summary);
	if (x->vmid > 0)
		who = xasprintf("%s (%d)", x->name != NULL ? x->name : "?",
		    x->vmid);
	else if (strcmp(x->kind, "storage") == 0)
		who = xstrdup(x->target + strlen("storage:"));
	else
		who = xstrdup(x->node != NULL ? x->node : x->target);
	if (strcmp(m, "node.cpu") == 0 || strcmp(m, "guest.cpu") == 0)
		x->summary = xasprintf("%s: CPU %.0f%%", who, x->value);
	else if (strcmp(m, "node.memory") == 0 ||
	    strcmp(m, "guest.memory") == 0)
		x->summary = xasprintf("%s: memory %.0f%%", who, x->value);
	else if (strcmp(m, "node.disk") == 0)
		x->summary = xasprintf("%s: root disk %.0f%%", who, x->value);
	else if (strcmp(m, "guest.disk") == 0)
		x->summary = xasprintf("%s: disk %.0f%%", who, x->value);
	else if (strcmp(m, "storage.usage") == 0)
		x->summary = xasprintf("%s: %.0f%% full", who, x->value);
	else if (strcmp(m, "node.offline") == 0)
		x->summary = xasprintf("%s is %s", who, x->value > 0 ?
		    "offline" : "online");
	else if (strcmp(m, "cluster.quorum") == 0)
		x->summary = xstrdup(x->value > 0 ? "cluster is quorate" :
		    "cluster has lost quorum");
	else if (strcmp(m, "guest.stopped_unexpectedly") == 0)
		x->summary = xasprintf("%s %s", who, x->value > 0 ?
		    "stopped, not by pvebot" : "is running");
	else if (strcmp(m, "guest.no_backup") == 0)
		x->summary = x->value >= NEVER_BACKED_UP ?
		    xasprintf("%s: never backed up", who) :
		    xasprintf("%s: no backup for %.0f days", who,
		    floor(x->value));
	else if (strcmp(m, "sensor.temp") == 0 ||
	    strcmp(m, "sensor.fan_stall") == 0) {
		chip = chip_short(x->name != NULL ? x->name : "?");
		label = x->name != NULL && strchr(x->name, '/') != NULL ?
		    strchr(x->name, '/') + 1 : "?";
		if (m[7] == 't')
			x->summary = xasprintf("%s: %s %.1f C (%s)", who,
			    label, x->value, chip);
		else
			x->summary = xasprintf("%s: %s %s (%s)", who, label,
			    x->value > 0 ? "stalled, 0 RPM" : "spinning",
			    chip);
	} else
		x->summary = xasprintf("%s: %s %.1f", who, m, x->value);
	free(chip);
	free(who);
}

/*
 * The one-line summary of a sample (caller frees): the one it was given,
 * or made now. Guest samples get theirs only here, when a rule looks at
 * them: at 10,000 guests making them all cost more than the rules.
 */
char *
mon_sample_text(const struct mon_sample *x)
{
	struct mon_sample	 tmp;

	if (x->summary != NULL)
		return xstrdup(x->summary);
	tmp = *x;
	tmp.summary = NULL;
	mon_sample_summary(&tmp);
	return tmp.summary != NULL ? tmp.summary : xstrdup(x->target);
}

static struct mon_sample *
add_node(struct mon_samples *s, const char *metric, const char *node,
    double value)
{
	char			*target = xasprintf("node:%s", node);
	struct mon_sample	*x = mon_sample_add(s, metric, "node", target,
	    value);

	free(target);
	x->node = xstrdup(node);
	mon_sample_summary(x);
	return x;
}

static struct mon_sample *
add_guest(struct mon_samples *s, const char *metric, const struct pve_res *g,
    double value)
{
	struct mon_sample	*x = sample_new(s, metric, "guest", value);
	const char		*lock = g->lock;

	/* Borrowed: the records of s->res and "guest:N" in s->gtargets. */
	x->borrowed = 1;
	x->target = s->gtargets + (size_t)(g - s->res.v) * GTARGET_SIZE;
	x->vmid = g->vmid;
	x->node = (char *)g->node;
	x->name = (char *)g->name;
	x->tags = (char *)g->tags;
	x->backup_lock = lock != NULL && strcmp(lock, "backup") == 0;
	/* No summary yet: most guests never breach (mon_sample_text). */
	return x;
}

static int
int_cmp(const void *a, const void *b)
{
	int	 x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* In a sorted list (monitor.running is kept sorted). */
static int
int_in(const int *v, size_t n, int x)
{
	return n > 0 && bsearch(&x, v, n, sizeof *v, int_cmp) != NULL;
}

/* Did a pvebot job stop (or may have stopped) this guest lately? */
static int
stopped_by_job(struct monitor *m, int vmid, int64_t since)
{
	/* A backup in stop mode stops the guest too; -1 (cannot tell):
	 * do not accuse. */
	return jobs_stopping_guest_since(m->store, vmid, since, 1) != 0;
}

/*
 * Is an alert on this guest's stop still open (it stays until it runs)?
 * The open ones are read once a cycle, at the first stopped guest: one
 * statement, not one per guest.
 */
static int
stop_alert_open(struct monitor *m, int vmid)
{
	struct alert_row	*rows = NULL;
	size_t			 nrows = 0, i, k;
	const char		*errstr;

	if (!m->stop_alerts_read) {
		m->nstop_alerts = 0;
		if (alerts_all(m->store, &rows, &nrows) != 0) {
			/* Cannot tell: accuse no guest this cycle. */
			alert_rows_free(rows, nrows);
			m->stop_alerts_read = 1;
			return 0;
		}
		free(m->stop_alerts);
		m->stop_alerts = xreallocarray(NULL, nrows + 1,
		    sizeof *m->stop_alerts);
		for (i = 0; i < nrows; i++) {
			const struct alert_row	*r = &rows[i];

			if ((r->state != ALERT_PENDING &&
			    r->state != ALERT_FIRING &&
			    r->state != ALERT_FLAPPING) ||
			    !str_has_prefix(r->target, "guest:"))
				continue;
			for (k = 0; k < m->nrules; k++) {
				if (strcmp(m->rules[k].name, r->rule) == 0 &&
				    strcmp(m->rules[k].metric,
				    "guest.stopped_unexpectedly") == 0)
					break;
			}
			if (k == m->nrules)
				continue;
			m->stop_alerts[m->nstop_alerts] = (int)strtonum(
			    r->target + strlen("guest:"), 1, 999999999,
			    &errstr);
			if (errstr == NULL)
				m->nstop_alerts++;
		}
		alert_rows_free(rows, nrows);
		qsort(m->stop_alerts, m->nstop_alerts, sizeof *m->stop_alerts,
		    int_cmp);
		m->stop_alerts_read = 1;
	}
	return int_in(m->stop_alerts, m->nstop_alerts, vmid);
}

static void
save_running(struct monitor *m, const int *running, size_t n)
{
	struct buf	 b;
	size_t		 i;

	if (m->have_running && n == m->nrunning &&
	    memcmp(running, m->running, n * sizeof *running) == 0)
		return;
	buf_init(&b, 0);
	buf_puts(&b, "");
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%d", i ? "," : "", running[i]);
	store_kv_set(m->store, "monitor.running", b.data);
	buf_release(&b);
	free(m->running);
	m->running = xreallocarray(NULL, n + 1, sizeof *running);
	memcpy(m->running, running, n * sizeof *running);
	m->nrunning = n;
	m->have_running = 1;
}

static void
poll_guest(struct monitor *m, const struct pve_res *g, int64_t now,
    struct mon_samples *s, int *running, size_t *nrunning)
{
	const char	*status = g->status;
	int		 vmid = g->vmid;
	const char	*lock = g->lock;
	int		 backup = lock != NULL && strcmp(lock, "backup") == 0;
	double		 v;

	if (status == NULL || vmid <= 0 || g->is_template)
		return;
	mon_expected_guest(m, g, now, s);
	if (strcmp(status, "running") == 0) {
		running[(*nrunning)++] = vmid;
		add_guest(s, "guest.cpu", g, 100.0 * g->cpu);
		add_guest(s, "guest.memory", g, mon_pct((double)g->mem,
		    (double)g->maxmem));
		if (g->maxdisk > 0 && g->disk > 0)
			add_guest(s, "guest.disk", g, mon_pct((double)g->disk,
			    (double)g->maxdisk));
		add_guest(s, "guest.stopped_unexpectedly", g, 0);
	} else if (strcmp(status, "stopped") == 0) {
		v = 0;
		if (m->have_running && int_in(m->running, m->nrunning, vmid) &&
		    !backup) {
			int64_t	 since = (m->last_poll > 0 ? m->last_poll :
			    now) - 600;

			if (!stopped_by_job(m, vmid, since)) {
				log_info("monitor", "guest stopped outside "
				    "pvebot vmid=%d", vmid);
				v = 1;
			}
		} else if (!backup && stop_alert_open(m, vmid))
			v = 1;
		add_guest(s, "guest.stopped_unexpectedly", g, v);
	} else {
		/* "unknown" (node offline): nothing is known of it. */
		char	*target = xasprintf("guest:%d", vmid);

		mon_samples_unknown(s, target);
		free(target);
	}
}

/* "guest:N" of every guest record, GTARGET_SIZE bytes each. */
static void
guest_targets(struct mon_samples *s)
{
	const struct pve_resources	*rs = &s->res;
	size_t				 i;

	s->gtargets = xcalloc(rs->n + 1, GTARGET_SIZE);
	for (i = 0; i < rs->n; i++) {
		char	*t = s->gtargets + i * GTARGET_SIZE, digits[12];
		int	 v = rs->v[i].vmid, k = 0;

		if (!pve_res_is_guest(&rs->v[i]))
			continue;
		memcpy(t, "guest:", 6);
		do {
			digits[k++] = (char)('0' + v % 10);
			v /= 10;
		} while (v > 0);
		t += 6;
		while (k > 0)
			*t++ = digits[--k];
		*t = '\0';
	}
}

static int
poll_resources(struct monitor *m, int64_t now, struct mon_samples *s)
{
	struct pve_resources	*data = &s->res;
	char			*cause = NULL, **seen = NULL;
	int			*running;
	size_t			 i, nrunning = 0, nseen = 0, j;

	if (pve_resources_read(m->app->pve, NULL, data, &cause) != PVE_OK) {
		log_warn("monitor", "cannot read /cluster/resources: %s",
		    cause);
		free(cause);
		return -1;
	}
	/* The same reply keeps the router's guest index fresh. */
	app_publish_resources(m->app, data);
	guest_targets(s);
	m->stop_alerts_read = 0;
	running = xreallocarray(NULL, data->n + 1, sizeof *running);
	seen = xreallocarray(NULL, data->n + 1, sizeof *seen);
	for (i = 0; i < data->n; i++) {
		const struct pve_res	*o = &data->v[i];
		const char		*node = o->node;
		const char		*status = o->status;

		if (o->type == PVE_RES_NODE && node != NULL) {
			int	 online = status != NULL &&
			    strcmp(status, "online") == 0;

			add_node(s, "node.offline", node, online ? 0 : 1);
			if (!online) {
				char	*target = xasprintf("node:%s", node);

				mon_samples_unknown(s, target);
				mon_samples_node_offline(s, node);
				free(target);
				continue;
			}
			add_node(s, "node.cpu", node, 100.0 * o->cpu);
			add_node(s, "node.memory", node, mon_pct((double)o->mem,
			    (double)o->maxmem));
			add_node(s, "node.disk", node, mon_pct((double)o->disk,
			    (double)o->maxdisk));
		} else if (pve_res_is_guest(o))
			poll_guest(m, o, now, s, running, &nrunning);
		else if (o->type == PVE_RES_STORAGE) {
			const char		*id = o->storage;
			int			 shared = o->shared;
			char			*target;
			struct mon_sample	*x;

			if (id == NULL || node == NULL)
				continue;
			target = shared ? xasprintf("storage:%s", id) :
			    xasprintf("storage:%s@%s", id, node);
			if (status == NULL || strcmp(status, "available") != 0 ||
			    o->maxdisk <= 0) {
				if (!shared)
					mon_samples_unknown(s, target);
				free(target);
				continue;
			}
			for (j = 0; j < nseen; j++) {
				if (strcmp(seen[j], target) == 0)
					break;
			}
			if (j < nseen) {
				free(target);
				continue;
			}
			seen[nseen++] = target;
			x = mon_sample_add(s, "storage.usage", "storage",
			    target, mon_pct((double)o->disk,
			    (double)o->maxdisk));
			x->name = xstrdup(id);
			x->node = shared ? NULL : xstrdup(node);
			mon_sample_summary(x);
		}
	}
	for (j = 0; j < nseen; j++)
		free(seen[j]);
	free(seen);
	/* Sorted, so an unchanged set is not written again. */
	qsort(running, nrunning, sizeof *running, int_cmp);
	save_running(m, running, nrunning);
	free(running);
	return 0;
}

static int
poll_status(struct monitor *m, struct mon_samples *s, json_t **out)
{
	json_t		*data = NULL, *o;
	char		*cause = NULL;
	size_t		 i;

	if (pve_request(m->app->pve, "GET", "/cluster/status", NULL, 0,
	    &data, &cause) != PVE_OK || !json_is_array(data)) {
		log_warn("monitor", "cannot read /cluster/status: %s",
		    cause != NULL ? cause : "not a list");
		free(cause);
		json_decref(data);
		return -1;
	}
	json_array_foreach(data, i, o) {
		const char		*type = jx_str(o, "type", NULL);
		struct mon_sample	*x;

		if (type == NULL || strcmp(type, "cluster") != 0)
			continue;
		x = mon_sample_add(s, "cluster.quorum", "cluster", "cluster",
		    jx_num(o, "quorate") != 0 ? 1 : 0);
		x->name = jx_str(o, "name", NULL) ? xstrdup(jx_str(o, "name", NULL)) :
		    NULL;
		mon_sample_summary(x);
	}
	*out = data;
	return 0;
}

static void
backup_seen(struct mon_backup **v, size_t *n, int vmid, int64_t ctime)
{
	size_t	 i;

	for (i = 0; i < *n; i++) {
		if ((*v)[i].vmid == vmid) {
			if (ctime > (*v)[i].ctime)
				(*v)[i].ctime = ctime;
			return;
		}
	}
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[*n].vmid = vmid;
	(*v)[(*n)++].ctime = ctime;
}

/* Lists every backup storage once (shared ones from one node). */
int
mon_read_backups(struct pve *pve, const struct pve_resources *resources,
    struct mon_backup **out, size_t *nout)
{
	struct mon_backup	*v = NULL;
	size_t			 n = 0, i, k;
	char			**done = NULL;
	size_t			 ndone = 0;
	int			 rc = 0;

	done = xreallocarray(NULL, resources->n + 1, sizeof *done);
	for (i = 0; i < resources->n; i++) {
		const struct pve_res	*o = &resources->v[i];
		const char	*id = o->storage;
		const char	*node = o->node;
		const char	*content = o->content;
		const char	*status = o->status;
		struct pve_param p = { "content", "backup" };
		json_t		*data = NULL, *e;
		char		*path, *key, *cause = NULL;
		size_t		 j;

		if (o->type != PVE_RES_STORAGE ||
		    id == NULL || node == NULL || content == NULL ||
		    strstr(content, "backup") == NULL || status == NULL ||
		    strcmp(status, "available") != 0)
			continue;
		key = o->shared ? xstrdup(id) :
		    xasprintf("%s@%s", id, node);
		for (k = 0; k < ndone && strcmp(done[k], key) != 0; k++)
			;
		if (k < ndone) {
			free(key);
			continue;
		}
		done[ndone++] = key;
		path = xasprintf("/nodes/%s/storage/%s/content", node, id);
		if (pve_request(pve, "GET", path, &p, 1, &data,
		    &cause) != PVE_OK || !json_is_array(data)) {
			log_warn("monitor", "cannot list backups storage=%s "
			    "node=%s: %s", id, node, cause != NULL ? cause :
			    "not a list");
			free(cause);
			rc = -1;
		} else {
			json_array_foreach(data, j, e) {
				int	 vmid = (int)jx_num(e, "vmid");

				if (vmid > 0)
					backup_seen(&v, &n, vmid,
					    (int64_t)jx_num(e, "ctime"));
			}
		}
		json_decref(data);
		free(path);
	}
	for (k = 0; k < ndone; k++)
		free(done[k]);
	free(done);
	if (rc != 0) {
		free(v);
		return -1;
	}
	*out = v;
	*nout = n;
	return 0;
}

static int
read_backups(struct monitor *m, const struct pve_resources *resources)
{
	struct mon_backup	*v = NULL;
	size_t			 n = 0;

	if (mon_read_backups(m->app->pve, resources, &v, &n) != 0)
		return -1;
	free(m->backups);
	m->backups = v;
	m->nbackups = n;
	return 0;
}

static void
poll_backups(struct monitor *m, int64_t now,
    const struct pve_resources *resources, struct mon_samples *s)
{
	size_t		 i, k;

	const struct conf_monitor	*mc = &m->conf->monitor;
	int64_t				 every = mc->backups.interval > 0 ?
	    mc->backups.interval : BACKUP_REFRESH;

	/* The newest backups also tell when a failed backup is over. */
	if (mc->no_backup_days <= 0 && mc->backups.interval <= 0)
		return;
	if ((m->backups_at == 0 || now - m->backups_at >= every ||
	    now < m->backups_at) && read_backups(m, resources) == 0)
		m->backups_at = now;
	if (m->backups_at == 0 || mc->no_backup_days <= 0)
		return;
	s->backups_ok = 1;
	for (i = 0; i < resources->n; i++) {
		const struct pve_res	*o = &resources->v[i];
		int			 vmid = o->vmid;
		double			 days = NEVER_BACKED_UP;

		if (!pve_res_is_guest(o) || vmid <= 0 || o->is_template ||
		    mon_guest_ignored(mc, o))
			continue;
		for (k = 0; k < m->nbackups; k++) {
			if (m->backups[k].vmid == vmid) {
				days = (double)(now - m->backups[k].ctime) /
				    86400.0;
				if (days < 0)
					days = 0;
			}
		}
		/*
		 * A guest never backed up is left out of backups on
		 * purpose more often than not: the digest lists it, the
		 * alert is for backups that stopped (backup-missing says
		 * when it is in no job). Its reading keeps an alert going
		 * when its last backup was deleted, but opens none.
		 */
		add_guest(s, "guest.no_backup", o, days)->no_new =
		    days >= NEVER_BACKED_UP;
	}
}

struct mon_host *
mon_host_get(struct monitor *m, const char *host)
{
	const struct conf_ssh_host	*h;
	size_t				 i;

	for (i = 0; i < m->nhosts; i++) {
		if (strcmp(m->hosts[i].host, host) == 0)
			return &m->hosts[i];
	}
	m->hosts = xreallocarray(m->hosts, m->nhosts + 1, sizeof *m->hosts);
	memset(&m->hosts[m->nhosts], 0, sizeof *m->hosts);
	m->hosts[m->nhosts].host = xstrdup(host);
	h = conf_ssh_host_find(m->conf, host);
	m->hosts[m->nhosts].node = xstrdup(h != NULL && h->node != NULL ?
	    h->node : host);
	m->hosts[m->nhosts].seen = sensors_seen_create();
	return &m->hosts[m->nhosts++];
}

static void
filter_of(const struct conf_monitor *mc, struct sensor_filter *f)
{
	memset(f, 0, sizeof *f);
	f->ignore = (const char *const *)mc->sensor_ignore;
	f->nignore = mc->nsensor_ignore;
	f->temp_min = SENSOR_TEMP_MIN;
	f->temp_max = mc->temp_max_sane > 0 ? mc->temp_max_sane :
	    SENSOR_TEMP_MAX;
}

static void
host_took(struct mon_host *h)
{
	size_t	 i;

	/* Oddities come once per host (sensors_seen): log them once. */
	for (i = 0; i < h->list.nnotes; i++)
		log_warn("monitor", "sensor reading ignored host=%s: %s",
		    h->host, h->list.notes[i]);
	h->have = 1;
	h->ok = 1;
}

int
monitor_sensors_input(struct monitor *m, const char *host, const char *json,
    char **cause)
{
	struct mon_host		*h = mon_host_get(m, host);
	struct sensor_filter	 f;
	struct sensor_list	 l;

	filter_of(&m->conf->monitor, &f);
	if (sensors_parse_json(json, &f, h->seen, &l, cause) != 0)
		return -1;
	sensor_list_release(&h->list);
	h->list = l;
	host_took(h);
	return 0;
}

static void
read_sensors(struct monitor *m)
{
	const struct conf_monitor	*mc = &m->conf->monitor;
	const char			*argv[] = { "sensors", "-j" };
	struct sensor_filter		 f;
	size_t				 i;

	filter_of(mc, &f);
	if (mc->local_sensors) {
		struct mon_host		*h = mon_host_get(m, "local");
		struct sensor_list	 l;
		char			*cause = NULL;

		if (sensors_local_read(&f, h->seen, &l, &cause) == 0) {
			sensor_list_release(&h->list);
			h->list = l;
			host_took(h);
		} else {
			log_warn("monitor", "local sensors: %s", cause);
			free(cause);
		}
	}
	/* The demo's sensor host (app.h: sensor_feed), read like SSH
	 * output; a failure leaves its readings unmeasured this cycle. */
	if (m->app->sensor_feed != NULL) {
		const char	*host = m->app->sensor_feed_host;
		char		*json, *cause = NULL;

		if ((json = m->app->sensor_feed(m->app->sensor_feed_arg,
		    &cause)) == NULL ||
		    monitor_sensors_input(m, host, json, &cause) != 0)
			log_warn("monitor", "sensors host=%s: %s", host,
			    cause != NULL ? cause : "no reading");
		free(json);
		free(cause);
	}
	for (i = 0; i < mc->nsensor_hosts; i++) {
		struct ssh_result	 res;
		char			*cause = NULL;

		if (ssh_run(&m->conf->ssh, mc->sensor_hosts[i], argv, 2, 30,
		    NULL, NULL, &res, &cause) != 0 || res.exit_status != 0) {
			log_warn("monitor", "sensors -j failed host=%s: %s",
			    mc->sensor_hosts[i], cause != NULL ? cause :
			    res.err);
		} else if (monitor_sensors_input(m, mc->sensor_hosts[i],
		    res.out, &cause) != 0)
			log_warn("monitor", "sensors -j host=%s: %s",
			    mc->sensor_hosts[i], cause);
		free(cause);
		ssh_result_release(&res);
	}
}

/*
 * GPUs of each gpu host, every cycle like `sensors -j` (one short
 * nvidia-smi query). A host where it fails (no GPU, no driver, not
 * installed, unreachable) is logged once until it reads again, and its
 * GPU alerts are neither fired nor resolved meanwhile.
 */
static void
read_gpus(struct monitor *m)
{
	const struct conf_monitor	*mc = &m->conf->monitor;
	const char			*argv[] = { "nvidia-smi",
	    "--query-gpu=name,temperature.gpu,utilization.gpu,memory.used,"
	    "memory.total", "--format=csv,noheader,nounits" };
	size_t				 i;

	for (i = 0; i < mc->ngpu_hosts; i++) {
		struct mon_host		*h = mon_host_get(m, mc->gpu_hosts[i]);
		struct ssh_result	 res;
		struct gpu_list		 gl;
		char			*cause = NULL, *why = NULL;

		if (ssh_run(&m->conf->ssh, h->host, argv, 3, 30, NULL, NULL,
		    &res, &cause) != 0)
			why = xstrdup(cause);
		else if (res.exit_status != 0) {
			char	*nl, *err = xstrdup(*res.err != '\0' ? res.err :
			    res.out);

			if ((nl = strchr(err, '\n')) != NULL)
				*nl = '\0';
			why = xasprintf("exit status %d: %s", res.exit_status,
			    err);
			free(err);
		} else if (gpu_parse(res.out, &gl, &cause) != 0)
			why = xstrdup(cause);
		else {
			gpu_release(&h->gpus);
			h->gpus = gl;
			h->gpu_have = 1;
			h->gpu_ok = 1;
			if (h->gpu_failing)
				log_info("monitor", "nvidia-smi reads again "
				    "host=%s gpus=%zu", h->host, gl.n);
			h->gpu_failing = 0;
		}
		if (why != NULL && !h->gpu_failing) {
			log_warn("monitor", "nvidia-smi failed host=%s: %s "
			    "(not logged again until it works)", h->host, why);
			h->gpu_failing = 1;
		}
		free(why);
		free(cause);
		ssh_result_release(&res);
	}
}

static void
gpu_samples(struct monitor *m, struct mon_host *h, struct mon_samples *s)
{
	struct sensor_filter	 f;
	size_t			 j;

	filter_of(&m->conf->monitor, &f);
	for (j = 0; j < h->gpus.n; j++) {
		const struct gpu_info	*g = &h->gpus.v[j];
		struct mon_sample	*x;
		char			*chip, *target;

		chip = xasprintf("%s%zu", MON_GPU_CHIP, j);
		target = xasprintf("sensor:%s/%s/%s", h->host, chip, g->name);
		if (sensors_ignored(&f, chip, g->name)) {
			free(target);
			free(chip);
			continue;
		}
		/* [N/A] (-1) or outside the sane range: not measured, so
		 * an alert on it neither fires nor resolves. */
		if (g->temp_c < 0 || g->temp_c < f.temp_min ||
		    g->temp_c > f.temp_max) {
			mon_samples_unknown(s, target);
			free(target);
			free(chip);
			continue;
		}
		x = mon_sample_add(s, "sensor.temp", "sensor", target,
		    g->temp_c);
		x->node = xstrdup(h->node);
		x->name = xasprintf("%s/%s", chip, g->name);
		mon_sample_summary(x);
		free(target);
		free(chip);
	}
}

static void
electric_samples(struct monitor *m, struct mon_host *h,
    const struct sensor_reading *r, const char *target,
    struct mon_samples *s)
{
	int			 volt = r->kind == SENSOR_VOLTAGE;
	const char		*unit = volt ? "V" : "A";
	char			*chip = chip_short(r->chip), range[64];
	struct mon_sample	*x;
	double			 min, max;
	int			 out;

	x = mon_sample_add(s, volt ? "sensor.voltage" : "sensor.current",
	    "sensor", target, r->value);
	x->node = xstrdup(h->node);
	x->name = xasprintf("%s/%s", r->chip, r->label);
	x->summary = xasprintf("%s: %s %.2f %s (%s)", h->node, r->label,
	    r->value, unit, chip);
	if (sensor_limits_of(&m->conf->monitor, r, &min, &max) != 0) {
		if (isinf(min))
			snprintf(range, sizeof range, "at most %.2f %s", max,
			    unit);
		else if (isinf(max))
			snprintf(range, sizeof range, "at least %.2f %s", min,
			    unit);
		else
			snprintf(range, sizeof range, "%.2f-%.2f %s", min, max,
			    unit);
		out = r->value < min || r->value > max;
		x = mon_sample_add(s, volt ? "sensor.voltage_out" :
		    "sensor.current_out", "sensor", target, out);
		x->node = xstrdup(h->node);
		x->name = xasprintf("%s/%s", r->chip, r->label);
		x->summary = xasprintf("%s: %s %.2f %s %s %s (%s)", h->node,
		    r->label, r->value, unit, out ? "outside" : "within",
		    range, chip);
	}
	free(chip);
}

static void
sensor_samples(struct monitor *m, struct mon_samples *s)
{
	size_t	 i, j;

	for (i = 0; i < m->nhosts; i++) {
		struct mon_host	*h = &m->hosts[i];

		if (h->gpu_have) {
			gpu_samples(m, h, s);
			h->gpu_have = 0;
		}
		if (!h->have)
			continue;
		for (j = 0; j < h->list.n; j++) {
			const struct sensor_reading	*r = &h->list.v[j];
			struct mon_sample		*x;
			char				*target;

			target = xasprintf("sensor:%s/%s/%s", h->host,
			    r->chip, r->label);
			if (r->kind == SENSOR_VOLTAGE ||
			    r->kind == SENSOR_CURRENT) {
				electric_samples(m, h, r, target, s);
				free(target);
				continue;
			}
			x = mon_sample_add(s, r->kind == SENSOR_TEMP ?
			    "sensor.temp" : "sensor.fan_stall", "sensor",
			    target, r->kind == SENSOR_TEMP ? r->value :
			    r->value <= 0 ? 1 : 0);
			free(target);
			x->node = xstrdup(h->node);
			x->name = xasprintf("%s/%s", r->chip, r->label);
			mon_sample_summary(x);
		}
		/* Used once: the next cycle needs a new reading. */
		h->have = 0;
	}
}

int
mon_poll(struct monitor *m, int64_t now, struct mon_samples *s)
{
	json_t			*status = NULL;
	size_t			 i;
	int			 have = 0;

	memset(s, 0, sizeof *s);
	for (i = 0; i < m->nhosts; i++) {
		m->hosts[i].ok = m->hosts[i].have;
		m->hosts[i].gpu_ok = 0;
	}
	if (m->app->pve != NULL) {
		if (poll_resources(m, now, s) == 0) {
			have = 1;
			s->resources_ok = 1;
			poll_backups(m, now, &s->res, s);
			mon_ops_poll(m, now, &s->res);
		}
		if (poll_status(m, s, &status) == 0)
			s->status_ok = 1;
		/* The kinds read on their own schedules need the list of
		 * nodes and guests; without it they wait. */
		if (have)
			mon_health_poll(m, now, &s->res, status, s);
		json_decref(status);
	}
	read_sensors(m);
	read_gpus(m);
	sensor_samples(m, s);
	m->last_poll = now;
	mon_samples_sort(s);
	return s->resources_ok ? 0 : -1;
}
