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


#include "db.h"
#include "store.h"
#include "t.h"
#include "t_db.h"
#include "util.h"

/* The test's database (t_db.h), the same for each config of a test. */
static char	*test_dir, *test_db, *test_dbconf;

static const char *
test_database(void)
{
	if (test_dir == NULL || strcmp(test_dir, t_tmpdir()) != 0) {
		free(test_dir);
		free(test_db);
		free(test_dbconf);
		test_dir = xstrdup(t_tmpdir());
		test_dbconf = t_db_conf("p.db", &test_db);
	}
	return test_db;
}

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
	test_database();
	text = xasprintf("%scommands: %s\npolicies: %s\n"
	    "chat:\n  console: {user: %s}\n%s", test_dbconf, c, p, user,
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

/* An audit row as the chain covers it. */
struct audit_row {
	int64_t	 id, at;
	char	*actor, *event, *detail;
};

/* The chain as it was made before it was keyed: plain SHA-256. */
static void
sha_row(const struct audit_row *r, const char *detail, const char *prev,
    char out[65])
{
	char	*content;

	content = xasprintf("%lld|%lld|%zu:%s|%zu:%s|%zu:%s|%s",
	    (long long)r->id, (long long)r->at, strlen(r->actor), r->actor,
	    strlen(r->event), r->event, strlen(detail), detail, prev);
	sha256_hex(content, strlen(content), out);
	free(content);
}

/* Drops the trigger that forbids `what` (UPDATE or DELETE) on audit. */
static void
drop_audit_trigger(struct store *s, const char *what)
{
	char	*sql, *cause = NULL;

	sql = xasprintf(t_db_pg() ? "DROP TRIGGER audit_no_%s ON audit" :
	    "DROP TRIGGER audit_no_%s", what);
	T_EQ_INT(store_exec(s, sql, &cause), 0);
	free(cause);
	free(sql);
}

/* Points the head record at `head` ("ID:HASH"). */
static void
set_head(struct store *s, const char *head)
{
	struct db_stmt	*st;

	st = db_prepare(s, "INSERT INTO kv (key, value) VALUES "
	    "('audit_head', ?1) ON CONFLICT (key) DO UPDATE SET value = "
	    "excluded.value");
	T_OK(st != NULL);
	if (st == NULL)
		return;
	db_bind_text(st, 1, head);
	T_EQ_INT(db_step(st), DB_DONE);
	db_finish(s, st);
}

static struct store *
open_db(const char *path)
{
	struct store	*s;
	char		*cause = NULL;

	if ((s = store_open(path, &cause)) == NULL)
		t_fail(__FILE__, __LINE__, "store_open: %s", cause);
	free(cause);
	return s;
}

/*
 * What someone with write access to the database does without the key:
 * edits row 2, recomputes the whole chain the unkeyed way and points the
 * head record at the new last row.
 */
static void
rewrite_chain(const char *db_path)
{
	struct store	*s;
	struct db_stmt	*st;
	struct audit_row rows[64];
	char		 prev[65], hash[65], *detail, *head;
	size_t		 n = 0, i;
	int64_t		 last = 0;

	if ((s = open_db(db_path)) == NULL)
		return;
	drop_audit_trigger(s, "update");
	st = db_prepare(s, "SELECT id, at, actor, event, detail FROM audit "
	    "ORDER BY id");
	while (st != NULL && db_step(st) == DB_ROW && n < nitems(rows)) {
		rows[n].id = db_int(st, 0);
		rows[n].at = db_int(st, 1);
		rows[n].actor = db_text_dup(st, 2);
		rows[n].event = db_text_dup(st, 3);
		rows[n].detail = db_text_dup(st, 4);
		n++;
	}
	db_finish(s, st);
	T_OK(n > 2 && n < nitems(rows));
	snprintf(prev, sizeof prev, "%064d", 0);
	for (i = 0; i < n; i++) {
		last = rows[i].id;
		detail = last == 2 ? "nothing happened" : rows[i].detail;
		sha_row(&rows[i], detail, prev, hash);
		st = db_prepare(s, "UPDATE audit SET detail = ?1, prev_hash = "
		    "?2, hash = ?3 WHERE id = ?4");
		T_OK(st != NULL);
		if (st != NULL) {
			db_bind_text(st, 1, detail);
			db_bind_text(st, 2, prev);
			db_bind_text(st, 3, hash);
			db_bind_int(st, 4, last);
			T_EQ_INT(db_step(st), DB_DONE);
			db_finish(s, st);
		}
		snprintf(prev, sizeof prev, "%s", hash);
		free(rows[i].actor);
		free(rows[i].event);
		free(rows[i].detail);
	}
	head = xasprintf("%lld:%s", (long long)last, prev);
	set_head(s, head);
	free(head);
	store_close(s);
}

/* Deletes the last two rows and makes the head record agree. */
static void
cut_tail(const char *db_path)
{
	struct store	*s;
	struct db_stmt	*st;
	char		*cause = NULL, *head = NULL;

	if ((s = open_db(db_path)) == NULL)
		return;
	drop_audit_trigger(s, "delete");
	T_EQ_INT(store_exec(s, "DELETE FROM audit WHERE id > (SELECT "
	    "MAX(id) - 2 FROM audit)", &cause), 0);
	free(cause);
	st = db_prepare(s, "SELECT id, hash FROM audit ORDER BY id DESC "
	    "LIMIT 1");
	if (st != NULL && db_step(st) == DB_ROW)
		head = xasprintf("%lld:%s", (long long)db_int(st, 0),
		    db_text(st, 1));
	db_finish(s, st);
	T_OK(head != NULL);
	if (head != NULL)
		set_head(s, head);
	free(head);
	store_close(s);
}

/* Issue 14 item 6: the audit log cannot be rewritten undetected. */
static void
test_audit_rewrites_detected(void)
{
	char	*conf = conf_for("bob", NULL, NULL, NULL), *out = NULL;
	char	*db = xstrdup(test_database()), *oe[2] = { NULL, NULL };
	/* Next to a SQLite file; bot.conf's key_file on PostgreSQL. */
	char	*key = t_path(t_db_pg() ? "audit.key" : "p.db.key");
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
	char	*db = xstrdup(test_database()), *oe[2] = { NULL, NULL };

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
