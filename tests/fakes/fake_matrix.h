/*
 * fake_matrix.h - a fake Matrix homeserver on 127.0.0.1 speaking the
 * subset of the client-server API v3 that pvebot uses, with the real JSON
 * shapes: whoami, filter upload, /sync (since/next_batch, the filter's
 * rooms, types and limit applied, long-poll wait), join, leave (which
 * also rejects an invite), room state,
 * directory aliases, send with transaction-id idempotency, invites; and
 * what a real server refuses (unknown token -> 401 M_UNKNOWN_TOKEN, a
 * message without msgtype/body, sends to rooms the user is not in, a
 * duplicate annotation). Faults can be injected per endpoint.
 *
 * Tests inject messages and reactions as other users and read what the
 * bot sent. Every function is thread-safe.
 */
#ifndef PVEBOT_FAKE_MATRIX_H
#define PVEBOT_FAKE_MATRIX_H

#include <stdint.h>

#include <jansson.h>

struct fake_matrix;

/* Starts a homeserver named `server` ("hs.test") whose bot is bot_user
 * with access token bot_token. NULL on failure (reported on stderr). */
struct fake_matrix *fake_matrix_start(const char *server,
		    const char *bot_user, const char *bot_token);
void		 fake_matrix_stop(struct fake_matrix *);
const char	*fake_matrix_url(const struct fake_matrix *);
/* Another valid token, owned by `user` (a mismatched-user test). */
void		 fake_matrix_add_token(struct fake_matrix *, const char *token,
		    const char *user);

/* Creates a room with `creator` joined; alias may be NULL. */
void	fake_matrix_room(struct fake_matrix *, const char *room_id,
	    const char *alias, const char *creator);
/* Publishes alias for room_id in the room directory (GET /directory/room
 * resolves it from now on); the room's own state is not changed. */
void	fake_matrix_alias(struct fake_matrix *, const char *room_id,
	    const char *alias);
/* A state event (type, state_key) by sender; `content` is stolen. What a
 * room's admin may set, such as an m.room.canonical_alias claiming an
 * alias the directory does not give to the room. */
void	fake_matrix_state(struct fake_matrix *, const char *room_id,
	    const char *sender, const char *type, const char *state_key,
	    json_t *content);
/* Turns end-to-end encryption on (an m.room.encryption state event). */
void	fake_matrix_encrypt(struct fake_matrix *, const char *room_id,
	    const char *sender);
/* Membership changes, as events in the room. */
void	fake_matrix_join(struct fake_matrix *, const char *room_id,
	    const char *user);
void	fake_matrix_invite(struct fake_matrix *, const char *room_id,
	    const char *inviter, const char *invitee);
/* The user's membership ("join", "invite", ...), NULL if none; static. */
const char *fake_matrix_membership(struct fake_matrix *,
	    const char *room_id, const char *user);

/* Injects an event by sender; returns its event id (caller frees).
 * ts_ms 0 means now. `content` is stolen. */
char	*fake_matrix_inject(struct fake_matrix *, const char *room_id,
	    const char *sender, const char *type, json_t *content,
	    int64_t ts_ms);
/*
 * An event exactly as given (stolen), malformed ones included: how tests
 * make the homeserver send what it should not. Returns its event_id if
 * it has one (caller frees).
 */
char	*fake_matrix_inject_raw(struct fake_matrix *, const char *room_id,
	    json_t *ev);
/* An m.text message; returns the event id (caller frees). */
char	*fake_matrix_say(struct fake_matrix *, const char *room_id,
	    const char *sender, const char *body);
/* An m.reaction (m.annotation) on event_id with key. */
char	*fake_matrix_react(struct fake_matrix *, const char *room_id,
	    const char *sender, const char *event_id, const char *key);

/*
 * Events of a room (full client events with room_id), optionally only
 * those of one sender and/or type (NULL = any). Caller decrefs.
 */
json_t	*fake_matrix_events(struct fake_matrix *, const char *room_id,
	    const char *sender, const char *type);
/* Waits until at least n such events exist; returns how many do. */
int	 fake_matrix_wait_events(struct fake_matrix *, const char *room_id,
	    const char *sender, const char *type, int n, int timeout_ms);
/* Waits until the bot is long-polling with everything delivered; 0. */
int	 fake_matrix_wait_idle(struct fake_matrix *, int timeout_ms);
/* When it is: the since token of that poll ("s12") into buf, and 0;
 * -1 when it is not idle. What the bot has seen, not what it saved. */
int	 fake_matrix_idle_since(struct fake_matrix *, char *buf,
	    size_t size);

/* Faults for the next `count` requests whose method and decoded path
 * start with the given values (method NULL = any). */
enum fake_matrix_fault {
	FM_STATUS,	/* reply `status`; 429 carries retry_after_ms=param */
	FM_DROP,	/* handle the request, then close without a reply */
	FM_GARBAGE,	/* 200 with a body that is not JSON */
	FM_SLOW,	/* handle it after param milliseconds */
};
void	fake_matrix_fault(struct fake_matrix *, const char *method,
	    const char *path_prefix, enum fake_matrix_fault, int status,
	    int64_t param, int count);

/* Requests seen whose method and decoded path start so (NULL = any). */
int	 fake_matrix_requests(struct fake_matrix *, const char *method,
	    const char *path_prefix);
/* Monotonic ms times of those requests, in order (caller frees). */
/* When the last matching request answered by an injected fault came;
 * -1 if none. */
int64_t	 fake_matrix_fault_time(struct fake_matrix *, const char *method,
	    const char *path_prefix);
int64_t	*fake_matrix_request_times(struct fake_matrix *, const char *method,
	    const char *path_prefix, int *n);
/* Body of the last such request parsed as JSON, or NULL. Caller decrefs. */
json_t	*fake_matrix_last_body(struct fake_matrix *, const char *method,
	    const char *path_prefix);
/* Requests that carried ?access_token= in the URL. */
int	 fake_matrix_token_in_query(struct fake_matrix *);

#endif
