/*
 * policy.c - deciding whether one request may run, and explaining why.
 *
 * policy_decide() is pure: its answer depends only on the loaded policy
 * and the request (the time comes in the request; window time zones are
 * resolved with tz_localtime()). It does no I/O of its own, keeps no
 * state and allocates nothing, so it is cheap enough to run for every
 * command and can be called from any thread.
 *
 * The order of precedence, first answer wins:
 *
 *   1. The identity belongs to no user of the policy: deny
 *      ("(unknown user)").
 *   2. A self_protect rule matches and the request changes state:
 *      self_protect. Read-only requests are never self-protected.
 *   3. A prohibit rule matches: prohibit, whoever asks.
 *   4. None of the user's roles lists the action under request:
 *      deny, naming the role's definition.
 *   5. A require_approval rule matches: require_approval, with that
 *      rule's approvers, count, expiry and options. When the rule wants
 *      a reason and the request has none, or no role may approve the
 *      action, deny instead, naming the same rule.
 *   6. An allow rule matches: allow.
 *   7. Nothing allows it: deny ("(default deny)").
 *
 * Within one level the first matching rule in load order (files sorted
 * by name, rules top to bottom) decides. A rule matches when every
 * selector it has matches (action, target fields, role, mutating,
 * during/outside windows); a list matches when any item does. A target
 * selector never matches a field the request does not know (no guest,
 * no tags...), so the router resolves the target before it asks.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy_int.h"
#include "util.h"

const char *
policy_effect_name(enum policy_effect e)
{
	switch (e) {
	case POLICY_ALLOW:
		return "allow";
	case POLICY_REQUIRE_APPROVAL:
		return "require_approval";
	case POLICY_PROHIBIT:
		return "prohibit";
	case POLICY_SELF_PROTECT:
		return "self_protect";
	case POLICY_DENY:
		return "deny";
	}
	return "deny";
}

static const char *
pol_effect_name(enum pol_effect e)
{
	switch (e) {
	case POL_SELF_PROTECT:
		return "self_protect";
	case POL_PROHIBIT:
		return "prohibit";
	case POL_REQUIRE_APPROVAL:
		return "require_approval";
	case POL_ALLOW:
		return "allow";
	}
	return "?";
}

const struct pol_user *
pol_find_user(const struct policy *p, const char *identity)
{
	size_t	 i, k;

	if (p == NULL || identity == NULL)
		return NULL;
	for (i = 0; i < p->nusers; i++)
		for (k = 0; k < p->users[i].identities.n; k++)
			if (strcmp(p->users[i].identities.v[k], identity) == 0)
				return &p->users[i];
	return NULL;
}

int
pol_role_may(const struct pol_strv *globs, const char *action)
{
	size_t	 i;

	if (action == NULL)
		return 0;
	for (i = 0; i < globs->n; i++)
		if (glob_match(globs->v[i], action))
			return 1;
	return 0;
}

int
pol_window_contains(const struct pol_window *w, int64_t now)
{
	struct tm	 tm;
	int		 m, wd;

	if (tz_localtime(now, w->tz, &tm) != 0)
		return 0;
	m = tm.tm_hour * 60 + tm.tm_min;
	wd = tm.tm_wday;
	if (w->from < w->to)
		return (w->days & (1U << wd)) && m >= w->from && m < w->to;
	/* Crosses midnight: the early hours belong to the previous day. */
	if (m >= w->from)
		return (w->days & (1U << wd)) != 0;
	if (m < w->to)
		return (w->days & (1U << ((wd + 6) % 7))) != 0;
	return 0;
}

char *
pol_short_duration(int64_t secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(buf, len, "%llds", (long long)secs);
	else if (secs < 3600)
		snprintf(buf, len, "%lldm", (long long)(secs / 60));
	else if (secs < 86400 && (secs % 3600) / 60 != 0)
		snprintf(buf, len, "%lldh%lldm", (long long)(secs / 3600),
		    (long long)((secs % 3600) / 60));
	else if (secs < 86400)
		snprintf(buf, len, "%lldh", (long long)(secs / 3600));
	else
		snprintf(buf, len, "%lldd", (long long)(secs / 86400));
	return buf;
}

/*
 * Globs ignore case: guest names, tags and snapshot names are matched so
 * that "Safety-1" is still a safety-* snapshot.
 */
static int
globs_match(const struct pol_strv *globs, const char *s)
{
	size_t	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < globs->n; i++)
		if (glob_match_case(globs->v[i], s, 1))
			return 1;
	return 0;
}

static int
user_has_role(const struct pol_user *u, size_t role)
{
	size_t	 i;

	for (i = 0; i < u->roles.n; i++)
		if (u->roles.v[i] == role)
			return 1;
	return 0;
}

static int
target_matches(const struct pol_rule *r, const struct policy_target *t)
{
	size_t	 i, k;
	int	 hit;

	if (t == NULL)
		return 0;
	if (r->nvmids > 0) {
		for (hit = 0, i = 0; i < r->nvmids && !hit; i++)
			hit = t->vmid != 0 && t->vmid >= r->vmids[i].lo &&
			    t->vmid <= r->vmids[i].hi;
		if (!hit)
			return 0;
	}
	if (r->names.n > 0 && !globs_match(&r->names, t->name))
		return 0;
	if (r->nodes.n > 0 && !globs_match(&r->nodes, t->node))
		return 0;
	if (r->pools.n > 0 && !globs_match(&r->pools, t->pool))
		return 0;
	if (r->snapshots.n > 0 && !globs_match(&r->snapshots, t->snapshot))
		return 0;
	if (r->storages.n > 0 && !globs_match(&r->storages, t->storage))
		return 0;
	if (r->tags.n > 0) {
		for (hit = 0, k = 0; k < t->ntags && !hit; k++)
			hit = globs_match(&r->tags, t->tags[k]);
		if (!hit)
			return 0;
	}
	if (r->type != 0) {
		if (t->type == NULL || strcmp(t->type,
		    r->type == 1 ? "qemu" : "lxc") != 0)
			return 0;
	}
	if (r->is_template != -1) {
		if (t->vmid == 0 || (t->is_template != 0) != r->is_template)
			return 0;
	}
	return 1;
}

static int
rule_matches(const struct policy *p, const struct pol_rule *r,
    const struct policy_request *req, const struct pol_user *u)
{
	size_t	 i;
	int	 hit;

	if (r->actions.n > 0 && !pol_role_may(&r->actions, req->action))
		return 0;
	if (r->mutating != -1 && (req->mutating != 0) != r->mutating)
		return 0;
	if (r->roles.n > 0) {
		for (hit = 0, i = 0; i < r->roles.n && !hit; i++)
			hit = user_has_role(u, r->roles.v[i]);
		if (!hit)
			return 0;
	}
	if (r->has_target && !target_matches(r, req->target))
		return 0;
	if (r->during.n > 0) {
		for (hit = 0, i = 0; i < r->during.n && !hit; i++)
			hit = pol_window_contains(&p->windows[r->during.v[i]],
			    req->now);
		if (!hit)
			return 0;
	}
	for (i = 0; i < r->outside.n; i++)
		if (pol_window_contains(&p->windows[r->outside.v[i]],
		    req->now))
			return 0;
	return 1;
}

/* The first rule of this effect that matches, or NULL. */
static const struct pol_rule *
first_match(const struct policy *p, enum pol_effect effect,
    const struct policy_request *req, const struct pol_user *u)
{
	size_t	 i;

	for (i = 0; i < p->nrules; i++)
		if (p->rules[i].effect == effect &&
		    rule_matches(p, &p->rules[i], req, u))
			return &p->rules[i];
	return NULL;
}

static void
comma_list(char *out, size_t len, const struct policy *p,
    const struct pol_idxv *roles)
{
	size_t	 i, used = 0;
	int	 n;

	*out = '\0';
	for (i = 0; i < roles->n; i++) {
		n = snprintf(out + used, len - used, "%s%s", i ? "," : "",
		    p->roles[roles->v[i]].name);
		if (n < 0 || (size_t)n >= len - used) {
			out[used] = '\0';
			return;
		}
		used += (size_t)n;
	}
}

static const char *
rule_label(const struct pol_rule *r)
{
	return r->name != NULL ? r->name : "(unnamed rule)";
}

static void
decide_from_rule(struct policy_decision *d, enum policy_effect effect,
    const struct pol_rule *r, const char *fmt, const char *action)
{
	d->effect = effect;
	snprintf(d->rule, sizeof d->rule, "%s:%d", r->loc.file, r->loc.line);
	snprintf(d->rule_name, sizeof d->rule_name, "%s",
	    r->name != NULL ? r->name : "");
	if (r->why != NULL)
		snprintf(d->why, sizeof d->why, "%s", r->why);
	else
		snprintf(d->why, sizeof d->why, fmt, action, rule_label(r));
}

/*
 * The roles that may approve action under rule r: the rule's approvers
 * (or every role when it names none) whose approve list covers it.
 */
static void
approver_roles(const struct policy *p, const struct pol_rule *r,
    const char *action, char *out, size_t len)
{
	struct pol_idxv	 ok = { NULL, 0 };
	size_t		 all[64], okv[64], i, n;

	if (r->approvers.n > 0) {
		n = r->approvers.n < nitems(all) ? r->approvers.n : nitems(all);
		for (i = 0; i < n; i++)
			all[i] = r->approvers.v[i];
	} else {
		n = p->nroles < nitems(all) ? p->nroles : nitems(all);
		for (i = 0; i < n; i++)
			all[i] = i;
	}
	ok.v = okv;
	for (i = 0; i < n; i++)
		if (pol_role_may(&p->roles[all[i]].approve, action))
			ok.v[ok.n++] = all[i];
	comma_list(out, len, p, &ok);
}

void
policy_decide(const struct policy *p, const struct policy_request *req,
    struct policy_decision *d)
{
	const struct pol_user	*u;
	const struct pol_rule	*r;
	const char		*action;
	size_t			 i;

	memset(d, 0, sizeof *d);
	d->effect = POLICY_DENY;
	d->approvals = 1;
	d->expiry = 900;
	action = req->action != NULL ? req->action : "";

	if ((u = pol_find_user(p, req->user)) == NULL) {
		snprintf(d->rule, sizeof d->rule, "(unknown user)");
		snprintf(d->why, sizeof d->why, "%s is not a known user of "
		    "this bot; an admin must add the identity to the policy",
		    req->user != NULL ? req->user : "(nobody)");
		return;
	}
	snprintf(d->person, sizeof d->person, "%s", u->name);
	comma_list(d->roles, sizeof d->roles, p, &u->roles);

	if (req->mutating &&
	    (r = first_match(p, POL_SELF_PROTECT, req, u)) != NULL) {
		decide_from_rule(d, POLICY_SELF_PROTECT, r, "%s is refused: "
		    "the target is one pvebot itself depends on (rule %s)",
		    action);
		return;
	}
	if ((r = first_match(p, POL_PROHIBIT, req, u)) != NULL) {
		decide_from_rule(d, POLICY_PROHIBIT, r, "%s is prohibited "
		    "for everyone by rule %s", action);
		return;
	}

	for (i = 0; i < u->roles.n; i++)
		if (pol_role_may(&p->roles[u->roles.v[i]].request, action))
			break;
	if (i == u->roles.n) {
		const struct pol_role *role = &p->roles[u->roles.v[0]];

		snprintf(d->rule, sizeof d->rule, "%s:%d", role->loc.file,
		    role->loc.line);
		snprintf(d->rule_name, sizeof d->rule_name, "role %s",
		    role->name);
		snprintf(d->why, sizeof d->why, "your role%s %s may not "
		    "request %s", u->roles.n > 1 ? "s" : "", d->roles, action);
		return;
	}

	if ((r = first_match(p, POL_REQUIRE_APPROVAL, req, u)) != NULL) {
		decide_from_rule(d, POLICY_REQUIRE_APPROVAL, r, "%s needs "
		    "approval (rule %s)", action);
		d->approvals = r->approvals;
		d->expiry = r->expiry;
		d->self_approve = r->self_approve;
		d->reason_required = r->reason_required;
		d->snapshot_before = r->snapshot_before;
		approver_roles(p, r, action, d->approver_roles,
		    sizeof d->approver_roles);
		if (d->approver_roles[0] == '\0') {
			d->effect = POLICY_DENY;
			snprintf(d->why, sizeof d->why, "%s needs approval "
			    "(rule %s) but no role may approve it", action,
			    rule_label(r));
		} else if (r->reason_required && !req->has_reason) {
			d->effect = POLICY_DENY;
			snprintf(d->why, sizeof d->why, "%s needs a reason "
			    "(rule %s): repeat the command with a reason at "
			    "the end", action, rule_label(r));
		}
		return;
	}
	if ((r = first_match(p, POL_ALLOW, req, u)) != NULL) {
		decide_from_rule(d, POLICY_ALLOW, r, "%s is allowed by rule %s",
		    action);
		return;
	}
	snprintf(d->rule, sizeof d->rule, "(default deny)");
	snprintf(d->why, sizeof d->why, "no rule allows %s, so it is denied",
	    action);
}

int
policy_may_approve(const struct policy *p, const char *identity,
    const char *action)
{
	const struct pol_user	*u;
	size_t			 i;

	if ((u = pol_find_user(p, identity)) == NULL)
		return 0;
	for (i = 0; i < u->roles.n; i++)
		if (pol_role_may(&p->roles[u->roles.v[i]].approve, action))
			return 1;
	return 0;
}

int
policy_person(const struct policy *p, const char *identity, char *buf,
    size_t len)
{
	const struct pol_user	*u;

	if (len > 0)
		*buf = '\0';
	if ((u = pol_find_user(p, identity)) == NULL)
		return -1;
	snprintf(buf, len, "%s", u->name);
	return 0;
}

void
policy_counts(const struct policy *p, size_t *roles, size_t *users,
    size_t *rules)
{
	*roles = p != NULL ? p->nroles : 0;
	*users = p != NULL ? p->nusers : 0;
	*rules = p != NULL ? p->nrules : 0;
}

static void
describe_target(struct buf *b, const struct policy_target *t)
{
	size_t	 i;

	if (t == NULL) {
		buf_puts(b, " (no target)");
		return;
	}
	if (t->vmid != 0)
		buf_printf(b, " on %d", t->vmid);
	if (t->name != NULL)
		buf_printf(b, " %s", t->name);
	if (t->type != NULL || t->node != NULL)
		buf_printf(b, " (%s%s%s)", t->type != NULL ? t->type : "guest",
		    t->node != NULL ? " on " : "",
		    t->node != NULL ? t->node : "");
	if (t->is_template)
		buf_puts(b, " template");
	if (t->ntags > 0) {
		buf_puts(b, " tags ");
		for (i = 0; i < t->ntags; i++)
			buf_printf(b, "%s%s", i ? "," : "", t->tags[i]);
	}
	if (t->pool != NULL)
		buf_printf(b, " pool %s", t->pool);
	if (t->snapshot != NULL)
		buf_printf(b, " snapshot %s", t->snapshot);
	if (t->storage != NULL)
		buf_printf(b, " storage %s", t->storage);
}

char *
policy_explain(const struct policy *p, const struct policy_request *req)
{
	struct policy_decision	 d;
	const struct pol_user	*u;
	const struct pol_rule	*r;
	const struct pol_role	*role;
	struct buf		 b;
	size_t			 i, k, nmatch = 0;
	char			 expiry[32];
	const char		*action;

	action = req->action != NULL ? req->action : "";
	buf_init(&b, 64 * 1024);
	buf_printf(&b, "request: %s asks for %s%s",
	    req->user != NULL ? req->user : "(nobody)", action,
	    req->mutating ? " (changes state)" : " (read only)");
	describe_target(&b, req->target);
	buf_puts(&b, "\n");

	policy_decide(p, req, &d);
	if ((u = pol_find_user(p, req->user)) == NULL)
		buf_printf(&b, "user: unknown: no user of the policy has this "
		    "identity\n");
	else {
		buf_printf(&b, "user: %s (%s:%d), roles: %s\n", u->name,
		    u->loc.file, u->loc.line, d.roles);
		for (i = 0; i < u->roles.n; i++) {
			role = &p->roles[u->roles.v[i]];
			buf_printf(&b, "role %s (%s:%d) %s request %s\n",
			    role->name, role->loc.file, role->loc.line,
			    pol_role_may(&role->request, action) ? "may" :
			    "may not", action);
		}
		buf_puts(&b, "rules that match, in the order of precedence:\n");
		for (k = 0; k < p->nrules * 4; k++) {
			r = &p->rules[k % p->nrules];
			if (r->effect != (enum pol_effect)(k / p->nrules) ||
			    !rule_matches(p, r, req, u))
				continue;
			nmatch++;
			buf_printf(&b, "  %-16s %s:%d %s%s\n",
			    pol_effect_name(r->effect), r->loc.file,
			    r->loc.line, rule_label(r),
			    r->effect == POL_SELF_PROTECT && !req->mutating ?
			    " (not applied: the request changes nothing)" :
			    "");
		}
		if (nmatch == 0)
			buf_puts(&b, "  (none)\n");
	}
	buf_printf(&b, "decision: %s by %s%s%s%s\n",
	    policy_effect_name(d.effect), d.rule,
	    d.rule_name[0] != '\0' ? " (" : "", d.rule_name,
	    d.rule_name[0] != '\0' ? ")" : "");
	buf_printf(&b, "why: %s\n", d.why);
	if (d.effect == POLICY_REQUIRE_APPROVAL) {
		pol_short_duration(d.expiry, expiry, sizeof expiry);
		buf_printf(&b, "approval: %d approval%s from %s within %s; the "
		    "requester %s approve%s%s\n", d.approvals,
		    d.approvals == 1 ? "" : "s", d.approver_roles, expiry,
		    d.self_approve ? "may" : "may not",
		    d.reason_required ? "; a reason is required" : "",
		    d.snapshot_before ? "; a safety snapshot is taken first" :
		    "");
	}
	return buf_steal(&b);
}

static void
list_globs(struct buf *b, const char *label, const struct pol_user *u,
    const struct policy *p, int approve)
{
	const struct pol_strv	*g;
	size_t			 i, k, n = 0;

	buf_printf(b, "%s: ", label);
	for (i = 0; i < u->roles.n; i++) {
		g = approve ? &p->roles[u->roles.v[i]].approve :
		    &p->roles[u->roles.v[i]].request;
		for (k = 0; k < g->n; k++)
			buf_printf(b, "%s%s", n++ ? ", " : "", g->v[k]);
	}
	buf_puts(b, n == 0 ? "nothing\n" : "\n");
}

char *
policy_whoami(const struct policy *p, const char *identity,
    int all_networks)
{
	const struct pol_user	*u;
	struct buf		 b;
	size_t			 i, net, shown = 0;
	char			 roles[128];

	buf_init(&b, 64 * 1024);
	if ((u = pol_find_user(p, identity)) == NULL) {
		buf_printf(&b, "you are %s, not a known user of this bot; an "
		    "admin must add this identity to the policy\n",
		    identity != NULL ? identity : "(nobody)");
		return buf_steal(&b);
	}
	comma_list(roles, sizeof roles, p, &u->roles);
	buf_printf(&b, "you are %s (%s)\n", u->name, identity);
	/* In a shared room, the person's other networks are their own
	 * business: only this network's identity is shown. */
	net = strcspn(identity, ":") + 1;
	buf_puts(&b, "identities: ");
	for (i = 0; i < u->identities.n; i++) {
		if (!all_networks && strncmp(u->identities.v[i], identity,
		    net) != 0)
			continue;
		buf_printf(&b, "%s%s", shown++ ? ", " : "",
		    u->identities.v[i]);
	}
	if (shown < u->identities.n)
		buf_printf(&b, " (%zu on other networks: ask in a private "
		    "chat)", u->identities.n - shown);
	buf_printf(&b, "\nroles: %s\n", roles);
	list_globs(&b, "may request", u, p, 0);
	list_globs(&b, "may approve", u, p, 1);
	return buf_steal(&b);
}
