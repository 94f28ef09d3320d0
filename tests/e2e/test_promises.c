/*
 * test_promises.c - issue 14's promises as an operator meets them: `pvebot
 * run` with the console (the repository's commands and default policy
 * unless a test says otherwise), `pvebot explain` and `pvebot audit`,
 * each test in its own folder with its own database.
 *
 *   - a state-changing command whose action ends in .read is not open to
 *     viewers (the read rule goes by the catalogue's mutating flag);
 *   - the audit log cannot be rewritten without its key: a recomputed
 *     chain, or a deleted tail with the head record made to agree, makes
 *     `pvebot audit --verify` say BROKEN;
 *   - the running daemon cannot dump core;
 *   - silences have a maximum, and long or catch-all ones are announced
 *     in the alert room;
 *   - a safety-* host snapshot can be made and is protected;
 *   - a console line with a NUL byte is refused as a whole;
 *   - a trailing reason (after -- or because) satisfies reason_required.
 */
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "t.h"
#include "util.h"

/*
 * A console config as `user`, with the repository's commands and
 * policies unless cmds/pols name folders of t_tmpdir(); `extra` is
 * appended (YAML). Returns its path; caller frees.
 */
static char *
conf_for(const char *user, const char *cmds, const char *pols,
    const char *extra)
{
	char	 cwd[512], *text, *c, *p, *conf;

	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	c = cmds != NULL ? t_path(cmds) : xasprintf("%s/commands", cwd);
	p = pols != NULL ? t_path(pols) : xasprintf("%s/policies", cwd);
	text = xasprintf("database: %s/p.db\ncommands: %s\npolicies: %s\n"
	    "chat:\n  console: {user: %s}\n%s", t_tmpdir(), c, p, user,
	    extra != NULL ? extra : "");
	conf = xstrdup(t_write("bot.conf", text, 0600));
	free(text);
	free(c);
	free(p);
	return conf;
}

/* `pvebot run -c conf` with `input` typed on the console; its output. */
static int
run_console(const char *conf, const char *input, char **out)
{
	char	*argv[] = { (char *)t_pvebot(), "run", "-c", (char *)conf,
	    NULL };
	char	*err = NULL;
	int	 rc;

	rc = t_spawn(argv, input, out, &err, 60000);
	if (rc != 0)
		printf("  pvebot run exited %d: %s\n", rc, err);
	free(err);
	return rc;
}

static int
pvebot(char *out_err[2], const char *a1, const char *a2, const char *a3,
    const char *a4, const char *a5, const char *a6, const char *a7)
{
	char	*argv[] = { (char *)t_pvebot(), (char *)a1, (char *)a2,
	    (char *)a3, (char *)a4, (char *)a5, (char *)a6, (char *)a7, NULL };

	return t_spawn(argv, NULL, &out_err[0], &out_err[1], 30000);
}

/* Issue 14 item 5: a viewer and a mutating command named like a read. */
static void
test_viewer_and_mutating_read(void)
{
	char	 cwd[512], *cmd, *conf, *out = NULL;

	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	cmd = xasprintf("mkdir %s/cmds && cp %s/commands/*.yaml %s/cmds/",
	    t_tmpdir(), cwd, t_tmpdir());
	T_EQ_INT(system(cmd), 0);
	free(cmd);
	/* Someone adds a hard reset and names its action like a listing. */
	t_write("cmds/zz.yaml",
	    "commands:\n"
	    "  - name: hardreset\n"
	    "    summary: reset every guest\n"
	    "    action: cluster.reset.read\n"
	    "    mutating: true\n"
	    "    builtin: status\n", 0600);
	conf = conf_for("carol", "cmds", NULL, NULL);
	T_EQ_INT(run_console(conf, "hardreset\nstatus\n", &out), 0);
	T_CONTAINS(out, "Refused: ");
	T_CONTAINS(out, "(default deny)");
	T_NOT_CONTAINS(out, "Job #1: hardreset");
	/* A real read is still open to the viewer. */
	T_CONTAINS(out, "Job #1: status");
	free(out);
	free(conf);
}

/* The chain as it was made before it was keyed: plain SHA-256. */
static void
sha_row(sqlite3_stmt *st, const char *detail, const char *prev,
    char out[65])
{
	const char	*actor = (const char *)sqlite3_column_text(st, 2);
	const char	*event = (const char *)sqlite3_column_text(st, 3);
	char		*content;

	content = xasprintf("%lld|%lld|%zu:%s|%zu:%s|%zu:%s|%s",
	    (long long)sqlite3_column_int64(st, 0),
	    (long long)sqlite3_column_int64(st, 1), strlen(actor), actor,
	    strlen(event), event, strlen(detail), detail, prev);
	sha256_hex(content, strlen(content), out);
	free(content);
}

/*
 * What someone with write access to the database does without the key:
 * edits row 2, recomputes the whole chain the unkeyed way and points the
 * head record at the new last row.
 */
static void
rewrite_chain(const char *db_path)
{
	sqlite3		*db;
	sqlite3_stmt	*st, *up;
	char		 prev[65], hash[65], *detail, *sql;
	int64_t		 last = 0;

	T_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
	T_EQ_INT(sqlite3_exec(db, "DROP TRIGGER audit_no_update", NULL, NULL,
	    NULL), SQLITE_OK);
	snprintf(prev, sizeof prev, "%064d", 0);
	sqlite3_prepare_v2(db, "SELECT id, at, actor, event, detail FROM audit "
	    "ORDER BY id", -1, &st, NULL);
	sqlite3_prepare_v2(db, "UPDATE audit SET detail = ?1, prev_hash = ?2, "
	    "hash = ?3 WHERE id = ?4", -1, &up, NULL);
	while (sqlite3_step(st) == SQLITE_ROW) {
		last = sqlite3_column_int64(st, 0);
		detail = xstrdup(last == 2 ? "nothing happened" :
		    (const char *)sqlite3_column_text(st, 4));
		sha_row(st, detail, prev, hash);
		sqlite3_bind_text(up, 1, detail, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(up, 2, prev, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(up, 3, hash, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(up, 4, last);
		T_EQ_INT(sqlite3_step(up), SQLITE_DONE);
		sqlite3_reset(up);
		snprintf(prev, sizeof prev, "%s", hash);
		free(detail);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	sql = sqlite3_mprintf("INSERT OR REPLACE INTO kv VALUES ('audit_head', "
	    "'%lld:%q')", (long long)last, prev);
	T_EQ_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_free(sql);
	sqlite3_close(db);
}

/* Deletes the last two rows and makes the head record agree. */
static void
cut_tail(const char *db_path)
{
	sqlite3		*db;
	char		*sql;

	T_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
	sql = sqlite3_mprintf("DROP TRIGGER audit_no_delete;"
	    "DELETE FROM audit WHERE id > (SELECT MAX(id) - 2 FROM audit);"
	    "INSERT OR REPLACE INTO kv SELECT 'audit_head', id || ':' || hash "
	    "FROM audit ORDER BY id DESC LIMIT 1;");
	T_EQ_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_free(sql);
	sqlite3_close(db);
}

/* Issue 14 item 6: the audit log cannot be rewritten undetected. */
static void
test_audit_rewrites_detected(void)
{
	char	*conf = conf_for("bob", NULL, NULL, NULL), *out = NULL;
	char	*db = t_path("p.db"), *oe[2] = { NULL, NULL };
	char	*key = t_path("p.db.key");
	struct stat st;

	T_EQ_INT(run_console(conf, "whoami\nstart 101\nhelp\n", &out), 0);
	/* The key was made at the first start, for pvebot's user only. */
	T_EQ_INT(stat(key, &st), 0);
	T_EQ_INT(st.st_mode & 0777, 0600);
	free(out);
	T_EQ_INT(pvebot(oe, "audit", "-c", conf, "--verify", NULL, NULL,
	    NULL), 0);
	T_CONTAINS(oe[0], "audit log OK");
	T_CONTAINS(oe[0], "keyed (HMAC-SHA256) from row 1");
	free(oe[0]);
	free(oe[1]);

	rewrite_chain(db);
	T_EQ_INT(pvebot(oe, "audit", "-c", conf, "--verify", NULL, NULL,
	    NULL), 1);
	T_CONTAINS(oe[0], "audit log BROKEN");
	free(oe[0]);
	free(oe[1]);
	free(db);
	free(key);
	free(conf);
}

static void
test_audit_cut_tail_detected(void)
{
	char	*conf = conf_for("bob", NULL, NULL, NULL), *out = NULL;
	char	*db = t_path("p.db"), *oe[2] = { NULL, NULL };

	T_EQ_INT(run_console(conf, "whoami\nstart 101\nhelp\n", &out), 0);
	free(out);
	cut_tail(db);
	T_EQ_INT(pvebot(oe, "audit", "-c", conf, "--verify", NULL, NULL,
	    NULL), 1);
	T_CONTAINS(oe[0], "audit log BROKEN");
	T_CONTAINS(oe[0], "were deleted");
	free(oe[0]);
	free(oe[1]);
	free(db);
	free(conf);
}

/* Issue 14 item 10: no core dump of the running daemon. */
static void
test_no_core_dumps(void)
{
	char		*conf = conf_for("bob", NULL, NULL, NULL), *limits, *line;
	char		*argv[] = { (char *)t_pvebot(), "run", "-c", conf, NULL };
	char		 path[64], soft[32], hard[32];
	struct t_proc	 p;

	T_EQ_INT(t_proc_start(&p, argv, 1), 0);
	T_EQ_INT(t_proc_wait_for(&p, "connector started name=console", 20000),
	    0);
	snprintf(path, sizeof path, "/proc/%d/limits", p.pid);
	limits = t_slurp(path);
	T_OK(limits != NULL);
	line = limits != NULL ? strstr(limits, "Max core file size") : NULL;
	T_OK(line != NULL);
	if (line != NULL) {
		T_EQ_INT(sscanf(line + strlen("Max core file size"),
		    "%31s %31s", soft, hard), 2);
		T_EQ_STR(soft, "0");
		T_EQ_STR(hard, "0");
	}
	free(limits);
	/* The end of the console's input ends it (a SIGTERM this early
	 * could come before run installs its handler). */
	T_EQ_INT(t_proc_stop(&p, 0, 20000), 0);
	free(conf);
}

/* Issue 14 item 11: a maximum, and announcements in the alert room. */
static void
test_silence_limits_and_announcements(void)
{
	char	*conf = conf_for("bob", NULL, NULL, NULL), *out = NULL;

	T_EQ_INT(run_console(conf, "silence rule=* 3650d\n"
	    "silence rule=* 2h\n"
	    "silence rule=node-cpu-high 3d disk swap\n"
	    "silence rule=node-cpu-high 2h\n", &out), 0);
	T_CONTAINS(out, "a silence may last at most 7d");
	T_CONTAINS(out, "Nothing was silenced.");
	T_CONTAINS(out, "silence 1: rule=* for 2h00m (announced in the alert "
	    "rooms)");
	T_CONTAINS(out, "console:bob silenced EVERY alert for 2h00m");
	T_CONTAINS(out, "silence 2: rule=node-cpu-high for 3d0h (announced");
	T_CONTAINS(out, "console:bob silenced rule=node-cpu-high for 3d0h");
	T_CONTAINS(out, ": disk swap");
	T_CONTAINS(out, "silence 3: rule=node-cpu-high for 2h00m\n");
	T_NOT_CONTAINS(out, "silence 4");
	free(out);
	free(conf);

	/* The maximum comes from bot.conf. */
	conf = conf_for("bob", NULL, NULL, "monitor:\n  max_silence: 1h\n");
	T_EQ_INT(run_console(conf, "silence rule=backup-* 2h\n", &out), 0);
	T_CONTAINS(out, "a silence may last at most 1h");
	free(out);
	free(conf);
}

/* Issue 14 item 12: a safety-* host snapshot is protected. */
static void
test_safety_host_snapshot_protected(void)
{
	char	*conf = conf_for("bob", NULL, NULL, NULL), *oe[2];

	/* Not even an admin removes it from chat. */
	T_EQ_INT(pvebot(oe, "explain", "-c", conf, "--user", "console:alice",
	    "hostsnap-remove pve1 pve/safety-pre-upgrade", NULL), 0);
	T_CONTAINS(oe[0], "decision: prohibit by ");
	T_CONTAINS(oe[0], "(safety-snapshots-undeletable)");
	free(oe[0]);
	free(oe[1]);
	/* Making one is allowed; removing a hostsnap-* one still is. */
	T_EQ_INT(pvebot(oe, "explain", "-c", conf, "--user", "console:bob",
	    "hostsnap pve1 safety-pre-upgrade", NULL), 0);
	T_CONTAINS(oe[0], "decision: allow by ");
	free(oe[0]);
	free(oe[1]);
	T_EQ_INT(pvebot(oe, "explain", "-c", conf, "--user", "console:alice",
	    "hostsnap-remove pve1 pve/hostsnap-20261001-010000", NULL), 0);
	T_CONTAINS(oe[0], "decision: allow by ");
	free(oe[0]);
	free(oe[1]);
	free(conf);
}

/* Issue 14 item 13: "start 101\0reboot" does not run "start 101". */
static void
test_console_nul_refused(void)
{
	char		*conf = conf_for("bob", NULL, NULL, NULL), *out;
	char		*argv[] = { (char *)t_pvebot(), "run", "-c", conf, NULL };
	static const char line[] = "start 101\0reboot\nwhoami\n";
	struct t_proc	 p;

	T_EQ_INT(t_proc_start(&p, argv, 1), 0);
	T_EQ_INT(t_proc_wait_for(&p, "connector started name=console", 20000),
	    0);
	T_OK(write(p.in_fd, line, sizeof line - 1) == (ssize_t)sizeof line - 1);
	T_EQ_INT(t_proc_wait_for(&p, "you are console:bob", 20000), 0);
	T_EQ_INT(t_proc_stop(&p, 0, 20000), 0);
	out = t_proc_output(&p);
	T_CONTAINS(out, "that line contains a NUL byte; nothing was done");
	T_NOT_CONTAINS(out, "Job #1");
	T_NOT_CONTAINS(out, "command=start 101");
	free(out);
	free(conf);
}

/* Issue 14 item 17: a trailing reason satisfies reason_required. */
static void
test_trailing_reason(void)
{
	char	*conf, *out = NULL, *pols = t_path("pols");

	T_EQ_INT(mkdir(pols, 0700), 0);
	t_write("pols/p.yaml",
	    "roles:\n"
	    "  operator: {request: [\"*\"], approve: []}\n"
	    "  admin: {request: [\"*\"], approve: [\"*\"]}\n"
	    "users:\n"
	    "  bob: {identities: [console:bob], roles: [operator]}\n"
	    "  alice: {identities: [console:alice], roles: [admin]}\n"
	    "rules:\n"
	    "  - name: say-why\n"
	    "    effect: require_approval\n"
	    "    action: [guest.snapshot.rollback, guest.reboot]\n"
	    "    approvers: [admin]\n"
	    "    reason_required: yes\n"
	    "  - {name: rest, effect: allow, action: [\"meta.*\", \"job.*\"]}\n",
	    0600);
	conf = conf_for("bob", NULL, "pols", NULL);
	T_EQ_INT(run_console(conf, "rollback 101 pre-upgrade\n"
	    "rollback 101 pre-upgrade because the upgrade broke nginx\n"
	    "reboot 101 -- kernel update\n"
	    "reboot 101 because\n", &out), 0);
	T_CONTAINS(out, "rollback needs a reason");
	T_CONTAINS(out, "Approval needed: job #1");
	/* The reason is shown once, on its own line. */
	T_CONTAINS(out, "> rollback 101 pre-upgrade\n");
	T_NOT_CONTAINS(out, "-- the upgrade broke nginx");
	T_CONTAINS(out, "reason: the upgrade broke nginx");
	T_CONTAINS(out, "Approval needed: job #2");
	T_CONTAINS(out, "reason: kernel update");
	T_CONTAINS(out, "The reason after -- or because is empty");
	T_NOT_CONTAINS(out, "Too many arguments");
	free(out);
	free(conf);
	free(pols);
}

int
main(void)
{
	T_RUN(test_viewer_and_mutating_read);
	T_RUN(test_audit_rewrites_detected);
	T_RUN(test_audit_cut_tail_detected);
	T_RUN(test_no_core_dumps);
	T_RUN(test_silence_limits_and_announcements);
	T_RUN(test_safety_host_snapshot_protected);
	T_RUN(test_console_nul_refused);
	T_RUN(test_trailing_reason);
	return t_summary();
}
