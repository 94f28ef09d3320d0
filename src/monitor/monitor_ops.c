/*
 * monitor_ops.c - the operations pvebot starts on its own, driven by the
 * monitor's poll (operations: in bot.conf): idle-node shutdown,
 * expected-running guests and the clean-up of pvebot's own snapshots.
 *
 * Guarantees:
 * - Nothing here acts: a request is a chat event handed to the router
 *   (like a schedule's run), sent by idle:NODE or retention:snapshots,
 *   so the policy judges it (allow, approval, refusal), the job runs on
 *   a worker and the audit log records it. `shutdown-node` keeps its
 *   safe-shutdown order, its run-time check and self-protection.
 * - Idle shutdown: a node is idle while every running guest on it has
 *   the safe-shutdown tag (or none runs). After `grace` of it, one
 *   request; the time of the request is saved by the router as offset
 *   idle:NODE in the transaction of its job, and no second request is
 *   made within `flap_window` of it, across restarts too. A guest
 *   without the tag starting ends the idle period and cancels a request
 *   still waiting (resolving, awaiting approval, queued); one already
 *   running meets the worker's own check of the guests. The idle period
 *   is kept in memory: after a restart the grace starts again.
 * - Expected running: a guest with onboot=1 (or the configured tag)
 *   that is stopped is measured 1 for metric guest.expected_stopped,
 *   unless pvebot stopped it (a job on the guest, or shutdown-node /
 *   stop-all on its node, by a person, a schedule or the idle shutdown):
 *   such a guest is remembered (kv monitor.stopped_on_purpose) until it
 *   runs again. A job counts when it ended after the guest was last
 *   seen running, so a guest stopped with its node (not seen stopped
 *   before the node went down) is known when the node comes back; a
 *   stop is judged once, so a later job on its node does not excuse a
 *   guest already found stopped outside pvebot. onboot lives only in a
 *   guest's config, so it is read for stopped guests and kept for
 *   ONBOOT_MAX_AGE.
 * - Snapshot retention: only snapshots whose name starts with the
 *   prefix are looked at; per guest the newest max_count are kept and
 *   those older than max_age go. Each deletion is its own `delsnap`
 *   request, not asked again while one for it is open, nor for a day
 *   after the policy (or an approver) turned it down.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "chat.h"
#include "conf.h"
#include "exec_proxmox.h"
#include "jobs.h"
#include "jsonx.h"
#include "log.h"
#include "monitor_int.h"
#include "outbox.h"
#include "store.h"
#include "store_monitor.h"
#include "util.h"

#define SAFE_SHUTDOWN_TAG	"safe-shutdown"
#define ONBOOT_MAX_AGE		600	/* seconds a config read is kept */
#define RETENTION_MAX_DELETES	64	/* requests per clean-up */
#define RETENTION_IDENTITY	"retention:snapshots"
#define IDLE_CANCEL_MAX		16	/* waiting requests cancelled at once */

struct ops_idle {
	char	*node;
	int64_t	 since;		/* idle since; 0: not idle */
	int64_t	 asked;		/* last request made by this process */
};

struct ops_onboot {
	int	 vmid;
	int	 onboot;
	int64_t	 at;
};

struct ops_seen {
	int	 vmid;
	int64_t	 at;
};

struct mon_ops {
	struct ops_idle		*idle;
	size_t			 nidle;
	struct ops_onboot	*onboot;
	size_t			 nonboot;
	struct ops_seen		*seen;		/* last seen running */
	size_t			 nseen;
	int			*purposeful;	/* stopped by pvebot */
	size_t			 npurposeful;
	int			*accused;	/* stopped, not by pvebot */
	size_t			 naccused;
	int			 purposeful_loaded;
	int64_t			 snaps_at;	/* last clean-up */
};

static struct mon_ops *
ops_get(struct monitor *m)
{
	if (m->ops == NULL)
		m->ops = xcalloc(1, sizeof *m->ops);
	return m->ops;
}

void
mon_ops_free(struct monitor *m)
{
	struct mon_ops	*o = m->ops;
	size_t		 i;

	if (o == NULL)
		return;
	for (i = 0; i < o->nidle; i++)
		free(o->idle[i].node);
	free(o->idle);
	free(o->onboot);
	free(o->seen);
	free(o->accused);
	free(o->purposeful);
	free(o);
	m->ops = NULL;
}

/* Whether the tag list "a;b" (Proxmox separates with ; , or space) has
 * tag. */
static int
tags_have(const char *tags, const char *tag)
{
	const char	*p;
	size_t		 len, n = strlen(tag);

	if (tags == NULL)
		return 0;
	for (p = tags; *p != '\0'; p += len + (p[len] != '\0')) {
		len = strcspn(p, ";, ");
		if (len == n && strncmp(p, tag, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * A request as a chat event from `user` in operations.room, handed to
 * the router; offset_key/offset (may be NULL) are saved in the
 * transaction of the job it makes. 0, or -1 when there is no router or
 * no room.
 */
static int
ops_submit(struct monitor *m, const char *user, const char *display,
    const char *text, const char *offset_key, const char *offset)
{
	struct app		*app = m->app;
	const char		*room = m->conf->operations.room, *colon;
	struct chat_event	*ev;
	char			*connector;

	if (app->chat_ctx.submit == NULL || room == NULL ||
	    (colon = strchr(room, ':')) == NULL) {
		log_warn("monitor", "no router or operations.room: not asking "
		    "%s as %s", text, user);
		return -1;
	}
	connector = xstrndup(room, (size_t)(colon - room));
	ev = chat_event_new(CHAT_EV_MESSAGE, connector, colon + 1, user);
	free(connector);
	ev->display = xstrdup(display);
	ev->text = xstrdup(text);
	ev->addressed = 1;
	ev->sent_at = wall_now();	/* the router's age check: real time */
	if (offset_key != NULL) {
		ev->offset_key = xstrdup(offset_key);
		ev->offset = xstrdup(offset);
	}
	app->chat_ctx.submit(app->chat_ctx.submit_arg, ev);
	return 0;
}

/* A plain message to operations.room. */
static void
ops_say(struct monitor *m, const char *text)
{
	const char	*room = m->conf->operations.room, *colon;
	struct chat_msg	 msg;
	char		*connector;

	if (room == NULL || (colon = strchr(room, ':')) == NULL)
		return;
	memset(&msg, 0, sizeof msg);
	msg.text = text;
	connector = xstrndup(room, (size_t)(colon - room));
	if (outbox_send(m->store, connector, colon + 1, &msg, NULL) < 0)
		log_warn("monitor", "cannot post to %s: %s", room, text);
	free(connector);
}

/* ---- idle-node shutdown ---- */

static struct ops_idle *
idle_get(struct mon_ops *o, const char *node)
{
	size_t	 i;

	for (i = 0; i < o->nidle; i++) {
		if (strcmp(o->idle[i].node, node) == 0)
			return &o->idle[i];
	}
	o->idle = xreallocarray(o->idle, o->nidle + 1, sizeof *o->idle);
	memset(&o->idle[o->nidle], 0, sizeof *o->idle);
	o->idle[o->nidle].node = xstrdup(node);
	return &o->idle[o->nidle++];
}

/*
 * The running guests of `node` without the safe-shutdown tag, as
 * "106 k8s-node-1, ..." into b; how many. -1 when the node is not
 * online (or not listed).
 */
static int
idle_blockers(const struct pve_resources *resources, const char *node,
    struct buf *b)
{
	size_t		 i;
	int		 online = 0, n = 0;

	for (i = 0; i < resources->n; i++) {
		const struct pve_res	*o = &resources->v[i];
		const char		*status = o->status;

		if (o->node == NULL || strcmp(o->node, node) != 0)
			continue;
		if (o->type == PVE_RES_NODE) {
			online = status != NULL && strcmp(status, "online") == 0;
			continue;
		}
		if (!pve_res_is_guest(o))
			continue;
		if (status == NULL || (strcmp(status, "running") != 0 &&
		    strcmp(status, "paused") != 0))
			continue;
		if (tags_have(o->tags, SAFE_SHUTDOWN_TAG))
			continue;
		buf_printf(b, "%s%d %s", n > 0 ? ", " : "", o->vmid,
		    RES_NAME(o));
		n++;
	}
	return online ? n : -1;
}

/* The job's message and its approval request lose their buttons. */
static void
idle_cancel_messages(struct monitor *m, int64_t id, const char *why)
{
	struct chat_msg	 msg;
	struct job	 j;
	char		*title, *text;

	if (jobs_get(m->store, id, &j) != 0)
		return;
	title = xasprintf("Job #%" PRId64 ": %s", j.id, j.command);
	text = xasprintf("cancelled: %s", why);
	memset(&msg, 0, sizeof msg);
	msg.title = title;
	msg.text = text;
	if (j.msg_id > 0)
		outbox_edit(m->store, j.msg_id, &msg);
	if (j.approval_msg_id > 0 && j.approval_msg_id != j.msg_id)
		outbox_edit(m->store, j.approval_msg_id, &msg);
	free(title);
	free(text);
	job_release(&j);
}

/* Cancels the idle requests of `user` still waiting; how many. */
static int
idle_cancel(struct monitor *m, const char *user, const char *why)
{
	struct job_line	*v;
	enum job_state	 state;
	char		*cause = NULL;
	size_t		 nv, i;
	int		 done = 0;

	/* On an error, the jobs read before it. */
	jobs_waiting_of(m->store, user, IDLE_CANCEL_MAX, &v, &nv);
	for (i = 0; i < nv; i++) {
		if (job_state_parse(v[i].state, &state) != 0)
			continue;
		if (jobs_transition(m->store, v[i].id, state, JOB_CANCELLED,
		    user, NULL, why, &cause) != 0) {
			/* It moved on meanwhile (approved, claimed): the
			 * worker checks the guests again. */
			log_info("monitor", "idle request job=%" PRId64 " not "
			    "cancelled: %s", v[i].id, cause);
			free(cause);
			cause = NULL;
			continue;
		}
		log_info("monitor", "idle request job=%" PRId64 " cancelled: "
		    "%s", v[i].id, why);
		idle_cancel_messages(m, v[i].id, why);
		done++;
	}
	job_lines_free(v, nv);
	return done;
}

static void
idle_node(struct monitor *m, const struct conf_idle_node *cn,
    const struct pve_resources *resources, int64_t now)
{
	struct ops_idle	*x = idle_get(ops_get(m), cn->node);
	struct buf	 b;
	const char	*errstr;
	char		*user = xasprintf("idle:%s", cn->node), *v = NULL;
	char		*text, *at;
	int64_t		 last = 0;
	int		 n;

	buf_init(&b, 4096);
	buf_puts(&b, "");
	n = idle_blockers(resources, cn->node, &b);
	if (n != 0) {
		if (x->since != 0 && n > 0) {
			text = xasprintf("node %s is no longer idle (%s "
			    "running without the %s tag)", cn->node,
			    buf_cstr(&b), SAFE_SHUTDOWN_TAG);
			log_info("monitor", "%s", text);
			if (idle_cancel(m, user, text) > 0) {
				char	*said = xasprintf("idle shutdown of %s "
				    "cancelled: %s", cn->node, text);

				ops_say(m, said);
				free(said);
			}
			free(text);
		}
		x->since = 0;
		goto out;
	}
	if (x->since == 0) {
		x->since = now;
		log_info("monitor", "node %s idle: no guest without the %s tag "
		    "runs", cn->node, SAFE_SHUTDOWN_TAG);
	}
	if (now - x->since < cn->grace)
		goto out;
	/* The last request, as the router saved it with its job. */
	if (store_offset_get(m->store, user, &v) == 0 && v != NULL) {
		last = strtonum(v, 0, INT64_MAX, &errstr);
		if (errstr != NULL)
			last = 0;
	}
	if (x->asked > last)
		last = x->asked;
	if (last > 0 && now - last < cn->flap_window)
		goto out;
	at = xasprintf("%" PRId64, now);
	text = xasprintf("shutdown-node %s", cn->node);
	log_info("monitor", "node %s idle for %" PRId64 " s (grace %" PRId64
	    " s): asking %s as %s", cn->node, now - x->since, cn->grace, text,
	    user);
	{
		char	*display = xasprintf("idle shutdown of %s",
		    cn->node);

		if (ops_submit(m, user, display, text, user, at) == 0)
			x->asked = now;
		free(display);
	}
	free(text);
	free(at);
out:
	free(v);
	free(user);
	buf_release(&b);
}

/* ---- snapshot retention ---- */

struct snap {
	const char	*name;
	int64_t		 snaptime;
};

static int
snap_cmp(const void *a, const void *b)
{
	const struct snap	*x = a, *y = b;

	if (x->snaptime != y->snaptime)
		return x->snaptime > y->snaptime ? -1 : 1;
	return -strcmp(x->name, y->name);
}

/*
 * Should this request wait: one with the same command is still open, or
 * was refused, denied or let expire within the last day (real time: the
 * audit log's and the jobs' clock), so a prohibition is not asked about
 * at every clean-up.
 */
static int
request_pending(struct monitor *m, const char *user, const char *command)
{
	int64_t		 day_ago = wall_now() - 86400;

	/* -1 (cannot tell): do not ask twice. */
	if (jobs_request_pending(m->store, user, command, day_ago) != 0)
		return 1;
	/* Refused by the router: no job, an audit row. */
	return audit_refused_since(m->store, user, command, day_ago) != 0;
}

/* One guest's prefixed snapshots past the limits; requests made. */
static int
retention_guest(struct monitor *m, const struct pve_res *g, int64_t now,
    int budget)
{
	const struct conf_snap_retention *r = &m->conf->operations.snapshots;
	const char	*type = pve_res_type_name(g);
	const char	*node = g->node;
	int		 vmid = g->vmid, asked = 0;
	json_t		*data = NULL, *o;
	struct snap	*v;
	char		*path, *cause = NULL, *text;
	size_t		 i, n = 0, plen = strlen(r->prefix);

	path = xasprintf("/nodes/%s/%s/%d/snapshot", node, type, vmid);
	if (pve_request(m->app->pve, "GET", path, NULL, 0, &data, &cause) !=
	    PVE_OK || !json_is_array(data)) {
		log_warn("monitor", "snapshot retention: cannot list the "
		    "snapshots of %d: %s", vmid, cause != NULL ? cause :
		    "not a list");
		free(cause);
		free(path);
		json_decref(data);
		return 0;
	}
	free(path);
	v = xreallocarray(NULL, json_array_size(data) + 1, sizeof *v);
	json_array_foreach(data, i, o) {
		const char	*name = jx_str(o, "name", NULL);

		/* "current" is the running state, never a snapshot. */
		if (name == NULL || strcmp(name, "current") == 0 ||
		    strncmp(name, r->prefix, plen) != 0)
			continue;
		v[n].name = name;
		v[n].snaptime = (int64_t)jx_num(o, "snaptime");
		n++;
	}
	qsort(v, n, sizeof *v, snap_cmp);
	for (i = 0; i < n && asked < budget; i++) {
		int	 by_count = r->max_count > 0 &&
		    i >= (size_t)r->max_count;
		int	 by_age = r->max_age > 0 && v[i].snaptime > 0 &&
		    now - v[i].snaptime > r->max_age;

		if (!by_count && !by_age)
			continue;
		text = xasprintf("delsnap %d %s", vmid, v[i].name);
		if (!request_pending(m, RETENTION_IDENTITY, text)) {
			log_info("monitor", "snapshot retention: %s (%s)",
			    text, by_count ? "beyond max_count" :
			    "older than max_age");
			if (ops_submit(m, RETENTION_IDENTITY,
			    "snapshot retention", text, NULL, NULL) == 0)
				asked++;
		}
		free(text);
	}
	free(v);
	json_decref(data);
	return asked;
}

static void
retention(struct monitor *m, const struct pve_resources *resources,
    int64_t now)
{
	const struct conf_snap_retention *r = &m->conf->operations.snapshots;
	struct mon_ops	*o = ops_get(m);
	size_t		 i;
	int		 asked = 0;

	if (!r->enabled || r->prefix == NULL || (r->max_age == 0 &&
	    r->max_count == 0))
		return;
	if (o->snaps_at != 0 && now - o->snaps_at < r->interval)
		return;
	o->snaps_at = now;
	for (i = 0; i < resources->n; i++) {
		const struct pve_res	*g = &resources->v[i];
		const char		*status = g->status;

		if (!pve_res_is_guest(g) || g->node == NULL || g->vmid <= 0 ||
		    g->is_template || status == NULL ||
		    strcmp(status, "unknown") == 0)
			continue;
		if (asked >= RETENTION_MAX_DELETES) {
			log_warn("monitor", "snapshot retention: %d requests "
			    "in one clean-up; the rest waits for the next",
			    asked);
			break;
		}
		asked += retention_guest(m, g, now,
		    RETENTION_MAX_DELETES - asked);
	}
}

void
mon_ops_poll(struct monitor *m, int64_t now,
    const struct pve_resources *resources)
{
	const struct conf_operations	*op = &m->conf->operations;
	size_t				 i;

	for (i = 0; i < op->nidle; i++)
		idle_node(m, &op->idle[i], resources, now);
	retention(m, resources, now);
}

/* ---- expected-running guests ---- */

static int
int_has(const int *v, size_t n, int x)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (v[i] == x)
			return 1;
	}
	return 0;
}

static void
purposeful_load(struct monitor *m, struct mon_ops *o)
{
	const char	*errstr;
	char		*text = NULL, *p, *item;
	int		 v;

	if (o->purposeful_loaded)
		return;
	o->purposeful_loaded = 1;
	if (store_kv_get(m->store, "monitor.stopped_on_purpose", &text) != 0 ||
	    text == NULL)
		return;
	o->purposeful = xreallocarray(NULL, strlen(text) / 2 + 2,
	    sizeof *o->purposeful);
	p = text;
	while ((item = strsep(&p, ",")) != NULL) {
		v = (int)strtonum(item, 1, 999999999, &errstr);
		if (errstr == NULL)
			o->purposeful[o->npurposeful++] = v;
	}
	free(text);
}

static void
purposeful_save(struct monitor *m, struct mon_ops *o)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 0);
	buf_puts(&b, "");
	for (i = 0; i < o->npurposeful; i++)
		buf_printf(&b, "%s%d", i ? "," : "", o->purposeful[i]);
	store_kv_set(m->store, "monitor.stopped_on_purpose", buf_cstr(&b));
	buf_release(&b);
}

static void
purposeful_set(struct monitor *m, struct mon_ops *o, int vmid, int on)
{
	size_t	 i;

	for (i = 0; i < o->npurposeful; i++) {
		if (o->purposeful[i] == vmid)
			break;
	}
	if (on && i == o->npurposeful) {
		o->purposeful = xreallocarray(o->purposeful,
		    o->npurposeful + 1, sizeof *o->purposeful);
		o->purposeful[o->npurposeful++] = vmid;
		purposeful_save(m, o);
	} else if (!on && i < o->npurposeful) {
		o->purposeful[i] = o->purposeful[--o->npurposeful];
		purposeful_save(m, o);
	}
}

/* The in-memory verdict "stopped, not by pvebot" until it runs again. */
static void
accused_set(struct mon_ops *o, int vmid, int on)
{
	size_t	 i;

	for (i = 0; i < o->naccused; i++) {
		if (o->accused[i] == vmid)
			break;
	}
	if (on && i == o->naccused) {
		o->accused = xreallocarray(o->accused, o->naccused + 1,
		    sizeof *o->accused);
		o->accused[o->naccused++] = vmid;
	} else if (!on && i < o->naccused)
		o->accused[i] = o->accused[--o->naccused];
}

/* Did pvebot stop it: a job on the guest, or on its whole node? */
static int
stopped_by_pvebot(struct monitor *m, int vmid, const char *node,
    int64_t since)
{
	json_t		*args;
	const char	*a0, *a1;
	char		 want[16], **stops;
	size_t		 nstops, i;
	int		 found = 0;

	/* -1 (cannot tell): do not accuse. */
	if (jobs_stopping_guest_since(m->store, vmid, since, 0) != 0)
		return 1;
	if (jobs_node_stops_since(m->store, since, &stops, &nstops) != 0) {
		strv_free(stops, nstops);
		return 1;
	}
	snprintf(want, sizeof want, "%d", vmid);
	for (i = 0; !found && i < nstops; i++) {
		if ((args = json_loads(stops[i], 0, NULL)) == NULL)
			continue;
		a0 = json_string_value(json_array_get(args, 0));
		a1 = json_string_value(json_array_get(args, 1));
		/* stop-all NODE [VMIDS]: only the guests it names. */
		if (a0 != NULL && node != NULL && strcmp(a0, node) == 0) {
			if (a1 == NULL || *a1 == '\0' ||
			    strspn(a1, "0123456789,") != strlen(a1))
				found = 1;
			else {
				char	*list = xasprintf(",%s,", a1);
				char	*needle = xasprintf(",%s,", want);

				found = strstr(list, needle) != NULL;
				free(list);
				free(needle);
			}
		}
		json_decref(args);
	}
	strv_free(stops, nstops);
	return found;
}

/*
 * When the guest was last seen running (set != 0: it runs now). Not
 * known (pvebot started since): ten minutes before the last poll, as
 * for the guest-stopped rule.
 */
static int64_t
seen_running(struct monitor *m, struct mon_ops *o, int vmid, int64_t set,
    int64_t now)
{
	size_t	 i;

	for (i = 0; i < o->nseen; i++) {
		if (o->seen[i].vmid == vmid)
			break;
	}
	if (set != 0) {
		if (i == o->nseen) {
			o->seen = xreallocarray(o->seen, o->nseen + 1,
			    sizeof *o->seen);
			o->seen[o->nseen++].vmid = vmid;
		}
		o->seen[i].at = set;
		return set;
	}
	if (i < o->nseen)
		return o->seen[i].at;
	return (m->last_poll > 0 ? m->last_poll : now) - 600;
}

/* onboot of a guest from its config, kept a while; -1 when unreadable. */
static int
onboot_of(struct monitor *m, struct mon_ops *o, const struct pve_res *g,
    int64_t now)
{
	int		 vmid = g->vmid;
	const char	*node = g->node;
	const char	*type = pve_res_type_name(g);
	json_t		*data = NULL;
	char		*path, *cause = NULL;
	size_t		 i;
	int		 on;

	for (i = 0; i < o->nonboot; i++) {
		if (o->onboot[i].vmid == vmid)
			break;
	}
	if (i < o->nonboot && now - o->onboot[i].at < ONBOOT_MAX_AGE &&
	    now >= o->onboot[i].at)
		return o->onboot[i].onboot;
	if (node == NULL || type == NULL)
		return -1;
	path = xasprintf("/nodes/%s/%s/%d/config", node, type, vmid);
	if (pve_request(m->app->pve, "GET", path, NULL, 0, &data, &cause) !=
	    PVE_OK || !json_is_object(data)) {
		log_warn("monitor", "cannot read the config of %d: %s", vmid,
		    cause != NULL ? cause : "not an object");
		free(cause);
		free(path);
		json_decref(data);
		return -1;
	}
	free(path);
	/* A boolean: 0 or 1 (Proxmox), absent meaning 0. */
	on = jx_num(data, "onboot") != 0;
	json_decref(data);
	if (i == o->nonboot) {
		o->onboot = xreallocarray(o->onboot, o->nonboot + 1,
		    sizeof *o->onboot);
		o->nonboot++;
	}
	o->onboot[i] = (struct ops_onboot){ vmid, on, now };
	return on;
}

void
mon_expected_guest(struct monitor *m, const struct pve_res *g, int64_t now,
    struct mon_samples *s)
{
	const struct conf_expected	*ex = &m->conf->operations.expected;
	struct mon_ops			*o;
	struct mon_sample		*x;
	const char			*status = g->status;
	const char			*node = g->node;
	const char			*tags = g->tags;
	const char			*lock = g->lock;
	int				 vmid = g->vmid;
	int				 expected, on;
	char				*target;
	double				 v = 0;

	if (!ex->enabled || status == NULL || vmid <= 0 || g->is_template)
		return;
	o = ops_get(m);
	purposeful_load(m, o);
	target = xasprintf("guest:%d", vmid);
	if (strcmp(status, "running") == 0 || strcmp(status, "paused") == 0) {
		purposeful_set(m, o, vmid, 0);
		accused_set(o, vmid, 0);
		seen_running(m, o, vmid, now, now);
	} else if (strcmp(status, "stopped") == 0) {
		expected = ex->tag != NULL && tags_have(tags, ex->tag);
		if (!expected && ex->onboot) {
			if ((on = onboot_of(m, o, g, now)) < 0) {
				mon_samples_unknown(s, target);
				free(target);
				return;
			}
			expected = on;
		}
		/* Decided once per stop: a later job on its node does not
		 * excuse a guest already found stopped outside pvebot. */
		if (!expected || int_has(o->purposeful, o->npurposeful, vmid) ||
		    (lock != NULL && strcmp(lock, "backup") == 0))
			v = 0;
		else if (int_has(o->accused, o->naccused, vmid))
			v = 1;
		else if (stopped_by_pvebot(m, vmid, node, seen_running(m, o,
		    vmid, 0, now))) {
			log_info("monitor", "guest %d stopped by pvebot: not "
			    "expected to run until it runs again", vmid);
			purposeful_set(m, o, vmid, 1);
		} else {
			accused_set(o, vmid, 1);
			v = 1;
		}
	} else {
		mon_samples_unknown(s, target);
		free(target);
		return;
	}
	x = mon_sample_named(s, "guest.expected_stopped", "guest", target,
	    node, g->name, v);
	x->vmid = vmid;
	x->tags = tags != NULL ? xstrdup(tags) : NULL;
	free(x->summary);
	x->summary = v > 0 ? xasprintf("%s (%d) is stopped but expected to "
	    "run (%s)", x->name != NULL ? x->name : "?", vmid,
	    ex->tag != NULL && tags_have(tags, ex->tag) ? "tagged" :
	    "onboot=1") : xasprintf("%s (%d) is running or not expected to",
	    x->name != NULL ? x->name : "?", vmid);
	free(target);
}
