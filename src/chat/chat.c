/*
 * chat.c - what every connector shares: events, the generic wrappers
 * over connector_ops, the stale-command rule, backoff with jitter and
 * per-room pacing.
 *
 * chat_deliver() is how a final result reaches a room: temporary
 * failures (network, 5xx, 429) are retried with backoff until they
 * succeed, fail permanently or run out of patience.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "conf.h"
#include "log.h"
#include "util.h"

struct chat_event *
chat_event_new(enum chat_event_kind kind, const char *connector,
    const char *room, const char *user)
{
	struct chat_event	*ev = xcalloc(1, sizeof *ev);

	ev->kind = kind;
	ev->connector = xstrdup(connector);
	ev->room = room != NULL ? xstrdup(room) : NULL;
	ev->user = user != NULL ? xstrdup(user) : NULL;
	ev->sent_at = wall_now();
	return ev;
}

void
chat_event_free(struct chat_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->connector);
	free(ev->room);
	free(ev->user);
	free(ev->display);
	free(ev->text);
	free(ev->button_data);
	free(ev->msg_ref);
	free(ev->reply_token);
	free(ev->offset_key);
	free(ev->offset);
	free(ev);
}

int
chat_send(struct connector *c, const char *room, const struct chat_msg *msg,
    char **ref, char **cause)
{
	if (ref != NULL)
		*ref = NULL;
	return c->ops->send(c, room, msg, ref, cause);
}

int
chat_edit(struct connector *c, const char *room, const char *ref,
    const struct chat_msg *msg, char **cause)
{
	if (ref == NULL || c->ops->edit == NULL)
		return chat_send(c, room, msg, NULL, cause);
	return c->ops->edit(c, room, ref, msg, cause);
}

int
chat_reply(struct connector *c, const struct chat_event *ev,
    const struct chat_msg *msg, char **ref, char **cause)
{
	if (ref != NULL)
		*ref = NULL;
	if (c->ops->reply != NULL)
		return c->ops->reply(c, ev, msg, ref, cause);
	return c->ops->send(c, ev->room, msg, ref, cause);
}

int
chat_answer(struct connector *c, const struct chat_event *ev,
    const char *text)
{
	char	*cause = NULL;
	int	 rc = 0;

	if (c->ops->answer != NULL) {
		rc = c->ops->answer(c, ev, text, &cause);
		if (rc != CHAT_OK)
			log_warn("chat", "answer failed connector=%s: %s",
			    c->ops->name, cause != NULL ? cause : "?");
		free(cause);
	}
	return rc;
}

int
chat_deliver(struct connector *c, const char *room, const char *ref,
    const struct chat_msg *msg, char **new_ref, int64_t patience_ms)
{
	int64_t	 deadline = now_ms() + patience_ms;
	int	 attempt = 0, rc;

	for (;;) {
		char	*cause = NULL;

		if (ref != NULL)
			rc = chat_edit(c, room, ref, msg, &cause);
		else
			rc = chat_send(c, room, msg, new_ref, &cause);
		if (rc == CHAT_OK) {
			free(cause);
			return 0;
		}
		log_warn("chat", "delivery failed connector=%s room=%s "
		    "attempt=%d: %s", c->ops->name, room, attempt + 1,
		    cause != NULL ? cause : "?");
		free(cause);
		if (rc == CHAT_PERMANENT || now_ms() >= deadline)
			return -1;
		sleep_ms(chat_backoff_ms(attempt++, 500, 30000));
	}
}

void
chat_free(struct connector *c)
{
	if (c != NULL && c->ops->free != NULL)
		c->ops->free(c);
}

int
chat_is_stale(const struct conf *conf, int64_t sent_at, int64_t now)
{
	int64_t	 max_age = conf != NULL ? conf->chat.max_command_age : 300;

	if (max_age <= 0 || sent_at <= 0)
		return 0;
	return now - sent_at > max_age;
}

int64_t
chat_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms)
{
	int64_t	 top = base_ms;
	int	 i;

	for (i = 0; i < attempt && top < cap_ms; i++)
		top *= 2;
	if (top > cap_ms)
		top = cap_ms;
	if (top <= base_ms / 2)
		return top;
	return base_ms / 2 + (int64_t)(random_u64() %
	    (uint64_t)(top - base_ms / 2 + 1));
}

/*
 * Pacing: a small table of rooms and when each may next be sent to. The
 * table is bounded; the least recently used slot is reused.
 */
#define PACER_SLOTS 256

struct pacer_slot {
	char	*room;
	int64_t	 next_ms;
};

struct chat_pacer {
	pthread_mutex_t		 lock;
	struct pacer_slot	 slots[PACER_SLOTS];
	int64_t			 hold_until;
};

struct chat_pacer *
chat_pacer_create(void)
{
	struct chat_pacer	*p = xcalloc(1, sizeof *p);

	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void
chat_pacer_wait(struct chat_pacer *p, const char *room, int64_t interval_ms)
{
	struct pacer_slot	*slot = NULL, *oldest = &p->slots[0];
	int64_t			 now, at;
	size_t			 i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < PACER_SLOTS; i++) {
		struct pacer_slot	*s = &p->slots[i];

		if (s->room != NULL && strcmp(s->room, room) == 0) {
			slot = s;
			break;
		}
		if (s->room == NULL || s->next_ms < oldest->next_ms)
			oldest = s;
	}
	if (slot == NULL) {
		slot = oldest;
		free(slot->room);
		slot->room = xstrdup(room);
		slot->next_ms = 0;
	}
	now = now_ms();
	at = slot->next_ms > now ? slot->next_ms : now;
	if (p->hold_until > at)
		at = p->hold_until;
	/* Reserve the slot before sleeping so concurrent senders queue. */
	slot->next_ms = at + interval_ms;
	pthread_mutex_unlock(&p->lock);
	sleep_ms(at - now);
}

void
chat_pacer_hold(struct chat_pacer *p, int64_t ms)
{
	int64_t	 until = now_ms() + ms;

	pthread_mutex_lock(&p->lock);
	if (until > p->hold_until)
		p->hold_until = until;
	pthread_mutex_unlock(&p->lock);
}

void
chat_pacer_free(struct chat_pacer *p)
{
	size_t	 i;

	if (p == NULL)
		return;
	for (i = 0; i < PACER_SLOTS; i++)
		free(p->slots[i].room);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
