/*
 * The command line as an operator uses it: check, explain, jobs, audit,
 * --help and the documented exit codes; SIGTERM and SIGHUP on `run`.
 */
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "store_leader.h"
#include "t.h"
#include "t_db.h"
#include "util.h"

static int
pvebot(const char *a1, const char *a2, const char *a3, const char *a4,
    const char *a5, const char *a6, char **out, char **err)
{
	char	*argv[] = { (char *)t_pvebot(), (char *)a1, (char *)a2,
	    (char *)a3, (char *)a4, (char *)a5, (char *)a6, NULL };

	return t_spawn(argv, NULL, out, err, 30000);
}

/* A console-only config using the repository's commands and policies. */
static const char *
console_conf(void)
{
	char		 cwd[512];
	char		*text, *db, *dbconf;
	const char	*path;

	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	dbconf = t_db_conf("p.db", &db);
	text = xasprintf("%scommands: %s/commands\n"
	    "policies: %s/policies\nchat:\n  console: {user: bob}\n",
	    dbconf, cwd, cwd);
	path = t_write("bot.conf", text, 0600);
	free(text);
	free(dbconf);
	free(db);
	return path;
}

static void
test_check_example_ok(void)
{
	char	*out = NULL, *err = NULL;

	T_EQ_INT(pvebot("check", "-c", "bot.conf.example", NULL, NULL, NULL,
	    &out, &err), 0);
	T_CONTAINS(out, "configuration OK");
	free(out);
	free(err);
}

static void
test_check_misspelled_key_exit_2(void)
{
	char		*out = NULL, *err = NULL, *path;
	const char	*p;

	p = t_write("typo.conf", "chat:\n  console:\n    enabld: true\n",
	    0600);
	path = xstrdup(p);
	T_EQ_INT(pvebot("check", "-c", path, NULL, NULL, NULL, &out, &err), 2);
	T_CONTAINS(err, "typo.conf:3:5: unknown key 'enabld' in console");
	T_NOT_CONTAINS(out, "configuration OK");
	free(out);
	free(err);
	free(path);
}

static void
test_check_reports_command_and_policy_errors(void)
{
	char	*out = NULL, *err = NULL, *text, *conf;
	char	*cmds = t_path("cmds"), *pols = t_path("pols");

	T_EQ_INT(mkdir(cmds, 0700), 0);
	T_EQ_INT(mkdir(pols, 0700), 0);
	t_write("cmds/a.yaml", "commands:\n  - name: x\n    summry: y\n", 0600);
	t_write("pols/p.yaml", "roles:\n  admin: {request: [\"*\"], "
	    "aprove: []}\n", 0600);
	text = xasprintf("commands: %s\npolicies: %s\n", cmds, pols);
	conf = xstrdup(t_write("c.conf", text, 0600));
	T_EQ_INT(pvebot("check", "-c", conf, NULL, NULL, NULL, &out, &err), 2);
	T_CONTAINS(err, "cmds/a.yaml:3:5:");
	T_CONTAINS(err, "pols/p.yaml:2:");
	free(out);
	free(err);
	free(text);
	free(conf);
	free(cmds);
	free(pols);
}

/*
 * A console config with a policies folder of its own ("pols" in
 * t_tmpdir()) and the repository's commands, or a copy of them in
 * "cmds" that a test can add to. Returns the config's path; caller frees.
 */
static char *
own_folders_conf(int own_commands)
{
	char	 cwd[512], *text, *conf, *cmd, *cmds, *db, *dbconf;

	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	cmd = xasprintf("%s/pols", t_tmpdir());
	T_EQ_INT(mkdir(cmd, 0700), 0);
	free(cmd);
	if (own_commands) {
		cmds = t_path("cmds");
		T_EQ_INT(mkdir(cmds, 0700), 0);
		cmd = xasprintf("cp %s/commands/*.yaml %s/", cwd, cmds);
		T_EQ_INT(system(cmd), 0);
		free(cmd);
	} else
		cmds = xasprintf("%s/commands", cwd);
	dbconf = t_db_conf("p.db", &db);
	text = xasprintf("%scommands: %s\npolicies: %s/pols\n"
	    "chat:\n  console: {user: bob}\n", dbconf, cmds, t_tmpdir());
	conf = xstrdup(t_write("bot.conf", text, 0600));
	free(text);
	free(dbconf);
	free(db);
	free(cmds);
	return conf;
}

/* Issue 14 item 3: a misspelt action in a prohibit rule. */
static void
test_check_misspelled_action(void)
{
	char	*out = NULL, *err = NULL, *conf = own_folders_conf(0);

	t_write("pols/p.yaml",
	    "roles:\n"
	    "  operator: {request: [\"*\"], approve: []}\n"
	    "users:\n"
	    "  bob: {identities: [console:bob], roles: [operator]}\n"
	    "rules:\n"
	    "  - name: safety\n"
	    "    effect: prohibit\n"
	    "    action: [guest.snapshot.delet]\n"
	    "    target: {snapshot: \"safety-*\"}\n"
	    "  - {name: all, effect: allow, action: [\"guest.*\", "
	    "\"meta.*\"]}\n", 0600);
	T_EQ_INT(pvebot("check", "-c", conf, NULL, NULL, NULL, &out, &err), 2);
	T_CONTAINS(err, "pols/p.yaml:8:14: action \"guest.snapshot.delet\" in "
	    "rule safety is not an action of any command; did you mean "
	    "\"guest.snapshot.delete\"?");
	T_NOT_CONTAINS(out, "configuration OK");
	free(out);
	free(err);
	/* The daemon will not run with it either. */
	{
		char	*argv[] = { (char *)t_pvebot(), "run", "-c", conf, NULL };

		T_EQ_INT(t_spawn(argv, "", &out, &err, 30000), 2);
		T_CONTAINS(err, "guest.snapshot.delet");
		free(out);
		free(err);
	}
	free(conf);
}

/* Issue 14 item 3: builtin: and parser: names nothing implements. */
static void
test_check_unknown_builtin_and_parser(void)
{
	char	*out = NULL, *err = NULL, *conf = own_folders_conf(1), cwd[512];
	char	*cmd;

	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	cmd = xasprintf("cp %s/policies/*.yaml %s/pols/", cwd, t_tmpdir());
	T_EQ_INT(system(cmd), 0);
	free(cmd);
	t_write("cmds/zz.yaml",
	    "commands:\n"
	    "  - name: stat\n"
	    "    summary: a typo of status\n"
	    "    action: cluster.read\n"
	    "    builtin: statu\n"
	    "  - name: lvs2\n"
	    "    summary: a typo of a parser\n"
	    "    action: host.snapshot.read\n"
	    "    mutating: false\n"
	    "    args: [{name: node, type: node}]\n"
	    "    ssh:\n"
	    "      host: node\n"
	    "      argv: [lvs]\n"
	    "      parser: lvs_jsn\n", 0600);
	T_EQ_INT(pvebot("check", "-c", conf, NULL, NULL, NULL, &out, &err), 2);
	T_CONTAINS(err, "cmds/zz.yaml:5:14: builtin: 'statu' is not a "
	    "built-in of pvebot; did you mean 'status'?");
	T_CONTAINS(err, "cmds/zz.yaml:14:15: parser: 'lvs_jsn' is not an "
	    "output parser of pvebot; did you mean 'lvs_json'?");
	T_NOT_CONTAINS(out, "configuration OK");
	free(out);
	free(err);
	free(conf);
}

/* Issue 14 item 4: .yml is read like .yaml; other files are reported. */
static void
test_check_yml_and_unread_files(void)
{
	char	*out = NULL, *err = NULL, *conf = own_folders_conf(0), cwd[512];
	char	*cmd, *pols = t_path("pols"), *hidden;

	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	cmd = xasprintf("cp %s/policies/*.yaml %s/", cwd, pols);
	T_EQ_INT(system(cmd), 0);
	free(cmd);
	/* A rule with a typo in a .yml file: read, so the typo shows. */
	t_write("pols/extra.yml",
	    "rules:\n"
	    "  - name: no-rollback\n"
	    "    efect: prohibit\n"
	    "    action: guest.snapshot.rollback\n", 0600);
	T_EQ_INT(pvebot("check", "-c", conf, NULL, NULL, NULL, &out, &err), 2);
	T_CONTAINS(err, "pols/extra.yml:3:5: unknown key \"efect\"");
	free(out);
	free(err);
	/* Fixed, the rule is in force. */
	t_write("pols/extra.yml",
	    "rules:\n"
	    "  - name: no-rollback\n"
	    "    effect: prohibit\n"
	    "    action: guest.snapshot.rollback\n", 0600);
	T_EQ_INT(pvebot("check", "-c", conf, NULL, NULL, NULL, &out, &err), 0);
	T_CONTAINS(out, "configuration OK");
	free(out);
	free(err);
	T_EQ_INT(pvebot("explain", "-c", conf, "--user", "console:alice",
	    "rollback 101 pre-upgrade", &out, &err), 0);
	T_CONTAINS(out, "decision: prohibit by ");
	T_CONTAINS(out, "extra.yml:2 (no-rollback)");
	free(out);
	free(err);
	/* Files that are not read: a note, a hidden file, a folder. */
	t_write("pols/extra.yaml.bak", "rules: []\n", 0600);
	hidden = xasprintf("%s/.users.yaml.swp", pols);
	t_write(hidden, "x", 0600);
	cmd = xasprintf("%s/old", pols);
	T_EQ_INT(mkdir(cmd, 0700), 0);
	T_EQ_INT(pvebot("check", "-c", conf, NULL, NULL, NULL, &out, &err), 2);
	T_CONTAINS(err, "pols/extra.yaml.bak:1:1: not read: only files ending "
	    "in .yaml or .yml are policy files");
	T_CONTAINS(err, "pols/.users.yaml.swp:1:1: not read: hidden files");
	T_CONTAINS(err, "pols/old:1:1: not read: folders inside");
	T_NOT_CONTAINS(out, "configuration OK");
	free(out);
	free(err);
	free(cmd);
	free(hidden);
	free(pols);
	free(conf);
}

/* Issue 14 item 10: a FIFO as token_file must not make check hang. */
static void
test_check_fifo_token_file(void)
{
	char	*out = NULL, *err = NULL, *fifo = t_path("tg.token"), *text;
	char	*conf;
	int64_t	 t0 = now_ms();

	T_EQ_INT(mkfifo(fifo, 0600), 0);
	text = xasprintf("chat:\n  telegram:\n    token_file: %s\n", fifo);
	conf = xstrdup(t_write("fifo.conf", text, 0600));
	T_EQ_INT(pvebot("check", "-c", conf, NULL, NULL, NULL, &out, &err), 2);
	T_OK(now_ms() - t0 < 10000);
	T_CONTAINS(err, "fifo.conf:3:17: token_file: secret file ");
	T_CONTAINS(err, "is not a regular file");
	free(out);
	free(err);
	free(text);
	free(conf);
	free(fifo);
}

/* The audit key follows the secret-file rules too, once it exists. */
static void
test_check_audit_key(void)
{
	char		*out = NULL, *err = NULL, *conf = xstrdup(console_conf());
	char		*want;
	const char	*key;

	T_EQ_INT(pvebot("check", "-c", conf, NULL, NULL, NULL, &out, &err), 0);
	free(out);
	free(err);
	/* Next to a SQLite file by default; named in bot.conf on PostgreSQL
	 * (t_db_conf()). */
	key = t_db_pg() ? "audit.key" : "p.db.key";
	t_write(key, "0123456789abcdef0123456789abcdef\n", 0644);
	T_EQ_INT(pvebot("check", "-c", conf, NULL, NULL, NULL, &out, &err), 2);
	T_CONTAINS(err, "bot.conf: audit.key_file: secret file ");
	want = xasprintf("%s is readable by group or others (mode 0644)",
	    key);
	T_CONTAINS(err, want);
	free(want);
	free(out);
	free(err);
	free(conf);
}

static void
test_explain_names_the_rule(void)
{
	char	*out = NULL, *err = NULL, *conf = xstrdup(console_conf());

	T_EQ_INT(pvebot("explain", "-c", conf, "--user", "console:bob",
	    "delsnap 101 safety-1", &out, &err), 0);
	T_CONTAINS(out, "decision: prohibit by ");
	T_CONTAINS(out, "policies/default.yaml:");
	free(out);
	free(err);
	T_EQ_INT(pvebot("explain", "-c", conf, NULL, NULL, NULL, &out, &err),
	    2);
	T_CONTAINS(err, "usage: pvebot explain");
	free(out);
	free(err);
	free(conf);
}

/*
 * Does a line of `pvebot audit` read "ID YYYY-MM-DD HH:MM:SS " then
 * `rest`, the time in UTC and within an hour of now?
 */
static int
audit_line_dated(const char *out, const char *rest)
{
	const char	*p = out;
	struct tm	 tm;
	long long	 id;
	time_t		 at;
	int		 len;

	while (p != NULL && *p != '\0') {
		memset(&tm, 0, sizeof tm);
		len = 0;
		if (sscanf(p, "%lld %4d-%2d-%2d %2d:%2d:%2d %n", &id,
		    &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		    &tm.tm_min, &tm.tm_sec, &len) == 7 && len > 0 &&
		    strncmp(p + len, rest, strlen(rest)) == 0) {
			tm.tm_year -= 1900;
			tm.tm_mon -= 1;
			at = timegm(&tm);
			return at > time(NULL) - 3600 && at <= time(NULL);
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return 0;
}

static void
test_help_and_usage_errors(void)
{
	static const char *cmds[] = { "run", "check", "explain", "jobs",
	    "audit", "demo" };
	char	*out = NULL, *err = NULL;
	size_t	 i;

	for (i = 0; i < nitems(cmds); i++) {
		T_EQ_INT(pvebot(cmds[i], "--help", NULL, NULL, NULL, NULL, &out,
		    &err), 0);
		T_CONTAINS(out, "usage: pvebot");
		free(out);
		free(err);
	}
	T_EQ_INT(pvebot("frobnicate", NULL, NULL, NULL, NULL, NULL, &out,
	    &err), 2);
	T_CONTAINS(err, "unknown command 'frobnicate'");
	free(out);
	free(err);
	T_EQ_INT(pvebot("run", "-c", "/nonexistent/bot.conf", NULL, NULL,
	    NULL, &out, &err), 2);
	T_CONTAINS(err, "/nonexistent/bot.conf");
	free(out);
	free(err);
	T_EQ_INT(pvebot("version", NULL, NULL, NULL, NULL, NULL, &out, &err),
	    0);
	T_CONTAINS(out, "pvebot ");
	free(out);
	free(err);
}

static void
test_run_jobs_audit(void)
{
	char	*conf = xstrdup(console_conf()), *out = NULL, *err = NULL;
	char	*argv[] = { (char *)t_pvebot(), "run", "-c", conf, NULL };

	/* Without Proxmox, a start is refused for want of a guest lookup
	 * only for names; a VMID becomes a job that fails clearly. */
	T_EQ_INT(t_spawn(argv, "whoami\nstart 101\nhelp start\n", &out, &err,
	    30000), 0);
	T_CONTAINS(out, "you are console:bob");
	T_CONTAINS(out, "no Proxmox endpoint is configured");
	T_CONTAINS(out, "start GUEST");
	free(out);
	free(err);
	T_EQ_INT(pvebot("jobs", "-c", conf, NULL, NULL, NULL, &out, &err), 0);
	T_CONTAINS(out, "#1 failed: start 101 (by console:bob");
	free(out);
	free(err);
	T_EQ_INT(pvebot("audit", "-c", conf, "--verify", NULL, NULL, &out,
	    &err), 0);
	T_CONTAINS(out, "audit log OK");
	free(out);
	free(err);
	T_EQ_INT(pvebot("audit", "-c", conf, NULL, NULL, NULL, &out, &err), 0);
	T_CONTAINS(out, "console:bob command room=console:console");
	T_OK(audit_line_dated(out, "console:bob command room="));
	free(out);
	free(err);
	free(conf);
}

/* Issue 22: the instances sharing the database and their leader. */
static void
test_status_cluster(void)
{
	char		*conf = xstrdup(console_conf()), *out = NULL, *err = NULL;
	char		*errors = NULL, *cause = NULL;
	struct conf	*c = conf_load(conf, &errors);
	struct leader	*l = NULL;
	int64_t		 epoch = 0;

	T_OK(c != NULL);
	if (c == NULL)
		goto out;
	T_EQ_INT(pvebot("status", "-c", conf, "--cluster", NULL, NULL, &out,
	    &err), 0);
	T_CONTAINS(out, "leader: none yet (epoch 0)");
	T_CONTAINS(out, "instances: 0");
	free(out);
	free(err);
	/* Without --cluster there is nothing else to show yet. */
	T_EQ_INT(pvebot("status", "-c", conf, NULL, NULL, NULL, &out, &err),
	    2);
	T_CONTAINS(err, "usage: pvebot status -c FILE --cluster");
	free(out);
	free(err);
	l = leader_open(c->database, "alpha", "site1", &cause);
	T_OK(l != NULL);
	if (l != NULL)
		T_EQ_INT(leader_try(l, &epoch), 1);
	T_EQ_INT(pvebot("status", "-c", conf, "--cluster", NULL, NULL, &out,
	    &err), 0);
	T_CONTAINS(out, "leader: alpha (epoch 1, since ");
	T_CONTAINS(out, "instances: 1\n  alpha  site site1  alive  started ");
	free(out);
	free(err);
out:
	leader_close(l);
	conf_free(c);
	free(errors);
	free(cause);
	free(conf);
}

static const char *small_policy =
    "roles:\n"
    "  operator: {request: [\"*\"], approve: []}\n"
    "users:\n"
    "  bob: {identities: [console:bob], roles: [operator]}\n"
    "rules:\n"
    "  - {name: all, effect: allow, action: [\"*\"]}\n";

static void
test_sigterm_and_sighup(void)
{
	char		*out, *text, *conf, *pols = t_path("pols"), cwd[512];
	char		*argv[5], *db, *dbconf;
	struct t_proc	 p;

	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	T_EQ_INT(mkdir(pols, 0700), 0);
	t_write("pols/p.yaml", small_policy, 0600);
	dbconf = t_db_conf("p.db", &db);
	text = xasprintf("%scommands: %s/commands\n"
	    "policies: %s\nchat:\n  console: {user: bob}\n", dbconf, cwd,
	    pols);
	free(dbconf);
	free(db);
	conf = xstrdup(t_write("bot.conf", text, 0600));
	argv[0] = (char *)t_pvebot();
	argv[1] = "run";
	argv[2] = "-c";
	argv[3] = conf;
	argv[4] = NULL;
	t_proc_start(&p, argv, 1);
	T_EQ_INT(t_proc_wait_for(&p, "connector started name=console", 10000),
	    0);
	/* A broken policy on SIGHUP: the error is logged, the old one stays. */
	t_write("pols/p.yaml", "roles: [\n", 0600);
	kill(p.pid, SIGHUP);
	T_EQ_INT(t_proc_wait_for(&p, "reload failed, keeping the old", 10000),
	    0);
	T_OK(write(p.in_fd, "whoami\n", 7) == 7);
	T_EQ_INT(t_proc_wait_for(&p, "roles: operator", 10000), 0);
	/* A good one is taken. */
	t_write("pols/p.yaml", small_policy, 0600);
	kill(p.pid, SIGHUP);
	T_EQ_INT(t_proc_wait_for(&p, "commands and policies reloaded", 10000),
	    0);
	T_EQ_INT(t_proc_stop(&p, SIGTERM, 10000), 0);
	out = t_proc_output(&p);
	T_CONTAINS(out, "level=info part=app stopped");
	free(out);
	free(conf);
	free(text);
	free(pols);
}

int
main(void)
{
	T_RUN(test_check_example_ok);
	T_RUN(test_check_misspelled_key_exit_2);
	T_RUN(test_check_reports_command_and_policy_errors);
	T_RUN(test_check_misspelled_action);
	T_RUN(test_check_unknown_builtin_and_parser);
	T_RUN(test_check_yml_and_unread_files);
	T_RUN(test_check_fifo_token_file);
	T_RUN(test_check_audit_key);
	T_RUN(test_explain_names_the_rule);
	T_RUN(test_help_and_usage_errors);
	T_RUN(test_run_jobs_audit);
	T_RUN(test_status_cluster);
	T_RUN(test_sigterm_and_sighup);
	return t_summary();
}
