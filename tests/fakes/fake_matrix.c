/*
 * fake_matrix.c - a fake Matrix homeserver for the tests (see
 * fake_matrix.h). One stream of events in order of arrival, positions
 * 1, 2, 3...; a since/next_batch token is "s<position>". Room state is
 * derived from the state events of the stream (last one per type and
 * state key wins), as on a real server.
 *
 * What it does like a real homeserver: the access token in the
 * Authorization header (or ?access_token=, which it counts so tests can
 * prove pvebot never uses it); 401 M_MISSING_TOKEN / M_UNKNOWN_TOKEN;
 * 403 for rooms the user is not in; 400 M_NOT_JSON / M_BAD_JSON for a
 * message without msgtype or body; 400 M_DUPLICATE_ANNOTATION for the
 * same reaction twice; the same transaction id twice gives the same
 * event id and stores one event; sync applies the filter's room list
 * (to joined rooms; invites are always delivered), its timeline and state
 * types and the timeline limit, and a long poll waits up to `timeout`.
 * Initial syncs return each joined room's latest timeline and its state.
 *
 * It binds 127.0.0.1 only (through httpd).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_matrix.h"
#include "httpd.h"
#include "util.h"

struct fm_event {
	int64_t	 pos;
	char	*room;
	json_t	*ev;		/* client event, with room_id */
};

struct fm_room {
	char	*id;
	char	*alias;
};

struct fm_token {
	char	*token;
	char	*user;
};

struct fm_txn {
	char	*key;		/* token \n txn id */
	char	*event_id;
};

struct fm_fault {
	char			*method;
	char			*prefix;
	enum fake_matrix_fault	 kind;
	int			 status;
	int64_t			 param;
	int			 count;
};

struct fm_request {
	char	*method;
	char	*path;
	char	*body;
	int64_t	 at_ms;
	int	 faulted;	/* an injected fault answered it */
};

struct fake_matrix {
	struct httpd	*httpd;
	char		*url;
	char		*server;
	char		*bot_user;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 stopping;

	struct fm_event	*events;
	size_t		 nevents;
	struct fm_room	*rooms;
	size_t		 nrooms;
	struct fm_token	*tokens;
	size_t		 ntokens;
	struct fm_txn	*txns;
	size_t		 ntxns;
	json_t		*filters;	/* array; filter id = index */
	struct fm_fault	*faults;
	size_t		 nfaults;
	struct fm_request *requests;
	size_t		 nrequests;
	int		 token_in_query;
	int64_t		 idle_at;	/* position a waiting poll has seen */
	uint64_t	 idle_seq;	/* which sync request that is */
	int64_t		 idle_since;	/* the since token it was sent */
	uint64_t	 nsyncs;	/* sync requests so far */
	uint64_t	 counter;
};

static const char *
fm_glob_any(json_t *list, const char *type)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(list, i, v) {
		if (json_is_string(v) && glob_match(json_string_value(v),
		    type))
			return json_string_value(v);
	}
	return NULL;
}

/* Does an event pass a filter part ({types, not_types, senders...})? */
static int
fm_filter_pass(json_t *f, json_t *ev)
{
	const char	*type = json_string_value(json_object_get(ev, "type"));
	const char	*sender = json_string_value(json_object_get(ev,
	    "sender"));
	json_t		*v;

	if (!json_is_object(f))
		return 1;
	if ((v = json_object_get(f, "types")) != NULL &&
	    fm_glob_any(v, type) == NULL)
		return 0;
	if (fm_glob_any(json_object_get(f, "not_types"), type) != NULL)
		return 0;
	if ((v = json_object_get(f, "senders")) != NULL &&
	    fm_glob_any(v, sender) == NULL)
		return 0;
	if (fm_glob_any(json_object_get(f, "not_senders"), sender) != NULL)
		return 0;
	return 1;
}

static struct fm_room *
fm_room_find(struct fake_matrix *fm, const char *id)
{
	size_t	 i;

	for (i = 0; i < fm->nrooms; i++) {
		if (strcmp(fm->rooms[i].id, id) == 0 ||
		    (fm->rooms[i].alias != NULL &&
		    strcmp(fm->rooms[i].alias, id) == 0))
			return &fm->rooms[i];
	}
	return NULL;
}

/* The current state event (type, key) of a room, up to position `upto`. */
static json_t *
fm_state_at(struct fake_matrix *fm, const char *room, const char *type,
    const char *key, int64_t upto)
{
	json_t	*found = NULL;
	size_t	 i;

	for (i = 0; i < fm->nevents && fm->events[i].pos <= upto; i++) {
		json_t		*ev = fm->events[i].ev;
		const char	*sk;

		if (strcmp(fm->events[i].room, room) != 0)
			continue;
		sk = json_string_value(json_object_get(ev, "state_key"));
		if (sk == NULL || strcmp(sk, key) != 0 ||
		    strcmp(json_string_value(json_object_get(ev, "type")),
		    type) != 0)
			continue;
		found = ev;
	}
	return found;
}

static const char *
fm_membership_at(struct fake_matrix *fm, const char *room, const char *user,
    int64_t upto)
{
	json_t	*ev = fm_state_at(fm, room, "m.room.member", user, upto);

	if (ev == NULL)
		return NULL;
	return json_string_value(json_object_get(json_object_get(ev,
	    "content"), "membership"));
}

static int64_t
fm_pos(struct fake_matrix *fm)
{
	return fm->nevents > 0 ? fm->events[fm->nevents - 1].pos : 0;
}

/* Appends an event (lock held); returns its id (static in the event). */
static const char *
fm_append(struct fake_matrix *fm, const char *room, const char *sender,
    const char *type, const char *state_key, json_t *content, int64_t ts)
{
	struct fm_event	*e;
	char		*id, hex[9];
	json_t		*ev;

	random_hex(hex, 4);
	fm->counter++;
	id = xasprintf("$ev%llu_%s", (unsigned long long)fm->counter, hex);
	ev = json_pack("{s:s, s:s, s:s, s:o, s:I, s:s}", "type", type,
	    "sender", sender, "event_id", id, "content", content,
	    "origin_server_ts", (json_int_t)(ts > 0 ? ts : wall_now_ms()),
	    "room_id", room);
	if (state_key != NULL)
		json_object_set_new(ev, "state_key", json_string(state_key));
	free(id);
	fm->events = xreallocarray(fm->events, fm->nevents + 1,
	    sizeof *fm->events);
	e = &fm->events[fm->nevents++];
	e->pos = (int64_t)fm->nevents;
	e->room = xstrdup(room);
	e->ev = ev;
	pthread_cond_broadcast(&fm->cond);
	return json_string_value(json_object_get(ev, "event_id"));
}

/* The event as sync shows it: no room_id, an unsigned.age. */
static json_t *
fm_client_event(json_t *ev)
{
	json_t	*c = json_deep_copy(ev);
	int64_t	 ts = json_integer_value(json_object_get(ev,
	    "origin_server_ts"));

	json_object_del(c, "room_id");
	json_object_set_new(c, "unsigned", json_pack("{s:I}", "age",
	    (json_int_t)(wall_now_ms() - ts)));
	return c;
}

static void
fm_error(struct httpd_resp *resp, int status, const char *errcode,
    const char *error)
{
	json_t	*j = json_pack("{s:s, s:s}", "errcode", errcode, "error",
	    error);
	char	*s = json_dumps(j, JSON_COMPACT);

	resp->status = status;
	buf_reset(&resp->body);
	buf_puts(&resp->body, s);
	free(s);
	json_decref(j);
}

static void
fm_json(struct httpd_resp *resp, json_t *j)
{
	char	*s = json_dumps(j, JSON_COMPACT);

	buf_reset(&resp->body);
	buf_puts(&resp->body, s);
	free(s);
	json_decref(j);
}

/* The stripped state an invitee sees. */
static json_t *
fm_invite_state(struct fake_matrix *fm, const char *room, int64_t upto)
{
	static const char	*types[] = { "m.room.create",
		"m.room.canonical_alias", "m.room.encryption" };
	json_t			*out = json_array(), *ev;
	size_t			 i;

	for (i = 0; i < nitems(types); i++) {
		if ((ev = fm_state_at(fm, room, types[i], "", upto)) == NULL)
			continue;
		json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:O}",
		    "type", json_object_get(ev, "type"), "state_key",
		    json_object_get(ev, "state_key"), "sender",
		    json_object_get(ev, "sender"), "content",
		    json_object_get(ev, "content")));
	}
	ev = fm_state_at(fm, room, "m.room.member", fm->bot_user, upto);
	if (ev != NULL)
		json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:O}",
		    "type", json_object_get(ev, "type"), "state_key",
		    json_object_get(ev, "state_key"), "sender",
		    json_object_get(ev, "sender"), "content",
		    json_object_get(ev, "content")));
	return out;
}

static int
fm_joined_count(struct fake_matrix *fm, const char *room, int64_t upto)
{
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < fm->nevents && fm->events[i].pos <= upto; i++) {
		json_t		*ev = fm->events[i].ev;
		const char	*sk;

		if (strcmp(fm->events[i].room, room) != 0 ||
		    strcmp(json_string_value(json_object_get(ev, "type")),
		    "m.room.member") != 0)
			continue;
		sk = json_string_value(json_object_get(ev, "state_key"));
		/* Count each user once, at their latest membership. */
		if (fm_state_at(fm, room, "m.room.member", sk, upto) == ev &&
		    strcmp(fm_membership_at(fm, room, sk, upto), "join") == 0)
			n++;
	}
	return n;
}

static int
fm_members_changed(struct fake_matrix *fm, const char *room, int64_t since,
    int64_t upto)
{
	size_t	 i;

	for (i = 0; i < fm->nevents && fm->events[i].pos <= upto; i++) {
		if (fm->events[i].pos > since &&
		    strcmp(fm->events[i].room, room) == 0 &&
		    strcmp(json_string_value(json_object_get(fm->events[i].ev,
		    "type")), "m.room.member") == 0)
			return 1;
	}
	return 0;
}

/*
 * Builds a sync reply for events after `since` (-1: initial sync) up to
 * `upto`; *content says whether anything is in it.
 */
static json_t *
fm_sync_body(struct fake_matrix *fm, const char *user, json_t *filter,
    int64_t since, int64_t upto, int *content)
{
	json_t	*rfilter = json_object_get(filter, "room");
	json_t	*tfilter = json_object_get(rfilter, "timeline");
	json_t	*sfilter = json_object_get(rfilter, "state");
	json_t	*rooms_list = json_object_get(rfilter, "rooms");
	json_t	*join = json_object(), *invite = json_object(), *reply;
	int64_t	 limit = 10;
	size_t	 r, i;
	char	 next[32];

	*content = 0;
	if (json_is_integer(json_object_get(tfilter, "limit")))
		limit = json_integer_value(json_object_get(tfilter, "limit"));
	for (r = 0; r < fm->nrooms; r++) {
		const char	*room = fm->rooms[r].id;
		const char	*mem = fm_membership_at(fm, room, user, upto);
		json_t		*mev, *tl, *st, *jr;
		int64_t		 joined_at, start;
		size_t		 first, n;

		if (mem == NULL)
			continue;
		mev = fm_state_at(fm, room, "m.room.member", user, upto);
		if (strcmp(mem, "invite") == 0) {
			for (i = 0; i < fm->nevents; i++)
				if (fm->events[i].ev == mev)
					break;
			if (since < 0 || fm->events[i].pos > since) {
				json_object_set_new(invite, room, json_pack(
				    "{s:{s:o}}", "invite_state", "events",
				    fm_invite_state(fm, room, upto)));
				*content = 1;
			}
			continue;
		}
		if (strcmp(mem, "join") != 0)
			continue;
		if (json_is_array(rooms_list) &&
		    fm_glob_any(rooms_list, room) == NULL)
			continue;
		joined_at = 0;
		for (i = 0; i < fm->nevents; i++)
			if (fm->events[i].ev == mev)
				joined_at = fm->events[i].pos;
		start = since < 0 ? 0 : since;
		tl = json_array();
		for (i = 0; i < fm->nevents && fm->events[i].pos <= upto;
		    i++) {
			if (fm->events[i].pos <= start ||
			    fm->events[i].pos < joined_at ||
			    strcmp(fm->events[i].room, room) != 0 ||
			    !fm_filter_pass(tfilter, fm->events[i].ev))
				continue;
			json_array_append_new(tl,
			    fm_client_event(fm->events[i].ev));
		}
		n = json_array_size(tl);
		first = n > (size_t)limit ? n - (size_t)limit : 0;
		while (first-- > 0)
			json_array_remove(tl, 0);
		st = json_array();
		if (since < 0 || joined_at > since) {
			/* Full state for an initial sync or a new room. */
			for (i = 0; i < fm->nevents &&
			    fm->events[i].pos <= upto; i++) {
				json_t		*ev = fm->events[i].ev;
				const char	*sk = json_string_value(
				    json_object_get(ev, "state_key"));
				size_t		 k;
				int		 in_tl = 0;

				if (sk == NULL || strcmp(fm->events[i].room,
				    room) != 0 || fm_state_at(fm, room,
				    json_string_value(json_object_get(ev,
				    "type")), sk, upto) != ev ||
				    !fm_filter_pass(sfilter, ev))
					continue;
				for (k = 0; k < json_array_size(tl); k++) {
					if (json_equal(json_object_get(
					    json_array_get(tl, k), "event_id"),
					    json_object_get(ev, "event_id")))
						in_tl = 1;
				}
				if (!in_tl)
					json_array_append_new(st,
					    fm_client_event(ev));
			}
		}
		if (since >= 0 && json_array_size(tl) == 0 &&
		    json_array_size(st) == 0) {
			json_decref(tl);
			json_decref(st);
			continue;
		}
		jr = json_pack("{s:{s:o, s:b, s:s}, s:{s:o}, s:{}, "
		    "s:{s:[]}, s:{s:[]}}",
		    "timeline", "events", tl, "limited", n > (size_t)limit,
		    "prev_batch", "s0",
		    "state", "events", st,
		    "summary",
		    "ephemeral", "events", "account_data", "events");
		/* Like Synapse: the counts only when they may have changed. */
		if (since < 0 || joined_at > since ||
		    fm_members_changed(fm, room, since, upto))
			json_object_set_new(json_object_get(jr, "summary"),
			    "m.joined_member_count", json_integer(
			    fm_joined_count(fm, room, upto)));
		json_object_set_new(join, room, jr);
		*content = 1;
	}
	snprintf(next, sizeof next, "s%lld", (long long)upto);
	reply = json_pack("{s:s, s:{s:o, s:o, s:{}}, s:{s:[]}, "
	    "s:{s:[]}}", "next_batch", next, "rooms", "join", join,
	    "invite", invite, "leave", "presence", "events", "account_data",
	    "events");
	return reply;
}

static void
fm_sync(struct fake_matrix *fm, const char *user,
    const struct httpd_req *req, struct httpd_resp *resp)
{
	struct httpd_kv	*kv = NULL;
	size_t		 nkv = 0;
	const char	*fs, *ss, *ts, *errstr;
	json_t		*filter = NULL, *body;
	int64_t		 since = -1, timeout = 0, deadline, upto;
	int		 content;
	long long	 id;
	uint64_t	 seq = ++fm->nsyncs;

	if (httpd_parse_form(req->query, strlen(req->query), &kv, &nkv) != 0) {
		fm_error(resp, 400, "M_INVALID_PARAM", "Bad query string");
		return;
	}
	fs = httpd_kv_get(kv, nkv, "filter");
	ss = httpd_kv_get(kv, nkv, "since");
	ts = httpd_kv_get(kv, nkv, "timeout");
	if (ts != NULL) {
		timeout = strtonum(ts, 0, 3600000, &errstr);
		if (errstr != NULL) {
			fm_error(resp, 400, "M_INVALID_PARAM",
			    "timeout must be an integer");
			goto out;
		}
	}
	if (ss != NULL) {
		errstr = "invalid";
		if (ss[0] == 's')
			since = strtonum(ss + 1, 0, INT64_MAX, &errstr);
		if (errstr != NULL) {
			fm_error(resp, 400, "M_INVALID_PARAM",
			    "Invalid stream token");
			goto out;
		}
	}
	if (fs != NULL && fs[0] == '{') {
		if ((filter = json_loads(fs, 0, NULL)) == NULL) {
			fm_error(resp, 400, "M_NOT_JSON", "Invalid filter");
			goto out;
		}
	} else if (fs != NULL) {
		id = strtonum(fs, 0, 1000000, &errstr);
		if (errstr != NULL || (size_t)id >=
		    json_array_size(fm->filters)) {
			fm_error(resp, 404, "M_NOT_FOUND", "No such filter");
			goto out;
		}
		filter = json_incref(json_array_get(fm->filters, id));
	}
	deadline = now_ms() + timeout;
	for (;;) {
		upto = fm_pos(fm);
		body = fm_sync_body(fm, user, filter, since, upto, &content);
		if (content || since < 0 || now_ms() >= deadline ||
		    fm->stopping)
			break;
		json_decref(body);
		/* Only the newest poll is the client's: one a stopped
		 * client left behind never marks the fake idle, nor
		 * overwrites the mark of the poll that is. */
		if (seq == fm->nsyncs) {
			fm->idle_at = upto;
			fm->idle_seq = seq;
			fm->idle_since = since;
		}
		pthread_cond_broadcast(&fm->cond);
		while (fm_pos(fm) == upto && !fm->stopping &&
		    now_ms() < deadline) {
			struct timespec	 tsp;

			clock_gettime(CLOCK_REALTIME, &tsp);
			tsp.tv_nsec += 50 * 1000000L;
			if (tsp.tv_nsec >= 1000000000L) {
				tsp.tv_sec++;
				tsp.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&fm->cond, &fm->lock, &tsp);
		}
		if (fm->idle_seq == seq)
			fm->idle_at = -1;
	}
	fm_json(resp, body);
out:
	json_decref(filter);
	httpd_kv_free(kv, nkv);
}

/* Splits a raw path into decoded segments; NULL on a bad escape. */
static char **
fm_segments(const char *raw, size_t *n)
{
	char		**segs = NULL;
	const char	*p = raw, *slash;
	char		*seg;

	*n = 0;
	if (*p == '/')
		p++;
	for (;;) {
		slash = strchr(p, '/');
		seg = httpd_url_decode(p, slash != NULL ? (size_t)(slash - p) :
		    strlen(p), 0);
		if (seg == NULL) {
			while (*n > 0)
				free(segs[--*n]);
			free(segs);
			return NULL;
		}
		segs = xreallocarray(segs, *n + 1, sizeof *segs);
		segs[(*n)++] = seg;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	return segs;
}

static int
fm_is_member(struct fake_matrix *fm, const char *room, const char *user)
{
	const char	*m = fm_membership_at(fm, room, user, INT64_MAX);

	return m != NULL && strcmp(m, "join") == 0;
}

static void
fm_send(struct fake_matrix *fm, const char *user, const char *token,
    const char *room_id, const char *type, const char *txn,
    const struct httpd_req *req, struct httpd_resp *resp)
{
	json_t		*content, *rel, *ev;
	char		*key;
	const char	*id;
	size_t		 i;

	key = xasprintf("%s\n%s", token, txn);
	for (i = 0; i < fm->ntxns; i++) {
		if (strcmp(fm->txns[i].key, key) == 0) {
			free(key);
			fm_json(resp, json_pack("{s:s}", "event_id",
			    fm->txns[i].event_id));
			return;
		}
	}
	if (fm_room_find(fm, room_id) == NULL ||
	    !fm_is_member(fm, room_id, user)) {
		free(key);
		fm_error(resp, 403, "M_FORBIDDEN", "User not in room");
		return;
	}
	content = json_loadb(req->body, req->body_len, 0, NULL);
	if (!json_is_object(content)) {
		free(key);
		json_decref(content);
		fm_error(resp, 400, "M_NOT_JSON", "Content not JSON.");
		return;
	}
	if (strcmp(type, "m.room.message") == 0 &&
	    (!json_is_string(json_object_get(content, "msgtype")) ||
	    !json_is_string(json_object_get(content, "body")))) {
		free(key);
		json_decref(content);
		fm_error(resp, 400, "M_BAD_JSON",
		    "m.room.message needs string msgtype and body");
		return;
	}
	rel = json_object_get(content, "m.relates_to");
	if (strcmp(type, "m.reaction") == 0) {
		const char	*rt = json_string_value(json_object_get(rel,
		    "rel_type"));
		const char	*target = json_string_value(json_object_get(rel,
		    "event_id"));
		const char	*rk = json_string_value(json_object_get(rel,
		    "key"));

		if (rt == NULL || strcmp(rt, "m.annotation") != 0 ||
		    target == NULL || rk == NULL) {
			free(key);
			json_decref(content);
			fm_error(resp, 400, "M_BAD_JSON", "bad annotation");
			return;
		}
		/*
		 * "Avoiding duplicate annotations" (client-server API,
		 * m.annotation): the same sender annotating the same event
		 * with the same key again is 400 M_DUPLICATE_ANNOTATION.
		 */
		for (i = 0; i < fm->nevents; i++) {
			json_t	*r2;

			ev = fm->events[i].ev;
			r2 = json_object_get(json_object_get(ev, "content"),
			    "m.relates_to");
			if (strcmp(json_string_value(json_object_get(ev,
			    "type")), "m.reaction") == 0 &&
			    strcmp(json_string_value(json_object_get(ev,
			    "sender")), user) == 0 &&
			    json_equal(json_object_get(r2, "event_id"),
			    json_object_get(rel, "event_id")) &&
			    json_equal(json_object_get(r2, "key"),
			    json_object_get(rel, "key"))) {
				free(key);
				json_decref(content);
				fm_error(resp, 400, "M_DUPLICATE_ANNOTATION",
				    "Can't send same reaction twice");
				return;
			}
		}
	}
	id = fm_append(fm, room_id, user, type, NULL, content, 0);
	fm->txns = xreallocarray(fm->txns, fm->ntxns + 1, sizeof *fm->txns);
	fm->txns[fm->ntxns].key = key;
	fm->txns[fm->ntxns++].event_id = xstrdup(id);
	fm_json(resp, json_pack("{s:s}", "event_id", id));
}

static void
fm_member_event(struct fake_matrix *fm, const char *room, const char *sender,
    const char *user, const char *membership)
{
	fm_append(fm, room, sender, "m.room.member", user,
	    json_pack("{s:s}", "membership", membership), 0);
}

static void
fm_route(struct fake_matrix *fm, const char *user, const char *token,
    const struct httpd_req *req, struct httpd_resp *resp)
{
	char		**seg;
	size_t		 n, i;
	const char	*m = req->method;
	struct fm_room	*room;
	json_t		*ev, *body;

	if ((seg = fm_segments(req->raw_path, &n)) == NULL) {
		fm_error(resp, 400, "M_UNRECOGNIZED", "Bad path");
		return;
	}
	if (n < 3 || strcmp(seg[0], "_matrix") != 0 ||
	    strcmp(seg[1], "client") != 0 || strcmp(seg[2], "v3") != 0)
		goto unknown;
	if (n == 5 && strcmp(seg[3], "account") == 0 &&
	    strcmp(seg[4], "whoami") == 0 && strcmp(m, "GET") == 0) {
		fm_json(resp, json_pack("{s:s, s:s, s:b}", "user_id", user,
		    "device_id", "PVEBOTDEV", "is_guest", 0));
		goto done;
	}
	if (n == 4 && strcmp(seg[3], "sync") == 0 && strcmp(m, "GET") == 0) {
		fm_sync(fm, user, req, resp);
		goto done;
	}
	if (n == 6 && strcmp(seg[3], "user") == 0 &&
	    strcmp(seg[5], "filter") == 0 && strcmp(m, "POST") == 0) {
		if (strcmp(seg[4], user) != 0) {
			fm_error(resp, 403, "M_FORBIDDEN",
			    "Can only create filters for local users");
			goto done;
		}
		body = json_loadb(req->body, req->body_len, 0, NULL);
		if (!json_is_object(body)) {
			json_decref(body);
			fm_error(resp, 400, "M_NOT_JSON", "Content not JSON.");
			goto done;
		}
		json_array_foreach(json_object_get(json_object_get(body,
		    "room"), "rooms"), i, ev) {
			if (!json_is_string(ev) ||
			    json_string_value(ev)[0] != '!') {
				json_decref(body);
				fm_error(resp, 400, "M_BAD_JSON",
				    "room filter: not a room id");
				goto done;
			}
		}
		json_array_append_new(fm->filters, body);
		buf_reset(&resp->body);
		buf_printf(&resp->body, "{\"filter_id\":\"%zu\"}",
		    json_array_size(fm->filters) - 1);
		goto done;
	}
	if (n == 6 && strcmp(seg[3], "directory") == 0 &&
	    strcmp(seg[4], "room") == 0 && strcmp(m, "GET") == 0) {
		room = fm_room_find(fm, seg[5]);
		if (seg[5][0] != '#' || room == NULL ||
		    room->alias == NULL || strcmp(room->alias, seg[5]) != 0) {
			fm_error(resp, 404, "M_NOT_FOUND", "Room alias not "
			    "found");
			goto done;
		}
		fm_json(resp, json_pack("{s:s, s:[s]}", "room_id", room->id,
		    "servers", fm->server));
		goto done;
	}
	if ((n == 5 && strcmp(seg[3], "join") == 0 && strcmp(m, "POST") == 0)
	    || (n == 6 && strcmp(seg[3], "rooms") == 0 &&
	    strcmp(seg[5], "join") == 0 && strcmp(m, "POST") == 0)) {
		const char	*mem;

		room = fm_room_find(fm, seg[4]);
		if (room == NULL) {
			fm_error(resp, 404, "M_NOT_FOUND", "No known servers");
			goto done;
		}
		if (req->body_len > 0) {
			body = json_loadb(req->body, req->body_len, 0, NULL);
			if (!json_is_object(body)) {
				json_decref(body);
				fm_error(resp, 400, "M_NOT_JSON",
				    "Content not JSON.");
				goto done;
			}
			json_decref(body);
		}
		mem = fm_membership_at(fm, room->id, user, INT64_MAX);
		if (mem == NULL || (strcmp(mem, "invite") != 0 &&
		    strcmp(mem, "join") != 0)) {
			fm_error(resp, 403, "M_FORBIDDEN",
			    "You are not invited to this room.");
			goto done;
		}
		if (strcmp(mem, "join") != 0)
			fm_member_event(fm, room->id, user, user, "join");
		fm_json(resp, json_pack("{s:s}", "room_id", room->id));
		goto done;
	}
	if (n >= 6 && strcmp(seg[3], "rooms") == 0 &&
	    strcmp(seg[5], "state") == 0 && strcmp(m, "GET") == 0) {
		if (fm_room_find(fm, seg[4]) == NULL ||
		    !fm_is_member(fm, seg[4], user)) {
			fm_error(resp, 403, "M_FORBIDDEN", "User not in room");
			goto done;
		}
		if (n == 6) {
			json_t	*all = json_array();

			for (i = 0; i < fm->nevents; i++) {
				const char *sk;

				ev = fm->events[i].ev;
				sk = json_string_value(json_object_get(ev,
				    "state_key"));
				if (sk != NULL && strcmp(fm->events[i].room,
				    seg[4]) == 0 && fm_state_at(fm, seg[4],
				    json_string_value(json_object_get(ev,
				    "type")), sk, INT64_MAX) == ev)
					json_array_append(all, ev);
			}
			fm_json(resp, all);
			goto done;
		}
		ev = fm_state_at(fm, seg[4], seg[6], n >= 8 ? seg[7] : "",
		    INT64_MAX);
		if (ev == NULL)
			fm_error(resp, 404, "M_NOT_FOUND", "Event not found.");
		else
			fm_json(resp, json_incref(json_object_get(ev,
			    "content")));
		goto done;
	}
	/*
	 * leaveRoom (leaving.yaml): POST /rooms/{roomId}/leave with a JSON
	 * object body (reason optional); roomId is a room id ("^!"). It
	 * also rejects an invite. Not invited and not joined: 403.
	 */
	if (n == 6 && strcmp(seg[3], "rooms") == 0 &&
	    strcmp(seg[5], "leave") == 0 && strcmp(m, "POST") == 0) {
		const char	*mem;

		body = json_loadb(req->body, req->body_len, 0, NULL);
		if (!json_is_object(body) || (json_object_get(body, "reason")
		    != NULL && !json_is_string(json_object_get(body,
		    "reason")))) {
			json_decref(body);
			fm_error(resp, 400, "M_NOT_JSON", "Content not JSON.");
			goto done;
		}
		json_decref(body);
		if (seg[4][0] != '!' || fm_room_find(fm, seg[4]) == NULL) {
			fm_error(resp, 404, "M_NOT_FOUND", "Unknown room");
			goto done;
		}
		mem = fm_membership_at(fm, seg[4], user, INT64_MAX);
		if (mem == NULL || (strcmp(mem, "invite") != 0 &&
		    strcmp(mem, "join") != 0)) {
			fm_error(resp, 403, "M_FORBIDDEN", "User not in room");
			goto done;
		}
		fm_member_event(fm, seg[4], user, user, "leave");
		fm_json(resp, json_object());
		goto done;
	}
	if (n == 6 && strcmp(seg[3], "rooms") == 0 &&
	    strcmp(seg[5], "joined_members") == 0 && strcmp(m, "GET") == 0) {
		json_t	*joined = json_object();

		if (fm_room_find(fm, seg[4]) == NULL ||
		    !fm_is_member(fm, seg[4], user)) {
			json_decref(joined);
			fm_error(resp, 403, "M_FORBIDDEN", "User not in room");
			goto done;
		}
		for (i = 0; i < fm->nevents; i++) {
			const char	*sk;

			ev = fm->events[i].ev;
			sk = json_string_value(json_object_get(ev,
			    "state_key"));
			if (sk != NULL && strcmp(fm->events[i].room,
			    seg[4]) == 0 && strcmp(json_string_value(
			    json_object_get(ev, "type")), "m.room.member") ==
			    0 && fm_is_member(fm, seg[4], sk))
				json_object_set_new(joined, sk, json_pack(
				    "{s:n, s:n}", "display_name",
				    "avatar_url"));
		}
		fm_json(resp, json_pack("{s:o}", "joined", joined));
		goto done;
	}
	if (n == 8 && strcmp(seg[3], "rooms") == 0 &&
	    strcmp(seg[5], "send") == 0) {
		if (strcmp(m, "PUT") != 0) {
			fm_error(resp, 405, "M_UNRECOGNIZED",
			    "Unrecognized request");
			goto done;
		}
		fm_send(fm, user, token, seg[4], seg[6], seg[7], req, resp);
		goto done;
	}
unknown:
	fm_error(resp, 404, "M_UNRECOGNIZED", "Unrecognized request");
done:
	for (i = 0; i < n; i++)
		free(seg[i]);
	free(seg);
}

static void
fm_handler(void *arg, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct fake_matrix	*fm = arg;
	struct fm_request	*rq;
	struct fm_fault		*f = NULL;
	const char		*auth, *token = NULL, *user = NULL;
	struct httpd_kv		*kv = NULL;
	size_t			 nkv = 0, i;

	pthread_mutex_lock(&fm->lock);
	fm->requests = xreallocarray(fm->requests, fm->nrequests + 1,
	    sizeof *fm->requests);
	rq = &fm->requests[fm->nrequests++];
	rq->method = xstrdup(req->method);
	rq->path = xstrdup(req->path);
	rq->body = xstrdup(req->body);
	rq->at_ms = now_ms();
	rq->faulted = 0;

	for (i = 0; i < fm->nfaults; i++) {
		struct fm_fault	*c = &fm->faults[i];

		if (c->count > 0 && (c->method == NULL ||
		    strcmp(c->method, req->method) == 0) &&
		    str_has_prefix(req->path, c->prefix)) {
			c->count--;
			f = c;
			rq->faulted = 1;
			break;
		}
	}
	if (f != NULL && f->kind == FM_STATUS) {
		if (f->status == 429) {
			fm_error(resp, 429, "M_LIMIT_EXCEEDED", "Too Many "
			    "Requests");
			buf_reset(&resp->body);
			buf_printf(&resp->body, "{\"errcode\":"
			    "\"M_LIMIT_EXCEEDED\",\"error\":\"Too Many "
			    "Requests\",\"retry_after_ms\":%lld}",
			    (long long)f->param);
		} else if (f->status == 502) {
			resp->status = 502;
			resp->content_type = "text/html";
			buf_puts(&resp->body, "<html><body>502 Bad Gateway"
			    "</body></html>");
		} else
			fm_error(resp, f->status, "M_UNKNOWN",
			    "Internal server error");
		goto out;
	}
	if (f != NULL && f->kind == FM_GARBAGE) {
		resp->content_type = "text/html";
		buf_puts(&resp->body, "<html>not json{{");
		goto out;
	}
	if (f != NULL && f->kind == FM_SLOW) {
		int64_t	 end = now_ms() + f->param;

		/* Slow, but not slower than the fake's own stop. */
		while (!fm->stopping && now_ms() < end) {
			pthread_mutex_unlock(&fm->lock);
			sleep_ms(20);
			pthread_mutex_lock(&fm->lock);
		}
	}

	if (httpd_parse_form(req->query, strlen(req->query), &kv, &nkv) == 0 &&
	    (token = httpd_kv_get(kv, nkv, "access_token")) != NULL)
		fm->token_in_query++;
	auth = httpd_header(req, "Authorization");
	if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0)
		token = auth + 7;
	if (token == NULL) {
		fm_error(resp, 401, "M_MISSING_TOKEN", "Missing access token");
		goto out;
	}
	for (i = 0; i < fm->ntokens; i++) {
		if (strcmp(fm->tokens[i].token, token) == 0)
			user = fm->tokens[i].user;
	}
	if (user == NULL) {
		fm_error(resp, 401, "M_UNKNOWN_TOKEN", "Invalid access token "
		    "passed.");
		buf_reset(&resp->body);
		buf_puts(&resp->body, "{\"errcode\":\"M_UNKNOWN_TOKEN\","
		    "\"error\":\"Invalid access token passed.\","
		    "\"soft_logout\":false}");
		goto out;
	}
	fm_route(fm, user, token, req, resp);
	if (f != NULL && f->kind == FM_DROP)
		resp->drop = 1;
out:
	httpd_kv_free(kv, nkv);
	pthread_mutex_unlock(&fm->lock);
}

struct fake_matrix *
fake_matrix_start(const char *server, const char *bot_user,
    const char *bot_token)
{
	struct fake_matrix	*fm = xcalloc(1, sizeof *fm);
	struct httpd_opts	 opts;
	char			*cause = NULL;

	pthread_mutex_init(&fm->lock, NULL);
	pthread_cond_init(&fm->cond, NULL);
	fm->server = xstrdup(server);
	fm->bot_user = xstrdup(bot_user);
	fm->filters = json_array();
	fm->idle_at = -1;
	fake_matrix_add_token(fm, bot_token, bot_user);
	memset(&opts, 0, sizeof opts);
	opts.handler = fm_handler;
	opts.arg = fm;
	opts.name = "fake_matrix";
	if ((fm->httpd = httpd_start(&opts, &cause)) == NULL) {
		fprintf(stderr, "fake_matrix: %s\n", cause);
		free(cause);
		fake_matrix_stop(fm);
		return NULL;
	}
	fm->url = xasprintf("http://127.0.0.1:%d", httpd_port(fm->httpd));
	return fm;
}

void
fake_matrix_stop(struct fake_matrix *fm)
{
	size_t	 i;

	if (fm == NULL)
		return;
	pthread_mutex_lock(&fm->lock);
	fm->stopping = 1;
	pthread_cond_broadcast(&fm->cond);
	pthread_mutex_unlock(&fm->lock);
	httpd_stop(fm->httpd);
	for (i = 0; i < fm->nevents; i++) {
		free(fm->events[i].room);
		json_decref(fm->events[i].ev);
	}
	free(fm->events);
	for (i = 0; i < fm->nrooms; i++) {
		free(fm->rooms[i].id);
		free(fm->rooms[i].alias);
	}
	free(fm->rooms);
	for (i = 0; i < fm->ntokens; i++) {
		free(fm->tokens[i].token);
		free(fm->tokens[i].user);
	}
	free(fm->tokens);
	for (i = 0; i < fm->ntxns; i++) {
		free(fm->txns[i].key);
		free(fm->txns[i].event_id);
	}
	free(fm->txns);
	for (i = 0; i < fm->nfaults; i++) {
		free(fm->faults[i].method);
		free(fm->faults[i].prefix);
	}
	free(fm->faults);
	for (i = 0; i < fm->nrequests; i++) {
		free(fm->requests[i].method);
		free(fm->requests[i].path);
		free(fm->requests[i].body);
	}
	free(fm->requests);
	json_decref(fm->filters);
	free(fm->url);
	free(fm->server);
	free(fm->bot_user);
	pthread_mutex_destroy(&fm->lock);
	pthread_cond_destroy(&fm->cond);
	free(fm);
}

const char *
fake_matrix_url(const struct fake_matrix *fm)
{
	return fm->url;
}

void
fake_matrix_add_token(struct fake_matrix *fm, const char *token,
    const char *user)
{
	pthread_mutex_lock(&fm->lock);
	fm->tokens = xreallocarray(fm->tokens, fm->ntokens + 1,
	    sizeof *fm->tokens);
	fm->tokens[fm->ntokens].token = xstrdup(token);
	fm->tokens[fm->ntokens++].user = xstrdup(user);
	pthread_mutex_unlock(&fm->lock);
}

void
fake_matrix_room(struct fake_matrix *fm, const char *room_id,
    const char *alias, const char *creator)
{
	pthread_mutex_lock(&fm->lock);
	fm->rooms = xreallocarray(fm->rooms, fm->nrooms + 1,
	    sizeof *fm->rooms);
	fm->rooms[fm->nrooms].id = xstrdup(room_id);
	fm->rooms[fm->nrooms++].alias = alias != NULL ? xstrdup(alias) : NULL;
	fm_append(fm, room_id, creator, "m.room.create", "",
	    json_pack("{s:s}", "room_version", "11"), 0);
	fm_member_event(fm, room_id, creator, creator, "join");
	if (alias != NULL)
		fm_append(fm, room_id, creator, "m.room.canonical_alias", "",
		    json_pack("{s:s}", "alias", alias), 0);
	pthread_mutex_unlock(&fm->lock);
}

void
fake_matrix_alias(struct fake_matrix *fm, const char *room_id,
    const char *alias)
{
	size_t	 i;

	pthread_mutex_lock(&fm->lock);
	for (i = 0; i < fm->nrooms; i++) {
		if (strcmp(fm->rooms[i].id, room_id) == 0) {
			free(fm->rooms[i].alias);
			fm->rooms[i].alias = xstrdup(alias);
		}
	}
	pthread_mutex_unlock(&fm->lock);
}

void
fake_matrix_state(struct fake_matrix *fm, const char *room_id,
    const char *sender, const char *type, const char *state_key,
    json_t *content)
{
	pthread_mutex_lock(&fm->lock);
	fm_append(fm, room_id, sender, type, state_key, content, 0);
	pthread_mutex_unlock(&fm->lock);
}

void
fake_matrix_encrypt(struct fake_matrix *fm, const char *room_id,
    const char *sender)
{
	pthread_mutex_lock(&fm->lock);
	fm_append(fm, room_id, sender, "m.room.encryption", "",
	    json_pack("{s:s}", "algorithm", "m.megolm.v1.aes-sha2"), 0);
	pthread_mutex_unlock(&fm->lock);
}

void
fake_matrix_join(struct fake_matrix *fm, const char *room_id,
    const char *user)
{
	pthread_mutex_lock(&fm->lock);
	fm_member_event(fm, room_id, user, user, "join");
	pthread_mutex_unlock(&fm->lock);
}

void
fake_matrix_invite(struct fake_matrix *fm, const char *room_id,
    const char *inviter, const char *invitee)
{
	pthread_mutex_lock(&fm->lock);
	fm_member_event(fm, room_id, inviter, invitee, "invite");
	pthread_mutex_unlock(&fm->lock);
}

const char *
fake_matrix_membership(struct fake_matrix *fm, const char *room_id,
    const char *user)
{
	const char	*m;

	pthread_mutex_lock(&fm->lock);
	m = fm_membership_at(fm, room_id, user, INT64_MAX);
	pthread_mutex_unlock(&fm->lock);
	/* The strings live as long as the fake: events are never freed. */
	return m;
}

char *
fake_matrix_inject(struct fake_matrix *fm, const char *room_id,
    const char *sender, const char *type, json_t *content, int64_t ts_ms)
{
	char	*id;

	pthread_mutex_lock(&fm->lock);
	id = xstrdup(fm_append(fm, room_id, sender, type, NULL, content,
	    ts_ms));
	pthread_mutex_unlock(&fm->lock);
	return id;
}

char *
fake_matrix_inject_raw(struct fake_matrix *fm, const char *room_id,
    json_t *ev)
{
	struct fm_event	*e;
	const char	*id;

	pthread_mutex_lock(&fm->lock);
	fm->events = xreallocarray(fm->events, fm->nevents + 1,
	    sizeof *fm->events);
	e = &fm->events[fm->nevents++];
	e->pos = (int64_t)fm->nevents;
	e->room = xstrdup(room_id);
	e->ev = ev;
	id = json_string_value(json_object_get(ev, "event_id"));
	pthread_cond_broadcast(&fm->cond);
	pthread_mutex_unlock(&fm->lock);
	return id != NULL ? xstrdup(id) : NULL;
}

char *
fake_matrix_say(struct fake_matrix *fm, const char *room_id,
    const char *sender, const char *body)
{
	return fake_matrix_inject(fm, room_id, sender, "m.room.message",
	    json_pack("{s:s, s:s}", "msgtype", "m.text", "body", body), 0);
}

char *
fake_matrix_react(struct fake_matrix *fm, const char *room_id,
    const char *sender, const char *event_id, const char *key)
{
	return fake_matrix_inject(fm, room_id, sender, "m.reaction",
	    json_pack("{s:{s:s, s:s, s:s}}", "m.relates_to", "rel_type",
	    "m.annotation", "event_id", event_id, "key", key), 0);
}

static json_t *
fm_select(struct fake_matrix *fm, const char *room_id, const char *sender,
    const char *type)
{
	json_t	*out = json_array();
	size_t	 i;

	for (i = 0; i < fm->nevents; i++) {
		json_t	*ev = fm->events[i].ev;

		if (room_id != NULL && strcmp(fm->events[i].room, room_id) != 0)
			continue;
		if (sender != NULL && strcmp(json_string_value(
		    json_object_get(ev, "sender")), sender) != 0)
			continue;
		if (type != NULL && strcmp(json_string_value(
		    json_object_get(ev, "type")), type) != 0)
			continue;
		json_array_append_new(out, json_deep_copy(ev));
	}
	return out;
}

json_t *
fake_matrix_events(struct fake_matrix *fm, const char *room_id,
    const char *sender, const char *type)
{
	json_t	*out;

	pthread_mutex_lock(&fm->lock);
	out = fm_select(fm, room_id, sender, type);
	pthread_mutex_unlock(&fm->lock);
	return out;
}

int
fake_matrix_wait_events(struct fake_matrix *fm, const char *room_id,
    const char *sender, const char *type, int n, int timeout_ms)
{
	int64_t	 deadline = now_ms() + timeout_ms;
	int	 have;

	for (;;) {
		json_t	*evs = fake_matrix_events(fm, room_id, sender, type);

		have = (int)json_array_size(evs);
		json_decref(evs);
		if (have >= n || now_ms() >= deadline)
			return have;
		sleep_ms(20);
	}
}

int
fake_matrix_wait_idle(struct fake_matrix *fm, int timeout_ms)
{
	int64_t	 deadline = now_ms() + timeout_ms;
	int	 idle;

	for (;;) {
		pthread_mutex_lock(&fm->lock);
		/* The newest poll, not one a stopped client left behind. */
		idle = fm->idle_at >= 0 && fm->idle_at == fm_pos(fm) &&
		    fm->idle_seq == fm->nsyncs;
		pthread_mutex_unlock(&fm->lock);
		if (idle)
			return 0;
		if (now_ms() >= deadline)
			return -1;
		sleep_ms(20);
	}
}

int
fake_matrix_idle_since(struct fake_matrix *fm, char *buf, size_t size)
{
	int	 idle;

	pthread_mutex_lock(&fm->lock);
	idle = fm->idle_at >= 0 && fm->idle_at == fm_pos(fm) &&
	    fm->idle_seq == fm->nsyncs;
	if (idle)
		snprintf(buf, size, "s%lld", (long long)fm->idle_since);
	pthread_mutex_unlock(&fm->lock);
	return idle ? 0 : -1;
}

void
fake_matrix_fault(struct fake_matrix *fm, const char *method,
    const char *path_prefix, enum fake_matrix_fault kind, int status,
    int64_t param, int count)
{
	struct fm_fault	*f;

	pthread_mutex_lock(&fm->lock);
	fm->faults = xreallocarray(fm->faults, fm->nfaults + 1,
	    sizeof *fm->faults);
	f = &fm->faults[fm->nfaults++];
	f->method = method != NULL ? xstrdup(method) : NULL;
	f->prefix = xstrdup(path_prefix);
	f->kind = kind;
	f->status = status;
	f->param = param;
	f->count = count;
	pthread_mutex_unlock(&fm->lock);
}

static int
fm_request_match(const struct fm_request *rq, const char *method,
    const char *prefix)
{
	return (method == NULL || strcmp(rq->method, method) == 0) &&
	    (prefix == NULL || str_has_prefix(rq->path, prefix));
}

int
fake_matrix_requests(struct fake_matrix *fm, const char *method,
    const char *path_prefix)
{
	size_t	 i;
	int	 n = 0;

	pthread_mutex_lock(&fm->lock);
	for (i = 0; i < fm->nrequests; i++)
		n += fm_request_match(&fm->requests[i], method, path_prefix);
	pthread_mutex_unlock(&fm->lock);
	return n;
}

int64_t *
fake_matrix_request_times(struct fake_matrix *fm, const char *method,
    const char *path_prefix, int *n)
{
	int64_t	*out;
	size_t	 i;

	pthread_mutex_lock(&fm->lock);
	out = xcalloc(fm->nrequests + 1, sizeof *out);
	*n = 0;
	for (i = 0; i < fm->nrequests; i++) {
		if (fm_request_match(&fm->requests[i], method, path_prefix))
			out[(*n)++] = fm->requests[i].at_ms;
	}
	pthread_mutex_unlock(&fm->lock);
	return out;
}

int64_t
fake_matrix_fault_time(struct fake_matrix *fm, const char *method,
    const char *path_prefix)
{
	int64_t	 at = -1;
	size_t	 i;

	pthread_mutex_lock(&fm->lock);
	for (i = 0; i < fm->nrequests; i++) {
		if (fm->requests[i].faulted &&
		    fm_request_match(&fm->requests[i], method, path_prefix))
			at = fm->requests[i].at_ms;
	}
	pthread_mutex_unlock(&fm->lock);
	return at;
}

json_t *
fake_matrix_last_body(struct fake_matrix *fm, const char *method,
    const char *path_prefix)
{
	json_t	*out = NULL;
	size_t	 i;

	pthread_mutex_lock(&fm->lock);
	for (i = fm->nrequests; i > 0; i--) {
		if (fm_request_match(&fm->requests[i - 1], method,
		    path_prefix)) {
			out = json_loads(fm->requests[i - 1].body, 0, NULL);
			break;
		}
	}
	pthread_mutex_unlock(&fm->lock);
	return out;
}

int
fake_matrix_token_in_query(struct fake_matrix *fm)
{
	int	 n;

	pthread_mutex_lock(&fm->lock);
	n = fm->token_in_query;
	pthread_mutex_unlock(&fm->lock);
	return n;
}
