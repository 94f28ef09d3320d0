/*
 * chat_discord_gateway.c - the Discord Gateway (v10, JSON encoding) as a
 * libwebsockets client running its event loop in its own thread.
 *
 * What it guarantees:
 * - Hello starts heartbeats: the first after interval * jitter, then one
 *   per interval. A beat whose predecessor got no ACK means a zombie
 *   connection: it is closed with a non-1000 code and resumed.
 * - The sequence number of every dispatch is tracked; session_id and
 *   resume_gateway_url come from READY. Any drop (network, op 7, op 9
 *   resumable, resumable close codes) reconnects to resume_gateway_url
 *   and sends Resume; op 9 not resumable waits 1-5 s and identifies.
 * - Close codes 4004 (bad token), 4010-4014 (shard, version, intents)
 *   are fatal: one clear error, no reconnect, the thread ends.
 * - Consecutive failed attempts back off with jitter; a READY or RESUMED
 *   resets the count.
 * - Nothing here calls REST or blocks: dispatches go to a callback that
 *   queues them for the connector's worker thread.
 * Everything below runs on the gateway thread except start, stop and
 * fatal, which only touch the atomic flags and the locked fatal text.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "chat.h"
#include "chat_discord.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define GW_FRAME_MAX	(4 * 1024 * 1024)	/* READY can be large */
/* Closing with a code other than 1000 keeps the session resumable. */
#define GW_CLOSE_RESUME	4000

enum gw_state { GW_IDLE, GW_CONNECTING, GW_OPEN };

struct gw_frame {
	struct gw_frame	*next;
	size_t		 len;
	unsigned char	 data[];	/* LWS_PRE, then the payload */
};

struct dc_gateway {
	char			*token;
	dc_dispatch_cb		 dispatch;
	void			*arg;

	struct lws_context	*context;
	pthread_t		 thread;
	int			 started;
	atomic_int		 stop;
	pthread_mutex_t		 lock;		/* fatal */
	char			*fatal;
	int			 done;		/* the loop ends */
	int64_t			 stop_deadline;

	char			*url;		/* GET /gateway/bot */
	struct lws		*wsi;
	enum gw_state		 state;
	struct buf		 rx;
	struct gw_frame		*outq, **outq_tail;
	int			 close_code;	/* to send: ours */
	int			 peer_close;	/* received: theirs */

	struct dc_session	 session;
	int64_t			 interval_ms;
	int			 acked;
	int			 attempt;
	int64_t			 backoff_base, backoff_cap;

	lws_sorted_usec_list_t	 sul_beat;
	lws_sorted_usec_list_t	 sul_reconnect;
	lws_sorted_usec_list_t	 sul_identify;
	lws_sorted_usec_list_t	 sul_stop;
};

static int	gw_callback(struct lws *, enum lws_callback_reasons, void *,
		    void *, size_t);

static const struct lws_protocols gw_protocols[] = {
	{ "discord-gateway", gw_callback, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
gw_lws_log(int level, const char *line)
{
	char	*copy = xstrdup(line);
	size_t	 n = strlen(copy);

	while (n > 0 && (copy[n - 1] == '\n' || copy[n - 1] == '\r'))
		copy[--n] = '\0';
	log_warn("discord", "libwebsockets: %s", copy);
	free(copy);
}

static void
gw_session_clear(struct dc_session *s)
{
	free(s->session_id);
	free(s->resume_url);
	s->session_id = NULL;
	s->resume_url = NULL;
	s->seq = 0;
}

static void
gw_outq_clear(struct dc_gateway *gw)
{
	struct gw_frame	*f;

	while ((f = gw->outq) != NULL) {
		gw->outq = f->next;
		free(f);
	}
	gw->outq_tail = &gw->outq;
}

static void
gw_send(struct dc_gateway *gw, json_t *payload)
{
	struct gw_frame	*f;
	char		*text;
	size_t		 len;

	text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	if (text == NULL || gw->wsi == NULL || gw->state != GW_OPEN) {
		free(text);
		return;
	}
	len = strlen(text);
	f = xmalloc(sizeof *f + LWS_PRE + len);
	f->next = NULL;
	f->len = len;
	memcpy(f->data + LWS_PRE, text, len);
	free(text);
	*gw->outq_tail = f;
	gw->outq_tail = &f->next;
	lws_callback_on_writable(gw->wsi);
}

/* Closes the connection with `code`; the close handler decides what next. */
static void
gw_close(struct dc_gateway *gw, int code)
{
	if (gw->wsi == NULL || gw->close_code != 0)
		return;
	gw->close_code = code;
	lws_callback_on_writable(gw->wsi);
}

static void
gw_identify(struct dc_gateway *gw)
{
	log_info("discord", "gateway identify intents=%d", DC_INTENTS);
	gw_send(gw, json_pack("{s:i, s:{s:s, s:i, s:{s:s, s:s, s:s}}}",
	    "op", 2, "d", "token", gw->token, "intents", DC_INTENTS,
	    "properties", "os", "linux", "browser", "pvebot",
	    "device", "pvebot"));
}

static void
gw_resume(struct dc_gateway *gw)
{
	log_info("discord", "gateway resume seq=%lld",
	    (long long)gw->session.seq);
	gw_send(gw, json_pack("{s:i, s:{s:s, s:s, s:I}}", "op", 6, "d",
	    "token", gw->token, "session_id", gw->session.session_id,
	    "seq", (json_int_t)gw->session.seq));
}

static void
gw_heartbeat_send(struct dc_gateway *gw)
{
	json_t	*seq;

	seq = gw->session.seq > 0 ? json_integer(gw->session.seq) :
	    json_null();
	gw_send(gw, json_pack("{s:i, s:o}", "op", 1, "d", seq));
}

static struct dc_gateway *
gw_of_sul(lws_sorted_usec_list_t *sul, size_t offset)
{
	return (struct dc_gateway *)(void *)((char *)sul - offset);
}

static void
gw_beat(lws_sorted_usec_list_t *sul)
{
	struct dc_gateway *gw = gw_of_sul(sul,
	    offsetof(struct dc_gateway, sul_beat));

	if (gw->state != GW_OPEN)
		return;
	if (!gw->acked) {
		log_warn("discord", "gateway heartbeat not acknowledged: "
		    "zombie connection, reconnecting");
		gw_close(gw, GW_CLOSE_RESUME);
		return;
	}
	gw->acked = 0;
	gw_heartbeat_send(gw);
	lws_sul_schedule(gw->context, 0, &gw->sul_beat, gw_beat,
	    gw->interval_ms * LWS_US_PER_MS);
}

static void
gw_identify_later(lws_sorted_usec_list_t *sul)
{
	struct dc_gateway *gw = gw_of_sul(sul,
	    offsetof(struct dc_gateway, sul_identify));

	if (gw->state == GW_OPEN)
		gw_identify(gw);
}


static void	gw_connect(struct dc_gateway *);

static void
gw_reconnect(lws_sorted_usec_list_t *sul)
{
	struct dc_gateway *gw = gw_of_sul(sul,
	    offsetof(struct dc_gateway, sul_reconnect));

	if (!atomic_load(&gw->stop) && !gw->done && gw->state == GW_IDLE)
		gw_connect(gw);
}

/* The first retry after a good session is immediate, then backoff. */
static void
gw_schedule_reconnect(struct dc_gateway *gw)
{
	int64_t	 ms = 0;

	metric_connector("discord", 0);
	if (gw->attempt > 0)
		ms = chat_backoff_ms(gw->attempt - 1, gw->backoff_base,
		    gw->backoff_cap);
	gw->attempt++;
	if (ms > 0)
		log_info("discord", "gateway reconnect in %lld ms attempt=%d",
		    (long long)ms, gw->attempt);
	lws_sul_schedule(gw->context, 0, &gw->sul_reconnect, gw_reconnect,
	    ms * LWS_US_PER_MS);
}

static void
gw_fail(struct dc_gateway *gw, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
gw_fail(struct dc_gateway *gw, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	log_error("discord", "%s; the Discord connector stops", msg);
	pthread_mutex_lock(&gw->lock);
	free(gw->fatal);
	gw->fatal = msg;
	pthread_mutex_unlock(&gw->lock);
	gw->done = 1;
}

static void
gw_connect(struct dc_gateway *gw)
{
	struct lws_client_connect_info	 ci;
	const char			*prot, *addr, *path, *url;
	char				*copy, *full;
	int				 port;
	struct lws			*wsi;

	url = gw->session.session_id != NULL &&
	    gw->session.resume_url != NULL ? gw->session.resume_url : gw->url;
	copy = xstrdup(url);
	if (lws_parse_uri(copy, &prot, &addr, &port, &path) != 0 ||
	    (strcmp(prot, "wss") != 0 && strcmp(prot, "ws") != 0)) {
		free(copy);
		gw_fail(gw, "the gateway URL is not a ws:// or wss:// URL");
		return;
	}
	/*
	 * Discord documents the URL GET /gateway/bot returns (a host, no
	 * path: "wss://gateway.discord.gg") with "/?v=10&encoding=json"
	 * appended. lws_parse_uri gives "/" for no path and drops the
	 * leading '/' of a real one; a query of its own is replaced, as
	 * version and encoding are ours to choose.
	 */
	while (*path == '/')
		path++;
	full = xasprintf("/%.*s?v=10&encoding=json", (int)strcspn(path, "?"),
	    path);
	memset(&ci, 0, sizeof ci);
	ci.context = gw->context;
	ci.address = addr;
	ci.port = port;
	ci.ssl_connection = strcmp(prot, "wss") == 0 ? LCCSCF_USE_SSL : 0;
	ci.path = full;
	ci.host = addr;
	ci.origin = addr;
	ci.protocol = NULL;
	ci.local_protocol_name = gw_protocols[0].name;
	ci.ietf_version_or_minus_one = -1;

	buf_reset(&gw->rx);
	gw_outq_clear(gw);
	gw->close_code = 0;
	gw->peer_close = 0;
	gw->state = GW_CONNECTING;
	gw->wsi = NULL;
	log_info("discord", "gateway connecting host=%s resume=%s", addr,
	    gw->session.session_id != NULL ? "yes" : "no");
	wsi = lws_client_connect_via_info(&ci);
	free(full);
	free(copy);
	if (gw->state != GW_CONNECTING)
		return;		/* the error callback has run already */
	if (wsi == NULL) {
		gw->state = GW_IDLE;
		log_warn("discord", "gateway connect failed");
		gw_schedule_reconnect(gw);
		return;
	}
	gw->wsi = wsi;
}

static const char *
gw_close_name(int code)
{
	switch (code) {
	case 4000: return "Unknown error";
	case 4001: return "Unknown opcode";
	case 4002: return "Decode error";
	case 4003: return "Not authenticated";
	case 4004: return "Authentication failed";
	case 4005: return "Already authenticated";
	case 4007: return "Invalid seq";
	case 4008: return "Rate limited";
	case 4009: return "Session timed out";
	case 4010: return "Invalid shard";
	case 4011: return "Sharding required";
	case 4012: return "Invalid API version";
	case 4013: return "Invalid intents";
	case 4014: return "Disallowed intents";
	default: return "connection closed";
	}
}

/* The connection is gone: decide between the end, Resume and Identify. */
static void
gw_gone(struct dc_gateway *gw, const char *why)
{
	int	 code = gw->peer_close;

	if (gw->state == GW_IDLE)
		return;
	gw->state = GW_IDLE;
	gw->wsi = NULL;
	gw_outq_clear(gw);
	buf_reset(&gw->rx);
	lws_sul_cancel(&gw->sul_beat);
	lws_sul_cancel(&gw->sul_identify);
	if (atomic_load(&gw->stop) || gw->done)
		return;
	switch (code) {
	case 4004:
		gw_fail(gw, "Discord rejected the bot token (gateway close "
		    "code 4004 Authentication failed): check discord.token "
		    "(Developer Portal > Bot > Reset Token)");
		return;
	case 4014:
		gw_fail(gw, "Discord refused the gateway intents (close code "
		    "4014 Disallowed intents): enable the MESSAGE CONTENT "
		    "intent in the Developer Portal (Bot > Privileged Gateway "
		    "Intents)");
		return;
	case 4010:
	case 4011:
	case 4012:
	case 4013:
		gw_fail(gw, "Discord closed the gateway for good (close code "
		    "%d %s)", code, gw_close_name(code));
		return;
	case 4007:
	case 4009:
		/* The session cannot be resumed: identify afresh. */
		gw_session_clear(&gw->session);
		break;
	}
	if (code != 0)
		log_warn("discord", "gateway closed code=%d (%s), reconnecting",
		    code, gw_close_name(code));
	else
		log_warn("discord", "gateway connection lost (%s), "
		    "reconnecting", why);
	gw_schedule_reconnect(gw);
}

/*
 * A READY's session id or resume URL as the saved offset can hold it
 * ("SEQ SESSION URL"): a non-empty word of at most 512 printable bytes
 * with no NUL; the URL a ws:// or wss:// one (Discord's is wss://; the
 * test fake's on loopback is ws://). Anything else is no value (a resume
 * then goes through the gateway URL, or a new session is made).
 */
static const char *
gw_token(json_t *v, int url)
{
	const char	*s = json_string_value(v);
	size_t		 len, i;

	if (s == NULL || (len = strlen(s)) == 0 || len > 512 ||
	    len != json_string_length(v) || (url &&
	    strncmp(s, "wss://", 6) != 0 && strncmp(s, "ws://", 5) != 0))
		return NULL;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return NULL;
	}
	return s;
}

static void
gw_on_dispatch(struct dc_gateway *gw, const char *type, json_t *d)
{
	if (strcmp(type, "READY") == 0) {
		const char	*sid, *rurl;

		sid = gw_token(json_object_get(d, "session_id"), 0);
		rurl = gw_token(json_object_get(d, "resume_gateway_url"), 1);
		free(gw->session.session_id);
		free(gw->session.resume_url);
		gw->session.session_id = sid != NULL ? xstrdup(sid) : NULL;
		gw->session.resume_url = rurl != NULL ? xstrdup(rurl) : NULL;
		gw->attempt = 0;
		log_info("discord", "gateway ready");
	} else if (strcmp(type, "RESUMED") == 0) {
		gw->attempt = 0;
		log_info("discord", "gateway resumed seq=%lld",
		    (long long)gw->session.seq);
	}
	gw->dispatch(gw->arg, type, d, &gw->session);
}

static void
gw_on_frame(struct dc_gateway *gw, const char *text, size_t len)
{
	json_t		*p, *d, *s;
	json_error_t	 err;
	int		 op;
	int64_t		 ms;

	/* NUL in a string is the receiver's business, not a bad frame. */
	if ((p = json_loadb(text, len, JSON_ALLOW_NUL, &err)) == NULL ||
	    !json_is_integer(json_object_get(p, "op"))) {
		const char	*at = memmem(text, len, "\"s\":", 4);
		int64_t		 seq = 0;

		/* Skipped, and named in the audit by its sequence when the
		 * text shows it; the sequence moves on with the next one. */
		if (at != NULL)
			seq = strtoll(at + 4, NULL, 10);
		log_warn("discord", "gateway sent a frame that is not a "
		    "payload, skipped seq=%lld", (long long)seq);
		if (seq > gw->session.seq)
			gw->session.seq = seq;
		gw->dispatch(gw->arg, GW_UNREADABLE, NULL, &gw->session);
		json_decref(p);
		return;
	}
	op = (int)json_integer_value(json_object_get(p, "op"));
	d = json_object_get(p, "d");
	s = json_object_get(p, "s");
	switch (op) {
	case 0:
		/*
		 * The sequence only moves on (it is the offset saved with the
		 * work, and a resume replays what follows it), except that a
		 * READY starts a session and its numbering.
		 */
		if (json_is_integer(s) && json_integer_value(s) >= 0 &&
		    (json_integer_value(s) > gw->session.seq ||
		    (json_is_string(json_object_get(p, "t")) &&
		    strcmp(json_string_value(json_object_get(p, "t")),
		    "READY") == 0)))
			gw->session.seq = json_integer_value(s);
		if (json_is_string(json_object_get(p, "t")))
			gw_on_dispatch(gw, json_string_value(
			    json_object_get(p, "t")), d);
		break;
	case 1:		/* the server asks for a beat now */
		gw_heartbeat_send(gw);
		break;
	case 7:
		log_info("discord", "gateway asked to reconnect (op 7)");
		gw_close(gw, GW_CLOSE_RESUME);
		break;
	case 9:
		if (json_is_true(d) && gw->session.session_id != NULL) {
			log_info("discord", "gateway invalid session "
			    "(resumable), resuming");
			gw_close(gw, GW_CLOSE_RESUME);
			break;
		}
		gw_session_clear(&gw->session);
		ms = 1000 + (int64_t)(random_u64() % 4001);
		log_info("discord", "gateway invalid session, identify in "
		    "%lld ms", (long long)ms);
		if (gw->context != NULL)	/* none in a feed */
			lws_sul_schedule(gw->context, 0, &gw->sul_identify,
			    gw_identify_later, ms * LWS_US_PER_MS);
		break;
	case 10:
		ms = (int64_t)json_integer_value(json_object_get(d,
		    "heartbeat_interval"));
		if (ms <= 0 || ms > 3600 * 1000)
			ms = 41250;
		gw->interval_ms = ms;
		gw->acked = 1;
		if (gw->context != NULL)	/* none in a feed */
			lws_sul_schedule(gw->context, 0, &gw->sul_beat,
			    gw_beat, (lws_usec_t)(random_u64() %
			    (uint64_t)(ms * 1000 + 1)));
		if (gw->session.session_id != NULL)
			gw_resume(gw);
		else
			gw_identify(gw);
		break;
	case 11:
		gw->acked = 1;
		metric_connector("discord", 1);
		break;
	default:
		break;
	}
	json_decref(p);
}

static int
gw_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct dc_gateway	*gw;
	struct gw_frame		*f;
	const unsigned char	*c = in;

	gw = lws_context_user(lws_get_context(wsi));
	if (gw == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (gw->state != GW_CONNECTING)
			return -1;
		gw->wsi = wsi;
		gw->state = GW_OPEN;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (wsi != gw->wsi)
			break;
		if (buf_append(&gw->rx, in, len) != 0) {
			log_warn("discord", "gateway frame over %d bytes, "
			    "reconnecting", GW_FRAME_MAX);
			buf_reset(&gw->rx);
			gw_close(gw, GW_CLOSE_RESUME);
			break;
		}
		if (lws_is_final_fragment(wsi) &&
		    lws_remaining_packet_payload(wsi) == 0) {
			gw_on_frame(gw, buf_cstr(&gw->rx), gw->rx.len);
			buf_reset(&gw->rx);
		}
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (wsi != gw->wsi)
			break;
		if (gw->close_code != 0) {
			lws_close_reason(wsi, (enum lws_close_status)
			    gw->close_code, (unsigned char *)"pvebot", 6);
			return -1;
		}
		if ((f = gw->outq) == NULL)
			break;
		gw->outq = f->next;
		if (gw->outq == NULL)
			gw->outq_tail = &gw->outq;
		if (lws_write(wsi, f->data + LWS_PRE, f->len,
		    LWS_WRITE_TEXT) < (int)f->len) {
			free(f);
			return -1;
		}
		free(f);
		if (gw->outq != NULL)
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (wsi == gw->wsi && len >= 2)
			gw->peer_close = (c[0] << 8) | c[1];
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (gw->state == GW_CONNECTING ||
		    (gw->wsi == wsi && wsi != NULL))
			gw_gone(gw, in != NULL ? (const char *)in :
			    "connection error");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
	case LWS_CALLBACK_WSI_DESTROY:
		if (wsi == gw->wsi)
			gw_gone(gw, "closed");
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (atomic_load(&gw->stop) && gw->wsi != NULL)
			gw_close(gw, GW_CLOSE_RESUME);
		break;
	default:
		break;
	}
	return 0;
}

static void
gw_stop_timer(lws_sorted_usec_list_t *sul)
{
	/* Only wakes the loop so it sees the stop deadline. */
}

static void *
gw_thread(void *arg)
{
	struct dc_gateway	*gw = arg;
	int			 stopping = 0;

	gw_connect(gw);
	while (!gw->done) {
		lws_service(gw->context, 0);
		if (atomic_load(&gw->stop)) {
			if (!stopping) {
				stopping = 1;
				gw->stop_deadline = now_ms() + 1000;
				if (gw->wsi != NULL)
					gw_close(gw, GW_CLOSE_RESUME);
				lws_sul_schedule(gw->context, 0, &gw->sul_stop,
				    gw_stop_timer, 1000 * LWS_US_PER_MS);
			}
			if (gw->wsi == NULL || now_ms() >= gw->stop_deadline)
				break;
		}
	}
	lws_sul_cancel(&gw->sul_beat);
	lws_sul_cancel(&gw->sul_reconnect);
	lws_sul_cancel(&gw->sul_identify);
	lws_sul_cancel(&gw->sul_stop);
	return NULL;
}

struct dc_gateway *
dc_gateway_create(const char *token, dc_dispatch_cb dispatch, void *arg)
{
	struct dc_gateway	*gw = xcalloc(1, sizeof *gw);

	gw->token = xstrdup(token);
	gw->dispatch = dispatch;
	gw->arg = arg;
	pthread_mutex_init(&gw->lock, NULL);
	buf_init(&gw->rx, GW_FRAME_MAX);
	gw->outq_tail = &gw->outq;
	gw->backoff_base = 1000;
	gw->backoff_cap = 60000;
	atomic_init(&gw->stop, 0);
	return gw;
}

void
dc_gateway_set_backoff(struct dc_gateway *gw, int64_t base_ms,
    int64_t cap_ms)
{
	gw->backoff_base = base_ms;
	gw->backoff_cap = cap_ms;
}

int
dc_gateway_start(struct dc_gateway *gw, const char *url,
    const struct dc_session *saved, char **cause)
{
	struct lws_context_creation_info	 info;

	if (gw->started)
		return set_cause(cause, "the gateway is already running");
	lws_set_log_level(LLL_ERR, gw_lws_log);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = gw_protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.user = gw;
	info.gid = -1;
	info.uid = -1;
	if ((gw->context = lws_create_context(&info)) == NULL)
		return set_cause(cause, "cannot create the libwebsockets "
		    "context");
	free(gw->url);
	gw->url = xstrdup(url);
	gw_session_clear(&gw->session);
	if (saved != NULL && saved->session_id != NULL &&
	    saved->resume_url != NULL) {
		gw->session.session_id = xstrdup(saved->session_id);
		gw->session.resume_url = xstrdup(saved->resume_url);
		gw->session.seq = saved->seq;
	}
	atomic_store(&gw->stop, 0);
	gw->done = 0;
	if (pthread_create(&gw->thread, NULL, gw_thread, gw) != 0) {
		lws_context_destroy(gw->context);
		gw->context = NULL;
		return set_cause(cause, "cannot start the gateway thread");
	}
	gw->started = 1;
	return 0;
}

void
dc_gateway_stop(struct dc_gateway *gw)
{
	if (gw == NULL || !gw->started)
		return;
	atomic_store(&gw->stop, 1);
	lws_cancel_service(gw->context);
	pthread_join(gw->thread, NULL);
	gw->started = 0;
	lws_context_destroy(gw->context);
	gw->context = NULL;
	gw->wsi = NULL;
	gw->state = GW_IDLE;
	gw_outq_clear(gw);
}

char *
dc_gateway_fatal(struct dc_gateway *gw)
{
	char	*s = NULL;

	pthread_mutex_lock(&gw->lock);
	if (gw->fatal != NULL)
		s = xstrdup(gw->fatal);
	pthread_mutex_unlock(&gw->lock);
	return s;
}

void
dc_gateway_free(struct dc_gateway *gw)
{
	if (gw == NULL)
		return;
	dc_gateway_stop(gw);
	free(gw->token);
	free(gw->url);
	free(gw->fatal);
	gw_session_clear(&gw->session);
	buf_release(&gw->rx);
	pthread_mutex_destroy(&gw->lock);
	free(gw);
}

/*
 * For tests and fuzzing (chat_feed.h): the frame as LWS_CALLBACK_CLIENT_
 * RECEIVE takes a final fragment. There is no libwebsockets context (a
 * context per connector made the fuzz target wait in libwebsockets most
 * of its time): what a frame would schedule (heartbeats, a delayed
 * identify) is not scheduled.
 */
int
dc_gateway_feed(struct dc_gateway *gw, const char *frame, size_t len)
{
	if (gw->started)
		return -1;
	if (buf_append(&gw->rx, frame, len) != 0) {
		log_warn("discord", "gateway frame over %d bytes, "
		    "reconnecting", GW_FRAME_MAX);
		buf_reset(&gw->rx);
		gw_close(gw, GW_CLOSE_RESUME);
		return 0;
	}
	gw_on_frame(gw, buf_cstr(&gw->rx), gw->rx.len);
	buf_reset(&gw->rx);
	return 0;
}
