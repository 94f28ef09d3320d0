/*
 * log.c - the one logger. Lines go to stderr as
 *   2026-11-22T18:00:00Z level=info part=conf msg text key=value ...
 * or, when stderr is journald's stream (systemd sets JOURNAL_STREAM to
 * the stream's "device:inode", and it matches stderr's), as
 *   <6>level=info part=conf msg text key=value ...
 * with the syslog priority as prefix (journald strips it and files the
 * line at that priority: 7 debug, 6 info, 4 warn, 3 error) and no
 * timestamp of our own, since the journal keeps one. Which of the two is
 * decided once, at the first line. Every registered secret is replaced
 * by "***" before the line is written; a line is written with one
 * write(2) so threads do not interleave.
 */
#include <sys/stat.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define LOG_LINE_MAX	8192

static enum log_level	 log_level = LOG_INFO;
static pthread_mutex_t	 log_lock = PTHREAD_MUTEX_INITIALIZER;
/* Every secret ever registered: never capped, never dropped. */
static char		**log_secrets;
static size_t		 log_nsecrets;
static pthread_once_t	 log_once = PTHREAD_ONCE_INIT;
static int		 log_journal;	/* stderr is journald's stream */

/* JOURNAL_STREAM is inherited by children too: trust it only if it
 * names the very stream our stderr is. */
static void
log_detect_journal(void)
{
	const char		*env = getenv("JOURNAL_STREAM");
	struct stat		 st;
	unsigned long long	 dev, ino;
	char			*end;

	if (env == NULL || fstat(STDERR_FILENO, &st) == -1)
		return;
	dev = strtoull(env, &end, 10);
	if (end == env || *end != ':')
		return;
	env = end + 1;
	ino = strtoull(env, &end, 10);
	if (end == env || *end != '\0')
		return;
	log_journal = (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

int
log_parse_level(const char *s, enum log_level *level)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	size_t	 i;

	for (i = 0; i < nitems(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_add_secret(const char *secret)
{
	size_t	 i;

	/* Short strings would scrub ordinary words; real secrets are long. */
	if (secret == NULL || strlen(secret) < 6)
		return;
	pthread_mutex_lock(&log_lock);
	for (i = 0; i < log_nsecrets; i++) {
		if (strcmp(log_secrets[i], secret) == 0)
			break;
	}
	if (i == log_nsecrets) {
		log_secrets = xreallocarray(log_secrets, log_nsecrets + 1,
		    sizeof *log_secrets);
		log_secrets[log_nsecrets++] = xstrdup(secret);
	}
	pthread_mutex_unlock(&log_lock);
}

static char *
scrub_locked(const char *s)
{
	char	*out = xstrdup(s);
	size_t	 i;

	for (i = 0; i < log_nsecrets; i++) {
		const char	*secret = log_secrets[i];
		size_t		 slen = strlen(secret);
		char		*hit;
		struct buf	 b;
		const char	*p;

		if (strstr(out, secret) == NULL)
			continue;
		buf_init(&b, 0);
		buf_append(&b, "", 0);
		p = out;
		while ((hit = strstr(p, secret)) != NULL) {
			buf_append(&b, p, (size_t)(hit - p));
			buf_puts(&b, "***");
			p = hit + slen;
		}
		buf_puts(&b, p);
		free(out);
		out = buf_steal(&b);
	}
	return out;
}

char *
log_scrub(const char *s)
{
	char	*out;

	pthread_mutex_lock(&log_lock);
	out = scrub_locked(s);
	pthread_mutex_unlock(&log_lock);
	return out;
}

void
log_vmsg(enum log_level level, const char *part, const char *fmt,
    va_list ap)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	static const int priorities[] = { 7, 6, 4, 3 };	/* syslog(3) */
	char		 line[LOG_LINE_MAX], stamp[32], *msg, *clean;
	struct tm	 tm;
	time_t		 t;
	size_t		 i;
	int		 n;

	if (level < log_level)
		return;
	msg = xvasprintf(fmt, ap);
	/* Keep each record on one line whatever the message holds. */
	for (i = 0; msg[i] != '\0'; i++) {
		if (msg[i] == '\n' || msg[i] == '\r')
			msg[i] = ' ';
	}
	pthread_once(&log_once, log_detect_journal);
	if (log_journal)
		snprintf(stamp, sizeof stamp, "<%d>", priorities[level]);
	else {
		t = time(NULL);
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ ", &tm);
	}
	pthread_mutex_lock(&log_lock);
	clean = scrub_locked(msg);
	n = snprintf(line, sizeof line, "%slevel=%s part=%s %s\n", stamp,
	    names[level], part, clean);
	if (n >= (int)sizeof line) {
		n = sizeof line - 1;
		line[n - 1] = '\n';
	}
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to report a failing stderr. */
	}
	pthread_mutex_unlock(&log_lock);
	free(clean);
	free(msg);
}

void
log_msg(enum log_level level, const char *part, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(level, part, fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *part, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERROR, part, fmt, ap);
	va_end(ap);
	exit(1);
}
