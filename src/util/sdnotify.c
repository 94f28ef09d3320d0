/*
 * sdnotify.c - the sd_notify(3) protocol, which is small enough to speak
 * without libsystemd: one AF_UNIX datagram per notification, its payload
 * newline-separated "KEY=VALUE" lines, sent to the socket named by
 * $NOTIFY_SOCKET. A name that starts with '/' is a path; one that starts
 * with '@' is a Linux abstract socket, whose address is the name with
 * the '@' replaced by a NUL byte and no terminating NUL counted in the
 * address length. systemd learns the sender from the socket's
 * credentials (SO_PASSCRED on its side), so NotifyAccess=main accepts
 * datagrams from any thread of the main process. Other forms (vsock:)
 * are not supported: they are reported once and ignored.
 *
 * The watchdog: with WatchdogSec= systemd sets WATCHDOG_USEC (and
 * WATCHDOG_PID, the process it is meant for) and kills the service when
 * no "WATCHDOG=1" arrives within that time. What decides when to ping is
 * app.c; this file only says the interval.
 *
 * Guarantees: the environment is read and cleared once, before threads
 * exist (sdnotify_init from main); a send never blocks (MSG_DONTWAIT)
 * and never raises SIGPIPE; without $NOTIFY_SOCKET nothing is sent.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"
#include "util.h"

static struct sockaddr_un	 notify_addr;
static socklen_t		 notify_len;	/* 0: not under systemd */
static int64_t			 watchdog_usec;

void
sdnotify_init(void)
{
	const char	*sock = getenv("NOTIFY_SOCKET");
	const char	*usec = getenv("WATCHDOG_USEC");
	const char	*pid = getenv("WATCHDOG_PID");
	const char	*errstr;
	size_t		 len;
	long long	 n;

	notify_len = 0;
	watchdog_usec = 0;
	memset(&notify_addr, 0, sizeof notify_addr);
	notify_addr.sun_family = AF_UNIX;
	if (sock != NULL && (sock[0] == '/' || sock[0] == '@') &&
	    (len = strlen(sock)) >= 2 && len < sizeof notify_addr.sun_path) {
		memcpy(notify_addr.sun_path, sock, len);
		if (sock[0] == '@') {
			notify_addr.sun_path[0] = '\0';
			notify_len = offsetof(struct sockaddr_un, sun_path) +
			    len;
		} else
			notify_len = offsetof(struct sockaddr_un, sun_path) +
			    len + 1;
	} else if (sock != NULL && *sock != '\0')
		log_warn("sdnotify", "NOTIFY_SOCKET=%s is not a path or an "
		    "abstract socket name; not notifying systemd", sock);
	if (usec != NULL) {
		n = strtonum(usec, 1, INT64_MAX / 2, &errstr);
		if (errstr == NULL)
			watchdog_usec = n;
		else
			log_warn("sdnotify", "WATCHDOG_USEC=%s is %s; no "
			    "watchdog pings", usec, errstr);
	}
	/* The watchdog may be meant for another process (a wrapper's). */
	if (pid != NULL && watchdog_usec > 0) {
		n = strtonum(pid, 1, INT32_MAX, &errstr);
		if (errstr != NULL || n != (long long)getpid())
			watchdog_usec = 0;
	}
	if (notify_len == 0)
		watchdog_usec = 0;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

int
sdnotify_send(const char *state, char **cause)
{
	int	 fd, saved;
	ssize_t	 n;

	if (notify_len == 0)
		return 0;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return set_cause(cause, "notify socket: %s", strerror(errno));
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
	    (const struct sockaddr *)&notify_addr, notify_len);
	saved = errno;
	close(fd);
	if (n < 0)
		return set_cause(cause, "cannot notify systemd: %s",
		    strerror(saved));
	return 0;
}

int64_t
sdnotify_watchdog_usec(void)
{
	return watchdog_usec;
}
