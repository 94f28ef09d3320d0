/*
 * jobs.h - jobs in SQLite: the state machine, approvals and claiming.
 *
 *   resolving         -> queued | awaiting_approval | refused | failed |
 *                        cancelled | succeeded
 *   awaiting_approval -> queued | denied | expired | cancelled
 *   queued            -> running | cancelled | refused
 *   running           -> succeeded | failed | cancelled | interrupted |
 *                        refused | unknown
 *
 * `resolving` is a request whose guest the router could not look up in
 * memory (the guest index was empty or old), or one whose plan must be
 * read from Proxmox before anyone is asked to approve it (prune's dry
 * run): a worker looks it up, stores the plan, and lets the policy
 * decide, as the router would have; a plan with nothing to do ends the
 * job there (succeeded). `refused` is a
 * request the policy turned down after it was stored (at resolution, or
 * at dispatch when the rules or the guest changed). `unknown` is an
 * action whose outcome pvebot cannot know (its request may have reached
 * Proxmox, no task was found): never reported as done or failed on a
 * guess, never run again without a person deciding.
 *
 * jobs_transition() is the one function that changes a job's state. It
 * refuses a transition the machine does not have, and it is a
 * compare-and-swap: it succeeds only if the job is still in the state the
 * caller saw, so two threads (or a button pressed twice) cannot both move
 * the same job. Every transition is written to the audit log in the same
 * transaction.
 */
#ifndef PVEBOT_JOBS_H
#define PVEBOT_JOBS_H

#include <stdint.h>

struct store;

enum job_state {
	JOB_RESOLVING,
	JOB_AWAITING_APPROVAL,
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_SUCCEEDED,
	JOB_FAILED,
	JOB_CANCELLED,
	JOB_INTERRUPTED,
	JOB_DENIED,
	JOB_EXPIRED,
	JOB_REFUSED,
	JOB_UNKNOWN,
	JOB_NSTATES
};

struct job {
	int64_t		 id;
	enum job_state	 state;
	char		*command;	/* canonical text */
	char		*cmd_name;
	char		*action;
	char		*args;		/* JSON array of argument values */
	char		*requester;
	char		*display;	/* the requester's name, for messages */
	char		*connector;
	char		*room;
	char		*kind;		/* "action" or "read" */
	int64_t		 msg_id;	/* outbox row edited with progress */
	int64_t		 approval_msg_id; /* the approval request */
	char		*approval_room;	/* connector:room of that request when
					 * it is not the job's own room */
	char		*nonce;
	char		*rule;
	int		 approvals_needed;
	char		*approver_roles;
	int		 self_approve;
	int		 snapshot_before;
	char		*reason;
	int64_t		 target_vmid;
	char		*target_name;
	char		*target_node;
	char		*target_type;
	char		*target_status;
	int		 heavy;
	int64_t		 created_at;
	int64_t		 expires_at;
	int64_t		 queued_at;
	int64_t		 started_at;
	int64_t		 dispatched_at;
	int64_t		 finished_at;
	char		*upid;
	int		 progress;	/* -1 unknown */
	char		*result;
	char		*error;
	int64_t		 parent_job;
	char		*plan;		/* JSON: what it will do, worked out
					 * before approval (prune), or NULL */
	char		*site;		/* whose workers may run it; NULL any */
	char		*runner;	/* the instance that runs it, or NULL */
};

const char	*job_state_name(enum job_state);
int		 job_state_parse(const char *, enum job_state *);
int		 job_state_final(enum job_state);
int		 job_transition_legal(enum job_state from, enum job_state to);

/* Inserts j (id and created_at are filled in). Part of the caller's
 * transaction when one is open. */
int	jobs_insert(struct store *, struct job *, char **cause);
/* 0 and *out filled, or -1 when there is no such job. */
int	jobs_get(struct store *, int64_t id, struct job *out);
void	job_release(struct job *);

/*
 * Moves job `id` from `from` to `to`. Sets the timestamps the target
 * state implies; `result` and `error` (may be NULL) are stored with a
 * final state. Returns 0, or -1 with *cause when the transition is not
 * legal or the job is no longer in state `from`.
 */
int	jobs_transition(struct store *, int64_t id, enum job_state from,
	    enum job_state to, const char *actor, const char *result,
	    const char *error, char **cause);

/*
 * A resolving job's decision (rule, approvals, expiry, nonce, snapshot,
 * the resolved target) stored before its transition out of resolving.
 */
int	jobs_set_decision(struct store *, const struct job *);

/* Field updates that are not state changes. */
int	jobs_set_text(struct store *, int64_t id, const char *column,
	    const char *value);
int	jobs_set_int(struct store *, int64_t id, const char *column,
	    int64_t value);

/*
 * Approvals: one row per (job, person); a second is refused. `display`
 * is the name messages show (may be NULL: the identity is shown).
 */
int	jobs_add_approval(struct store *, int64_t job_id, const char *who,
	    const char *display, const char *decision);
/* "alice, bob": who approved, by name; caller frees ("" when none). */
char	*jobs_approver_names(struct store *, int64_t job_id);
/*
 * Jobs awaiting approval whose request was posted in connector:room;
 * caller frees.
 */
int	jobs_awaiting_in_room(struct store *, const char *connector,
	    const char *room, int64_t **ids, size_t *n);
/* Identities that approved; *list is NULL-terminated, caller frees
 * with jobs_free_list(). */
int	jobs_approvers(struct store *, int64_t job_id, char ***list,
	    size_t *n);
void	jobs_free_list(char **, size_t);

/*
 * Who claims: the process's generation (each start takes the next one,
 * jobs_next_generation()), the instance's name (NULL on one instance)
 * and its site: only jobs of that site, or of none, are claimed (NULL:
 * any).
 */
struct job_claimer {
	int64_t		 gen;
	const char	*instance;
	const char	*site;
};

/*
 * Claims the oldest queued job of `kind` ("action" or "read") that may
 * run now: no other job of the same guest is running, and a heavy job
 * only while fewer than heavy_per_node heavy jobs run on its node. Moves
 * it to running, owned by `by`. Returns 1 with *out filled, 0 when
 * nothing can run, -1 on error.
 */
int	jobs_claim(struct store *, const char *kind, int heavy_per_node,
	    const struct job_claimer *by, struct job *out);

/*
 * Running jobs whose owner is gone become `by`'s, and their ids are
 * returned (caller frees): on SQLite those claimed by an earlier
 * generation (one process per file), on PostgreSQL those whose
 * generation's liveness lock (JOBS_LIVE_CLASS, store_leader.h) nobody
 * holds. Only jobs of by's site (or of none).
 */
#define JOBS_LIVE_CLASS	7231948		/* = LEADER_LIVE_CLASS */
#define JOBS_LIVE_CLASS_S "7231948"
int64_t	jobs_next_generation(struct store *);
int	jobs_adopt(struct store *, const struct job_claimer *by,
	    int64_t **ids, size_t *n);

/*
 * Steps: intent before action. A step row is committed before its
 * request is sent; the UPID is stored the moment it is known, and a
 * UPID belongs to at most one step (a unique constraint).
 */
enum step_state { STEP_INTENT, STEP_STARTED, STEP_DONE, STEP_FAILED,
	STEP_UNKNOWN };

struct job_step {
	int64_t		 id;
	int64_t		 job_id;
	int		 seq;
	char		*name;		/* safety_snapshot, action, ssh */
	char		*method;
	char		*target;	/* API path or SSH host */
	char		*params;	/* JSON */
	char		*node;
	char		*task_type;
	int		 vmid;
	int64_t		 intent_at;
	char		*upid;
	enum step_state	 state;
};

/* Records the intent (next seq of the job); fills s->id and seq. */
int	jobs_step_intent(struct store *, struct job_step *, char **cause);
/* The UPID of a step; -1 when another step holds it already. */
int	jobs_step_upid(struct store *, int64_t step_id, const char *upid);
int	jobs_step_finish(struct store *, int64_t step_id, enum step_state);
/* The steps of a job in order; caller frees with jobs_steps_free(). */
int	jobs_steps(struct store *, int64_t job_id, struct job_step **,
	    size_t *n);
void	jobs_steps_free(struct job_step *, size_t n);
/* Is the UPID stored against some step already? */
int	jobs_upid_claimed(struct store *, const char *upid);
const char *step_state_name(enum step_state);

/*
 * The status guest `vmid` will have once `requester`'s pending jobs on it
 * have run (start -> running, stop -> stopped, ...), from its status now:
 * what a new request of that person expects to find. Caller frees.
 */
char	*jobs_expected_status(struct store *, const char *requester,
	    int64_t vmid, const char *now);

/* Ids of jobs in a state (e.g. running at start-up); caller frees. */
int	jobs_ids_in_state(struct store *, enum job_state, int64_t **ids,
	    size_t *n);
/*
 * Requests a worker of `site` decides (resolving): for the leader those
 * of its site or of none, for another instance those of its site when
 * the leader serves another one.
 */
int	jobs_ids_to_resolve(struct store *, const char *site, int leading,
	    int64_t **ids, size_t *n);
/* PostgreSQL: requests for a site other than `site` that no live
 * instance serves (none on SQLite). */
int	jobs_ids_unserved(struct store *, const char *site, int64_t **ids,
	    size_t *n);
/* Awaiting approval and past expires_at. */
int	jobs_ids_expired(struct store *, int64_t now, int64_t **ids,
	    size_t *n);

/* One line per recent job, newest first (for `jobs`). Caller frees. */
char	*jobs_format_list(struct store *, int limit, const char *requester);
char	*jobs_format_one(struct store *, int64_t id);

/*
 * Queries of the jobs table for its readers outside jobs.c (jobs_query.c):
 * one statement each, in the caller's transaction if there is one.
 */
/* Has someone asked to cancel the job: 1 yes, 0 no (or not found, or
 * an error). */
int	jobs_cancel_requested(struct store *, int64_t id);
/* Jobs resolving, queued or running; -1 on error. */
int	jobs_count_active(struct store *);

#endif
