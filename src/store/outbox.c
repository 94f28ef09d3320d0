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

#include "chat.h"
#include "db.h"
#include "jscan.h"
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

/*
 * Reading a row back: the content and the reply context are small JSON
 * objects (outbox_json.c wrote them; an older pvebot wrote them with
 * jansson). They are read with the strict scanner, members pvebot does
 * not know are skipped, and a row that is not JSON at all is sent as
 * "(unreadable message)". Decoded strings are no longer than the text,
 * so one scratch buffer of its size holds any of them.
 */
struct row_reader {
	struct jscan	 js;
	char		*scratch;
	size_t		 size;
};

static void
row_open(struct row_reader *rr, const char *text)
{
	size_t	 len = strlen(text);

	jscan_init(&rr->js, text, len);
	rr->size = len + 1;
	rr->scratch = xmalloc(rr->size);
}

static void
row_close(struct row_reader *rr)
{
	free(rr->scratch);
}

/* A string member's value into *slot (a repeated key keeps the last);
 * a value of another type is skipped and leaves the slot as it is. */
static int
row_string(struct row_reader *rr, char **slot)
{
	size_t	 len;

	if (jscan_peek(&rr->js) != JSCAN_STRING)
		return jscan_skip(&rr->js);
	if (jscan_string(&rr->js, rr->scratch, rr->size, &len) != 0)
		return -1;
	free(*slot);
	*slot = xstrndup(rr->scratch, len);
	return 0;
}

/* A true or false member; anything else reads as false. */
static int
row_bool(struct row_reader *rr, int *out)
{
	*out = jscan_peek(&rr->js) == JSCAN_TRUE;
	return jscan_skip(&rr->js);
}

/* The buttons array: objects of label, data, emoji and style. */
static int
read_buttons(struct outbox_item *it, struct row_reader *rr)
{
	char	 key[16];
	size_t	 n;
	int	 more, k;

	if (jscan_array(&rr->js) != 0)
		return -1;
	while ((more = jscan_next(&rr->js)) == 1) {
		struct chat_button	*bt;
		int64_t			 style = 0;

		n = it->msg.nbuttons;
		it->buttons = xreallocarray(it->buttons, n + 1,
		    sizeof *it->buttons);
		it->button_strings = xreallocarray(it->button_strings,
		    3 * (n + 1), sizeof *it->button_strings);
		memset(&it->button_strings[3 * n], 0, 3 *
		    sizeof *it->button_strings);
		bt = &it->buttons[n];
		memset(bt, 0, sizeof *bt);
		it->msg.nbuttons = n + 1;	/* what unlink_msg frees */
		if (jscan_object(&rr->js) != 0)
			return -1;
		while ((k = jscan_key(&rr->js, key, sizeof key)) == 1) {
			if (strcmp(key, "label") == 0)
				k = row_string(rr, &it->button_strings[3 * n]);
			else if (strcmp(key, "data") == 0)
				k = row_string(rr,
				    &it->button_strings[3 * n + 1]);
			else if (strcmp(key, "emoji") == 0)
				k = row_string(rr,
				    &it->button_strings[3 * n + 2]);
			else if (strcmp(key, "style") == 0 &&
			    jscan_peek(&rr->js) == JSCAN_NUMBER)
				k = jscan_number(&rr->js, NULL, &style);
			else
				k = jscan_skip(&rr->js);
			if (k != 0)
				return -1;
		}
		if (k != 0)
			return -1;
		bt->style = (enum chat_button_style)style;
	}
	if (more != 0)
		return -1;
	for (n = 0; n < it->msg.nbuttons; n++) {
		it->buttons[n].label = it->button_strings[3 * n];
		it->buttons[n].data = it->button_strings[3 * n + 1];
		it->buttons[n].emoji = it->button_strings[3 * n + 2];
	}
	return 0;
}

static int
read_msg(struct outbox_item *it, struct row_reader *rr)
{
	char	 key[16];
	int	 k, rc, pre = 0, buttons = 0;

	if (jscan_object(&rr->js) != 0)
		return -1;
	while ((k = jscan_key(&rr->js, key, sizeof key)) == 1) {
		if (strcmp(key, "title") == 0)
			rc = row_string(rr, &it->title);
		else if (strcmp(key, "text") == 0)
			rc = row_string(rr, &it->text);
		else if (strcmp(key, "mention") == 0)
			rc = row_string(rr, &it->mention);
		else if (strcmp(key, "mention_name") == 0)
			rc = row_string(rr, &it->mention_name);
		else if (strcmp(key, "pre") == 0)
			rc = row_bool(rr, &pre);
		else if (strcmp(key, "buttons") == 0 && !buttons &&
		    jscan_peek(&rr->js) == JSCAN_ARRAY) {
			rc = read_buttons(it, rr);
			buttons = 1;
		} else
			rc = jscan_skip(&rr->js);
		if (rc != 0)
			return -1;
	}
	if (k != 0 || jscan_end(&rr->js) != 0)
		return -1;
	it->msg.pre = pre;
	return 0;
}

/* Rebuilds the content; a row that does not read is sent as such. */
static void
decode_msg(struct outbox_item *it, const char *body)
{
	struct row_reader	 rr;

	row_open(&rr, body != NULL ? body : "");
	if (read_msg(it, &rr) != 0) {
		log_warn("outbox", "row %" PRId64 " does not read (%s); sent "
		    "as unreadable", it->id, jscan_error(&rr.js));
		unlink_msg(it);
		it->text = xstrdup("(unreadable message)");
	} else if (it->text == NULL && it->title == NULL)
		it->text = xstrdup("");
	row_close(&rr);
	link_msg(it, it->msg.nbuttons);
}

static int
read_event(struct chat_event *ev, struct row_reader *rr)
{
	char	 key[16];
	int	 k, rc;

	if (jscan_object(&rr->js) != 0)
		return -1;
	while ((k = jscan_key(&rr->js, key, sizeof key)) == 1) {
		if (strcmp(key, "user") == 0)
			rc = row_string(rr, &ev->user);
		else if (strcmp(key, "token") == 0)
			rc = row_string(rr, &ev->reply_token);
		else if (strcmp(key, "msg_ref") == 0)
			rc = row_string(rr, &ev->msg_ref);
		else if (strcmp(key, "slash") == 0)
			rc = row_bool(rr, &ev->slash);
		else if (strcmp(key, "direct") == 0)
			rc = row_bool(rr, &ev->direct);
		else
			rc = jscan_skip(&rr->js);
		if (rc != 0)
			return -1;
	}
	return k == 0 && jscan_end(&rr->js) == 0 ? 0 : -1;
}

/* The event a reply or an answer answers; what does not read is left
 * out (the message then goes to the room, not threaded). */
static struct chat_event *
decode_event(const struct outbox_item *it, const char *reply)
{
	struct chat_event	*ev;
	struct row_reader	 rr;

	if (reply == NULL)
		return NULL;
	ev = chat_event_new(it->kind == OUTBOX_ANSWER ? CHAT_EV_BUTTON :
	    CHAT_EV_MESSAGE, it->connector, it->room, NULL);
	row_open(&rr, reply);
	if (read_event(ev, &rr) != 0) {
		log_warn("outbox", "row %" PRId64 "'s reply context does not "
		    "read (%s)", it->id, jscan_error(&rr.js));
		free(ev->user);
		free(ev->reply_token);
		free(ev->msg_ref);
		ev->user = ev->reply_token = ev->msg_ref = NULL;
		ev->slash = ev->direct = 0;
	}
	row_close(&rr);
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
