/*
 * monitor_health.c - what the monitor reads on schedules of their own
 * instead of every cycle: backup coverage and failed backups
 * (monitor_backup.c), disks, ZFS pools and Ceph (monitor_disks.c),
 * replication, certificates, updates and kernels (monitor_nodes.c); and
 * cluster membership, from the /cluster/status read every cycle anyway.
 * Everything comes from the Proxmox API; nothing here uses SSH.
 *
 * Guarantees:
 * - A kind is read once per monitor.<kind>.interval, per node for the
 *   per-node endpoints, and only from nodes that are online; a read
 *   that failed is tried again after min(interval, 5 minutes) and logged
 *   once until it works again. So a cycle costs a few requests, not one
 *   per node and kind: a 10,000-guest cluster is read as cheaply as a
 *   small one, apart from /cluster/resources.
 * - Between reads the last readings are measured again every cycle, but
 *   only while the kind's last read worked and its node is online:
 *   after a failed read its targets are not measured (their alerts go
 *   stale, never resolve), and on an offline node they are unknown.
 * - What was read is also written, when it changes, as JSON to kv
 *   monitor.health, from which the digest (any thread) reports without
 *   calling Proxmox.
 * - Members of the cluster ever seen are remembered in kv
 *   monitor.members, so a node that left is missed across restarts,
 *   until it comes back or monitor.cluster.forget_after has passed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "conf.h"
#include "jsonx.h"
#include "log.h"
#include "monitor_int.h"
#include "store.h"
#include "util.h"

/* A failed read is tried again after this long (or its interval). */
#define RETRY_AFTER	300

struct mon_node *
mon_node_get(struct monitor *m, const char *name)
{
	struct mon_health	*h = &m->health;
	size_t			 i;

	for (i = 0; i < h->nnodes; i++) {
		if (strcmp(h->nodes[i].name, name) == 0)
			return &h->nodes[i];
	}
	h->nodes = xreallocarray(h->nodes, h->nnodes + 1, sizeof *h->nodes);
	memset(&h->nodes[h->nnodes], 0, sizeof *h->nodes);
	h->nodes[h->nnodes].name = xstrdup(name);
	return &h->nodes[h->nnodes++];
}

int
mon_due(const struct mon_read *r, int64_t interval, int64_t now)
{
	int64_t	 wait = r->ok ? interval : interval < RETRY_AFTER ? interval :
	    RETRY_AFTER;

	if (interval <= 0)
		return 0;
	return r->at == 0 || now < r->at || now - r->at >= wait;
}

void
mon_read_done(struct mon_read *r, int ok, int64_t now, const char *what,
    const char *node, const char *cause)
{
	r->at = now;
	r->ok = ok;
	if (!ok && !r->failing) {
		log_warn("monitor", "cannot read %s%s%s: %s (not logged again "
		    "until it works)", what, node != NULL ? " node=" : "",
		    node != NULL ? node : "", cause != NULL ? cause :
		    "unexpected reply");
		r->failing = 1;
	} else if (ok && r->failing) {
		log_info("monitor", "%s reads again%s%s", what,
		    node != NULL ? " node=" : "", node != NULL ? node : "");
		r->failing = 0;
	}
}

struct mon_sample *
mon_sample_named(struct mon_samples *s, const char *metric, const char *kind,
    const char *target, const char *node, const char *name, double value)
{
	struct mon_sample	*x = mon_sample_add(s, metric, kind, target,
	    value);

	x->node = node != NULL ? xstrdup(node) : NULL;
	x->name = name != NULL ? xstrdup(name) : NULL;
	return x;
}

/* ---- cluster membership ---- */

static void
members_load(struct monitor *m)
{
	struct mon_health	*h = &m->health;
	char			*text = NULL, *p, *item, *at;
	const char		*errstr;

	h->members_loaded = 1;
	if (store_kv_get(m->store, "monitor.members", &text) != 0 ||
	    text == NULL)
		return;
	p = text;
	while ((item = strsep(&p, ",")) != NULL) {
		if (*item == '\0')
			continue;
		h->members = xreallocarray(h->members, h->nmembers + 1,
		    sizeof *h->members);
		h->gone_since = xreallocarray(h->gone_since, h->nmembers + 1,
		    sizeof *h->gone_since);
		h->gone_since[h->nmembers] = 0;
		if ((at = strchr(item, '@')) != NULL) {
			*at++ = '\0';
			h->gone_since[h->nmembers] = strtonum(at, 0,
			    INT64_MAX, &errstr);
		}
		h->members[h->nmembers++] = xstrdup(item);
	}
	free(text);
}

static void
members_save(struct monitor *m)
{
	struct mon_health	*h = &m->health;
	struct buf		 b;
	size_t			 i;

	buf_init(&b, 0);
	buf_puts(&b, "");
	for (i = 0; i < h->nmembers; i++) {
		buf_printf(&b, "%s%s", i ? "," : "", h->members[i]);
		if (h->gone_since[i] > 0)
			buf_printf(&b, "@%" PRId64, h->gone_since[i]);
	}
	store_kv_set(m->store, "monitor.members", buf_cstr(&b));
	buf_release(&b);
}

static int
listed(const json_t *status, const char *name)
{
	const json_t	*o;
	size_t		 i;

	json_array_foreach(status, i, o) {
		const char	*type = jx_str(o, "type", NULL);
		const char	*n = jx_str(o, "name", NULL);

		if (type != NULL && strcmp(type, "node") == 0 && n != NULL &&
		    strcmp(n, name) == 0)
			return 1;
	}
	return 0;
}

static struct mon_sample *
add_left(struct mon_samples *s, const char *node, double v)
{
	char			*target = xasprintf("node:%s", node);
	struct mon_sample	*x = mon_sample_named(s, "node.left", "node",
	    target, node, NULL, v);

	free(target);
	return x;
}

/*
 * A node listed in /cluster/status is a member (online or not); one
 * that was and is no longer listed has left: node.left 1 until it is
 * listed again, or until forget_after has passed (then it ends).
 */
static void
poll_members(struct monitor *m, int64_t now, const json_t *status,
    struct mon_samples *s)
{
	struct mon_health	*h = &m->health;
	const json_t		*o;
	struct mon_sample	*x;
	char			 d[32];
	size_t			 i, k;
	int			 changed = 0;

	if (!h->members_loaded)
		members_load(m);
	json_array_foreach(status, i, o) {
		const char	*type = jx_str(o, "type", NULL);
		const char	*n = jx_str(o, "name", NULL);

		if (type == NULL || strcmp(type, "node") != 0 || n == NULL)
			continue;
		for (k = 0; k < h->nmembers && strcmp(h->members[k], n) != 0;
		    k++)
			;
		if (k == h->nmembers) {
			h->members = xreallocarray(h->members, k + 1,
			    sizeof *h->members);
			h->gone_since = xreallocarray(h->gone_since, k + 1,
			    sizeof *h->gone_since);
			h->members[k] = xstrdup(n);
			h->gone_since[k] = 0;
			h->nmembers++;
			changed = 1;
		}
	}
	for (k = 0; k < h->nmembers; k++) {
		const char	*n = h->members[k];

		if (listed(status, n)) {
			if (h->gone_since[k] != 0) {
				log_info("monitor", "node back in the cluster "
				    "node=%s", n);
				h->gone_since[k] = 0;
				changed = 1;
			}
			x = add_left(s, n, 0);
			x->no_new = 1;
			x->summary = xasprintf("%s is a member of the cluster",
			    n);
			continue;
		}
		if (h->gone_since[k] == 0 || now < h->gone_since[k]) {
			log_warn("monitor", "node left the cluster node=%s", n);
			h->gone_since[k] = now;
			changed = 1;
		}
		if (now - h->gone_since[k] >= m->conf->monitor.cluster.
		    forget_after) {
			x = add_left(s, n, 0);
			x->no_new = 1;
			x->summary = xasprintf("%s left the cluster, no longer "
			    "missed after %s", n, format_duration(m->conf->
			    monitor.cluster.forget_after, d, sizeof d));
			log_info("monitor", "node forgotten node=%s", n);
			free(h->members[k]);
			memmove(&h->members[k], &h->members[k + 1],
			    (h->nmembers - k - 1) * sizeof *h->members);
			memmove(&h->gone_since[k], &h->gone_since[k + 1],
			    (h->nmembers - k - 1) * sizeof *h->gone_since);
			h->nmembers--;
			k--;
			changed = 1;
			continue;
		}
		x = add_left(s, n, 1);
		x->summary = xasprintf("%s left the cluster (no longer in "
		    "/cluster/status)", n);
	}
	if (changed)
		members_save(m);
}

/* ---- the schedule ---- */

static void
snapshot_write(struct monitor *m, const struct pve_resources *resources)
{
	struct mon_health	*h = &m->health;
	json_t			*o = json_object(), *nodes = json_object();
	char			*text;
	size_t			 i;

	for (i = 0; i < h->nnodes; i++) {
		const struct mon_node	*n = &h->nodes[i];
		json_t			*j = mon_snapshot_disks(n);
		json_t			*more = mon_snapshot_nodeinfo(m, n);

		json_object_update(j, more);
		json_decref(more);
		json_object_set_new(nodes, n->name, j);
	}
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(o, "backups", mon_snapshot_backups(m, resources));
	if (h->ceph_read.ok && h->ceph)
		json_object_set_new(o, "ceph", json_pack("{siss?}", "level",
		    h->ceph_level, "checks", h->ceph_checks));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (h->snapshot == NULL || strcmp(h->snapshot, text) != 0) {
		if (store_kv_set(m->store, "monitor.health", text) == 0) {
			free(h->snapshot);
			h->snapshot = text;
			return;
		}
	}
	free(text);
}

void
mon_health_poll(struct monitor *m, int64_t now,
    const struct pve_resources *resources, const json_t *status,
    struct mon_samples *s)
{
	const struct conf_monitor	*mc = &m->conf->monitor;
	struct mon_health		*h = &m->health;
	size_t				 i;

	for (i = 0; i < h->nnodes; i++)
		h->nodes[i].online = 0;
	for (i = 0; i < resources->n; i++) {
		const struct pve_res	*o = &resources->v[i];

		if (o->type == PVE_RES_NODE && o->node != NULL)
			mon_node_get(m, o->node)->online = o->status != NULL &&
			    strcmp(o->status, "online") == 0;
	}
	if (status != NULL)
		poll_members(m, now, status, s);

	if (mon_due(&h->coverage_read, mc->backups.interval, now))
		mon_poll_coverage(m, now);
	if (mon_due(&h->ceph_read, mc->ceph.interval, now))
		mon_poll_ceph(m, now);
	for (i = 0; i < h->nnodes; i++) {
		struct mon_node	*n = &h->nodes[i];

		if (!n->online)
			continue;
		if (mon_due(&n->tasks_read, mc->backups.interval, now))
			mon_poll_tasks(m, n, now);
		if (mon_due(&n->disks_read, mc->disks.interval, now))
			mon_poll_disks(m, n, now);
		if (mon_due(&n->zfs_read, mc->zfs.interval, now))
			mon_poll_zfs(m, n, now);
		if (mon_due(&n->repl_read, mc->replication.interval, now))
			mon_poll_replication(m, n, now);
		if (mon_due(&n->certs_read, mc->certificates.interval, now))
			mon_poll_certs(m, n, now);
		if (mon_due(&n->updates_read, mc->updates.interval, now))
			mon_poll_updates(m, n, now);
	}
	mon_classify_updates(m);

	mon_samples_backups(m, resources, s);
	mon_samples_ceph(m, s);
	for (i = 0; i < h->nnodes; i++) {
		struct mon_node	*n = &h->nodes[i];

		if (!n->online)
			continue;
		mon_samples_disks(m, n, s);
		mon_samples_nodeinfo(m, n, now, resources, s);
	}
	snapshot_write(m, resources);
}

void
mon_health_free(struct monitor *m)
{
	struct mon_health	*h = &m->health;
	size_t			 i;

	for (i = 0; i < h->nnodes; i++) {
		mon_disks_release(&h->nodes[i]);
		mon_nodeinfo_release(&h->nodes[i]);
		mon_backups_release(&h->nodes[i]);
		free(h->nodes[i].name);
	}
	free(h->nodes);
	free(h->not_backed_up);
	free(h->ceph_checks);
	for (i = 0; i < h->nchangelogs; i++)
		free(h->changelogs[i].key);
	free(h->changelogs);
	strv_free(h->members, h->nmembers);
	free(h->gone_since);
	free(h->snapshot);
	memset(h, 0, sizeof *h);
}
