/*
 * listen.c - what other instances on the same PostgreSQL database wrote,
 * heard through LISTEN/NOTIFY (store.h, store_listen()).
 *
 * One thread per process with a connection of its own, waiting in
 * poll(2) on that connection's socket and on a pipe that says stop:
 * nothing is read on a timer. Writers notify inside their transaction
 * (store_note_outbox(), store_note_jobs()), so a notification is heard
 * only for a write that committed. A lost connection is opened again a
 * second later; since what was said while it was away is gone, both
 * hooks are called once it is back, and their owners look for
 * themselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "store_pg.h"
#include "util.h"

#define LISTEN_RETRY_MS	1000

struct store_listener {
	char		*database;
	void		(*on_jobs)(void *);
	void		*arg;
	int		 wake[2];	/* written to stop */
	pthread_t	 thread;
};

static void
heard(const char *channel, const char *payload, void *arg)
{
	struct store_listener	*l = arg;

	if (strcmp(channel, STORE_CHANNEL_OUTBOX) == 0)
		store_run_outbox_hook(payload);
	else if (strcmp(channel, STORE_CHANNEL_JOBS) == 0)
		l->on_jobs(l->arg);
}

/* Waits for the socket (fd, or none when -1) or the stop pipe: 1 stop,
 * 0 readable or timed out. */
static int
wait_for(struct store_listener *l, int fd, int ms)
{
	struct pollfd	 pfd[2];
	int		 n = 0;

	pfd[n].fd = l->wake[0];
	pfd[n++].events = POLLIN;
	if (fd != -1) {
		pfd[n].fd = fd;
		pfd[n++].events = POLLIN;
	}
	while (poll(pfd, n, ms) == -1 && errno == EINTR)
		continue;
	return (pfd[0].revents & POLLIN) != 0;
}

static struct pg_db *
listen_open(struct store_listener *l)
{
	struct pg_db	*db;
	char		*pw, *cause = NULL;

	pw = store_password_of(l->database);
	db = pg_open(l->database, pw, &cause);
	store_free_password(pw);
	if (db != NULL && pg_exec(db, "LISTEN " STORE_CHANNEL_OUTBOX ";"
	    "LISTEN " STORE_CHANNEL_JOBS, &cause) != 0) {
		pg_close(db);
		db = NULL;
	}
	if (db == NULL) {
		log_warn("store", "listening for other instances: %s", cause);
		free(cause);
	}
	return db;
}

static void *
listen_main(void *arg)
{
	struct store_listener	*l = arg;
	struct pg_db		*db = NULL;
	int			 lost = 0;

	for (;;) {
		if (db == NULL) {
			if ((db = listen_open(l)) == NULL) {
				if (wait_for(l, -1, LISTEN_RETRY_MS))
					break;
				lost = 1;
				continue;
			}
			if (lost) {
				/* Whatever was said meanwhile: look again. */
				store_run_outbox_hook("");
				l->on_jobs(l->arg);
				lost = 0;
			}
		}
		if (wait_for(l, pg_socket(db), -1))
			break;
		if (pg_notifications(db, heard, l) != 0) {
			log_warn("store", "listening for other instances: "
			    "%s; connecting again", pg_error(db));
			pg_close(db);
			db = NULL;
			lost = 1;
		}
	}
	pg_close(db);
	return NULL;
}

struct store_listener *
store_listen(const char *database, void (*on_jobs)(void *), void *arg,
    char **cause)
{
	struct store_listener	*l;

	if (!pg_is_url(database))
		return NULL;
	l = xcalloc(1, sizeof *l);
	l->database = xstrdup(database);
	l->on_jobs = on_jobs;
	l->arg = arg;
	if (pipe2(l->wake, O_CLOEXEC) != 0) {
		set_cause(cause, "pipe: %s", strerror(errno));
		free(l->database);
		free(l);
		return NULL;
	}
	if (pthread_create(&l->thread, NULL, listen_main, l) != 0) {
		set_cause(cause, "cannot start the listening thread");
		close(l->wake[0]);
		close(l->wake[1]);
		free(l->database);
		free(l);
		return NULL;
	}
	return l;
}

void
store_listen_stop(struct store_listener *l)
{
	if (l == NULL)
		return;
	while (write(l->wake[1], "x", 1) == -1 && errno == EINTR)
		continue;
	pthread_join(l->thread, NULL);
	close(l->wake[0]);
	close(l->wake[1]);
	free(l->database);
	free(l);
}
