/*
 * pve_format.c - the answers of the read commands (status, quorum,
 * storage, nodes, guests, guest, snapshots, backups, tasks, task) as
 * plain text for chat.
 *
 * Lines are short so they fit a phone; lists are sorted and capped with an
 * "... and N more" line. Text from the API (names, descriptions, log
 * lines) is passed through as is: escaping for a platform's markup is the
 * connector's job.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "exec_proxmox.h"
#include "jsonx.h"
#include "util.h"

#define LIST_MAX	15	/* snapshots, backups, tasks shown */
#define STORAGE_MAX	60	/* storage lines shown */
#define STORAGE_FULL	90	/* percent: marked "almost full" */
#define TASK_LOG_TAIL	10	/* log lines shown by `task` */
#define TASK_LOG_MAX	5000	/* log lines read at most */

char *
pve_format_bytes(int64_t bytes, char *buf, size_t len)
{
	static const char	*units[] = { "B", "KiB", "MiB", "GiB", "TiB",
				    "PiB" };
	double			 v = (double)bytes;
	size_t			 i = 0;

	while (fabs(v) >= 1024 && i < nitems(units) - 1) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%lld B", (long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[i]);
	return buf;
}

static const char *
format_time(int64_t t, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "?");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
	return buf;
}

/*
 * Text from the API as one line without control characters, cut to fit
 * at a character boundary (chat platforms refuse broken UTF-8).
 */
static const char *
one_line(const char *s, char *out, size_t len)
{
	size_t	i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++) {
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' :
		    s[i];
	}
	if (s[i] != '\0') {
		while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
			i--;
	}
	out[i] = '\0';
	return out;
}

static int
percent(double part, double whole)
{
	if (whole <= 0)
		return 0;
	return (int)lround(part * 100 / whole);
}

/* Runs a GET and insists on an array. */
static json_t *
get_array(struct pve *pve, const char *path, const struct pve_param *p,
    size_t np, char **cause)
{
	json_t	*data;

	if (pve_request(pve, "GET", path, p, np, &data, cause) != PVE_OK)
		return NULL;
	if (!json_is_array(data)) {
		json_decref(data);
		set_cause(cause, "Proxmox sent a reply that is not a list "
		    "for %s", path);
		return NULL;
	}
	return data;
}

static char *
finish(struct buf *b)
{
	while (b->len > 0 && b->data[b->len - 1] == '\n')
		b->data[--b->len] = '\0';
	return buf_steal(b);
}

/*
 * storage: /cluster/resources?type=storage has one entry per storage
 * and node; a shared storage is one pool, shown once.
 */

struct storage_row {
	const char	*id, *node, *type, *status;
	int		 shared;
	int64_t		 used, size;
	int		 pct;
};

static void
usage_bar(struct buf *b, int pct)
{
	int	 i, full = (pct + 5) / 10;

	buf_puts(b, "[");
	for (i = 0; i < 10; i++)
		buf_puts(b, i < full ? "\xe2\x96\x88" : "\xe2\x96\x91");
	buf_puts(b, "]");
}

static int
cmp_storage_row(const void *a, const void *b)
{
	const struct storage_row	*x = a, *y = b;
	int				 c;

	if (x->shared != y->shared)
		return x->shared ? -1 : 1;
	if (!x->shared && (c = strcmp(x->node, y->node)) != 0)
		return c;
	return strcmp(x->id, y->id);
}

/*
 * The storage rows of a /cluster/resources reply: local storages per
 * node, shared ones once (as an online node reports them). Sorted:
 * shared first, then by node and id. *n rows; the caller frees the array
 * (the strings belong to `list`).
 */
static struct storage_row *
storage_rows(json_t *list, size_t *n)
{
	struct storage_row	*rows, *r;
	json_t			*v;
	size_t			 i, k;

	rows = xcalloc(json_array_size(list) + 1, sizeof *rows);
	*n = 0;
	json_array_foreach(list, i, v) {
		const char	*id = jx_str(v, "storage", NULL);
		int		 shared = jx_int(v, "shared") != 0;
		int		 avail;

		if (strcmp(jx_str(v, "type", ""), "storage") != 0 || id == NULL)
			continue;
		avail = strcmp(jx_str(v, "status", ""), "available") == 0;
		if (shared) {
			for (k = 0; k < *n; k++) {
				if (rows[k].shared &&
				    strcmp(rows[k].id, id) == 0)
					break;
			}
			if (k < *n) {
				/* Keep the view of a node that sees it. */
				if (!avail || strcmp(rows[k].status,
				    "available") == 0)
					continue;
				r = &rows[k];
			} else
				r = &rows[(*n)++];
		} else
			r = &rows[(*n)++];
		r->id = id;
		r->node = jx_str(v, "node", "?");
		r->type = jx_str(v, "plugintype", "?");
		r->status = jx_str(v, "status", "unknown");
		r->shared = shared;
		r->used = jx_int(v, "disk");
		r->size = jx_int(v, "maxdisk");
		r->pct = percent((double)r->used, (double)r->size);
	}
	qsort(rows, *n, sizeof *rows, cmp_storage_row);
	return rows;
}

static void
storage_line(struct buf *b, const struct storage_row *r)
{
	char	 used[32], size[32];

	buf_printf(b, "  %s (%s%s) ", r->id, r->type, r->shared ?
	    ", shared" : "");
	if (strcmp(r->status, "available") != 0)
		buf_printf(b, "%s\n", r->status);
	else if (r->size <= 0)
		buf_puts(b, "no size reported\n");
	else {
		usage_bar(b, r->pct);
		buf_printf(b, " %d%% %s of %s%s\n", r->pct,
		    pve_format_bytes(r->used, used, sizeof used),
		    pve_format_bytes(r->size, size, sizeof size),
		    r->pct >= STORAGE_FULL ? ", almost full" : "");
	}
}

char *
pve_format_storage(struct pve *pve, char **cause)
{
	struct pve_param	 p[] = { { "type", "storage" } };
	struct storage_row	*rows;
	struct buf		 b;
	json_t			*list;
	const char		*group = NULL;
	size_t			 n, i, shown = 0;

	if ((list = get_array(pve, "/cluster/resources", p, nitems(p),
	    cause)) == NULL)
		return NULL;
	rows = storage_rows(list, &n);
	buf_init(&b, 0);
	if (n == 0)
		buf_puts(&b, "No storage is visible to pvebot's token (it "
		    "needs Datastore.Audit)\n");
	for (i = 0; i < n && shown < STORAGE_MAX; i++, shown++) {
		const char	*g = rows[i].shared ? "shared" : rows[i].node;

		if (group == NULL || strcmp(group, g) != 0) {
			buf_printf(&b, "%s:\n", g);
			group = g;
		}
		storage_line(&b, &rows[i]);
	}
	if (i < n)
		buf_printf(&b, "... and %zu more\n", n - i);
	free(rows);
	json_decref(list);
	return finish(&b);
}

/* One line for status: the fullest storages. */
static void
status_storage(struct pve *pve, struct buf *b)
{
	struct pve_param	 p[] = { { "type", "storage" } };
	struct storage_row	*rows, **by_pct, *t;
	json_t			*list;
	char			*cause = NULL;
	size_t			 n, i, k, m = 0;

	if ((list = get_array(pve, "/cluster/resources", p, nitems(p),
	    &cause)) == NULL) {
		buf_printf(b, "Storage: unavailable (%s)\n", cause);
		free(cause);
		return;
	}
	rows = storage_rows(list, &n);
	by_pct = xcalloc(n + 1, sizeof *by_pct);
	for (i = 0; i < n; i++) {
		if (strcmp(rows[i].status, "available") == 0 &&
		    rows[i].size > 0)
			by_pct[m++] = &rows[i];
	}
	/* Insertion sort by percent, highest first: lists are short. */
	for (i = 1; i < m; i++) {
		for (k = i; k > 0 && by_pct[k]->pct > by_pct[k - 1]->pct;
		    k--) {
			t = by_pct[k];
			by_pct[k] = by_pct[k - 1];
			by_pct[k - 1] = t;
		}
	}
	if (m == 0)
		buf_printf(b, "Storage: none reported\n");
	else {
		buf_puts(b, "Storage: fullest");
		for (i = 0; i < m && i < 3; i++) {
			buf_printf(b, "%s ", i ? "," : "");
			if (!by_pct[i]->shared)
				buf_printf(b, "%s ", by_pct[i]->node);
			buf_printf(b, "%s %d%%%s", by_pct[i]->id,
			    by_pct[i]->pct, by_pct[i]->pct >= STORAGE_FULL ?
			    " (almost full)" : "");
		}
		buf_puts(b, "\n");
	}
	free(by_pct);
	free(rows);
	json_decref(list);
}

/*
 * quorum: the cluster's view from /cluster/status (no SSH needed; pvecm
 * over SSH is the `pvecm` command).
 */
char *
pve_format_quorum(struct pve *pve, char **cause)
{
	json_t		*cs, *v;
	struct buf	 b, nodes;
	size_t		 i;
	const char	*cluster = NULL;
	int		 quorate = 0, online = 0, total = 0, expected = 0;

	if ((cs = get_array(pve, "/cluster/status", NULL, 0, cause)) == NULL)
		return NULL;
	buf_init(&b, 0);
	buf_init(&nodes, 0);
	json_array_foreach(cs, i, v) {
		const char	*type = jx_str(v, "type", "");

		if (strcmp(type, "cluster") == 0) {
			cluster = jx_str(v, "name", "?");
			quorate = jx_int(v, "quorate") != 0;
			expected = (int)jx_int(v, "nodes");
		} else if (strcmp(type, "node") == 0) {
			int	 on = jx_int(v, "online") != 0;

			total++;
			online += on;
			buf_printf(&nodes, "%s", jx_str(v, "name", "?"));
			if (jx_int(v, "nodeid") > 0)
				buf_printf(&nodes, " (id %lld)",
				    (long long)jx_int(v, "nodeid"));
			buf_printf(&nodes, ": %s%s\n", on ? "online" :
			    "OFFLINE", jx_int(v, "local") != 0 ?
			    ", answers the API" : "");
		}
	}
	if (cluster == NULL)
		buf_printf(&b, "Single node (no cluster): there is no quorum "
		    "to lose\n");
	else {
		buf_printf(&b, "Cluster %s: %s, %d of %d nodes online\n",
		    cluster, quorate ? "quorate" : "NOT QUORATE (no quorum)",
		    online, expected > total ? expected : total);
		if (!quorate)
			buf_puts(&b, "Without quorum Proxmox refuses changes "
			    "(start, stop, config) on every node\n");
	}
	buf_puts(&b, buf_cstr(&nodes));
	buf_release(&nodes);
	json_decref(cs);
	return finish(&b);
}

/*
 * status: quorum, nodes online, guests by state, the busiest guests,
 * the fullest storages.
 */

static int
cmp_cpu_desc(const void *a, const void *b)
{
	const struct pve_guest	*x = *(struct pve_guest * const *)a;
	const struct pve_guest	*y = *(struct pve_guest * const *)b;

	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? 1 : -1;
	return x->vmid - y->vmid;
}

char *
pve_format_status(struct pve *pve, char **cause)
{
	json_t			*cs, *nodes, *v;
	struct pve_guest	*g;
	struct pve_guest	**busy;
	struct buf		 b, off;
	size_t			 ng, i, nbusy = 0;
	int			 online = 0, total = 0, running = 0;
	int			 stopped = 0, templates = 0, other = 0;
	const char		*cluster = NULL;
	int			 quorate = -1;

	if ((cs = get_array(pve, "/cluster/status", NULL, 0, cause)) == NULL)
		return NULL;
	if ((nodes = get_array(pve, "/nodes", NULL, 0, cause)) == NULL) {
		json_decref(cs);
		return NULL;
	}
	if (pve_list_guests(pve, &g, &ng, cause) != PVE_OK) {
		json_decref(cs);
		json_decref(nodes);
		return NULL;
	}

	buf_init(&b, 0);
	buf_init(&off, 0);
	json_array_foreach(cs, i, v) {
		if (strcmp(jx_str(v, "type", ""), "cluster") == 0) {
			cluster = jx_str(v, "name", "?");
			quorate = jx_int(v, "quorate") != 0;
		}
	}
	if (cluster != NULL)
		buf_printf(&b, "Cluster %s: %s\n", cluster, quorate ?
		    "quorate" : "NOT QUORATE (no quorum)");
	else
		buf_printf(&b, "Single node (no cluster)\n");
	json_array_foreach(nodes, i, v) {
		total++;
		if (strcmp(jx_str(v, "status", ""), "online") == 0)
			online++;
		else
			buf_printf(&off, "%s%s", off.len ? ", " : "",
			    jx_str(v, "node", "?"));
	}
	buf_printf(&b, "Nodes: %d/%d online", online, total);
	if (off.len > 0)
		buf_printf(&b, " (offline: %s)", off.data);
	buf_puts(&b, "\n");

	busy = xcalloc(ng + 1, sizeof *busy);
	for (i = 0; i < ng; i++) {
		if (g[i].is_template)
			templates++;
		else if (strcmp(g[i].status, "running") == 0) {
			running++;
			busy[nbusy++] = &g[i];
		} else if (strcmp(g[i].status, "stopped") == 0)
			stopped++;
		else
			other++;
	}
	buf_printf(&b, "Guests: %d running, %d stopped", running, stopped);
	if (other > 0)
		buf_printf(&b, ", %d other", other);
	if (templates > 0)
		buf_printf(&b, ", %d templates", templates);
	buf_puts(&b, "\n");
	if (nbusy > 0) {
		qsort(busy, nbusy, sizeof *busy, cmp_cpu_desc);
		buf_puts(&b, "Top CPU:");
		for (i = 0; i < nbusy && i < 3; i++)
			buf_printf(&b, "%s %d %s %d%%", i ? "," : "",
			    busy[i]->vmid, busy[i]->name,
			    percent(busy[i]->cpu, 1));
		buf_puts(&b, "\n");
	}
	free(busy);
	status_storage(pve, &b);
	buf_release(&off);
	pve_guests_free(g, ng);
	json_decref(cs);
	json_decref(nodes);
	return finish(&b);
}

/*
 * nodes: one line per node, details from /nodes/{node}/status.
 */

static int
cmp_node_name(const void *a, const void *b)
{
	return strcmp(jx_str(*(json_t * const *)a, "node", ""),
	    jx_str(*(json_t * const *)b, "node", ""));
}

static void
node_details(struct pve *pve, struct buf *b, const char *node)
{
	json_t		*st, *root, *load;
	char		*path, *cause = NULL, used[32], size[32];
	const char	*ver;

	path = xasprintf("/nodes/%s/status", node);
	if (pve_request(pve, "GET", path, NULL, 0, &st, &cause) != PVE_OK) {
		buf_printf(b, "  (details unavailable: %s)\n", cause);
		free(cause);
		free(path);
		return;
	}
	free(path);
	load = json_object_get(st, "loadavg");
	root = json_object_get(st, "rootfs");
	if (json_is_array(load) && json_array_size(load) > 0) {
		buf_printf(b, "  load %s",
		    json_is_string(json_array_get(load, 0)) ?
		    json_string_value(json_array_get(load, 0)) : "?");
		if (json_is_object(root))
			buf_printf(b, ", root %s/%s",
			    pve_format_bytes(jx_int(root, "used"), used,
			    sizeof used), pve_format_bytes(jx_int(root, "total"),
			    size, sizeof size));
		buf_puts(b, "\n");
	}
	if ((ver = jx_str(st, "pveversion", NULL)) != NULL)
		buf_printf(b, "  %s\n", ver);
	json_decref(st);
}

char *
pve_format_nodes(struct pve *pve, char **cause)
{
	json_t		*nodes, *v, **sorted;
	struct buf	 b;
	size_t		 i, n;
	char		 used[32], size[32], up[32];

	if ((nodes = get_array(pve, "/nodes", NULL, 0, cause)) == NULL)
		return NULL;
	n = json_array_size(nodes);
	sorted = xcalloc(n + 1, sizeof *sorted);
	json_array_foreach(nodes, i, v)
		sorted[i] = v;
	qsort(sorted, n, sizeof *sorted, cmp_node_name);

	buf_init(&b, 0);
	buf_printf(&b, "Nodes (%zu):\n", n);
	for (i = 0; i < n; i++) {
		v = sorted[i];
		if (strcmp(jx_str(v, "status", ""), "online") != 0) {
			buf_printf(&b, "%s: %s\n", jx_str(v, "node", "?"),
			    jx_str(v, "status", "unknown"));
			continue;
		}
		buf_printf(&b, "%s: online, up %s\n", jx_str(v, "node", "?"),
		    format_duration(jx_int(v, "uptime"), up, sizeof up));
		buf_printf(&b, "  cpu %d%% of %lld, mem %s/%s (%d%%)\n",
		    percent(jx_num(v, "cpu"), 1), (long long)jx_int(v, "maxcpu"),
		    pve_format_bytes(jx_int(v, "mem"), used, sizeof used),
		    pve_format_bytes(jx_int(v, "maxmem"), size, sizeof size),
		    percent(jx_num(v, "mem"), jx_num(v, "maxmem")));
		node_details(pve, &b, jx_str(v, "node", "?"));
	}
	free(sorted);
	json_decref(nodes);
	return finish(&b);
}

/*
 * guests and guest.
 */

static void
guest_line(struct buf *b, const struct pve_guest *g)
{
	buf_printf(b, "%d %s (%s, %s) ", g->vmid, g->name, g->type, g->node);
	if (g->is_template)
		buf_puts(b, "template");
	else if (strcmp(g->status, "running") == 0)
		buf_printf(b, "running %d%%", percent(g->cpu, 1));
	else
		buf_puts(b, g->status);
	if (g->lock != NULL)
		buf_printf(b, ", locked (%s)", g->lock);
	buf_puts(b, "\n");
}

char *
pve_format_guests(struct pve *pve, char **cause)
{
	struct pve_guest	*g;
	struct buf		 b;
	size_t			 n, i;

	if (pve_list_guests(pve, &g, &n, cause) != PVE_OK)
		return NULL;
	buf_init(&b, 0);
	buf_printf(&b, "Guests (%zu):\n", n);
	for (i = 0; i < n; i++)
		guest_line(&b, &g[i]);
	pve_guests_free(g, n);
	return finish(&b);
}

char *
pve_format_guest(struct pve *pve, const char *ref, char **cause)
{
	struct pve_guest	 g;
	struct buf		 b;
	json_t			*cur = NULL;
	char			*path, *ignored = NULL, a[32], c[32];
	const char		*status, *qmp;
	size_t			 i;
	int64_t			 uptime, mem, maxmem;
	double			 cpu;

	if (pve_resolve_guest(pve, ref, &g, cause) != PVE_OK)
		return NULL;
	/* Fresher than /cluster/resources; the list is the fall-back. */
	path = pve_guest_path(&g, "/status/current");
	if (pve_request(pve, "GET", path, NULL, 0, &cur, &ignored) != PVE_OK) {
		free(ignored);
		cur = NULL;
	}
	free(path);
	status = cur != NULL ? jx_str(cur, "status", g.status) : g.status;
	qmp = cur != NULL ? jx_str(cur, "qmpstatus", NULL) : NULL;
	uptime = cur != NULL ? jx_int(cur, "uptime") : g.uptime;
	cpu = cur != NULL ? jx_num(cur, "cpu") : g.cpu;
	mem = cur != NULL ? jx_int(cur, "mem") : g.mem;
	maxmem = cur != NULL && jx_int(cur, "maxmem") > 0 ?
	    jx_int(cur, "maxmem") : g.maxmem;

	buf_init(&b, 0);
	buf_printf(&b, "%d %s (%s on %s)\n", g.vmid, g.name, g.type, g.node);
	if (g.is_template)
		buf_puts(&b, "template\n");
	else {
		buf_printf(&b, "status: %s", status);
		if (qmp != NULL && strcmp(qmp, status) != 0)
			buf_printf(&b, " (%s)", qmp);
		if (strcmp(status, "running") == 0)
			buf_printf(&b, ", up %s", format_duration(uptime, a,
			    sizeof a));
		buf_puts(&b, "\n");
	}
	if (strcmp(status, "running") == 0)
		buf_printf(&b, "cpu %d%% of %d, ", percent(cpu, 1), g.maxcpu);
	buf_printf(&b, "mem %s/%s\n", pve_format_bytes(mem, a, sizeof a),
	    pve_format_bytes(maxmem, c, sizeof c));
	/* Proxmox does not know how full a VM's disks are (disk is 0). */
	if (g.maxdisk > 0 && g.disk > 0)
		buf_printf(&b, "disk %s/%s\n", pve_format_bytes(g.disk, a,
		    sizeof a), pve_format_bytes(g.maxdisk, c, sizeof c));
	else if (g.maxdisk > 0)
		buf_printf(&b, "disk %s\n", pve_format_bytes(g.maxdisk, c,
		    sizeof c));
	if (g.ntags > 0) {
		buf_puts(&b, "tags:");
		for (i = 0; i < g.ntags; i++)
			buf_printf(&b, "%s %s", i ? "," : "", g.tags[i]);
		buf_puts(&b, "\n");
	}
	if (g.pool != NULL)
		buf_printf(&b, "pool: %s\n", g.pool);
	if (g.lock != NULL || (cur != NULL && jx_str(cur, "lock", NULL)))
		buf_printf(&b, "locked: %s\n", cur != NULL &&
		    jx_str(cur, "lock", NULL) ? jx_str(cur, "lock", "") : g.lock);
	json_decref(cur);
	pve_guest_release(&g);
	return finish(&b);
}

/*
 * snapshots
 */


static int
cmp_snaptime(const void *a, const void *b)
{
	int64_t	x = jx_int(*(json_t * const *)a, "snaptime");
	int64_t	y = jx_int(*(json_t * const *)b, "snaptime");

	return (x > y) - (x < y);
}

char *
pve_format_snapshots(struct pve *pve, const char *ref, char **cause)
{
	struct pve_guest	 g;
	struct buf		 b;
	json_t			*list, *v, **snaps;
	const char		*desc;
	char			*path, when[32], line[64];
	size_t			 i, n = 0, shown;

	if (pve_resolve_guest(pve, ref, &g, cause) != PVE_OK)
		return NULL;
	path = pve_guest_path(&g, "/snapshot");
	list = get_array(pve, path, NULL, 0, cause);
	free(path);
	if (list == NULL) {
		pve_guest_release(&g);
		return NULL;
	}
	snaps = xcalloc(json_array_size(list) + 1, sizeof *snaps);
	json_array_foreach(list, i, v) {
		/* "current" is where the guest is now, not a snapshot. */
		if (strcmp(jx_str(v, "name", "current"), "current") != 0)
			snaps[n++] = v;
	}
	qsort(snaps, n, sizeof *snaps, cmp_snaptime);

	buf_init(&b, 0);
	if (n == 0)
		buf_printf(&b, "%d %s has no snapshots\n", g.vmid, g.name);
	else
		buf_printf(&b, "Snapshots of %d %s (%zu):\n", g.vmid, g.name,
		    n);
	/* The newest matter most: show the last LIST_MAX. */
	shown = n > LIST_MAX ? n - LIST_MAX : 0;
	if (shown > 0)
		buf_printf(&b, "... %zu older\n", shown);
	for (i = shown; i < n; i++) {
		v = snaps[i];
		buf_printf(&b, "%s  %s", jx_str(v, "name", "?"),
		    format_time(jx_int(v, "snaptime"), when, sizeof when));
		if (jx_int(v, "vmstate") != 0)
			buf_puts(&b, " +RAM");
		desc = jx_str(v, "description", "");
		if (*desc != '\0')
			buf_printf(&b, " - %s", one_line(desc, line,
			    sizeof line));
		buf_puts(&b, "\n");
	}
	free(snaps);
	json_decref(list);
	pve_guest_release(&g);
	return finish(&b);
}

/*
 * backups: every storage of the guest's node that holds backups (from
 * /cluster/resources, one call for all), then each one's content.
 */

/* Whether a comma-separated list ("backup,iso,vztmpl") holds word. */
static int
has_word(const char *list, const char *word)
{
	size_t		 n = strlen(word);
	const char	*p = list;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == ',') && (p[n] == '\0' ||
		    p[n] == ','))
			return 1;
		p += n;
	}
	return 0;
}

struct backup {
	char	*storage;
	char	*volid;
	int64_t	 ctime;
	int64_t	 size;
	int	 protected;
};

static int
cmp_backup_desc(const void *a, const void *b)
{
	const struct backup	*x = a, *y = b;

	return (x->ctime < y->ctime) - (x->ctime > y->ctime);
}

char *
pve_format_backups(struct pve *pve, const char *ref, char **cause)
{
	static const struct pve_param	 sp[] = { { "type", "storage" } };
	struct pve_guest		 g;
	struct buf			 b, skipped;
	struct backup			*bk = NULL;
	json_t				*stores, *s, *content, *v;
	char				*path, vmid[16], when[32], size[32];
	char				*one = NULL;
	const char			*sname, *volid, *base;
	size_t				 i, j, n = 0;
	struct pve_param		 cp[] = {
		{ "content", "backup" },
		{ "vmid", vmid }
	};

	if (pve_resolve_guest(pve, ref, &g, cause) != PVE_OK)
		return NULL;
	buf_init(&skipped, 0);
	snprintf(vmid, sizeof vmid, "%d", g.vmid);
	stores = get_array(pve, "/cluster/resources", sp, nitems(sp), cause);
	if (stores == NULL) {
		buf_release(&skipped);
		pve_guest_release(&g);
		return NULL;
	}
	json_array_foreach(stores, i, s) {
		/* Storages of the guest's node whose content has backups. */
		sname = jx_str(s, "storage", NULL);
		if (sname == NULL || strcmp(jx_str(s, "node", ""), g.node) != 0 ||
		    !has_word(jx_str(s, "content", ""), "backup") ||
		    strcmp(jx_str(s, "status", "available"), "available") != 0)
			continue;
		path = xasprintf("/nodes/%s/storage/%s/content", g.node,
		    sname);
		content = get_array(pve, path, cp, nitems(cp), &one);
		free(path);
		if (content == NULL) {
			/* One storage down does not hide the others. */
			buf_printf(&skipped, "%s: %s\n", sname, one);
			free(one);
			one = NULL;
			continue;
		}
		json_array_foreach(content, j, v) {
			if ((volid = jx_str(v, "volid", NULL)) == NULL ||
			    jx_int(v, "vmid") != g.vmid)
				continue;
			bk = xreallocarray(bk, n + 1, sizeof *bk);
			bk[n].storage = xstrdup(sname);
			bk[n].volid = xstrdup(volid);
			bk[n].ctime = jx_int(v, "ctime");
			bk[n].size = jx_int(v, "size");
			bk[n].protected = jx_int(v, "protected") != 0;
			n++;
		}
		json_decref(content);
	}
	if (n > 0)
		qsort(bk, n, sizeof *bk, cmp_backup_desc);

	buf_init(&b, 0);
	if (n == 0 && skipped.len == 0)
		buf_printf(&b, "%d %s has no backups on %s\n", g.vmid, g.name,
		    g.node);
	else if (n == 0)
		buf_printf(&b, "No backups of %d %s found\n", g.vmid, g.name);
	else
		buf_printf(&b, "Backups of %d %s (%zu), newest first:\n",
		    g.vmid, g.name, n);
	for (i = 0; i < n && i < LIST_MAX; i++) {
		base = strrchr(bk[i].volid, '/');
		base = base != NULL ? base + 1 : bk[i].volid;
		buf_printf(&b, "%s  %s  %s%s\n  %s\n",
		    format_time(bk[i].ctime, when, sizeof when),
		    pve_format_bytes(bk[i].size, size, sizeof size),
		    bk[i].storage, bk[i].protected ? " (protected)" : "",
		    base);
	}
	if (n > LIST_MAX)
		buf_printf(&b, "... and %zu older\n", n - LIST_MAX);
	if (skipped.len > 0)
		buf_printf(&b, "not readable:\n%s", skipped.data);
	buf_release(&skipped);
	for (i = 0; i < n; i++) {
		free(bk[i].storage);
		free(bk[i].volid);
	}
	free(bk);
	json_decref(stores);
	pve_guest_release(&g);
	return finish(&b);
}

/*
 * tasks and task.
 */

static int
cmp_task_desc(const void *a, const void *b)
{
	int64_t	x = jx_int(*(json_t * const *)a, "starttime");
	int64_t	y = jx_int(*(json_t * const *)b, "starttime");

	return (x < y) - (x > y);
}

static void
task_line(struct buf *b, const json_t *t)
{
	char		 when[32];
	const char	*status = jx_str(t, "status", NULL);
	const char	*id = jx_str(t, "id", "");

	if (status == NULL || strcmp(status, "running") == 0 ||
	    jx_int(t, "endtime") == 0)
		status = "running";
	buf_printf(b, "%s %s%s%s on %s: %s\n  %s\n",
	    format_time(jx_int(t, "starttime"), when, sizeof when),
	    jx_str(t, "type", "?"), *id ? " " : "", id, jx_str(t, "node", "?"),
	    status, jx_str(t, "upid", ""));
}

char *
pve_format_tasks(struct pve *pve, const char *node, char **cause)
{
	static const struct pve_param	 tp[] = {
		{ "limit", "15" },
		{ "source", "all" }
	};
	json_t				*nodes = NULL, *all, *list, *v, **sorted;
	struct buf			 b, skipped;
	char				*path, *one = NULL;
	size_t				 i, j, n;
	const char			*name;

	all = json_array();
	if (node == NULL) {
		if ((nodes = get_array(pve, "/nodes", NULL, 0, cause)) ==
		    NULL) {
			json_decref(all);
			return NULL;
		}
	} else {
		nodes = json_pack("[{ss ss}]", "node", node, "status",
		    "online");
	}
	buf_init(&b, 0);
	buf_init(&skipped, 0);
	json_array_foreach(nodes, i, v) {
		name = jx_str(v, "node", NULL);
		if (name == NULL || strcmp(jx_str(v, "status", ""), "online"))
			continue;
		path = xasprintf("/nodes/%s/tasks", name);
		list = get_array(pve, path, tp, nitems(tp),
		    node != NULL ? cause : &one);
		free(path);
		if (list == NULL && node != NULL) {
			buf_release(&b);
			buf_release(&skipped);
			json_decref(nodes);
			json_decref(all);
			return NULL;
		}
		if (list == NULL) {
			/* One node down does not hide the others. */
			buf_printf(&skipped, "%s\n", one);
			free(one);
			one = NULL;
			continue;
		}
		json_array_foreach(list, j, v)
			json_array_append(all, v);
		json_decref(list);
	}
	n = json_array_size(all);
	sorted = xcalloc(n + 1, sizeof *sorted);
	json_array_foreach(all, i, v)
		sorted[i] = v;
	qsort(sorted, n, sizeof *sorted, cmp_task_desc);
	if (n == 0)
		buf_printf(&b, "No recent tasks%s%s\n", node ? " on " : "",
		    node ? node : "");
	else
		buf_printf(&b, "Recent tasks%s%s:\n", node ? " on " : "",
		    node ? node : "");
	for (i = 0; i < n && i < LIST_MAX; i++)
		task_line(&b, sorted[i]);
	if (skipped.len > 0)
		buf_printf(&b, "not readable:\n%s", skipped.data);
	buf_release(&skipped);
	free(sorted);
	json_decref(all);
	json_decref(nodes);
	return finish(&b);
}

char *
pve_format_task(struct pve *pve, const char *upid, char **cause)
{
	struct pve_upid		 u;
	struct pve_task_status	 ts;
	struct buf		 b;
	json_t			*all, *page, *v;
	char			 when[32], line[512];
	size_t			 i, n;
	int			 pct = -1, rc;

	if (pve_upid_parse(upid, &u) != 0) {
		set_cause(cause, "'%.80s' is not a Proxmox task id (UPID:...)",
		    upid != NULL ? upid : "");
		return NULL;
	}
	if (pve_task_status(pve, upid, &ts, cause) != PVE_OK) {
		pve_upid_release(&u);
		return NULL;
	}
	all = json_array();
	for (;;) {
		rc = pve_task_log(pve, upid, (int)json_array_size(all), &page,
		    cause);
		if (rc != PVE_OK) {
			json_decref(all);
			pve_task_status_release(&ts);
			pve_upid_release(&u);
			return NULL;
		}
		n = json_array_size(page);
		json_array_extend(all, page);
		json_decref(page);
		if (n < 500 || json_array_size(all) >= TASK_LOG_MAX)
			break;
	}
	n = json_array_size(all);
	json_array_foreach(all, i, v) {
		int p = pve_progress_percent(jx_str(v, "t", ""));

		if (p >= 0)
			pct = p;
	}

	buf_init(&b, 0);
	buf_printf(&b, "%s%s%s on %s, started %s by %s\n", u.type,
	    *u.id ? " " : "", u.id, u.node,
	    format_time(u.starttime, when, sizeof when), u.user);
	if (ts.running) {
		buf_puts(&b, "status: running");
		if (pct >= 0)
			buf_printf(&b, " (%d%%)", pct);
		if (wall_now() > u.starttime)
			buf_printf(&b, " for %s", format_duration(wall_now() -
			    u.starttime, when, sizeof when));
		buf_puts(&b, "\n");
	} else
		buf_printf(&b, "status: %s\n", strcmp(ts.exitstatus, "OK") ==
		    0 ? "OK" : ts.exitstatus);
	if (n > 0) {
		buf_printf(&b, "last log lines:\n");
		for (i = n > TASK_LOG_TAIL ? n - TASK_LOG_TAIL : 0; i < n;
		    i++) {
			buf_printf(&b, "%s\n", one_line(jx_str(json_array_get(all,
			    i), "t", ""), line, sizeof line));
		}
	}
	json_decref(all);
	pve_task_status_release(&ts);
	pve_upid_release(&u);
	return finish(&b);
}
