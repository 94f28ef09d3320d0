/*
 * exec_ssh.c - runs one command on a configured host through the system
 * OpenSSH client.
 *
 * Guarantees:
 * - ssh is started with posix_spawn and an argv; no local shell ever sees
 *   any part of the command. Options that could let a user's or the
 *   system's ssh configuration interfere are pinned (-F /dev/null, strict
 *   host key checking against the configured known_hosts file only, the
 *   configured key only, no agent, no multiplexing).
 * - Only hosts in conf->hosts are reached. Everything that can be checked
 *   locally (unknown host, key file missing or too open, known_hosts
 *   missing, control characters in an argument) is refused before any
 *   process starts.
 * - The remote command line is built from the argv by quoting every
 *   element on its own for the remote POSIX shell, so an element reaches
 *   the remote program as one literal argument whatever it contains.
 * - stdout is delivered line by line as it arrives and kept up to the cap
 *   (a note says where it was cut); stderr is kept apart, also capped.
 * - ssh runs in its own process group; at the deadline the whole group
 *   gets SIGKILL and the run is reported as timed out.
 * - ssh's own failures (exit 255) are told apart from the remote
 *   command's by its messages and turned into one line each.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "exec_ssh.h"
#include "log.h"
#include "util.h"

#define SSH_ERR_CAP	(64 * 1024)
#define SSH_GRACE_MS	2000	/* reading what is left after a kill */

int
ssh_error_temporary(enum ssh_error e)
{
	return e == SSH_ERR_UNREACHABLE || e == SSH_ERR_TIMEOUT ||
	    e == SSH_ERR_SSH;
}

const struct conf_ssh_host *
ssh_host_lookup(const struct conf_ssh *cs, const char *name)
{
	size_t	 i;

	if (cs == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cs->nhosts; i++) {
		if (cs->hosts[i].name != NULL &&
		    strcmp(cs->hosts[i].name, name) == 0)
			return &cs->hosts[i];
	}
	for (i = 0; i < cs->nhosts; i++) {
		if (cs->hosts[i].node != NULL &&
		    strcmp(cs->hosts[i].node, name) == 0)
			return &cs->hosts[i];
	}
	return NULL;
}

char *
ssh_quote(const char *arg)
{
	struct buf	 b;
	const char	*p;

	buf_init(&b, 0);
	buf_puts(&b, "'");
	for (p = arg; *p != '\0'; p++) {
		if (*p == '\'')
			buf_puts(&b, "'\\''");
		else
			buf_append(&b, p, 1);
	}
	buf_puts(&b, "'");
	return buf_steal(&b);
}

char *
ssh_remote_command(const char *const *argv, size_t argc)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 0);
	buf_append(&b, "", 0);
	for (i = 0; i < argc; i++) {
		char	*q = ssh_quote(argv[i]);

		if (i > 0)
			buf_puts(&b, " ");
		buf_puts(&b, q);
		free(q);
	}
	return buf_steal(&b);
}

char *
ssh_format_size(int64_t bytes, char *out, size_t len)
{
	if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
		snprintf(out, len, "%" PRId64 " MiB", bytes / (1024 * 1024));
	else if (bytes >= 1024 && bytes % 1024 == 0)
		snprintf(out, len, "%" PRId64 " KiB", bytes / 1024);
	else
		snprintf(out, len, "%" PRId64 " bytes", bytes);
	return out;
}

/* Host entry values become ssh options: keep them plain. */
static int
plain_value(const char *s, int allow_slash)
{
	const unsigned char	*p;

	if (s == NULL || *s == '\0' || *s == '-')
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p <= ' ' || *p == 0x7f || *p == '%' || *p == '"' ||
		    *p == '\'' || *p == '\\' || *p == '~')
			return 0;
		if (*p == '/' && !allow_slash)
			return 0;
	}
	return 1;
}

int
ssh_check_key_file(const char *host, const char *path, char **cause)
{
	struct stat	 st;

	if (path == NULL || *path == '\0')
		return set_cause(cause, "no key file configured for %s", host);
	if (stat(path, &st) == -1) {
		if (errno == ENOENT)
			return set_cause(cause, "key file %s for %s does not "
			    "exist", path, host);
		return set_cause(cause, "key file %s for %s: %s", path, host,
		    strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return set_cause(cause, "key file %s for %s is not a regular "
		    "file", path, host);
	if ((st.st_mode & 077) != 0)
		return set_cause(cause, "key file %s for %s is accessible by "
		    "group or others (mode %04o); run chmod 600 %s", path,
		    host, (unsigned)(st.st_mode & 07777), path);
	if (access(path, R_OK) == -1)
		return set_cause(cause, "key file %s for %s cannot be read: %s",
		    path, host, strerror(errno));
	return 0;
}

static int
check_host(const struct conf_ssh_host *h, char **cause)
{
	if (!plain_value(h->address, 0))
		return set_cause(cause, "SSH host %s has an invalid address "
		    "\"%s\"", h->name, h->address ? h->address : "");
	if (h->user != NULL && !plain_value(h->user, 0))
		return set_cause(cause, "SSH host %s has an invalid user "
		    "\"%s\"", h->name, h->user);
	if (h->port < 0 || h->port > 65535)
		return set_cause(cause, "SSH host %s has an invalid port %d",
		    h->name, h->port);
	if (!plain_value(h->key_file, 1))
		return set_cause(cause, "SSH host %s: the key file path must "
		    "not be empty nor contain spaces, quotes, %% or ~",
		    h->name);
	if (!plain_value(h->known_hosts, 1))
		return set_cause(cause, "SSH host %s: the known_hosts path "
		    "must not be empty nor contain spaces, quotes, %% or ~",
		    h->name);
	return 0;
}

static int
host_port(const struct conf_ssh_host *h)
{
	return h->port > 0 ? h->port : 22;
}

char **
ssh_build_argv(const struct conf_ssh *cs, const struct conf_ssh_host *h,
    const char *const *argv, size_t argc)
{
	char	**v;
	size_t	 n = 0;
	int64_t	 ct = cs->connect_timeout > 0 ? cs->connect_timeout :
	    SSH_DEFAULT_CONNECT;

	v = xcalloc(48, sizeof *v);
	v[n++] = xstrdup(cs->ssh_path != NULL && *cs->ssh_path != '\0' ?
	    cs->ssh_path : SSH_DEFAULT_PATH);
	v[n++] = xstrdup("-F");
	v[n++] = xstrdup("/dev/null");
	v[n++] = xstrdup("-T");
	v[n++] = xstrdup("-o");
	v[n++] = xstrdup("BatchMode=yes");
	v[n++] = xstrdup("-o");
	v[n++] = xstrdup("StrictHostKeyChecking=yes");
	v[n++] = xstrdup("-o");
	v[n++] = xasprintf("UserKnownHostsFile=%s", h->known_hosts);
	v[n++] = xstrdup("-o");
	v[n++] = xstrdup("GlobalKnownHostsFile=/dev/null");
	v[n++] = xstrdup("-o");
	v[n++] = xstrdup("UpdateHostKeys=no");
	v[n++] = xstrdup("-o");
	v[n++] = xasprintf("ConnectTimeout=%" PRId64, ct);
	v[n++] = xstrdup("-o");
	v[n++] = xstrdup("IdentitiesOnly=yes");
	v[n++] = xstrdup("-o");
	v[n++] = xstrdup("IdentityAgent=none");
	v[n++] = xstrdup("-o");
	v[n++] = xstrdup("ControlMaster=no");
	v[n++] = xstrdup("-o");
	v[n++] = xstrdup("ControlPath=none");
	v[n++] = xstrdup("-o");
	v[n++] = xstrdup("ClearAllForwardings=yes");
	v[n++] = xstrdup("-o");
	v[n++] = xstrdup("LogLevel=ERROR");
	v[n++] = xstrdup("-i");
	v[n++] = xstrdup(h->key_file);
	v[n++] = xstrdup("-p");
	v[n++] = xasprintf("%d", host_port(h));
	v[n++] = xstrdup("-l");
	v[n++] = xstrdup(h->user != NULL && *h->user != '\0' ? h->user :
	    "root");
	v[n++] = xstrdup("--");
	v[n++] = xstrdup(h->address);
	v[n++] = ssh_remote_command(argv, argc);
	v[n] = NULL;
	return v;
}

void
ssh_argv_free(char **v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
ssh_result_release(struct ssh_result *res)
{
	if (res == NULL)
		return;
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

/* The first line of s, trimmed; caller frees. */
static char *
first_line(const char *s)
{
	size_t	 n = strcspn(s, "\r\n");
	char	*line = xstrndup(s, n);
	char	*t = str_trim(line);

	if (t != line)
		memmove(line, t, strlen(t) + 1);
	return line;
}

/*
 * Turns ssh's own complaint into one line. Returns SSH_OK when stderr
 * does not look like ssh's: exit 255 then belongs to the remote command.
 */
static enum ssh_error
classify(const struct conf_ssh_host *h, const char *err, char **cause)
{
	const char	*where;
	char		*line;
	const char	*why = NULL;

	where = h->address;
	if (strstr(err, "REMOTE HOST IDENTIFICATION HAS CHANGED") != NULL ||
	    strstr(err, "has changed and you have requested strict") != NULL) {
		set_cause(cause, "host key for %s (%s:%d) has CHANGED - "
		    "refusing to connect; if this is expected, update the "
		    "known_hosts file %s", h->name, where, host_port(h),
		    h->known_hosts);
		return SSH_ERR_HOSTKEY_CHANGED;
	}
	if (strstr(err, "host key is known for") != NULL ||
	    strstr(err, "Host key verification failed") != NULL) {
		set_cause(cause, "host key for %s (%s:%d) is not in the "
		    "known_hosts file %s - refusing to connect; add it after "
		    "checking its fingerprint (see docs/ssh.md)", h->name,
		    where, host_port(h), h->known_hosts);
		return SSH_ERR_HOSTKEY_UNKNOWN;
	}
	if (strstr(err, "Permission denied (") != NULL) {
		set_cause(cause, "%s (%s:%d) refused the key %s for user %s: "
		    "Permission denied", h->name, where, host_port(h),
		    h->key_file, h->user != NULL ? h->user : "root");
		return SSH_ERR_AUTH;
	}
	if (strstr(err, "Connection refused") != NULL)
		why = "connection refused";
	else if (strstr(err, "timed out") != NULL)
		why = "connection timed out";
	else if (strstr(err, "No route to host") != NULL)
		why = "no route to host";
	else if (strstr(err, "Network is unreachable") != NULL)
		why = "network is unreachable";
	else if (strstr(err, "Could not resolve hostname") != NULL)
		why = "cannot resolve the address";
	else if (strstr(err, "kex_exchange_identification") != NULL ||
	    strstr(err, "Connection closed by") != NULL ||
	    strstr(err, "Connection reset by") != NULL)
		why = "the connection was closed during the handshake";
	if (why != NULL) {
		set_cause(cause, "cannot reach %s (%s:%d): %s", h->name, where,
		    host_port(h), why);
		return SSH_ERR_UNREACHABLE;
	}
	if (strstr(err, "closed by remote host") != NULL) {
		set_cause(cause, "the connection to %s (%s:%d) was closed by "
		    "the remote host before the command ended", h->name, where,
		    host_port(h));
		return SSH_ERR_SSH;
	}
	if (str_has_prefix(err, "ssh: ") || strstr(err, "\nssh: ") != NULL) {
		line = first_line(strstr(err, "ssh: "));
		set_cause(cause, "ssh to %s failed: %s", h->name, line);
		free(line);
		return SSH_ERR_SSH;
	}
	return SSH_OK;
}

struct reader {
	struct buf	 out;
	struct buf	 err;
	size_t		 delivered;	/* start of the next undelivered line */
	ssh_line_fn	 line_fn;
	void		*arg;
};

/* Hands complete lines (or, at the end, the rest) to the callback. */
static void
deliver(struct reader *r, int final)
{
	char	*nl;

	if (r->line_fn == NULL || r->out.data == NULL)
		return;
	while (r->delivered < r->out.len) {
		char	*start = r->out.data + r->delivered;

		nl = memchr(start, '\n', r->out.len - r->delivered);
		if (nl == NULL) {
			if (!final)
				return;
			r->line_fn(r->arg, start);
			r->delivered = r->out.len;
			return;
		}
		*nl = '\0';
		r->line_fn(r->arg, start);
		*nl = '\n';
		r->delivered = (size_t)(nl - r->out.data) + 1;
	}
}

static int
read_into(int fd, struct buf *b)
{
	char	 chunk[8192];
	ssize_t	 n;

	n = read(fd, chunk, sizeof chunk);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	/* Past the cap the bytes are drained and dropped. */
	if (!b->truncated)
		buf_append(b, chunk, (size_t)n);
	return 1;
}

static void
kill_group(pid_t pid)
{
	if (kill(-pid, SIGKILL) == -1)
		kill(pid, SIGKILL);
}

static int
spawn_ssh(char **argv, pid_t *pid, int *out_fd, int *err_fd, char **cause)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 mask, def;
	int				 o[2], e[2], rc;
	char				*envp[] = { "PATH=/usr/bin:/bin",
	    "LC_ALL=C", NULL };

	if (pipe2(o, O_CLOEXEC) == -1)
		return set_cause(cause, "pipe: %s", strerror(errno));
	if (pipe2(e, O_CLOEXEC) == -1) {
		close(o[0]);
		close(o[1]);
		return set_cause(cause, "pipe: %s", strerror(errno));
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	posix_spawn_file_actions_adddup2(&fa, e[1], 2);
	posix_spawnattr_init(&attr);
	sigemptyset(&mask);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGQUIT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGCHLD);
	sigaddset(&def, SIGUSR1);
	sigaddset(&def, SIGUSR2);
	sigaddset(&def, SIGALRM);
	posix_spawnattr_setsigmask(&attr, &mask);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(pid, argv[0], &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(o[1]);
	close(e[1]);
	if (rc != 0) {
		close(o[0]);
		close(e[0]);
		return set_cause(cause, "cannot run %s: %s", argv[0],
		    strerror(rc));
	}
	*out_fd = o[0];
	*err_fd = e[0];
	return 0;
}

/* Refusals that need no process: returns the host or NULL with *cause. */
static const struct conf_ssh_host *
preflight(const struct conf_ssh *cs, const char *name,
    const char *const *argv, size_t argc, struct ssh_result *res,
    char **cause)
{
	const struct conf_ssh_host	*h;
	const char			*ssh_path;
	size_t				 i;

	res->error = SSH_ERR_CONFIG;
	if (name == NULL || (h = ssh_host_lookup(cs, name)) == NULL) {
		set_cause(cause, "unknown SSH host \"%s\": it is not in "
		    "ssh.hosts of bot.conf", name != NULL ? name : "");
		return NULL;
	}
	if (argc == 0 || argv == NULL || argv[0] == NULL || *argv[0] == '\0') {
		set_cause(cause, "no command to run on %s", h->name);
		return NULL;
	}
	for (i = 0; i < argc; i++) {
		const unsigned char	*p;

		if (argv[i] == NULL) {
			set_cause(cause, "argument %zu of the command for %s "
			    "is missing", i + 1, h->name);
			return NULL;
		}
		for (p = (const unsigned char *)argv[i]; *p != '\0'; p++) {
			if (*p < 0x20 || *p == 0x7f) {
				set_cause(cause, "argument %zu of the command "
				    "for %s contains a control character",
				    i + 1, h->name);
				return NULL;
			}
		}
	}
	if (check_host(h, cause) == -1)
		return NULL;
	res->error = SSH_ERR_KEY;
	if (ssh_check_key_file(h->name, h->key_file, cause) == -1)
		return NULL;
	res->error = SSH_ERR_CONFIG;
	if (access(h->known_hosts, R_OK) == -1) {
		set_cause(cause, "known_hosts file %s for %s cannot be read: "
		    "%s (see docs/ssh.md)", h->known_hosts, h->name,
		    strerror(errno));
		return NULL;
	}
	ssh_path = cs->ssh_path != NULL && *cs->ssh_path != '\0' ?
	    cs->ssh_path : SSH_DEFAULT_PATH;
	if (access(ssh_path, X_OK) == -1) {
		res->error = SSH_ERR_SPAWN;
		set_cause(cause, "cannot run the ssh client %s: %s", ssh_path,
		    strerror(errno));
		return NULL;
	}
	res->error = SSH_OK;
	return h;
}

int
ssh_run(const struct conf_ssh *cs, const char *name, const char *const *argv,
    size_t argc, int64_t timeout_s, ssh_line_fn line_fn, void *arg,
    struct ssh_result *res, char **cause)
{
	const struct conf_ssh_host	*h;
	struct reader			 r;
	char				**sv, note[64], size[32];
	int				 fds[2] = { -1, -1 }, status = 0;
	int				 rc = -1, reaped = 0;
	pid_t				 pid;
	int64_t				 start = now_ms(), deadline, cap;

	memset(res, 0, sizeof *res);
	res->exit_status = -1;
	memset(&r, 0, sizeof r);
	cap = cs != NULL && cs->output_cap > 0 ? cs->output_cap :
	    SSH_DEFAULT_CAP;
	buf_init(&r.out, (size_t)cap);
	buf_init(&r.err, cap < SSH_ERR_CAP ? (size_t)cap : SSH_ERR_CAP);
	r.line_fn = line_fn;
	r.arg = arg;

	if ((h = preflight(cs, name, argv, argc, res, cause)) == NULL) {
		log_warn("exec_ssh", "refused host=%s error=%d",
		    name != NULL ? name : "", (int)res->error);
		goto out;
	}
	if (timeout_s <= 0)
		timeout_s = cs->timeout > 0 ? cs->timeout : SSH_DEFAULT_TIMEOUT;
	deadline = start + timeout_s * 1000;

	sv = ssh_build_argv(cs, h, argv, argc);
	log_info("exec_ssh", "run host=%s address=%s port=%d command=%s",
	    h->name, h->address, host_port(h), argv[0]);
	if (spawn_ssh(sv, &pid, &fds[0], &fds[1], cause) == -1) {
		ssh_argv_free(sv);
		res->error = SSH_ERR_SPAWN;
		goto out;
	}
	ssh_argv_free(sv);

	while (fds[0] != -1 || fds[1] != -1) {
		struct pollfd	 p[2];
		nfds_t		 n = 0;
		int64_t		 left = deadline - now_ms();

		if (left <= 0) {
			if (!res->timed_out) {
				res->timed_out = 1;
				kill_group(pid);
				deadline = now_ms() + SSH_GRACE_MS;
				continue;
			}
			break;
		}
		if (fds[0] != -1)
			p[n++] = (struct pollfd){ fds[0], POLLIN, 0 };
		if (fds[1] != -1)
			p[n++] = (struct pollfd){ fds[1], POLLIN, 0 };
		if (poll(p, n, (int)(left > 1000 ? 1000 : left)) <= 0)
			continue;
		for (nfds_t i = 0; i < n; i++) {
			if (p[i].revents == 0)
				continue;
			if (p[i].fd == fds[0]) {
				if (!read_into(fds[0], &r.out)) {
					close(fds[0]);
					fds[0] = -1;
				}
				deliver(&r, 0);
			} else if (!read_into(fds[1], &r.err)) {
				close(fds[1]);
				fds[1] = -1;
			}
		}
	}
	for (int i = 0; i < 2; i++) {
		if (fds[i] != -1)
			close(fds[i]);
	}
	/* Both pipes are closed; ssh itself may still linger. */
	while (!reaped) {
		pid_t	 w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			reaped = 1;
		else if (w == -1 && errno != EINTR)
			break;
		else if (now_ms() > deadline) {
			if (!res->timed_out) {
				res->timed_out = 1;
				kill_group(pid);
			}
			waitpid(pid, &status, 0);
			reaped = 1;
		} else
			sleep_ms(5);
	}
	deliver(&r, 1);
	if (r.out.truncated) {
		res->truncated = 1;
		ssh_format_size(cap, size, sizeof size);
		snprintf(note, sizeof note, "[output cut at %s]", size);
		r.out.limit = 0;
		if (r.out.len > 0 && r.out.data[r.out.len - 1] != '\n')
			buf_puts(&r.out, "\n");
		buf_puts(&r.out, note);
		buf_puts(&r.out, "\n");
		if (line_fn != NULL)
			line_fn(arg, note);
	}
	if (r.err.truncated) {
		r.err.limit = 0;
		buf_puts(&r.err, "\n[stderr cut]\n");
	}

	if (res->timed_out) {
		res->error = SSH_ERR_TIMEOUT;
		set_cause(cause, "the command on %s timed out after %" PRId64
		    " s and was killed", h->name, timeout_s);
	} else if (reaped && WIFEXITED(status)) {
		res->exit_status = WEXITSTATUS(status);
		if (res->exit_status == 255 && (res->error = classify(h,
		    buf_cstr(&r.err), cause)) != SSH_OK)
			res->exit_status = -1;
		else
			rc = 0;
	} else {
		res->error = SSH_ERR_SSH;
		if (reaped && WIFSIGNALED(status))
			set_cause(cause, "ssh to %s was killed by signal %d",
			    h->name, WTERMSIG(status));
		else
			set_cause(cause, "ssh to %s: lost track of the "
			    "process", h->name);
	}
	res->elapsed_ms = now_ms() - start;
	log_info("exec_ssh", "done host=%s status=%d error=%d timed_out=%d "
	    "truncated=%d elapsed_ms=%" PRId64, h->name, res->exit_status,
	    (int)res->error, res->timed_out, res->truncated, res->elapsed_ms);
out:
	if (rc == -1 && res->elapsed_ms == 0)
		res->elapsed_ms = now_ms() - start;
	res->out = buf_steal(&r.out);
	res->err = buf_steal(&r.err);
	return rc;
}
