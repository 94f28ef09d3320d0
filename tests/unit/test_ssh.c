/*
 * Tests for the SSH runner against a real sshd on 127.0.0.1 (see
 * tests/fakes/sshd.h): output, streaming, exit status, timeout, cap,
 * host key checks, injection attempts, refusals before any process
 * starts, and every SSH-backed command's happy path through its parser
 * with the argv templates of commands/ssh.yaml.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "exec_ssh.h"
#include "fakes/sshd.h"
#include "sensors.h"
#include "t.h"
#include "util.h"

struct env {
	struct fake_ssh_env	 f;
	char			*ssh_wrapper;	/* set by use_marker_ssh() */
	char			*marker;
};

static int
setup(struct env *e)
{
	char	*cause = NULL;

	memset(e, 0, sizeof *e);
	if (fake_ssh_env_start(&e->f, &cause) == -1) {
		t_fail(__FILE__, __LINE__, "cannot run the test sshd: %s",
		    cause);
		free(cause);
		return -1;
	}
	return 0;
}

static void
teardown(struct env *e)
{
	fake_ssh_env_stop(&e->f);
	free(e->ssh_wrapper);
	free(e->marker);
}

/* An ssh client that leaves a mark, to prove whether ssh was started. */
static void
use_marker_ssh(struct env *e)
{
	char	*script;

	e->marker = xasprintf("%s/ssh-started", e->f.sshd.dir);
	script = xasprintf("#!/bin/sh\ntouch %s\nexec /usr/bin/ssh \"$@\"\n",
	    e->marker);
	e->ssh_wrapper = fake_sshd_file(&e->f.sshd, "ssh-wrapper", script,
	    0755);
	free(script);
	e->f.cs.ssh_path = e->ssh_wrapper;
}

static int
exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int
run(struct env *e, const char *host, const char *const *argv, size_t argc,
    struct ssh_result *res, char **cause)
{
	*cause = NULL;
	return ssh_run(&e->f.cs, host, argv, argc, 0, NULL, NULL, res, cause);
}

static void
test_command_and_output(void)
{
	struct env		 e;
	struct ssh_result	 res;
	struct pvecm_status	 st;
	const char		*argv[] = { "pvecm", "status" };
	char			*cause = NULL, *s;

	if (setup(&e) == -1)
		return;
	/* Reached by its node name. */
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), 0);
	T_OK(cause == NULL);
	T_EQ_INT(res.exit_status, 0);
	T_EQ_INT(res.error, SSH_OK);
	T_EQ_INT(res.timed_out, 0);
	T_EQ_INT(res.truncated, 0);
	T_CONTAINS(res.out, "Quorate:          Yes\n");
	T_EQ_STR(res.err, "");
	T_OK(res.elapsed_ms > 0);
	T_EQ_INT(pvecm_parse(res.out, &st, &cause), 0);
	s = pvecm_summary(&st);
	T_EQ_STR(s, "cluster homelab: quorate, votes 3/3 (quorum 2), 3 nodes");
	free(s);
	pvecm_release(&st);
	ssh_result_release(&res);
	/* And by its host name. */
	T_EQ_INT(run(&e, "pve1-host", argv, 2, &res, &cause), 0);
	T_EQ_INT(res.exit_status, 0);
	ssh_result_release(&res);
	s = fake_sshd_calls(&e.f.sshd);
	T_EQ_STR(s, "pvecm [status]\npvecm [status]\n");
	free(s);
	teardown(&e);
}

struct lines {
	char	*text[16];
	int64_t	 at[16];
	size_t	 n;
};

static void
on_line(void *arg, const char *line)
{
	struct lines	*l = arg;

	if (l->n < nitems(l->text)) {
		l->text[l->n] = xstrdup(line);
		l->at[l->n++] = now_ms();
	}
}

static void
test_streamed_progress(void)
{
	struct env		 e;
	struct ssh_result	 res;
	struct lines		 l;
	const char		*argv[] = { "progress", "3", "1" };
	char			*cause = NULL;
	int64_t			 start, end;

	if (setup(&e) == -1)
		return;
	memset(&l, 0, sizeof l);
	start = now_ms();
	T_EQ_INT(ssh_run(&e.f.cs, "pve1", argv, 3, 0, on_line, &l, &res,
	    &cause), 0);
	end = now_ms();
	T_EQ_INT(res.exit_status, 0);
	T_EQ_INT(l.n, 3);
	if (l.n == 3) {
		T_EQ_STR(l.text[0], "step 1/3");
		T_EQ_STR(l.text[2], "step 3/3");
		/* The first line came while the command still had 2 s to go. */
		T_OK(end - l.at[0] >= 1500);
		T_OK(l.at[1] - l.at[0] >= 700);
		T_OK(l.at[0] - start < end - start - 1500);
	}
	T_EQ_STR(res.out, "step 1/3\nstep 2/3\nstep 3/3\n");
	for (size_t i = 0; i < l.n; i++)
		free(l.text[i]);
	ssh_result_release(&res);
	teardown(&e);
}

static void
test_nonzero_exit(void)
{
	struct env		 e;
	struct ssh_result	 res;
	const char		*status[] = { "systemctl", "--no-pager",
	    "status", "nosuch" };
	const char		*exit255[] = { "sh", "-c",
	    "echo partial; echo oops >&2; exit 255" };
	const char		*dropped[] = { "sh", "-c",
	    "echo started; sleep 0.5; kill -9 $PPID; sleep 5" };
	char			*cause = NULL;

	if (setup(&e) == -1)
		return;
	T_EQ_INT(run(&e, "pve1", status, 4, &res, &cause), 0);
	T_EQ_INT(res.exit_status, 4);
	T_EQ_INT(res.error, SSH_OK);
	T_CONTAINS(res.err, "Unit nosuch.service could not be found.");
	T_EQ_STR(res.out, "");
	ssh_result_release(&res);
	/* 255 from the remote command is its status, not an ssh error. */
	T_EQ_INT(run(&e, "pve1", exit255, 3, &res, &cause), 0);
	T_EQ_INT(res.exit_status, 255);
	T_EQ_INT(res.error, SSH_OK);
	T_EQ_STR(res.out, "partial\n");
	T_EQ_STR(res.err, "oops\n");
	ssh_result_release(&res);
	/* The server side of the session dies under the command. */
	T_EQ_INT(run(&e, "pve1", dropped, 3, &res, &cause), -1);
	T_EQ_INT(res.error, SSH_ERR_SSH);
	T_CONTAINS(cause, "the connection to pve1-host (127.0.0.1:");
	T_CONTAINS(cause, "was closed by the remote host before the command "
	    "ended");
	T_CONTAINS(res.out, "started\n");
	free(cause);
	ssh_result_release(&res);
	teardown(&e);
}

static int
pid_gone(pid_t pid)
{
	char	 path[64], *stat_text;
	int	 gone;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 1;
	/* Killed but not yet reaped by its new parent counts as gone. */
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((stat_text = t_slurp(path)) == NULL)
		return 1;
	gone = strstr(stat_text, ") Z ") != NULL;
	free(stat_text);
	return gone;
}

static void
test_timeout_kills_group(void)
{
	struct env		 e;
	struct ssh_result	 res;
	const char		*argv[] = { "ticker" };
	char			*cause = NULL, *script, *pidfile, *pidtext;
	const char		*err;
	pid_t			 helper = 0;
	int64_t			 start;

	if (setup(&e) == -1)
		return;
	/*
	 * A client that leaves a child of its own in the process group, and
	 * writes a line of its own at once: on a loaded machine the SSH
	 * connection alone can take the whole 3 s, so the remote ticker's
	 * lines cannot be counted on to arrive before the kill (that made
	 * this test flaky); the wrapper's line always does.
	 */
	pidfile = xasprintf("%s/helper.pid", e.f.sshd.dir);
	script = xasprintf("#!/bin/sh\nsleep 60 &\necho $! > %s\n"
	    "echo 'client up'\n/usr/bin/ssh \"$@\"\n", pidfile);
	e.ssh_wrapper = fake_sshd_file(&e.f.sshd, "ssh-wrapper", script, 0755);
	free(script);
	e.f.cs.ssh_path = e.ssh_wrapper;
	start = now_ms();
	T_EQ_INT(ssh_run(&e.f.cs, "pve1", argv, 1, 3, NULL, NULL, &res,
	    &cause), -1);
	T_OK(now_ms() - start >= 3000);
	T_OK(now_ms() - start < 6000);
	T_EQ_INT(res.timed_out, 1);
	T_EQ_INT(res.error, SSH_ERR_TIMEOUT);
	T_EQ_INT(res.exit_status, -1);
	T_EQ_STR(cause, "the command on pve1-host timed out after 3 s and was "
	    "killed");
	/* What arrived before the kill is kept, in order, whole lines. */
	T_OK(str_has_prefix(res.out, "client up\n"));
	{
		const char	*p = res.out + strlen("client up\n");
		char		 want[32];
		int		 k;

		for (k = 0; *p != '\0'; k++) {
			snprintf(want, sizeof want, "tick %d\n", k);
			if (!str_has_prefix(p, want)) {
				/* The kill may cut the last line short. */
				T_OK(strchr(p, '\n') == NULL &&
				    strncmp(p, want, strlen(p)) == 0);
				break;
			}
			p += strlen(want);
		}
	}
	pidtext = t_slurp(pidfile);
	T_OK(pidtext != NULL);
	if (pidtext != NULL) {
		helper = (pid_t)strtonum(str_trim(pidtext), 1, 1 << 22, &err);
		T_OK(err == NULL);
		free(pidtext);
	}
	if (helper > 0) {
		for (int i = 0; i < 100 && !pid_gone(helper); i++)
			sleep_ms(10);
		T_OK(pid_gone(helper));
		if (!pid_gone(helper))
			kill(helper, SIGKILL);
	}
	free(cause);
	free(pidfile);
	ssh_result_release(&res);
	teardown(&e);
}

static void
test_output_cap(void)
{
	struct env		 e;
	struct ssh_result	 res;
	struct lines		 l;
	const char		*argv[] = { "seq", "1", "200000" };
	const char		*note = "[output cut at 4 KiB]";
	char			*cause = NULL;
	size_t			 len;

	if (setup(&e) == -1)
		return;
	e.f.cs.output_cap = 4096;
	memset(&l, 0, sizeof l);
	T_EQ_INT(ssh_run(&e.f.cs, "pve1", argv, 3, 0, on_line, &l, &res,
	    &cause), 0);
	T_EQ_INT(res.exit_status, 0);
	T_EQ_INT(res.truncated, 1);
	len = strlen(res.out);
	T_OK(len <= 4096 + strlen(note) + 2);
	T_OK(len > 4096);
	T_OK(str_has_prefix(res.out, "1\n2\n3\n"));
	T_CONTAINS(res.out, "\n[output cut at 4 KiB]\n");
	T_OK(len > strlen(note) + 1 &&
	    strcmp(res.out + len - strlen(note) - 1,
	    "[output cut at 4 KiB]\n") == 0);
	T_NOT_CONTAINS(res.out, "\n200000\n");
	/* The callback saw the first lines; only 16 are recorded here. */
	T_EQ_INT(l.n, 16);
	if (l.n > 0)
		T_EQ_STR(l.text[0], "1");
	for (size_t i = 0; i < l.n; i++)
		free(l.text[i]);
	ssh_result_release(&res);

	/* The note reaches the callback as the last line. */
	memset(&l, 0, sizeof l);
	e.f.cs.output_cap = 20;
	T_EQ_INT(ssh_run(&e.f.cs, "pve1", argv, 3, 0, on_line, &l, &res,
	    &cause), 0);
	T_EQ_STR(res.out, "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n[output cut at 20 "
	    "bytes]\n");
	T_OK(l.n >= 1);
	if (l.n >= 1)
		T_EQ_STR(l.text[l.n - 1], "[output cut at 20 bytes]");
	for (size_t i = 0; i < l.n; i++)
		free(l.text[i]);
	ssh_result_release(&res);
	teardown(&e);
}

static void
test_hostkey_changed(void)
{
	struct env		 e;
	struct ssh_result	 res;
	const char		*argv[] = { "pvecm", "status" };
	char			*cause = NULL, *key, *line, *expect, *calls;

	if (setup(&e) == -1)
		return;
	/* known_hosts names another key for [127.0.0.1]:port. */
	key = fake_sshd_keygen(&e.f.sshd, "impostor", &cause);
	T_OK(key != NULL);
	if (key == NULL) {
		teardown(&e);
		return;
	}
	line = xasprintf("[127.0.0.1]:%d %s\n", e.f.sshd.port, key);
	t_write(e.f.sshd.known_hosts, line, 0644);
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), -1);
	T_EQ_INT(res.error, SSH_ERR_HOSTKEY_CHANGED);
	T_EQ_INT(res.exit_status, -1);
	expect = xasprintf("host key for pve1-host (127.0.0.1:%d) has CHANGED "
	    "- refusing to connect; if this is expected, update the "
	    "known_hosts file %s", e.f.sshd.port, e.f.sshd.known_hosts);
	T_EQ_STR(cause, expect);
	T_OK(strchr(cause, '\n') == NULL);
	calls = fake_sshd_calls(&e.f.sshd);
	T_EQ_STR(calls, "");
	free(calls);
	free(expect);
	free(cause);
	ssh_result_release(&res);

	/* A host that is not in known_hosts at all. */
	t_write(e.f.sshd.known_hosts, "", 0644);
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), -1);
	T_EQ_INT(res.error, SSH_ERR_HOSTKEY_UNKNOWN);
	T_CONTAINS(cause, "host key for pve1-host (127.0.0.1:");
	T_CONTAINS(cause, "is not in the known_hosts file");
	free(cause);
	ssh_result_release(&res);
	free(line);
	free(key);
	teardown(&e);
}

static const char *const nasty[] = {
	"'; touch @/x; '",
	"$(touch @/y)",
	"`touch @/z`",
	"a b  c",
	"\"double\" 'single'",
	"*",
	"~",
	"~root",
	";",
	"|",
	"&",
	"&& touch @/w",
	"$HOME",
	"\\",
	"x > @/v",
	"",
	"--help",
};

static void
test_injection_arrives_literally(void)
{
	struct env		 e;
	struct ssh_result	 res;
	const char		*argv[nitems(nasty) + 1];
	char			*words[nitems(nasty)], *cause = NULL, *path;
	struct buf		 want;
	const char		*files[] = { "x", "y", "z", "w", "v" };
	const char		*nl[] = { "echoargs", "a\ntouch /tmp/nl" };
	size_t			 i, turn = 0;

	if (setup(&e) == -1)
		return;
	buf_init(&want, 0);
	argv[0] = "echoargs";
	for (i = 0; i < nitems(nasty); i++) {
		struct buf	 b;
		const char	*p;

		buf_init(&b, 0);
		buf_append(&b, "", 0);
		for (p = nasty[i]; *p != '\0'; p++) {
			if (*p == '@')
				buf_puts(&b, e.f.sshd.dir);
			else
				buf_append(&b, p, 1);
		}
		words[i] = buf_steal(&b);
		argv[i + 1] = words[i];
		buf_printf(&want, "[%s]\n", words[i]);
	}
	T_EQ_INT(run(&e, "pve1", argv, nitems(argv), &res, &cause), 0);
	T_EQ_INT(res.exit_status, 0);
	T_EQ_STR(res.out, buf_cstr(&want));
	ssh_result_release(&res);

	/*
	 * Each word also goes through a placeholder of a real template
	 * (commands/ssh.yaml), taking turns: snapshot name, volume, unit.
	 * The ones that would create a file if a shell ran them do; the
	 * rest were covered above (one connection each costs time).
	 */
	for (i = 0; i < nitems(nasty); i++) {
		if (strstr(nasty[i], "touch") == NULL &&
		    strchr(nasty[i], '>') == NULL)
			continue;
		const char	*snap[] = { "lvcreate", "-s", "-n", words[i],
		    "-L", "2G", "pve/root" };
		const char	*rm[] = { "lvremove", "-y", words[i] };
		const char	*svc[] = { "systemctl", "--no-pager", "status",
		    words[i] };
		char		*calls, *expect;

		switch (turn++ % 3) {
		case 0:
			T_EQ_INT(run(&e, "pve1", snap, nitems(snap), &res,
			    &cause), 0);
			expect = xasprintf("lvcreate [-s] [-n] [%s] [-L] [2G] "
			    "[pve/root]\n", words[i]);
			break;
		case 1:
			T_EQ_INT(run(&e, "pve1", rm, nitems(rm), &res, &cause),
			    0);
			expect = xasprintf("lvremove [-y] [%s]\n", words[i]);
			break;
		default:
			T_EQ_INT(run(&e, "pve1", svc, nitems(svc), &res,
			    &cause), 0);
			expect = xasprintf("systemctl [--no-pager] [status] "
			    "[%s]\n", words[i]);
			break;
		}
		ssh_result_release(&res);
		calls = fake_sshd_calls(&e.f.sshd);
		T_CONTAINS(calls, expect);
		free(expect);
		free(calls);
	}
	T_EQ_INT(turn, 5);
	for (i = 0; i < nitems(files); i++) {
		path = xasprintf("%s/%s", e.f.sshd.dir, files[i]);
		T_OK(!exists(path));
		free(path);
	}
	/* Control characters never reach a process. */
	use_marker_ssh(&e);
	T_EQ_INT(run(&e, "pve1", nl, 2, &res, &cause), -1);
	T_EQ_STR(cause, "argument 2 of the command for pve1-host contains a "
	    "control character");
	T_OK(!exists(e.marker));
	free(cause);
	ssh_result_release(&res);
	for (i = 0; i < nitems(nasty); i++)
		free(words[i]);
	buf_release(&want);
	teardown(&e);
}

static void
test_unknown_host_refused(void)
{
	struct env		 e;
	struct ssh_result	 res;
	const char		*argv[] = { "pvecm", "status" };
	char			*cause = NULL;

	if (setup(&e) == -1)
		return;
	use_marker_ssh(&e);
	T_EQ_INT(run(&e, "pve9", argv, 2, &res, &cause), -1);
	T_EQ_STR(cause, "unknown SSH host \"pve9\": it is not in ssh.hosts of "
	    "bot.conf");
	T_EQ_INT(res.error, SSH_ERR_CONFIG);
	T_EQ_INT(res.exit_status, -1);
	T_EQ_STR(res.out, "");
	T_OK(!exists(e.marker));
	free(cause);
	ssh_result_release(&res);
	/* An address is not a host name either. */
	T_EQ_INT(run(&e, "127.0.0.1", argv, 2, &res, &cause), -1);
	T_CONTAINS(cause, "unknown SSH host \"127.0.0.1\"");
	T_OK(!exists(e.marker));
	free(cause);
	ssh_result_release(&res);
	/* The same wrapper does run for a configured host. */
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), 0);
	T_OK(exists(e.marker));
	ssh_result_release(&res);
	teardown(&e);
}

static void
test_refused_before_spawn(void)
{
	struct env		 e;
	struct ssh_result	 res;
	const char		*argv[] = { "pvecm", "status" };
	char			*cause = NULL, *expect, *missing;

	if (setup(&e) == -1)
		return;
	use_marker_ssh(&e);
	missing = xasprintf("%s/no_such_key", e.f.sshd.dir);
	e.f.host.key_file = missing;
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), -1);
	expect = xasprintf("key file %s for pve1-host does not exist",
	    missing);
	T_EQ_STR(cause, expect);
	T_EQ_INT(res.error, SSH_ERR_KEY);
	T_OK(!exists(e.marker));
	free(expect);
	free(cause);
	ssh_result_release(&res);

	/* A missing known_hosts file, an empty command. */
	e.f.host.key_file = e.f.sshd.user_key;
	e.f.host.known_hosts = missing;
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), -1);
	expect = xasprintf("known_hosts file %s for pve1-host cannot be read: "
	    "No such file or directory (see docs/ssh.md)", missing);
	T_EQ_STR(cause, expect);
	T_EQ_INT(res.error, SSH_ERR_CONFIG);
	free(expect);
	free(cause);
	ssh_result_release(&res);
	e.f.host.known_hosts = e.f.sshd.known_hosts;
	T_EQ_INT(run(&e, "pve1", argv, 0, &res, &cause), -1);
	T_EQ_STR(cause, "no command to run on pve1-host");
	free(cause);
	ssh_result_release(&res);
	/* A host entry whose address would read as an ssh option. */
	e.f.host.address = "-oProxyCommand=touch /tmp/p";
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), -1);
	T_CONTAINS(cause, "SSH host pve1-host has an invalid address");
	free(cause);
	ssh_result_release(&res);
	e.f.host.address = e.f.sshd.address;
	T_OK(!exists(e.marker));
	/* No ssh client at the configured path. */
	e.f.cs.ssh_path = missing;
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), -1);
	expect = xasprintf("cannot run the ssh client %s: No such file or "
	    "directory", missing);
	T_EQ_STR(cause, expect);
	T_EQ_INT(res.error, SSH_ERR_SPAWN);
	free(expect);
	free(cause);
	ssh_result_release(&res);
	free(missing);
	teardown(&e);
}

static void
test_key_file_mode(void)
{
	struct env		 e;
	struct ssh_result	 res;
	const char		*argv[] = { "pvecm", "status" };
	char			*cause = NULL, *expect;

	if (setup(&e) == -1)
		return;
	use_marker_ssh(&e);
	chmod(e.f.sshd.user_key, 0644);
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), -1);
	expect = xasprintf("key file %s for pve1-host is accessible by group "
	    "or others (mode 0644); run chmod 600 %s", e.f.sshd.user_key,
	    e.f.sshd.user_key);
	T_EQ_STR(cause, expect);
	T_EQ_INT(res.error, SSH_ERR_KEY);
	T_OK(!exists(e.marker));
	free(expect);
	free(cause);
	ssh_result_release(&res);
	chmod(e.f.sshd.user_key, 0640);
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), -1);
	T_CONTAINS(cause, "(mode 0640)");
	T_OK(!exists(e.marker));
	free(cause);
	ssh_result_release(&res);
	/* Fixed as the message says, the same call works. */
	chmod(e.f.sshd.user_key, 0600);
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), 0);
	T_EQ_INT(res.exit_status, 0);
	T_OK(exists(e.marker));
	ssh_result_release(&res);
	teardown(&e);
}

static void
test_unreachable_and_auth(void)
{
	struct env		 e;
	struct ssh_result	 res;
	const char		*argv[] = { "pvecm", "status" };
	char			*cause = NULL, *expect, *pub, *stranger;
	int			 port;

	if (setup(&e) == -1)
		return;
	/* Nothing listens on this port. */
	port = t_free_port();
	e.f.host.port = port;
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), -1);
	expect = xasprintf("cannot reach pve1-host (127.0.0.1:%d): connection "
	    "refused", port);
	T_EQ_STR(cause, expect);
	T_EQ_INT(res.error, SSH_ERR_UNREACHABLE);
	free(expect);
	free(cause);
	ssh_result_release(&res);

	/* A key the server does not know. */
	e.f.host.port = e.f.sshd.port;
	pub = fake_sshd_keygen(&e.f.sshd, "stranger", &cause);
	T_OK(pub != NULL);
	stranger = xasprintf("%s/stranger", e.f.sshd.dir);
	e.f.host.key_file = stranger;
	T_EQ_INT(run(&e, "pve1", argv, 2, &res, &cause), -1);
	expect = xasprintf("pve1-host (127.0.0.1:%d) refused the key %s for "
	    "user %s: Permission denied", e.f.sshd.port, stranger, e.f.sshd.user);
	T_EQ_STR(cause, expect);
	T_EQ_INT(res.error, SSH_ERR_AUTH);
	free(expect);
	free(cause);
	free(pub);
	free(stranger);
	ssh_result_release(&res);
	teardown(&e);
}

struct worker {
	struct env		*e;
	char			 word[32];
	struct ssh_result	 res;
	int			 rc;
	char			*cause;
};

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	const char	*argv[] = { "echoargs", w->word };

	w->rc = ssh_run(&w->e->f.cs, "pve1", argv, 2, 0, NULL, NULL, &w->res,
	    &w->cause);
	return NULL;
}

static int
open_fds(void)
{
	DIR	*d = opendir("/proc/self/fd");
	int	 n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void
test_concurrent_runs(void)
{
	struct env	 e;
	struct worker	 w[4];
	pthread_t	 th[4];
	int		 before;
	size_t		 i;
	char		*want;

	if (setup(&e) == -1)
		return;
	before = open_fds();
	for (i = 0; i < nitems(w); i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].e = &e;
		snprintf(w[i].word, sizeof w[i].word, "worker %zu", i);
		T_EQ_INT(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < nitems(w); i++) {
		pthread_join(th[i], NULL);
		T_EQ_INT(w[i].rc, 0);
		want = xasprintf("[worker %zu]\n", i);
		T_EQ_STR(w[i].res.out, want);
		free(want);
		free(w[i].cause);
		ssh_result_release(&w[i].res);
	}
	/* Every pipe of every run is closed again. */
	T_EQ_INT(open_fds(), before);
	teardown(&e);
}

int
main(void)
{
	T_RUN(test_command_and_output);
	T_RUN(test_streamed_progress);
	T_RUN(test_nonzero_exit);
	T_RUN(test_timeout_kills_group);
	T_RUN(test_output_cap);
	T_RUN(test_hostkey_changed);
	T_RUN(test_injection_arrives_literally);
	T_RUN(test_unknown_host_refused);
	T_RUN(test_refused_before_spawn);
	T_RUN(test_key_file_mode);
	T_RUN(test_unreachable_and_auth);
	T_RUN(test_concurrent_runs);
	return t_summary();
}
