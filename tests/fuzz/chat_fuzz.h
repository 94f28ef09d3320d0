/*
 * chat_fuzz.h - what the connector fuzz targets (fuzz_telegram_updates,
 * fuzz_matrix_sync, fuzz_discord_dispatch) share: a real SQLite store in
 * a temporary directory opened once per process, the split of an input
 * into several replies or frames, and the checks every event handed to
 * the router must pass whatever the platform sent.
 */
#ifndef PVEBOT_CHAT_FUZZ_H
#define PVEBOT_CHAT_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"

#include "chat.h"
#include "log.h"
#include "store.h"
#include "util.h"

/* Replies (or frames) in one input are separated by this line. */
#define CF_SEP		"\n@@@\n"
#define CF_SEP_LEN	(sizeof CF_SEP - 1)
#define CF_MAX_PARTS	8

static char	 cf_dir[80];
static char	 cf_db[112];

static void
cf_cleanup(void)
{
	char	 path[160];

	if (cf_dir[0] == '\0')
		return;
	unlink(cf_db);
	snprintf(path, sizeof path, "%s-wal", cf_db);
	unlink(path);
	snprintf(path, sizeof path, "%s-shm", cf_db);
	unlink(path);
	rmdir(cf_dir);
}

/* The process's store, in a temporary directory removed at exit. */
static struct store *
cf_store(const char *name)
{
	struct store	*st;
	char		*cause = NULL;

	/* In memory when the machine has /dev/shm: no disk per input. */
	snprintf(cf_dir, sizeof cf_dir, "%s/%s.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", name);
	if (mkdtemp(cf_dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(cf_db, sizeof cf_db, "%s/pvebot.db", cf_dir);
	atexit(cf_cleanup);
	if ((st = store_open(cf_db, &cause)) == NULL) {
		fprintf(stderr, "%s: store: %s\n", name, cause);
		abort();
	}
	/* Speed, not durability: the file lives for one run. */
	if (store_exec(st, "PRAGMA synchronous = OFF", NULL) != 0)
		abort();
	return st;
}

/*
 * Runs sql (which puts the store back as the target left it) only when
 * the last input changed something in it.
 */
static void
cf_reset(struct store *st, const char *sql)
{
	static int	 changes = -1;

	if (db_total_changes(st) == changes)
		return;
	if (store_exec(st, sql, NULL) != 0)
		abort();
	changes = db_total_changes(st);
}

struct cf_part {
	const char	*p;
	size_t		 len;
};

/* Splits data at CF_SEP into at most CF_MAX_PARTS parts. */
static size_t
cf_split(const uint8_t *data, size_t size, struct cf_part *parts)
{
	const char	*p = (const char *)data, *end = p + size, *sep;
	size_t		 n = 0;

	while (n < CF_MAX_PARTS) {
		sep = n + 1 < CF_MAX_PARTS ? memmem(p, (size_t)(end - p),
		    CF_SEP, CF_SEP_LEN) : NULL;
		parts[n].p = p;
		parts[n].len = sep != NULL ? (size_t)(sep - p) :
		    (size_t)(end - p);
		n++;
		if (sep == NULL)
			break;
		p = sep + CF_SEP_LEN;
	}
	return n;
}

static int
cf_has_prefix(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * What holds for any event from connector `name`: a known kind, the
 * connector's name, the offset key when there is an offset, and what
 * each kind needs. `text_cap` bounds a message's text in bytes.
 */
static void
cf_check_event(const struct chat_event *ev, const char *name,
    size_t text_cap)
{
	char	 prefix[32];

	snprintf(prefix, sizeof prefix, "%s:", name);
	if (ev->kind < CHAT_EV_MESSAGE || ev->kind > CHAT_EV_UNSERVED)
		abort();
	if (ev->connector == NULL || strcmp(ev->connector, name) != 0)
		abort();
	if (ev->offset != NULL && (ev->offset_key == NULL ||
	    strcmp(ev->offset_key, name) != 0 || ev->offset[0] == '\0'))
		abort();
	if (ev->user != NULL && !cf_has_prefix(ev->user, prefix))
		abort();
	switch (ev->kind) {
	case CHAT_EV_MESSAGE:
		if (ev->room == NULL || ev->user == NULL || ev->text == NULL ||
		    strlen(ev->text) > text_cap || ev->sent_at < 0)
			abort();
		break;
	case CHAT_EV_BUTTON:
		if (ev->room == NULL || ev->user == NULL ||
		    ev->button_data == NULL || ev->msg_ref == NULL)
			abort();
		break;
	case CHAT_EV_SKIPPED:
		/* Audited: the text names the platform. */
		if (ev->text == NULL || !cf_has_prefix(ev->text, name))
			abort();
		if (ev->answer != NULL && ev->room == NULL)
			abort();
		break;
	case CHAT_EV_UNSERVED:
		if (ev->room == NULL || ev->user == NULL)
			abort();
		break;
	case CHAT_EV_OFFSET:
		if (ev->offset == NULL)
			abort();
		break;
	case CHAT_EV_NOTICE:
		abort();	/* the console's, never a platform's */
	}
}

#endif
