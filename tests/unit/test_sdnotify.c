/*
 * Unit tests for the sd_notify protocol (sdnotify.c) against real
 * AF_UNIX datagram sockets, as systemd binds them: a path and a Linux
 * abstract name ("@..."). Also what the environment says about the
 * watchdog, and that the variables are gone after sdnotify_init() so
 * children do not inherit them.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdnotify.h"
#include "t.h"
#include "util.h"

/* Binds a datagram socket to name ("@x" abstract, else a path). */
static int
listen_at(const char *name)
{
	struct sockaddr_un	 sa;
	socklen_t		 len;
	int			 fd;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, name, strlen(name));
	len = offsetof(struct sockaddr_un, sun_path) + strlen(name);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		len++;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, len) == -1)
		return -1;
	return fd;
}

/* One datagram within timeout_ms, as a string; "" on timeout. */
static char *
receive(int fd, int timeout_ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	char		 buf[4096];
	ssize_t		 n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return xstrdup("");
	n = recv(fd, buf, sizeof buf - 1, 0);
	if (n < 0)
		return xstrdup("");
	buf[n] = '\0';
	return xstrdup(buf);
}

static void
clear_env(void)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

static void
check_ready_at(const char *name)
{
	char	*got, *cause = NULL;
	int	 fd = listen_at(name);

	T_OK(fd != -1);
	clear_env();
	setenv("NOTIFY_SOCKET", name, 1);
	sdnotify_init();
	T_OK(getenv("NOTIFY_SOCKET") == NULL);
	T_EQ_INT(sdnotify_send("READY=1\nSTATUS=running", &cause), 0);
	got = receive(fd, 5000);
	T_EQ_STR(got, "READY=1\nSTATUS=running");
	free(got);
	free(cause);
	close(fd);
}

static void
test_ready_to_abstract_socket(void)
{
	char	 name[64];

	snprintf(name, sizeof name, "@pvebot-test-notify-%d", (int)getpid());
	check_ready_at(name);
}

static void
test_ready_to_path_socket(void)
{
	char	*path = t_path("notify.sock");

	check_ready_at(path);
	unlink(path);
	free(path);
}

static void
test_no_socket_no_op(void)
{
	char	*cause = NULL;

	clear_env();
	setenv("WATCHDOG_USEC", "1000000", 1);
	sdnotify_init();
	T_EQ_INT(sdnotify_send("READY=1", &cause), 0);
	T_OK(cause == NULL);
	/* No socket, nobody to ping. */
	T_EQ_INT(sdnotify_watchdog_usec(), 0);
	T_OK(getenv("WATCHDOG_USEC") == NULL);
}

static void
test_refused_is_reported(void)
{
	char	*cause = NULL;

	clear_env();
	setenv("NOTIFY_SOCKET", "@pvebot-test-nobody-listens", 1);
	sdnotify_init();
	T_EQ_INT(sdnotify_send("READY=1", &cause), -1);
	T_CONTAINS(cause, "cannot notify systemd");
	free(cause);
}

static void
test_watchdog_interval(void)
{
	char	 pid[32];

	clear_env();
	setenv("NOTIFY_SOCKET", "@pvebot-test-wd", 1);
	setenv("WATCHDOG_USEC", "30000000", 1);
	sdnotify_init();
	T_EQ_INT(sdnotify_watchdog_usec(), 30000000);
	T_OK(getenv("WATCHDOG_USEC") == NULL);

	/* Meant for this process. */
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	setenv("NOTIFY_SOCKET", "@pvebot-test-wd", 1);
	setenv("WATCHDOG_USEC", "500000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	sdnotify_init();
	T_EQ_INT(sdnotify_watchdog_usec(), 500000);
	T_OK(getenv("WATCHDOG_PID") == NULL);

	/* Meant for another process: not ours to feed. */
	setenv("NOTIFY_SOCKET", "@pvebot-test-wd", 1);
	setenv("WATCHDOG_USEC", "500000", 1);
	setenv("WATCHDOG_PID", "1", 1);
	sdnotify_init();
	T_EQ_INT(sdnotify_watchdog_usec(), 0);

	/* Garbage is no watchdog, not a crash. */
	clear_env();
	setenv("NOTIFY_SOCKET", "@pvebot-test-wd", 1);
	setenv("WATCHDOG_USEC", "soon", 1);
	sdnotify_init();
	T_EQ_INT(sdnotify_watchdog_usec(), 0);
	clear_env();
}

static void
test_bad_socket_names_ignored(void)
{
	char	*cause = NULL;

	clear_env();
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	sdnotify_init();
	T_EQ_INT(sdnotify_send("READY=1", &cause), 0);
	setenv("NOTIFY_SOCKET", "@", 1);
	sdnotify_init();
	T_EQ_INT(sdnotify_send("READY=1", &cause), 0);
	T_OK(cause == NULL);
	clear_env();
}

int
main(void)
{
	T_RUN(test_ready_to_abstract_socket);
	T_RUN(test_ready_to_path_socket);
	T_RUN(test_no_socket_no_op);
	T_RUN(test_refused_is_reported);
	T_RUN(test_watchdog_interval);
	T_RUN(test_bad_socket_names_ignored);
	return t_summary();
}
