/*
 * hook_alertmanager.c - POST /hooks/alertmanager, Alertmanager's webhook
 * (payload version 4, see docs/notifications.md), and the silences its
 * buttons ask of Alertmanager.
 *
 * A group (receiver and groupKey) is one row of am_groups with its
 * alerts in am_alerts, stored with the chat messages they cause in one
 * transaction before the 2xx (503 when the database refuses, and
 * Alertmanager sends again). The group is shown once per incident: the
 * first payload with a firing alert posts one message to each alert
 * room; later payloads (more alerts, some resolved, all resolved) edit
 * that message, and only when what it shows changed, so Alertmanager's
 * repeats change nothing. A group that fires again after it resolved is
 * a new incident with a new message.
 *
 * Silence buttons: the router (which never does network I/O) only
 * writes a request to am_silences inside its transaction. This part's
 * own thread (hook_alertmanager_silencer) sends one POST
 * /api/v2/silences per firing alert of the group, with matchers from the
 * alert's labels (every label, equal, not a regex), createdBy the person
 * who pressed, a comment saying so, startsAt now and endsAt the press
 * plus the duration; then it edits the group's message with the
 * silences' ids. No answer, a 5xx or a 429 is tried again with backoff
 * (HOOK_AM_TRIES in all); another 4xx fails at once and the message says
 * why. An id is stored as soon as its POST returns, so a retry never
 * silences the same alert twice; a crash between the POST and that write
 * can leave one duplicate silence, never a missing one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "app.h"
#include "chat.h"
#include "conf.h"
#include "http_int.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "net_http.h"
#include "outbox.h"
#include "store.h"
#include "store_hooks.h"
#include "util.h"

#define HOOK_AM_MAX_ALERTS	1000	/* in one payload */
#define HOOK_AM_SHOWN		20	/* alerts listed in a message */
#define HOOK_AM_LABELS_SHOWN	6
#define HOOK_AM_VALUE_SHOWN	60
#define HOOK_AM_NOTE_SHOWN	200
#define HOOK_AM_TRIES		6	/* POSTs of one silence, in all */
#define HOOK_AM_BATCH		32	/* pending requests read at once */
#define HOOK_AM_IDLE_MS		5000	/* look for due requests this often */
#define HOOK_AM_RECHECK_MS	2000	/* after a kick: the router commits */

/* Severity of an alert from its labels; Alertmanager has no fixed one. */
const char *
hook_alertmanager_severity(const json_t *labels)
{
	const char	*s = json_string_value(json_object_get(labels,
			    "severity"));

	if (s == NULL)
		return "warning";
	if (strcasecmp(s, "critical") == 0 || strcasecmp(s, "page") == 0 ||
	    strcasecmp(s, "error") == 0 || strcasecmp(s, "high") == 0 ||
	    strcasecmp(s, "disaster") == 0)
		return "critical";
	if (strcasecmp(s, "info") == 0 || strcasecmp(s, "none") == 0 ||
	    strcasecmp(s, "low") == 0 || strcasecmp(s, "informational") == 0)
		return "info";
	return "warning";
}

static int
labels_ok(const json_t *o)
{
	const char	*k;
	json_t		*v;

	if (!json_is_object(o))
		return 0;
	json_object_foreach((json_t *)o, k, v) {
		if (!json_is_string(v))
			return 0;
	}
	return 1;
}

/* The first line of a text, cut at max bytes on a character boundary. */
static char *
first_line(const char *s, size_t max)
{
	size_t	 len = strcspn(s, "\n");

	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	return xstrndup(s, len);
}

/* ---- the group's message ---- */

struct am_alert {
	char	*fingerprint;
	char	*status;
	json_t	*labels;
	json_t	*annotations;
	char	*starts_at;
};

struct am_group {
	int64_t		 id;
	char		*status;	/* as stored before this payload */
	char		*receiver;
	json_t		*group_labels;
	char		*acked_by;
	char		*notes;
	char		*msg_refs;
	char		*rendered;
	struct am_alert	*v;
	size_t		 n;
};

static void
group_release(struct am_group *g)
{
	size_t	 i;

	for (i = 0; i < g->n; i++) {
		free(g->v[i].fingerprint);
		free(g->v[i].status);
		json_decref(g->v[i].labels);
		json_decref(g->v[i].annotations);
		free(g->v[i].starts_at);
	}
	free(g->v);
	free(g->status);
	free(g->receiver);
	json_decref(g->group_labels);
	free(g->acked_by);
	free(g->notes);
	free(g->msg_refs);
	free(g->rendered);
	memset(g, 0, sizeof *g);
}

/* Stored JSON text parsed; an empty object when absent or unparsable. */
static json_t *
json_object_of(const char *text)
{
	json_t	*o = text != NULL ? json_loads(text, 0, NULL) : NULL;

	return o != NULL ? o : json_object();
}

/* Loads group `id` with its alerts, firing first. 0, 1 none, -1. */
static int
group_load(struct store *s, int64_t id, struct am_group *g)
{
	struct am_group_row	 row;
	struct am_alert_row	*v;
	size_t			 n, i;
	int			 rc;

	memset(g, 0, sizeof *g);
	if ((rc = am_group_find(s, id, &row)) != 0)
		return rc;
	g->id = id;
	g->status = row.status;
	g->receiver = row.receiver;
	g->group_labels = json_object_of(row.group_labels);
	free(row.group_labels);
	g->acked_by = row.acked_by;
	g->notes = row.notes;
	g->msg_refs = row.msg_refs;
	g->rendered = row.rendered;
	if (am_group_alerts(s, id, &v, &n) != 0) {
		group_release(g);
		return -1;
	}
	g->v = n > 0 ? xcalloc(n, sizeof *g->v) : NULL;
	for (i = 0; i < n; i++) {
		struct am_alert	*a = &g->v[g->n++];

		a->fingerprint = v[i].fingerprint;
		a->status = v[i].status;
		a->labels = json_object_of(v[i].labels);
		a->annotations = json_object_of(v[i].annotations);
		a->starts_at = v[i].starts_at;
		free(v[i].labels);
		free(v[i].annotations);
	}
	free(v);
	return 0;
}

static size_t
group_firing(const struct am_group *g, const char **worst)
{
	size_t	 i, n = 0;

	*worst = "info";
	for (i = 0; i < g->n; i++) {
		const char	*sev = hook_alertmanager_severity(g->v[i].labels);

		if (strcmp(g->v[i].status, "firing") != 0)
			continue;
		n++;
		if (mon_severity_rank(sev) > mon_severity_rank(*worst))
			*worst = sev;
	}
	return n;
}

/* "DiskFull" or "DiskFull, node1": the group labels' values. */
static char *
group_name(const struct am_group *g)
{
	struct buf	 b;
	const char	*k;
	json_t		*v;

	buf_init(&b, 0);
	json_object_foreach(g->group_labels, k, v) {
		buf_printf(&b, "%s%s", b.len > 0 ? ", " : "",
		    json_string_value(v));
	}
	if (b.len == 0 && g->n > 0 && json_is_string(json_object_get(
	    g->v[0].labels, "alertname")))
		buf_puts(&b, json_string_value(json_object_get(g->v[0].labels,
		    "alertname")));
	if (b.len == 0)
		buf_puts(&b, "alerts");
	return buf_steal(&b);
}

static void
alert_line(struct buf *b, const struct am_group *g, const struct am_alert *a)
{
	const char	*name = json_string_value(json_object_get(a->labels,
			    "alertname"));
	const char	*k, *note = NULL;
	json_t		*v;
	char		*text;
	int		 firing = strcmp(a->status, "firing") == 0, shown = 0;

	buf_printf(b, "%s %s", firing ? "\xf0\x9f\x94\xb4" :
	    "\xe2\x9c\x85", name != NULL ? name : "alert");
	json_object_foreach(a->labels, k, v) {
		if (strcmp(k, "alertname") == 0 || json_object_get(
		    g->group_labels, k) != NULL)
			continue;
		if (shown++ == HOOK_AM_LABELS_SHOWN) {
			buf_puts(b, " ...");
			break;
		}
		text = first_line(json_string_value(v), HOOK_AM_VALUE_SHOWN);
		buf_printf(b, " %s=%s", k, text);
		free(text);
	}
	buf_puts(b, firing ? "\n" : " (resolved)\n");
	if ((note = json_string_value(json_object_get(a->annotations,
	    "summary"))) == NULL && (note = json_string_value(json_object_get(
	    a->annotations, "description"))) == NULL)
		note = json_string_value(json_object_get(a->annotations,
		    "message"));
	if (note != NULL && *note != '\0' && firing) {
		text = first_line(note, HOOK_AM_NOTE_SHOWN);
		buf_printf(b, "   %s\n", text);
		free(text);
	}
}

static int
silences_configured(void)
{
	struct http	*h = http_running();

	return h != NULL && h->app->conf->http.alertmanager.url != NULL;
}

/*
 * The group's message; *title and *text belong to msg (caller frees).
 * Returns the number of firing alerts.
 */
static size_t
group_render(const struct am_group *g, struct chat_msg *msg, char **title,
    char **text, struct chat_button b[4], char data[4][48])
{
	struct buf	 t;
	const char	*worst;
	char		*name = group_name(g), ref[32];
	size_t		 i, nfiring = group_firing(g, &worst);

	memset(msg, 0, sizeof *msg);
	*title = nfiring > 0 ? xasprintf("%s %zu firing: %s",
	    hook_severity_icon(worst), nfiring, name) :
	    xasprintf("\xe2\x9c\x85 resolved: %s", name);
	buf_init(&t, 0);
	for (i = 0; i < g->n && i < HOOK_AM_SHOWN; i++)
		alert_line(&t, g, &g->v[i]);
	if (g->n > HOOK_AM_SHOWN)
		buf_printf(&t, "... and %zu more\n", g->n - HOOK_AM_SHOWN);
	if (g->notes != NULL)
		buf_puts(&t, g->notes);
	buf_printf(&t, "(Alertmanager group m%" PRId64 ", receiver %s)", g->id,
	    g->receiver);
	*text = buf_steal(&t);
	msg->title = *title;
	msg->text = *text;
	if (nfiring > 0) {
		snprintf(ref, sizeof ref, "m%" PRId64, g->id);
		hook_buttons(msg, b, data, ref, silences_configured());
	}
	free(name);
	return nfiring;
}

/* Edits the group's messages with what it shows now. */
static int
group_redraw(struct store *s, const struct am_group *g)
{
	struct chat_msg		 msg;
	struct chat_button	 b[4];
	char			 data[4][48], *title, *text;
	int			 rc;

	group_render(g, &msg, &title, &text, b, data);
	rc = hook_edit(s, g->msg_refs, &msg);
	free(title);
	free(text);
	return rc;
}

static int
group_set_notes(struct store *s, struct am_group *g, const char *acked_by,
    const char *line)
{
	char	*notes = hook_note_add(g->notes, line);
	int	 rc;

	rc = am_group_set_notes(s, g->id, acked_by, notes);
	free(g->notes);
	g->notes = notes;
	return rc == 0 ? group_redraw(s, g) : -1;
}

/* ---- the webhook ---- */

struct am_payload {
	const char	*receiver;
	const char	*group_key;
	const char	*external_url;
	json_t		*group_labels;
	json_t		*alerts;
};

static int
payload_check(json_t *o, struct am_payload *p, char **cause)
{
	const char	*version;
	json_t		*a;
	size_t		 i;

	memset(p, 0, sizeof *p);
	if (!json_is_object(o))
		return set_cause(cause, "the body is not a JSON object");
	version = json_string_value(json_object_get(o, "version"));
	if (version == NULL || strcmp(version, "4") != 0)
		return set_cause(cause, "expected Alertmanager's webhook "
		    "payload version \"4\"");
	p->group_key = json_string_value(json_object_get(o, "groupKey"));
	p->receiver = json_string_value(json_object_get(o, "receiver"));
	if (p->group_key == NULL || *p->group_key == '\0' ||
	    p->receiver == NULL)
		return set_cause(cause, "groupKey and receiver are required");
	p->external_url = json_string_value(json_object_get(o,
	    "externalURL"));
	p->group_labels = json_object_get(o, "groupLabels");
	if (p->group_labels != NULL && !labels_ok(p->group_labels))
		return set_cause(cause, "groupLabels must map names to "
		    "strings");
	p->alerts = json_object_get(o, "alerts");
	if (!json_is_array(p->alerts))
		return set_cause(cause, "alerts must be an array");
	if (json_array_size(p->alerts) > HOOK_AM_MAX_ALERTS)
		return set_cause(cause, "more than %d alerts in one payload "
		    "(set max_alerts in the webhook_config)",
		    HOOK_AM_MAX_ALERTS);
	json_array_foreach(p->alerts, i, a) {
		const char	*st = json_string_value(json_object_get(a,
				    "status"));

		if (!json_is_object(a) || st == NULL ||
		    (strcmp(st, "firing") != 0 && strcmp(st, "resolved") != 0))
			return set_cause(cause, "alerts[%zu]: status must be "
			    "firing or resolved", i);
		if (!labels_ok(json_object_get(a, "labels")) ||
		    json_object_size(json_object_get(a, "labels")) == 0)
			return set_cause(cause, "alerts[%zu]: labels must be a "
			    "non-empty map of strings", i);
		if (json_object_get(a, "annotations") != NULL &&
		    !labels_ok(json_object_get(a, "annotations")))
			return set_cause(cause, "alerts[%zu]: annotations must "
			    "map names to strings", i);
	}
	return 0;
}

/* The alert's fingerprint, or one made of its labels when absent. */
static char *
fingerprint(const json_t *a)
{
	const char	*fp = json_string_value(json_object_get(a,
			    "fingerprint"));
	char		*text, hex[65];

	if (fp != NULL && *fp != '\0')
		return xstrdup(fp);
	text = json_dumps(json_object_get(a, "labels"), JSON_COMPACT |
	    JSON_SORT_KEYS);
	sha256_hex(text, strlen(text), hex);
	free(text);
	return xstrndup(hex, 16);
}

static int
alert_upsert(struct store *s, int64_t gid, const json_t *a, int64_t now)
{
	json_t		*ann = json_object_get(a, "annotations");
	char		*fp = fingerprint(a), *labels, *anns;
	int		 rc;

	labels = json_dumps(json_object_get(a, "labels"), JSON_COMPACT |
	    JSON_SORT_KEYS);
	anns = ann != NULL ? json_dumps(ann, JSON_COMPACT | JSON_SORT_KEYS) :
	    xstrdup("{}");
	/* json_string_value() is NULL for what is absent or not text. */
	rc = am_alert_upsert(s, gid, fp, json_string_value(json_object_get(a,
	    "status")), labels, anns, json_string_value(json_object_get(a,
	    "startsAt")), json_string_value(json_object_get(a, "endsAt")),
	    now);
	free(fp);
	free(labels);
	free(anns);
	return rc;
}

/* The payload's changes, in the caller's transaction. *result: what
 * became of it (alert, updated, held, duplicate). -1 when a write
 * failed. */
static int
group_apply(struct http *h, struct store *s, const struct am_payload *p,
    int64_t *gid, const char **result, size_t *nfiring)
{
	struct am_group		 g;
	struct chat_msg		 msg;
	struct chat_button	 b[4];
	const char		*worst;
	char			 data[4][48], *title = NULL, *text = NULL;
	char			*labels, *refs = NULL, hash[65];
	json_t			*a, *posted = NULL;
	int64_t			 now = wall_now();
	size_t			 i, payload_firing = 0;
	int			 rc = -1, incident, rooms;

	labels = p->group_labels != NULL ? json_dumps(p->group_labels,
	    JSON_COMPACT | JSON_SORT_KEYS) : xstrdup("{}");
	rc = am_group_upsert(s, p->receiver, p->group_key, labels,
	    p->external_url, now, gid);
	free(labels);
	if (rc != 0 || group_load(s, *gid, &g) != 0)
		return -1;
	rc = -1;
	json_array_foreach(p->alerts, i, a) {
		payload_firing += strcmp(json_string_value(json_object_get(a,
		    "status")), "firing") == 0;
	}
	/* Nothing shown yet, or all shown resolved: a new incident. */
	incident = payload_firing > 0 && (g.msg_refs == NULL ||
	    strcmp(g.status, "resolved") == 0);
	if (incident && am_group_restart(s, *gid) != 0)
		goto out;
	json_array_foreach(p->alerts, i, a) {
		if (alert_upsert(s, *gid, a, now) != 0)
			goto out;
	}
	group_release(&g);
	if (group_load(s, *gid, &g) != 0)
		goto out;
	*nfiring = group_render(&g, &msg, &title, &text, b, data);
	group_firing(&g, &worst);
	{
		char	*all = xasprintf("%s\n%s", title, text);

		sha256_hex(all, strlen(all), hash);
		free(all);
	}
	if (incident) {
		rooms = hook_post(h->app, s, worst, 1, &msg, &posted);
		if (rooms < 0)
			goto out;
		if (rooms > 0)
			refs = json_dumps(posted, JSON_COMPACT);
		*result = rooms > 0 ? "alert" : "held";
	} else if (g.msg_refs != NULL && (g.rendered == NULL ||
	    strcmp(g.rendered, hash) != 0)) {
		if (hook_edit(s, g.msg_refs, &msg) != 0)
			goto out;
		*result = "updated";
	} else
		*result = "duplicate";
	rc = am_group_set_shown(s, *gid, *nfiring > 0 ? "firing" :
	    "resolved", refs, hash);
out:
	json_decref(posted);
	free(refs);
	free(title);
	free(text);
	group_release(&g);
	return rc;
}

void
hook_alertmanager_handle(struct http *h, const struct httpd_req *req,
    struct httpd_resp *resp)
{
	struct am_payload	 p;
	struct store		*s;
	json_error_t		 err;
	json_t			*o;
	const char		*result = "duplicate";
	char			*cause = NULL, *why;
	int64_t			 gid = 0;
	size_t			 nfiring = 0;

	if ((o = json_loadb(req->body, req->body_len, 0, &err)) == NULL) {
		why = xasprintf("the body is not JSON (line %d: %s)", err.line,
		    err.text);
		goto bad;
	}
	if (payload_check(o, &p, &why) != 0)
		goto bad;
	if ((s = http_store(h, &cause)) == NULL || store_begin(s) != 0) {
		why = xasprintf("the database refused the write: %s",
		    cause != NULL ? cause : store_error(s));
		free(cause);
		goto unavailable;
	}
	if (group_apply(h, s, &p, &gid, &result, &nfiring) != 0 ||
	    store_commit(s) != 0) {
		why = xasprintf("the database refused the write: %s",
		    store_error(s));
		store_rollback(s);
		goto unavailable;
	}
	metric_inc2(M_WEBHOOK_EVENTS, "alertmanager", result);
	log_info("http", "alertmanager group m%" PRId64 " receiver=%s "
	    "firing=%zu alerts=%zu result=%s", gid, p.receiver, nfiring,
	    json_array_size(p.alerts), result);
	buf_printf(&resp->body, "{\"ok\":true,\"id\":\"m%" PRId64 "\","
	    "\"firing\":%zu}\n", gid, nfiring);
	resp->content_type = "application/json";
	json_decref(o);
	return;
bad:
	http_refused_log(h, req->peer, "alertmanager", 400, why);
	http_reply_error(resp, 400, why);
	free(why);
	json_decref(o);
	return;
unavailable:
	http_refused_log(h, req->peer, "alertmanager", 503, why);
	http_reply_error(resp, 503, why);
	free(why);
	json_decref(o);
}

/* ---- buttons (the router's thread, its transaction) ---- */

char *
hook_alertmanager_button(struct store *s, const char *user, int64_t gid,
    const char *duration, int64_t now)
{
	struct am_group	 g;
	struct http	*h = http_running();
	const char	*worst;
	char		*answer = NULL, *line, *detail, *comment, *name, d[32];
	int64_t		 secs, rid;
	int		 rc;

	if ((rc = group_load(s, gid, &g)) != 0) {
		group_release(&g);
		return rc == 1 ? xasprintf("there is no alert group m%" PRId64,
		    gid) : NULL;
	}
	if (group_firing(&g, &worst) == 0) {
		answer = xasprintf("alert group m%" PRId64 " is resolved",
		    gid);
		goto out;
	}
	if (duration == NULL) {
		if (g.acked_by != NULL) {
			answer = xasprintf("alert group m%" PRId64 " is "
			    "already acked by %s", gid, g.acked_by);
			goto out;
		}
		line = xasprintf("\xf0\x9f\x91\x8d acked by %s", user);
		rc = group_set_notes(s, &g, user, line);
		free(line);
		if (rc != 0)
			goto out;
		detail = xasprintf("alertmanager_group=m%" PRId64, gid);
		audit_append(s, user, "alert.ack", detail);
		free(detail);
		answer = xasprintf("acked alert group m%" PRId64, gid);
		goto out;
	}
	if (h == NULL || h->app->conf->http.alertmanager.url == NULL) {
		answer = xstrdup("Alertmanager's API is not configured "
		    "(http.alertmanager.url in bot.conf): silence it in "
		    "Alertmanager");
		goto out;
	}
	if (parse_duration(duration, &secs, &answer) != 0 || secs <= 0 ||
	    secs > h->app->conf->monitor.max_silence) {
		free(answer);
		answer = xasprintf("this silence button is not valid (%s)",
		    duration);
		goto out;
	}
	format_duration(secs, d, sizeof d);
	name = group_name(&g);
	comment = xasprintf("Silenced for %s from chat with pvebot by %s "
	    "(button on alert group m%" PRId64 ": %s)", d, user, gid, name);
	free(name);
	rc = am_silence_req_add(s, gid, user, comment, secs, now, &rid);
	free(comment);
	if (rc != 0)
		goto out;
	line = xasprintf("\xf0\x9f\x94\x95 %s asked for a %s silence; asking "
	    "Alertmanager...", user, d);
	rc = group_set_notes(s, &g, NULL, line);
	free(line);
	if (rc != 0)
		goto out;
	detail = xasprintf("alertmanager_group=m%" PRId64 " request=%" PRId64
	    " for=%s", gid, rid, duration);
	audit_append(s, user, "silence.request", detail);
	free(detail);
	http_kick(h);
	answer = xasprintf("asking Alertmanager for a %s silence of m%" PRId64,
	    d, gid);
out:
	group_release(&g);
	return answer;
}

/* ---- the silencer (the endpoint's own thread) ---- */

static void
rfc3339(int64_t t, char *out, size_t len)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

char *
hook_alertmanager_silence_body(const json_t *labels, const char *created_by,
    const char *comment, int64_t starts_at, int64_t ends_at)
{
	json_t		*o, *m;
	const char	*k;
	json_t		*v;
	char		 start[40], end[40], *text;

	m = json_array();
	json_object_foreach((json_t *)labels, k, v) {
		json_array_append_new(m, json_pack("{s:s,s:s,s:b,s:b}", "name",
		    k, "value", json_string_value(v), "isRegex", 0, "isEqual",
		    1));
	}
	rfc3339(starts_at, start, sizeof start);
	rfc3339(ends_at, end, sizeof end);
	o = json_pack("{s:o,s:s,s:s,s:s,s:s}", "matchers", m, "startsAt",
	    start, "endsAt", end, "createdBy", created_by, "comment", comment);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

struct am_request {
	int64_t	 id;
	int64_t	 group;
	char	*created_by;
	char	*comment;
	int64_t	 duration;
	int64_t	 requested_at;
	int	 attempts;
	json_t	*ids;		/* {fingerprint: silence id} */
};

/* One POST; 0 created (*sid), 1 try again later, -1 failed (*error). */
static int
post_silence(struct http *h, const char *body, char **sid, char **error)
{
	const struct conf_http_alertmanager	*am = &h->app->conf->http.alertmanager;
	struct net_http_api			 api;
	struct net_request			 req;
	struct net_reply			 reply;
	struct net_http				*client;
	json_t					*o;
	char					*url, *auth = NULL, *cause = NULL;
	size_t					 len = strlen(am->url);
	long					 timeout_ms;
	int					 rc;

	while (len > 0 && am->url[len - 1] == '/')
		len--;
	url = xasprintf("%.*s/api/v2/silences", (int)len, am->url);
	/* Silences are rare: a client of its own for each. */
	timeout_ms = (am->timeout > 0 ? (long)am->timeout : 10L) * 1000;
	memset(&api, 0, sizeof api);
	api.name = "alertmanager";
	if (am->api_token != NULL)
		auth = xasprintf("Authorization: Bearer %s", am->api_token);
	else if (am->username != NULL) {
		api.username = am->username;
		api.password = am->password;
	}
	api.auth_header = auth;
	api.ca_file = am->ca_file;
	api.connect_timeout_ms = timeout_ms;
	api.timeout_ms = timeout_ms;
	api.body_max = HTTP_CALL_MAX_REPLY;
	api.resend = NET_RESEND_READS;
	memset(&req, 0, sizeof req);
	req.method = "POST";
	req.path = url;
	req.body = body;
	req.content_type = "application/json";
	client = net_http_create(&api, &cause);
	if (auth != NULL) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	if (client == NULL) {
		*error = xasprintf("no answer from Alertmanager: %s", cause);
		free(cause);
		free(url);
		return 1;
	}
	net_http_do(client, &req, &reply);
	net_http_free(client);
	free(url);
	/* A reply past the cap is judged by its status, as any other. */
	if (reply.result != NET_REPLY && reply.result != NET_TOO_BIG) {
		*error = xasprintf("no answer from Alertmanager: %s",
		    reply.error);
		net_reply_release(&reply);
		return 1;
	}
	if (reply.status == 200 && (o = json_loads(buf_cstr(&reply.body), 0,
	    NULL)) != NULL && json_is_string(json_object_get(o,
	    "silenceID"))) {
		*sid = xstrdup(json_string_value(json_object_get(o,
		    "silenceID")));
		json_decref(o);
		rc = 0;
	} else {
		char	*text = first_line(buf_cstr(&reply.body), 200);

		*error = xasprintf("Alertmanager answered %ld%s%s",
		    reply.status, *text != '\0' ? ": " : "", text);
		free(text);
		rc = reply.status >= 500 || reply.status == 429 ? 1 : -1;
	}
	net_reply_release(&reply);
	return rc;
}

static int
request_save(struct store *s, const struct am_request *r, const char *state,
    int64_t next_at, const char *error)
{
	char	*ids = json_dumps(r->ids, JSON_COMPACT);
	int	 rc;

	rc = am_silence_req_save(s, r->id, state, r->attempts, next_at, ids,
	    error, wall_now());
	free(ids);
	return rc;
}

/* The request is over: stored, said in the message, audited. */
static void
request_finish(struct store *s, struct am_request *r, const char *error)
{
	struct am_group	 g;
	struct buf	 ids;
	const char	*k;
	json_t		*v;
	char		*line, *detail, d[32];
	int		 ok;

	buf_init(&ids, 0);
	json_object_foreach(r->ids, k, v) {
		buf_printf(&ids, "%s%s", ids.len > 0 ? ", " : "",
		    json_string_value(v));
	}
	format_duration(r->duration, d, sizeof d);
	if (error == NULL && ids.len == 0)
		line = xasprintf("\xf0\x9f\x94\x95 nothing to silence for %s: "
		    "the group resolved", r->created_by);
	else if (error == NULL)
		line = xasprintf("\xf0\x9f\x94\x95 silenced in Alertmanager by "
		    "%s for %s: silence %s", r->created_by, d, buf_cstr(&ids));
	else
		line = xasprintf("\xe2\x9a\xa0\xef\xb8\x8f Alertmanager did not "
		    "silence it for %s: %s", r->created_by, error);
	ok = store_begin(s) == 0 && request_save(s, r, error == NULL ?
	    "done" : "failed", 0, error) == 0 && group_load(s, r->group, &g)
	    == 0;
	if (ok) {
		ok = group_set_notes(s, &g, NULL, line) == 0;
		group_release(&g);
	}
	if (ok) {
		detail = error == NULL ? xasprintf("alertmanager_group=m%"
		    PRId64 " request=%" PRId64 " silences=%s for=%s", r->group,
		    r->id, buf_cstr(&ids), d) : xasprintf("alertmanager_group=m%"
		    PRId64 " request=%" PRId64 " error=%s", r->group, r->id,
		    error);
		ok = audit_append(s, r->created_by, error == NULL ?
		    "silence.create" : "silence.failed", detail) == 0;
		free(detail);
	}
	if (ok && store_commit(s) == 0)
		log_info("http", "alertmanager silence request=%" PRId64
		    " group=m%" PRId64 " %s%s", r->id, r->group, error == NULL ?
		    "silences=" : "failed: ", error == NULL ? buf_cstr(&ids) :
		    error);
	else {
		store_rollback(s);
		log_error("http", "alertmanager silence request=%" PRId64
		    " not recorded (done in Alertmanager: %s)", r->id,
		    buf_cstr(&ids));
	}
	metric_inc(M_AM_SILENCES, error == NULL ? "created" : "failed");
	free(line);
	buf_release(&ids);
}

static void
request_run(struct http *h, struct store *s, struct am_request *r)
{
	struct am_alert_row	*firing;
	json_t			*labels;
	char			*body, *sid, *error = NULL;
	int64_t			 now = wall_now();
	int64_t			 ends = r->requested_at + r->duration;
	int			 rc = 0, pending = 0;
	struct {
		char	*fp;
		json_t	*labels;
	}			*v = NULL;
	size_t			 nfiring, n = 0, i;

	if (ends <= now + 1) {
		request_finish(s, r, "the silence would already be over");
		return;
	}
	if (am_group_alerts_firing(s, r->group, &firing, &nfiring) != 0)
		return;
	for (i = 0; i < nfiring; i++) {
		labels = json_loads(firing[i].labels, 0, NULL);
		if (labels == NULL || json_object_get(r->ids,
		    firing[i].fingerprint) != NULL) {
			json_decref(labels);
			continue;
		}
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n].fp = firing[i].fingerprint;
		firing[i].fingerprint = NULL;
		v[n].labels = labels;
		n++;
	}
	am_alert_rows_free(firing, nfiring);
	for (i = 0; i < n && rc == 0; i++) {
		body = hook_alertmanager_silence_body(v[i].labels,
		    r->created_by, r->comment, now, ends);
		sid = NULL;
		rc = post_silence(h, body, &sid, &error);
		free(body);
		if (rc == 0) {
			json_object_set_new(r->ids, v[i].fp, json_string(sid));
			free(sid);
			/* At once: a retry must not silence it twice. */
			if (request_save(s, r, "pending", 0, NULL) != 0)
				log_error("http", "alertmanager silence "
				    "request=%" PRId64 " progress not saved",
				    r->id);
		}
	}
	for (i = 0; i < n; i++) {
		free(v[i].fp);
		json_decref(v[i].labels);
	}
	free(v);
	if (rc == 1 && ++r->attempts < HOOK_AM_TRIES) {
		metric_inc(M_AM_SILENCES, "retried");
		log_warn("http", "alertmanager silence request=%" PRId64
		    " attempt=%d: %s; trying again", r->id, r->attempts, error);
		if (request_save(s, r, "pending", wall_now_ms() +
		    chat_backoff_ms(r->attempts, 2000, 60000), error) != 0)
			log_error("http", "alertmanager silence request=%"
			    PRId64 " not saved", r->id);
		pending = 1;
	}
	if (!pending)
		request_finish(s, r, rc == 0 ? NULL : error);
	free(error);
}

/* The requests due now; caller frees them. */
static size_t
requests_due(struct store *s, struct am_request **out, int64_t *next_ms)
{
	struct am_silence_req	*q;
	struct am_request	*v = NULL;
	size_t			 nq, n = 0, i;
	int64_t			 now = wall_now_ms();

	*next_ms = 0;
	*out = NULL;
	if (am_silence_reqs_pending(s, HOOK_AM_BATCH, &q, &nq) != 0)
		return 0;
	for (i = 0; i < nq; i++) {
		struct am_request	*r;
		int64_t			 at = q[i].next_at;

		if (at > now) {
			if (*next_ms == 0 || at < *next_ms)
				*next_ms = at;
			continue;
		}
		v = xreallocarray(v, n + 1, sizeof *v);
		r = &v[n++];
		r->id = q[i].id;
		r->group = q[i].group_id;
		r->created_by = q[i].created_by;
		q[i].created_by = NULL;
		r->comment = q[i].comment;
		q[i].comment = NULL;
		r->duration = q[i].duration;
		r->requested_at = q[i].requested_at;
		r->attempts = q[i].attempts;
		r->ids = json_object_of(q[i].silence_ids);
		if (!json_is_object(r->ids)) {
			json_decref(r->ids);
			r->ids = json_object();
		}
	}
	am_silence_reqs_free(q, nq);
	*out = v;
	return n;
}

void *
hook_alertmanager_silencer(void *arg)
{
	struct http		*h = arg;
	struct store		*s;
	struct am_request	*v;
	struct timespec		 ts;
	char			*cause = NULL;
	int64_t			 next_ms, recheck_until = 0, wait, at;
	size_t			 n, i;

	if ((s = store_open(h->app->conf->database, &cause)) == NULL) {
		log_error("http", "alertmanager silences off: %s", cause);
		free(cause);
		return NULL;
	}
	for (;;) {
		n = requests_due(s, &v, &next_ms);
		for (i = 0; i < n; i++) {
			pthread_mutex_lock(&h->lock);
			if (h->stopping) {
				pthread_mutex_unlock(&h->lock);
				break;
			}
			pthread_mutex_unlock(&h->lock);
			request_run(h, s, &v[i]);
		}
		for (i = 0; i < n; i++) {
			free(v[i].created_by);
			free(v[i].comment);
			json_decref(v[i].ids);
		}
		free(v);
		if (n > 0)
			recheck_until = 0;
		pthread_mutex_lock(&h->lock);
		if (h->stopping) {
			pthread_mutex_unlock(&h->lock);
			break;
		}
		if (h->kicks > 0) {
			/* The router commits the request after it kicks. */
			h->kicks = 0;
			recheck_until = now_ms() + HOOK_AM_RECHECK_MS;
			pthread_mutex_unlock(&h->lock);
			continue;
		}
		wait = recheck_until > now_ms() ? 100 : HOOK_AM_IDLE_MS;
		if (next_ms > 0 && next_ms - wall_now_ms() < wait)
			wait = next_ms - wall_now_ms();
		if (wait > 0) {
			at = wall_now_ms() + wait;
			ts.tv_sec = at / 1000;
			ts.tv_nsec = (at % 1000) * 1000000;
			pthread_cond_timedwait(&h->cond, &h->lock, &ts);
		}
		pthread_mutex_unlock(&h->lock);
	}
	store_close(s);
	return NULL;
}
