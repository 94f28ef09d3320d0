/*
 * Unit tests for the logger's two outputs: under journald (stderr is the
 * stream JOURNAL_STREAM names) every line starts with its syslog priority
 * "<N>" and carries no timestamp of its own; anywhere else, and when
 * JOURNAL_STREAM names some other stream (a child inherits it), lines
 * start with a UTC timestamp. Each case runs in a child process, since
 * the logger decides once per process.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "t.h"
#include "util.h"

enum stream { STREAM_JOURNAL, STREAM_OTHER, STREAM_UNSET };

/*
 * Logs one line per level and a secret from a child whose stderr is a
 * file; returns what the child wrote (caller frees).
 */
static char *
log_in_child(enum stream how)
{
	const char	*path = t_write("stderr.log", "", 0600);
	char		*copy = xstrdup(path), *text;
	struct stat	 st;
	pid_t		 pid;
	int		 fd, status;
	char		 env[64];

	pid = fork();
	if (pid == 0) {
		fd = open(copy, O_WRONLY | O_TRUNC);
		if (fd == -1 || dup2(fd, STDERR_FILENO) == -1 ||
		    fstat(STDERR_FILENO, &st) == -1)
			_exit(3);
		if (how == STREAM_JOURNAL)
			snprintf(env, sizeof env, "%llu:%llu",
			    (unsigned long long)st.st_dev,
			    (unsigned long long)st.st_ino);
		else
			snprintf(env, sizeof env, "%llu:%llu",
			    (unsigned long long)st.st_dev,
			    (unsigned long long)st.st_ino + 1);
		if (how == STREAM_UNSET)
			unsetenv("JOURNAL_STREAM");
		else
			setenv("JOURNAL_STREAM", env, 1);
		log_set_level(LOG_DEBUG);
		log_add_secret("s3cr3t-token-value");
		log_debug("test", "one key=%d", 1);
		log_info("test", "two key=%d", 2);
		log_warn("test", "three token=%s", "s3cr3t-token-value");
		log_error("test", "four");
		_exit(0);
	}
	T_OK(pid > 0);
	waitpid(pid, &status, 0);
	T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	text = t_slurp(copy);
	free(copy);
	return text;
}

static void
test_journal_priorities_no_timestamp(void)
{
	char	*text = log_in_child(STREAM_JOURNAL);

	T_EQ_STR(text, "<7>level=debug part=test one key=1\n"
	    "<6>level=info part=test two key=2\n"
	    "<4>level=warn part=test three token=***\n"
	    "<3>level=error part=test four\n");
	free(text);
}

/* The pattern of a line with our own timestamp. */
static int
stamped(const char *line, const char *rest)
{
	int	 y, mo, d, h, mi, s, n = 0;

	if (sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2dZ %n", &y, &mo, &d, &h, &mi,
	    &s, &n) != 6 || n != 21)
		return 0;
	return strncmp(line + n, rest, strlen(rest)) == 0;
}

static void
check_stamped(const char *text)
{
	const char	*p = text;

	T_OK(text != NULL);
	if (text == NULL)
		return;
	T_OK(stamped(p, "level=debug part=test one key=1\n"));
	p = strchr(p, '\n') + 1;
	T_OK(stamped(p, "level=info part=test two key=2\n"));
	p = strchr(p, '\n') + 1;
	T_OK(stamped(p, "level=warn part=test three token=***\n"));
	T_NOT_CONTAINS(text, "<");
	T_NOT_CONTAINS(text, "s3cr3t");
}

static void
test_other_stream_keeps_timestamps(void)
{
	char	*text = log_in_child(STREAM_OTHER);

	check_stamped(text);
	free(text);
}

static void
test_no_journal_keeps_timestamps(void)
{
	char	*text = log_in_child(STREAM_UNSET);

	check_stamped(text);
	free(text);
}

/*
 * Every secret registered is scrubbed, however many there are (a cap
 * once stopped registering them silently after 32: tokens of reloads and
 * of many SSH hosts).
 */
static void
test_many_secrets_all_scrubbed(void)
{
	const char	*path = t_write("secrets.log", "", 0600);
	char		*copy = xstrdup(path), *text, secret[64];
	pid_t		 pid;
	int		 fd, status, i;

	pid = fork();
	if (pid == 0) {
		fd = open(copy, O_WRONLY | O_TRUNC);
		if (fd == -1 || dup2(fd, STDERR_FILENO) == -1)
			_exit(3);
		unsetenv("JOURNAL_STREAM");
		for (i = 0; i < 200; i++) {
			snprintf(secret, sizeof secret, "token-%03d-abcdef", i);
			log_add_secret(secret);
		}
		log_warn("test", "first=token-000-abcdef last=%s", secret);
		_exit(0);
	}
	T_OK(pid > 0);
	waitpid(pid, &status, 0);
	T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	text = t_slurp(copy);
	T_CONTAINS(text, "first=*** last=***");
	T_NOT_CONTAINS(text, "abcdef");
	free(text);
	free(copy);
}

int
main(void)
{
	T_RUN(test_journal_priorities_no_timestamp);
	T_RUN(test_other_stream_keeps_timestamps);
	T_RUN(test_no_journal_keeps_timestamps);
	T_RUN(test_many_secrets_all_scrubbed);
	return t_summary();
}
