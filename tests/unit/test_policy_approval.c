/*
 * Unit tests for bound approvals (policy_check_approval): who may
 * approve or deny a job that awaits approval, from where, until when,
 * and how many times. Uses the shipped default policy (alice admin, bob
 * operator, carol viewer) and a small policy with several approvers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "t.h"
#include "util.h"

#define NOW	1795000000
#define NONCE	"6f1c2a9be0d54c7a8d3e1f2a3b4c5d6e"

static struct policy *
load_default(void)
{
	const char	*paths[] = { "policies/" };
	char		*errors = NULL;
	struct policy	*p;

	p = policy_load(paths, 1, &errors);
	if (p == NULL)
		t_fail(__FILE__, __LINE__, "default policy: %s", errors);
	free(errors);
	return p;
}

/* bob asked for a rollback of 101 in console:main; alice must approve. */
static void
bob_rollback(struct approval_state *st)
{
	memset(st, 0, sizeof *st);
	st->job_id = 12;
	st->action = "guest.snapshot.rollback";
	st->requester = "console:bob";
	st->room = "console:main";
	st->nonce = NONCE;
	st->state = "awaiting_approval";
	st->expires_at = NOW + 600;
	st->approvals_needed = 1;
	st->self_approve = 0;
	st->approver_roles = "admin";
}

static enum approval_verdict
press(const struct policy *p, const struct approval_state *st,
    const char *who, const char *room, const char *nonce, int deny,
    int64_t now, char *why)
{
	return policy_check_approval(p, st, who, room, nonce, deny, now, why,
	    256);
}

static void
test_admin_approves_with_button_and_text(void)
{
	struct policy		*p;
	struct approval_state	 st;
	char			 why[256];

	if ((p = load_default()) == NULL)
		return;
	bob_rollback(&st);
	T_EQ_INT(press(p, &st, "console:alice", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_COMPLETE);
	T_CONTAINS(why, "job 12 approved by alice");
	/* the text command carries no nonce but is still bound */
	T_EQ_INT(press(p, &st, "console:alice", "console:main", NULL, 0, NOW,
	    why), APPROVAL_COMPLETE);
	T_EQ_INT(press(p, &st, "console:alice", "console:other", NULL, 0, NOW,
	    why), APPROVAL_REFUSED);
	T_CONTAINS(why, "job 12 can only be approved or denied in the room "
	    "where the request was posted");
	policy_free(p);
}

static void
test_requester_may_not_approve_own(void)
{
	struct policy		*p;
	struct approval_state	 st;
	char			 why[256];

	if ((p = load_default()) == NULL)
		return;
	bob_rollback(&st);
	T_EQ_INT(press(p, &st, "console:bob", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_REFUSED);
	T_EQ_STR(why, "you requested this job; another approver must approve "
	    "it");
	/* an admin's own request without self_approve: the same */
	st.requester = "console:alice";
	T_EQ_INT(press(p, &st, "console:alice", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_REFUSED);
	T_EQ_STR(why, "you requested this job; another approver must approve "
	    "it");
	policy_free(p);
}

static void
test_self_approve_when_rule_allows(void)
{
	struct policy		*p;
	struct approval_state	 st;
	char			 why[256];

	if ((p = load_default()) == NULL)
		return;
	bob_rollback(&st);
	st.requester = "console:alice";
	st.self_approve = 1;
	T_EQ_INT(press(p, &st, "console:alice", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_COMPLETE);
	/* self_approve never gives a role the right to approve */
	st.requester = "console:bob";
	T_EQ_INT(press(p, &st, "console:bob", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_REFUSED);
	T_EQ_STR(why, "your role operator may not approve "
	    "guest.snapshot.rollback");
	policy_free(p);
}

static void
test_role_mismatch(void)
{
	static const char text[] =
	    "roles:\n"
	    "  admin: {request: [\"*\"], approve: [\"*\"]}\n"
	    "  netops: {request: [\"*\"], approve: [\"host.*\"]}\n"
	    "  guestops: {request: [\"*\"], approve: [\"guest.*\"]}\n"
	    "users:\n"
	    "  ann: {identities: [console:ann], roles: [admin]}\n"
	    "  nick: {identities: [console:nick], roles: [netops]}\n"
	    "  gus: {identities: [console:gus], roles: [guestops]}\n"
	    "  bob: {identities: [console:bob], roles: [guestops]}\n";
	struct policy		*p;
	struct approval_state	 st;
	char			*errors = NULL, why[256];

	if ((p = load_default()) == NULL)
		return;
	bob_rollback(&st);
	T_EQ_INT(press(p, &st, "console:carol", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_REFUSED);
	T_EQ_STR(why, "your role viewer may not approve "
	    "guest.snapshot.rollback");
	T_EQ_INT(press(p, &st, "console:eve", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_REFUSED);
	T_CONTAINS(why, "console:eve is not a known user");
	policy_free(p);

	p = policy_load_string("roles.yaml", text, &errors);
	T_OK(p != NULL);
	if (p == NULL) {
		printf("%s", errors);
		free(errors);
		return;
	}
	/* nick's role approves host.* only */
	T_EQ_INT(press(p, &st, "console:nick", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_REFUSED);
	T_EQ_STR(why, "your role netops may not approve "
	    "guest.snapshot.rollback");
	/* gus's role covers guest.* but the rule named only admin */
	T_EQ_INT(press(p, &st, "console:gus", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_REFUSED);
	T_EQ_STR(why, "your role guestops may not approve "
	    "guest.snapshot.rollback");
	st.approver_roles = "admin,guestops";
	T_EQ_INT(press(p, &st, "console:gus", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_COMPLETE);
	T_EQ_INT(press(p, &st, "console:ann", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_COMPLETE);
	/* "guestops" is not matched by a prefix of another role name */
	st.approver_roles = "guestopsx,xadmin";
	T_EQ_INT(press(p, &st, "console:gus", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_REFUSED);
	T_EQ_INT(press(p, &st, "console:ann", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_REFUSED);
	policy_free(p);
}

static void
test_wrong_room(void)
{
	struct policy		*p;
	struct approval_state	 st;
	char			 why[256];

	if ((p = load_default()) == NULL)
		return;
	bob_rollback(&st);
	T_EQ_INT(press(p, &st, "console:alice", "telegram:-100200", NONCE, 0,
	    NOW, why), APPROVAL_REFUSED);
	T_EQ_STR(why, "approval buttons only work in the room where the "
	    "request was posted");
	T_EQ_INT(press(p, &st, "console:alice", NULL, NONCE, 0, NOW, why),
	    APPROVAL_REFUSED);
	policy_free(p);
}

static void
test_expired(void)
{
	struct policy		*p;
	struct approval_state	 st;
	char			 why[256];

	if ((p = load_default()) == NULL)
		return;
	bob_rollback(&st);
	T_EQ_INT(press(p, &st, "console:alice", "console:main", NONCE, 0,
	    NOW + 600 + 180, why), APPROVAL_REFUSED);
	T_EQ_STR(why, "this approval expired 3m ago");
	/* at the very second of expiry it is already too late */
	T_EQ_INT(press(p, &st, "console:alice", "console:main", NONCE, 0,
	    NOW + 600, why), APPROVAL_REFUSED);
	T_EQ_STR(why, "this approval expired 0s ago");
	T_EQ_INT(press(p, &st, "console:alice", "console:main", NONCE, 0,
	    NOW + 599, why), APPROVAL_COMPLETE);
	/* a deny after expiry is refused too */
	T_EQ_INT(press(p, &st, "console:alice", "console:main", NONCE, 1,
	    NOW + 7200, why), APPROVAL_REFUSED);
	T_EQ_STR(why, "this approval expired 1h50m ago");
	policy_free(p);
}

static void
test_replayed_button(void)
{
	static const char *const states[] = {
		"queued", "running", "succeeded", "denied", "expired"
	};
	struct policy		*p;
	struct approval_state	 st;
	char			 why[256], want[64];
	size_t			 i;

	if ((p = load_default()) == NULL)
		return;
	bob_rollback(&st);
	for (i = 0; i < nitems(states); i++) {
		st.state = states[i];
		T_EQ_INT(press(p, &st, "console:alice", "console:main", NONCE,
		    0, NOW, why), APPROVAL_REFUSED);
		snprintf(want, sizeof want, "job 12 is %s, not awaiting "
		    "approval", states[i]);
		T_EQ_STR(why, want);
		T_EQ_INT(press(p, &st, "console:alice", "console:main", NONCE,
		    1, NOW, why), APPROVAL_REFUSED);
	}
	policy_free(p);
}

static void
test_forged_nonce(void)
{
	struct policy		*p;
	struct approval_state	 st;
	char			 why[256];

	if ((p = load_default()) == NULL)
		return;
	bob_rollback(&st);
	T_EQ_INT(press(p, &st, "console:alice", "console:main",
	    "6f1c2a9be0d54c7a8d3e1f2a3b4c5d6f", 0, NOW, why),
	    APPROVAL_REFUSED);
	T_EQ_STR(why, "this button is not valid (forged or outdated)");
	/* a prefix, an extension, and an empty nonce are all forged */
	T_EQ_INT(press(p, &st, "console:alice", "console:main",
	    "6f1c2a9be0d54c7a", 0, NOW, why), APPROVAL_REFUSED);
	T_EQ_INT(press(p, &st, "console:alice", "console:main", NONCE "00", 0,
	    NOW, why), APPROVAL_REFUSED);
	T_EQ_INT(press(p, &st, "console:alice", "console:main", "", 0, NOW,
	    why), APPROVAL_REFUSED);
	/* a deny button with a forged nonce changes nothing either */
	T_EQ_INT(press(p, &st, "console:alice", "console:main", "x", 1, NOW,
	    why), APPROVAL_REFUSED);
	T_EQ_STR(why, "this button is not valid (forged or outdated)");
	/* a job stored without a nonce accepts no button at all */
	st.nonce = NULL;
	T_EQ_INT(press(p, &st, "console:alice", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_REFUSED);
	policy_free(p);
}

static const char approvers_policy[] =
	"roles:\n"
	"  admin: {request: [\"*\"], approve: [\"*\"]}\n"
	"  operator: {request: [\"guest.*\"]}\n"
	"users:\n"
	"  ann:\n"
	"    identities: [console:ann]\n"
	"    roles: [admin]\n"
	"  dan:\n"
	"    identities: [console:dan, matrix:@dan:example.org]\n"
	"    roles: [admin]\n"
	"  eli: {identities: [console:eli], roles: [admin]}\n"
	"  bob: {identities: [console:bob], roles: [operator]}\n";

static void
test_two_of_many(void)
{
	struct policy		*p;
	struct approval_state	 st;
	const char		*by[2];
	char			*errors = NULL, why[256];

	p = policy_load_string("approvers.yaml", approvers_policy, &errors);
	T_OK(p != NULL);
	if (p == NULL) {
		printf("%s", errors);
		free(errors);
		return;
	}
	bob_rollback(&st);
	st.approvals_needed = 2;
	T_EQ_INT(press(p, &st, "console:ann", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_RECORDED);
	T_CONTAINS(why, "approval 1 of 2");
	T_CONTAINS(why, "1 more needed");

	by[0] = "console:ann";
	st.approved_by = by;
	st.napproved = 1;
	/* the same person again: refused, changes nothing */
	T_EQ_INT(press(p, &st, "console:ann", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_REFUSED);
	T_EQ_STR(why, "already approved by you");
	/* a second person completes it */
	T_EQ_INT(press(p, &st, "console:dan", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_COMPLETE);
	T_CONTAINS(why, "approved by dan");

	/* one person through two networks is still one approver */
	by[0] = "console:dan";
	T_EQ_INT(press(p, &st, "matrix:@dan:example.org", "console:main",
	    NONCE, 0, NOW, why), APPROVAL_REFUSED);
	T_EQ_STR(why, "already approved by you");

	/* the same identity twice in the list counts once */
	st.approvals_needed = 3;
	by[0] = "console:ann";
	by[1] = "console:ann";
	st.napproved = 2;
	T_EQ_INT(press(p, &st, "console:dan", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_RECORDED);
	T_CONTAINS(why, "approval 2 of 3");
	by[1] = "console:dan";
	T_EQ_INT(press(p, &st, "console:eli", "console:main", NONCE, 0, NOW,
	    why), APPROVAL_COMPLETE);
	policy_free(p);
}

static void
test_deny(void)
{
	struct policy		*p;
	struct approval_state	 st;
	const char		*by[1] = { "console:alice" };
	char			 why[256];

	if ((p = load_default()) == NULL)
		return;
	bob_rollback(&st);
	T_EQ_INT(press(p, &st, "console:alice", "console:main", NONCE, 1, NOW,
	    why), APPROVAL_DENIED);
	T_CONTAINS(why, "denied by alice");
	/* the requester withdraws the request */
	T_EQ_INT(press(p, &st, "console:bob", "console:main", NONCE, 1, NOW,
	    why), APPROVAL_DENIED);
	T_CONTAINS(why, "withdrawn by bob");
	/* a viewer may not deny */
	T_EQ_INT(press(p, &st, "console:carol", "console:main", NONCE, 1, NOW,
	    why), APPROVAL_REFUSED);
	T_EQ_STR(why, "your role viewer may not deny guest.snapshot.rollback");
	/* wrong room */
	T_EQ_INT(press(p, &st, "console:alice", "console:elsewhere", NONCE, 1,
	    NOW, why), APPROVAL_REFUSED);
	/* an approver who already approved (of 2) may still deny */
	st.approvals_needed = 2;
	st.approved_by = by;
	st.napproved = 1;
	T_EQ_INT(press(p, &st, "console:alice", "console:main", NULL, 1, NOW,
	    why), APPROVAL_DENIED);
	policy_free(p);
}

int
main(void)
{
	T_RUN(test_admin_approves_with_button_and_text);
	T_RUN(test_requester_may_not_approve_own);
	T_RUN(test_self_approve_when_rule_allows);
	T_RUN(test_role_mismatch);
	T_RUN(test_wrong_room);
	T_RUN(test_expired);
	T_RUN(test_replayed_button);
	T_RUN(test_forged_nonce);
	T_RUN(test_two_of_many);
	T_RUN(test_deny);
	return t_summary();
}
