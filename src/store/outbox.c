/*
 * outbox.c - the durable chat outbox on the SQLite store (see outbox.h).
 *
 * One row per logical message. `version` counts content changes and
 * `sent_version` is the newest the platform acknowledged; a row waits
 * while sent_version < version and its state is 'pending'. Content is
 * stored as JSON (title, text, pre, buttons), a reply's context as JSON
 * (room, user, token, msg_ref, slash). Writers run inside their own
 * transaction; the store wakes the connector's sender after the commit
 * (store_note_outbox), so nothing is announced that was rolled back.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db.h"
#include "chat.h"
#include "log.h"
#include "outbox.h"
#include "outbox_int.h"
#include "store.h"
#include "util.h"

/* Content and reply context are capped: they came from somewhere. */
#define OUTBOX_TEXT_MAX	(256 * 1024)

static const char *
kind_name(enum outbox_kind k)
{
	return k == OUTBOX_ANSWER ? "answer" : "message";
}

/* The first `max` bytes of s, cut at a character boundary. */
static char *
cut_utf8(const char *s, size_t max)
{
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return xstrndup(s, max);
}

/* Rows are written by outbox_json.c; the cap is far above any content. */
#define OUTBOX_ROW_MAX	(8 * OUTBOX_TEXT_MAX)

static char *
encode_msg(const struct chat_msg *m)
{
	struct buf	 b;
	char		*text = NULL;
	size_t		 i;

	oj_begin(&b, OUTBOX_ROW_MAX);
	if (m->title != NULL)
		oj_str(&b, "title", m->title);
	if (m->text != NULL) {
		if (strlen(m->text) > OUTBOX_TEXT_MAX)
			text = cut_utf8(m->text, OUTBOX_TEXT_MAX);
		oj_str(&b, "text", text != NULL ? text : m->text);
		free(text);
	}
	if (m->pre)
		oj_true(&b, "pre");
	if (m->mention != NULL) {
		oj_str(&b, "mention", m->mention);
		oj_str(&b, "mention_name", m->mention_name != NULL ?
		    m->mention_name : m->mention);
	}
	if (m->nbuttons > 0) {
		oj_array(&b, "buttons");
		for (i = 0; i < m->nbuttons; i++) {
			const struct chat_button	*bt = &m->buttons[i];

			oj_item(&b);
			oj_str(&b, "label", bt->label != NULL ? bt->label : "");
			oj_str(&b, "data", bt->data != NULL ? bt->data : "");
			oj_int(&b, "style", (long long)bt->style);
			if (bt->emoji != NULL)
				oj_str(&b, "emoji", bt->emoji);
			oj_close(&b, '}');
		}
		oj_close(&b, ']');
	}
	return oj_end(&b);
}

static char *
encode_event(const struct chat_event *ev)
{
	struct buf	 b;

	oj_begin(&b, OUTBOX_ROW_MAX);
	if (ev->user != NULL)
		oj_str(&b, "user", ev->user);
	if (ev->reply_token != NULL)
		oj_str(&b, "token", ev->reply_token);
	if (ev->msg_ref != NULL)
		oj_str(&b, "msg_ref", ev->msg_ref);
	if (ev->slash)
		oj_true(&b, "slash");
	if (ev->direct)
		oj_true(&b, "direct");
	return oj_end(&b);
}

static int64_t
insert_row(struct store *s, enum outbox_kind kind, const char *connector,
    const char *room, const char *body, const char *reply, const char *label)
{
	struct db_stmt	*st;
	int64_t		 id = -1, now = wall_now();

	st = db_prepare(s, "INSERT INTO outbox (connector, room, kind, "
	    "body, reply, label, version, sent_version, state, attempts, "
	    "next_at, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?6, 1, 0, 'pending', 0, 0, ?7, ?7)");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, connector);
	db_bind_text(st, 2, room);
	db_bind_text(st, 3, kind_name(kind));
	db_bind_text(st, 4, body);
	if (reply != NULL)
		db_bind_text(st, 5, reply);
	else
		db_bind_null(st, 5);
	if (label != NULL)
		db_bind_text(st, 6, label);
	else
		db_bind_null(st, 6);
	db_bind_int(st, 7, now);
	if (db_step(st) == DB_DONE) {
		id = db_last_id(s);
		store_note_outbox(s, connector);
	} else
		log_error("outbox", "insert failed connector=%s room=%s: %s",
		    connector, room, db_error(s));
	db_finish(s, st);
	return id;
}

int64_t
outbox_send(struct store *s, const char *connector, const char *room,
    const struct chat_msg *m, const char *label)
{
	char	*body = encode_msg(m);
	int64_t	 id;

	id = insert_row(s, OUTBOX_MESSAGE, connector, room, body, NULL, label);
	free(body);
	return id;
}

int64_t
outbox_reply(struct store *s, const struct chat_event *ev,
    const struct chat_msg *m, const char *label)
{
	char	*body = encode_msg(m), *reply = encode_event(ev);
	int64_t	 id;

	id = insert_row(s, OUTBOX_MESSAGE, ev->connector, ev->room, body,
	    reply, label);
	free(body);
	free(reply);
	return id;
}

int
outbox_answer(struct store *s, const struct chat_event *ev, const char *text)
{
	struct chat_msg	 m = { .text = text != NULL ? text : "" };
	char		*body, *reply;
	int64_t		 id;

	/* A message has nothing to acknowledge; only presses do. */
	if (ev->kind != CHAT_EV_BUTTON)
		return 0;
	body = encode_msg(&m);
	reply = encode_event(ev);
	id = insert_row(s, OUTBOX_ANSWER, ev->connector, ev->room, body,
	    reply, NULL);
	free(body);
	free(reply);
	return id > 0 ? 0 : -1;
}

int
outbox_edit(struct store *s, int64_t id, const struct chat_msg *m)
{
	struct db_stmt	*st;
	char		*body;
	char		*connector = NULL;
	int		 rc = -1;

	if (id <= 0)
		return -1;
	body = encode_msg(m);
	st = db_prepare(s, "UPDATE outbox SET body = ?1, version = "
	    "version + 1, state = 'pending', attempts = 0, next_at = 0, "
	    "updated_at = ?2 WHERE id = ?3 AND kind = 'message' RETURNING "
	    "connector");
	if (st != NULL) {
		db_bind_text(st, 1, body);
		db_bind_int(st, 2, wall_now());
		db_bind_int(st, 3, id);
		if (db_step(st) == DB_ROW) {
			connector = xstrdup(db_text(st, 0));
			rc = 0;
		}
		db_finish(s, st);
	}
	if (connector != NULL)
		store_note_outbox(s, connector);
	free(connector);
	free(body);
	return rc;
}

/* ---- the sender's side ---- */

static char *
dup_json(const json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? xstrdup(s) : NULL;
}

/* Points the message at the item's own strings. */
static void
link_msg(struct outbox_item *it, size_t nbuttons)
{
	it->msg.mention = it->mention;
	it->msg.mention_name = it->mention_name;
	it->msg.title = it->title;
	it->msg.text = it->text;
	it->msg.buttons = it->buttons;
	it->msg.nbuttons = nbuttons;
}

static void
unlink_msg(struct outbox_item *it)
{
	size_t	 i;

	for (i = 0; i < 3 * it->msg.nbuttons; i++)
		free(it->button_strings[i]);
	free(it->button_strings);
	free(it->buttons);
	free(it->title);
	free(it->text);
	free(it->mention);
	free(it->mention_name);
	it->button_strings = NULL;
	it->buttons = NULL;
	it->title = it->text = it->mention = it->mention_name = NULL;
	memset(&it->msg, 0, sizeof it->msg);
}

/* One string member into *slot (a repeated key keeps the last). */
static void
take_string(char **slot, struct oj_value *v)
{
	free(*slot);
	*slot = v->s;
	v->s = NULL;
}

/* The buttons array, member by member; -1 when it is not ours. */
static int
read_buttons(struct outbox_item *it, struct oj_reader *r, size_t *nout)
{
	struct oj_value	 v;
	char		*key;
	size_t		 n = 0;
	int		 rc, more;

	while ((more = oj_element(r)) == 1) {
		struct chat_button	*bt;

		it->buttons = xreallocarray(it->buttons, n + 1,
		    sizeof *it->buttons);
		it->button_strings = xreallocarray(it->button_strings,
		    3 * (n + 1), sizeof *it->button_strings);
		memset(&it->button_strings[3 * n], 0, 3 *
		    sizeof *it->button_strings);
		bt = &it->buttons[n];
		memset(bt, 0, sizeof *bt);
		it->msg.nbuttons = ++n;	/* what unlink_msg frees */
		while ((rc = oj_next(r, &key)) == 1) {
			if (oj_value(r, &v) != 0 || v.type == OJ_ARRAY) {
				free(key);
				free(v.s);
				return -1;
			}
			if (v.type == OJ_STRING && strcmp(key, "label") == 0)
				take_string(&it->button_strings[3 * n - 3], &v);
			else if (v.type == OJ_STRING && strcmp(key, "data") == 0)
				take_string(&it->button_strings[3 * n - 2], &v);
			else if (v.type == OJ_STRING && strcmp(key, "emoji") == 0)
				take_string(&it->button_strings[3 * n - 1], &v);
			else if (v.type == OJ_INT && strcmp(key, "style") == 0)
				bt->style = (enum chat_button_style)v.i;
			free(key);
			free(v.s);
		}
		if (rc != 0)
			return -1;
	}
	if (more != 0)
		return -1;
	for (n = 0; n < it->msg.nbuttons; n++) {
		it->buttons[n].label = it->button_strings[3 * n];
		it->buttons[n].data = it->button_strings[3 * n + 1];
		it->buttons[n].emoji = it->button_strings[3 * n + 2];
	}
	*nout = it->msg.nbuttons;
	return 0;
}

/* The content as outbox_json.c wrote it; -1 when it is anything else. */
static int
read_msg(struct outbox_item *it, const char *body)
{
	struct oj_reader r;
	struct oj_value	 v;
	char		*key;
	size_t		 nbuttons = 0;
	int		 rc, pre = 0;

	if (oj_open(&r, body) != 0)
		return -1;
	while ((rc = oj_next(&r, &key)) == 1) {
		if (oj_value(&r, &v) != 0) {
			free(key);
			return -1;
		}
		if (v.type == OJ_ARRAY) {
			rc = strcmp(key, "buttons") == 0 && nbuttons == 0 ?
			    read_buttons(it, &r, &nbuttons) : -1;
			free(key);
			if (rc != 0)
				return -1;
			continue;
		}
		if (v.type == OJ_STRING && strcmp(key, "title") == 0)
			take_string(&it->title, &v);
		else if (v.type == OJ_STRING && strcmp(key, "text") == 0)
			take_string(&it->text, &v);
		else if (v.type == OJ_STRING && strcmp(key, "mention") == 0)
			take_string(&it->mention, &v);
		else if (v.type == OJ_STRING && strcmp(key, "mention_name") == 0)
			take_string(&it->mention_name, &v);
		else if (strcmp(key, "pre") == 0)
			pre = v.type == OJ_BOOL && v.b;
		free(key);
		free(v.s);
	}
	if (rc != 0 || oj_finish(&r) != 0)
		return -1;
	if (it->text == NULL && it->title == NULL)
		it->text = xstrdup("");
	link_msg(it, nbuttons);
	it->msg.pre = pre;
	return 0;
}

/* Rebuilds the content; a row that does not decode is sent as text. */
static void
decode_msg(struct outbox_item *it, const char *body)
{
	json_t	*o, *bs, *b;
	size_t	 i, n;

	if (read_msg(it, body) == 0)
		return;
	/* Not as this pvebot writes it: an older row, or one edited. */
	unlink_msg(it);
	o = json_loads(body != NULL ? body : "", 0, NULL);
	it->title = dup_json(o, "title");
	it->text = dup_json(o, "text");
	if (it->text == NULL && it->title == NULL)
		it->text = xstrdup(o == NULL ? "(unreadable message)" : "");
	bs = json_object_get(o, "buttons");
	n = json_is_array(bs) ? json_array_size(bs) : 0;
	if (n > 0) {
		it->buttons = xcalloc(n, sizeof *it->buttons);
		it->button_strings = xcalloc(3 * n, sizeof *it->button_strings);
		json_array_foreach(bs, i, b) {
			it->button_strings[3 * i] = dup_json(b, "label");
			it->button_strings[3 * i + 1] = dup_json(b, "data");
			it->button_strings[3 * i + 2] = dup_json(b, "emoji");
			it->buttons[i].label = it->button_strings[3 * i];
			it->buttons[i].data = it->button_strings[3 * i + 1];
			it->buttons[i].emoji = it->button_strings[3 * i + 2];
			it->buttons[i].style = (enum chat_button_style)
			    json_integer_value(json_object_get(b, "style"));
		}
	}
	it->mention = dup_json(o, "mention");
	it->mention_name = dup_json(o, "mention_name");
	link_msg(it, n);
	it->msg.pre = json_is_true(json_object_get(o, "pre"));
	json_decref(o);
}

/* The reply context as outbox_json.c wrote it; -1 when anything else. */
static int
read_event(struct chat_event *ev, const char *reply)
{
	struct oj_reader r;
	struct oj_value	 v;
	char		*key;
	int		 rc;

	if (oj_open(&r, reply) != 0)
		return -1;
	while ((rc = oj_next(&r, &key)) == 1) {
		if (oj_value(&r, &v) != 0 || v.type == OJ_ARRAY) {
			free(key);
			free(v.s);
			return -1;
		}
		if (v.type == OJ_STRING && strcmp(key, "user") == 0)
			take_string(&ev->user, &v);
		else if (v.type == OJ_STRING && strcmp(key, "token") == 0)
			take_string(&ev->reply_token, &v);
		else if (v.type == OJ_STRING && strcmp(key, "msg_ref") == 0)
			take_string(&ev->msg_ref, &v);
		else if (strcmp(key, "slash") == 0)
			ev->slash = v.type == OJ_BOOL && v.b;
		else if (strcmp(key, "direct") == 0)
			ev->direct = v.type == OJ_BOOL && v.b;
		free(key);
		free(v.s);
	}
	return rc == 0 && oj_finish(&r) == 0 ? 0 : -1;
}

static struct chat_event *
decode_event(const struct outbox_item *it, const char *reply)
{
	struct chat_event	*ev;
	json_t			*o;

	if (reply == NULL)
		return NULL;
	ev = chat_event_new(it->kind == OUTBOX_ANSWER ? CHAT_EV_BUTTON :
	    CHAT_EV_MESSAGE, it->connector, it->room, NULL);
	if (read_event(ev, reply) == 0)
		return ev;
	free(ev->user);
	free(ev->reply_token);
	free(ev->msg_ref);
	o = json_loads(reply, 0, NULL);
	ev->user = dup_json(o, "user");
	ev->reply_token = dup_json(o, "token");
	ev->msg_ref = dup_json(o, "msg_ref");
	ev->slash = json_is_true(json_object_get(o, "slash"));
	ev->direct = json_is_true(json_object_get(o, "direct"));
	json_decref(o);
	return ev;
}

static void
item_release(struct outbox_item *it)
{
	free(it->connector);
	free(it->room);
	free(it->ref);
	free(it->label);
	unlink_msg(it);
	chat_event_free(it->ev);
}

void
outbox_items_free(struct outbox_item *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		item_release(&v[i]);
	free(v);
}

/* Heads in the order they were written. */
static int
item_cmp(const void *a, const void *b)
{
	const struct outbox_item	*x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int
outbox_due(struct store *s, const char *connector, int64_t now_ms,
    struct outbox_item **out, size_t *nout, int64_t *next_ms)
{
	struct db_stmt	*st;
	struct outbox_item *v = NULL;
	size_t		 n = 0;
	char		*room_seen;
	ssize_t		 head = -1;	/* the current room's head in v */
	int		 rc;

	*out = NULL;
	*nout = 0;
	*next_ms = 0;
	/*
	 * The oldest waiting row of each room (answers are not ordered
	 * with messages: each is its own "room"). A room whose oldest row
	 * is not due yet waits as a whole, so its messages stay in order.
	 * One walk of the outbox_waiting index, room by room: the first
	 * message of a room is its head (no grouping in SQL: the temporary
	 * B-trees that took cost more than everything else here).
	 */
	st = db_prepare(s, "SELECT id, kind, room, ref, label, version, "
	    "attempts, created_at, body, reply, next_at FROM outbox "
	    "INDEXED BY outbox_waiting WHERE connector = ?1 AND "
	    "state = 'pending' ORDER BY room, id");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, connector);
	room_seen = NULL;
	while ((rc = db_step(st)) == DB_ROW) {
		struct outbox_item	*it;
		const char		*room = db_text(st, 2);
		int			 answer;
		int64_t			 at;

		answer = strcmp(db_text(st, 1), "answer") == 0;
		if (!answer) {
			if (room_seen != NULL && strcmp(room_seen, room) == 0) {
				if (head >= 0)
					v[head].more = 1;
				continue;
			}
			free(room_seen);
			room_seen = xstrdup(room);
			head = -1;
		}
		at = db_int(st, 10);
		if (at > now_ms) {
			if (*next_ms == 0 || at < *next_ms)
				*next_ms = at;
			continue;
		}
		v = xreallocarray(v, n + 1, sizeof *v);
		if (!answer)
			head = (ssize_t)n;
		it = &v[n++];
		memset(it, 0, sizeof *it);
		it->id = db_int(st, 0);
		it->kind = answer ? OUTBOX_ANSWER : OUTBOX_MESSAGE;
		it->connector = xstrdup(connector);
		it->room = xstrdup(room);
		it->ref = db_text_dup(st, 3);
		it->label = db_text_dup(st, 4);
		it->version = db_int(st, 5);
		it->attempts = (int)db_int(st, 6);
		it->created_at = db_int(st, 7);
		decode_msg(it, db_text(st, 8));
		it->ev = decode_event(it, db_text(st, 9));
	}
	free(room_seen);
	if (n > 1)
		qsort(v, n, sizeof *v, item_cmp);
	db_finish(s, st);
	*out = v;
	*nout = n;
	return rc == DB_DONE ? 0 : -1;
}

int
outbox_sent(struct store *s, const struct outbox_item *it, const char *ref)
{
	struct db_stmt	*st;
	int		 rc;

	st = db_prepare(s, "UPDATE outbox SET sent_version = ?1, ref = "
	    "COALESCE(?2, ref), attempts = 0, next_at = 0, error = NULL, "
	    "state = CASE WHEN version <= ?1 THEN 'done' ELSE 'pending' END, "
	    "updated_at = ?3 WHERE id = ?4");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, it->version);
	if (ref != NULL)
		db_bind_text(st, 2, ref);
	else
		db_bind_null(st, 2);
	db_bind_int(st, 3, wall_now());
	db_bind_int(st, 4, it->id);
	rc = db_step(st);
	db_finish(s, st);
	return rc == DB_DONE ? 0 : -1;
}

int
outbox_retry(struct store *s, const struct outbox_item *it, int64_t next_ms,
    const char *error)
{
	struct db_stmt	*st;
	int		 rc;

	st = db_prepare(s, "UPDATE outbox SET attempts = attempts + 1, "
	    "next_at = ?1, error = ?2, updated_at = ?3 WHERE id = ?4");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, next_ms);
	db_bind_text(st, 2, error != NULL ? error : "");
	db_bind_int(st, 3, wall_now());
	db_bind_int(st, 4, it->id);
	rc = db_step(st);
	db_finish(s, st);
	return rc == DB_DONE ? 0 : -1;
}

int
outbox_forget_ref(struct store *s, const struct outbox_item *it)
{
	struct db_stmt	*st;
	int		 rc;

	st = db_prepare(s, "UPDATE outbox SET ref = NULL, reply = NULL, "
	    "updated_at = ?1 WHERE id = ?2");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, wall_now());
	db_bind_int(st, 2, it->id);
	rc = db_step(st);
	db_finish(s, st);
	return rc == DB_DONE ? 0 : -1;
}

int
outbox_failed(struct store *s, const struct outbox_item *it,
    const char *error)
{
	struct db_stmt	*st;
	int		 rc;

	st = db_prepare(s, "UPDATE outbox SET state = 'failed', error = "
	    "?1, updated_at = ?2 WHERE id = ?3");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, error != NULL ? error : "");
	db_bind_int(st, 2, wall_now());
	db_bind_int(st, 3, it->id);
	rc = db_step(st);
	db_finish(s, st);
	return rc == DB_DONE ? 0 : -1;
}

int64_t
outbox_pending(struct store *s, const char *connector)
{
	struct db_stmt	*st;
	int64_t		 n = 0;

	/* Two statements, so that the index (connector, state) serves. */
	if (connector != NULL)
		st = db_prepare(s, "SELECT COUNT(*) FROM outbox WHERE "
		    "connector = ?1 AND state = 'pending'");
	else
		st = db_prepare(s, "SELECT COUNT(*) FROM outbox WHERE "
		    "state = 'pending'");
	if (st == NULL)
		return -1;
	if (connector != NULL)
		db_bind_text(st, 1, connector);
	if (db_step(st) == DB_ROW)
		n = db_int(st, 0);
	db_finish(s, st);
	return n;
}

char *
outbox_ref(struct store *s, int64_t id)
{
	struct db_stmt	*st;
	char		*ref = NULL;

	st = db_prepare(s, "SELECT ref FROM outbox WHERE id = ?1");
	if (st == NULL)
		return NULL;
	db_bind_int(st, 1, id);
	if (db_step(st) == DB_ROW)
		ref = db_text_dup(st, 0);
	db_finish(s, st);
	return ref;
}
