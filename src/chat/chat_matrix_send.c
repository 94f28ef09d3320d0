/*
 * chat_matrix_send.c - the Matrix connector's requests and everything
 * pvebot posts: notices, edits (m.replace), replies, answers to reactions,
 * and its own ✅ / ❌ reactions on approval requests.
 *
 * Guarantees:
 * - The access token travels only in the Authorization header, never in
 *   a URL, a log line or a cause string.
 * - Every event is PUT with a transaction id that is written to
 *   chat_outbox before the first try. A later try of the same content to
 *   the same room (a retry after a lost reply, even after a restart)
 *   reuses the pending row's id, and the homeserver's transaction-id
 *   idempotency turns it into the same event: nothing posts twice.
 * - One attempt per call: 429 M_LIMIT_EXCEEDED (its retry_after_ms
 *   kept for the sender), network errors and 5xx are CHAT_TEMPORARY,
 *   other refusals CHAT_PERMANENT; the sender thread paces and retries.
 * - The buttons of a message are stored in chat_buttons (with the emoji
 *   that stands for each) before pvebot reacts with them, so a user's
 *   reaction finds its data even after a restart.
 * - Requests go through the one HTTP client (net_http.h) with kept-alive
 *   connections. A write is sent once: libcurl's own resend, when a
 *   kept-alive connection died first, is refused, so the call fails and
 *   the sender's retry (same transaction id) decides. The receiving
 *   thread's requests end at once when the connector stops; a send is
 *   let finish.
 * - Called by the sender thread (and once by the receiving thread for
 *   the encryption notice); the store connection for outbox and buttons
 *   is used under out_lock.
 */
#include <stdlib.h>
#include <string.h>

#include "chat_matrix_priv.h"
#include "log.h"
#include "net_http.h"
#include "store.h"
#include "store_chat.h"
#include "util.h"

#define MX_OUTBOX_REUSE_S	86400

/* Keycaps for buttons that bring no emoji of their own. */
static const char *mx_keycaps[] = { "1\xef\xb8\x8f\xe2\x83\xa3",
	"2\xef\xb8\x8f\xe2\x83\xa3", "3\xef\xb8\x8f\xe2\x83\xa3",
	"4\xef\xb8\x8f\xe2\x83\xa3", "5\xef\xb8\x8f\xe2\x83\xa3" };

_Thread_local int mx_on_sync_thread;

static int	mx_http_feed(struct matrix *, const char *, const char *,
		    json_t *, struct mx_reply *);

int
mx_http(struct matrix *m, const char *method, const char *path,
    json_t *body, int64_t timeout_ms, struct mx_reply *r)
{
	struct net_request	 req;
	struct net_reply	 nr;
	char			*payload = NULL;

	memset(r, 0, sizeof *r);
	if (m->feed_http != NULL)
		return mx_http_feed(m, method, path, body, r);
	memset(&req, 0, sizeof req);
	req.method = method;
	req.path = path;
	if (body != NULL) {
		payload = json_dumps(body, JSON_COMPACT);
		req.body = payload;
		req.content_type = "application/json";
	}
	req.timeout_ms = (long)timeout_ms;
	/* Only the receiving thread's requests: a send should finish. */
	req.cancellable = mx_on_sync_thread;
	net_http_do(m->http, &req, &nr);
	free(payload);
	if (nr.result == NET_REPLY) {
		r->status = nr.status;
		mx_reply_body(r, nr.body.data, nr.body.len);
		/* Retry-After counts when the body names no retry_after_ms. */
		if (r->retry_after_ms == 0 && nr.retry_after > 0 &&
		    nr.retry_after <= 3600)
			r->retry_after_ms = nr.retry_after * 1000;
	} else
		snprintf(r->net_error, sizeof r->net_error, "%s",
		    nr.result == NET_TOO_BIG ? "reply larger than 4 MiB" :
		    nr.error);
	net_reply_release(&nr);
	return r->status != 0 ? 0 : -1;
}

void
mx_reply_body(struct mx_reply *r, const char *body, size_t len)
{
	json_t	*v;

	if (len > 0) {
		/* NUL in a string is judged per event, not per reply. */
		r->json = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
		if (r->json != NULL && !json_is_object(r->json) &&
		    !json_is_array(r->json)) {
			json_decref(r->json);
			r->json = NULL;
		}
	}
	if (r->json != NULL && json_is_object(r->json)) {
		if (json_is_string(v = json_object_get(r->json, "errcode")))
			r->errcode = xstrdup(json_string_value(v));
		if (json_is_string(v = json_object_get(r->json, "error")))
			r->error = xstrndup(json_string_value(v), 200);
		v = json_object_get(r->json, "retry_after_ms");
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			r->retry_after_ms = json_integer_value(v);
	}
}

/*
 * Tests and fuzzing (chat_feed.h): the request goes to feed_http, its
 * answer is read as a homeserver's, capped as net_http caps it.
 */
static int
mx_http_feed(struct matrix *m, const char *method, const char *path,
    json_t *body, struct mx_reply *r)
{
	char	*payload, *reply = NULL;
	int	 over;

	payload = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	r->status = m->feed_http(m->feed_arg, method, path, payload, &reply);
	free(payload);
	over = reply != NULL && strlen(reply) > MX_BODY_CAP;
	if (over)
		r->status = 0;
	if (r->status == 0)
		snprintf(r->net_error, sizeof r->net_error, "%s", over ?
		    "reply larger than 4 MiB" : "no reply (fed)");
	else if (reply != NULL)
		mx_reply_body(r, reply, strlen(reply));
	free(reply);
	return r->status != 0 ? 0 : -1;
}

void
mx_reply_clear(struct mx_reply *r)
{
	if (r->json != NULL)
		json_decref(r->json);
	free(r->errcode);
	free(r->error);
	memset(r, 0, sizeof *r);
}

int
mx_classify(const struct mx_reply *r)
{
	if (r->status >= 200 && r->status < 300)
		return CHAT_OK;
	if (r->status == 0 || r->status == 429 || r->status >= 500 ||
	    (r->errcode != NULL && strcmp(r->errcode, "M_LIMIT_EXCEEDED") == 0))
		return CHAT_TEMPORARY;
	return CHAT_PERMANENT;
}

char *
mx_reply_cause(const char *what, const struct mx_reply *r)
{
	char	*cause, *scrubbed;

	if (r->status == 0)
		cause = xasprintf("%s failed: homeserver unreachable (%s)",
		    what, r->net_error);
	else if (r->errcode != NULL)
		cause = xasprintf("%s failed: HTTP %ld %s%s%s%s", what,
		    r->status, r->errcode, r->error != NULL ? " (" : "",
		    r->error != NULL ? r->error : "",
		    r->error != NULL ? ")" : "");
	else
		cause = xasprintf("%s failed: HTTP %ld%s", what, r->status,
		    r->json == NULL && r->status < 300 ?
		    " with a reply that is not JSON" : "");
	/* A server echoing the token back must not leak it either. */
	scrubbed = log_scrub(cause);
	free(cause);
	return scrubbed;
}

char *
mx_room_id(struct matrix *m, const char *room, char **cause)
{
	struct mx_reply	 r;
	char		*id = NULL, *path, *esc;
	size_t		 i;
	json_t		*v;

	if (room == NULL || (room[0] != '!' && room[0] != '#')) {
		set_cause(cause, "not a Matrix room id or alias: %s",
		    room != NULL ? room : "(none)");
		return NULL;
	}
	if (room[0] == '!')
		return xstrdup(room);
	pthread_mutex_lock(&m->rooms_lock);
	for (i = 0; i < m->nrooms; i++) {
		if (strcmp(m->rooms[i].name, room) == 0 &&
		    m->rooms[i].id != NULL)
			id = xstrdup(m->rooms[i].id);
	}
	pthread_mutex_unlock(&m->rooms_lock);
	if (id != NULL)
		return id;

	esc = net_http_escape(room);
	path = xasprintf("/_matrix/client/v3/directory/room/%s", esc);
	free(esc);
	mx_http(m, "GET", path, NULL, MX_REQUEST_TIMEOUT_MS, &r);
	free(path);
	if (mx_classify(&r) == CHAT_OK &&
	    json_is_string(v = json_object_get(r.json, "room_id")) &&
	    json_string_value(v)[0] == '!')
		id = xstrdup(json_string_value(v));
	else if (mx_classify(&r) == CHAT_OK)
		set_cause(cause, "resolving %s failed: no room_id in the "
		    "reply", room);
	else {
		char	*what = xasprintf("resolving %s", room);

		if (cause != NULL)
			*cause = mx_reply_cause(what, &r);
		free(what);
	}
	mx_reply_clear(&r);
	if (id == NULL)
		return NULL;
	pthread_mutex_lock(&m->rooms_lock);
	for (i = 0; i < m->nrooms; i++) {
		if (strcmp(m->rooms[i].name, room) == 0 &&
		    m->rooms[i].id == NULL)
			m->rooms[i].id = xstrdup(id);
	}
	pthread_mutex_unlock(&m->rooms_lock);
	return id;
}

/* The outbox connection, opened on first use; out_lock held. */
static struct store *
mx_out_store(struct matrix *m, char **cause)
{
	if (m->out_store == NULL)
		m->out_store = store_open(m->db_path, cause);
	return m->out_store;
}

/*
 * Finds a pending transaction for the same content in the same room, or
 * records a new one. With a key (the sender's outbox row), the pending
 * transaction of that key is the one, whatever content it had: a first
 * send the homeserver may have taken before a crash is sent again under
 * its transaction id, so the homeserver answers with the event it made
 * then instead of posting a second message; *stale is then set when
 * that attempt had other content (the event may show the old one), and
 * the row takes the new content. Returns the txn id (caller frees) or
 * NULL.
 */
static char *
mx_outbox_claim(struct matrix *m, const char *room_id, const char *body,
    const char *key, int *stale, char **cause)
{
	struct store	*s;
	char		*txn = NULL, *suffix = NULL, hex[33];
	int		 found, same = 1;

	if (stale != NULL)
		*stale = 0;
	pthread_mutex_lock(&m->out_lock);
	if ((s = mx_out_store(m, cause)) == NULL)
		goto out;
	if (key != NULL)
		suffix = xasprintf(".%s", key);
	/*
	 * A failed lookup is a temporary failure, not a miss: a new id
	 * could post again what a pending one already did.
	 */
	if ((found = chat_txn_find(s, "matrix", room_id, body, suffix,
	    wall_now() - MX_OUTBOX_REUSE_S, &txn, &same, cause)) != 0) {
		if (found == 1 && !same)
			chat_txn_set_body(s, txn, body);
		if (found == 1 && stale != NULL)
			*stale = !same;
		goto out;
	}

	random_hex(hex, 16);
	txn = xasprintf("pvebot.%s%s", hex, suffix != NULL ? suffix : "");
	if (chat_txn_add(s, "matrix", room_id, txn, body, wall_now(),
	    cause) != 0) {
		free(txn);
		txn = NULL;
	}
out:
	pthread_mutex_unlock(&m->out_lock);
	free(suffix);
	return txn;
}

static void
mx_outbox_finish(struct matrix *m, const char *txn, const char *state,
    const char *ref)
{
	char	*cause = NULL;

	pthread_mutex_lock(&m->out_lock);
	if (m->out_store != NULL && chat_txn_finish(m->out_store, txn, state,
	    ref, &cause) != 0) {
		log_warn("matrix", "outbox update failed txn=%s: %s", txn,
		    cause);
		free(cause);
	}
	pthread_mutex_unlock(&m->out_lock);
}

int
mx_put_event(struct matrix *m, const char *room_id, const char *type,
    json_t *content, char **event_id, char **cause)
{
	return mx_put_event_keyed(m, room_id, type, content, NULL, event_id,
	    NULL, cause);
}

int
mx_put_event_keyed(struct matrix *m, const char *room_id, const char *type,
    json_t *content, const char *key, char **event_id, int *stale,
    char **cause)
{
	struct mx_reply	 r;
	char		*body, *txn, *path, *e_room, *e_type, *e_txn, *what;
	char		*why = NULL;
	int		 rc = CHAT_TEMPORARY;
	json_t		*v;

	*event_id = NULL;
	body = json_dumps(content, JSON_COMPACT | JSON_SORT_KEYS);
	txn = mx_outbox_claim(m, room_id, body, key, stale, cause);
	free(body);
	if (txn == NULL)
		return CHAT_TEMPORARY;

	e_room = net_http_escape(room_id);
	e_type = net_http_escape(type);
	e_txn = net_http_escape(txn);
	path = xasprintf("/_matrix/client/v3/rooms/%s/send/%s/%s", e_room,
	    e_type, e_txn);
	free(e_room);
	free(e_type);
	free(e_txn);
	what = xasprintf("sending %s to %s", type, room_id);

	/* One attempt: the sender paces, waits out 429s and retries. */
	mx_http(m, "PUT", path, content, MX_REQUEST_TIMEOUT_MS, &r);
	rc = mx_classify(&r);
	if (rc == CHAT_OK) {
		v = json_object_get(r.json, "event_id");
		if (json_is_string(v) && json_string_value(v)[0] == '$')
			*event_id = xstrdup(json_string_value(v));
		else {
			/* 2xx without an event id: treat as a bad reply. */
			rc = CHAT_TEMPORARY;
			snprintf(r.net_error, sizeof r.net_error,
			    "no event_id in the reply");
			r.status = 0;
		}
	}
	if (rc != CHAT_OK) {
		why = mx_reply_cause(what, &r);
		log_warn("matrix", "%s (txn=%s)", why, txn);
		if (r.status == 429 || r.retry_after_ms > 0)
			m->retry_after_ms = r.retry_after_ms > 0 ?
			    r.retry_after_ms : 1000;
	}
	mx_reply_clear(&r);
	if (rc == CHAT_OK) {
		free(why);
		why = NULL;
		mx_outbox_finish(m, txn, "sent", *event_id);
	} else if (rc == CHAT_PERMANENT)
		mx_outbox_finish(m, txn, "failed", NULL);
	if (cause != NULL)
		*cause = why;
	else
		free(why);
	free(what);
	free(path);
	free(txn);
	return rc;
}

/* Text with newlines, HTML-escaped, newlines as <br>; into b. */
static void
mx_html_lines(struct buf *b, const char *text)
{
	char		*esc = html_escape(text);
	const char	*p;

	for (p = esc; *p != '\0'; p++) {
		if (*p == '\n')
			buf_puts(b, "<br>");
		else
			buf_append(b, p, 1);
	}
	free(esc);
}

static const char *
mx_button_emoji(const struct chat_msg *msg, size_t i)
{
	if (msg->buttons[i].emoji != NULL && msg->buttons[i].emoji[0] != '\0')
		return msg->buttons[i].emoji;
	return mx_keycaps[i % nitems(mx_keycaps)];
}

/* The plain body and the HTML formatted_body of a message. */
static void
mx_render(const struct chat_msg *msg, char **plain, char **html)
{
	struct buf	 p, h;
	const char	*text = msg->text != NULL ? msg->text : "";
	char		*esc;
	size_t		 i;

	buf_init(&p, 0);
	buf_init(&h, 0);
	buf_puts(&p, "");
	buf_puts(&h, "");
	if (msg->mention != NULL && str_has_prefix(msg->mention, "matrix:@")) {
		const char	*uid = msg->mention + 7;
		char		*e_name = html_escape(msg->mention_name != NULL ?
		    msg->mention_name : uid), *e_uid = html_escape(uid);

		/* A pill: clients show the person and notify them. */
		buf_printf(&p, "%s: ", msg->mention_name != NULL ?
		    msg->mention_name : uid);
		buf_printf(&h, "<a href=\"https://matrix.to/#/%s\">%s</a>: ",
		    e_uid, e_name);
		free(e_name);
		free(e_uid);
	}
	if (msg->title != NULL && msg->title[0] != '\0') {
		buf_printf(&p, "%s\n", msg->title);
		buf_puts(&h, "<b>");
		mx_html_lines(&h, msg->title);
		buf_puts(&h, "</b><br>");
	}
	buf_puts(&p, text);
	if (msg->pre) {
		esc = html_escape(text);
		buf_printf(&h, "<pre><code>%s</code></pre>", esc);
		free(esc);
	} else
		mx_html_lines(&h, text);
	if (msg->nbuttons > 0) {
		buf_puts(&p, "\nReact with");
		buf_puts(&h, "<br><i>React with");
		for (i = 0; i < msg->nbuttons; i++) {
			const char	*emoji = mx_button_emoji(msg, i);

			buf_printf(&p, "%s %s %s", i > 0 ? "," : "", emoji,
			    msg->buttons[i].label);
			esc = html_escape(msg->buttons[i].label);
			buf_printf(&h, "%s %s %s", i > 0 ? "," : "", emoji,
			    esc);
			free(esc);
		}
		buf_puts(&p, ".");
		buf_puts(&h, ".</i>");
	}
	*plain = buf_steal(&p);
	*html = buf_steal(&h);
}

static json_t *
mx_content(const char *plain, const char *html)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "msgtype", "m.notice",
	    "body", plain, "format", "org.matrix.custom.html",
	    "formatted_body", html);
}

int
mx_notice(struct matrix *m, const char *room_id, const char *text,
    char **cause)
{
	struct chat_msg	 msg = { .text = text };
	char		*plain, *html, *event_id = NULL;
	json_t		*content;
	int		 rc;

	mx_render(&msg, &plain, &html);
	content = mx_content(plain, html);
	rc = mx_put_event(m, room_id, "m.room.message", content, &event_id,
	    cause);
	json_decref(content);
	free(plain);
	free(html);
	free(event_id);
	return rc;
}

/*
 * Records the buttons of a message and reacts with each emoji. Returns
 * how many reactions failed; the buttons work without them too (a user
 * can pick the emoji), so that is logged, not fatal.
 */
static void
mx_add_buttons(struct matrix *m, const char *room_id, const char *msg_ref,
    const struct chat_msg *msg)
{
	struct store	*s;
	char		*cause = NULL, *reaction = NULL;
	size_t		 i;
	int		*fresh;

	fresh = xcalloc(msg->nbuttons, sizeof *fresh);
	pthread_mutex_lock(&m->out_lock);
	if ((s = mx_out_store(m, &cause)) == NULL) {
		log_warn("matrix", "cannot store buttons: %s", cause);
		free(cause);
		cause = NULL;
	} else {
		for (i = 0; i < msg->nbuttons; i++)
			fresh[i] = chat_button_add(s, "matrix", room_id,
			    msg_ref, msg->buttons[i].label,
			    msg->buttons[i].data, mx_button_emoji(msg, i)) == 1;
	}
	pthread_mutex_unlock(&m->out_lock);

	for (i = 0; i < msg->nbuttons; i++) {
		json_t	*content;

		if (!fresh[i])
			continue;
		content = json_pack("{s:{s:s, s:s, s:s}}", "m.relates_to",
		    "rel_type", "m.annotation", "event_id", msg_ref, "key",
		    mx_button_emoji(msg, i));
		if (mx_put_event(m, room_id, "m.reaction", content, &reaction,
		    &cause) != CHAT_OK)
			log_warn("matrix", "reacting to own message failed "
			    "room=%s event=%s: %s", room_id, msg_ref,
			    cause != NULL ? cause : "?");
		json_decref(content);
		free(reaction);
		reaction = NULL;
		free(cause);
		cause = NULL;
	}
	free(fresh);
}

/* Drops U+FE0F (emoji presentation selector) so ✅ and ✅️ compare equal. */
static char *
mx_emoji_key(const char *s)
{
	struct buf	 b;

	buf_init(&b, 256);
	buf_puts(&b, "");
	for (; *s != '\0'; s++) {
		if ((unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xb8 &&
		    (unsigned char)s[2] == 0x8f) {
			s += 2;
			continue;
		}
		buf_append(&b, s, 1);
	}
	return buf_steal(&b);
}

char *
mx_button_lookup(struct store *s, const char *room_id, const char *msg_ref,
    const char *key)
{
	struct chat_button_row	*rows;
	char			*want, *have, *data = NULL;
	size_t			 n, i;

	chat_buttons_of(s, "matrix", room_id, msg_ref, &rows, &n);
	want = mx_emoji_key(key);
	for (i = 0; data == NULL && i < n; i++) {
		if (rows[i].emoji == NULL)
			continue;
		have = mx_emoji_key(rows[i].emoji);
		if (strcmp(have, want) == 0)
			data = xstrdup(rows[i].data);
		free(have);
	}
	free(want);
	chat_buttons_free(rows, n);
	return data;
}

static int	mx_edit_msg(struct matrix *, const char *, const char *,
		    const struct chat_msg *, char **);

/* A key fit for a transaction id: letters, digits, '.', '_', '-'. */
static int
mx_key_ok(const char *key)
{
	return key != NULL && key[0] != '\0' && strlen(key) <= 64 &&
	    strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == strlen(key);
}

/* Sends a rendered message, optionally as a reply to `in_reply_to`. */
static int
mx_send_msg(struct matrix *m, const char *room, const struct chat_msg *msg,
    const char *in_reply_to, char **ref, char **cause)
{
	char	*room_id, *plain, *html, *event_id = NULL;
	json_t	*content;
	int	 rc, stale = 0;

	if (ref != NULL)
		*ref = NULL;
	if ((room_id = mx_room_id(m, room, cause)) == NULL)
		return CHAT_TEMPORARY;
	mx_render(msg, &plain, &html);
	content = mx_content(plain, html);
	/* Intentional mentions (spec 1.7): only the person meant, if any. */
	json_object_set_new(content, "m.mentions", msg->mention != NULL &&
	    str_has_prefix(msg->mention, "matrix:@") ? json_pack("{s:[s]}",
	    "user_ids", msg->mention + 7) : json_object());
	if (in_reply_to != NULL && in_reply_to[0] == '$')
		json_object_set_new(content, "m.relates_to", json_pack(
		    "{s:{s:s}}", "m.in_reply_to", "event_id", in_reply_to));
	rc = mx_put_event_keyed(m, room_id, "m.room.message", content,
	    mx_key_ok(msg->key) ? msg->key : NULL, &event_id, &stale, cause);
	json_decref(content);
	free(plain);
	free(html);
	/* The event is the one an earlier attempt made: show this content
	 * (an edit; failing that, the sender's next try edits anyway). */
	if (rc == CHAT_OK && stale)
		(void)mx_edit_msg(m, room, event_id, msg, NULL);
	if (rc == CHAT_OK && msg->nbuttons > 0)
		mx_add_buttons(m, room_id, event_id, msg);
	if (rc == CHAT_OK && ref != NULL)
		*ref = event_id;
	else
		free(event_id);
	free(room_id);
	return rc;
}

int
mx_op_send(struct connector *c, const char *room, const struct chat_msg *msg,
    char **ref, char **cause)
{
	return mx_send_msg(c->priv, room, msg, NULL, ref, cause);
}

int
mx_op_edit(struct connector *c, const char *room, const char *ref,
    const struct chat_msg *msg, char **cause)
{
	return mx_edit_msg(c->priv, room, ref, msg, cause);
}

static int
mx_edit_msg(struct matrix *m, const char *room, const char *ref,
    const struct chat_msg *msg, char **cause)
{
	char		*room_id, *plain, *html, *fb_plain, *fb_html;
	char		*event_id = NULL;
	json_t		*content;
	int		 rc;

	if (ref == NULL || ref[0] != '$') {
		set_cause(cause, "not a Matrix event id: %s",
		    ref != NULL ? ref : "(none)");
		return CHAT_PERMANENT;
	}
	if ((room_id = mx_room_id(m, room, cause)) == NULL)
		return CHAT_TEMPORARY;
	mx_render(msg, &plain, &html);
	/* Clients without edit support show the "* " fallback. */
	fb_plain = xasprintf("* %s", plain);
	fb_html = xasprintf("* %s", html);
	content = mx_content(fb_plain, fb_html);
	json_object_set_new(content, "m.new_content", mx_content(plain,
	    html));
	json_object_set_new(content, "m.relates_to", json_pack(
	    "{s:s, s:s}", "rel_type", "m.replace", "event_id", ref));
	rc = mx_put_event(m, room_id, "m.room.message", content, &event_id,
	    cause);
	json_decref(content);
	if (rc == CHAT_OK && msg->nbuttons > 0)
		mx_add_buttons(m, room_id, ref, msg);
	free(fb_plain);
	free(fb_html);
	free(plain);
	free(html);
	free(event_id);
	free(room_id);
	return rc;
}

int
mx_op_reply(struct connector *c, const struct chat_event *ev,
    const struct chat_msg *msg, char **ref, char **cause)
{
	return mx_send_msg(c->priv, ev->room, msg, ev->reply_token, ref,
	    cause);
}

int64_t
mx_op_pace_ms(struct connector *c, const char *room)
{
	return room != NULL ? MX_SEND_INTERVAL_MS : 0;
}

int64_t
mx_op_retry_after(struct connector *c)
{
	struct matrix	*m = c->priv;
	int64_t		 ms = m->retry_after_ms;

	m->retry_after_ms = 0;
	return ms;
}

int
mx_op_answer(struct connector *c, const struct chat_event *ev,
    const char *text, char **cause)
{
	struct chat_msg	 msg = { .text = NULL };
	const char	*who = ev->user;
	const char	*to;
	char		*line;
	int		 rc;

	if (who != NULL && str_has_prefix(who, "matrix:"))
		who += strlen("matrix:");
	/* Answer under the message the reaction was on: that is the context. */
	to = ev->msg_ref != NULL ? ev->msg_ref : ev->reply_token;
	line = xasprintf("%s%s%s", who != NULL ? who : "",
	    who != NULL ? ": " : "", text);
	msg.text = line;
	rc = mx_send_msg(c->priv, ev->room, &msg, to, NULL, cause);
	free(line);
	return rc;
}
