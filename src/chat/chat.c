/*
 * chat.c - what every connector shares: events, the generic wrappers
 * over connector_ops, the stale-command rule and backoff with jitter.
 * Delivery (pacing, retries) is the sender's (chat_sender.c).
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
	free(ev->answer);
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
