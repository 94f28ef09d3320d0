/*
 * chat_matrix.c - the Matrix connector (client-server API v3): set-up,
 * the /sync long-poll loop, invites, encrypted rooms, and turning
 * timeline events into chat events. What pvebot posts is in
 * chat_matrix_send.c.
 *
 * Guarantees:
 * - At start GET /account/whoami proves the access token and that it
 *   belongs to the configured user; a rejected token or another user is
 *   a clear error, before anything else happens.
 * - Only the configured rooms (ids, or aliases resolved through the
 *   directory) are served; the server-side filter asks for nothing else
 *   than messages, reactions and the membership and encryption events
 *   pvebot needs. Messages from pvebot's own user are ignored. Events of
 *   a room are handed over in timeline order.
 * - Offsets: the router saves each event's offset with the work it
 *   produced. The last event of a sync batch carries next_batch; an
 *   earlier one carries "since\n$event\n..." - the batch's since token and
 *   the events of the batch handed over so far - so a restart after a
 *   crash in the middle of a batch re-reads the batch and skips exactly
 *   what was already handed over: nothing lost, nothing twice.
 * - The very first start (no saved offset) acts on nothing in the rooms'
 *   history: its initial sync only yields the offset to start from.
 * - A configured alias is bound to the room id the homeserver's
 *   directory gives for it, once, and stays bound for the life of the
 *   process. An alias that does not resolve at start is resolved again
 *   later (backing off up to MX_ALIAS_RETRY_MAX_MS); an invite never
 *   binds it, whatever the inviting room claims its alias to be, so a
 *   stranger cannot get a room of theirs served as a configured one.
 * - Invites are accepted only for configured rooms (by room id); others
 *   are declined (left) and logged. A room with m.room.encryption gets
 *   one plain notice (remembered in kv) that pvebot serves unencrypted
 *   rooms only; its encrypted events are never commands.
 * - The loop never spins: every failed request waits (retry_after_ms
 *   for 429, jittered backoff otherwise), and stop() interrupts both the
 *   long poll and the waits.
 *
 * Addressing: Matrix has no bot commands. "!cmd args" is passed on as it
 * is (the command parser knows the prefix and stays quiet about "!"
 * commands of other bots); a message that starts with pvebot's name
 * (chat.bot_name, the user id or its localpart, followed by ":" or ",",
 * as Element writes a mention, or an Element "pill" mention naming pvebot
 * in m.mentions) is ev->addressed, the name removed; so is a reply to one
 * of pvebot's messages. A room with exactly two joined members (pvebot
 * and one person) is ev->direct, where plain "cmd args" works too.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat_matrix_priv.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "net_http.h"
#include "store.h"
#include "store_chat.h"
#include "util.h"

#define MX_TIMELINE_LIMIT	50
#define MX_BACKOFF_BASE_MS	500
#define MX_BACKOFF_CAP_MS	60000
#define MX_ALIAS_RETRY_MIN_MS	2000
#define MX_ALIAS_RETRY_MAX_MS	300000
#define MX_NOTICE_E2EE "pvebot serves unencrypted rooms only. This room " \
	"has end-to-end encryption turned on, so pvebot cannot read the " \
	"commands sent here and will not act on them. Please use an " \
	"unencrypted room (encryption cannot be turned off once enabled)."

/* State of the receiving thread only. */
struct mx_sync {
	struct store	*store;
	char		*filter_id;
	char		*since;		/* NULL before the first sync */
	char		**skip;		/* event ids already handed over */
	size_t		 nskip;
	int		 ready;		/* whoami, aliases, filter done */
	int		 filter_stale;	/* a room id became known */
	int		 failures;
	int64_t		 alias_retry_at;	/* monotonic ms; 0 = none due */
	int64_t		 alias_retry_ms;	/* the next wait */
};

static const struct connector_ops mx_ops;
static void	mx_feed_release(struct matrix *);

static void
mx_sync_clear_skip(struct mx_sync *ms)
{
	size_t	 i;

	for (i = 0; i < ms->nskip; i++)
		free(ms->skip[i]);
	free(ms->skip);
	ms->skip = NULL;
	ms->nskip = 0;
}

/* Waits up to ms unless the connector is stopping; 1 if it is. */
static int
mx_wait(struct matrix *m, int64_t ms)
{
	int64_t		 deadline = now_ms() + ms;
	struct timespec	 ts;
	int		 stopping;

	pthread_mutex_lock(&m->wait_lock);
	while (!(stopping = atomic_load(&m->stopping)) &&
	    now_ms() < deadline) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&m->wait_cond, &m->wait_lock, &ts);
	}
	pthread_mutex_unlock(&m->wait_lock);
	return stopping;
}

/* Index of a configured room by room id, or -1; rooms_lock held. */
static int
mx_room_index(struct matrix *m, const char *room_id)
{
	size_t	 i;

	for (i = 0; i < m->nrooms; i++) {
		if (m->rooms[i].id != NULL &&
		    strcmp(m->rooms[i].id, room_id) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * GET /account/whoami. 0 when the token belongs to the configured user;
 * -1 with *cause; *fatal says whether trying again can help.
 */
static int
mx_whoami(struct matrix *m, int *fatal, char **cause)
{
	struct mx_reply	 r;
	const char	*who;
	int		 rc = -1;

	*fatal = 0;
	mx_http(m, "GET", "/_matrix/client/v3/account/whoami", NULL,
	    MX_REQUEST_TIMEOUT_MS, &r);
	switch (mx_classify(&r)) {
	case CHAT_OK:
		who = json_string_value(json_object_get(r.json, "user_id"));
		if (who == NULL)
			set_cause(cause, "Matrix whoami reply has no user_id");
		else if (strcmp(who, m->user_id) != 0) {
			*fatal = 1;
			set_cause(cause, "Matrix access token belongs to %s, "
			    "not %s", who, m->user_id);
		} else
			rc = 0;
		break;
	case CHAT_PERMANENT:
		*fatal = 1;
		if (r.status == 401 || r.status == 403)
			set_cause(cause, "Matrix rejected the access token "
			    "(%s)", r.errcode != NULL ? r.errcode :
			    "HTTP 401");
		else
			*cause = mx_reply_cause("Matrix whoami", &r);
		break;
	default:
		*cause = mx_reply_cause("Matrix whoami", &r);
		break;
	}
	mx_reply_clear(&r);
	return rc;
}

/* Uploads the sync filter; 0 with ms->filter_id set. */
static int
mx_upload_filter(struct matrix *m, struct mx_sync *ms, char **cause)
{
	struct mx_reply	 r;
	json_t		*filter, *rooms, *v;
	char		*esc, *path;
	size_t		 i;
	int		 rc = -1;

	rooms = json_array();
	pthread_mutex_lock(&m->rooms_lock);
	for (i = 0; i < m->nrooms; i++) {
		if (m->rooms[i].id != NULL)
			json_array_append_new(rooms,
			    json_string(m->rooms[i].id));
	}
	pthread_mutex_unlock(&m->rooms_lock);
	filter = json_pack("{s:{s:[s]}, s:{s:[s]}, s:{s:o, "
	    "s:{s:[s,s,s,s,s], s:i}, s:{s:[s,s], s:b}, s:{s:[s]}, "
	    "s:{s:[s]}}}",
	    "presence", "not_types", "*",
	    "account_data", "not_types", "*",
	    "room", "rooms", rooms,
	    "timeline", "types", "m.room.message", "m.reaction",
	    "m.room.member", "m.room.encryption", "m.room.encrypted",
	    "limit", MX_TIMELINE_LIMIT,
	    "state", "types", "m.room.member", "m.room.encryption",
	    "lazy_load_members", 1,
	    "ephemeral", "not_types", "*",
	    "account_data", "not_types", "*");
	esc = net_http_escape(m->user_id);
	path = xasprintf("/_matrix/client/v3/user/%s/filter", esc);
	free(esc);
	mx_http(m, "POST", path, filter, MX_REQUEST_TIMEOUT_MS, &r);
	free(path);
	json_decref(filter);
	if (mx_classify(&r) == CHAT_OK &&
	    json_is_string(v = json_object_get(r.json, "filter_id"))) {
		free(ms->filter_id);
		ms->filter_id = xstrdup(json_string_value(v));
		rc = 0;
	} else if (mx_classify(&r) == CHAT_OK)
		set_cause(cause, "Matrix filter upload: no filter_id in the "
		    "reply");
	else
		*cause = mx_reply_cause("Matrix filter upload", &r);
	mx_reply_clear(&r);
	return rc;
}

/* Posts the encrypted-room notice once per room (remembered in kv). */
static void
mx_encrypted_room(struct matrix *m, struct mx_sync *ms, const char *room_id)
{
	char	*key, *seen = NULL, *cause = NULL;
	int	 i;

	pthread_mutex_lock(&m->rooms_lock);
	if ((i = mx_room_index(m, room_id)) >= 0)
		m->rooms[i].encrypted = 1;
	pthread_mutex_unlock(&m->rooms_lock);

	key = xasprintf("matrix.e2ee_notice:%s", room_id);
	if (store_kv_get(ms->store, key, &seen) == 0 && seen != NULL) {
		free(seen);
		free(key);
		return;
	}
	log_warn("matrix", "room is end-to-end encrypted; pvebot serves "
	    "unencrypted rooms only room=%s", room_id);
	if (mx_notice(m, room_id, MX_NOTICE_E2EE, &cause) == CHAT_OK)
		store_kv_set(ms->store, key, "1");
	else
		log_warn("matrix", "encrypted-room notice failed room=%s: %s",
		    room_id, cause != NULL ? cause : "?");
	free(cause);
	free(key);
}

/* POST /join/{room}; 0 when pvebot is in the room now. */
static int
mx_join(struct matrix *m, const char *room_id, const char *inviter)
{
	struct mx_reply	 r;
	char		*esc, *path, *cause;
	json_t		*body = json_object();
	int		 rc = -1;

	esc = net_http_escape(room_id);
	path = xasprintf("/_matrix/client/v3/join/%s", esc);
	free(esc);
	mx_http(m, "POST", path, body, MX_REQUEST_TIMEOUT_MS, &r);
	json_decref(body);
	free(path);
	if (mx_classify(&r) == CHAT_OK) {
		log_info("matrix", "joined room=%s inviter=%s", room_id,
		    inviter != NULL ? inviter : "-");
		rc = 0;
	} else {
		cause = mx_reply_cause("joining", &r);
		log_warn("matrix", "%s room=%s%s", cause, room_id,
		    r.status == 403 ? "; invite pvebot to the room" : "");
		free(cause);
	}
	mx_reply_clear(&r);
	return rc;
}

/* Counts the joined members of a room (is it a direct conversation?). */
static void
mx_count_members(struct matrix *m, const char *room_id)
{
	struct mx_reply	 r;
	char		*esc, *path;
	json_t		*joined;
	int		 idx;

	esc = net_http_escape(room_id);
	path = xasprintf("/_matrix/client/v3/rooms/%s/joined_members", esc);
	free(esc);
	mx_http(m, "GET", path, NULL, MX_REQUEST_TIMEOUT_MS, &r);
	free(path);
	joined = json_object_get(r.json, "joined");
	if (mx_classify(&r) == CHAT_OK && json_is_object(joined)) {
		pthread_mutex_lock(&m->rooms_lock);
		if ((idx = mx_room_index(m, room_id)) >= 0)
			m->rooms[idx].joined = (int)json_object_size(joined);
		pthread_mutex_unlock(&m->rooms_lock);
	}
	mx_reply_clear(&r);
}

/*
 * Asks the server whether a configured room is encrypted and how many
 * have joined it. A room pvebot is not in yet is joined when it can be
 * (a pending invite, a public room): the config says pvebot belongs there.
 */
static void
mx_check_room(struct matrix *m, struct mx_sync *ms,
    const char *room_id, int may_join)
{
	struct mx_reply	 r;
	char		*esc, *path;

	esc = net_http_escape(room_id);
	path = xasprintf("/_matrix/client/v3/rooms/%s/state/"
	    "m.room.encryption/", esc);
	free(esc);
	mx_http(m, "GET", path, NULL, MX_REQUEST_TIMEOUT_MS, &r);
	free(path);
	if (r.status == 200 && json_is_string(json_object_get(r.json,
	    "algorithm")))
		mx_encrypted_room(m, ms, room_id);
	if (r.status != 403)
		mx_count_members(m, room_id);
	else if (may_join) {
		if (mx_join(m, room_id, NULL) == 0)
			mx_check_room(m, ms, room_id, 0);
	}
	mx_reply_clear(&r);
}

/*
 * whoami, alias resolution, filter upload and the encryption check of
 * every configured room. 0 when pvebot can sync.
 */
static int
mx_setup(struct matrix *m, struct mx_sync *ms, char **cause)
{
	size_t	 i, n;
	int	 fatal;
	char	*name, *id, *why = NULL;

	if (mx_whoami(m, &fatal, cause) != 0)
		return -1;
	pthread_mutex_lock(&m->rooms_lock);
	n = m->nrooms;
	pthread_mutex_unlock(&m->rooms_lock);
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&m->rooms_lock);
		name = xstrdup(m->rooms[i].name);
		pthread_mutex_unlock(&m->rooms_lock);
		if ((id = mx_room_id(m, name, &why)) == NULL) {
			/* Not fatal: resolved again later, never by invite. */
			log_warn("matrix", "room not served yet: %s; trying "
			    "again later", why);
			free(why);
			why = NULL;
			if (ms->alias_retry_at == 0) {
				ms->alias_retry_ms = MX_ALIAS_RETRY_MIN_MS;
				ms->alias_retry_at = now_ms() +
				    ms->alias_retry_ms;
			}
		} else
			mx_check_room(m, ms, id, 1);
		free(id);
		free(name);
	}
	return mx_upload_filter(m, ms, cause);
}

/*
 * Configured aliases the directory did not know: asked again, with a
 * growing wait, until each has a room id. A newly bound room is joined
 * when it can be and taken into the sync filter.
 */
static void
mx_retry_aliases(struct matrix *m, struct mx_sync *ms)
{
	char	**names = NULL, *id, *why = NULL;
	size_t	 i, n = 0;
	int	 left = 0;

	if (ms->alias_retry_at == 0 || now_ms() < ms->alias_retry_at)
		return;
	pthread_mutex_lock(&m->rooms_lock);
	names = xcalloc(m->nrooms + 1, sizeof *names);
	for (i = 0; i < m->nrooms; i++) {
		if (m->rooms[i].id == NULL)
			names[n++] = xstrdup(m->rooms[i].name);
	}
	pthread_mutex_unlock(&m->rooms_lock);
	for (i = 0; i < n; i++) {
		if ((id = mx_room_id(m, names[i], &why)) == NULL) {
			log_debug("matrix", "alias still unresolved: %s", why);
			free(why);
			why = NULL;
			left++;
			continue;
		}
		log_info("matrix", "alias resolved room=%s id=%s", names[i],
		    id);
		ms->filter_stale = 1;
		mx_check_room(m, ms, id, 1);
		free(id);
	}
	strv_free(names, n);
	if (left == 0) {
		ms->alias_retry_at = 0;
		return;
	}
	ms->alias_retry_ms *= 2;
	if (ms->alias_retry_ms > MX_ALIAS_RETRY_MAX_MS)
		ms->alias_retry_ms = MX_ALIAS_RETRY_MAX_MS;
	ms->alias_retry_at = now_ms() + ms->alias_retry_ms;
}

/* POST /rooms/{id}/leave: declines an invite pvebot will not take. */
static void
mx_decline(struct matrix *m, const char *room_id, const char *inviter)
{
	struct mx_reply	 r;
	char		*esc, *path, *cause;
	json_t		*body = json_pack("{s:s}", "reason", "pvebot serves "
	    "only the rooms in its configuration");

	esc = net_http_escape(room_id);
	path = xasprintf("/_matrix/client/v3/rooms/%s/leave", esc);
	free(esc);
	mx_http(m, "POST", path, body, MX_REQUEST_TIMEOUT_MS, &r);
	json_decref(body);
	free(path);
	if (mx_classify(&r) == CHAT_OK)
		log_info("matrix", "invite declined: room not in bot.conf "
		    "room=%s inviter=%s", room_id, inviter);
	else {
		cause = mx_reply_cause("declining an invite", &r);
		log_warn("matrix", "%s room=%s inviter=%s", cause, room_id,
		    inviter);
		free(cause);
	}
	mx_reply_clear(&r);
}

/*
 * rooms.invite: join configured rooms (known by room id), decline the
 * others. What the invite's stripped state claims (a canonical alias, a
 * name) is the inviter's word and binds nothing.
 */
static void
mx_handle_invites(struct matrix *m, struct mx_sync *ms, json_t *invites)
{
	const char	*room_id, *inviter;
	json_t		*room, *ev;
	size_t		 i;
	int		 configured;

	json_object_foreach(invites, room_id, room) {
		json_t	*events = json_object_get(json_object_get(room,
		    "invite_state"), "events");

		inviter = "?";
		json_array_foreach(events, i, ev) {
			const char	*type = json_string_value(
			    json_object_get(ev, "type"));

			if (type != NULL &&
			    strcmp(type, "m.room.member") == 0 &&
			    json_is_string(json_object_get(ev, "sender")) &&
			    json_is_string(json_object_get(ev, "state_key")) &&
			    strcmp(json_string_value(json_object_get(ev,
			    "state_key")), m->user_id) == 0)
				inviter = json_string_value(
				    json_object_get(ev, "sender"));
		}
		pthread_mutex_lock(&m->rooms_lock);
		configured = mx_room_index(m, room_id) >= 0;
		pthread_mutex_unlock(&m->rooms_lock);
		/*
		 * The room may be one whose alias was just published: ask the
		 * directory (never the invite) once more before saying no.
		 */
		if (!configured && ms->alias_retry_at != 0) {
			ms->alias_retry_at = now_ms();
			mx_retry_aliases(m, ms);
			pthread_mutex_lock(&m->rooms_lock);
			configured = mx_room_index(m, room_id) >= 0;
			pthread_mutex_unlock(&m->rooms_lock);
		}
		if (!configured) {
			mx_decline(m, room_id, inviter);
			continue;
		}
		if (mx_join(m, room_id, inviter) == 0)
			mx_check_room(m, ms, room_id, 0);
	}
}

/*
 * Strips pvebot's name from the start of a body: "pvebot: cmd",
 * "@pvebot:hs: cmd", "pvebot, cmd". Returns the rest or NULL.
 */
static const char *
mx_addressed(struct matrix *m, const char *body)
{
	const char	*names[3], *p;
	char		*local = NULL;
	size_t		 i, len;

	names[0] = m->user_id;
	names[1] = m->ctx->conf->chat.bot_name;
	if ((p = strchr(m->user_id, ':')) != NULL)
		local = xstrndup(m->user_id + 1, p - m->user_id - 1);
	names[2] = local;
	for (i = 0; i < nitems(names); i++) {
		if (names[i] == NULL || (len = strlen(names[i])) == 0)
			continue;
		if (strncasecmp(body, names[i], len) != 0)
			continue;
		p = body + len;
		if (*p != ':' && *p != ',')
			continue;
		p++;
		while (*p == ' ')
			p++;
		free(local);
		return p;
	}
	free(local);
	return NULL;
}

/* A reply's body quotes the original in "> " lines: drop them. */
static const char *
mx_strip_reply_fallback(const char *body)
{
	const char	*p = body;

	if (strncmp(p, "> ", 2) != 0)
		return body;
	while (strncmp(p, "> ", 2) == 0 || strncmp(p, ">\n", 2) == 0) {
		if ((p = strchr(p, '\n')) == NULL)
			return body;
		p++;
	}
	while (*p == '\n')
		p++;
	return p;
}

/* Did pvebot send this event (it is in the outbox)? */
static int
mx_is_ours(struct mx_sync *ms, const char *event_id)
{
	return event_id != NULL && chat_txn_is_ours(ms->store, "matrix",
	    event_id);
}

/*
 * A mention made with Element's pill: m.mentions names pvebot and the
 * HTML starts with a link to it; the body then starts "Display Name: ".
 * Returns the text after that prefix, or NULL.
 */
static const char *
mx_pill_mention(struct matrix *m, json_t *content, const char *body)
{
	json_t		*ids = json_object_get(json_object_get(content,
	    "m.mentions"), "user_ids"), *v;
	const char	*html, *colon;
	char		*pill;
	size_t		 i;
	int		 named = 0, starts;

	json_array_foreach(ids, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v),
		    m->user_id) == 0)
			named = 1;
	}
	html = json_string_value(json_object_get(content, "formatted_body"));
	if (!named || html == NULL)
		return NULL;
	pill = xasprintf("<a href=\"https://matrix.to/#/%s\">", m->user_id);
	starts = str_has_prefix(html, pill);
	free(pill);
	if (!starts || (colon = strstr(body, ": ")) == NULL ||
	    colon - body > 256)
		return NULL;
	return colon + 2;
}

/* An m.room.message from someone else in a configured room. */
static struct chat_event *
mx_message_event(struct matrix *m, struct mx_sync *ms,
    const struct mx_room *room, const char *sender, json_t *ev)
{
	json_t			*content = json_object_get(ev, "content");
	json_t			*rel = json_object_get(content, "m.relates_to");
	const char		*msgtype, *body, *text, *rel_type;
	struct chat_event	*cev;
	char			*user;

	msgtype = json_string_value(json_object_get(content, "msgtype"));
	body = json_string_value(json_object_get(content, "body"));
	if (msgtype == NULL || body == NULL)
		return NULL;
	/* m.notice is what bots send; answering them makes loops. */
	if (strcmp(msgtype, "m.text") != 0)
		return NULL;
	/* An edit of an old message is not a new command. */
	rel_type = json_string_value(json_object_get(rel, "rel_type"));
	if (rel_type != NULL && strcmp(rel_type, "m.replace") == 0)
		return NULL;
	/* Refused whole, never cut at the NUL or truncated. */
	if (strlen(body) > MX_TEXT_CAP || strlen(body) !=
	    json_string_length(json_object_get(content, "body"))) {
		size_t	 len = json_string_length(json_object_get(content,
		    "body"));

		cev = chat_event_new(CHAT_EV_SKIPPED, "matrix", room->name,
		    NULL);
		cev->text = xasprintf("matrix event %s from %s in %s skipped: "
		    "%s", json_string_value(json_object_get(ev, "event_id")),
		    sender, room->name, strlen(body) != len ? "a body with a "
		    "NUL byte" : "a body over the size limit");
		cev->answer = xstrdup("That message cannot be read as a "
		    "command (too long, or a NUL character); nothing was "
		    "done.");
		return cev;
	}
	body = mx_strip_reply_fallback(body);
	user = xasprintf("matrix:%s", sender);
	cev = chat_event_new(CHAT_EV_MESSAGE, "matrix", room->name, user);
	free(user);
	if ((text = mx_addressed(m, body)) != NULL ||
	    (text = mx_pill_mention(m, content, body)) != NULL) {
		cev->addressed = 1;
		body = text;
	} else if (mx_is_ours(ms, json_string_value(json_object_get(
	    json_object_get(rel, "m.in_reply_to"), "event_id"))))
		cev->addressed = 1;	/* a reply to pvebot */
	cev->text = xstrdup(body);
	cev->display = xstrdup(sender);
	cev->direct = room->joined == 2;
	return cev;
}

/* A reaction on one of pvebot's buttons becomes a press. */
static struct chat_event *
mx_reaction_event(struct matrix *m, struct mx_sync *ms,
    const struct mx_room *room, const char *sender, json_t *ev)
{
	json_t			*rel = json_object_get(json_object_get(ev,
	    "content"), "m.relates_to");
	const char		*rel_type, *target, *key;
	struct chat_event	*cev;
	char			*data, *user;

	rel_type = json_string_value(json_object_get(rel, "rel_type"));
	target = json_string_value(json_object_get(rel, "event_id"));
	key = json_string_value(json_object_get(rel, "key"));
	if (rel_type == NULL || strcmp(rel_type, "m.annotation") != 0 ||
	    target == NULL || key == NULL)
		return NULL;
	data = mx_button_lookup(ms->store, room->id, target, key);
	if (data == NULL)
		return NULL;
	user = xasprintf("matrix:%s", sender);
	cev = chat_event_new(CHAT_EV_BUTTON, "matrix", room->name, user);
	free(user);
	cev->button_data = data;
	cev->msg_ref = xstrdup(target);
	cev->display = xstrdup(sender);
	cev->direct = room->joined == 2;
	return cev;
}

/* The events of one joined room, in timeline order, appended to evs. */
static void
mx_handle_room(struct matrix *m, struct mx_sync *ms, const char *room_id,
    json_t *jroom, struct chat_event ***evs, size_t *nevs)
{
	struct mx_room		 room;
	json_t			*ev, *state, *timeline, *v;
	const char		*type, *sender, *event_id;
	struct chat_event	*cev;
	size_t			 i, k;
	int			 idx, encrypted = 0, skipped;

	pthread_mutex_lock(&m->rooms_lock);
	if ((idx = mx_room_index(m, room_id)) < 0) {
		pthread_mutex_unlock(&m->rooms_lock);
		return;
	}
	v = json_object_get(json_object_get(jroom, "summary"),
	    "m.joined_member_count");
	if (json_is_integer(v))
		m->rooms[idx].joined = (int)json_integer_value(v);
	room.name = xstrdup(m->rooms[idx].name);
	room.id = xstrdup(room_id);
	room.commands = m->rooms[idx].commands;
	room.joined = m->rooms[idx].joined;
	room.encrypted = m->rooms[idx].encrypted;
	pthread_mutex_unlock(&m->rooms_lock);

	state = json_object_get(json_object_get(jroom, "state"), "events");
	json_array_foreach(state, i, ev) {
		type = json_string_value(json_object_get(ev, "type"));
		if (type != NULL && strcmp(type, "m.room.encryption") == 0)
			encrypted = 1;
	}
	timeline = json_object_get(json_object_get(jroom, "timeline"),
	    "events");
	/* More happened than one sync shows (a long outage): say so. */
	if (json_is_true(json_object_get(json_object_get(jroom, "timeline"),
	    "limited")))
		log_warn("matrix", "room had more than %d new events; older "
		    "ones are not acted on room=%s", MX_TIMELINE_LIMIT,
		    room.name);
	json_array_foreach(timeline, i, ev) {
		type = json_string_value(json_object_get(ev, "type"));
		sender = json_string_value(json_object_get(ev, "sender"));
		event_id = json_string_value(json_object_get(ev, "event_id"));
		if (type == NULL || sender == NULL || event_id == NULL ||
		    strlen(sender) != json_string_length(json_object_get(ev,
		    "sender")) || strlen(event_id) != json_string_length(
		    json_object_get(ev, "event_id")) || event_id[0] != '$') {
			/* Not what a homeserver sends: skipped, audited. */
			cev = chat_event_new(CHAT_EV_SKIPPED, "matrix", NULL,
			    NULL);
			cev->text = xasprintf("matrix event %.80s in %s "
			    "skipped: no usable type, sender or event id",
			    event_id != NULL ? event_id : "(no id)",
			    room.name);
			cev->reply_token = xstrdup(event_id != NULL &&
			    event_id[0] == '$' ? event_id : "-");
			*evs = xreallocarray(*evs, *nevs + 1, sizeof **evs);
			(*evs)[(*nevs)++] = cev;
			continue;
		}
		if (strcmp(type, "m.room.encryption") == 0 ||
		    strcmp(type, "m.room.encrypted") == 0) {
			encrypted = 1;
			continue;
		}
		if (strcmp(sender, m->user_id) == 0)
			continue;
		skipped = 0;
		for (k = 0; k < ms->nskip; k++) {
			if (strcmp(ms->skip[k], event_id) == 0)
				skipped = 1;
		}
		/* An id this batch handed over already is the same event. */
		for (k = 0; k < *nevs && !skipped; k++) {
			if ((*evs)[k]->reply_token != NULL &&
			    strcmp((*evs)[k]->reply_token, event_id) == 0)
				skipped = 1;
		}
		if (skipped)
			continue;
		cev = NULL;
		if (strcmp(type, "m.room.message") == 0 && room.commands)
			cev = mx_message_event(m, ms, &room, sender, ev);
		else if (strcmp(type, "m.reaction") == 0)
			cev = mx_reaction_event(m, ms, &room, sender, ev);
		if (cev == NULL)
			continue;
		v = json_object_get(ev, "origin_server_ts");
		if (json_is_integer(v) && json_integer_value(v) > 0)
			cev->sent_at = json_integer_value(v) / 1000;
		cev->reply_token = xstrdup(event_id);
		*evs = xreallocarray(*evs, *nevs + 1, sizeof **evs);
		(*evs)[(*nevs)++] = cev;
	}
	if (encrypted && !room.encrypted)
		mx_encrypted_room(m, ms, room_id);
	free(room.name);
	free(room.id);
}

static int
mx_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
mx_submit(struct matrix *m, struct chat_event *ev)
{
	m->ctx->submit(m->ctx->submit_arg, ev);
}

/*
 * One sync reply: invites, then each configured room (in room id order);
 * events are handed to the router with their offsets.
 */
static void
mx_handle_sync(struct matrix *m, struct mx_sync *ms, json_t *reply,
    const char *next_batch, int initial)
{
	json_t			*rooms = json_object_get(reply, "rooms");
	json_t			*join = json_object_get(rooms, "join");
	json_t			*invite = json_object_get(rooms, "invite");
	struct chat_event	**evs = NULL, *ev;
	const char		**ids = NULL, *room_id;
	json_t			*jroom, *jev;
	size_t			 i, n = 0, nevs = 0;
	struct buf		 off;
	int			 changed = json_object_size(join) > 0 ||
	    json_object_size(invite) > 0;

	if (json_is_object(invite))
		mx_handle_invites(m, ms, invite);
	if (initial) {
		/* History is not acted on, but encryption is noticed. */
		json_object_foreach(join, room_id, jroom) {
			json_t	*st = json_object_get(json_object_get(jroom,
			    "state"), "events"), *tl = json_object_get(
			    json_object_get(jroom, "timeline"), "events");
			int	 enc = 0, known;

			json_array_foreach(st, i, jev) {
				const char *t = json_string_value(
				    json_object_get(jev, "type"));
				if (t != NULL &&
				    strcmp(t, "m.room.encryption") == 0)
					enc = 1;
			}
			json_array_foreach(tl, i, jev) {
				const char *t = json_string_value(
				    json_object_get(jev, "type"));
				if (t != NULL &&
				    strcmp(t, "m.room.encryption") == 0)
					enc = 1;
			}
			pthread_mutex_lock(&m->rooms_lock);
			known = mx_room_index(m, room_id) >= 0;
			pthread_mutex_unlock(&m->rooms_lock);
			if (enc && known)
				mx_encrypted_room(m, ms, room_id);
		}
		ev = chat_event_new(CHAT_EV_OFFSET, "matrix", NULL, NULL);
		ev->offset_key = xstrdup("matrix");
		ev->offset = xstrdup(next_batch);
		mx_submit(m, ev);
		log_info("matrix", "initial sync done; history before now is "
		    "not acted on");
		return;
	}

	json_object_foreach(join, room_id, jroom)
		n++;
	ids = xcalloc(n + 1, sizeof *ids);
	n = 0;
	json_object_foreach(join, room_id, jroom)
		ids[n++] = room_id;
	qsort(ids, n, sizeof *ids, mx_cmp_str);
	for (i = 0; i < n; i++)
		mx_handle_room(m, ms, ids[i], json_object_get(join, ids[i]),
		    &evs, &nevs);
	free(ids);

	/* Every event but the last: the since token plus what came so far. */
	buf_init(&off, 0);
	buf_puts(&off, ms->since != NULL ? ms->since : "");
	for (i = 0; i < ms->nskip; i++)
		buf_printf(&off, "\n%s", ms->skip[i]);
	for (i = 0; i < nevs; i++) {
		buf_printf(&off, "\n%s", evs[i]->reply_token);
		evs[i]->offset_key = xstrdup("matrix");
		evs[i]->offset = xstrdup(i + 1 == nevs ? next_batch :
		    buf_cstr(&off));
		log_debug("matrix", "event room=%s user=%s kind=%d",
		    evs[i]->room, evs[i]->user, (int)evs[i]->kind);
		mx_submit(m, evs[i]);
	}
	buf_release(&off);
	if (nevs == 0 && changed) {
		ev = chat_event_new(CHAT_EV_OFFSET, "matrix", NULL, NULL);
		ev->offset_key = xstrdup("matrix");
		ev->offset = xstrdup(next_batch);
		mx_submit(m, ev);
	}
	free(evs);
}

/* Parses a saved offset: "since" or "since\n$ev\n$ev...". */
static void
mx_load_offset(struct mx_sync *ms, const char *saved)
{
	char	*copy = xstrdup(saved), *line, *rest = copy;

	line = strsep(&rest, "\n");
	if (line[0] != '\0')
		ms->since = xstrdup(line);
	while ((line = strsep(&rest, "\n")) != NULL) {
		if (line[0] == '\0')
			continue;
		ms->skip = xreallocarray(ms->skip, ms->nskip + 1,
		    sizeof *ms->skip);
		ms->skip[ms->nskip++] = xstrdup(line);
	}
	free(copy);
}

/* Waits after a failed request: retry_after_ms or backoff. */
static void
mx_after_failure(struct matrix *m, struct mx_sync *ms,
    const struct mx_reply *r, const char *what, const char *cause)
{
	int64_t	 wait;

	if (r != NULL && (r->status == 429 || r->retry_after_ms > 0)) {
		wait = r->retry_after_ms > 0 ? r->retry_after_ms : 1000;
	} else
		wait = chat_backoff_ms(ms->failures, MX_BACKOFF_BASE_MS,
		    MX_BACKOFF_CAP_MS);
	ms->failures++;
	log_warn("matrix", "%s: %s (retrying in %lldms)", what, cause,
	    (long long)wait);
	mx_wait(m, wait);
}

/*
 * A sync reply that came whole: handled, and its token the next since.
 * -1 for an empty token, which is none: saved, it would make the next
 * start an initial sync that acts on nothing in between.
 */
static int
mx_sync_apply(struct matrix *m, struct mx_sync *ms, json_t *reply,
    const char *next, int initial)
{
	char	*copy;

	if (*next == '\0')
		return -1;
	copy = xstrdup(next);
	mx_handle_sync(m, ms, reply, copy, initial);
	free(ms->since);
	ms->since = copy;
	mx_sync_clear_skip(ms);
	return 0;
}

static void *
mx_thread(void *arg)
{
	struct matrix	*m = arg;
	struct mx_sync	 ms;
	struct mx_reply	 r;
	char		*cause = NULL, *saved = NULL, *path, *esc;
	const char	*next;
	int		 initial;

	memset(&ms, 0, sizeof ms);
	mx_on_sync_thread = 1;
	while (!atomic_load(&m->stopping)) {
		if ((ms.store = store_open(m->db_path, &cause)) != NULL)
			break;
		mx_after_failure(m, &ms, NULL, "opening the store", cause);
		free(cause);
		cause = NULL;
	}
	/* The outbox only matters while a send may still be retried. */
	if (ms.store != NULL && chat_txn_prune(ms.store, "matrix",
	    wall_now() - 7 * 86400, &cause) != 0) {
		log_warn("matrix", "outbox cleanup: %s", cause);
		free(cause);
		cause = NULL;
	}
	if (ms.store != NULL && store_offset_get(ms.store, "matrix",
	    &saved) == 0 && saved != NULL) {
		mx_load_offset(&ms, saved);
		free(saved);
	}

	while (!atomic_load(&m->stopping)) {
		if (!ms.ready) {
			if (mx_setup(m, &ms, &cause) != 0) {
				mx_after_failure(m, &ms, NULL,
				    "Matrix set-up", cause);
				free(cause);
				cause = NULL;
				continue;
			}
			ms.ready = 1;
			ms.filter_stale = 0;
		}
		mx_retry_aliases(m, &ms);
		if (ms.filter_stale) {
			if (mx_upload_filter(m, &ms, &cause) != 0) {
				mx_after_failure(m, &ms, NULL,
				    "Matrix filter upload", cause);
				free(cause);
				cause = NULL;
				continue;
			}
			ms.filter_stale = 0;
		}
		initial = ms.since == NULL;
		esc = net_http_escape(ms.filter_id);
		if (initial)
			path = xasprintf("/_matrix/client/v3/sync?filter=%s&"
			    "timeout=0", esc);
		else {
			char	*since = net_http_escape(ms.since);

			path = xasprintf("/_matrix/client/v3/sync?filter=%s&"
			    "since=%s&timeout=%lld", esc, since,
			    (long long)m->sync_timeout_ms);
			free(since);
		}
		free(esc);
		mx_http(m, "GET", path, NULL, m->sync_timeout_ms + 30000,
		    &r);
		free(path);
		if (atomic_load(&m->stopping)) {
			mx_reply_clear(&r);
			break;
		}
		next = json_string_value(json_object_get(r.json,
		    "next_batch"));
		metric_connector("matrix", mx_classify(&r) == CHAT_OK &&
		    next != NULL);
		if (mx_classify(&r) != CHAT_OK || next == NULL) {
			if (mx_classify(&r) == CHAT_OK)
				cause = xstrdup("Matrix sync: reply without "
				    "next_batch");
			else
				cause = mx_reply_cause("Matrix sync", &r);
			/* A filter the server forgot, a token revoked: redo. */
			if (r.status == 400 || r.status == 401 ||
			    r.status == 404)
				ms.ready = 0;
			mx_after_failure(m, &ms, &r, "sync", cause);
			free(cause);
			cause = NULL;
			mx_reply_clear(&r);
			continue;
		}
		if (mx_sync_apply(m, &ms, r.json, next, initial) == 0)
			ms.failures = 0;
		else
			mx_after_failure(m, &ms, &r, "sync", "Matrix sync: "
			    "reply with an empty next_batch");
		mx_reply_clear(&r);
	}
	mx_sync_clear_skip(&ms);
	free(ms.since);
	free(ms.filter_id);
	store_close(ms.store);
	return NULL;
}

static int
mx_start(struct connector *c, char **cause)
{
	struct matrix	*m = c->priv;
	int		 fatal;
	char		*why = NULL;

	if (m->running)
		return 0;
	/* A bad token or user is an error now; an outage is retried. */
	if (mx_whoami(m, &fatal, &why) != 0) {
		if (fatal) {
			if (cause != NULL)
				*cause = why;
			else
				free(why);
			return -1;
		}
		log_warn("matrix", "%s; retrying in the background", why);
		free(why);
	} else
		log_info("matrix", "logged in user=%s homeserver=%s",
		    m->user_id, m->homeserver);
	atomic_store(&m->stopping, 0);
	net_http_resume(m->http);
	if (pthread_create(&m->thread, NULL, mx_thread, m) != 0)
		return set_cause(cause, "cannot start the Matrix thread");
	m->running = 1;
	return 0;
}

static void
mx_stop(struct connector *c)
{
	struct matrix	*m = c->priv;

	if (!m->running)
		return;
	pthread_mutex_lock(&m->wait_lock);
	atomic_store(&m->stopping, 1);
	pthread_cond_broadcast(&m->wait_cond);
	pthread_mutex_unlock(&m->wait_lock);
	net_http_cancel(m->http);
	pthread_join(m->thread, NULL);
	m->running = 0;
}

static void
mx_free(struct connector *c)
{
	struct matrix	*m;
	size_t		 i;

	if (c == NULL)
		return;
	m = c->priv;
	mx_stop(c);
	for (i = 0; i < m->nrooms; i++) {
		free(m->rooms[i].name);
		free(m->rooms[i].id);
	}
	free(m->rooms);
	free(m->homeserver);
	free(m->user_id);
	net_http_free(m->http);
	free(m->db_path);
	store_close(m->out_store);
	mx_feed_release(m);
	pthread_mutex_destroy(&m->rooms_lock);
	pthread_mutex_destroy(&m->out_lock);
	pthread_mutex_destroy(&m->wait_lock);
	pthread_cond_destroy(&m->wait_cond);
	free(m);
}

static const struct connector_ops mx_ops = {
	.name = "matrix",
	.start = mx_start,
	.stop = mx_stop,
	.send = mx_op_send,
	.edit = mx_op_edit,
	.reply = mx_op_reply,
	.answer = mx_op_answer,
	.pace_ms = mx_op_pace_ms,
	.retry_after = mx_op_retry_after,
	.free = mx_free,
};

/* "@local:server" or "!opaque:server" / "#alias:server". */
static int
mx_valid_id(const char *s, const char *sigils)
{
	const char	*colon;
	size_t		 i;

	if (s == NULL || s[0] == '\0' || strchr(sigils, s[0]) == NULL)
		return 0;
	if ((colon = strchr(s + 1, ':')) == NULL || colon == s + 1 ||
	    colon[1] == '\0' || strlen(s) > 255)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= ' ' || s[i] == '/')
			return 0;
	}
	return 1;
}

struct connector *
chat_matrix_create(const struct chat_ctx *ctx, char **cause)
{
	const struct conf_matrix	*cf = &ctx->conf->chat.matrix;
	struct matrix			*m;
	struct net_http_api		 api;
	char				*auth;
	size_t				 i, len;

	if (cf->homeserver == NULL || (!str_has_prefix(cf->homeserver,
	    "https://") && !str_has_prefix(cf->homeserver, "http://"))) {
		set_cause(cause, "matrix.homeserver must be an http(s) URL "
		    "such as https://matrix.example.org");
		return NULL;
	}
	if (!mx_valid_id(cf->user_id, "@")) {
		set_cause(cause, "matrix.user_id must look like "
		    "@pvebot:example.org, not \"%s\"",
		    cf->user_id != NULL ? cf->user_id : "");
		return NULL;
	}
	if (cf->token == NULL || cf->token[0] == '\0') {
		set_cause(cause, "matrix: no access token (set token_file "
		    "or token_env)");
		return NULL;
	}
	if (strpbrk(cf->token, " \t\r\n") != NULL) {
		set_cause(cause, "matrix: the access token contains "
		    "whitespace");
		return NULL;
	}
	if (cf->nrooms == 0) {
		set_cause(cause, "matrix.rooms is empty: list the room ids "
		    "(!id:server) or aliases (#name:server) pvebot serves");
		return NULL;
	}
	for (i = 0; i < cf->nrooms; i++) {
		if (!mx_valid_id(cf->rooms[i].id, "!#")) {
			set_cause(cause, "matrix.rooms: \"%s\" is neither a "
			    "room id (!id:server) nor an alias (#name:server)",
			    cf->rooms[i].id != NULL ? cf->rooms[i].id : "");
			return NULL;
		}
	}
	if (ctx->conf->database == NULL) {
		set_cause(cause, "matrix: no database configured");
		return NULL;
	}
	log_add_secret(cf->token);

	m = xcalloc(1, sizeof *m);
	m->ctx = ctx;
	m->homeserver = xstrdup(cf->homeserver);
	len = strlen(m->homeserver);
	while (len > 0 && m->homeserver[len - 1] == '/')
		m->homeserver[--len] = '\0';
	m->user_id = xstrdup(cf->user_id);
	auth = xasprintf("Authorization: Bearer %s", cf->token);
	memset(&api, 0, sizeof api);
	api.name = "matrix";
	api.base_url = m->homeserver;
	api.auth_header = auth;
	api.headers = (const char *const []){ "Accept: application/json",
	    NULL };
	api.connect_timeout_ms = 10000;
	api.timeout_ms = MX_REQUEST_TIMEOUT_MS;
	api.body_max = MX_BODY_CAP;
	/* One attempt per call: a write is never sent again behind the
	 * sender's back; its retry (same transaction id) decides. */
	api.resend = NET_RESEND_READS;
	m->http = net_http_create(&api, cause);
	explicit_bzero(auth, strlen(auth));
	free(auth);
	if (m->http == NULL) {
		free(m->homeserver);
		free(m->user_id);
		free(m);
		return NULL;
	}
	m->sync_timeout_ms = (cf->sync_timeout > 0 ? cf->sync_timeout : 30) *
	    1000;
	m->rooms = xcalloc(cf->nrooms, sizeof *m->rooms);
	m->nrooms = cf->nrooms;
	for (i = 0; i < cf->nrooms; i++) {
		m->rooms[i].name = xstrdup(cf->rooms[i].id);
		if (cf->rooms[i].id[0] == '!')
			m->rooms[i].id = xstrdup(cf->rooms[i].id);
		m->rooms[i].commands = cf->rooms[i].commands;
	}
	m->db_path = xstrdup(ctx->conf->database);
	pthread_mutex_init(&m->rooms_lock, NULL);
	pthread_mutex_init(&m->out_lock, NULL);
	pthread_mutex_init(&m->wait_lock, NULL);
	pthread_cond_init(&m->wait_cond, NULL);
	atomic_init(&m->stopping, 0);
	m->conn.ops = &mx_ops;
	m->conn.ctx = ctx;
	m->conn.priv = m;
	return &m->conn;
}

/* ------------------------------------------------------------------ */
/* For tests and fuzzing (chat_feed.h)                                  */

void
chat_matrix_feed_http(struct connector *c, chat_feed_http fn, void *arg)
{
	struct matrix	*m = c->priv;

	m->feed_http = fn;
	m->feed_arg = arg;
}

static void
mx_feed_release(struct matrix *m)
{
	if (m->feed_sync == NULL)
		return;
	mx_sync_clear_skip(m->feed_sync);
	free(m->feed_sync->since);
	free(m->feed_sync->filter_id);
	free(m->feed_sync);
	m->feed_sync = NULL;
}

/*
 * One /sync reply through what mx_thread does once mx_http returned:
 * the same checks, then mx_sync_apply. The caller's store serves as
 * the sync thread's and, for the feed, as the outbox store. What a
 * failed sync would do next (wait, set up again) is left out.
 */
int
chat_matrix_feed(struct connector *c, struct store *st, long status,
    const char *body, size_t len)
{
	struct matrix	*m = c->priv;
	struct mx_sync	*ms;
	struct mx_reply	 r;
	const char	*next;
	int		 rc, borrowed = 0;

	if (m->running || m->feed_http == NULL)
		return -1;
	if (m->feed_sync == NULL) {
		m->feed_sync = xcalloc(1, sizeof *m->feed_sync);
		m->feed_sync->ready = 1;
	}
	ms = m->feed_sync;
	ms->store = st;
	if (m->out_store == NULL) {
		m->out_store = st;
		borrowed = 1;
	}
	memset(&r, 0, sizeof r);
	r.status = status;
	if (len > MX_BODY_CAP)
		r.status = 0;	/* mx_http: over the cap, no reply */
	else if (status != 0)
		mx_reply_body(&r, body, len);
	next = json_string_value(json_object_get(r.json, "next_batch"));
	if ((rc = mx_classify(&r)) == CHAT_OK && next == NULL)
		rc = CHAT_TEMPORARY;
	if (rc == CHAT_OK &&
	    mx_sync_apply(m, ms, r.json, next, ms->since == NULL) != 0)
		rc = CHAT_TEMPORARY;
	if (rc == CHAT_OK)
		ms->failures = 0;
	else
		ms->failures++;
	mx_reply_clear(&r);
	if (borrowed)
		m->out_store = NULL;
	ms->store = NULL;
	return rc;
}
