/*
 * policy.h - the action policy: who may do what, what needs approval,
 * what never runs, and what pvebot must never touch.
 *
 * A policy is loaded from the YAML files in policies/ (roles, users with their
 * platform identities, named time windows, rules) into one immutable
 * struct. policy_decide() is a pure function of (policy, request): no
 * I/O, no clock, no globals; the time comes in the request. Every
 * decision names the rule that produced it as "file:line".
 *
 * policy_check_approval() is the matching pure check for one approve or
 * deny attempt on a job that awaits approval (DESIGN promise 2).
 *
 * The exact order of precedence is documented at the top of policy.c
 * and in docs/policy.md.
 */
#ifndef PVEBOT_POLICY_H
#define PVEBOT_POLICY_H

#include <stddef.h>
#include <stdint.h>

struct policy;

struct policy_target {
	int		  vmid;		/* 0 when the action has no guest */
	const char	 *name, *node, *type; /* type "qemu"|"lxc"; NULL if unknown */
	const char *const *tags;
	size_t		  ntags;
	const char	 *pool;
	int		  is_template;
	const char	 *storage;	/* storage argument, if any */
	const char	 *snapshot;	/* snapshot-name argument, if any */
};

struct policy_request {
	const char	*user;		/* identity: "telegram:123", "console:bob" */
	const char	*action;	/* "guest.snapshot.rollback" */
	int		 mutating;	/* the command changes state */
	const struct policy_target *target; /* may be NULL */
	const char	*room;		/* "connector:roomid" where it was asked */
	int		 has_reason;
	int64_t		 now;		/* UNIX seconds */
};

enum policy_effect {
	POLICY_ALLOW,
	POLICY_REQUIRE_APPROVAL,
	POLICY_PROHIBIT,
	POLICY_SELF_PROTECT,
	POLICY_DENY
};

struct policy_decision {
	enum policy_effect effect;
	char	rule[160];	/* "policies/default.yaml:42", "(default deny)" */
	char	rule_name[64];	/* the rule's name if it has one */
	char	why[256];	/* one human sentence */
	char	person[64];	/* the policy's user name, "" if unknown */
	char	roles[128];	/* comma list */
	/* when effect == POLICY_REQUIRE_APPROVAL: */
	int	approvals;	/* distinct approvers needed, default 1 */
	int64_t	expiry;		/* seconds, default 900 */
	int	self_approve;	/* requester may approve own request */
	int	reason_required;
	int	snapshot_before;
	char	approver_roles[128]; /* comma list of roles that may approve */
};

/*
 * Loads every path (a file, or a folder whose *.yaml and *.yml files are
 * read in sorted order) as one policy. On any error returns NULL and sets
 * *errors (caller frees) to every problem, one per line, each
 * "file:line:column: message\n".
 */
struct policy *policy_load(const char *const *paths, size_t npaths,
	    char **errors);
/*
 * What policy_load() leaves out of the folders among paths: hidden files,
 * files that end in neither .yaml nor .yml, folders. One
 * "file:1:1: not read: ...\n" line each, or NULL when there are none.
 * Caller frees.
 */
char	*policy_unread_files(const char *const *paths, size_t npaths);
/*
 * Every action pattern of the rules and roles must name an action that
 * a command defines (`actions`, from the catalogue): an exact name must
 * be one of them, a glob must match at least one. Returns 0, or -1 with
 * *errors (caller frees) holding one "file:line:column: ...\n" per
 * pattern, with a suggestion when a close name exists.
 */
int	policy_check_actions(const struct policy *,
	    const char *const *actions, size_t nactions, char **errors);
/* The same from a string; `name` stands for the file name in messages. */
struct policy *policy_load_string(const char *name, const char *yaml,
	    char **errors);
void	policy_free(struct policy *);

void	policy_decide(const struct policy *, const struct policy_request *,
	    struct policy_decision *);
const char *policy_effect_name(enum policy_effect);

/*
 * Multi-line plain text: the person and roles, whether the roles may
 * request the action, every rule that matched, and the deciding one
 * with file:line. Caller frees.
 */
char	*policy_explain(const struct policy *, const struct policy_request *);
/*
 * Person, identities, roles, may request, may approve. Caller frees.
 * all_networks 0 (a shared room): only the identities of identity's own
 * network are listed, with a count of the others.
 */
char	*policy_whoami(const struct policy *, const char *identity,
	    int all_networks);
/* 1 when one of the identity's roles may approve `action`. */
int	policy_may_approve(const struct policy *, const char *identity,
	    const char *action);
/* Writes the person's name for identity to buf ("" if unknown); 0/-1. */
int	policy_person(const struct policy *, const char *identity, char *buf,
	    size_t len);
/* Numbers of roles, users and rules, for "policy loaded" log lines. */
void	policy_counts(const struct policy *, size_t *roles, size_t *users,
	    size_t *rules);

/* Bound approvals: a pure check of one approve or deny attempt. */
struct approval_state {
	int64_t		  job_id;	/* for messages; 0 if unknown */
	const char	 *action, *requester;
	const char	 *room;		/* where the request was posted */
	const char	 *nonce;	/* stored with the job */
	const char	 *state;	/* only "awaiting_approval" can be decided */
	int64_t		  expires_at;
	int		  approvals_needed, self_approve;
	const char	 *approver_roles; /* from the decision at request time */
	const char *const *approved_by;	/* identities that already approved */
	size_t		  napproved;
};

enum approval_verdict {
	APPROVAL_REFUSED,
	APPROVAL_RECORDED,	/* accepted, more approvals needed */
	APPROVAL_COMPLETE,	/* enough approvals: the job may be queued */
	APPROVAL_DENIED		/* a valid deny (or the requester withdrew) */
};

/*
 * `nonce` is NULL for the text command `approve ID`, which carries no
 * nonce but is still bound to room, role and expiry. `why` always gets
 * one sentence: the refusal, or what was recorded.
 */
enum approval_verdict policy_check_approval(const struct policy *,
	    const struct approval_state *, const char *presser,
	    const char *room, const char *nonce, int deny, int64_t now,
	    char *why, size_t whylen);
const char *approval_verdict_name(enum approval_verdict);
/*
 * Would an approval by `identity` count under a decision whose approvers
 * are `approver_roles` (comma list)? How a job approved under older rules
 * is judged again at dispatch.
 */
int	policy_approver_counts(const struct policy *, const char *identity,
	    const char *approver_roles, const char *action);

#endif
