/*
 * Unit tests for the policy loader: every kind of bad policy is refused
 * with file:line:column, all errors of a file are reported, folders are
 * read in order, and files may refer to each other's roles.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"
#include "t.h"
#include "util.h"

static const char roles_ok[] =
	"roles:\n"
	"  admin: {request: [\"*\"], approve: [\"*\"]}\n"
	"  viewer: {request: [\"*.read\"]}\n";

/* Loads roles_ok + body as "bad.yaml"; returns the errors (or NULL). */
static char *
errors_of(const char *body)
{
	struct policy	*p;
	char		*text, *errors = NULL;

	text = xasprintf("%s%s", roles_ok, body);
	p = policy_load_string("bad.yaml", text, &errors);
	if (p != NULL) {
		t_fail(__FILE__, __LINE__, "loaded although wrong:\n%s", text);
		policy_free(p);
	}
	free(text);
	return errors;
}

static int
count_lines(const char *s)
{
	int	 n = 0;

	for (; s != NULL && *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_unknown_key(void)
{
	char	*e;

	e = errors_of(
	    "rules:\n"				/* 4 */
	    "  - name: typo\n"			/* 5 */
	    "    efect: allow\n"		/* 6 */
	    "    action: guest.start\n");
	T_CONTAINS(e, "bad.yaml:6:5: unknown key \"efect\" in rule "
	    "(expected one of: name, effect,");
	free(e);

	e = errors_of(
	    "rules:\n"				/* 4 */
	    "  - effect: allow\n"		/* 5 */
	    "    target:\n"			/* 6 */
	    "      vmids: [101]\n");		/* 7 */
	T_CONTAINS(e, "bad.yaml:7:7: unknown key \"vmids\" in target");
	free(e);

	e = errors_of("rule:\n  - effect: allow\n");
	T_CONTAINS(e, "bad.yaml:4:1: unknown key \"rule\" at the top of a "
	    "policy file");
	free(e);

	e = errors_of(
	    "users:\n"				/* 4 */
	    "  bob:\n"				/* 5 */
	    "    identities: [console:bob]\n"	/* 6 */
	    "    role: [admin]\n");		/* 7 */
	T_CONTAINS(e, "bad.yaml:7:5: unknown key \"role\" in user bob");
	free(e);
}

static void
test_wrong_type(void)
{
	char	*e;

	e = errors_of(
	    "rules:\n"				/* 4 */
	    "  - effect: require_approval\n"	/* 5 */
	    "    action: guest.start\n"		/* 6 */
	    "    approvals: [1, 2]\n");		/* 7 */
	T_CONTAINS(e, "bad.yaml:7:16: approvals must be a single value, not "
	    "a list");
	free(e);

	e = errors_of(
	    "rules:\n"				/* 4 */
	    "  - effect: allow\n"		/* 5 */
	    "    action: {guest: start}\n");	/* 6 */
	T_CONTAINS(e, "bad.yaml:6:13: action must be a value or a list of "
	    "values, not a mapping");
	free(e);

	e = errors_of(
	    "rules:\n"				/* 4 */
	    "  - effect: require_approval\n"	/* 5 */
	    "    action: guest.start\n"		/* 6 */
	    "    self_approve: maybe\n");	/* 7 */
	T_CONTAINS(e, "bad.yaml:7:19: self_approve must be yes or no, not "
	    "\"maybe\"");
	free(e);

	e = errors_of(
	    "users:\n"				/* 4 */
	    "  bob:\n"				/* 5 */
	    "    identities: [console:bob]\n"	/* 6 */
	    "    roles:\n");			/* 7 */
	T_CONTAINS(e, "bad.yaml:7:11: roles is empty");
	free(e);

	e = errors_of("rules:\n  effect: allow\n");
	T_CONTAINS(e, "bad.yaml:5:3: rules must be a list of rules");
	free(e);

	e = errors_of(
	    "rules:\n"				/* 4 */
	    "  - effect: allow\n"		/* 5 */
	    "    action: guest.start\n"		/* 6 */
	    "    expiry: 15m\n");		/* 7 */
	T_CONTAINS(e, "bad.yaml:7:13: approvers, approvals, expiry, "
	    "self_approve, reason_required and snapshot_before only apply to "
	    "effect: require_approval");
	free(e);

	e = errors_of(
	    "rules:\n"				/* 4 */
	    "  - effect: forbid\n");		/* 5 */
	T_CONTAINS(e, "bad.yaml:5:13: bad effect \"forbid\"");
	free(e);

	e = errors_of(
	    "rules:\n"				/* 4 */
	    "  - action: guest.start\n");	/* 5 */
	T_CONTAINS(e, "bad.yaml:5:5: rule needs effect:");
	free(e);

	e = errors_of(
	    "rules:\n"
	    "  - effect: require_approval\n"
	    "    action: guest.start\n"
	    "    expiry: 10s\n"			/* 7: below a minute */
	    "    approvals: 11\n");		/* 8 */
	T_CONTAINS(e, "bad.yaml:7:13: expiry must be a duration from 1m to "
	    "7d");
	T_CONTAINS(e, "bad.yaml:8:16: approvals must be a number from 1 to "
	    "10, not \"11\"");
	free(e);
}

static void
test_bad_vmid_range(void)
{
	char	*e;

	e = errors_of(
	    "rules:\n"				/* 4 */
	    "  - effect: prohibit\n"		/* 5 */
	    "    target:\n"			/* 6 */
	    "      vmid: [101, \"9999-9000\", abc, 99, \"100-\", "
	    "1000000000]\n");			/* 7 */
	T_CONTAINS(e, "bad.yaml:7:19: bad VMID range \"9999-9000\": the first "
	    "VMID is larger than the last");
	T_CONTAINS(e, "bad.yaml:7:32: bad VMID \"abc\": expected a VMID from "
	    "100 to 999999999 or a range such as 9000-9999");
	T_CONTAINS(e, "bad.yaml:7:37: bad VMID \"99\"");
	T_CONTAINS(e, "bad.yaml:7:41: bad VMID \"100-\"");
	T_CONTAINS(e, "bad.yaml:7:49: bad VMID \"1000000000\"");
	T_EQ_INT(count_lines(e), 5);
	free(e);
}

static void
test_unknown_role(void)
{
	char	*e;

	e = errors_of(
	    "users:\n"				/* 4 */
	    "  bob:\n"				/* 5 */
	    "    identities: [console:bob]\n"	/* 6 */
	    "    roles: [operator]\n"		/* 7 */
	    "rules:\n"				/* 8 */
	    "  - effect: require_approval\n"	/* 9 */
	    "    action: guest.start\n"		/* 10 */
	    "    approvers: [admin, admins]\n"	/* 11 */
	    "  - effect: allow\n"		/* 12 */
	    "    role: viewers\n");		/* 13 */
	T_CONTAINS(e, "bad.yaml:7:13: unknown role \"operator\"");
	T_CONTAINS(e, "bad.yaml:11:24: unknown role \"admins\"");
	T_CONTAINS(e, "bad.yaml:13:11: unknown role \"viewers\"");
	T_EQ_INT(count_lines(e), 3);
	free(e);
}

static void
test_bad_windows(void)
{
	char	*e;

	e = errors_of(
	    "windows:\n"			/* 4 */
	    "  night:\n"			/* 5 */
	    "    days: [sat, caturday]\n"	/* 6 */
	    "    from: \"25:00\"\n"		/* 7 */
	    "    to: \"2:0\"\n"			/* 8 */
	    "    tz: Mars/Olympus_Mons\n"	/* 9 */
	    "  same:\n"				/* 10 */
	    "    from: \"10:00\"\n"		/* 11 */
	    "    to: \"10:00\"\n"		/* 12 */
	    "rules:\n"				/* 13 */
	    "  - effect: allow\n"		/* 14 */
	    "    during: nights\n");		/* 15 */
	T_CONTAINS(e, "bad.yaml:6:17: bad day \"caturday\"");
	T_CONTAINS(e, "bad.yaml:7:11: bad time \"25:00\" for from: expected "
	    "HH:MM");
	T_CONTAINS(e, "bad.yaml:8:9: bad time \"2:0\" for to");
	T_CONTAINS(e, "bad.yaml:9:9: unknown time zone 'Mars/Olympus_Mons'");
	T_CONTAINS(e, "bad.yaml:11:5: window same is empty");
	T_CONTAINS(e, "bad.yaml:15:13: unknown window \"nights\"");
	T_EQ_INT(count_lines(e), 6);
	free(e);
}

/*
 * Zone names that name something other than a zone: a region folder,
 * a file that is not a zone, a path out of the zoneinfo folder.
 */
static void
test_bad_window_zones(void)
{
	char	*e;

	e = errors_of(
	    "windows:\n"			/* 4 */
	    "  a:\n"				/* 5 */
	    "    tz: Europe\n"			/* 6 */
	    "  b:\n"				/* 7 */
	    "    tz: leapseconds\n"		/* 8 */
	    "  c:\n"				/* 9 */
	    "    tz: ../../../etc/localtime\n"	/* 10 */
	    "  d:\n"				/* 11 */
	    "    tz: Asia/Kathmandu\n");		/* 12 */
	T_CONTAINS(e, "bad.yaml:6:9: 'Europe' is a region, not a time zone");
	T_CONTAINS(e, "bad.yaml:8:9: time zone 'leapseconds': "
	    "/usr/share/zoneinfo/leapseconds: not a TZif file");
	T_CONTAINS(e, "bad.yaml:10:9: '../../../etc/localtime' is not a time "
	    "zone name");
	T_EQ_INT(count_lines(e), 3);
	free(e);
}

static void
test_bad_globs_and_identities(void)
{
	char	*e;

	e = errors_of(
	    "users:\n"				/* 4 */
	    "  bob:\n"				/* 5 */
	    "    identities: [console:bob, telegram:12ab, \"matrix:bob\", "
	    "slack:U123]\n"			/* 6 */
	    "    roles: [viewer]\n"		/* 7 */
	    "rules:\n"				/* 8 */
	    "  - effect: allow\n"		/* 9 */
	    "    action: [guest..start, \"Guest.Start\", \"\"]\n" /* 10 */
	    "    target:\n"			/* 11 */
	    "      name: \"web 01\"\n"		/* 12 */
	    "      snapshot: \"safety.*\"\n"	/* 13 */
	    "      type: vm\n");		/* 14 */
	T_CONTAINS(e, "bad.yaml:6:31: bad identity \"telegram:12ab\"");
	T_CONTAINS(e, "bad.yaml:6:46: bad identity \"matrix:bob\"");
	T_CONTAINS(e, "bad.yaml:6:60: bad identity \"slack:U123\"");
	T_CONTAINS(e, "bad.yaml:10:14: bad action pattern \"guest..start\"");
	T_CONTAINS(e, "bad.yaml:10:28: bad action pattern \"Guest.Start\"");
	T_CONTAINS(e, "bad.yaml:10:43: bad action pattern \"\"");
	T_CONTAINS(e, "bad.yaml:12:13: bad guest name pattern \"web 01\"");
	T_CONTAINS(e, "bad.yaml:13:17: bad snapshot pattern \"safety.*\"");
	T_CONTAINS(e, "bad.yaml:14:13: bad guest type \"vm\": expected qemu "
	    "or lxc");
	T_EQ_INT(count_lines(e), 9);
	free(e);
}

static void
test_duplicates(void)
{
	char	*e;

	e = errors_of(
	    "  admin: {request: [\"*\"]}\n"	/* 4: still under roles */
	    "users:\n"				/* 5 */
	    "  bob: {identities: [console:bob], roles: [viewer]}\n" /* 6 */
	    "  rob: {identities: [console:bob], roles: [viewer]}\n" /* 7 */
	    "rules:\n"				/* 8 */
	    "  - {name: r, effect: allow}\n"	/* 9 */
	    "  - {name: r, effect: allow, name: s}\n"); /* 10 */
	T_CONTAINS(e, "bad.yaml:4:3: role \"admin\" is already defined at "
	    "bad.yaml:2");
	T_CONTAINS(e, "bad.yaml:7:22: identity \"console:bob\" already belongs "
	    "to user bob (bad.yaml:6)");
	T_CONTAINS(e, "bad.yaml:10:30: key \"name\" appears twice in rule");
	free(e);
}

static void
test_syntax_error_and_aliases(void)
{
	char	*e;

	e = errors_of(
	    "rules:\n"				/* 4 */
	    "  - effect: allow\n"		/* 5 */
	    "    action: [guest.start\n");	/* 6: unclosed */
	T_CONTAINS(e, "bad.yaml:7:1: YAML syntax error: did not find expected "
	    "',' or ']'");
	free(e);

	e = errors_of(
	    "rules:\n"				/* 4 */
	    "  - &r {effect: allow}\n"		/* 5 */
	    "  - *r\n");			/* 6 */
	T_CONTAINS(e, "bad.yaml:5:5: YAML anchors and aliases (&name, *name) are "
	    "not supported");
	free(e);

	/* an unquoted *.read is an alias: the message says so */
	e = errors_of(
	    "  ro: {request: [*.read]}\n");
	T_CONTAINS(e, "bad.yaml:4:19: YAML syntax error:");
	T_CONTAINS(e, "quote patterns that start with '*', such as \"*.read\"");
	free(e);
}

static void
test_all_errors_reported(void)
{
	char	*e;

	e = errors_of(
	    "rules:\n"
	    "  - effect: allow\n"
	    "    acton: guest.start\n"		/* 6 */
	    "  - effect: prohibit\n"
	    "    target: {vmid: \"200-100\"}\n"	/* 8 */
	    "  - effect: allow\n"
	    "    role: nobody\n");		/* 10 */
	T_CONTAINS(e, "bad.yaml:6:5:");
	T_CONTAINS(e, "bad.yaml:8:20:");
	T_CONTAINS(e, "bad.yaml:10:11:");
	T_EQ_INT(count_lines(e), 3);
	free(e);
}

static void
test_folder_in_order_across_files(void)
{
	const char	*paths[1];
	struct policy	*p;
	struct policy_request req;
	struct policy_decision d;
	char		*dir, *errors = NULL;
	size_t		 nroles, nusers, nrules;

	/* users.yaml refers to a role defined in a later file */
	dir = t_path("pol");
	T_EQ_INT(mkdir(dir, 0755), 0);
	t_write("pol/a-users.yaml",
	    "users:\n"
	    "  zoe: {identities: [console:zoe], roles: [ops]}\n", 0644);
	t_write("pol/b-rules.yaml",
	    "rules:\n"
	    "  - name: first\n"
	    "    effect: allow\n"
	    "    action: \"guest.*\"\n", 0644);
	t_write("pol/c-roles.yaml",
	    "roles:\n"
	    "  ops: {request: [\"*\"]}\n"
	    "rules:\n"
	    "  - name: later\n"
	    "    effect: allow\n", 0644);
	t_write("pol/notes.txt", "not: [a policy\n", 0644);
	paths[0] = dir;
	p = policy_load(paths, 1, &errors);
	T_OK(p != NULL);
	if (p == NULL) {
		printf("%s", errors);
		free(errors);
		free(dir);
		return;
	}
	policy_counts(p, &nroles, &nusers, &nrules);
	T_EQ_INT(nroles, 1);
	T_EQ_INT(nusers, 1);
	T_EQ_INT(nrules, 2);
	memset(&req, 0, sizeof req);
	req.user = "console:zoe";
	req.action = "guest.start";
	req.mutating = 1;
	policy_decide(p, &req, &d);
	T_EQ_INT(d.effect, POLICY_ALLOW);
	T_OK(strstr(d.rule, "/pol/b-rules.yaml:2") != NULL);
	T_EQ_STR(d.rule_name, "first");
	policy_free(p);

	/* an error in one file names that file */
	t_write("pol/c-roles.yaml",
	    "roles:\n"
	    "  ops: {request: [\"*\"], aprove: [\"*\"]}\n", 0644);
	p = policy_load(paths, 1, &errors);
	T_OK(p == NULL);
	T_CONTAINS(errors, "/pol/c-roles.yaml:2:25: unknown key \"aprove\" in "
	    "role ops");
	/* zoe's role is still known: no cascade of errors */
	T_NOT_CONTAINS(errors, "a-users.yaml");
	T_EQ_INT(count_lines(errors), 1);
	free(errors);
	policy_free(p);
	free(dir);
}

/* Issue 14 item 4: .yml files are read; what is not read is listed. */
static void
test_yml_read_and_unread_listed(void)
{
	const char		*paths[1];
	struct policy		*p;
	struct policy_request	 req;
	struct policy_decision	 d;
	char			*errors = NULL, *dir = t_path("pol"), *unread;
	char			*sub;

	T_EQ_INT(mkdir(dir, 0755), 0);
	t_write("pol/a.yaml",
	    "roles:\n  ops: {request: [\"*\"]}\n"
	    "users:\n  zoe: {identities: [console:zoe], roles: [ops]}\n"
	    "rules:\n  - {name: all, effect: allow, action: \"*\"}\n",
	    0644);
	t_write("pol/b.yml",
	    "rules:\n"
	    "  - name: no-delete\n"
	    "    effect: prohibit\n"
	    "    action: guest.snapshot.delete\n", 0644);
	paths[0] = dir;
	p = policy_load(paths, 1, &errors);
	T_OK(p != NULL);
	free(errors);
	errors = NULL;
	if (p != NULL) {
		memset(&req, 0, sizeof req);
		req.user = "console:zoe";
		req.action = "guest.snapshot.delete";
		req.mutating = 1;
		policy_decide(p, &req, &d);
		T_EQ_INT(d.effect, POLICY_PROHIBIT);
		T_EQ_STR(d.rule_name, "no-delete");
		T_CONTAINS(d.rule, "/pol/b.yml:2");
	}
	policy_free(p);
	T_OK(policy_unread_files(paths, 1) == NULL);

	t_write("pol/c.yaml.orig", "rules: []\n", 0644);
	t_write("pol/.d.yaml", "rules: []\n", 0644);
	sub = xasprintf("%s/e.yaml.d", dir);
	T_EQ_INT(mkdir(sub, 0755), 0);
	unread = policy_unread_files(paths, 1);
	T_CONTAINS(unread, "/pol/.d.yaml:1:1: not read: hidden files");
	T_CONTAINS(unread, "/pol/c.yaml.orig:1:1: not read: only files ending "
	    "in .yaml or .yml are policy files");
	T_CONTAINS(unread, "/pol/e.yaml.d:1:1: not read: folders inside");
	T_NOT_CONTAINS(unread, "a.yaml:");
	T_NOT_CONTAINS(unread, "b.yml:");
	free(unread);
	/* A FIFO named like a policy file is refused, never waited on (a
	 * hang ends the test, failed). */
	free(sub);
	sub = xasprintf("%s/f.yaml", dir);
	T_EQ_INT(mkfifo(sub, 0644), 0);
	alarm(60);
	p = policy_load(paths, 1, &errors);
	alarm(0);
	T_OK(p == NULL);
	T_CONTAINS(errors, "/pol/f.yaml: not a regular file");
	free(errors);
	free(sub);
	free(dir);
}

/* Issue 14 item 3: actions a rule or role names must exist. */
static void
test_actions_checked_against_catalogue(void)
{
	static const char *const actions[] = { "guest.start",
	    "guest.snapshot.delete", "guest.snapshot.create", "cluster.read" };
	struct policy	*p;
	char		*errors = NULL;

	p = policy_load_string("p.yaml",
	    "roles:\n"
	    "  ops:\n"
	    "    request: [\"guest.*\", cluster.read, gust.start]\n"
	    "    approve: [\"backup.*\"]\n"
	    "rules:\n"
	    "  - name: safety\n"
	    "    effect: prohibit\n"
	    "    action: [guest.snapshot.delet]\n"
	    "  - effect: allow\n"
	    "    action: [\"guest.*\", frobnicate.everything]\n", &errors);
	T_OK(p != NULL);
	free(errors);
	if (p == NULL)
		return;
	T_EQ_INT(policy_check_actions(p, actions, nitems(actions), &errors),
	    -1);
	T_CONTAINS(errors, "p.yaml:3:40: action \"gust.start\" in role ops "
	    "(request) is not an action of any command; did you mean "
	    "\"guest.start\"?");
	T_CONTAINS(errors, "p.yaml:4:15: action pattern \"backup.*\" in role "
	    "ops (approve) matches no action of any command");
	T_CONTAINS(errors, "p.yaml:8:14: action \"guest.snapshot.delet\" in "
	    "rule safety is not an action of any command; did you mean "
	    "\"guest.snapshot.delete\"?");
	T_CONTAINS(errors, "p.yaml:10:25: action \"frobnicate.everything\" in "
	    "the rule at line 9 is not an action of any command\n");
	T_EQ_INT(count_lines(errors), 4);
	free(errors);
	T_EQ_INT(policy_check_actions(p, actions, 2, &errors), -1);
	T_CONTAINS(errors, "cluster.read");
	free(errors);
	policy_free(p);
}

static void
test_missing_and_empty(void)
{
	const char	*paths[1];
	struct policy	*p;
	char		*errors = NULL, *dir;
	struct policy_request req;
	struct policy_decision d;

	paths[0] = "/nonexistent/pvebot/policies";
	p = policy_load(paths, 1, &errors);
	T_OK(p == NULL);
	T_CONTAINS(errors, "/nonexistent/pvebot/policies:1:1: cannot read");
	free(errors);

	dir = t_path("empty");
	T_EQ_INT(mkdir(dir, 0755), 0);
	t_write("empty/readme.txt", "", 0644);
	paths[0] = dir;
	p = policy_load(paths, 1, &errors);
	T_OK(p == NULL);
	T_CONTAINS(errors, "no policy files (*.yaml, *.yml) in this folder");
	free(errors);
	free(dir);

	/* an empty file is an empty policy: everyone is unknown */
	p = policy_load_string("empty.yaml", "# nothing yet\n", &errors);
	T_OK(p != NULL);
	T_OK(errors == NULL);
	memset(&req, 0, sizeof req);
	req.user = "console:alice";
	req.action = "meta.help";
	policy_decide(p, &req, &d);
	T_EQ_INT(d.effect, POLICY_DENY);
	T_EQ_STR(d.rule, "(unknown user)");
	policy_free(p);

	p = policy_load_string("two.yaml", "rules: []\n---\nrules: []\n",
	    &errors);
	T_OK(p == NULL);
	T_CONTAINS(errors, "two.yaml:3:1: only one YAML document");
	free(errors);
}

static void
test_shipped_policy_loads(void)
{
	const char	*paths[] = { "policies" };
	struct policy	*p;
	char		*errors = NULL;
	size_t		 nroles, nusers, nrules;

	p = policy_load(paths, 1, &errors);
	T_OK(p != NULL);
	if (errors != NULL)
		printf("%s", errors);
	free(errors);
	policy_counts(p, &nroles, &nusers, &nrules);
	T_EQ_INT(nroles, 3);
	/* alice, bob, carol and the demo's two schedule identities. */
	T_EQ_INT(nusers, 5);
	T_OK(nrules >= 7);
	policy_free(p);
}

int
main(void)
{
	T_RUN(test_unknown_key);
	T_RUN(test_wrong_type);
	T_RUN(test_bad_vmid_range);
	T_RUN(test_unknown_role);
	T_RUN(test_bad_windows);
	T_RUN(test_bad_window_zones);
	T_RUN(test_bad_globs_and_identities);
	T_RUN(test_duplicates);
	T_RUN(test_syntax_error_and_aliases);
	T_RUN(test_all_errors_reported);
	T_RUN(test_folder_in_order_across_files);
	T_RUN(test_missing_and_empty);
	T_RUN(test_yml_read_and_unread_listed);
	T_RUN(test_actions_checked_against_catalogue);
	T_RUN(test_shipped_policy_loads);
	return t_summary();
}
