/*
 * chat_matrix_priv.h - what the two halves of the Matrix connector share:
 * chat_matrix.c (set-up, the /sync loop, invites, encrypted rooms, turning
 * timeline events into chat events) and chat_matrix_send.c (requests
 * through net_http.h, the outbox with its transaction ids, sends, edits,
 * replies and reactions). Nothing outside src/chat/ includes this file.
 */
#ifndef PVEBOT_CHAT_MATRIX_PRIV_H
#define PVEBOT_CHAT_MATRIX_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "chat.h"
#include "chat_feed.h"

#define MX_BODY_CAP		(4 * 1024 * 1024)	/* any reply body */
#define MX_TEXT_CAP		(16 * 1024)	/* a command's text */
#define MX_REQUEST_TIMEOUT_MS	30000
#define MX_SEND_INTERVAL_MS	100		/* per room */

struct net_http;
struct store;

/* A configured room: as written in bot.conf and as the server knows it. */
struct mx_room {
	char	*name;		/* "!id:hs" or "#alias:hs", as configured */
	char	*id;		/* room id once known; NULL until resolved */
	int	 commands;	/* commands are served here */
	int	 joined;	/* joined member count from sync; 0 unknown */
	int	 encrypted;	/* m.room.encryption seen */
};

struct matrix {
	struct connector	 conn;
	const struct chat_ctx	*ctx;

	char			*homeserver;	/* no trailing slash */
	char			*user_id;
	struct net_http		*http;	/* the homeserver, token header */
	int64_t			 sync_timeout_ms;

	pthread_mutex_t		 rooms_lock;	/* ids and flags below */
	struct mx_room		*rooms;
	size_t			 nrooms;

	int64_t			 retry_after_ms; /* sender thread */
	char			*db_path;
	pthread_mutex_t		 out_lock;	/* out_store */
	struct store		*out_store;	/* outbox, buttons; lazy */

	pthread_t		 thread;
	int			 running;
	atomic_int		 stopping;
	pthread_mutex_t		 wait_lock;
	pthread_cond_t		 wait_cond;

	/* Tests and fuzzing (chat_feed.h): requests answered by feed_http,
	 * the sync state kept between feeds. */
	chat_feed_http		 feed_http;
	void			*feed_arg;
	struct mx_sync		*feed_sync;
};

/* One HTTP exchange with the homeserver. */
struct mx_reply {
	long	 status;	/* 0 when no reply came (network) */
	json_t	*json;		/* the body when it was JSON */
	char	*errcode;	/* "M_LIMIT_EXCEEDED", ... or NULL */
	char	*error;		/* the server's sentence, or NULL */
	int64_t	 retry_after_ms;
	char	 net_error[256];
};

/* Set on the receiving thread: its requests end when stop() is called. */
extern _Thread_local int mx_on_sync_thread;

/*
 * Runs one request. `path` starts with "/_matrix/" and has its segments
 * escaped (net_http_escape). `body` may be NULL. Returns 0 when a reply came
 * (any status), -1 when none did (net_error says why) or the stop flag
 * cut a request of the receiving thread short.
 */
int	mx_http(struct matrix *, const char *method, const char *path,
	    json_t *body, int64_t timeout_ms, struct mx_reply *);
void	mx_reply_clear(struct mx_reply *);
/* Fills r->json, errcode, error and retry_after_ms from a reply body. */
void	mx_reply_body(struct mx_reply *, const char *body, size_t len);
/* CHAT_OK for 2xx, CHAT_TEMPORARY for none/429/5xx, else permanent. */
int	mx_classify(const struct mx_reply *);
/* "WHAT failed: HTTP 403 M_FORBIDDEN (text)"; caller frees. */
char	*mx_reply_cause(const char *what, const struct mx_reply *);

/* Room id for a configured name or a room id; NULL with *cause. */
char	*mx_room_id(struct matrix *, const char *room, char **cause);

/*
 * Sends one event with a transaction id recorded in chat_outbox before
 * the first try; a pending row with the same room and content is reused,
 * so a retry after a lost reply never posts twice. *event_id is set on
 * CHAT_OK (caller frees).
 */
int	mx_put_event(struct matrix *, const char *room_id, const char *type,
	    json_t *content, char **event_id, char **cause);
/* The same, for a message the sender names by `key` (chat_msg.key): see
 * mx_outbox_claim(); *stale (may be NULL) is set when the event may show
 * the content of an earlier attempt. */
int	mx_put_event_keyed(struct matrix *, const char *room_id,
	    const char *type, json_t *content, const char *key,
	    char **event_id, int *stale, char **cause);
/* A one-line m.notice in a room (the encrypted-room notice). */
int	mx_notice(struct matrix *, const char *room_id, const char *text,
	    char **cause);
/* The button whose emoji a reaction used on msg_ref; caller frees. */
char	*mx_button_lookup(struct store *, const char *room_id,
	    const char *msg_ref, const char *key);

/* connector_ops entries that live in chat_matrix_send.c. */
int	mx_op_send(struct connector *, const char *room,
	    const struct chat_msg *, char **ref, char **cause);
int	mx_op_edit(struct connector *, const char *room, const char *ref,
	    const struct chat_msg *, char **cause);
int	mx_op_reply(struct connector *, const struct chat_event *,
	    const struct chat_msg *, char **ref, char **cause);
int64_t	mx_op_pace_ms(struct connector *, const char *room);
int64_t	mx_op_retry_after(struct connector *);
int	mx_op_answer(struct connector *, const struct chat_event *,
	    const char *text, char **cause);

#endif
