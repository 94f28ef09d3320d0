/*
 * hook_event.c - what the two webhooks share: posting to the alert
 * rooms through the outbox, editing what was posted, the Ack and Silence
 * buttons (http_button, reached through monitor_button inside the
 * router's transaction), and the digest's section on notifications.
 *
 * A Proxmox notification is named "e12" (hook_events.id 12), an
 * Alertmanager group "m3" (am_groups.id 3), so their buttons ("ack:e12",
 * "sil:m3:4h") never meet the monitor's numeric alert ids, and pass the
 * router's policy check for alert buttons like the monitor's.
 *
 * Quiet hours hold back non-critical posts as they do the monitor's: a
 * room in quiet hours does not get the message, and a notification no
 * room got becomes a line of the daily digest instead.
 */
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
#include "monitor.h"
#include "outbox.h"
#include "store.h"
#include "store_hooks.h"
#include "store_silences.h"
#include "util.h"

#define HOOK_NOTES_MAX		6	/* note lines kept on a message */
#define DIGEST_LINES_MAX	12

const char *
hook_severity_icon(const char *severity)
{
	switch (mon_severity_rank(severity)) {
	case 2:
		return "\xf0\x9f\x9a\xa8";		/* police light */
	case 0:
		return "\xe2\x84\xb9\xef\xb8\x8f";	/* information */
	default:
		return "\xe2\x9a\xa0\xef\xb8\x8f";	/* warning sign */
	}
}

/* Quiet hours of a room as the monitor keeps them (critical passes). */
static int
room_quiet(const struct conf *c, const char *conn, const char *room,
    const char *severity, const struct tm *local)
{
	const struct conf_monitor	*mc = &c->monitor;
	char				*key;
	size_t				 i;
	int				 held = 0;

	if (mon_severity_rank(severity) >= 2)
		return 0;
	key = xasprintf("%s:%s", conn, room);
	for (i = 0; i < mc->nquiet_hours && !held; i++) {
		const struct conf_window	*w = &mc->quiet_hours[i];

		if (w->room != NULL && *w->room != '\0' &&
		    strcmp(w->room, key) != 0)
			continue;
		if (mon_severity_rank(severity) > mon_severity_rank(
		    w->severity))
			continue;
		held = mon_window_active(w, local);
	}
	free(key);
	return held;
}

struct post {
	struct store		*s;
	const struct conf	*conf;
	const char		*severity;
	int			 quiet_matters;
	const struct chat_msg	*msg;
	const char		*label;
	struct tm		 local;
	json_t			*refs;
	int			 failed;
};

static void
post_room(void *arg, struct connector *c, const char *room)
{
	struct post	*p = arg;
	int64_t		 id;

	if (p->quiet_matters && room_quiet(p->conf, c->ops->name, room,
	    p->severity, &p->local))
		return;
	if ((id = outbox_send(p->s, c->ops->name, room, p->msg, p->label)) <=
	    0) {
		p->failed = 1;
		return;
	}
	json_array_append_new(p->refs, json_pack("{s:s,s:s,s:I}", "c",
	    c->ops->name, "r", room, "m", (json_int_t)id));
}

int
hook_post(struct app *app, struct store *s, const char *severity,
    int quiet_matters, const struct chat_msg *msg, json_t **refs)
{
	struct post	 p;

	memset(&p, 0, sizeof p);
	p.s = s;
	p.conf = app->conf;
	p.severity = severity;
	p.quiet_matters = quiet_matters;
	p.msg = msg;
	p.label = msg->title;
	p.refs = json_array();
	if (tz_localtime(wall_now(), app->conf->monitor.timezone,
	    &p.local) != 0)
		tz_localtime(wall_now(), NULL, &p.local);
	mon_alert_rooms(app, post_room, &p);
	if (p.failed) {
		json_decref(p.refs);
		*refs = NULL;
		return -1;
	}
	*refs = p.refs;
	return (int)json_array_size(p.refs);
}

int
hook_edit(struct store *s, const char *refs, const struct chat_msg *msg)
{
	json_t	*a, *e;
	size_t	 i;
	int	 rc = 0;

	if (refs == NULL || (a = json_loads(refs, 0, NULL)) == NULL)
		return 0;
	json_array_foreach(a, i, e) {
		json_int_t	 id = json_integer_value(json_object_get(e,
				    "m"));

		if (id > 0 && outbox_edit(s, id, msg) != 0)
			rc = -1;
	}
	json_decref(a);
	return rc;
}

void
hook_buttons(struct chat_msg *msg, struct chat_button b[4],
    char data[4][48], const char *id, int with_silence)
{
	static const char *const labels[] = { "Ack", "Silence 1h",
	    "Silence 4h", "Silence 24h" };
	static const char *const durs[] = { "1h", "4h", "24h" };
	int	 i;

	snprintf(data[0], 48, "ack:%s", id);
	for (i = 0; i < 3; i++)
		snprintf(data[i + 1], 48, "sil:%s:%s", id, durs[i]);
	for (i = 0; i < 4; i++) {
		b[i].label = labels[i];
		b[i].data = data[i];
		b[i].emoji = i == 0 ? "\xf0\x9f\x91\x8d" : "\xf0\x9f\x94\x95";
		b[i].style = i == 0 ? CHAT_BUTTON_PRIMARY : CHAT_BUTTON_DANGER;
	}
	msg->buttons = b;
	msg->nbuttons = with_silence ? 4 : 1;
}

char *
hook_note_add(const char *notes, const char *line)
{
	const char	*p = notes != NULL ? notes : "";
	size_t		 lines = 0;

	for (; *p != '\0'; p++)
		lines += *p == '\n';
	p = notes != NULL ? notes : "";
	/* The oldest go when there are too many. */
	while (lines >= HOOK_NOTES_MAX - 1 && strchr(p, '\n') != NULL) {
		p = strchr(p, '\n') + 1;
		lines--;
	}
	return *p != '\0' ? xasprintf("%s%s\n", p, line) :
	    xasprintf("%s\n", line);
}

/* ---- a Proxmox notification's message ---- */

void
hook_event_render(int64_t id, const char *severity, const char *state,
    const char *kind, const char *hostname, const char *summary,
    const char *details, const char *notes, struct chat_msg *msg,
    char **title, char **text, struct chat_button b[4], char data[4][48])
{
	char	 ref[32];
	int	 open = strcmp(state, "alert") == 0;

	memset(msg, 0, sizeof *msg);
	*title = open ? xasprintf("%s %s: %s", hook_severity_icon(severity),
	    hostname, kind) : xasprintf("\xe2\x9c\x85 %s: %s (%s)", hostname,
	    kind, state);
	/* details and notes end with a newline when not empty. */
	*text = xasprintf("%s\n%s%s(notification e%" PRId64 ")", summary,
	    details, notes != NULL ? notes : "", id);
	msg->title = *title;
	msg->text = *text;
	if (open) {
		snprintf(ref, sizeof ref, "e%" PRId64, id);
		hook_buttons(msg, b, data, ref, 1);
	}
}

/* Re-renders the messages of notification e after a change. */
static int
event_redraw(struct store *s, const struct hook_event *e)
{
	struct chat_msg		 msg;
	struct chat_button	 b[4];
	char			 data[4][48], *title, *text;
	int			 rc;

	hook_event_render(e->id, e->severity, e->state, e->kind, e->hostname,
	    e->summary, e->details, e->notes, &msg, &title, &text, b, data);
	rc = hook_edit(s, e->msg_refs, &msg);
	free(title);
	free(text);
	return rc;
}

static char *
event_ack(struct store *s, const char *user, struct hook_event *e)
{
	char	*note, *notes, *detail;

	if (strcmp(e->state, "alert") != 0)
		return xasprintf("notification e%" PRId64 " is not open (%s)",
		    e->id, e->state);
	if (e->acked_by != NULL)
		return xasprintf("notification e%" PRId64 " is already acked "
		    "by %s", e->id, e->acked_by);
	note = xasprintf("\xf0\x9f\x91\x8d acked by %s", user);
	notes = hook_note_add(e->notes, note);
	free(note);
	if (hook_event_set_notes(s, e->id, user, notes) != 0) {
		free(notes);
		return NULL;
	}
	free(e->notes);
	e->notes = notes;
	detail = xasprintf("notification=e%" PRId64 " type=%s host=%s", e->id,
	    e->type, e->hostname);
	audit_append(s, user, "alert.ack", detail);
	free(detail);
	if (event_redraw(s, e) != 0)
		return NULL;
	return xasprintf("acked notification e%" PRId64, e->id);
}

char *
hook_event_matcher(const char *type, const char *hostname,
    const char *job_id)
{
	return xasprintf("rule=proxmox.%s,target=%s/%s", type, hostname,
	    job_id != NULL ? job_id : type);
}

static int64_t
max_silence(void)
{
	struct http	*h = http_running();

	return h != NULL ? h->app->conf->monitor.max_silence : 30 * 86400;
}

static char *
event_silence(struct store *s, const char *user, struct hook_event *e,
    const char *dur, int64_t now)
{
	int64_t		 secs, sid = 0;
	char		*cause = NULL, *matcher, *reason, *detail, *note, *notes;
	char		 d[32];
	int		 rc;

	if (parse_duration(dur, &secs, &cause) != 0 || secs <= 0 ||
	    secs > max_silence()) {
		free(cause);
		return xasprintf("this silence button is not valid (%s)", dur);
	}
	matcher = hook_event_matcher(e->type, e->hostname, e->job_id);
	reason = xasprintf("button on notification e%" PRId64, e->id);
	rc = silence_add(s, matcher, user, reason, now, now + secs, &sid);
	free(reason);
	if (rc != 0) {
		free(matcher);
		return NULL;
	}
	detail = xasprintf("silence=%" PRId64 " matcher=%s for=%s", sid,
	    matcher, dur);
	audit_append(s, user, "silence.create", detail);
	free(detail);
	format_duration(secs, d, sizeof d);
	note = xasprintf("\xf0\x9f\x94\x95 silenced by %s for %s (silence %"
	    PRId64 ": %s)", user, d, sid, matcher);
	notes = hook_note_add(e->notes, note);
	free(note);
	free(matcher);
	if (hook_event_set_notes(s, e->id, NULL, notes) != 0) {
		free(notes);
		return NULL;
	}
	free(e->notes);
	e->notes = notes;
	if (event_redraw(s, e) != 0)
		return NULL;
	return xasprintf("silenced notifications like e%" PRId64 " for %s "
	    "(silence %" PRId64 ")", e->id, d, sid);
}

int
http_button(struct store *s, const char *user, const char *data,
    int64_t now, char **answer)
{
	struct hook_event	 e;
	const char		*p, *errstr, *dur = NULL;
	char			*num;
	int64_t			 id;
	size_t			 len;
	int			 ack, rc;

	*answer = NULL;
	if (data == NULL)
		return 0;
	if (str_has_prefix(data, "ack:"))
		ack = 1;
	else if (str_has_prefix(data, "sil:"))
		ack = 0;
	else
		return 0;
	p = data + 4;
	if (*p != 'e' && *p != 'm')
		return 0;
	len = strcspn(p + 1, ":");
	num = xstrndup(p + 1, len);
	id = strtonum(num, 1, INT64_MAX, &errstr);
	free(num);
	if (!ack && p[1 + len] == ':')
		dur = p + 2 + len;
	if (errstr != NULL || (ack && p[1 + len] != '\0') ||
	    (!ack && dur == NULL)) {
		*answer = xstrdup("this alert button is not valid");
		return 1;
	}
	if (*p == 'm') {
		*answer = hook_alertmanager_button(s, user, id, dur, now);
		if (*answer == NULL)
			*answer = xstrdup("pvebot could not save that; press "
			    "again");
		return 1;
	}
	rc = hook_event_find(s, id, &e);
	if (rc == 1)
		*answer = xasprintf("there is no notification e%" PRId64, id);
	else if (rc == 0)
		*answer = ack ? event_ack(s, user, &e) :
		    event_silence(s, user, &e, dur, now);
	if (*answer == NULL)
		*answer = xstrdup("pvebot could not save that; press again");
	hook_event_release(&e);
	return 1;
}

/* ---- the digest ---- */

void
http_digest(struct buf *b, struct store *s, int64_t now)
{
	struct hook_event	*v;
	size_t			 n, i;
	int64_t			 alerts = 0, closed = 0, lines = 0, shown = 0;

	if (hook_events_since(s, now - 86400, &v, &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		const char	*state = v[i].state;

		if (strcmp(state, "alert") == 0 ||
		    strcmp(state, "resolved") == 0) {
			alerts++;
			closed += strcmp(state, "resolved") == 0;
			continue;
		}
		if (lines++ == 0)
			buf_puts(b, "Notifications 24h:\n");
		if (shown < DIGEST_LINES_MAX) {
			buf_printf(b, "  %s%s\n", v[i].summary,
			    strcmp(state, "silenced") == 0 ? " (silenced)" :
			    "");
			shown++;
		}
	}
	hook_events_free(v, n);
	if (lines > shown)
		buf_printf(b, "  ... and %" PRId64 " more\n", lines - shown);
	if (alerts > 0)
		buf_printf(b, "Notifications posted as alerts 24h: %" PRId64
		    " (%" PRId64 " closed by a later success)\n", alerts,
		    closed);
}
