/*
 * t.c - the test harness behind t.h: case bookkeeping, temporary
 * folders, and running pvebot (or sshd, or a fake) as a child process.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "util.h"

extern char **environ;

int		 t_case_failed;
static int	 t_passed, t_failed;
static char	 t_dir[256];
static char	 t_written[1024];

void
t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list	 ap;

	if (!t_case_failed)
		fflush(stdout);
	t_case_failed++;
	printf("  check failed: %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void
t_run(const char *name, void (*fn)(void))
{
	const char	*only = getenv("T_ONLY");

	/* T_ONLY=name runs that case alone (loops of one case). */
	if (only != NULL && *only != '\0' && strcmp(only, name) != 0)
		return;
	t_case_failed = 0;
	t_dir[0] = '\0';
	signal(SIGPIPE, SIG_IGN);
	fn();
	if (t_case_failed) {
		printf("FAIL %s: %d check(s) failed%s%s\n", name, t_case_failed,
		    t_dir[0] ? ", files kept in " : "", t_dir);
		t_failed++;
	} else {
		printf("PASS %s\n", name);
		t_passed++;
		if (t_dir[0] != '\0' && getenv("T_KEEP") == NULL)
			nftw(t_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	fflush(stdout);
}

void
t_run_parallel(const struct t_case *cases, size_t n, int timeout_ms)
{
	pid_t	*pids = xcalloc(n, sizeof *pids);
	int	*status = xcalloc(n, sizeof *status);
	char	**logs = xcalloc(n, sizeof *logs);
	int64_t	 deadline = now_ms() + timeout_ms;
	size_t	 i, left = n;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < n; i++) {
		int	 fd;

		logs[i] = xstrdup("/tmp/pvebot-test-case-XXXXXX");
		if ((fd = mkstemp(logs[i])) == -1) {
			perror("mkstemp");
			abort();
		}
		if ((pids[i] = fork()) == -1) {
			perror("fork");
			abort();
		}
		if (pids[i] == 0) {
			setpgid(0, 0);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
			t_passed = t_failed = 0;
			t_run(cases[i].name, cases[i].fn);
			fflush(stdout);
			exit(t_failed == 0 ? 0 : 1);
		}
		setpgid(pids[i], pids[i]);
		close(fd);
	}
	while (left > 0) {
		for (i = 0; i < n; i++) {
			if (pids[i] <= 0)
				continue;
			if (waitpid(pids[i], &status[i], WNOHANG) == pids[i]) {
				pids[i] = 0;
				left--;
			} else if (now_ms() > deadline) {
				kill(-pids[i], SIGKILL);
				waitpid(pids[i], &status[i], 0);
				pids[i] = 0;
				left--;
			}
		}
		if (left > 0)
			sleep_ms(20);
	}
	for (i = 0; i < n; i++) {
		char	*out = t_slurp(logs[i]);
		int	 ok = WIFEXITED(status[i]) &&
			    WEXITSTATUS(status[i]) == 0;

		fputs(out != NULL ? out : "", stdout);
		if (ok)
			t_passed++;
		else {
			t_failed++;
			if (WIFSIGNALED(status[i]))
				printf("FAIL %s: killed by signal %d (timeout "
				    "%dms?)\n", cases[i].name,
				    WTERMSIG(status[i]), timeout_ms);
			else if (out == NULL || strstr(out, "FAIL ") == NULL)
				printf("FAIL %s: exited %d\n", cases[i].name,
				    WEXITSTATUS(status[i]));
		}
		free(out);
		unlink(logs[i]);
		free(logs[i]);
	}
	fflush(stdout);
	free(logs);
	free(status);
	free(pids);
}

int
t_summary(void)
{
	return t_failed == 0 ? 0 : 1;
}

const char *
t_tmpdir(void)
{
	if (t_dir[0] == '\0') {
		snprintf(t_dir, sizeof t_dir, "/tmp/pvebot-test-XXXXXX");
		if (mkdtemp(t_dir) == NULL) {
			perror("mkdtemp");
			abort();
		}
	}
	return t_dir;
}

char *
t_path(const char *name)
{
	if (name[0] == '/')
		return xstrdup(name);
	return xasprintf("%s/%s", t_tmpdir(), name);
}

const char *
t_write(const char *name, const char *content, int mode)
{
	char	*path = t_path(name);
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		abort();
	}
	fputs(content, f);
	fclose(f);
	chmod(path, (mode_t)mode);
	snprintf(t_written, sizeof t_written, "%s", path);
	free(path);
	return t_written;
}

const char *
t_pvebot(void)
{
	const char	*p = getenv("PVEBOT");

	return p != NULL && *p != '\0' ? p : "bin/pvebot";
}

int
t_spawn(char *const argv[], const char *stdin_text, char **out, char **err,
    int timeout_ms)
{
	posix_spawn_file_actions_t	 fa;
	int		 in[2], o[2], e[2], status = 0, done = 0;
	pid_t		 pid;
	struct buf	 bo, be;
	size_t		 off = 0, inlen = stdin_text ? strlen(stdin_text) : 0;
	int64_t		 deadline = now_ms() + timeout_ms;

	if (pipe(in) == -1 || pipe(o) == -1 || pipe(e) == -1)
		abort();
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	posix_spawn_file_actions_adddup2(&fa, e[1], 2);
	posix_spawn_file_actions_addclose(&fa, in[1]);
	posix_spawn_file_actions_addclose(&fa, o[0]);
	posix_spawn_file_actions_addclose(&fa, e[0]);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		perror(argv[0]);
		abort();
	}
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(o[1]);
	close(e[1]);
	if (inlen == 0) {
		close(in[1]);
		in[1] = -1;
	} else
		fcntl(in[1], F_SETFL, O_NONBLOCK);
	buf_init(&bo, 4 << 20);
	buf_init(&be, 4 << 20);
	buf_append(&bo, "", 0);
	buf_append(&be, "", 0);
	while (o[0] != -1 || e[0] != -1) {
		struct pollfd	 p[3];
		int		 n = 0, left = (int)(deadline - now_ms());

		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (o[0] != -1)
			p[n++] = (struct pollfd){ o[0], POLLIN, 0 };
		if (e[0] != -1)
			p[n++] = (struct pollfd){ e[0], POLLIN, 0 };
		if (in[1] != -1)
			p[n++] = (struct pollfd){ in[1], POLLOUT, 0 };
		if (poll(p, (nfds_t)n, left) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (p[i].revents == 0)
				continue;
			if (p[i].fd == in[1]) {
				ssize_t	 w = write(in[1], stdin_text + off,
				    inlen - off);
				if (w > 0)
					off += (size_t)w;
				if (w < 0 || off == inlen) {
					close(in[1]);
					in[1] = -1;
				}
				continue;
			}
			{
				struct buf	*b = p[i].fd == o[0] ? &bo : &be;
				int		*fdp = p[i].fd == o[0] ? &o[0] : &e[0];
				char		 chunk[4096];
				ssize_t		 r = read(*fdp, chunk, sizeof chunk);

				if (r <= 0) {
					close(*fdp);
					*fdp = -1;
				} else
					buf_append(b, chunk, (size_t)r);
			}
		}
	}
	if (in[1] != -1)
		close(in[1]);
	if (o[0] != -1)
		close(o[0]);
	if (e[0] != -1)
		close(e[0]);
	while (!done) {
		if (waitpid(pid, &status, 0) == pid)
			done = 1;
		else if (errno != EINTR)
			break;
	}
	if (out != NULL)
		*out = buf_steal(&bo);
	else
		buf_release(&bo);
	if (err != NULL)
		*err = buf_steal(&be);
	else
		buf_release(&be);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int
t_proc_start(struct t_proc *p, char *const argv[], int with_stdin)
{
	posix_spawn_file_actions_t	 fa;
	int		 in[2] = { -1, -1 }, fd;
	pid_t		 pid;
	static int	 seq;

	snprintf(p->out_path, sizeof p->out_path, "%s/proc-%d.log",
	    t_tmpdir(), seq++);
	fd = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (fd == -1)
		abort();
	if (with_stdin && pipe(in) == -1)
		abort();
	posix_spawn_file_actions_init(&fa);
	if (with_stdin) {
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
		posix_spawn_file_actions_addclose(&fa, in[1]);
	} else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
		    O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	posix_spawn_file_actions_adddup2(&fa, fd, 2);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		perror(argv[0]);
		abort();
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fd);
	if (with_stdin) {
		close(in[0]);
		p->in_fd = in[1];
	} else
		p->in_fd = -1;
	p->pid = pid;
	return 0;
}

int
t_proc_stop(struct t_proc *p, int sig, int timeout_ms)
{
	int	 status = 0;
	int64_t	 deadline = now_ms() + timeout_ms;

	if (p->pid <= 0)
		return -1;
	if (p->in_fd != -1) {
		close(p->in_fd);
		p->in_fd = -1;
	}
	if (sig != 0)
		kill(p->pid, sig);
	for (;;) {
		pid_t	 r = waitpid(p->pid, &status, WNOHANG);

		if (r == p->pid)
			break;
		if (now_ms() > deadline) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			break;
		}
		sleep_ms(10);
	}
	p->pid = 0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

char *
t_slurp(const char *path)
{
	return read_file(path, 64 << 20, NULL, NULL);
}

char *
t_proc_output(const struct t_proc *p)
{
	char	*s = t_slurp(p->out_path);

	return s != NULL ? s : xstrdup("");
}

int
t_proc_wait_for(const struct t_proc *p, const char *needle, int timeout_ms)
{
	int64_t	 deadline = now_ms() + timeout_ms;

	for (;;) {
		char	*s = t_proc_output(p);
		int	 found = strstr(s, needle) != NULL;

		free(s);
		if (found)
			return 0;
		if (now_ms() > deadline)
			return -1;
		sleep_ms(20);
	}
}

int
t_free_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	int			 fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		abort();
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

char *
t_swap(const char *s, const char *from, const char *to)
{
	const char	*at = s != NULL ? strstr(s, from) : NULL;

	if (at == NULL) {
		t_fail(__FILE__, __LINE__, "no \"%s\" to replace", from);
		return xstrdup(s != NULL ? s : "");
	}
	return xasprintf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}
