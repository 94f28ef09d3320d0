/*
 * chat_console.c - standard input as a chat room.
 *
 * Each input line is a message from the current pretend user
 * (console:NAME); `/as NAME` switches user. Every reply is one block on
 * standard output whose lines carry a prefix a script can match:
 *
 *   pvebot[3]> first line of message 3
 *   pvebot[3]> second line
 *   pvebot[3]~ message 3 after an edit
 *
 * Buttons print as the commands that stand for them, "[approve 12]
 * [deny 12]", and the user types them. The console works the same from a
 * terminal and from a pipe; at end of input chat_console_eof() turns
 * true and the daemon waits for jobs in flight before it exits.
 *
 * Like a person at a terminal, the console reads the next line only
 * after pvebot has answered the last one: the router has saved it and
 * the console's outbox holds nothing undelivered. A script piped in
 * thus gets the transcript a person would see, in order (later edits of
 * running jobs still arrive whenever they happen).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"
#include "conf.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "util.h"

#define CONSOLE_LINE_MAX	8192
#define CONSOLE_ANSWER_WAIT_MS	30000	/* a line's answer, at most */

struct console {
	int		 in_fd;
	int		 out_fd;
	pthread_t	 thread;
	int		 started;
	atomic_int	 stop;
	atomic_int	 eof;
	pthread_mutex_t	 out_lock;
	int		 next_ref;
	char		 user[64];
	int		 tty;
	chat_console_hook hook;
	void		*hook_arg;
	/* The answer to the last line: saved, then printed. */
	pthread_mutex_t	 wait_lock;
	pthread_cond_t	 wait_cond;
	int		 handled;
	struct store	*store;		/* reader thread: outbox pending */
};

static void
line_saved(void *arg, const char *offset, int ok)
{
	struct console	*con = arg;

	pthread_mutex_lock(&con->wait_lock);
	con->handled = 1;
	pthread_cond_broadcast(&con->wait_cond);
	pthread_mutex_unlock(&con->wait_lock);
}

/* Something was printed: a waiting reader looks again. */
static void
printed(struct console *con)
{
	pthread_mutex_lock(&con->wait_lock);
	pthread_cond_broadcast(&con->wait_cond);
	pthread_mutex_unlock(&con->wait_lock);
}

/* Hands ev to the router and waits until its answer is printed. */
static void
submit_and_wait(struct connector *c, struct chat_event *ev)
{
	struct console	*con = c->priv;
	int64_t		 deadline = now_ms() + CONSOLE_ANSWER_WAIT_MS;

	ev->saved = line_saved;
	ev->saved_arg = con;
	pthread_mutex_lock(&con->wait_lock);
	con->handled = 0;
	pthread_mutex_unlock(&con->wait_lock);
	c->ctx->submit(c->ctx->submit_arg, ev);
	pthread_mutex_lock(&con->wait_lock);
	while (!atomic_load(&con->stop) && now_ms() < deadline) {
		struct timespec	 ts;
		int64_t		 at = wall_now_ms() + 50;

		if (con->handled)
			break;
		ts.tv_sec = at / 1000;
		ts.tv_nsec = (at % 1000) * 1000000;
		pthread_cond_timedwait(&con->wait_cond, &con->wait_lock, &ts);
	}
	pthread_mutex_unlock(&con->wait_lock);
	/*
	 * Saved: now its answer (and whatever else was written for the
	 * console by then) is delivered. The sender says so itself; only
	 * before it runs does the console count the outbox's rows.
	 */
	while (!atomic_load(&con->stop) && now_ms() < deadline) {
		struct chat_sender	*sender = atomic_load(&c->sender);

		if (sender != NULL) {
			/* In slices, so that a stop is seen; a sender that
			 * stops delivers nothing more. */
			if (chat_sender_settle(sender, now_ms() + 50 <
			    deadline ? now_ms() + 50 : deadline) != 0)
				break;
			continue;
		}
		if (con->store == NULL || outbox_pending(con->store,
		    "console") == 0)
			break;
		sleep_ms(10);
	}
}

static void
console_write(struct console *con, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t	 n = write(con->out_fd, s, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += n;
		len -= (size_t)n;
	}
}

/* What a user types for a button: "ap:12:nonce" -> "approve 12". */
static char *
button_command(const struct chat_button *b)
{
	const char	*d = b->data;
	long long	 id;
	char		*end;

	if (str_has_prefix(d, "ap:") || str_has_prefix(d, "dn:")) {
		id = strtoll(d + 3, &end, 10);
		return xasprintf("%s %lld", d[0] == 'a' ? "approve" : "deny",
		    id);
	}
	if (str_has_prefix(d, "ack:"))
		return xasprintf("ack %s", d + 4);
	if (str_has_prefix(d, "sil:")) {
		const char	*colon = strchr(d + 4, ':');

		if (colon != NULL)
			return xasprintf("silence alert=%.*s %s",
			    (int)(colon - (d + 4)), d + 4, colon + 1);
	}
	return xstrdup(b->label);
}

static void
print_block(struct console *con, int ref, char mark, const struct chat_msg *m)
{
	struct buf	 b;
	const char	*p;
	size_t		 i;
	char		*prefix = xasprintf("pvebot[%d]%c ", ref, mark);

	buf_init(&b, 0);
	if (m->mention != NULL && str_has_prefix(m->mention, "console:"))
		buf_printf(&b, "%s@%s\n", prefix, m->mention_name != NULL ?
		    m->mention_name : m->mention + 8);
	if (m->title != NULL)
		buf_printf(&b, "%s%s\n", prefix, m->title);
	for (p = m->text != NULL ? m->text : ""; *p != '\0' || b.len == 0;) {
		const char	*nl = strchr(p, '\n');
		size_t		 len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		buf_printf(&b, "%s%.*s\n", prefix, (int)len, p);
		if (nl == NULL)
			break;
		p = nl + 1;
		if (*p == '\0')
			break;
	}
	if (m->nbuttons > 0) {
		buf_puts(&b, prefix);
		for (i = 0; i < m->nbuttons; i++) {
			char	*cmd = button_command(&m->buttons[i]);

			buf_printf(&b, "%s[%s]", i ? " " : "", cmd);
			free(cmd);
		}
		buf_puts(&b, "\n");
	}
	pthread_mutex_lock(&con->out_lock);
	console_write(con, b.data, b.len);
	pthread_mutex_unlock(&con->out_lock);
	buf_release(&b);
	free(prefix);
	printed(con);
}

static int
console_send(struct connector *c, const char *room, const struct chat_msg *m,
    char **ref, char **cause)
{
	struct console	*con = c->priv;
	int		 id;

	pthread_mutex_lock(&con->out_lock);
	id = ++con->next_ref;
	pthread_mutex_unlock(&con->out_lock);
	print_block(con, id, '>', m);
	if (ref != NULL)
		*ref = xasprintf("%d", id);
	return CHAT_OK;
}

static int
console_edit(struct connector *c, const char *room, const char *ref,
    const struct chat_msg *m, char **cause)
{
	struct console	*con = c->priv;
	const char	*errstr;
	int		 id = (int)strtonum(ref, 1, 1 << 30, &errstr);

	if (errstr != NULL) {
		set_cause(cause, "no console message %s", ref);
		return CHAT_PERMANENT;
	}
	print_block(con, id, '~', m);
	return CHAT_OK;
}

static int
console_answer(struct connector *c, const struct chat_event *ev,
    const char *text, char **cause)
{
	struct chat_msg	 m = { .text = text };

	return console_send(c, ev->room, &m, NULL, cause);
}

static void
prompt(struct console *con)
{
	char	*p;

	if (!con->tty)
		return;
	p = xasprintf("(%s) ", con->user);
	pthread_mutex_lock(&con->out_lock);
	console_write(con, p, strlen(p));
	pthread_mutex_unlock(&con->out_lock);
	free(p);
}

static int
valid_name(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n >= 32)
		return 0;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '-' || s[i] == '_' ||
		    (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	}
	return 1;
}

static void
handle_line(struct connector *c, char *line)
{
	struct console		*con = c->priv;
	struct chat_event	*ev;
	char			 id[80];

	if (str_has_prefix(line, "/as ") || strcmp(line, "/as") == 0) {
		char		*name = str_trim(line + 3);

		/*
		 * The answer goes through the router's queue so it prints
		 * after the replies to the lines typed before it.
		 */
		snprintf(id, sizeof id, "console:%s", con->user);
		ev = chat_event_new(CHAT_EV_NOTICE, "console", "console", id);
		if (!valid_name(name))
			ev->text = xstrdup("usage: /as NAME (letters, digits, "
			    "- and _)");
		else {
			snprintf(con->user, sizeof con->user, "%s", name);
			ev->text = xasprintf("you are now console:%s",
			    con->user);
		}
		submit_and_wait(c, ev);
		return;
	}
	if (str_has_prefix(line, "/sim ") || strcmp(line, "/sim") == 0) {
		snprintf(id, sizeof id, "console:%s", con->user);
		ev = chat_event_new(CHAT_EV_NOTICE, "console", "console", id);
		ev->text = con->hook != NULL ?
		    con->hook(con->hook_arg, str_trim(line + 4)) :
		    xstrdup("there is no simulator here");
		submit_and_wait(c, ev);
		return;
	}
	snprintf(id, sizeof id, "console:%s", con->user);
	ev = chat_event_new(CHAT_EV_MESSAGE, "console", "console", id);
	ev->display = xstrdup(con->user);
	ev->text = xstrdup(line);
	ev->direct = 1;
	ev->addressed = 1;
	submit_and_wait(c, ev);
}

/*
 * One line as typed. A line cut at the cap, or with a NUL byte in it, is
 * refused as a whole: "start 101\0reboot" must not run "start 101".
 */
static void
take_line(struct connector *c, const struct buf *line)
{
	struct chat_msg	 m;

	memset(&m, 0, sizeof m);
	if (line->truncated)
		m.text = "that line is too long (over 8192 bytes); nothing was "
		    "done";
	else if (memchr(line->data, '\0', line->len) != NULL)
		m.text = "that line contains a NUL byte; nothing was done";
	else {
		handle_line(c, line->data);
		return;
	}
	console_send(c, "console", &m, NULL, NULL);
}

static void *
console_thread(void *arg)
{
	struct connector	*c = arg;
	struct console		*con = c->priv;
	struct buf		 line;
	char			 chunk[4096];

	buf_init(&line, CONSOLE_LINE_MAX);
	prompt(con);
	while (!atomic_load(&con->stop)) {
		struct pollfd	 pfd = { con->in_fd, POLLIN, 0 };
		ssize_t		 n, i;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(con->in_fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (chunk[i] != '\n') {
				/* Over-long lines are cut; the parser says so. */
				buf_append(&line, &chunk[i], 1);
				continue;
			}
			if (line.len > 0 && line.data[line.len - 1] == '\r')
				line.data[--line.len] = '\0';
			if (line.len > 0 || line.truncated)
				take_line(c, &line);
			buf_reset(&line);
			prompt(con);
		}
	}
	if (line.len > 0 && !atomic_load(&con->stop))
		take_line(c, &line);
	buf_release(&line);
	atomic_store(&con->eof, 1);
	return NULL;
}

static int
console_start(struct connector *c, char **cause)
{
	struct console	*con = c->priv;
	char		*why = NULL;

	if (c->ctx->conf != NULL && c->ctx->conf->database != NULL &&
	    con->store == NULL &&
	    (con->store = store_open(c->ctx->conf->database, &why)) == NULL) {
		log_warn("console", "answers are not awaited: %s", why);
		free(why);
	}
	if (pthread_create(&con->thread, NULL, console_thread, c) != 0)
		return set_cause(cause, "cannot start the console thread");
	con->started = 1;
	return 0;
}

static void
console_stop(struct connector *c)
{
	struct console	*con = c->priv;

	if (!con->started)
		return;
	atomic_store(&con->stop, 1);
	pthread_join(con->thread, NULL);
	con->started = 0;
}

static void
console_free(struct connector *c)
{
	struct console	*con;

	if (c == NULL)
		return;
	con = c->priv;
	console_stop(c);
	store_close(con->store);
	pthread_mutex_destroy(&con->out_lock);
	pthread_mutex_destroy(&con->wait_lock);
	pthread_cond_destroy(&con->wait_cond);
	free(con);
	free(c);
}

static const struct connector_ops console_ops = {
	.name = "console",
	.start = console_start,
	.stop = console_stop,
	.send = console_send,
	.edit = console_edit,
	.reply = NULL,
	.answer = console_answer,
	.free = console_free,
};

struct connector *
chat_console_create(const struct chat_ctx *ctx, int in_fd, int out_fd,
    char **cause)
{
	struct connector	*c = xcalloc(1, sizeof *c);
	struct console		*con = xcalloc(1, sizeof *con);
	const char		*user = "bob";

	if (ctx->conf != NULL && ctx->conf->chat.console.user != NULL)
		user = ctx->conf->chat.console.user;
	con->in_fd = in_fd;
	con->out_fd = out_fd;
	con->tty = isatty(in_fd) && isatty(out_fd);
	pthread_mutex_init(&con->out_lock, NULL);
	pthread_mutex_init(&con->wait_lock, NULL);
	pthread_cond_init(&con->wait_cond, NULL);
	snprintf(con->user, sizeof con->user, "%s", user);
	c->ops = &console_ops;
	c->ctx = ctx;
	c->priv = con;
	return c;
}

int
chat_console_eof(struct connector *c)
{
	struct console	*con = c->priv;

	return atomic_load(&con->eof);
}

void
chat_console_set_hook(struct connector *c, chat_console_hook hook, void *arg)
{
	struct console	*con = c->priv;

	con->hook = hook;
	con->hook_arg = arg;
}
