/*
 * Unit tests for the policy engine (src/policy/): decisions over the
 * shipped default policy and over small policies written here, time
 * windows with time zones, explain and whoami.
 *
 * Expected rules are given by their name; the test finds the line of
 * "- name: NAME" in the policy text itself, so an edit that moves a
 * rule keeps the test honest without hard-coded line numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "t.h"
#include "util.h"

/* ---- helpers --------------------------------------------------------- */

/* The 1-based line of the first line of text that holds needle. */
static int
line_of(const char *text, const char *needle)
{
	const char	*at, *s;
	int		 line = 1;

	if ((at = strstr(text, needle)) == NULL)
		return -1;
	for (s = text; s < at; s++)
		if (*s == '\n')
			line++;
	return line;
}

/*
 * What a case expects as the deciding rule: "name:X" (the rule named
 * X), "role:X" (the definition of role X) or a literal like
 * "(default deny)".
 */
static char *
expected_rule(const char *file, const char *text, const char *spec)
{
	char	*needle;
	int	 line;

	if (strncmp(spec, "name:", 5) == 0) {
		needle = xasprintf("- name: %s\n", spec + 5);
		line = line_of(text, needle);
	} else if (strncmp(spec, "role:", 5) == 0) {
		/* "\n  role:" starts at the end of the line before. */
		needle = xasprintf("\n  %s:\n", spec + 5);
		line = line_of(text, needle) + 1;
	} else
		return xstrdup(spec);
	free(needle);
	return xasprintf("%s:%d", file, line);
}

static int64_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm	 tm;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return (int64_t)timegm(&tm);
}

/* The simulator cluster "homelab" (BRIEF.md). */
struct guest {
	int		 vmid;
	const char	*type, *name, *node;
	const char	*tags[3];
	int		 is_template;
	const char	*pool;
};

static const struct guest homelab[] = {
	{ 100, "lxc", "pvebot", "pve1", { "pvebot-self" }, 0, NULL },
	{ 101, "qemu", "web-01", "pve1", { "web", "prod" }, 0, NULL },
	{ 102, "qemu", "db-01", "pve1", { "db", "prod" }, 0, NULL },
	{ 103, "lxc", "dns", "pve2", { "infra" }, 0, NULL },
	{ 104, "qemu", "media", "pve2", { "media" }, 0, NULL },
	{ 105, "lxc", "monitoring-db", "pve2", { "pvebot-self", "monitoring" },
	  0, NULL },
	{ 106, "qemu", "k8s-node-1", "pve3", { "k8s" }, 0, NULL },
	{ 107, "lxc", "nextcloud", "pve3", { "prod" }, 0, NULL },
	{ 108, "qemu", "win11", "pve2", { "desktop" }, 0, NULL },
	{ 111, "lxc", "test", "pve1", { NULL }, 0, NULL },
	{ 112, "qemu", "test", "pve2", { NULL }, 0, NULL },
	{ 9000, "qemu", "ubuntu-tmpl", "pve1", { NULL }, 1, NULL },
	{ 9001, "qemu", "debian-tmpl", "pve2", { NULL }, 1, NULL },
};

static void
make_target(int vmid, const char *snapshot, struct policy_target *t)
{
	size_t	 i, n;

	memset(t, 0, sizeof *t);
	t->snapshot = snapshot;
	for (i = 0; i < nitems(homelab); i++) {
		if (homelab[i].vmid != vmid)
			continue;
		t->vmid = vmid;
		t->type = homelab[i].type;
		t->name = homelab[i].name;
		t->node = homelab[i].node;
		for (n = 0; n < 3 && homelab[i].tags[n] != NULL; n++)
			;
		t->tags = homelab[i].tags;
		t->ntags = n;
		t->is_template = homelab[i].is_template;
		t->pool = homelab[i].pool;
	}
}

static int
is_read(const char *action)
{
	size_t	 len = strlen(action);

	return str_has_prefix(action, "meta.") ||
	    (len > 5 && strcmp(action + len - 5, ".read") == 0);
}

static struct policy *
load_default(void)
{
	const char	*paths[] = { "policies" };
	char		*errors = NULL;
	struct policy	*p;

	p = policy_load(paths, 1, &errors);
	if (p == NULL)
		t_fail(__FILE__, __LINE__, "default policy: %s", errors);
	free(errors);
	return p;
}

static struct policy *
load_text(const char *name, const char *text)
{
	char		*errors = NULL;
	struct policy	*p;

	p = policy_load_string(name, text, &errors);
	if (p == NULL)
		t_fail(__FILE__, __LINE__, "%s: %s", name, errors);
	free(errors);
	return p;
}

/* ---- the default policy ---------------------------------------------- */

struct dcase {
	const char		*user;
	const char		*action;
	int			 vmid;		/* 0: no guest */
	const char		*snapshot;
	enum policy_effect	 effect;
	const char		*rule;		/* see expected_rule() */
};

static const struct dcase default_cases[] = {
	/* reads and help for every known user */
	{ "console:alice", "cluster.read", 0, NULL, POLICY_ALLOW,
	  "name:read-and-help" },
	{ "console:carol", "guest.read", 101, NULL, POLICY_ALLOW,
	  "name:read-and-help" },
	{ "console:carol", "meta.help", 0, NULL, POLICY_ALLOW,
	  "name:read-and-help" },
	{ "console:carol", "host.service.read", 0, NULL, POLICY_ALLOW,
	  "name:read-and-help" },
	{ "console:bob", "host.updates.read", 0, NULL, POLICY_ALLOW,
	  "name:read-and-help" },
	/* unknown identity */
	{ "console:eve", "guest.read", 101, NULL, POLICY_DENY,
	  "(unknown user)" },
	{ "telegram:123456789", "meta.help", 0, NULL, POLICY_DENY,
	  "(unknown user)" },
	/* role not permitted: viewers only read */
	{ "console:carol", "guest.start", 101, NULL, POLICY_DENY,
	  "role:viewer" },
	{ "console:carol", "job.cancel", 0, NULL, POLICY_DENY,
	  "role:viewer" },
	{ "console:bob", "host.snapshot.delete", 0, "nightly-3", POLICY_DENY,
	  "role:operator" },
	/* day-to-day allowed */
	{ "console:bob", "guest.start", 101, NULL, POLICY_ALLOW,
	  "name:day-to-day" },
	{ "console:bob", "guest.start", 111, NULL, POLICY_ALLOW,
	  "name:day-to-day" },
	{ "console:bob", "guest.snapshot.delete", 101, "pre-upgrade",
	  POLICY_ALLOW, "name:day-to-day" },
	{ "console:bob", "job.cancel", 0, NULL, POLICY_ALLOW,
	  "name:day-to-day" },
	{ "console:bob", "alert.silence", 0, NULL, POLICY_ALLOW,
	  "name:day-to-day" },
	/* self-protection beats allow, approval and prohibit */
	{ "console:bob", "guest.stop", 100, NULL, POLICY_SELF_PROTECT,
	  "name:pvebot-self" },
	{ "console:alice", "guest.stop", 105, NULL, POLICY_SELF_PROTECT,
	  "name:pvebot-self" },
	{ "console:bob", "guest.snapshot.rollback", 100, "pre-upgrade",
	  POLICY_SELF_PROTECT, "name:pvebot-self" },
	{ "console:alice", "guest.snapshot.delete", 105, "safety-1",
	  POLICY_SELF_PROTECT, "name:pvebot-self" },
	/* ... but never applies to reads */
	{ "console:bob", "guest.read", 100, NULL, POLICY_ALLOW,
	  "name:read-and-help" },
	/* prohibitions, whoever asks */
	{ "console:bob", "guest.snapshot.delete", 101, "safety-1",
	  POLICY_PROHIBIT, "name:safety-snapshots-undeletable" },
	{ "console:alice", "host.snapshot.delete", 0, "safety-2",
	  POLICY_PROHIBIT, "name:safety-snapshots-undeletable" },
	{ "console:bob", "guest.snapshot.delete", 102, "Safety-Old",
	  POLICY_PROHIBIT, "name:safety-snapshots-undeletable" },
	{ "console:bob", "guest.start", 9000, NULL, POLICY_PROHIBIT,
	  "name:templates-untouchable" },
	{ "console:alice", "guest.snapshot.rollback", 9001, "base",
	  POLICY_PROHIBIT, "name:templates-untouchable" },
	/* prohibit beats require_approval (migrate needs approval) */
	{ "console:alice", "guest.migrate", 9001, NULL, POLICY_PROHIBIT,
	  "name:templates-untouchable" },
	/* require_approval beats allow */
	{ "console:bob", "guest.snapshot.rollback", 101, "pre-upgrade",
	  POLICY_REQUIRE_APPROVAL, "name:risky-operations" },
	{ "console:bob", "guest.migrate", 106, NULL, POLICY_REQUIRE_APPROVAL,
	  "name:risky-operations" },
	{ "console:bob", "guest.clone", 9000, NULL, POLICY_REQUIRE_APPROVAL,
	  "name:risky-operations" },
	{ "console:bob", "backup.create", 102, NULL, POLICY_REQUIRE_APPROVAL,
	  "name:risky-operations" },
	{ "console:bob", "guest.unlock", 102, NULL, POLICY_REQUIRE_APPROVAL,
	  "name:risky-operations" },
	{ "console:alice", "guest.snapshot.rollback", 102, "nightly",
	  POLICY_REQUIRE_APPROVAL, "name:risky-by-admin" },
	{ "console:bob", "host.service.restart", 0, NULL,
	  POLICY_REQUIRE_APPROVAL, "name:service-restart" },
	/* no rule allows it: default deny, even for an admin */
	{ "console:alice", "cluster.destroy", 0, NULL, POLICY_DENY,
	  "(default deny)" },
	{ "console:alice", "guest.delete", 104, NULL, POLICY_DENY,
	  "(default deny)" },
};

static void
test_default_policy_table(void)
{
	struct policy		*p;
	struct policy_request	 req;
	struct policy_decision	 d;
	struct policy_target	 t;
	const struct dcase	*c;
	char			*text, *want;
	size_t			 i;

	if ((p = load_default()) == NULL)
		return;
	text = t_slurp("policies/default.yaml");
	T_OK(text != NULL);
	for (i = 0; text != NULL && i < nitems(default_cases); i++) {
		c = &default_cases[i];
		make_target(c->vmid, c->snapshot, &t);
		memset(&req, 0, sizeof req);
		req.user = c->user;
		req.action = c->action;
		req.mutating = !is_read(c->action);
		req.target = c->vmid != 0 || c->snapshot != NULL ? &t : NULL;
		req.room = "console:console";
		req.now = utc(2026, 11, 22, 12, 0);
		policy_decide(p, &req, &d);
		want = expected_rule("policies/default.yaml", text, c->rule);
		if (d.effect != c->effect || strcmp(d.rule, want) != 0)
			t_fail(__FILE__, __LINE__, "case %zu: %s %s %d %s: got "
			    "%s by %s (%s), expected %s by %s", i, c->user,
			    c->action, c->vmid, c->snapshot ? c->snapshot : "",
			    policy_effect_name(d.effect), d.rule, d.why,
			    policy_effect_name(c->effect), want);
		free(want);
	}
	free(text);
	policy_free(p);
}

static void
test_default_policy_details(void)
{
	struct policy		*p;
	struct policy_request	 req;
	struct policy_decision	 d;
	struct policy_target	 t;

	if ((p = load_default()) == NULL)
		return;
	make_target(101, "pre-upgrade", &t);
	memset(&req, 0, sizeof req);
	req.user = "console:bob";
	req.action = "guest.snapshot.rollback";
	req.mutating = 1;
	req.target = &t;
	req.room = "console:console";
	req.now = utc(2026, 11, 22, 12, 0);
	policy_decide(p, &req, &d);
	T_EQ_INT(d.effect, POLICY_REQUIRE_APPROVAL);
	T_EQ_STR(d.rule_name, "risky-operations");
	T_EQ_STR(d.person, "bob");
	T_EQ_STR(d.roles, "operator");
	T_EQ_INT(d.approvals, 1);
	T_EQ_INT(d.expiry, 900);
	T_EQ_INT(d.self_approve, 0);
	T_EQ_STR(d.approver_roles, "admin");
	T_CONTAINS(d.why, "admin must approve");

	req.user = "console:carol";
	req.action = "guest.start";
	policy_decide(p, &req, &d);
	T_EQ_INT(d.effect, POLICY_DENY);
	T_CONTAINS(d.why, "viewer may not request guest.start");
	T_EQ_STR(d.person, "carol");

	req.user = "console:alice";
	req.action = "guest.snapshot.delete";
	make_target(101, "safety-1", &t);
	policy_decide(p, &req, &d);
	T_EQ_INT(d.effect, POLICY_PROHIBIT);
	T_CONTAINS(d.why, "safety-*");
	T_EQ_STR(d.rule_name, "safety-snapshots-undeletable");
	policy_free(p);
}

/* ---- small policies: selectors, precedence, windows ------------------ */

static const char small_policy[] =
	"windows:\n"
	"  night:\n"
	"    days: [sat]\n"
	"    from: \"22:00\"\n"
	"    to: \"02:00\"\n"
	"    tz: Europe/Berlin\n"
	"  office:\n"
	"    days: weekdays\n"
	"    from: \"09:00\"\n"
	"    to: \"17:00\"\n"
	"    tz: America/New_York\n"
	"roles:\n"
	"  ops:\n"
	"    request: [\"*\"]\n"
	"    approve: [\"guest.*\"]\n"
	"  junior:\n"
	"    request: [\"guest.*\"]\n"
	"users:\n"
	"  olga:\n"
	"    identities: [console:olga, telegram:42]\n"
	"    roles: [ops]\n"
	"  jim:\n"
	"    identities: [console:jim]\n"
	"    roles: [junior]\n"
	"rules:\n"
	"  - name: protect-db\n"
	"    effect: self_protect\n"
	"    target:\n"
	"      name: \"db-*\"\n"
	"  - name: no-lxc-migrate-off-pve2\n"
	"    effect: prohibit\n"
	"    action: guest.migrate\n"
	"    target: {type: lxc, node: pve2}\n"
	"  - name: pool-frozen\n"
	"    effect: prohibit\n"
	"    target: {pool: frozen}\n"
	"  - name: prod-outside-night\n"
	"    effect: require_approval\n"
	"    action: [\"guest.*\"]\n"
	"    target: {tags: [\"prod*\"]}\n"
	"    outside: night\n"
	"    approvals: 2\n"
	"    expiry: 30m\n"
	"    reason_required: yes\n"
	"    snapshot_before: yes\n"
	"  - name: junior-office-hours\n"
	"    effect: allow\n"
	"    role: junior\n"
	"    during: office\n"
	"    action: guest.start\n"
	"  - name: stop-range\n"
	"    effect: allow\n"
	"    action: guest.stop\n"
	"    target: {vmid: [101, \"200-299\"]}\n"
	"  - name: no-template-starts\n"
	"    effect: prohibit\n"
	"    action: guest.start\n"
	"    target: {template: yes}\n"
	"  - name: ops-everything\n"
	"    effect: allow\n"
	"    role: ops\n";

struct scase {
	const char		*user, *action;
	int			 vmid;
	const char		*name, *type, *node, *tag, *pool;
	int			 is_template;
	int			 has_reason;
	int64_t			 now;
	enum policy_effect	 effect;
	const char		*rule;
};

#define NOV_MON_1200 utc(2026, 11, 23, 12, 0)

static void
test_small_policy_table(void)
{
	const struct scase cases[] = {
		/* self_protect beats an allow (ops-everything) */
		{ "console:olga", "guest.stop", 201, "db-9", "qemu", "pve1",
		  NULL, NULL, 0, 1, NOV_MON_1200, POLICY_SELF_PROTECT,
		  "name:protect-db" },
		/* self_protect beats a prohibit */
		{ "console:olga", "guest.migrate", 202, "db-2", "lxc", "pve2",
		  NULL, NULL, 0, 1, NOV_MON_1200, POLICY_SELF_PROTECT,
		  "name:protect-db" },
		/* self_protect does not apply to reads */
		{ "console:olga", "guest.read", 201, "db-9", "qemu", "pve1",
		  NULL, NULL, 0, 0, NOV_MON_1200, POLICY_ALLOW,
		  "name:ops-everything" },
		/* type + node selector */
		{ "console:olga", "guest.migrate", 203, "app", "lxc", "pve2",
		  NULL, NULL, 0, 1, NOV_MON_1200, POLICY_PROHIBIT,
		  "name:no-lxc-migrate-off-pve2" },
		{ "console:olga", "guest.migrate", 203, "app", "qemu", "pve2",
		  NULL, NULL, 0, 1, NOV_MON_1200, POLICY_ALLOW,
		  "name:ops-everything" },
		{ "console:olga", "guest.migrate", 203, "app", "lxc", "pve3",
		  NULL, NULL, 0, 1, NOV_MON_1200, POLICY_ALLOW,
		  "name:ops-everything" },
		/* pool selector; prohibit beats require_approval */
		{ "console:olga", "guest.start", 204, "app", "qemu", "pve1",
		  NULL, "frozen", 0, 1, NOV_MON_1200, POLICY_PROHIBIT,
		  "name:pool-frozen" },
		{ "console:olga", "guest.start", 204, "app", "qemu", "pve1",
		  "prod", "frozen", 0, 1, NOV_MON_1200, POLICY_PROHIBIT,
		  "name:pool-frozen" },
		/* tag glob; require_approval beats allow */
		{ "console:olga", "guest.start", 205, "web", "qemu", "pve1",
		  "prod-eu", NULL, 0, 1, NOV_MON_1200,
		  POLICY_REQUIRE_APPROVAL, "name:prod-outside-night" },
		/* the same through the person's other identity */
		{ "telegram:42", "guest.start", 205, "web", "qemu", "pve1",
		  "prod-eu", NULL, 0, 1, NOV_MON_1200,
		  POLICY_REQUIRE_APPROVAL, "name:prod-outside-night" },
		/* reason required and missing: deny by that rule */
		{ "console:olga", "guest.start", 205, "web", "qemu", "pve1",
		  "prod", NULL, 0, 0, NOV_MON_1200, POLICY_DENY,
		  "name:prod-outside-night" },
		/* a tag that does not match the glob */
		{ "console:olga", "guest.start", 205, "web", "qemu", "pve1",
		  "preprod", NULL, 0, 1, NOV_MON_1200, POLICY_ALLOW,
		  "name:ops-everything" },
		/* window sat 22:00-02:00 Europe/Berlin (UTC+1 in November) */
		{ "console:olga", "guest.start", 205, "web", "qemu", "pve1",
		  "prod", NULL, 0, 1, utc(2026, 11, 21, 22, 30), POLICY_ALLOW,
		  "name:ops-everything" },		/* sat 23:30 */
		{ "console:olga", "guest.start", 205, "web", "qemu", "pve1",
		  "prod", NULL, 0, 1, utc(2026, 11, 22, 0, 30), POLICY_ALLOW,
		  "name:ops-everything" },		/* sun 01:30 */
		{ "console:olga", "guest.start", 205, "web", "qemu", "pve1",
		  "prod", NULL, 0, 1, utc(2026, 11, 22, 1, 0),
		  POLICY_REQUIRE_APPROVAL,
		  "name:prod-outside-night" },		/* sun 02:00 */
		{ "console:olga", "guest.start", 205, "web", "qemu", "pve1",
		  "prod", NULL, 0, 1, utc(2026, 11, 21, 20, 59),
		  POLICY_REQUIRE_APPROVAL,
		  "name:prod-outside-night" },		/* sat 21:59 */
		{ "console:olga", "guest.start", 205, "web", "qemu", "pve1",
		  "prod", NULL, 0, 1, utc(2026, 11, 20, 22, 30),
		  POLICY_REQUIRE_APPROVAL,
		  "name:prod-outside-night" },		/* fri 23:30 */
		{ "console:olga", "guest.start", 205, "web", "qemu", "pve1",
		  "prod", NULL, 0, 1, utc(2026, 11, 22, 22, 30),
		  POLICY_REQUIRE_APPROVAL,
		  "name:prod-outside-night" },		/* sun 23:30 */
		/* summer time: 20:30 UTC is 22:30 CEST, inside */
		{ "console:olga", "guest.start", 205, "web", "qemu", "pve1",
		  "prod", NULL, 0, 1, utc(2026, 7, 18, 20, 30), POLICY_ALLOW,
		  "name:ops-everything" },
		/* office hours Mon-Fri 09-17 America/New_York (UTC-5) */
		{ "console:jim", "guest.start", 206, "app", "qemu", "pve1",
		  NULL, NULL, 0, 0, utc(2026, 11, 23, 15, 0), POLICY_ALLOW,
		  "name:junior-office-hours" },		/* mon 10:00 */
		{ "console:jim", "guest.start", 206, "app", "qemu", "pve1",
		  NULL, NULL, 0, 0, utc(2026, 11, 23, 10, 0), POLICY_DENY,
		  "(default deny)" },			/* mon 05:00 */
		{ "console:jim", "guest.start", 206, "app", "qemu", "pve1",
		  NULL, NULL, 0, 0, utc(2026, 11, 22, 15, 0), POLICY_DENY,
		  "(default deny)" },			/* sun 10:00 */
		/* VMID list and range */
		{ "console:jim", "guest.stop", 101, "a", "qemu", "pve1",
		  NULL, NULL, 0, 0, NOV_MON_1200, POLICY_ALLOW,
		  "name:stop-range" },
		{ "console:jim", "guest.stop", 250, "a", "qemu", "pve1",
		  NULL, NULL, 0, 0, NOV_MON_1200, POLICY_ALLOW,
		  "name:stop-range" },
		{ "console:jim", "guest.stop", 300, "a", "qemu", "pve1",
		  NULL, NULL, 0, 0, NOV_MON_1200, POLICY_DENY,
		  "(default deny)" },
		{ "console:jim", "guest.stop", 199, "a", "qemu", "pve1",
		  NULL, NULL, 0, 0, NOV_MON_1200, POLICY_DENY,
		  "(default deny)" },
		/* template selector */
		{ "console:olga", "guest.start", 9000, "tmpl", "qemu", "pve1",
		  NULL, NULL, 1, 0, NOV_MON_1200, POLICY_PROHIBIT,
		  "name:no-template-starts" },
		{ "console:olga", "guest.start", 9000, "tmpl", "qemu", "pve1",
		  NULL, NULL, 0, 0, NOV_MON_1200, POLICY_ALLOW,
		  "name:ops-everything" },
		/* role not permitted, unknown user */
		{ "console:jim", "cluster.read", 0, NULL, NULL, NULL,
		  NULL, NULL, 0, 0, NOV_MON_1200, POLICY_DENY, "role:junior" },
		{ "telegram:43", "cluster.read", 0, NULL, NULL, NULL,
		  NULL, NULL, 0, 0, NOV_MON_1200, POLICY_DENY,
		  "(unknown user)" },
		/* a target rule never matches a request without a target */
		{ "console:olga", "cluster.read", 0, NULL, NULL, NULL,
		  NULL, NULL, 0, 0, NOV_MON_1200, POLICY_ALLOW,
		  "name:ops-everything" },
	};
	struct policy		*p;
	struct policy_request	 req;
	struct policy_decision	 d;
	struct policy_target	 t;
	const struct scase	*c;
	const char		*tags[1];
	char			*want;
	size_t			 i;

	if ((p = load_text("small.yaml", small_policy)) == NULL)
		return;
	for (i = 0; i < nitems(cases); i++) {
		c = &cases[i];
		memset(&t, 0, sizeof t);
		t.vmid = c->vmid;
		t.name = c->name;
		t.type = c->type;
		t.node = c->node;
		t.pool = c->pool;
		t.is_template = c->is_template;
		tags[0] = c->tag;
		t.tags = tags;
		t.ntags = c->tag != NULL ? 1 : 0;
		memset(&req, 0, sizeof req);
		req.user = c->user;
		req.action = c->action;
		req.mutating = !is_read(c->action);
		req.target = c->vmid != 0 ? &t : NULL;
		req.has_reason = c->has_reason;
		req.now = c->now;
		policy_decide(p, &req, &d);
		want = expected_rule("small.yaml", small_policy, c->rule);
		if (d.effect != c->effect || strcmp(d.rule, want) != 0)
			t_fail(__FILE__, __LINE__, "case %zu: %s %s %d: got %s "
			    "by %s (%s), expected %s by %s", i, c->user,
			    c->action, c->vmid, policy_effect_name(d.effect),
			    d.rule, d.why, policy_effect_name(c->effect), want);
		free(want);
	}
	policy_free(p);
}

static void
test_approval_options_in_decision(void)
{
	struct policy		*p;
	struct policy_request	 req;
	struct policy_decision	 d;
	struct policy_target	 t;
	const char		*tags[] = { "prod" };

	if ((p = load_text("small.yaml", small_policy)) == NULL)
		return;
	memset(&t, 0, sizeof t);
	t.vmid = 205;
	t.name = "web";
	t.tags = tags;
	t.ntags = 1;
	memset(&req, 0, sizeof req);
	req.user = "console:olga";
	req.action = "guest.snapshot.rollback";
	req.mutating = 1;
	req.target = &t;
	req.has_reason = 1;
	req.now = NOV_MON_1200;
	policy_decide(p, &req, &d);
	T_EQ_INT(d.effect, POLICY_REQUIRE_APPROVAL);
	T_EQ_INT(d.approvals, 2);
	T_EQ_INT(d.expiry, 1800);
	T_EQ_INT(d.reason_required, 1);
	T_EQ_INT(d.snapshot_before, 1);
	T_EQ_INT(d.self_approve, 0);
	/* approvers unset: every role whose approve list covers it */
	T_EQ_STR(d.approver_roles, "ops");

	req.has_reason = 0;
	policy_decide(p, &req, &d);
	T_EQ_INT(d.effect, POLICY_DENY);
	T_CONTAINS(d.why, "needs a reason");
	policy_free(p);
}

static void
test_nobody_may_approve_is_denied(void)
{
	static const char text[] =
	    "roles:\n"
	    "  ops: {request: [\"*\"]}\n"
	    "users:\n"
	    "  olga: {identities: [console:olga], roles: [ops]}\n"
	    "rules:\n"
	    "  - name: ask\n"
	    "    effect: require_approval\n"
	    "    action: guest.start\n";
	struct policy		*p;
	struct policy_request	 req;
	struct policy_decision	 d;

	if ((p = load_text("t.yaml", text)) == NULL)
		return;
	memset(&req, 0, sizeof req);
	req.user = "console:olga";
	req.action = "guest.start";
	req.mutating = 1;
	policy_decide(p, &req, &d);
	T_EQ_INT(d.effect, POLICY_DENY);
	T_EQ_STR(d.rule, "t.yaml:6");
	T_CONTAINS(d.why, "no role may approve");
	policy_free(p);
}

static void
test_first_rule_of_a_level_decides(void)
{
	static const char text[] =
	    "roles:\n"
	    "  ops: {request: [\"*\"], approve: [\"*\"]}\n"
	    "users:\n"
	    "  olga: {identities: [console:olga], roles: [ops]}\n"
	    "rules:\n"
	    "  - effect: allow\n"
	    "    action: \"guest.*\"\n"
	    "  - name: second\n"
	    "    effect: allow\n"
	    "    action: guest.start\n";
	struct policy		*p;
	struct policy_request	 req;
	struct policy_decision	 d;

	if ((p = load_text("t.yaml", text)) == NULL)
		return;
	memset(&req, 0, sizeof req);
	req.user = "console:olga";
	req.action = "guest.start";
	req.mutating = 1;
	policy_decide(p, &req, &d);
	T_EQ_INT(d.effect, POLICY_ALLOW);
	T_EQ_STR(d.rule, "t.yaml:6");
	T_EQ_STR(d.rule_name, "");
	policy_free(p);
}

static void
test_explain_names_rules(void)
{
	struct policy		*p;
	struct policy_request	 req;
	struct policy_target	 t;
	char			*text, *out, *want;

	if ((p = load_default()) == NULL)
		return;
	text = t_slurp("policies/default.yaml");
	make_target(101, "pre-upgrade", &t);
	memset(&req, 0, sizeof req);
	req.user = "console:bob";
	req.action = "guest.snapshot.rollback";
	req.mutating = 1;
	req.target = &t;
	req.now = utc(2026, 11, 22, 12, 0);
	out = policy_explain(p, &req);
	T_CONTAINS(out, "user: bob");
	T_CONTAINS(out, "roles: operator");
	T_CONTAINS(out, "role operator");
	T_CONTAINS(out, "may request guest.snapshot.rollback");
	T_CONTAINS(out, "web-01");
	want = expected_rule("policies/default.yaml", text,
	    "name:risky-operations");
	T_CONTAINS(out, want);
	free(want);
	T_CONTAINS(out, "decision: require_approval by policies/default.yaml:");
	T_CONTAINS(out, "(risky-operations)");
	T_CONTAINS(out, "1 approval from admin within 15m");
	free(out);

	/* every matching rule is listed, the deciding one last */
	req.action = "guest.snapshot.delete";
	make_target(101, "safety-1", &t);
	out = policy_explain(p, &req);
	T_CONTAINS(out, "safety-snapshots-undeletable");
	T_CONTAINS(out, "day-to-day");
	T_CONTAINS(out, "decision: prohibit");
	free(out);

	req.user = "console:eve";
	out = policy_explain(p, &req);
	T_CONTAINS(out, "user: unknown");
	T_CONTAINS(out, "decision: deny by (unknown user)");
	free(out);
	free(text);
	policy_free(p);
}

/*
 * Issue 14 item 5: the default read rule goes by what the command does.
 * A command that changes state is not a read, whatever its action ends
 * in; a viewer may not run it.
 */
static void
test_read_rule_goes_by_mutating(void)
{
	struct policy		*p;
	struct policy_request	 req;
	struct policy_decision	 d;

	if ((p = load_default()) == NULL)
		return;
	memset(&req, 0, sizeof req);
	req.user = "console:carol";
	req.action = "cluster.reset.read";
	req.room = "console:console";
	req.now = utc(2026, 11, 22, 12, 0);
	req.mutating = 1;
	policy_decide(p, &req, &d);
	T_EQ_INT(d.effect, POLICY_DENY);
	T_EQ_STR(d.rule, "(default deny)");
	/* Nor an operator, whose role lists *.read too. */
	req.user = "console:bob";
	policy_decide(p, &req, &d);
	T_EQ_INT(d.effect, POLICY_DENY);
	/* The same action as a real read is allowed. */
	req.user = "console:carol";
	req.mutating = 0;
	policy_decide(p, &req, &d);
	T_EQ_INT(d.effect, POLICY_ALLOW);
	T_CONTAINS(d.rule, "policies/default.yaml:");
	policy_free(p);
}

/* Issue 14 item 13: whoami in a shared room tells only that network. */
static void
test_whoami_per_network(void)
{
	struct policy	*p;
	char		*out;

	p = load_text("people.yaml",
	    "roles:\n"
	    "  operator: {request: [\"*\"], approve: []}\n"
	    "users:\n"
	    "  dana:\n"
	    "    identities: [telegram:123456789, \"matrix:@dana:example.org\","
	    " discord:80351110224678912]\n"
	    "    roles: [operator]\n");
	if (p == NULL)
		return;
	out = policy_whoami(p, "telegram:123456789", 0);
	T_CONTAINS(out, "you are dana (telegram:123456789)");
	T_CONTAINS(out, "identities: telegram:123456789 (2 on other networks: "
	    "ask in a private chat)");
	T_NOT_CONTAINS(out, "matrix:");
	T_NOT_CONTAINS(out, "discord:");
	free(out);
	out = policy_whoami(p, "matrix:@dana:example.org", 0);
	T_CONTAINS(out, "identities: matrix:@dana:example.org (2 on other");
	T_NOT_CONTAINS(out, "telegram:");
	free(out);
	/* A private chat shows them all. */
	out = policy_whoami(p, "telegram:123456789", 1);
	T_CONTAINS(out, "identities: telegram:123456789, "
	    "matrix:@dana:example.org, discord:80351110224678912\n");
	free(out);
	policy_free(p);
}

static void
test_whoami_and_may_approve(void)
{
	struct policy	*p;
	char		*out;

	if ((p = load_default()) == NULL)
		return;
	out = policy_whoami(p, "console:alice", 1);
	T_CONTAINS(out, "you are alice");
	T_CONTAINS(out, "roles: admin");
	T_CONTAINS(out, "may approve: *");
	free(out);
	out = policy_whoami(p, "console:carol", 1);
	T_CONTAINS(out, "roles: viewer");
	T_CONTAINS(out, "may request: *.read, meta.*");
	T_CONTAINS(out, "may approve: nothing");
	free(out);
	out = policy_whoami(p, "console:eve", 1);
	T_CONTAINS(out, "not a known user");
	free(out);

	T_EQ_INT(policy_may_approve(p, "console:alice",
	    "guest.snapshot.rollback"), 1);
	T_EQ_INT(policy_may_approve(p, "console:bob",
	    "guest.snapshot.rollback"), 0);
	T_EQ_INT(policy_may_approve(p, "console:carol", "guest.start"), 0);
	T_EQ_INT(policy_may_approve(p, "console:eve", "guest.start"), 0);
	policy_free(p);
}

/* decide() runs for every command: it must stay cheap. */
static void
test_decide_is_fast(void)
{
	struct policy		*p;
	struct policy_request	 req;
	struct policy_decision	 d;
	struct policy_target	 t;
	int64_t			 start, took;
	int			 i, prohibited = 0;

	if ((p = load_default()) == NULL)
		return;
	make_target(101, "safety-1", &t);
	memset(&req, 0, sizeof req);
	req.user = "console:bob";
	req.action = "guest.snapshot.delete";
	req.mutating = 1;
	req.target = &t;
	start = now_ms();
	for (i = 0; i < 20000; i++) {
		policy_decide(p, &req, &d);
		prohibited += d.effect == POLICY_PROHIBIT;
	}
	took = now_ms() - start;
	T_EQ_INT(prohibited, 20000);
	if (took > 2000)
		t_fail(__FILE__, __LINE__, "20000 decisions took %lld ms",
		    (long long)took);
	policy_free(p);
}

int
main(void)
{
	T_RUN(test_default_policy_table);
	T_RUN(test_default_policy_details);
	T_RUN(test_small_policy_table);
	T_RUN(test_approval_options_in_decision);
	T_RUN(test_nobody_may_approve_is_denied);
	T_RUN(test_first_rule_of_a_level_decides);
	T_RUN(test_explain_names_rules);
	T_RUN(test_whoami_and_may_approve);
	T_RUN(test_read_rule_goes_by_mutating);
	T_RUN(test_whoami_per_network);
	T_RUN(test_decide_is_fast);
	return t_summary();
}
