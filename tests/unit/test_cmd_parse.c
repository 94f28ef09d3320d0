/*
 * test_cmd_parse.c - chat lines against the shipped catalogue: prefix
 * forms, quoting, typos, argument counts, every type through a real
 * command, and hostile input. Each row is what a user types and what
 * they should see.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "t.h"
#include "util.h"

enum where { DIRECT, GROUP, ADDRESSED };

struct parse_case {
	enum where		 where;
	const char		*line;
	enum cmd_parse_result	 want;
	const char		*expect;	/* canonical when OK, else a
						   substring of the cause */
};

static struct catalogue *cat;

static struct catalogue *
shipped(void)
{
	char	*errors = NULL;

	if (cat == NULL) {
		cat = catalogue_load("commands", &errors);
		if (cat == NULL)
			t_fail(__FILE__, __LINE__, "load: %s", errors);
		free(errors);
	}
	return cat;
}

static enum cmd_parse_result
parse_len(enum where w, const char *line, size_t len, struct cmd_call *call,
    char **cause)
{
	struct cmd_parse_opts o;

	memset(&o, 0, sizeof o);
	o.bot_name = "pvebot";
	o.direct = w == DIRECT;
	o.addressed = w == ADDRESSED;
	o.now = 1763835120;	/* 2025-11-22 18:12:00 UTC */
	return cmd_parse_len(shipped(), line, len, &o, call, cause);
}

static void
run_table(const struct parse_case *tc, size_t n)
{
	size_t	 i;

	if (shipped() == NULL)
		return;
	for (i = 0; i < n; i++) {
		struct cmd_call		 call;
		char			*cause = NULL;
		enum cmd_parse_result	 r;

		r = parse_len(tc[i].where, tc[i].line, strlen(tc[i].line),
		    &call, &cause);
		if (r != tc[i].want)
			t_fail(__FILE__, __LINE__, "'%.80s': result %d, "
			    "expected %d (%s)", tc[i].line, r, tc[i].want,
			    cause ? cause : "");
		else if (r == CMD_PARSE_OK &&
		    strcmp(call.canonical, tc[i].expect) != 0)
			t_fail(__FILE__, __LINE__, "'%.80s': canonical \"%s\", "
			    "expected \"%s\"", tc[i].line, call.canonical,
			    tc[i].expect);
		else if (r == CMD_PARSE_ERROR && (cause == NULL ||
		    strstr(cause, tc[i].expect) == NULL))
			t_fail(__FILE__, __LINE__, "'%.80s': cause \"%s\" "
			    "lacks \"%s\"", tc[i].line, cause ? cause : "",
			    tc[i].expect);
		else if (r == CMD_PARSE_IGNORE && cause != NULL)
			t_fail(__FILE__, __LINE__, "'%.80s': ignored with a "
			    "cause", tc[i].line);
		if (r == CMD_PARSE_ERROR && cause != NULL &&
		    strchr(cause, '\n') != NULL)
			t_fail(__FILE__, __LINE__, "'%.80s': cause is not one "
			    "line", tc[i].line);
		free(cause);
		cmd_call_release(&call);
	}
}

static void
prefix_forms(void)
{
	static const struct parse_case tc[] = {
		{ GROUP, "/start@pvebot 101", CMD_PARSE_OK, "start 101" },
		{ GROUP, "/start@PveBot 101", CMD_PARSE_OK, "start 101" },
		{ GROUP, "/start@otherbot 101", CMD_PARSE_IGNORE, NULL },
		{ DIRECT, "/start@otherbot 101", CMD_PARSE_IGNORE, NULL },
		{ GROUP, "/start 101", CMD_PARSE_OK, "start 101" },
		{ GROUP, "!start 101", CMD_PARSE_OK, "start 101" },
		{ GROUP, "start 101", CMD_PARSE_IGNORE, NULL },
		{ GROUP, "hello everyone, start 101 please", CMD_PARSE_IGNORE,
		    NULL },
		{ DIRECT, "start 101", CMD_PARSE_OK, "start 101" },
		{ ADDRESSED, "start 101", CMD_PARSE_OK, "start 101" },
		{ DIRECT, "   start\t101  ", CMD_PARSE_OK, "start 101" },
		{ DIRECT, "START 101", CMD_PARSE_OK, "start 101" },
		{ DIRECT, "Start web-01", CMD_PARSE_OK, "start web-01" },
		{ DIRECT, "up 101", CMD_PARSE_OK, "start 101" },
		{ DIRECT, "/hostsnap_remove pve1 pve/hostsnap-a", CMD_PARSE_OK,
		    "hostsnap-remove pve1 pve/hostsnap-a" },
		{ DIRECT, "", CMD_PARSE_IGNORE, NULL },
		{ DIRECT, "/", CMD_PARSE_IGNORE, NULL },
		{ GROUP, "!", CMD_PARSE_IGNORE, NULL },
		/* Another bot's command in a group: silence, not a reply. */
		{ GROUP, "/weather berlin", CMD_PARSE_IGNORE, NULL },
		{ GROUP, "!play never gonna", CMD_PARSE_IGNORE, NULL },
		{ DIRECT, "/weather berlin", CMD_PARSE_ERROR,
		    "unknown command 'weather'" },
		{ GROUP, "/weather@pvebot", CMD_PARSE_ERROR,
		    "unknown command 'weather'" },
		/* Mentions and "name:" (Matrix) address pvebot. */
		{ GROUP, "@pvebot start 101", CMD_PARSE_OK, "start 101" },
		{ GROUP, "@PVEbot: start 101", CMD_PARSE_OK, "start 101" },
		{ GROUP, "pvebot: start 101", CMD_PARSE_OK, "start 101" },
		{ GROUP, "pvebot, /start 101", CMD_PARSE_OK, "start 101" },
		{ GROUP, "pvebot: hello", CMD_PARSE_ERROR,
		    "unknown command 'hello'" },
		{ GROUP, "@pvebotx start 101", CMD_PARSE_IGNORE, NULL },
		{ GROUP, "pvebot start 101", CMD_PARSE_IGNORE, NULL },
		{ GROUP, "@alice start 101", CMD_PARSE_IGNORE, NULL },
		{ GROUP, "@pvebot", CMD_PARSE_IGNORE, NULL },
	};

	run_table(tc, nitems(tc));
}

static void
typos_and_counts(void)
{
	static const struct parse_case tc[] = {
		{ DIRECT, "strat 101", CMD_PARSE_ERROR,
		    "unknown command 'strat'. Did you mean 'start'?" },
		{ GROUP, "/strat 101", CMD_PARSE_ERROR,
		    "Did you mean 'start'?" },
		{ DIRECT, "rollbak 101 x1", CMD_PARSE_ERROR,
		    "Did you mean 'rollback'?" },
		{ DIRECT, "snapshost 101 x1", CMD_PARSE_ERROR,
		    "Did you mean 'snapshots'?" },
		{ DIRECT, "xyzzy", CMD_PARSE_ERROR,
		    "Send 'help' for the list" },
		{ DIRECT, "start", CMD_PARSE_ERROR,
		    "Missing guest. Usage: start GUEST" },
		{ DIRECT, "start 101 102", CMD_PARSE_ERROR,
		    "Too many arguments. Usage: start GUEST" },
		{ DIRECT, "rollback 101", CMD_PARSE_ERROR,
		    "Usage: rollback GUEST SNAPSHOT" },
		{ DIRECT, "snapshot 101", CMD_PARSE_ERROR,
		    "Usage: snapshot GUEST NAME [REASON]" },
		{ DIRECT, "backup", CMD_PARSE_ERROR,
		    "Usage: backup GUEST [snapshot|suspend|stop] [STORAGE]" },
		{ DIRECT, "whoami now", CMD_PARSE_ERROR,
		    "Too many arguments. Usage: whoami" },
		{ DIRECT, "silence node=pve2", CMD_PARSE_ERROR,
		    "Missing duration. Usage: silence MATCHER DURATION" },
	};

	run_table(tc, nitems(tc));
}

static void
arguments(void)
{
	static const struct parse_case tc[] = {
		{ DIRECT, "start 99", CMD_PARSE_ERROR, "out of range" },
		{ DIRECT, "start 100", CMD_PARSE_OK, "start 100" },
		{ DIRECT, "start 999999999", CMD_PARSE_OK, "start 999999999" },
		{ DIRECT, "start 1000000000", CMD_PARSE_ERROR, "out of range" },
		{ DIRECT, "guest monitoring-db", CMD_PARSE_OK,
		    "guest monitoring-db" },
		{ DIRECT, "snapshot 101 pre-upgrade", CMD_PARSE_OK,
		    "snapshot 101 pre-upgrade" },
		{ DIRECT, "snapshot 101 pre-upgrade before the kernel update",
		    CMD_PARSE_OK,
		    "snapshot 101 pre-upgrade before the kernel update" },
		{ DIRECT, "snapshot 101 1st", CMD_PARSE_ERROR,
		    "must start with a letter" },
		{ DIRECT, "snapshot 101 "
		    "s2345678901234567890123456789012345678901",
		    CMD_PARSE_ERROR, "2 to 40" },
		{ DIRECT, "rollback 101 pre-upgrade", CMD_PARSE_OK,
		    "rollback 101 pre-upgrade" },
		{ DIRECT, "delsnap web-01 safety-1", CMD_PARSE_OK,
		    "delsnap web-01 safety-1" },
		{ DIRECT, "backup 101", CMD_PARSE_OK, "backup 101 snapshot" },
		{ DIRECT, "backup 101 STOP", CMD_PARSE_OK, "backup 101 stop" },
		{ DIRECT, "backup 101 stop nas-backup", CMD_PARSE_OK,
		    "backup 101 stop nas-backup" },
		/* The optional mode is skipped when the storage fits. */
		{ DIRECT, "backup 101 nas-backup", CMD_PARSE_OK,
		    "backup 101 snapshot nas-backup" },
		{ DIRECT, "backup 101 nas/backup", CMD_PARSE_ERROR,
		    "is not a valid mode" },
		{ DIRECT, "migrate 102 pve2", CMD_PARSE_OK,
		    "migrate 102 pve2" },
		{ DIRECT, "migrate 102 pve2 online", CMD_PARSE_OK,
		    "migrate 102 pve2 online" },
		{ DIRECT, "migrate 102 pve2 live", CMD_PARSE_ERROR,
		    "choose one of online" },
		{ DIRECT, "migrate 102 pve_2", CMD_PARSE_ERROR,
		    "is not a node name" },
		{ DIRECT, "clone 9000 120 web-02", CMD_PARSE_OK,
		    "clone 9000 120 web-02" },
		{ DIRECT, "clone 9000 web-02", CMD_PARSE_ERROR,
		    "is not a VMID" },
		{ DIRECT, "tasks", CMD_PARSE_OK, "tasks" },
		{ DIRECT, "tasks pve3", CMD_PARSE_OK, "tasks pve3" },
		{ DIRECT, "task UPID:pve1:000A1B2C:0123ABCD:6561F00D:qmstart:"
		    "101:root@pam:", CMD_PARSE_OK, "task UPID:pve1:000A1B2C:"
		    "0123ABCD:6561F00D:qmstart:101:root@pam:" },
		{ DIRECT, "task 101", CMD_PARSE_ERROR, "is not a task id" },
		{ DIRECT, "job 0", CMD_PARSE_ERROR, "out of range" },
		{ DIRECT, "job 1", CMD_PARSE_OK, "job 1" },
		{ DIRECT, "approve 12", CMD_PARSE_OK, "approve 12" },
		{ DIRECT, "approve twelve", CMD_PARSE_ERROR,
		    "is not a whole number" },
		{ DIRECT, "deny 12 not during business hours", CMD_PARSE_OK,
		    "deny 12 not during business hours" },
		{ DIRECT, "deny 12 don't", CMD_PARSE_OK, "deny 12 don't" },
		{ DIRECT, "silence node=pve2 2h disk swap", CMD_PARSE_OK,
		    "silence node=pve2 2h disk swap" },
		{ DIRECT, "silence rule=cpu_high,guest=106 30m", CMD_PARSE_OK,
		    "silence rule=cpu_high,guest=106 30m" },
		{ DIRECT, "silence node=pve2 2 hours", CMD_PARSE_ERROR,
		    "'2' is not a duration" },
		{ DIRECT, "silence node=pve2 soon", CMD_PARSE_ERROR,
		    "is not a duration" },
		{ DIRECT, "unsilence 3", CMD_PARSE_OK, "unsilence 3" },
		{ DIRECT, "service pve1 pveproxy restart", CMD_PARSE_OK,
		    "service pve1 pveproxy restart" },
		{ DIRECT, "service pve1 -pveproxy status", CMD_PARSE_ERROR,
		    "must not start with '-'" },
		{ DIRECT, "service pve1 pveproxy reload", CMD_PARSE_ERROR,
		    "choose one of status, restart" },
		{ DIRECT, "hostsnap pve1", CMD_PARSE_OK,
		    "hostsnap pve1 hostsnap-20251122-181200" },
		{ DIRECT, "hostsnap pve1 hostsnap-pre", CMD_PARSE_OK,
		    "hostsnap pve1 hostsnap-pre" },
		{ DIRECT, "hostsnap pve1 root", CMD_PARSE_ERROR,
		    "is not a valid name" },
		{ DIRECT, "hostsnap-remove pve1 pve/root", CMD_PARSE_ERROR,
		    "is not a valid volume" },
		{ DIRECT, "hostsnap-remove pve1 pve", CMD_PARSE_ERROR,
		    "is not a valid volume" },
		{ DIRECT, "help", CMD_PARSE_OK, "help" },
		{ DIRECT, "help rollback", CMD_PARSE_OK, "help rollback" },
		{ DIRECT, "explain rollback 101 pre-upgrade", CMD_PARSE_OK,
		    "explain rollback 101 pre-upgrade" },
		{ DIRECT, "explain", CMD_PARSE_ERROR,
		    "Usage: explain COMMAND..." },
	};

	run_table(tc, nitems(tc));
}

static void
quoting(void)
{
	static const struct parse_case tc[] = {
		{ DIRECT, "start \"101\"", CMD_PARSE_OK, "start 101" },
		{ DIRECT, "start '101'", CMD_PARSE_OK, "start 101" },
		{ DIRECT, "snapshot 101 pre \"kernel 6.8 update\"",
		    CMD_PARSE_OK, "snapshot 101 pre kernel 6.8 update" },
		{ DIRECT, "snapshot 101 'pre upgrade'", CMD_PARSE_ERROR,
		    "only letters, digits" },
		{ DIRECT, "start \"101", CMD_PARSE_ERROR,
		    "unterminated quote" },
		{ DIRECT, "start '101", CMD_PARSE_ERROR, "unterminated quote" },
		{ DIRECT, "start \"101\"x", CMD_PARSE_ERROR,
		    "closing quote" },
		{ DIRECT, "start \"\"", CMD_PARSE_ERROR, "guest is empty" },
		/* Quotes inside free text are text. */
		{ DIRECT, "deny 4 \"not now\" said bob", CMD_PARSE_OK,
		    "deny 4 \"not now\" said bob" },
		{ DIRECT, "deny 4 \"not now\"", CMD_PARSE_OK,
		    "deny 4 not now" },
	};

	run_table(tc, nitems(tc));
}

static void
hostile_input(void)
{
	static const struct parse_case tc[] = {
		{ DIRECT, "start 101; rm -rf /", CMD_PARSE_ERROR,
		    "'101;' is not a guest" },
		{ DIRECT, "start 101 ; rm -rf /", CMD_PARSE_ERROR,
		    "Too many arguments" },
		{ DIRECT, "start $(reboot)", CMD_PARSE_ERROR,
		    "'$(reboot)' is not a guest" },
		{ DIRECT, "start `reboot`", CMD_PARSE_ERROR,
		    "'`reboot`' is not a guest" },
		{ DIRECT, "start 101|reboot", CMD_PARSE_ERROR,
		    "is not a guest" },
		{ DIRECT, "start 101&&reboot", CMD_PARSE_ERROR,
		    "is not a guest" },
		{ DIRECT, "start ../../etc/passwd", CMD_PARSE_ERROR,
		    "is not a guest" },
		{ DIRECT, "snapshot 101 x$(id)", CMD_PARSE_ERROR,
		    "only letters, digits" },
		{ DIRECT, "service pve1 ssh;reboot status", CMD_PARSE_ERROR,
		    "is not a valid unit" },
		{ DIRECT, "service pve1 \"ssh reboot\" status", CMD_PARSE_ERROR,
		    "is not a valid unit" },
		{ DIRECT, "tasks pve1%0a", CMD_PARSE_ERROR,
		    "is not a node name" },
		{ DIRECT, "start 101\r\nstop 102", CMD_PARSE_ERROR,
		    "control characters" },
		{ DIRECT, "start 101\x1b[2J", CMD_PARSE_ERROR,
		    "control characters" },
		{ DIRECT, "start \xc3\x28", CMD_PARSE_ERROR, "invalid UTF-8" },
		{ DIRECT, "deny 4 \xed\xa0\x80", CMD_PARSE_ERROR,
		    "invalid UTF-8" },
		{ DIRECT, "start \xe2\x80\xae" "101", CMD_PARSE_ERROR,
		    "is not a guest" },
		{ DIRECT, "st\xc3\xa4rt 101", CMD_PARSE_ERROR,
		    "unknown command. Send" },
		{ DIRECT, "\x1b]0;pwned\x07start 101", CMD_PARSE_ERROR,
		    "control characters" },
		{ GROUP, "/start 101\x1b[2J", CMD_PARSE_ERROR,
		    "control characters" },
		/* Not for us: not even an error reply. */
		{ GROUP, "/weather 101\x1b[2J", CMD_PARSE_IGNORE, NULL },
		{ GROUP, "hi \x01 all", CMD_PARSE_IGNORE, NULL },
		/* One trailing newline is what some clients send. */
		{ DIRECT, "start 101\n", CMD_PARSE_OK, "start 101" },
		{ DIRECT, "start 101\r\n", CMD_PARSE_OK, "start 101" },
		{ DIRECT, "start\n101", CMD_PARSE_ERROR, "control characters" },
	};

	run_table(tc, nitems(tc));
}

static void
nul_and_long_lines(void)
{
	struct cmd_call	 call;
	char		*cause = NULL, *line;
	size_t		 n = CMD_LINE_MAX + 1;

	if (shipped() == NULL)
		return;
	/* NUL in the middle: the connector passes the real length. */
	T_EQ_INT(parse_len(DIRECT, "start 101\0; reboot", 18, &call, &cause),
	    CMD_PARSE_ERROR);
	T_CONTAINS(cause, "NUL byte");
	free(cause);
	cause = NULL;

	line = xmalloc(n + 1);
	memcpy(line, "deny 4 ", 7);
	memset(line + 7, 'x', n - 7);
	line[n] = '\0';
	T_EQ_INT(parse_len(DIRECT, line, n, &call, &cause), CMD_PARSE_ERROR);
	T_CONTAINS(cause, "too long (4097 bytes; at most 4096)");
	free(cause);
	cause = NULL;

	/* 4096 exactly is a line, but the reason is capped at 200. */
	T_EQ_INT(parse_len(DIRECT, line, n - 1, &call, &cause),
	    CMD_PARSE_ERROR);
	T_CONTAINS(cause, "reason is too long");
	free(cause);
	cause = NULL;

	/* A long chat message in a group not meant for us: silence. */
	memcpy(line, "hello   ", 8);
	T_EQ_INT(parse_len(GROUP, line, n, &call, &cause), CMD_PARSE_IGNORE);
	T_OK(cause == NULL);
	free(line);
}

static void
values_and_actions(void)
{
	struct cmd_call	 call;
	char		*cause = NULL;

	if (shipped() == NULL)
		return;
	T_EQ_INT(parse_len(DIRECT, "rollback web-01 pre-upgrade", 27, &call,
	    &cause), CMD_PARSE_OK);
	T_EQ_STR(call.def->name, "rollback");
	T_EQ_STR(call.action, "guest.snapshot.rollback");
	T_EQ_INT(call.mutating, 1);
	T_EQ_STR(cmd_call_value(&call, "guest"), "web-01");
	T_EQ_STR(cmd_call_value(&call, "snapshot"), "pre-upgrade");
	T_OK(cmd_call_value(&call, "nope") == NULL);
	cmd_call_release(&call);

	T_EQ_INT(parse_len(DIRECT, "snapshot 101 pre", 16, &call, &cause),
	    CMD_PARSE_OK);
	T_OK(cmd_call_value(&call, "reason") == NULL);
	cmd_call_release(&call);

	/* service: the enum picks the action and whether it mutates. */
	T_EQ_INT(parse_len(DIRECT, "service pve1 nginx status", 25, &call,
	    &cause), CMD_PARSE_OK);
	T_EQ_STR(call.action, "host.service.read");
	T_EQ_INT(call.mutating, 0);
	cmd_call_release(&call);
	T_EQ_INT(parse_len(DIRECT, "service pve1 nginx RESTART", 26, &call,
	    &cause), CMD_PARSE_OK);
	T_EQ_STR(call.action, "host.service.restart");
	T_EQ_INT(call.mutating, 1);
	cmd_call_release(&call);

	T_EQ_INT(parse_len(DIRECT, "guests", 6, &call, &cause), CMD_PARSE_OK);
	T_EQ_STR(call.action, "guest.read");
	T_EQ_INT(call.mutating, 0);
	T_EQ_STR(call.def->builtin, "guests");
	cmd_call_release(&call);
	T_OK(cause == NULL);
}

/* Whatever parses, its canonical form parses back to the same values. */
static void
canonical_round_trip(void)
{
	static const char *lines[] = {
		"snapshot 101 pre \"quoted\" and 'single'",
		"deny 4 'it''s'",
		"deny 4 \"a\"",
		"deny 4 '\"a\"'",
		"explain snapshot 101 x1 \"why not\"",
		"backup 101 nas-backup",
		"hostsnap pve1",
		"rollback 101 pre-upgrade because \"it broke\"",
		"start 101 -- -x-",
		/* A reason with the optional id left out (found by the
		 * fuzzer): it must not read back as the id. */
		"deny -- 5",
		"approve -- 12 because",
	};
	size_t	 i, k;

	if (shipped() == NULL)
		return;
	for (i = 0; i < nitems(lines); i++) {
		struct cmd_call	 a, b;
		char		*cause = NULL;

		if (parse_len(DIRECT, lines[i], strlen(lines[i]), &a,
		    &cause) != CMD_PARSE_OK) {
			t_fail(__FILE__, __LINE__, "'%s': %s", lines[i], cause);
			free(cause);
			continue;
		}
		if (parse_len(DIRECT, a.canonical, strlen(a.canonical), &b,
		    &cause) != CMD_PARSE_OK) {
			t_fail(__FILE__, __LINE__, "'%s' -> '%s': %s",
			    lines[i], a.canonical, cause);
			free(cause);
			cmd_call_release(&a);
			continue;
		}
		T_OK(a.def == b.def);
		for (k = 0; k < a.def->nargs; k++) {
			if (a.values[k] == NULL || b.values[k] == NULL)
				T_OK(a.values[k] == b.values[k]);
			else
				T_EQ_STR(b.values[k], a.values[k]);
		}
		T_EQ_STR(b.canonical, a.canonical);
		cmd_call_release(&a);
		cmd_call_release(&b);
	}
}

/*
 * Issue 14 item 17: every command takes a trailing reason after "--" or
 * "because" once its required arguments are there; it reaches the call
 * (or the command's own reason argument) and reads back the same.
 */
static void
trailing_reason(void)
{
	static const struct parse_case cases[] = {
		{ DIRECT, "rollback 101 pre-upgrade because testing",
		  CMD_PARSE_OK, "rollback 101 pre-upgrade -- testing" },
		{ DIRECT, "rollback 101 pre-upgrade -- \"broke nginx\"",
		  CMD_PARSE_OK, "rollback 101 pre-upgrade -- broke nginx" },
		{ DIRECT, "migrate 101 pve2 Because the node needs a reboot",
		  CMD_PARSE_OK, "migrate 101 pve2 -- the node needs a reboot" },
		{ DIRECT, "backup 101 because before the upgrade",
		  CMD_PARSE_OK, "backup 101 snapshot -- before the upgrade" },
		{ DIRECT, "unlock 101 -- stuck backup",
		  CMD_PARSE_OK, "unlock 101 -- stuck backup" },
		/* A command with a reason argument fills it. */
		{ DIRECT, "snapshot 101 pre because upgrade", CMD_PARSE_OK,
		  "snapshot 101 pre upgrade" },
		{ DIRECT, "deny 7 -- not now", CMD_PARSE_OK, "deny 7 not now" },
		/* Before the required arguments it is just a value. */
		{ DIRECT, "start because", CMD_PARSE_OK, "start because" },
		{ DIRECT, "rollback 101 because testing", CMD_PARSE_ERROR,
		  "Too many arguments" },
		{ DIRECT, "rollback 101 pre-upgrade because", CMD_PARSE_ERROR,
		  "The reason after -- or because is empty" },
		{ DIRECT, "rollback 101 pre-upgrade -- a\tb", CMD_PARSE_OK,
		  "rollback 101 pre-upgrade -- a\tb" },
		/* explain's command keeps its own words. */
		{ DIRECT, "explain rollback 101 x because y", CMD_PARSE_OK,
		  "explain rollback 101 x because y" },
	};
	struct cmd_call	 call;
	char		*cause = NULL;
	char		 long_reason[300];

	run_table(cases, nitems(cases));
	T_EQ_INT(parse_len(DIRECT, "rollback 101 x1 because it broke", 32,
	    &call, &cause), CMD_PARSE_OK);
	T_EQ_STR(call.reason, "it broke");
	T_EQ_STR(cmd_call_value(&call, "snapshot"), "x1");
	cmd_call_release(&call);
	/* The reason has the reason type's cap. */
	memset(long_reason, 'a', sizeof long_reason);
	memcpy(long_reason, "start 101 -- ", 13);
	long_reason[sizeof long_reason - 1] = '\0';
	T_EQ_INT(parse_len(DIRECT, long_reason, strlen(long_reason), &call,
	    &cause), CMD_PARSE_ERROR);
	T_CONTAINS(cause, "reason");
	free(cause);
}

int
main(void)
{
	T_RUN(prefix_forms);
	T_RUN(typos_and_counts);
	T_RUN(arguments);
	T_RUN(quoting);
	T_RUN(hostile_input);
	T_RUN(nul_and_long_lines);
	T_RUN(values_and_actions);
	T_RUN(canonical_round_trip);
	T_RUN(trailing_reason);
	catalogue_free(cat);
	return t_summary();
}
