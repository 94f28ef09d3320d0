/*
 * hook_proxmox.c - POST /hooks/proxmox: notifications from a Proxmox VE
 * (8.3 and later) or Proxmox Backup Server (4) webhook target, with the
 * body template of docs/notifications.md:
 *
 *   {"title": {{json title}}, "message": {{json message}},
 *    "severity": {{json severity}}, "timestamp": {{timestamp}},
 *    "fields": {{json fields}}}
 *
 * Their client sends the rendered body chunked, one request per
 * notification, with no retry and no event id. So:
 * - the notification is inserted, with the chat messages it causes, in
 *   one transaction before the 2xx; a database that refuses the write
 *   gets 503 and nothing of it remains;
 * - a key made of type, hostname, job-id, timestamp and title drops a
 *   repeat (200, "duplicate");
 * - what it is, is read from its type and text (hook_proxmox_parse(),
 *   pure): a failed backup names the guests that failed (the task table
 *   of the vzdump message), a failed PBS verification the snapshots, a
 *   system-mail from smartd is a disk problem and one from zed (ZFS) a
 *   pool problem; other root mail is a digest line;
 * - severities map to pvebot's: error is critical, warning and unknown
 *   are warnings, notice and info are info. Warnings and worse become
 *   alerts with Ack and Silence buttons, the rest lines of the digest; a
 *   success of a job closes the open failures of the same job (type,
 *   host and job-id), editing their messages.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "app.h"
#include "conf.h"
#include "http_int.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "outbox.h"
#include "store.h"
#include "store_hooks.h"
#include "store_silences.h"
#include "util.h"

#define PVE_TITLE_MAX		1024	/* bytes of a title kept */
#define PVE_DETAIL_LINES	10
#define PVE_DETAIL_BYTES	700
#define PVE_NAMED_MAX		12	/* guests named in a summary */

static const char *const sender_severities[] = { "info", "notice",
	"warning", "error", "unknown" };

/* Types whose success says the job works again. */
static const char *const job_types[] = { "vzdump", "verification", "sync",
	"prune", "gc", "tape-backup", "replication" };

void
hook_proxmox_release(struct hook_pve *ev)
{
	free(ev->type);
	free(ev->hostname);
	free(ev->job_id);
	free(ev->datastore);
	free(ev->title);
	free(ev->message);
	free(ev->sender_severity);
	free(ev->fields);
	free(ev->severity);
	free(ev->kind);
	free(ev->summary);
	free(ev->details);
	memset(ev, 0, sizeof *ev);
}

static int
in_list(const char *s, const char *const *list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (strcmp(s, list[i]) == 0)
			return 1;
	}
	return 0;
}

/* The text of line `p` (up to its newline), trimmed; caller frees. */
static char *
line_at(const char *p)
{
	size_t	 len = strcspn(p, "\n");

	while (len > 0 && isspace((unsigned char)p[len - 1]))
		len--;
	while (len > 0 && isspace((unsigned char)*p)) {
		p++;
		len--;
	}
	return xstrndup(p, len);
}

/* The first line of text starting with `key` (after blanks): its rest. */
static char *
value_after(const char *text, const char *key)
{
	const char	*p = text;
	size_t		 klen = strlen(key);

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, key, klen) == 0)
			return line_at(p + klen);
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return NULL;
}

static int
contains_nocase(const char *hay, const char *needle)
{
	size_t	 n = strlen(needle);

	for (; *hay != '\0'; hay++) {
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	}
	return 0;
}

/* The excerpt chat shows: the first lines of the message, capped. */
static char *
excerpt(const char *message)
{
	struct buf	 b;
	const char	*p = message;
	int		 lines = 0;

	buf_init(&b, 0);
	while (*p != '\0' && lines < PVE_DETAIL_LINES && b.len <
	    PVE_DETAIL_BYTES) {
		size_t	 len = strcspn(p, "\n");

		if (len > 0 && strspn(p, " \t=") < len) {
			if (b.len + len > PVE_DETAIL_BYTES)
				len = PVE_DETAIL_BYTES - b.len;
			buf_append(&b, p, len);
			buf_puts(&b, "\n");
			lines++;
		}
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
	}
	if (*p != '\0')
		buf_puts(&b, "...\n");
	return buf_steal(&b);
}

/*
 * The guests a vzdump message reports as failed, from its task table
 * ("VMID Name Status Time Size Filename", one row per guest, status ok
 * or err): "101 (db), 103 (mail)". NULL when the table says none.
 */
static char *
vzdump_failed(const char *message, int *nfailed)
{
	const char	*p = message;
	struct buf	 b;
	int		 in_table = 0;

	*nfailed = 0;
	buf_init(&b, 0);
	while (p != NULL && *p != '\0') {
		char	*line = line_at(p), *tok[4], *save = NULL, *w;
		int	 n = 0;

		for (w = strtok_r(line, " \t", &save); w != NULL && n < 4;
		    w = strtok_r(NULL, " \t", &save))
			tok[n++] = w;
		if (n > 0 && strcmp(tok[0], "VMID") == 0)
			in_table = 1;
		else if (in_table && n == 0)
			in_table = 0;
		else if (in_table && isdigit((unsigned char)tok[0][0]) &&
		    strspn(tok[0], "0123456789") == strlen(tok[0])) {
			/* A guest without a name has one column less. */
			const char	*status = n >= 3 ? tok[2] : "";
			const char	*name = n >= 3 ? tok[1] : "";

			if (n >= 2 && (strcmp(tok[1], "ok") == 0 ||
			    strcmp(tok[1], "err") == 0)) {
				status = tok[1];
				name = "";
			}
			if (strcmp(status, "ok") != 0) {
				if (*nfailed < PVE_NAMED_MAX)
					buf_printf(&b, "%s%s%s%s%s",
					    *nfailed > 0 ? ", " : "", tok[0],
					    *name != '\0' ? " (" : "", name,
					    *name != '\0' ? ")" : "");
				(*nfailed)++;
			}
		}
		free(line);
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	if (*nfailed > PVE_NAMED_MAX)
		buf_printf(&b, " and %d more", *nfailed - PVE_NAMED_MAX);
	if (*nfailed == 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/*
 * The snapshots a failed PBS verification names, as guests: the lines
 * "vm/101/2025-01-01T02:00:00Z" under "Verification failed on these
 * snapshots/groups:" give "vm/101, ct/102".
 */
static char *
verify_failed(const char *message, int *nfailed)
{
	const char	*p = strstr(message, "failed on these");
	struct buf	 b;
	char		 seen[PVE_NAMED_MAX][32];
	int		 nseen = 0, i;

	*nfailed = 0;
	if (p == NULL)
		return NULL;
	buf_init(&b, 0);
	while ((p = strchr(p, '\n')) != NULL) {
		char	*line = line_at(++p), group[32];
		int	 vmid;

		if ((str_has_prefix(line, "vm/") || str_has_prefix(line,
		    "ct/") || str_has_prefix(line, "host/")) &&
		    sscanf(line, "%*[a-z]/%d", &vmid) == 1) {
			snprintf(group, sizeof group, "%.2s/%d", line, vmid);
			if (line[0] == 'h')
				snprintf(group, sizeof group, "host/%d", vmid);
			for (i = 0; i < nseen && strcmp(seen[i], group) != 0;
			    i++)
				;
			if (i == nseen) {
				if (nseen < PVE_NAMED_MAX) {
					snprintf(seen[nseen++], 32, "%s",
					    group);
					buf_printf(&b, "%s%s", *nfailed > 0 ?
					    ", " : "", group);
				}
				(*nfailed)++;
			}
		} else if (*line != '\0' && strchr(line, '/') == NULL &&
		    *nfailed > 0) {
			free(line);
			break;
		}
		free(line);
	}
	if (*nfailed > PVE_NAMED_MAX)
		buf_printf(&b, " and %d more", *nfailed - PVE_NAMED_MAX);
	if (*nfailed == 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static char *
sev_map(const char *sender)
{
	if (strcmp(sender, "error") == 0)
		return xstrdup("critical");
	if (strcmp(sender, "warning") == 0 || strcmp(sender, "unknown") == 0)
		return xstrdup("warning");
	return xstrdup("info");
}

static void
set_str(char **slot, char *value)
{
	free(*slot);
	*slot = value;
}

/* smartd's and zed's mail to root, or other root mail. */
static void
classify_mail(struct hook_pve *ev)
{
	const char	*t = ev->title, *m = ev->message;
	char		*dev, *pool, *class, *state;

	if (strstr(m, "smartd daemon") != NULL || str_has_prefix(t, "SMART ")
	    || contains_nocase(t, "smartd")) {
		dev = value_after(m, "Device:");
		set_str(&ev->kind, xstrdup("disk problem"));
		set_str(&ev->severity, xstrdup("warning"));
		set_str(&ev->summary, xasprintf("%s: disk problem (smartd): %s",
		    ev->hostname, dev != NULL && *dev != '\0' ? dev : t));
		free(dev);
		return;
	}
	if (str_has_prefix(t, "ZFS ") || strstr(m, "ZFS has") != NULL ||
	    strstr(m, "zpool") != NULL) {
		pool = value_after(m, "pool:");
		class = value_after(m, "class:");
		state = value_after(m, "state:");
		if (pool == NULL && (pool = strstr(t, "pool ")) != NULL)
			pool = xstrndup(pool + 5, strcspn(pool + 5, " "));
		else if (pool == NULL && (pool = strstr(t, " for ")) != NULL)
			pool = xstrndup(pool + 5, strcspn(pool + 5, " "));
		if (class == NULL && str_has_prefix(t, "ZFS ") &&
		    strstr(t, " event") != NULL)
			class = xstrndup(t + 4, strcspn(t + 4, " "));
		if (class != NULL && (strcmp(class, "scrub_finish") == 0 ||
		    strcmp(class, "resilver_finish") == 0 ||
		    strcmp(class, "trim_finish") == 0) &&
		    (state == NULL || strcmp(state, "ONLINE") == 0)) {
			set_str(&ev->kind, xasprintf("ZFS %s", class));
			set_str(&ev->severity, xstrdup("info"));
			set_str(&ev->summary, xasprintf("%s: ZFS %s on pool "
			    "%s", ev->hostname, class, pool != NULL ? pool :
			    "?"));
		} else {
			set_str(&ev->kind, xstrdup("pool problem"));
			set_str(&ev->severity, xstrdup("critical"));
			set_str(&ev->summary, xasprintf("%s: ZFS pool problem "
			    "(zed): pool %s%s%s%s%s", ev->hostname, pool !=
			    NULL ? pool : "?", class != NULL ? ", " : "",
			    class != NULL ? class : "", state != NULL ?
			    ", state " : "", state != NULL ? state : ""));
		}
		free(pool);
		free(class);
		free(state);
		return;
	}
	set_str(&ev->kind, xstrdup("mail to root"));
	set_str(&ev->severity, xstrdup("info"));
	set_str(&ev->summary, xasprintf("%s: mail to root: %s", ev->hostname,
	    t));
}

/* What the notification is, from its type and text. */
static void
classify(struct hook_pve *ev)
{
	const char	*what, *host = ev->hostname, *store = ev->datastore;
	char		*named = NULL;
	int		 n = 0, failed;

	ev->severity = sev_map(ev->sender_severity);
	failed = mon_severity_rank(ev->severity) >= 1;
	ev->success = !failed && in_list(ev->type, job_types,
	    nitems(job_types));
	if (strcmp(ev->type, "system-mail") == 0) {
		classify_mail(ev);
	} else if (strcmp(ev->type, "vzdump") == 0) {
		ev->kind = xstrdup(failed ? "backup failed" : "backup ok");
		if (failed && (named = vzdump_failed(ev->message, &n)) != NULL)
			ev->summary = xasprintf("%s: backup failed for %s",
			    host, named);
	} else if (strcmp(ev->type, "verification") == 0) {
		ev->kind = xstrdup(failed ? "verification failed" :
		    "verification ok");
		if (failed && (named = verify_failed(ev->message, &n)) !=
		    NULL)
			ev->summary = xasprintf("%s: verification failed on "
			    "datastore %s: %s", host, store != NULL ? store :
			    "?", named);
	} else if (strcmp(ev->type, "tape-load") == 0) {
		/* Someone has to load a tape: that is never a digest line. */
		ev->kind = xstrdup("tape load request");
		set_str(&ev->severity, xstrdup("warning"));
	} else if (strcmp(ev->type, "package-updates") == 0) {
		ev->kind = xstrdup("updates available");
	} else if (strcmp(ev->type, "fencing") == 0) {
		ev->kind = xstrdup("node fenced");
	} else if (strcmp(ev->type, "unknown") == 0) {
		ev->kind = xstrdup("notification");
		ev->summary = xasprintf("%s: %s", host, ev->title);
	} else {
		what = strcmp(ev->type, "gc") == 0 ? "garbage collection" :
		    strcmp(ev->type, "acme") == 0 ? "certificate renewal" :
		    ev->type;
		ev->kind = xasprintf("%s %s", what, failed ? "failed" :
		    ev->success ? "ok" : "notice");
	}
	free(named);
	if (ev->summary == NULL)
		ev->summary = xasprintf("%s: %s%s%s%s%s", host, ev->kind,
		    store != NULL ? " on datastore " : "", store != NULL ?
		    store : "", ev->job_id != NULL ? ", job " : "",
		    ev->job_id != NULL ? ev->job_id : "");
	ev->alert = mon_severity_rank(ev->severity) >= 1;
	ev->details = excerpt(ev->message);
}

static char *
field_str(json_t *fields, const char *key)
{
	json_t	*v = json_object_get(fields, key);

	if (json_is_string(v) && *json_string_value(v) != '\0')
		return xstrdup(json_string_value(v));
	return NULL;
}

int
hook_proxmox_parse(const char *body, size_t len, struct hook_pve *ev,
    char **cause)
{
	json_t		*o, *v, *fields;
	json_error_t	 err;
	const char	*key;
	struct buf	 k;
	size_t		 i;

	memset(ev, 0, sizeof *ev);
	if ((o = json_loadb(body, len, 0, &err)) == NULL)
		return set_cause(cause, "the body is not JSON (line %d: %s); "
		    "use the body template of docs/notifications.md",
		    err.line, err.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return set_cause(cause, "the body is not a JSON object");
	}
	v = json_object_get(o, "title");
	if (!json_is_string(v)) {
		set_cause(cause, "'title' is missing or not a string");
		goto fail;
	}
	ev->title = xstrdup(json_string_value(v));
	v = json_object_get(o, "message");
	if (v != NULL && !json_is_string(v)) {
		set_cause(cause, "'message' is not a string");
		goto fail;
	}
	ev->message = xstrdup(v != NULL ? json_string_value(v) : "");
	v = json_object_get(o, "severity");
	if (!json_is_string(v) || !in_list(json_string_value(v),
	    sender_severities, nitems(sender_severities))) {
		set_cause(cause, "'severity' must be one of info, notice, "
		    "warning, error, unknown");
		goto fail;
	}
	ev->sender_severity = xstrdup(json_string_value(v));
	v = json_object_get(o, "timestamp");
	if (json_is_integer(v))
		ev->ts = json_integer_value(v);
	else if (json_is_string(v)) {
		const char	*errstr;

		ev->ts = strtonum(json_string_value(v), 1, INT64_MAX, &errstr);
	}
	if (ev->ts <= 0) {
		set_cause(cause, "'timestamp' must be the UNIX time "
		    "({{timestamp}} in the template)");
		goto fail;
	}
	fields = json_object_get(o, "fields");
	if (!json_is_object(fields)) {
		set_cause(cause, "'fields' is missing or not an object ({{json "
		    "fields}} in the template)");
		goto fail;
	}
	json_object_foreach(fields, key, v) {
		if (!json_is_string(v)) {
			set_cause(cause, "fields.%s is not a string", key);
			goto fail;
		}
	}
	/* Every event has both; a target's test notification may not. */
	if ((ev->type = field_str(fields, "type")) == NULL)
		ev->type = xstrdup("unknown");
	if ((ev->hostname = field_str(fields, "hostname")) == NULL)
		ev->hostname = xstrdup("unknown");
	for (i = 0; ev->type[i] != '\0'; i++) {
		if (!isalnum((unsigned char)ev->type[i]) &&
		    ev->type[i] != '-' && ev->type[i] != '_') {
			set_cause(cause, "fields.type '%.64s' is not a type "
			    "name", ev->type);
			goto fail;
		}
	}
	ev->job_id = field_str(fields, "job-id");
	ev->datastore = field_str(fields, "datastore");
	ev->fields = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
	if (strlen(ev->title) > PVE_TITLE_MAX) {
		/* Cut at a character, never inside one. */
		i = PVE_TITLE_MAX;
		while (i > 0 && ((unsigned char)ev->title[i] & 0xc0) == 0x80)
			i--;
		ev->title[i] = '\0';
	}
	json_decref(o);

	/* The repeat key: type, host, job, time, title. */
	buf_init(&k, 0);
	buf_printf(&k, "%s\x1f%s\x1f%s\x1f%" PRId64 "\x1f%s", ev->type,
	    ev->hostname, ev->job_id != NULL ? ev->job_id : "", ev->ts,
	    ev->title);
	sha256_hex(k.data, k.len, ev->dedup);
	buf_release(&k);
	classify(ev);
	return 0;
fail:
	json_decref(o);
	hook_proxmox_release(ev);
	return -1;
}

/* ---- storing and posting ---- */

static int
silenced(struct store *s, const struct hook_pve *ev, int64_t now)
{
	struct mon_labels	 l;
	char			*target, **matchers;
	size_t			 n, i;
	int			 hit = 0;

	memset(&l, 0, sizeof l);
	target = xasprintf("%s/%s", ev->hostname, ev->job_id != NULL ?
	    ev->job_id : ev->type);
	l.rule = xasprintf("proxmox.%s", ev->type);
	l.target = target;
	l.node = ev->hostname;
	l.storage = ev->datastore;
	l.severity = ev->severity;
	/* On an error, the rows read before it are freed unused. */
	if (silences_active(s, now, &matchers, &n) == 0) {
		for (i = 0; i < n && !hit; i++)
			hit = mon_matcher_match(matchers[i], &l) == 1;
	}
	strv_free(matchers, n);
	free((char *)l.rule);
	free(target);
	return hit;
}

/* The open failures a success closes: their messages say so. */
static int
close_failures(struct store *s, const struct hook_pve *ev, int64_t id,
    int *closed)
{
	struct hook_event	*v;
	size_t			 n, i;
	char			 when[32], *note, *title, *text, data[4][48];
	struct chat_button	 b[4];
	struct chat_msg		 msg;
	struct tm		 tm;
	int			 rc = 0;

	*closed = 0;
	if (!ev->success || ev->job_id == NULL)
		return 0;
	if (hook_events_open_of_job(s, ev->type, ev->hostname, ev->job_id, id,
	    &v, &n) != 0)
		return -1;
	gmtime_r(&(time_t){ (time_t)ev->ts }, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	for (i = 0; i < n && rc == 0; i++) {
		char	*notes;

		note = xasprintf("\xe2\x9c\x85 the job succeeded again at %s "
		    "(notification e%" PRId64 ")", when, id);
		notes = hook_note_add(v[i].notes, note);
		free(note);
		if (hook_event_resolve(s, v[i].id, notes) != 0)
			rc = -1;
		hook_event_render(v[i].id, v[i].severity, "resolved",
		    v[i].kind, ev->hostname, v[i].summary, v[i].details, notes,
		    &msg, &title, &text, b, data);
		if (rc == 0 && hook_edit(s, v[i].msg_refs, &msg) != 0)
			rc = -1;
		free(title);
		free(text);
		free(notes);
		(*closed)++;
	}
	hook_events_free(v, n);
	return rc;
}

/* 1 stored, 0 a repeat, -1 a write failed. */
static int
store_event(struct http *h, struct store *s, const struct hook_pve *ev,
    int64_t *id, const char **state)
{
	struct hook_event_new	 row;
	struct chat_msg		 msg;
	struct chat_button	 b[4];
	char			 data[4][48], *title, *text, *refs = NULL;
	json_t			*posted = NULL;
	int64_t			 now = wall_now();
	int			 rc, closed = 0, rooms;

	memset(&row, 0, sizeof row);
	row.dedup_key = ev->dedup;
	row.type = ev->type;
	row.hostname = ev->hostname;
	row.job_id = ev->job_id;
	row.severity = ev->severity;
	row.sender_severity = ev->sender_severity;
	row.ts = ev->ts;
	row.title = ev->title;
	row.message = ev->message;
	row.fields = ev->fields;
	row.kind = ev->kind;
	row.summary = ev->summary;
	row.details = ev->details;
	if ((rc = hook_event_add(s, &row, now, id)) != 1)
		return rc;
	if (close_failures(s, ev, *id, &closed) != 0)
		return -1;
	if (closed > 0)
		*state = "resolved";
	if (!ev->alert)
		*state = closed > 0 ? "resolved" : "digest";
	else if (silenced(s, ev, now))
		*state = "silenced";
	else {
		hook_event_render(*id, ev->severity, "alert", ev->kind,
		    ev->hostname, ev->summary, ev->details, NULL, &msg, &title,
		    &text, b, data);
		rooms = hook_post(h->app, s, ev->severity, 1, &msg, &posted);
		free(title);
		free(text);
		if (rooms < 0)
			return -1;
		*state = rooms > 0 ? "alert" : "digest";
		if (rooms > 0)
			refs = json_dumps(posted, JSON_COMPACT);
		json_decref(posted);
	}
	/* A success that closed failures is stored as a digest line. */
	rc = hook_event_set_shown(s, *id, closed > 0 && !ev->alert ? "digest" :
	    *state, refs);
	free(refs);
	return rc == 0 ? 1 : -1;
}

void
hook_proxmox_handle(struct http *h, const struct httpd_req *req,
    struct httpd_resp *resp)
{
	struct hook_pve	 ev;
	struct store	*s;
	const char	*state = "digest";
	char		*cause = NULL, *why;
	int64_t		 id = 0, t0 = now_ms();
	int		 rc;

	if (hook_proxmox_parse(req->body, req->body_len, &ev, &cause) != 0) {
		http_refused_log(h, req->peer, "proxmox", 400, cause);
		http_reply_error(resp, 400, cause);
		free(cause);
		return;
	}
	if ((s = http_store(h, &cause)) == NULL || store_begin(s) != 0) {
		why = xasprintf("the database refused the write: %s",
		    cause != NULL ? cause : store_error(s));
		goto unavailable;
	}
	if ((rc = store_event(h, s, &ev, &id, &state)) < 0 ||
	    (rc == 1 && store_commit(s) != 0)) {
		why = xasprintf("the database refused the write: %s",
		    store_error(s));
		store_rollback(s);
		goto unavailable;
	}
	if (rc == 0) {
		store_rollback(s);
		metric_inc2(M_WEBHOOK_EVENTS, "proxmox", "duplicate");
		log_info("http", "notification repeated, dropped type=%s host=%s "
		    "title=\"%.80s\"", ev.type, ev.hostname, ev.title);
		buf_puts(&resp->body, "{\"ok\":true,\"duplicate\":true}\n");
	} else {
		metric_inc2(M_WEBHOOK_EVENTS, "proxmox", state);
		log_info("http", "notification stored id=e%" PRId64 " type=%s "
		    "host=%s severity=%s state=%s ms=%lld", id, ev.type,
		    ev.hostname, ev.severity, state, (long long)(now_ms() -
		    t0));
		buf_printf(&resp->body, "{\"ok\":true,\"id\":\"e%" PRId64 "\","
		    "\"state\":\"%s\"}\n", id, state);
	}
	resp->content_type = "application/json";
	hook_proxmox_release(&ev);
	return;
unavailable:
	free(cause);
	http_refused_log(h, req->peer, "proxmox", 503, why);
	http_reply_error(resp, 503, why);
	buf_puts(&resp->headers_extra, "Retry-After: 30\r\n");
	free(why);
	hook_proxmox_release(&ev);
}
