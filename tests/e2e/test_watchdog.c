/*
 * End to end: pvebot under a pretend systemd. The test binds a datagram
 * socket, starts `pvebot demo` with NOTIFY_SOCKET naming it and
 * WATCHDOG_USEC set, as systemd does for Type=notify with WatchdogSec=,
 * and reads what arrives, with the sender's credentials (SO_PASSCRED),
 * which is how systemd tells the main process (NotifyAccess=main):
 * READY=1 once pvebot is up; WATCHDOG=1 every half period; no ping
 * while the router is wedged (`/sim wedge router N` on the console, the
 * fault hook tests and the demo share) and pings again after; STOPPING=1
 * at the end.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "util.h"

#define WATCHDOG_MS	1000	/* WATCHDOG_USEC / 1000 */
#define WEDGE_S		6

struct note {
	int64_t	 at;		/* now_ms() when received */
	pid_t	 pid;		/* the sender, from SCM_CREDENTIALS */
	char	 text[512];
};

static int
notify_listen(char *name, size_t len)
{
	struct sockaddr_un	 sa;
	static int		 seq;
	int			 fd, one = 1;

	snprintf(name, len, "@pvebot-test-watchdog-%d-%d", (int)getpid(),
	    seq++);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, name + 1, strlen(name) - 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one,
	    sizeof one) == -1 || bind(fd, (struct sockaddr *)&sa,
	    offsetof(struct sockaddr_un, sun_path) + strlen(name)) == -1)
		return -1;
	return fd;
}

/* The next datagram within timeout_ms; 0 when one came. */
static int
next_note(int fd, struct note *n, int timeout_ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	union {
		struct cmsghdr	 h;
		char		 buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec	 iov = { n->text, sizeof n->text - 1 };
	struct msghdr	 msg;
	struct cmsghdr	*c;
	ssize_t		 len;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof ctl.buf;
	if ((len = recvmsg(fd, &msg, 0)) < 0)
		return -1;
	n->text[len] = '\0';
	n->at = now_ms();
	n->pid = 0;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred	 cred;

			memcpy(&cred, CMSG_DATA(c), sizeof cred);
			n->pid = cred.pid;
		}
	}
	return 0;
}

/* Waits for a note whose text starts with prefix, skipping others. */
static int
wait_note(int fd, const char *prefix, struct note *n, int timeout_ms)
{
	int64_t	 deadline = now_ms() + timeout_ms;

	while (now_ms() < deadline) {
		if (next_note(fd, n, (int)(deadline - now_ms())) != 0)
			return -1;
		if (str_has_prefix(n->text, prefix))
			return 0;
	}
	return -1;
}

static void
test_ready_watchdog_and_wedge(void)
{
	struct t_proc	 p;
	struct note	 n;
	char		 name[108], usec[32], *out;
	char		*argv[] = { (char *)t_pvebot(), "demo", "--task-ms",
	    "600", NULL };
	const char	*wedge = "/sim wedge router 6\n";
	int64_t		 last, gap, max_gap, healthy_max = 0, wedged_at;
	int		 fd, pings, stalled = 0, after = 0;

	t_tmpdir();
	fd = notify_listen(name, sizeof name);
	T_OK(fd != -1);
	if (fd == -1)
		return;
	snprintf(usec, sizeof usec, "%d", WATCHDOG_MS * 1000);
	setenv("NOTIFY_SOCKET", name, 1);
	setenv("WATCHDOG_USEC", usec, 1);
	t_proc_start(&p, argv, 1);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");

	/* READY=1 once it is up, from pvebot itself. */
	T_EQ_INT(wait_note(fd, "READY=1", &n, 30000), 0);
	T_EQ_INT(n.pid, p.pid);

	/*
	 * Healthy: a ping every half period, never closer than a quarter
	 * (the half, less delivery jitter) and never a whole period apart,
	 * which is when systemd would kill it.
	 */
	T_EQ_INT(wait_note(fd, "WATCHDOG=1", &n, 5000), 0);
	T_EQ_INT(n.pid, p.pid);
	last = n.at;
	for (pings = 0; pings < 6; pings++) {
		if (wait_note(fd, "WATCHDOG=1", &n, 5000) != 0)
			break;
		gap = n.at - last;
		if (gap > healthy_max)
			healthy_max = gap;
		T_OK(gap >= WATCHDOG_MS / 4);
		last = n.at;
	}
	T_EQ_INT(pings, 6);
	T_OK(healthy_max < WATCHDOG_MS);

	/* Wedge the router: the pings stop, then come back after. */
	T_EQ_INT(write(p.in_fd, wedge, strlen(wedge)), (long)strlen(wedge));
	T_EQ_INT(t_proc_wait_for(&p, "router wedged for 6s", 10000), 0);
	wedged_at = now_ms();
	max_gap = 0;
	while (now_ms() < wedged_at + (WEDGE_S + 10) * 1000) {
		if (next_note(fd, &n, 1000) != 0)
			continue;
		if (str_has_prefix(n.text, "STATUS=router stalled"))
			stalled = 1;
		if (strcmp(n.text, "WATCHDOG=1") != 0)
			continue;
		gap = n.at - last;
		if (gap > max_gap)
			max_gap = gap;
		last = n.at;
		if (max_gap >= 2 * WATCHDOG_MS && ++after == 3)
			break;
	}
	/*
	 * The router turns at least every second and counts as stuck after
	 * two, so a 6 s wedge leaves about 3 s without a ping: well beyond
	 * the whole period systemd waits, and any healthy gap above.
	 */
	T_OK(max_gap >= 2 * WATCHDOG_MS);
	T_OK(max_gap > 2 * healthy_max);
	T_OK(stalled);
	T_EQ_INT(after, 3);

	/* End of input: it stops, and says so. */
	close(p.in_fd);
	p.in_fd = -1;
	T_EQ_INT(wait_note(fd, "STOPPING=1", &n, 30000), 0);
	T_EQ_INT(t_proc_stop(&p, 0, 30000), 0);
	out = t_proc_output(&p);
	T_CONTAINS(out, "router stalled");
	T_CONTAINS(out, "router turning again");
	free(out);
	close(fd);
}

int
main(void)
{
	T_RUN(test_ready_watchdog_and_wedge);
	return t_summary();
}
