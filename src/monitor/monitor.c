/*
 * monitor.c - the monitor thread: every interval one cycle polls the
 * cluster and the sensors (monitor_poll.c), feeds each (rule, target)
 * through the state machine (monitor_rule.c), stores the result in table
 * alerts, and tells the alert rooms what changed.
 *
 * Guarantees:
 * - State lives in SQLite (alerts, alert_events), written before anything
 *   is posted: a restart neither re-fires nor forgets.
 * - Where an alert was posted is stored with it (msg_refs: connector,
 *   room, message, group). A firing alert not yet posted to a room is
 *   posted there by the next cycle whose conditions allow it (not muted
 *   by a backup, not silenced, not held by quiet hours), so held alerts
 *   go out when the hold ends and a failed send is tried again.
 * - Alerts that become postable in the same cycle share one message per
 *   room (a group); a resolved alert edits its group's message. An alert
 *   never posted (muted, silenced, quiet) resolves without a word.
 * - Critical alerts pass quiet hours.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "app.h"
#include "conf.h"
#include "http.h"
#include "log.h"
#include "monitor_int.h"
#include "outbox.h"
#include "store.h"
#include "store_monitor.h"
#include "store_silences.h"
#include "util.h"
#include "worker.h"


/*
 * Built-in rules: they run without configuration; a configured rule on
 * the same metric replaces its built-in. Thresholds are the defaults
 * docs/monitoring.md lists.
 */
struct builtin {
	const char	*name;
	const char	*metric;
	const char	*op;
	double		 threshold, clear;
	int64_t		 for_s, repeat;
	const char	*severity;
};

#define DAY	86400
static const struct builtin builtins[] = {
	{ "node-offline", "node.offline", ">", 0.5, 0.5, 0, 0, "critical" },
	{ "node-left", "node.left", ">", 0.5, 0.5, 0, DAY, "critical" },
	{ "quorum-lost", "cluster.quorum", "<", 0.5, 0.5, 0, 0, "critical" },
	{ "guest-stopped", "guest.stopped_unexpectedly", ">", 0.5, 0.5, 0, 0,
	    "warning" },
	{ "expected-running", "guest.expected_stopped", ">", 0.5, 0.5, 0, DAY,
	    "warning" },
	{ "no-backup", "guest.no_backup", ">", 0, 0, 0, 0, "warning" },
	{ "backup-missing", "guest.not_backed_up", ">", 0.5, 0.5, 0, 7 * DAY,
	    "warning" },
	{ "backup-failed", "guest.backup_failed", ">", 0.5, 0.5, 0, DAY,
	    "warning" },
	{ "backup-job-failed", "node.backup_failed", ">", 0.5, 0.5, 0, DAY,
	    "warning" },
	{ "fan-stall", "sensor.fan_stall", ">", 0.5, 0.5, 0, 0, "critical" },
	{ "temperature-high", "sensor.temp", ">", 85, 80, 120, 0, "warning" },
	{ "voltage-out-of-range", "sensor.voltage_out", ">", 0.5, 0.5, 120,
	    DAY, "warning" },
	{ "current-out-of-range", "sensor.current_out", ">", 0.5, 0.5, 120,
	    DAY, "warning" },
	{ "disk-failing", "disk.smart_failed", ">", 0.5, 0.5, 0, DAY,
	    "critical" },
	{ "disk-worn", "disk.wearout", ">=", 90, 90, 0, 7 * DAY, "warning" },
	{ "disk-sectors", "disk.sectors_rising", ">", 0.5, 0.5, 0, DAY,
	    "warning" },
	{ "zfs-unhealthy", "zfs.unhealthy", ">", 0.5, 0.5, 0, DAY,
	    "critical" },
	{ "ceph-health", "ceph.health", ">", 0.5, 0.5, 0, DAY, "warning" },
	{ "replication-failed", "replication.failed", ">", 0.5, 0.5, 0, DAY,
	    "warning" },
	{ "replication-lag", "replication.lag", ">", 120, 120, 0, DAY,
	    "warning" },
	{ "certificate-expiring", "cert.days_left", "<", 14, 14, 0, DAY,
	    "warning" },
	{ "security-updates", "node.security_updates", ">", 0.5, 0.5, 0,
	    7 * DAY, "warning" },
	{ "reboot-required", "node.reboot_required", ">", 0.5, 0.5, 0,
	    7 * DAY, "info" },
};

/* One alert row during a cycle. */
struct actx {
	struct alert_row	 row;
	enum alert_action	 action;
	int			 isnew;
	int			 seen;
	int			 touched;	/* write it back */
	int			 muted;
	const struct conf_rule	*rule;	/* NULL: the rule is gone */
	char			*node;
	char			*storage;
	int			 vmid;
	char			*guest_name;
	json_t			*refs;	/* [{"c","r","m","g"}] */
	int			 refs_dirty;
};

struct cycle {
	struct monitor		*m;
	int64_t			 now;
	struct tm		 local;
	struct actx		*v;
	size_t			 n;
	char			**silences;	/* matchers in force */
	size_t			 nsilences;
};

/* ---- rules ---- */

static int
metric_configured(const struct conf_monitor *mc, const char *metric)
{
	size_t	 i;

	for (i = 0; i < mc->nrules; i++) {
		if (strcmp(mc->rules[i].metric, metric) == 0)
			return 1;
	}
	return 0;
}

static void
add_builtin(struct monitor *m, const struct builtin *b, double threshold)
{
	struct conf_rule	*r;

	if (metric_configured(&m->conf->monitor, b->metric))
		return;
	m->rules = xreallocarray(m->rules, m->nrules + 1, sizeof *m->rules);
	r = &m->rules[m->nrules++];
	memset(r, 0, sizeof *r);
	/* The table's strings live as long as the program; conf_rule
	 * holds them as the config's own, never freed here. */
	r->name = (char *)b->name;
	r->metric = (char *)b->metric;
	r->op = (char *)b->op;
	r->threshold = threshold;
	r->has_threshold = 1;
	if (b->clear != b->threshold) {
		r->clear = b->clear;
		r->has_clear = 1;
	}
	r->for_s = b->for_s;
	r->repeat = b->repeat;
	r->severity = (char *)b->severity;
}

static void
build_rules(struct monitor *m)
{
	const struct conf_monitor	*mc = &m->conf->monitor;
	size_t				 i;

	m->nrules = mc->nrules;
	m->rules = xreallocarray(NULL, mc->nrules + nitems(builtins),
	    sizeof *m->rules);
	if (mc->nrules > 0)
		memcpy(m->rules, mc->rules, mc->nrules * sizeof *m->rules);
	for (i = 0; i < nitems(builtins); i++) {
		const struct builtin	*b = &builtins[i];

		if (strcmp(b->metric, "guest.no_backup") == 0) {
			if (mc->no_backup_days > 0)
				add_builtin(m, b, (double)mc->no_backup_days);
			continue;
		}
		add_builtin(m, b, b->threshold);
	}
}

static const struct conf_rule *
rule_find(struct monitor *m, const char *name)
{
	size_t	 i;

	for (i = 0; i < m->nrules; i++) {
		if (strcmp(m->rules[i].name, name) == 0)
			return &m->rules[i];
	}
	return NULL;
}

/* ---- rooms ---- */

/* app_connector() without linking the whole app (tests build their own
 * struct app). */
static struct connector *
connector_named(struct app *app, const char *name)
{
	size_t	 i;

	for (i = 0; i < app->nconnectors; i++) {
		if (strcmp(app->connectors[i]->ops->name, name) == 0)
			return app->connectors[i];
	}
	return NULL;
}

void
mon_alert_rooms(struct app *app, void (*fn)(void *, struct connector *,
    const char *), void *arg)
{
	const struct conf_chat	*cc = &app->conf->chat;
	struct connector	*c;
	size_t			 i;

	if (cc->console.enabled && cc->console.alerts &&
	    (c = connector_named(app, "console")) != NULL)
		fn(arg, c, "console");
	if (cc->telegram.enabled && (c = connector_named(app, "telegram")) !=
	    NULL) {
		for (i = 0; i < cc->telegram.nchats; i++) {
			if (cc->telegram.chats[i].alerts)
				fn(arg, c, cc->telegram.chats[i].id);
		}
	}
	if (cc->matrix.enabled && (c = connector_named(app, "matrix")) != NULL) {
		for (i = 0; i < cc->matrix.nrooms; i++) {
			if (cc->matrix.rooms[i].alerts)
				fn(arg, c, cc->matrix.rooms[i].id);
		}
	}
	if (cc->discord.enabled && (c = connector_named(app, "discord")) !=
	    NULL) {
		for (i = 0; i < cc->discord.nchannels; i++) {
			if (cc->discord.channels[i].alerts)
				fn(arg, c, cc->discord.channels[i].id);
		}
	}
}

/* ---- labels, mutes, silences, quiet hours ---- */

static void
labels_from_target(struct actx *a, struct monitor *m)
{
	const char	*t = a->row.target, *at, *errstr;
	char		*host, *slash;

	if (str_has_prefix(t, "node:"))
		a->node = xstrdup(t + 5);
	else if (str_has_prefix(t, "guest:"))
		a->vmid = (int)strtonum(t + 6, 1, 999999999, &errstr);
	else if (str_has_prefix(t, "storage:")) {
		if ((at = strchr(t, '@')) != NULL) {
			a->storage = xstrndup(t + 8, (size_t)(at - t - 8));
			a->node = xstrdup(at + 1);
		} else
			a->storage = xstrdup(t + 8);
	} else if (str_has_prefix(t, "sensor:")) {
		host = xstrdup(t + 7);
		if ((slash = strchr(host, '/')) != NULL)
			*slash = '\0';
		a->node = xstrdup(mon_host_get(m, host)->node);
		free(host);
	} else if (str_has_prefix(t, "disk:") || str_has_prefix(t, "zfs:") ||
	    str_has_prefix(t, "cert:")) {
		/* KIND:NODE/NAME */
		host = xstrdup(strchr(t, ':') + 1);
		if ((slash = strchr(host, '/')) != NULL)
			*slash = '\0';
		a->node = host;
	}
}

static int
metric_in(const char *metric, const char *const *set)
{
	for (; *set != NULL; set++) {
		if (strcmp(metric, *set) == 0)
			return 1;
	}
	return 0;
}

/* Backups make CPU and disk load and stop guests in stop mode. */
static const char *const lock_muted[] = { "guest.cpu", "guest.disk",
	"guest.memory", "guest.stopped_unexpectedly", NULL };
static const char *const window_muted[] = { "guest.cpu", "guest.disk",
	"guest.stopped_unexpectedly", "node.cpu", NULL };

static int
in_backup_window(struct cycle *cy)
{
	const struct conf_monitor	*mc = &cy->m->conf->monitor;
	size_t				 i;

	for (i = 0; i < mc->nbackup_windows; i++) {
		if (mon_window_active(&mc->backup_windows[i], &cy->local))
			return 1;
	}
	return 0;
}

static int
muted(struct cycle *cy, const char *metric, int backup_lock)
{
	if (backup_lock && metric_in(metric, lock_muted))
		return 1;
	return metric_in(metric, window_muted) && in_backup_window(cy);
}

static void
load_silences(struct cycle *cy)
{
	silences_active(cy->m->store, cy->now, &cy->silences,
	    &cy->nsilences);
}

static int64_t
first_group(const struct actx *a)
{
	json_t	*e = json_array_get(a->refs, 0);

	return e != NULL ? json_integer_value(json_object_get(e, "g")) : 0;
}

static int
silenced(struct cycle *cy, const struct actx *a)
{
	struct mon_labels	 l;
	size_t			 i;

	memset(&l, 0, sizeof l);
	l.alert_id = a->row.id;
	l.group_id = first_group(a);
	l.rule = a->row.rule;
	l.target = a->row.target;
	l.node = a->node;
	l.vmid = a->vmid;
	l.storage = a->storage;
	l.severity = a->row.severity;
	l.guest_name = a->guest_name;
	for (i = 0; i < cy->nsilences; i++) {
		if (mon_matcher_match(cy->silences[i], &l) == 1)
			return 1;
	}
	return 0;
}

static int
quiet(struct cycle *cy, const char *conn, const char *room,
    const char *severity)
{
	const struct conf_monitor	*mc = &cy->m->conf->monitor;
	char				*key;
	size_t				 i;
	int				 held = 0;

	if (mon_severity_rank(severity) >= 2)
		return 0;	/* critical always passes */
	key = xasprintf("%s:%s", conn, room);
	for (i = 0; i < mc->nquiet_hours && !held; i++) {
		const struct conf_window	*w = &mc->quiet_hours[i];

		if (w->room != NULL && *w->room != '\0' &&
		    strcmp(w->room, key) != 0)
			continue;
		if (mon_severity_rank(severity) > mon_severity_rank(
		    w->severity))
			continue;
		held = mon_window_active(w, &cy->local);
	}
	free(key);
	return held;
}

/* ---- rows ---- */

static void
actx_release(struct actx *a)
{
	free(a->row.rule);
	free(a->row.target);
	free(a->row.severity);
	free(a->row.acked_by);
	free(a->row.msg_refs);
	free(a->row.summary);
	free(a->node);
	free(a->storage);
	free(a->guest_name);
	json_decref(a->refs);
}

static void
load_rows(struct cycle *cy)
{
	struct alert_row	*rows;
	size_t			 nrows, i;

	/* On an error, the rows read before it (as ever). */
	alerts_all(cy->m->store, &rows, &nrows);
	cy->v = nrows > 0 ? xreallocarray(cy->v, cy->n + nrows,
	    sizeof *cy->v) : cy->v;
	for (i = 0; i < nrows; i++) {
		struct actx	*a = &cy->v[cy->n++];

		memset(a, 0, sizeof *a);
		a->row = rows[i];	/* the texts move to the context */
		a->refs = a->row.msg_refs != NULL ?
		    json_loads(a->row.msg_refs, 0, NULL) : NULL;
		if (!json_is_array(a->refs)) {
			json_decref(a->refs);
			a->refs = json_array();
		}
		a->rule = rule_find(cy->m, a->row.rule);
		labels_from_target(a, cy->m);
	}
	free(rows);
}

static struct actx *
row_find(struct cycle *cy, const char *rule, const char *target)
{
	size_t	 i;

	for (i = 0; i < cy->n; i++) {
		if (strcmp(cy->v[i].row.rule, rule) == 0 &&
		    strcmp(cy->v[i].row.target, target) == 0)
			return &cy->v[i];
	}
	return NULL;
}

static struct actx *
row_new(struct cycle *cy, const struct conf_rule *r, const char *target)
{
	struct actx	*a;

	cy->v = xreallocarray(cy->v, cy->n + 1, sizeof *cy->v);
	a = &cy->v[cy->n++];
	memset(a, 0, sizeof *a);
	a->isnew = 1;
	a->row.rule = xstrdup(r->name);
	a->row.target = xstrdup(target);
	a->row.state = ALERT_INACTIVE;
	a->refs = json_array();
	a->rule = r;
	labels_from_target(a, cy->m);
	return a;
}

static void
step_sample(struct cycle *cy, const struct conf_rule *r,
    const struct mon_sample *x)
{
	const struct conf_monitor	*mc = &cy->m->conf->monitor;
	struct mon_target		 t;
	struct alert_rule		 eff;
	struct actx			*a;

	t.kind = x->kind;
	t.node = x->node;
	t.vmid = x->vmid;
	t.name = x->name;
	t.tags = x->tags;
	if (mon_rule_for(r, mc, &t, &eff) != 0)
		return;
	if ((a = row_find(cy, r->name, x->target)) == NULL) {
		/* Targets that never breached are not stored; some
		 * readings may keep an alert going but never open one. */
		if (x->no_new || !alert_breach(eff.op, x->value,
		    eff.threshold))
			return;
		a = row_new(cy, r, x->target);
	}
	if (a->seen)
		return;
	a->seen = 1;
	a->touched = 1;
	a->muted = muted(cy, r->metric, x->backup_lock);
	free(a->node);
	a->node = x->node != NULL ? xstrdup(x->node) : NULL;
	if (x->vmid > 0) {
		a->vmid = x->vmid;
		free(a->guest_name);
		a->guest_name = x->name != NULL ? xstrdup(x->name) : NULL;
	}
	free(a->row.severity);
	a->row.severity = xstrdup(eff.severity);
	a->action = alert_step(&a->row, 1, x->value, cy->now, &eff);
	/* The summary follows the value while firing. */
	free(a->row.summary);
	a->row.summary = mon_sample_text(x);
}

/*
 * A guest target missing from this cycle's readings of a source that
 * was read: the guest was seen stopped (its load is gone) or gone from
 * the cluster, which is a measurement, so its alert may resolve. Any
 * other missing target was simply not measured.
 */
static int
guest_gone(const struct mon_samples *s, const struct actx *a)
{
	const char	*metric = a->rule->metric;

	if (!str_has_prefix(a->row.target, "guest:") ||
	    mon_samples_is_unknown(s, a->row.target))
		return 0;
	if (strcmp(metric, "guest.no_backup") == 0)
		return s->backups_ok;
	if (strcmp(metric, "guest.not_backed_up") == 0)
		return s->coverage_ok;
	if (strcmp(metric, "guest.backup_failed") == 0)
		return 0;	/* only a newer backup says it is over */
	return s->resources_ok;
}

/* Not measured because its node is offline (or marked unknown). */
static int
target_unknown(const struct mon_samples *s, const struct actx *a)
{
	return mon_samples_is_unknown(s, a->row.target) ||
	    (a->node != NULL && mon_samples_node_unknown(s, a->node));
}

static void
step_absent(struct cycle *cy, const struct mon_samples *s, struct actx *a)
{
	struct alert_rule	 eff;

	if (a->seen || !alert_state_open(a->row.state))
		return;
	a->touched = 1;
	if (a->rule != NULL && !guest_gone(s, a)) {
		a->action = alert_miss(&a->row, target_unknown(s, a),
		    cy->m->conf->monitor.stale_after, cy->now);
		return;
	}
	/* Gone, or its rule was taken out of the config: it ends. */
	memset(&eff, 0, sizeof eff);
	eff.name = a->row.rule;
	eff.op = ">";
	eff.flap_count = cy->m->conf->monitor.flap_count;
	eff.flap_window = cy->m->conf->monitor.flap_window;
	if (a->rule != NULL) {
		eff.op = a->rule->op;
		eff.threshold = a->rule->threshold;
		eff.clear = a->rule->clear;
		eff.has_clear = a->rule->has_clear;
	}
	a->muted = a->rule != NULL && muted(cy, a->rule->metric, 0);
	a->action = alert_step(&a->row, 0, 0, cy->now, &eff);
}

static const char *
event_kind(enum alert_action act)
{
	switch (act) {
	case ALERT_FIRE:
		return "fired";
	case ALERT_RESOLVE:
		return "resolved";
	case ALERT_FLAP:
		return "flapping";
	case ALERT_UNFLAP:
		return "settled";
	case ALERT_STALE_NOW:
		return "stale";
	default:
		return NULL;
	}
}

static int
write_row(struct cycle *cy, struct actx *a)
{
	struct store	*s = cy->m->store;
	const char	*kind;
	char		*refs = NULL;

	if (a->refs_dirty || a->row.msg_refs == NULL) {
		refs = json_array_size(a->refs) > 0 ? json_dumps(a->refs,
		    JSON_COMPACT) : NULL;
		free(a->row.msg_refs);
		a->row.msg_refs = refs != NULL ? xstrdup(refs) : NULL;
		free(refs);
	}
	if (a->isnew) {
		if (alert_insert(s, &a->row) != 0)
			return -1;
		a->isnew = 0;
	} else if (alert_update(s, &a->row) != 0)
		return -1;
	if ((kind = event_kind(a->action)) != NULL &&
	    alert_event_add(s, a->row.id, cy->now, kind) != 0)
		return -1;
	return 0;
}

/* Inside the cycle's transaction. */
static int
write_rows(struct cycle *cy, int only_refs)
{
	size_t	 i;

	for (i = 0; i < cy->n; i++) {
		struct actx		*a = &cy->v[i];
		enum alert_action	 act = a->action;

		if (only_refs ? !a->refs_dirty : !a->touched)
			continue;
		if (only_refs)
			a->action = ALERT_NONE;	/* events are written */
		if (write_row(cy, a) != 0) {
			a->action = act;
			log_error("monitor", "cannot store alert rule=%s "
			    "target=%s", a->row.rule, a->row.target);
			return -1;
		}
		a->action = act;
	}
	return 0;
}

/* ---- messages ---- */

static json_t *
ref_in(const struct actx *a, const char *conn, const char *room)
{
	json_t	*e;
	size_t	 i;

	json_array_foreach(a->refs, i, e) {
		const char	*c = json_string_value(json_object_get(e, "c"));
		const char	*r = json_string_value(json_object_get(e, "r"));

		if (c != NULL && r != NULL && strcmp(c, conn) == 0 &&
		    strcmp(r, room) == 0)
			return e;
	}
	return NULL;
}

static const char *
severity_icon(const char *sev)
{
	switch (mon_severity_rank(sev)) {
	case 2:
		return "\xf0\x9f\x9a\xa8";	/* police light */
	case 0:
		return "\xe2\x84\xb9\xef\xb8\x8f";	/* information */
	default:
		return "\xe2\x9a\xa0\xef\xb8\x8f";	/* warning sign */
	}
}

/* "14:05" (today) or "Nov 21 14:05" in monitor.timezone. */
static void
seen_at(struct cycle *cy, int64_t at, char *buf, size_t len)
{
	struct tm	 tm;

	if (at <= 0) {
		snprintf(buf, len, "it was first seen");
		return;
	}
	if (tz_localtime(at, cy->m->conf->monitor.timezone, &tm) != 0)
		tz_localtime(at, NULL, &tm);
	strftime(buf, len, cy->now - at < 20 * 3600 ? "%H:%M" :
	    "%b %d %H:%M", &tm);
}

static void
alert_lines(struct cycle *cy, struct buf *b, const struct actx *a)
{
	char	 d[32];

	switch (a->row.state) {
	case ALERT_FIRING:
		buf_printf(b, "\xf0\x9f\x94\xb4 #%" PRId64 " %s\n   %s, %s%s%s\n",
		    a->row.id, a->row.summary, a->row.rule, a->row.severity,
		    a->row.acked_by != NULL ? ", acked by " : "",
		    a->row.acked_by != NULL ? a->row.acked_by : "");
		break;
	case ALERT_FLAPPING:
		buf_printf(b, "\xe3\x80\xb0\xef\xb8\x8f #%" PRId64 " %s\n"
		    "   %s, flapping: notices held\n", a->row.id,
		    a->row.summary, a->row.rule);
		break;
	case ALERT_STALE:
	case ALERT_UNKNOWN:
		/* Neither firing nor resolved: say what is not known. */
		seen_at(cy, a->row.last_seen_at, d, sizeof d);
		buf_printf(b, "\xe2\x8f\xb8\xef\xb8\x8f #%" PRId64 " %s\n"
		    "   %s, %s: %s since %s%s%s\n", a->row.id, a->row.summary,
		    a->row.rule, alert_state_name(a->row.state),
		    a->row.state == ALERT_UNKNOWN ? "cannot be measured" :
		    "not measured", d, a->row.acked_by != NULL ?
		    ", acked by " : "", a->row.acked_by != NULL ?
		    a->row.acked_by : "");
		break;
	default:
		format_duration(a->row.resolved_at > a->row.fired_at ?
		    a->row.resolved_at - a->row.fired_at : 0, d, sizeof d);
		buf_printf(b, "\xe2\x9c\x85 #%" PRId64 " %s\n   %s, resolved "
		    "after %s\n", a->row.id, a->row.summary, a->row.rule, d);
		break;
	}
}

static void
alert_buttons(struct chat_button *b, char data[4][48], int64_t id)
{
	static const char *const labels[] = { "Ack", "Silence 1h",
	    "Silence 4h", "Silence 24h" };
	static const char *const durs[] = { "1h", "4h", "24h" };
	/*
	 * One reaction key per button (Matrix): a homeserver refuses the
	 * same key twice on one event (M_DUPLICATE_ANNOTATION), and a
	 * shared key could only ever mean its first button.
	 * 👍 ack, 🕐 1h, 🕓 4h, 📆 a day.
	 */
	static const char *const emojis[] = { "\xf0\x9f\x91\x8d",
	    "\xf0\x9f\x95\x90", "\xf0\x9f\x95\x93",
	    "\xf0\x9f\x93\x86" };
	int	 i;

	snprintf(data[0], 48, "ack:%" PRId64, id);
	for (i = 0; i < 3; i++)
		snprintf(data[i + 1], 48, "sil:%" PRId64 ":%s", id, durs[i]);
	for (i = 0; i < 4; i++) {
		b[i].label = labels[i];
		b[i].data = data[i];
		b[i].emoji = emojis[i];
		b[i].style = i == 0 ? CHAT_BUTTON_PRIMARY :
		    CHAT_BUTTON_DANGER;
	}
}

/* Renders the message of group `g` in a room from its members. */
static int
render_group(struct cycle *cy, const char *conn, const char *room,
    const char *ref, struct buf *body, char **title, int64_t *group)
{
	const char	*worst = "info";
	size_t		 i;
	int		 nfiring = 0, nmembers = 0, nstale = 0;

	*group = 0;
	for (i = 0; i < cy->n; i++) {
		const struct actx	*a = &cy->v[i];
		json_t			*e = ref_in(a, conn, room);
		const char		*m;

		if (e == NULL || (m = json_string_value(json_object_get(e,
		    "m"))) == NULL || strcmp(m, ref) != 0)
			continue;
		if (*group == 0)
			*group = json_integer_value(json_object_get(e, "g"));
		nmembers++;
		alert_lines(cy, body, a);
		if (a->row.state == ALERT_FIRING ||
		    a->row.state == ALERT_FLAPPING) {
			nfiring++;
			if (mon_severity_rank(a->row.severity) >
			    mon_severity_rank(worst))
				worst = a->row.severity;
		} else if (a->row.state == ALERT_STALE ||
		    a->row.state == ALERT_UNKNOWN)
			nstale++;
	}
	if (nfiring > 0 && nstale > 0)
		*title = xasprintf("%s %d alert%s firing, %d not measured",
		    severity_icon(worst), nfiring, nfiring == 1 ? "" : "s",
		    nstale);
	else if (nfiring > 0)
		*title = xasprintf("%s %d alert%s firing", severity_icon(worst),
		    nfiring, nfiring == 1 ? "" : "s");
	else if (nstale > 0)
		*title = xasprintf("\xe2\x8f\xb8\xef\xb8\x8f %d alert%s not "
		    "measured (stale)", nstale, nstale == 1 ? "" : "s");
	else
		*title = xasprintf("\xe2\x9c\x85 resolved");
	/* Stale alerts keep their buttons: they may still be acked. */
	return nfiring + nstale;
}

/* "o:42": how an alert names the outbox row it was posted in. */
static char *
outbox_ref_name(int64_t id)
{
	return xasprintf("o:%" PRId64, id);
}

static int64_t
outbox_id_of(const char *ref)
{
	const char	*errstr;

	if (ref == NULL || !str_has_prefix(ref, "o:"))
		return 0;
	return strtonum(ref + 2, 1, INT64_MAX, &errstr);
}

static void
post_new(struct cycle *cy, struct connector *c, const char *room)
{
	const char		*conn = c->ops->name;
	struct chat_button	 b[4];
	char			 data[4][48], *ref = NULL, *title = NULL;
	struct chat_msg		 msg;
	struct buf		 body;
	size_t			 i;
	int64_t			 group = 0, g2, id;
	int			 n = 0;
	const char		*worst = "info";

	buf_init(&body, 0);
	for (i = 0; i < cy->n; i++) {
		struct actx	*a = &cy->v[i];

		if (a->row.state != ALERT_FIRING || a->muted ||
		    ref_in(a, conn, room) != NULL || silenced(cy, a) ||
		    quiet(cy, conn, room, a->row.severity))
			continue;
		if (group == 0)
			group = a->row.id;
		/* Marked with an empty ref until the row is written. */
		json_array_append_new(a->refs, json_pack("{s:s,s:s,s:s,s:I}",
		    "c", conn, "r", room, "m", "", "g", (json_int_t)group));
		n++;
		if (mon_severity_rank(a->row.severity) >
		    mon_severity_rank(worst))
			worst = a->row.severity;
	}
	if (n == 0) {
		buf_release(&body);
		return;
	}
	render_group(cy, conn, room, "", &body, &title, &g2);
	alert_buttons(b, data, group);
	memset(&msg, 0, sizeof msg);
	msg.title = title;
	msg.text = buf_cstr(&body);
	msg.buttons = b;
	msg.nbuttons = 4;
	if ((id = outbox_send(cy->m->store, conn, room, &msg, NULL)) > 0)
		ref = outbox_ref_name(id);
	for (i = 0; i < cy->n; i++) {
		struct actx	*a = &cy->v[i];
		json_t		*e = ref_in(a, conn, room);
		size_t		 k;

		if (e == NULL || strcmp(json_string_value(json_object_get(e,
		    "m")), "") != 0)
			continue;
		if (ref == NULL) {	/* not written: try again next cycle */
			k = json_array_size(a->refs) - 1;
			json_array_remove(a->refs, k);
			continue;
		}
		json_object_set_new(e, "m", json_string(ref));
		a->refs_dirty = 1;
		a->row.last_sent_at = cy->now;
	}
	log_info("monitor", "alerts posted connector=%s room=%s group=%"
	    PRId64 " count=%d", conn, room, group, n);
	free(ref);
	free(title);
	buf_release(&body);
}

static void
edit_group(struct cycle *cy, struct connector *c, const char *room,
    const char *ref)
{
	struct chat_button	 b[4];
	char			 data[4][48], *title = NULL;
	struct chat_msg		 msg;
	struct buf		 body;
	int64_t			 group;
	int			 firing;

	buf_init(&body, 0);
	firing = render_group(cy, c->ops->name, room, ref, &body, &title,
	    &group);
	memset(&msg, 0, sizeof msg);
	msg.title = title;
	msg.text = buf_cstr(&body);
	if (firing > 0) {
		alert_buttons(b, data, group);
		msg.buttons = b;
		msg.nbuttons = 4;
	}
	/* A message that cannot be edited any more is posted anew by the
	 * sender, with this newest content. */
	if (outbox_edit(cy->m->store, outbox_id_of(ref), &msg) != 0)
		log_warn("monitor", "alert message %s not found: not edited",
		    ref);
	free(title);
	buf_release(&body);
}

/* Acked (by a button or `ack`) but the message does not say so yet. */
static int
ack_unseen(const struct actx *a, const json_t *e)
{
	return (a->row.state == ALERT_FIRING || a->row.state == ALERT_STALE ||
	    a->row.state == ALERT_UNKNOWN) && a->row.acked_by != NULL &&
	    !json_is_true(json_object_get(e, "a"));
}

/* Marks the acks shown in the message `ref` of a room. */
static void
acks_shown(struct cycle *cy, const char *conn, const char *room,
    const char *ref)
{
	size_t	 i;

	for (i = 0; i < cy->n; i++) {
		struct actx	*a = &cy->v[i];
		json_t		*e = ref_in(a, conn, room);
		const char	*m;

		if (e == NULL || !ack_unseen(a, e) || (m = json_string_value(
		    json_object_get(e, "m"))) == NULL || strcmp(m, ref) != 0)
			continue;
		json_object_set_new(e, "a", json_true());
		a->refs_dirty = 1;
	}
}

/* Resolves, flaps, settles and acks edit the messages they were posted
 * in. */
static void
post_edits(struct cycle *cy, struct connector *c, const char *room)
{
	char	**done = NULL;
	size_t	 ndone = 0, i, k;

	for (i = 0; i < cy->n; i++) {
		struct actx	*a = &cy->v[i];
		json_t		*e;
		const char	*ref;

		if ((e = ref_in(a, c->ops->name, room)) == NULL ||
		    (ref = json_string_value(json_object_get(e, "m"))) ==
		    NULL || *ref == '\0')
			continue;
		if (a->action != ALERT_RESOLVE && a->action != ALERT_FLAP &&
		    a->action != ALERT_UNFLAP && a->action !=
		    ALERT_STALE_NOW && a->action != ALERT_BACK &&
		    !ack_unseen(a, e))
			continue;
		for (k = 0; k < ndone && strcmp(done[k], ref) != 0; k++)
			;
		if (k < ndone)
			continue;
		done = xreallocarray(done, ndone + 1, sizeof *done);
		done[ndone++] = xstrdup(ref);
		edit_group(cy, c, room, ref);
		acks_shown(cy, c->ops->name, room, done[ndone - 1]);
	}
	for (k = 0; k < ndone; k++)
		free(done[k]);
	free(done);
}

/* Repeats and the one flapping notice: short lines. */
static void
post_lines(struct cycle *cy, struct connector *c, const char *room)
{
	const char		*conn = c->ops->name;
	struct buf		 body;
	struct chat_button	 b[4];
	char			 data[4][48];
	struct chat_msg		 msg;
	size_t			 i;
	int64_t			 group = 0;
	int			 n = 0;

	buf_init(&body, 0);
	for (i = 0; i < cy->n; i++) {
		struct actx	*a = &cy->v[i];

		if ((a->action != ALERT_REPEAT && a->action != ALERT_FLAP) ||
		    a->muted || silenced(cy, a) ||
		    quiet(cy, conn, room, a->row.severity))
			continue;
		if (a->action == ALERT_REPEAT && ref_in(a, conn, room) == NULL)
			continue;
		if (a->action == ALERT_REPEAT) {
			char	 d[32];

			format_duration(cy->now - a->row.fired_at, d,
			    sizeof d);
			buf_printf(&body, "\xf0\x9f\x94\x81 #%" PRId64 " %s\n"
			    "   still firing after %s\n", a->row.id,
			    a->row.summary, d);
			if (group == 0)
				group = a->row.id;
		} else
			buf_printf(&body, "\xe3\x80\xb0\xef\xb8\x8f #%" PRId64
			    " %s\n   flapping: held until it settles\n",
			    a->row.id, a->row.summary);
		n++;
	}
	if (n > 0) {
		memset(&msg, 0, sizeof msg);
		msg.text = buf_cstr(&body);
		if (group != 0) {
			alert_buttons(b, data, group);
			msg.buttons = b;
			msg.nbuttons = 4;
		}
		outbox_send(cy->m->store, conn, room, &msg, NULL);
	}
	buf_release(&body);
}

static void
post_room(void *arg, struct connector *c, const char *room)
{
	struct cycle	*cy = arg;

	post_edits(cy, c, room);
	post_lines(cy, c, room);
	post_new(cy, c, room);
}

/* ---- the cycle ---- */

int
monitor_cycle(struct monitor *m, int64_t now)
{
	struct mon_samples	 s;
	struct cycle		 cy;
	size_t			 i, j;
	int			 rc;

	/* A reload's config, taken between two cycles. */
	pthread_mutex_lock(&m->lock);
	if (m->pending != NULL) {
		m->conf = m->pending;
		m->pending = NULL;
		free(m->rules);
		build_rules(m);
		log_info("monitor", "rules reloaded count=%zu", m->nrules);
	}
	pthread_mutex_unlock(&m->lock);
	memset(&cy, 0, sizeof cy);
	cy.m = m;
	cy.now = now;
	if (tz_localtime(now, m->conf->monitor.timezone, &cy.local) != 0)
		tz_localtime(now, NULL, &cy.local);
	rc = mon_poll(m, now, &s);
	mon_series_record(m, &s, now);
	load_rows(&cy);
	load_silences(&cy);
	for (i = 0; i < m->nrules; i++) {
		size_t	 lo, hi;

		mon_samples_metric(&s, m->rules[i].metric, &lo, &hi);
		for (j = lo; j < hi; j++)
			step_sample(&cy, &m->rules[i], &s.v[s.order[j]]);
	}
	for (i = 0; i < cy.n; i++)
		step_absent(&cy, &s, &cy.v[i]);
	for (i = 0; i < cy.n; i++) {
		struct actx	*a = &cy.v[i];

		if (a->action == ALERT_FIRE) {
			/* A new incident: new messages. */
			json_array_clear(a->refs);
			a->refs_dirty = 1;
		}
		if (a->action != ALERT_NONE)
			log_info("monitor", "alert %s rule=%s target=%s "
			    "value=%.1f%s", event_kind(a->action) ?
			    event_kind(a->action) : a->action == ALERT_BACK ?
			    "measured-again" : "repeat", a->row.rule,
			    a->row.target, a->row.value, a->muted ?
			    " muted=backup" : "");
	}
	/* The alerts and the messages that report them: one transaction. */
	if (store_begin(m->store) != 0)
		rc = -1;
	else if (write_rows(&cy, 0) == 0) {
		for (i = 0; i < cy.n; i++)
			cy.v[i].refs_dirty = 0;
		mon_alert_rooms(m->app, post_room, &cy);
		if (write_rows(&cy, 1) != 0 || store_commit(m->store) != 0) {
			store_rollback(m->store);
			rc = -1;
		}
	} else {
		store_rollback(m->store);
		rc = -1;
	}
	mon_digest_tick(m, now);
	for (i = 0; i < cy.n; i++)
		actx_release(&cy.v[i]);
	free(cy.v);
	for (i = 0; i < cy.nsilences; i++)
		free(cy.silences[i]);
	free(cy.silences);
	mon_samples_free(&s);
	return rc;
}

/* ---- buttons ---- */

/* The alerts posted together with alert `id` (itself too), by id. */
static int
group_members(struct store *s, int64_t id, struct alert_row **members,
    size_t *n)
{
	struct alert_row	*rows;
	size_t			 nrows, k;
	int			 found = 0;

	*members = NULL;
	*n = 0;
	if (alerts_all(s, &rows, &nrows) != 0) {
		alert_rows_free(rows, nrows);
		return -1;
	}
	for (k = 0; k < nrows; k++) {
		struct alert_row	*r = &rows[k];
		int			 member = r->id == id;
		json_t			*a, *e;
		size_t			 i;

		if (!member && r->msg_refs != NULL &&
		    (a = json_loads(r->msg_refs, 0, NULL)) != NULL) {
			json_array_foreach(a, i, e) {
				if (json_integer_value(json_object_get(e,
				    "g")) == id)
					member = 1;
			}
			json_decref(a);
		}
		if (!member)
			continue;
		found |= r->id == id;
		*members = xreallocarray(*members, *n + 1, sizeof **members);
		(*members)[(*n)++] = *r;	/* its texts move too */
		memset(r, 0, sizeof *r);
	}
	alert_rows_free(rows, nrows);
	return found ? 0 : -1;
}

static char *
button_ack(struct store *s, const char *user, int64_t id,
    const struct alert_row *members, size_t n)
{
	size_t		 i, acked = 0;
	char		*detail;
	int		 rc;

	for (i = 0; i < n; i++) {
		if (!alert_state_open(members[i].state))
			continue;
		if ((rc = alert_ack(s, members[i].id, user)) == -1)
			return NULL;
		acked += rc;
	}
	if (acked == 0)
		return xasprintf("alert #%" PRId64 " is not firing or already "
		    "acked", id);
	detail = xasprintf("alert=%" PRId64 " acked=%zu", id, acked);
	audit_append(s, user, "alert.ack", detail);
	free(detail);
	return xasprintf("acked #%" PRId64 "%s: no repeats until resolved",
	    id, acked > 1 ? " and its group" : "");
}

static char *
button_silence(struct store *s, const char *user, int64_t id,
    const char *dur, int64_t now, const struct alert_row *members, size_t n)
{
	int64_t		 secs, sid, first = 0;
	char		*cause = NULL, *detail, *matcher, d[32];
	size_t		 i;
	int		 rc;

	if (parse_duration(dur, &secs, &cause) != 0 || secs <= 0 ||
	    secs > 30 * 86400) {
		free(cause);
		return xasprintf("this silence button is not valid (%s)", dur);
	}
	for (i = 0; i < n; i++) {
		matcher = xasprintf("rule=%s,target=%s", members[i].rule,
		    members[i].target);
		detail = xasprintf("button on alert #%" PRId64, id);
		rc = silence_add(s, matcher, user, detail, now, now + secs,
		    &sid);
		free(detail);
		if (rc == 0) {
			if (first == 0)
				first = sid;
			detail = xasprintf("silence=%" PRId64 " matcher=%s "
			    "for=%s", sid, matcher, dur);
			audit_append(s, user, "silence.create", detail);
			free(detail);
		}
		free(matcher);
	}
	if (first == 0)
		return NULL;	/* none stored */
	return xasprintf("silenced #%" PRId64 "%s for %s (silence %" PRId64
	    ")", id, n > 1 ? " and its group" : "",
	    format_duration(secs, d, sizeof d), first);
}

int
monitor_button(struct store *s, const char *user, const char *data,
    int64_t now, char **answer)
{
	struct alert_row	*members;
	const char		*p, *errstr;
	char			*idtext;
	int64_t			 id;
	size_t			 n, len;
	int			 ack;

	*answer = NULL;
	if (data == NULL)
		return 0;
	if (http_button(s, user, data, now, answer))	/* webhooks': e12, m3 */
		return 1;
	if (str_has_prefix(data, "ack:"))
		ack = 1;
	else if (str_has_prefix(data, "sil:"))
		ack = 0;
	else
		return 0;
	p = data + 4;
	len = strcspn(p, ":");
	idtext = xstrndup(p, len);
	id = strtonum(idtext, 1, INT64_MAX, &errstr);
	free(idtext);
	if (errstr != NULL || (ack && p[len] != '\0') ||
	    (!ack && p[len] != ':')) {
		*answer = xstrdup("this alert button is not valid");
		return 1;
	}
	if (group_members(s, id, &members, &n) != 0) {
		alert_rows_free(members, n);
		*answer = xasprintf("there is no alert #%" PRId64, id);
		return 1;
	}
	if (ack)
		*answer = button_ack(s, user, id, members, n);
	else
		*answer = button_silence(s, user, id, p + len + 1, now,
		    members, n);
	if (*answer == NULL)
		*answer = xstrdup("pvebot could not save that; press again");
	alert_rows_free(members, n);
	return 1;
}

/* ---- lifecycle ---- */

static int
vmid_cmp(const void *a, const void *b)
{
	int	 x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

struct monitor *
monitor_create(struct app *app, char **cause)
{
	struct monitor	*m = xcalloc(1, sizeof *m);
	char		*running = NULL, *p, *item;
	const char	*errstr;

	m->app = app;
	m->conf = app->conf;
	if ((m->store = store_open(m->conf->database, cause)) == NULL) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	build_rules(m);
	if (store_kv_get(m->store, "monitor.running", &running) == 0 &&
	    running != NULL) {
		m->have_running = 1;
		m->running = xreallocarray(NULL, strlen(running) / 2 + 2,
		    sizeof *m->running);
		p = running;
		while ((item = strsep(&p, ",")) != NULL) {
			int	 v = (int)strtonum(item, 1, 999999999, &errstr);

			if (errstr == NULL)
				m->running[m->nrunning++] = v;
		}
		/* Kept sorted (monitor_poll.c looks VMIDs up in it). */
		qsort(m->running, m->nrunning, sizeof *m->running, vmid_cmp);
	}
	free(running);
	return m;
}

static void *
monitor_main(void *arg)
{
	struct monitor	*m = arg;
	struct timespec	 ts;
	long long	 cycles = 0;
	double		 cpu, sum = 0, worst = 0, before;

	pthread_setname_np(pthread_self(), "pvebot-monitor");
	pthread_mutex_lock(&m->lock);
	while (!m->stopping) {
		pthread_mutex_unlock(&m->lock);
		before = thread_cpu_ms();
		monitor_cycle(m, wall_now());
		cpu = thread_cpu_ms() - before;
		sum += cpu;
		if (cpu > worst)
			worst = cpu;
		cycles++;
		pthread_mutex_lock(&m->lock);
		if (m->stopping)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += m->conf->monitor.interval > 0 ?
		    m->conf->monitor.interval : 30;
		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
	}
	pthread_mutex_unlock(&m->lock);
	/* What the monitor cost, for the operator and `make bench`. */
	log_info("monitor", "stopped cycles=%lld cycles_cpu_ms=%.1f "
	    "worst_cycle_cpu_ms=%.1f", cycles, sum, worst);
	return NULL;
}

int
monitor_start(struct monitor *m, char **cause)
{
	if (m->started)
		return 0;
	if (pthread_create(&m->thread, NULL, monitor_main, m) != 0)
		return set_cause(cause, "cannot start the monitor thread");
	m->started = 1;
	log_info("monitor", "started interval=%llds rules=%zu",
	    (long long)m->conf->monitor.interval, m->nrules);
	return 0;
}

void
monitor_reload(struct monitor *m, const struct conf *conf)
{
	pthread_mutex_lock(&m->lock);
	m->pending = conf;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

void
monitor_stop(struct monitor *m)
{
	if (m == NULL || !m->started)
		return;
	pthread_mutex_lock(&m->lock);
	m->stopping = 1;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	m->started = 0;
}

void
monitor_free(struct monitor *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	monitor_stop(m);
	for (i = 0; i < m->nhosts; i++) {
		free(m->hosts[i].host);
		free(m->hosts[i].node);
		sensors_seen_free(m->hosts[i].seen);
		sensor_list_release(&m->hosts[i].list);
		gpu_release(&m->hosts[i].gpus);
	}
	free(m->hosts);
	for (i = 0; i < m->nseries; i++)
		free(m->series[i].name);
	free(m->series);
	free(m->rules);
	free(m->running);
	free(m->stop_alerts);
	free(m->backups);
	mon_health_free(m);
	mon_ops_free(m);
	store_close(m->store);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	free(m);
}
