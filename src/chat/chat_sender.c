/*
 * chat_sender.c - one sender thread per connector: it alone delivers
 * that connector's outbox (outbox.h) and owns pacing, 429 retry_after,
 * backoff on temporary failures and the coalescing of edits.
 *
 * Guarantees:
 * - Nobody else waits on the platform for output: the router, workers
 *   and monitor write rows and go on; the store wakes the sender after
 *   their transaction commits (store_set_outbox_hook).
 * - Rooms are independent: a room that waits (pacing, a 429 for that
 *   room, a failing send) never holds back another room. In a room,
 *   messages go out in the order they were written.
 * - A row is marked sent only after the platform acknowledged it, so a
 *   crash at any point re-sends what was not acknowledged (the Matrix
 *   connector's transaction ids make that idempotent there).
 * - Temporary failures (network, 5xx, 429) are retried with jittered
 *   backoff, never faster than the platform's retry_after, for up to
 *   OUTBOX_GIVE_UP_S; permanent ones are not retried: an edit the
 *   platform refuses becomes a new message with the newest content, a
 *   send it refuses is marked failed, logged and audited.
 * - Stopping drains what is due for a bounded time, then leaves the
 *   rest for the next start.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "fault.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "util.h"

#define OUTBOX_GIVE_UP_S	(24 * 3600)	/* a message this old fails */
#define ANSWER_GIVE_UP_S	60		/* a button answer is late */
#define SENDER_BACKOFF_BASE	500
#define SENDER_BACKOFF_CAP	(5 * 60 * 1000)
#define ROOMS_PRUNE		512

struct room_pace {
	char	*room;
	int64_t	 next_ms;	/* monotonic: the room may be sent to */
};

struct chat_sender {
	struct connector	*conn;
	char			*db_path;
	pthread_t		 thread;
	int			 started;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 kicked;
	int			 stop;
	int64_t			 drain_until;	/* monotonic ms */
	struct chat_sender	*next;		/* the registry */
	struct room_pace	*rooms;
	size_t			 nrooms;
	int64_t			 global_next;	/* monotonic ms */
	atomic_int_fast64_t	 sent;		/* deliveries, for tests */
	/* Under lock: commits announced, and how many of them the sender
	 * has seen through to the end (chat_sender_settle). */
	int64_t			 written;
	int64_t			 settled;
	pthread_cond_t		 settled_cond;
};

/* Every running sender, so the store's hook finds them by name. */
static pthread_mutex_t		 registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct chat_sender	*registry;

void
chat_sender_notify(const char *connector)
{
	struct chat_sender	*s;

	pthread_mutex_lock(&registry_lock);
	for (s = registry; s != NULL; s = s->next) {
		/* "": every connector (what another instance wrote while
		 * the listener was away). */
		if (*connector != '\0' &&
		    strcmp(s->conn->ops->name, connector) != 0)
			continue;
		pthread_mutex_lock(&s->lock);
		s->kicked = 1;
		s->written++;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&registry_lock);
}

static struct room_pace *
room_of(struct chat_sender *s, const char *room)
{
	size_t	 i;
	int64_t	 now = now_ms();

	for (i = 0; i < s->nrooms; i++) {
		if (strcmp(s->rooms[i].room, room) == 0)
			return &s->rooms[i];
	}
	if (s->nrooms >= ROOMS_PRUNE) {
		/* Forget rooms whose wait is over: they start afresh. */
		size_t	 k = 0;

		for (i = 0; i < s->nrooms; i++) {
			if (s->rooms[i].next_ms > now)
				s->rooms[k++] = s->rooms[i];
			else
				free(s->rooms[i].room);
		}
		s->nrooms = k;
	}
	s->rooms = xreallocarray(s->rooms, s->nrooms + 1, sizeof *s->rooms);
	s->rooms[s->nrooms].room = xstrdup(room);
	s->rooms[s->nrooms].next_ms = 0;
	return &s->rooms[s->nrooms++];
}

static int64_t
pace_of(struct connector *c, const char *room)
{
	return c->ops->pace_ms != NULL ? c->ops->pace_ms(c, room) : 0;
}

static int64_t
retry_after_of(struct connector *c)
{
	return c->ops->retry_after != NULL ? c->ops->retry_after(c) : 0;
}

/* One attempt; *ref gets a new message's ref (caller frees). */
static int
attempt(struct connector *c, const struct outbox_item *it, char **ref,
    char **cause)
{
	struct chat_msg	 msg;
	char		 key[32];

	*ref = NULL;
	if (it->kind == OUTBOX_ANSWER) {
		if (c->ops->answer == NULL || it->ev == NULL)
			return CHAT_OK;
		return c->ops->answer(c, it->ev, it->msg.text, cause);
	}
	if (it->ref != NULL) {
		if (c->ops->edit == NULL)
			return c->ops->send(c, it->room, &it->msg, ref, cause);
		return c->ops->edit(c, it->room, it->ref, &it->msg, cause);
	}
	/* A new message is named by its row, whatever its content now. */
	snprintf(key, sizeof key, "outbox.%" PRId64, it->id);
	msg = it->msg;
	msg.key = key;
	if (it->ev != NULL && c->ops->reply != NULL)
		return c->ops->reply(c, it->ev, &msg, ref, cause);
	return c->ops->send(c, it->room, &msg, ref, cause);
}

static void
audit_undelivered(struct store *st, const struct outbox_item *it,
    const char *why)
{
	char	*detail;

	detail = xasprintf("connector=%s room=%s outbox=%" PRId64 " label=%s "
	    "error=%.300s", it->connector, it->room, it->id,
	    it->label != NULL ? it->label : "-", why);
	if (store_begin(st) == 0) {
		audit_append(st, "pvebot", "chat.undelivered", detail);
		store_commit(st);
	}
	free(detail);
}

/* Delivers one row and records the outcome: the attempt's CHAT_ code. */
static int
deliver(struct chat_sender *s, struct store *st, struct outbox_item *it)
{
	struct connector	*c = s->conn;
	struct room_pace	*rp = NULL;
	char			*ref = NULL, *cause = NULL;
	int64_t			 hold, wait, age;
	int			 rc;

	if (it->kind == OUTBOX_MESSAGE)
		rp = room_of(s, it->room);
	rc = attempt(c, it, &ref, &cause);
	hold = rc == CHAT_TEMPORARY ? retry_after_of(c) : 0;
	if (rp != NULL)
		rp->next_ms = now_ms() + pace_of(c, it->room);
	age = wall_now() - it->created_at;
	switch (rc) {
	case CHAT_OK:
		fault_point("send.done");
		outbox_sent(st, it, ref);
		atomic_fetch_add(&s->sent, 1);
		log_debug("sender", "delivered connector=%s room=%s outbox=%"
		    PRId64 " version=%" PRId64, c->ops->name, it->room, it->id,
		    it->version);
		break;
	case CHAT_TEMPORARY:
		if (age > (it->kind == OUTBOX_ANSWER ? ANSWER_GIVE_UP_S :
		    OUTBOX_GIVE_UP_S)) {
			log_error("sender", "giving up connector=%s room=%s "
			    "outbox=%" PRId64 " after %d attempts: %s",
			    c->ops->name, it->room, it->id, it->attempts + 1,
			    cause != NULL ? cause : "?");
			outbox_failed(st, it, cause);
			audit_undelivered(st, it, cause != NULL ? cause : "?");
			break;
		}
		wait = chat_backoff_ms(it->attempts, SENDER_BACKOFF_BASE,
		    SENDER_BACKOFF_CAP);
		if (hold > wait)
			wait = hold;
		if (rp != NULL && now_ms() + wait > rp->next_ms)
			rp->next_ms = now_ms() + wait;
		log_warn("sender", "will retry connector=%s room=%s outbox=%"
		    PRId64 " in %" PRId64 "ms (attempt %d): %s", c->ops->name,
		    it->room, it->id, wait, it->attempts + 1,
		    cause != NULL ? cause : "?");
		outbox_retry(st, it, wall_now_ms() + wait, cause);
		break;
	default:
		if (it->kind == OUTBOX_MESSAGE && it->ref != NULL) {
			/* Gone or too old to edit: post it anew. */
			log_warn("sender", "cannot edit connector=%s room=%s "
			    "outbox=%" PRId64 ", sending it as a new message: "
			    "%s", c->ops->name, it->room, it->id,
			    cause != NULL ? cause : "?");
			outbox_forget_ref(st, it);
			break;
		}
		log_error("sender", "not delivered connector=%s room=%s outbox=%"
		    PRId64 ": %s", c->ops->name, it->room, it->id,
		    cause != NULL ? cause : "?");
		outbox_failed(st, it, cause);
		if (it->kind == OUTBOX_MESSAGE)
			audit_undelivered(st, it, cause != NULL ? cause : "?");
		break;
	}
	free(ref);
	free(cause);
	return rc;
}

/* Waits for a kick, until `until_ms` (monotonic); 1 when told to stop. */
static int
sleep_until(struct chat_sender *s, int64_t until_ms)
{
	int	 stop;

	pthread_mutex_lock(&s->lock);
	while (!s->kicked && !s->stop) {
		int64_t		 left = until_ms - now_ms();
		struct timespec	 ts;
		int64_t		 wake;

		if (left <= 0)
			break;
		wake = wall_now_ms() + left;
		ts.tv_sec = wake / 1000;
		ts.tv_nsec = (wake % 1000) * 1000000;
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	s->kicked = 0;
	stop = s->stop;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

static void *
sender_main(void *arg)
{
	struct chat_sender	*s = arg;
	struct store		*st;
	char			*cause = NULL;
	int64_t			 idle_wait = 60000;

	if ((st = store_open(s->db_path, &cause)) == NULL) {
		log_error("sender", "connector=%s cannot open the store: %s",
		    s->conn->ops->name, cause);
		free(cause);
		return NULL;
	}
	for (;;) {
		struct outbox_item	*items = NULL;
		size_t			 n = 0, i;
		int64_t			 next_wall = 0, wake, stopping, seen;
		int			 again = 0;

		pthread_mutex_lock(&s->lock);
		stopping = s->stop;
		s->kicked = 0;
		seen = s->written;
		pthread_mutex_unlock(&s->lock);
		if (stopping && now_ms() >= s->drain_until)
			break;
		if (outbox_due(st, s->conn->ops->name, wall_now_ms(), &items,
		    &n, &next_wall) != 0) {
			log_warn("sender", "connector=%s cannot read the outbox",
			    s->conn->ops->name);
			again = -1;	/* not settled; the next kick looks */
		}
		wake = now_ms() + idle_wait;
		if (next_wall > 0 && now_ms() + (next_wall - wall_now_ms()) <
		    wake)
			wake = now_ms() + (next_wall - wall_now_ms());
		for (i = 0; i < n; i++) {
			struct outbox_item	*it = &items[i];
			int64_t			 gap;

			if (it->kind == OUTBOX_MESSAGE) {
				struct room_pace *rp = room_of(s, it->room);

				if (rp->next_ms > now_ms()) {
					if (rp->next_ms < wake)
						wake = rp->next_ms;
					if (again == 0)
						again = -1;	/* waits */
					continue;
				}
			}
			/* The platform's overall limit: a short wait. */
			if ((gap = s->global_next - now_ms()) > 0)
				sleep_ms(gap);
			/*
			 * Another look is needed when a row of its room now
			 * heads it or this one changed its place in time;
			 * rows written meanwhile kick (sleep_until returns).
			 */
			if (deliver(s, st, it) != CHAT_OK || it->more)
				again = 1;
			s->global_next = now_ms() + pace_of(s->conn, NULL);
			pthread_mutex_lock(&s->lock);
			stopping = s->stop && now_ms() >= s->drain_until;
			pthread_mutex_unlock(&s->lock);
			if (stopping) {
				again = -1;
				break;
			}
		}
		outbox_items_free(items, n);
		if (again == 1)
			continue;
		if (again == 0 && next_wall == 0) {
			/* All written before `seen` is delivered. */
			pthread_mutex_lock(&s->lock);
			s->settled = seen;
			pthread_cond_broadcast(&s->settled_cond);
			pthread_mutex_unlock(&s->lock);
		}
		pthread_mutex_lock(&s->lock);
		stopping = s->stop;
		pthread_mutex_unlock(&s->lock);
		if (stopping) {
			/* Draining: stop once nothing is due before the end. */
			if (n == 0 && (next_wall == 0 || now_ms() + (next_wall -
			    wall_now_ms()) > s->drain_until))
				break;
			if (wake > s->drain_until)
				wake = s->drain_until;
		}
		sleep_until(s, wake);
	}
	store_close(st);
	return NULL;
}

int
chat_sender_flush(struct connector *c, struct store *st)
{
	struct chat_sender	 s;
	struct outbox_item	*items;
	size_t			 n, i, k;
	int64_t			 next;
	int			 total = 0, round;

	memset(&s, 0, sizeof s);
	s.conn = c;
	for (round = 0; round < 100; round++) {
		if (outbox_due(st, c->ops->name, wall_now_ms(), &items, &n,
		    &next) != 0 || n == 0) {
			outbox_items_free(items, n);
			break;
		}
		for (i = 0; i < n; i++)
			deliver(&s, st, &items[i]);
		total += (int)n;
		outbox_items_free(items, n);
	}
	for (k = 0; k < s.nrooms; k++)
		free(s.rooms[k].room);
	free(s.rooms);
	return total;
}

struct chat_sender *
chat_sender_start(struct connector *c, const char *db_path, char **cause)
{
	struct chat_sender	*s = xcalloc(1, sizeof *s);

	s->conn = c;
	s->db_path = xstrdup(db_path);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_cond_init(&s->settled_cond, NULL);
	atomic_init(&s->sent, 0);
	pthread_mutex_lock(&registry_lock);
	s->next = registry;
	registry = s;
	pthread_mutex_unlock(&registry_lock);
	if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
		set_cause(cause, "cannot start the %s sender thread",
		    c->ops->name);
		chat_sender_free(s);
		return NULL;
	}
	s->started = 1;
	atomic_store(&c->sender, s);
	return s;
}

int64_t
chat_sender_delivered(struct chat_sender *s)
{
	return atomic_load(&s->sent);
}

int
chat_sender_settle(struct chat_sender *s, int64_t deadline_ms)
{
	int64_t	 target;
	int	 done;

	pthread_mutex_lock(&s->lock);
	target = s->written;
	while (s->settled < target && !s->stop) {
		int64_t		 left = deadline_ms - now_ms(), wake;
		struct timespec	 ts;

		if (left <= 0)
			break;
		wake = wall_now_ms() + left;
		ts.tv_sec = wake / 1000;
		ts.tv_nsec = (wake % 1000) * 1000000;
		pthread_cond_timedwait(&s->settled_cond, &s->lock, &ts);
	}
	done = s->settled >= target ? 1 : s->stop ? -1 : 0;
	pthread_mutex_unlock(&s->lock);
	return done;
}

static void
unregister(struct chat_sender *s)
{
	struct chat_sender	**pp;

	pthread_mutex_lock(&registry_lock);
	for (pp = &registry; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

void
chat_sender_stop(struct chat_sender *s, int64_t drain_ms)
{
	if (s == NULL || !s->started)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->stop) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	s->stop = 1;
	s->drain_until = now_ms() + drain_ms;
	pthread_cond_signal(&s->cond);
	pthread_cond_broadcast(&s->settled_cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	unregister(s);
}

void
chat_sender_free(struct chat_sender *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	chat_sender_stop(s, 0);
	unregister(s);
	for (i = 0; i < s->nrooms; i++)
		free(s->rooms[i].room);
	free(s->rooms);
	pthread_mutex_destroy(&s->lock);
	if (atomic_load(&s->conn->sender) == s)
		atomic_store(&s->conn->sender, NULL);
	pthread_cond_destroy(&s->cond);
	pthread_cond_destroy(&s->settled_cond);
	free(s->db_path);
	free(s);
}
