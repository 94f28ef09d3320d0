/*
 * policy_approval.c - the check of one approve or deny attempt on a job
 * that awaits approval (DESIGN promise 2: approvals are bound).
 *
 * policy_check_approval() is pure: it reads the policy and the job's
 * approval state and says whether the attempt counts, and why not when
 * it does not. The caller (jobs/) records the verdict and moves the job.
 *
 * Checks, in this order; the first that fails refuses with its own
 * sentence:
 *   1. the nonce, when the attempt carries one (a button), equals the
 *      one stored with the job (compared in constant time);
 *   2. the job is still awaiting approval (a replayed button on a job
 *      already decided changes nothing);
 *   3. the attempt comes from the room the request was posted in;
 *   4. the approval has not expired;
 *   5. the presser is a known user;
 *   6. a deny from the requester withdraws the request: accepted;
 *   7. an approve from the requester needs self_approve;
 *   8. one of the presser's roles is among the approver roles of the
 *      decision and its approve list covers the action;
 *   9. an approve from a person who already approved is refused;
 *  10. a deny is APPROVAL_DENIED; an approve is APPROVAL_COMPLETE when
 *      the distinct approvers reach approvals_needed, else
 *      APPROVAL_RECORDED.
 * People, not identities, are compared: one person approving from
 * Telegram and again from Matrix is still one approver.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy_int.h"
#include "util.h"

const char *
approval_verdict_name(enum approval_verdict v)
{
	switch (v) {
	case APPROVAL_REFUSED:
		return "refused";
	case APPROVAL_RECORDED:
		return "recorded";
	case APPROVAL_COMPLETE:
		return "complete";
	case APPROVAL_DENIED:
		return "denied";
	}
	return "refused";
}

/* Equal strings, in time that depends only on their lengths. */
static int
nonce_equal(const char *a, const char *b)
{
	size_t		 la = strlen(a), lb = strlen(b), i, n;
	unsigned char	 diff = 0;

	n = la > lb ? la : lb;
	for (i = 0; i < n; i++)
		diff |= (unsigned char)((i < la ? a[i] : 0) ^
		    (i < lb ? b[i] : 0));
	return diff == 0 && la == lb && la > 0;
}

static int
same_person(const struct policy *p, const char *a, const char *b)
{
	const struct pol_user	*ua, *ub;

	if (a == NULL || b == NULL)
		return 0;
	if (strcmp(a, b) == 0)
		return 1;
	ua = pol_find_user(p, a);
	ub = pol_find_user(p, b);
	return ua != NULL && ua == ub;
}

/* 1 when name is one of the comma-separated roles in list. */
static int
in_comma_list(const char *list, const char *name)
{
	const char	*s = list, *end;
	size_t		 len = strlen(name);

	if (list == NULL)
		return 0;
	while (*s != '\0') {
		end = strchr(s, ',');
		if (end == NULL)
			end = s + strlen(s);
		if ((size_t)(end - s) == len && strncmp(s, name, len) == 0)
			return 1;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static void
job_label(const struct approval_state *st, char *buf, size_t len)
{
	if (st->job_id > 0)
		snprintf(buf, len, "job %lld", (long long)st->job_id);
	else
		snprintf(buf, len, "this job");
}

static enum approval_verdict
refuse(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum approval_verdict
refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	 ap;

	if (whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return APPROVAL_REFUSED;
}

enum approval_verdict
policy_check_approval(const struct policy *p, const struct approval_state *st,
    const char *presser, const char *room, const char *nonce, int deny,
    int64_t now, char *why, size_t whylen)
{
	const struct pol_user	*u;
	const struct pol_role	*role;
	const char		*action;
	char			 job[48], ago[32], roles[128];
	size_t			 i, k, distinct;
	int			 may, counted;

	action = st->action != NULL ? st->action : "";
	job_label(st, job, sizeof job);
	if (p == NULL || presser == NULL)
		return refuse(why, whylen, "no policy is loaded");

	if (nonce != NULL && (st->nonce == NULL ||
	    !nonce_equal(nonce, st->nonce)))
		return refuse(why, whylen, "this button is not valid (forged "
		    "or outdated)");
	if (st->state == NULL || strcmp(st->state, "awaiting_approval") != 0)
		return refuse(why, whylen, "%s is %s, not awaiting approval",
		    job, st->state != NULL ? st->state : "unknown");
	if (st->room == NULL || room == NULL || strcmp(st->room, room) != 0) {
		if (nonce != NULL)
			return refuse(why, whylen, "approval buttons only work "
			    "in the room where the request was posted");
		return refuse(why, whylen, "%s can only be approved or denied "
		    "in the room where the request was posted", job);
	}
	if (now >= st->expires_at) {
		pol_short_duration(now - st->expires_at, ago, sizeof ago);
		return refuse(why, whylen, "this approval expired %s ago",
		    ago);
	}
	if ((u = pol_find_user(p, presser)) == NULL)
		return refuse(why, whylen, "%s is not a known user of this "
		    "bot", presser);

	if (same_person(p, presser, st->requester)) {
		if (deny) {
			snprintf(why, whylen, "%s withdrawn by %s, who "
			    "requested it", job, u->name);
			return APPROVAL_DENIED;
		}
		if (!st->self_approve)
			return refuse(why, whylen, "you requested this job; "
			    "another approver must approve it");
	}

	for (may = 0, i = 0; i < u->roles.n && !may; i++) {
		role = &p->roles[u->roles.v[i]];
		may = in_comma_list(st->approver_roles, role->name) &&
		    pol_role_may(&role->approve, action);
	}
	if (!may) {
		roles[0] = '\0';
		for (i = 0; i < u->roles.n; i++) {
			k = strlen(roles);
			snprintf(roles + k, sizeof roles - k, "%s%s",
			    i ? "," : "", p->roles[u->roles.v[i]].name);
		}
		return refuse(why, whylen, "your role%s %s may not %s %s",
		    u->roles.n > 1 ? "s" : "", roles,
		    deny ? "deny" : "approve", action);
	}

	if (!deny) {
		for (i = 0; i < st->napproved; i++)
			if (same_person(p, presser, st->approved_by[i]))
				return refuse(why, whylen, "already approved by "
				    "you");
	}
	if (deny) {
		snprintf(why, whylen, "%s denied by %s", job, u->name);
		return APPROVAL_DENIED;
	}

	/* Distinct people among the earlier approvals, plus this one. */
	for (distinct = 0, i = 0; i < st->napproved; i++) {
		for (counted = 0, k = 0; k < i && !counted; k++)
			counted = same_person(p, st->approved_by[i],
			    st->approved_by[k]);
		if (!counted)
			distinct++;
	}
	distinct++;
	if ((int)distinct >= (st->approvals_needed > 0 ?
	    st->approvals_needed : 1)) {
		snprintf(why, whylen, "%s approved by %s", job, u->name);
		return APPROVAL_COMPLETE;
	}
	snprintf(why, whylen, "approval %zu of %d for %s recorded from %s; "
	    "%d more needed", distinct, st->approvals_needed, job, u->name,
	    st->approvals_needed - (int)distinct);
	return APPROVAL_RECORDED;
}

int
policy_approver_counts(const struct policy *p, const char *identity,
    const char *approver_roles, const char *action)
{
	const struct pol_user	*u;
	const struct pol_role	*role;
	size_t			 i;

	if ((u = pol_find_user(p, identity)) == NULL)
		return 0;
	for (i = 0; i < u->roles.n; i++) {
		role = &p->roles[u->roles.v[i]];
		if (in_comma_list(approver_roles, role->name) &&
		    pol_role_may(&role->approve, action))
			return 1;
	}
	return 0;
}
