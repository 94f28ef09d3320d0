/*
 * jobs.c - jobs, approvals and claiming, on the SQLite store.
 *
 * jobs_transition() owns every state change (see jobs.h): a table says
 * which moves exist, and the UPDATE is conditional on the state the
 * caller saw, so a transition happens once or not at all. Each one is
 * audited in the same transaction.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/db.h"
#include "../store/db_util.h"
#include "jobs.h"
#include "log.h"
#include "store.h"
#include "util.h"

static const char *state_names[JOB_NSTATES] = {
	"resolving", "awaiting_approval", "queued", "running", "succeeded",
	"failed", "cancelled", "interrupted", "denied", "expired", "refused",
	"unknown",
};

/* legal[from][to] */
static const unsigned char legal[JOB_NSTATES][JOB_NSTATES] = {
	[JOB_RESOLVING] = {
		[JOB_QUEUED] = 1, [JOB_AWAITING_APPROVAL] = 1,
		[JOB_REFUSED] = 1, [JOB_FAILED] = 1, [JOB_CANCELLED] = 1,
		[JOB_SUCCEEDED] = 1,	/* its plan has nothing to do */
	},
	[JOB_AWAITING_APPROVAL] = {
		[JOB_QUEUED] = 1, [JOB_DENIED] = 1, [JOB_EXPIRED] = 1,
		[JOB_CANCELLED] = 1,
	},
	[JOB_QUEUED] = {
		[JOB_RUNNING] = 1, [JOB_CANCELLED] = 1, [JOB_REFUSED] = 1,
	},
	[JOB_RUNNING] = {
		[JOB_SUCCEEDED] = 1, [JOB_FAILED] = 1, [JOB_CANCELLED] = 1,
		[JOB_INTERRUPTED] = 1, [JOB_REFUSED] = 1, [JOB_UNKNOWN] = 1,
	},
};

const char *
job_state_name(enum job_state s)
{
	return s < JOB_NSTATES ? state_names[s] : "?";
}

int
job_state_parse(const char *s, enum job_state *out)
{
	int	 i;

	for (i = 0; i < JOB_NSTATES; i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum job_state)i;
			return 0;
		}
	}
	return -1;
}

int
job_state_final(enum job_state s)
{
	return s >= JOB_SUCCEEDED;
}

int
job_transition_legal(enum job_state from, enum job_state to)
{
	if (from >= JOB_NSTATES || to >= JOB_NSTATES)
		return 0;
	return legal[from][to];
}

static void
bind_opt_text(struct db_stmt *st, int i, const char *s)
{
	if (s != NULL)
		db_bind_text_copy(st, i, s);
	else
		db_bind_null(st, i);
}

static void
bind_opt_int(struct db_stmt *st, int i, int64_t v)
{
	if (v != 0)
		db_bind_int(st, i, v);
	else
		db_bind_null(st, i);
}

int
jobs_insert(struct store *s, struct job *j, char **cause)
{
	struct db_stmt	*st;

	j->created_at = wall_now();
	st = db_prepare(s, "INSERT INTO jobs (state, command, cmd_name, "
	    "action, args, requester, connector, room, nonce, rule, "
	    "approvals_needed, approver_roles, self_approve, snapshot_before, "
	    "reason, target_vmid, target_node, target_type, target_status, "
	    "heavy, created_at, expires_at, queued_at, parent_job, msg_id, "
	    "approval_msg_id, display, kind, target_name, site) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, "
	    "?27, ?28, ?29, ?30)");
	if (st == NULL)
		return set_cause(cause, "cannot store the job");
	db_bind_text(st, 1, job_state_name(j->state));
	db_bind_text(st, 2, j->command);
	db_bind_text(st, 3, j->cmd_name);
	db_bind_text(st, 4, j->action);
	db_bind_text(st, 5, j->args != NULL ? j->args : "[]");
	db_bind_text(st, 6, j->requester);
	db_bind_text(st, 7, j->connector);
	db_bind_text(st, 8, j->room);
	bind_opt_text(st, 9, j->nonce);
	bind_opt_text(st, 10, j->rule);
	db_bind_int(st, 11, j->approvals_needed);
	bind_opt_text(st, 12, j->approver_roles);
	db_bind_int(st, 13, j->self_approve);
	db_bind_int(st, 14, j->snapshot_before);
	bind_opt_text(st, 15, j->reason);
	bind_opt_int(st, 16, j->target_vmid);
	bind_opt_text(st, 17, j->target_node);
	bind_opt_text(st, 18, j->target_type);
	bind_opt_text(st, 19, j->target_status);
	db_bind_int(st, 20, j->heavy);
	db_bind_int(st, 21, j->created_at);
	bind_opt_int(st, 22, j->expires_at);
	bind_opt_int(st, 23, j->state == JOB_QUEUED ? j->created_at : 0);
	bind_opt_int(st, 24, j->parent_job);
	bind_opt_int(st, 25, j->msg_id);
	bind_opt_int(st, 26, j->approval_msg_id);
	bind_opt_text(st, 27, j->display);
	db_bind_text(st, 28, j->kind != NULL ? j->kind : "action");
	bind_opt_text(st, 29, j->target_name);
	bind_opt_text(st, 30, j->site);
	if (db_run(s, st) != 0)
		return set_cause(cause, "cannot store the job: %s",
		    db_error(s));
	j->id = db_last_id(s);
	if (j->state == JOB_QUEUED)
		store_note_jobs(s);
	return 0;
}

#define JOB_COLUMNS "id, state, command, cmd_name, action, args, requester, " \
	"connector, room, msg_id, approval_msg_id, nonce, rule, " \
	"approvals_needed, approver_roles, self_approve, snapshot_before, " \
	"reason, target_vmid, target_node, target_type, target_status, heavy, " \
	"created_at, expires_at, queued_at, started_at, dispatched_at, " \
	"finished_at, upid, progress, result, error, parent_job, display, kind, " \
	"target_name, approval_room, plan, site, runner"

static void
row_to_job(struct db_stmt *st, struct job *j)
{
	memset(j, 0, sizeof *j);
	j->id = db_int(st, 0);
	if (job_state_parse(db_text(st, 1),
	    &j->state) != 0)
		j->state = JOB_FAILED;
	j->command = db_text_dup(st, 2);
	j->cmd_name = db_text_dup(st, 3);
	j->action = db_text_dup(st, 4);
	j->args = db_text_dup(st, 5);
	j->requester = db_text_dup(st, 6);
	j->connector = db_text_dup(st, 7);
	j->room = db_text_dup(st, 8);
	j->msg_id = db_int(st, 9);
	j->approval_msg_id = db_int(st, 10);
	j->nonce = db_text_dup(st, 11);
	j->rule = db_text_dup(st, 12);
	j->approvals_needed = (int)db_int(st, 13);
	j->approver_roles = db_text_dup(st, 14);
	j->self_approve = (int)db_int(st, 15);
	j->snapshot_before = (int)db_int(st, 16);
	j->reason = db_text_dup(st, 17);
	j->target_vmid = db_int(st, 18);
	j->target_node = db_text_dup(st, 19);
	j->target_type = db_text_dup(st, 20);
	j->target_status = db_text_dup(st, 21);
	j->heavy = (int)db_int(st, 22);
	j->created_at = db_int(st, 23);
	j->expires_at = db_int(st, 24);
	j->queued_at = db_int(st, 25);
	j->started_at = db_int(st, 26);
	j->dispatched_at = db_int(st, 27);
	j->finished_at = db_int(st, 28);
	j->upid = db_text_dup(st, 29);
	j->progress = db_null(st, 30) ? -1 :
	    (int)db_int(st, 30);
	j->result = db_text_dup(st, 31);
	j->error = db_text_dup(st, 32);
	j->parent_job = db_int(st, 33);
	j->display = db_text_dup(st, 34);
	j->kind = db_text_dup(st, 35);
	j->target_name = db_text_dup(st, 36);
	j->approval_room = db_text_dup(st, 37);
	j->plan = db_text_dup(st, 38);
	j->site = db_text_dup(st, 39);
	j->runner = db_text_dup(st, 40);
}

int
jobs_get(struct store *s, int64_t id, struct job *out)
{
	struct db_stmt	*st;
	int		 rc;

	memset(out, 0, sizeof *out);
	if ((st = db_prepare(s, "SELECT " JOB_COLUMNS " FROM jobs "
	    "WHERE id = ?1")) == NULL)
		return -1;
	db_bind_int(st, 1, id);
	rc = db_step(st);
	if (rc == DB_ROW)
		row_to_job(st, out);
	db_finish(s, st);
	return rc == DB_ROW ? 0 : -1;
}

void
job_release(struct job *j)
{
	if (j == NULL)
		return;
	free(j->command);
	free(j->cmd_name);
	free(j->action);
	free(j->args);
	free(j->requester);
	free(j->connector);
	free(j->room);
	free(j->display);
	free(j->kind);
	free(j->target_name);
	free(j->approval_room);
	free(j->plan);
	free(j->site);
	free(j->runner);
	free(j->nonce);
	free(j->rule);
	free(j->approver_roles);
	free(j->reason);
	free(j->target_node);
	free(j->target_type);
	free(j->target_status);
	free(j->upid);
	free(j->result);
	free(j->error);
	memset(j, 0, sizeof *j);
}

int
jobs_transition(struct store *s, int64_t id, enum job_state from,
    enum job_state to, const char *actor, const char *result,
    const char *error, char **cause)
{
	struct db_stmt	*st;
	const char	*stamp;
	char		*sql, *detail;
	int		 rc, own_tx;

	if (!job_transition_legal(from, to))
		return set_cause(cause, "job %" PRId64 " cannot go from %s "
		    "to %s", id, job_state_name(from), job_state_name(to));
	switch (to) {
	case JOB_QUEUED:
		stamp = "queued_at";
		break;
	case JOB_RUNNING:
		stamp = "started_at";
		break;
	case JOB_AWAITING_APPROVAL:
		stamp = "created_at";	/* unchanged: ?2 is not used */
		break;
	default:
		stamp = "finished_at";
		break;
	}
	own_tx = db_autocommit(s);
	if (own_tx && store_begin(s) != 0)
		return set_cause(cause, "database busy");
	sql = xasprintf("UPDATE jobs SET state = ?1, %s = %s, "
	    "result = COALESCE(?3, result), error = COALESCE(?4, error) "
	    "WHERE id = ?5 AND state = ?6", stamp,
	    to == JOB_AWAITING_APPROVAL ? "created_at + 0 * ?2" : "?2");
	st = db_prepare(s, sql);
	free(sql);
	if (st == NULL)
		goto fail;
	db_bind_text(st, 1, job_state_name(to));
	db_bind_int(st, 2, wall_now());
	bind_opt_text(st, 3, result);
	bind_opt_text(st, 4, error);
	db_bind_int(st, 5, id);
	db_bind_text(st, 6, job_state_name(from));
	if (db_run(s, st) != 0)
		goto fail;
	if (db_changes(s) != 1) {
		struct job	 now;

		if (own_tx)
			store_rollback(s);
		if (jobs_get(s, id, &now) != 0)
			return set_cause(cause, "there is no job %" PRId64, id);
		set_cause(cause, "job %" PRId64 " is %s, not %s", id,
		    job_state_name(now.state), job_state_name(from));
		job_release(&now);
		return -1;
	}
	detail = xasprintf("job=%" PRId64 " from=%s to=%s%s%s", id,
	    job_state_name(from), job_state_name(to),
	    error != NULL ? " error=" : "", error != NULL ? error : "");
	rc = audit_append(s, actor != NULL ? actor : "pvebot", "job.state",
	    detail);
	free(detail);
	if (rc != 0)
		goto fail;
	/* Workers of other instances: one may be claimable now. */
	if (to == JOB_QUEUED || from == JOB_RUNNING)
		store_note_jobs(s);
	if (own_tx && store_commit(s) != 0)
		return set_cause(cause, "database commit failed");
	return 0;
fail:
	if (own_tx)
		store_rollback(s);
	return set_cause(cause, "cannot update job %" PRId64 ": %s", id,
	    db_error(s));
}

static int
valid_column(const char *c)
{
	static const char *ok[] = { "msg_id", "approval_msg_id", "upid",
	    "progress", "result", "error", "dispatched_at", "target_node",
	    "target_status", "target_type", "target_vmid",
	    "cancel_requested", "claim_gen", "approval_room", "plan" };
	size_t	 i;

	for (i = 0; i < nitems(ok); i++) {
		if (strcmp(c, ok[i]) == 0)
			return 1;
	}
	return 0;
}

/* One column of one job; text NULL with is_text stores NULL. */
static int
set_column(struct store *s, int64_t id, const char *column, int is_text,
    const char *text, int64_t num)
{
	struct db_stmt	*st;
	char		*sql;

	if (!valid_column(column))
		return -1;
	sql = xasprintf("UPDATE jobs SET %s = ?1 WHERE id = ?2", column);
	st = db_prepare(s, sql);
	free(sql);
	if (st == NULL)
		return -1;
	if (is_text)
		bind_opt_text(st, 1, text);
	else
		db_bind_int(st, 1, num);
	db_bind_int(st, 2, id);
	return db_run(s, st);
}

int
jobs_set_text(struct store *s, int64_t id, const char *column,
    const char *value)
{
	return set_column(s, id, column, 1, value, 0);
}

int
jobs_set_int(struct store *s, int64_t id, const char *column, int64_t value)
{
	return set_column(s, id, column, 0, NULL, value);
}

int
jobs_set_decision(struct store *s, const struct job *j)
{
	struct db_stmt	*st;

	st = db_prepare(s, "UPDATE jobs SET rule = ?1, nonce = ?2, "
	    "approvals_needed = ?3, approver_roles = ?4, self_approve = ?5, "
	    "snapshot_before = ?6, expires_at = ?7, target_vmid = ?8, "
	    "target_node = ?9, target_type = ?10, target_status = ?11, "
	    "heavy = ?12, approval_msg_id = ?13, target_name = ?15 "
	    "WHERE id = ?14");
	if (st == NULL)
		return -1;
	bind_opt_text(st, 1, j->rule);
	bind_opt_text(st, 2, j->nonce);
	db_bind_int(st, 3, j->approvals_needed);
	bind_opt_text(st, 4, j->approver_roles);
	db_bind_int(st, 5, j->self_approve);
	db_bind_int(st, 6, j->snapshot_before);
	bind_opt_int(st, 7, j->expires_at);
	bind_opt_int(st, 8, j->target_vmid);
	bind_opt_text(st, 9, j->target_node);
	bind_opt_text(st, 10, j->target_type);
	bind_opt_text(st, 11, j->target_status);
	db_bind_int(st, 12, j->heavy);
	bind_opt_int(st, 13, j->approval_msg_id);
	db_bind_int(st, 14, j->id);
	bind_opt_text(st, 15, j->target_name);
	return db_run(s, st);
}

int
jobs_add_approval(struct store *s, int64_t job_id, const char *who,
    const char *display, const char *decision)
{
	struct db_stmt	*st;

	if ((st = db_prepare(s, "INSERT INTO approvals (job_id, approver, "
	    "decision, at, display) VALUES (?1, ?2, ?3, ?4, ?5)")) == NULL)
		return -1;
	db_bind_int(st, 1, job_id);
	db_bind_text(st, 2, who);
	db_bind_text(st, 3, decision);
	db_bind_int(st, 4, wall_now());
	bind_opt_text(st, 5, display);
	return db_run(s, st);
}

char *
jobs_approver_names(struct store *s, int64_t job_id)
{
	struct db_stmt	*st;
	struct buf	 b;
	int		 n = 0;

	buf_init(&b, 8192);
	buf_append(&b, "", 0);
	if ((st = db_prepare(s, "SELECT COALESCE(display, approver) FROM "
	    "approvals WHERE job_id = ?1 AND decision = 'approve' ORDER BY "
	    "id")) == NULL)
		return buf_steal(&b);
	db_bind_int(st, 1, job_id);
	while (db_step(st) == DB_ROW)
		buf_printf(&b, "%s%s", n++ > 0 ? ", " : "",
		    db_text(st, 0));
	db_finish(s, st);
	return buf_steal(&b);
}

/*
 * The ids (first column) a statement gives with ?1 bound to `text`, or
 * to `num` when text is NULL: 0, -1 when it cannot be prepared. A
 * failing step ends the list.
 */
static int
ids_query(struct store *s, const char *sql, const char *text, int64_t num,
    int64_t **ids, size_t *n)
{
	struct db_stmt	*st;

	*ids = NULL;
	*n = 0;
	if ((st = db_prepare(s, sql)) == NULL)
		return -1;
	if (text != NULL)
		db_bind_text(st, 1, text);
	else
		db_bind_int(st, 1, num);
	while (db_step(st) == DB_ROW) {
		*ids = xreallocarray(*ids, *n + 1, sizeof **ids);
		(*ids)[(*n)++] = db_int(st, 0);
	}
	db_finish(s, st);
	return 0;
}

int
jobs_awaiting_in_room(struct store *s, const char *connector,
    const char *room, int64_t **ids, size_t *n)
{
	char	*key = xasprintf("%s:%s", connector, room);
	int	 rc;

	rc = ids_query(s, "SELECT id FROM jobs WHERE state = "
	    "'awaiting_approval' AND COALESCE(approval_room, connector || ':' "
	    "|| room) = ?1 ORDER BY id", key, 0, ids, n);
	free(key);
	return rc;
}

int
jobs_approvers(struct store *s, int64_t job_id, char ***list, size_t *n)
{
	struct db_stmt	*st;

	*list = xcalloc(1, sizeof **list);
	*n = 0;
	if ((st = db_prepare(s, "SELECT approver FROM approvals WHERE "
	    "job_id = ?1 AND decision = 'approve' ORDER BY id")) == NULL)
		return -1;
	db_bind_int(st, 1, job_id);
	while (db_step(st) == DB_ROW) {
		*list = xreallocarray(*list, *n + 2, sizeof **list);
		(*list)[(*n)++] = db_text_dup(st, 0);
		(*list)[*n] = NULL;
	}
	db_finish(s, st);
	return 0;
}

void
jobs_free_list(char **list, size_t n)
{
	strv_free(list, n);
}

#define CLAIM_SQL "SELECT " JOB_COLUMNS " FROM jobs j " \
	"WHERE state = 'queued' AND kind = ?2 AND " \
	"(site IS NULL OR CAST(?3 AS TEXT) IS NULL OR site = ?3) AND " \
	"(target_vmid IS NULL OR NOT EXISTS (" \
	"  SELECT 1 FROM jobs o WHERE o.target_vmid = j.target_vmid AND " \
	"  (o.state = 'running' OR (o.state = 'queued' AND o.id < j.id))))" \
	" AND (heavy = 0 OR target_node IS NULL OR (SELECT COUNT(*) FROM " \
	"  jobs h WHERE h.state = 'running' AND h.heavy = 1 AND " \
	"  h.target_node = j.target_node) < ?1) " \
	"ORDER BY id LIMIT 1"

/* 1 when the query (text parameters ?1, ?2) has a row, 0 when not, -1
 * on error. */
static int
any_row(struct store *s, const char *sql, const char *t1, const char *t2)
{
	struct db_stmt	*st;
	int		 rc;

	if ((st = db_prepare(s, sql)) == NULL)
		return -1;
	db_bind_text(st, 1, t1);
	db_bind_text(st, 2, t2);
	rc = db_step(st);
	db_finish(s, st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

/* The claimer owns the job now: its generation and its name. */
static int
set_owner(struct store *s, int64_t id, const struct job_claimer *by)
{
	struct db_stmt	*st;

	if ((st = db_prepare(s, "UPDATE jobs SET claim_gen = ?1, runner = ?2 "
	    "WHERE id = ?3")) == NULL)
		return -1;
	db_bind_int(st, 1, by->gen);
	db_bind_text(st, 2, by->instance);
	db_bind_int(st, 3, id);
	return db_run(s, st);
}

int
jobs_claim(struct store *s, const char *kind, int heavy_per_node,
    const struct job_claimer *by, struct job *out)
{
	struct db_stmt	*st;
	int		 rc, found = 0;
	char		*cause = NULL;

	/* Idle workers of every instance look often: only when there is
	 * something to claim do they queue for the write lock. */
	if ((rc = any_row(s, "SELECT 1 FROM jobs WHERE state = 'queued' AND "
	    "kind = ?1 AND (site IS NULL OR CAST(?2 AS TEXT) IS NULL OR "
	    "site = ?2) LIMIT 1", kind, by->site)) <= 0)
		return rc;
	if (store_begin(s) != 0)
		return -1;
	/*
	 * Oldest first; only a job of the claimer's site (or of none);
	 * skip a job whose guest already has a running job (jobs on one
	 * guest run one at a time, in order: an older queued job of the
	 * same guest also blocks a newer one), and a heavy job whose node
	 * is at its limit. PostgreSQL: the row is locked, and one locked
	 * by another claimer is passed over rather than waited for (every
	 * write transaction also holds the store's write lock today, for
	 * the audit chain, so claimers do not meet there yet).
	 */
	st = db_prepare(s, db_is_pg(s) ? CLAIM_SQL " FOR UPDATE OF j SKIP "
	    "LOCKED" : CLAIM_SQL);
	if (st == NULL) {
		store_rollback(s);
		return -1;
	}
	db_bind_int(st, 1, heavy_per_node);
	db_bind_text(st, 2, kind);
	db_bind_text(st, 3, by->site);
	rc = db_step(st);
	if (rc == DB_ROW) {
		row_to_job(st, out);
		found = 1;
	}
	db_finish(s, st);
	if (!found) {
		store_rollback(s);
		return rc == DB_DONE ? 0 : -1;
	}
	if (jobs_transition(s, out->id, JOB_QUEUED, JOB_RUNNING, "worker",
	    NULL, NULL, &cause) != 0 || set_owner(s, out->id, by) != 0) {
		log_warn("jobs", "claim failed job=%" PRId64 ": %s", out->id,
		    cause != NULL ? cause : "cannot stamp the owner");
		free(cause);
		store_rollback(s);
		job_release(out);
		return -1;
	}
	if (store_commit(s) != 0) {
		job_release(out);
		return -1;
	}
	out->state = JOB_RUNNING;
	out->started_at = wall_now();
	free(out->runner);
	out->runner = by->instance != NULL ? xstrdup(by->instance) : NULL;
	return 1;
}

int
jobs_ids_in_state(struct store *s, enum job_state state, int64_t **ids,
    size_t *n)
{
	return ids_query(s, "SELECT id FROM jobs WHERE state = ?1 ORDER BY id",
	    job_state_name(state), 0, ids, n);
}

int
jobs_ids_to_resolve(struct store *s, const char *site, int leading,
    int64_t **ids, size_t *n)
{
	/*
	 * The leader: requests of its own site (or of none). Another
	 * instance: those of its site when the leader is of another one
	 * (a room of its site asked, and only its cluster knows the guest).
	 */
	return ids_query(s, leading ? "SELECT id FROM jobs WHERE state = "
	    "'resolving' AND (site IS NULL OR site = ?1) ORDER BY id" :
	    "SELECT id FROM jobs WHERE state = 'resolving' AND site = ?1 AND "
	    "site <> COALESCE((SELECT i.site FROM leader l JOIN instances i "
	    "ON i.name = l.instance WHERE l.id = 1), '') ORDER BY id", site, 0,
	    ids, n);
}

int
jobs_ids_unserved(struct store *s, const char *site, int64_t **ids,
    size_t *n)
{
	*ids = NULL;
	*n = 0;
	if (!db_is_pg(s) || site == NULL)
		return 0;
	return ids_query(s, "SELECT id FROM jobs j WHERE state = 'resolving' "
	    "AND site IS NOT NULL AND site <> ?1 AND NOT EXISTS (SELECT 1 FROM "
	    "instances i JOIN pg_locks l ON l.locktype = 'advisory' AND "
	    "l.classid = " JOBS_LIVE_CLASS_S " AND l.objid::bigint = i.gen AND "
	    "l.objsubid = 2 AND l.granted AND l.database = (SELECT oid FROM "
	    "pg_database WHERE datname = current_database()) WHERE i.site = "
	    "j.site) ORDER BY id", site, 0, ids, n);
}

int
jobs_ids_expired(struct store *s, int64_t now, int64_t **ids, size_t *n)
{
	return ids_query(s, "SELECT id FROM jobs WHERE state = "
	    "'awaiting_approval' AND expires_at IS NOT NULL AND "
	    "expires_at <= ?1 ORDER BY id", NULL, now, ids, n);
}

static void
format_job_line(struct buf *b, const struct job *j)
{
	char	 ago[32];

	format_duration(wall_now() - j->created_at, ago, sizeof ago);
	buf_printf(b, "#%" PRId64 " %s: %s (by %s, %s ago)", j->id,
	    job_state_name(j->state), j->command, j->requester, ago);
	if (j->progress >= 0 && j->state == JOB_RUNNING)
		buf_printf(b, " %d%%", j->progress);
	buf_puts(b, "\n");
}

char *
jobs_format_list(struct store *s, int limit, const char *requester)
{
	struct db_stmt	*st;
	struct buf	 b;
	struct job	 j;
	int		 n = 0;

	buf_init(&b, 64 << 10);
	buf_append(&b, "", 0);
	st = db_prepare(s, requester != NULL ?
	    "SELECT " JOB_COLUMNS " FROM jobs WHERE requester = ?2 "
	    "ORDER BY id DESC LIMIT ?1" :
	    "SELECT " JOB_COLUMNS " FROM jobs ORDER BY id DESC LIMIT ?1");
	if (st == NULL)
		return buf_steal(&b);
	db_bind_int(st, 1, limit);
	if (requester != NULL)
		db_bind_text(st, 2, requester);
	while (db_step(st) == DB_ROW) {
		row_to_job(st, &j);
		format_job_line(&b, &j);
		job_release(&j);
		n++;
	}
	db_finish(s, st);
	if (n == 0)
		buf_puts(&b, "no jobs yet\n");
	return buf_steal(&b);
}

char *
jobs_format_one(struct store *s, int64_t id)
{
	struct job	 j;
	struct buf	 b;
	char		**who;
	size_t		 n, i;

	if (jobs_get(s, id, &j) != 0)
		return NULL;
	buf_init(&b, 64 << 10);
	format_job_line(&b, &j);
	buf_printf(&b, "action: %s", j.action);
	if (j.rule != NULL)
		buf_printf(&b, " (rule %s)", j.rule);
	buf_puts(&b, "\n");
	if (j.reason != NULL)
		buf_printf(&b, "reason: %s\n", j.reason);
	if (jobs_approvers(s, id, &who, &n) == 0 && n > 0) {
		buf_puts(&b, "approved by:");
		for (i = 0; i < n; i++)
			buf_printf(&b, " %s", who[i]);
		buf_puts(&b, "\n");
	}
	jobs_free_list(who, n);
	if (j.upid != NULL)
		buf_printf(&b, "task: %s\n", j.upid);
	if (j.result != NULL)
		buf_printf(&b, "result: %s\n", j.result);
	if (j.error != NULL)
		buf_printf(&b, "error: %s\n", j.error);
	job_release(&j);
	return buf_steal(&b);
}

/* ---- generations ---- */

int64_t
jobs_next_generation(struct store *s)
{
	char		*v = NULL, num[32];
	const char	*errstr;
	int64_t		 gen = 0;

	if (store_begin(s) != 0)
		return -1;
	if (store_kv_get(s, "process.generation", &v) == 0 && v != NULL)
		gen = strtonum(v, 0, INT64_MAX - 1, &errstr);
	free(v);
	gen++;
	snprintf(num, sizeof num, "%" PRId64, gen);
	if (store_kv_set(s, "process.generation", num) != 0 ||
	    store_commit(s) != 0) {
		store_rollback(s);
		return -1;
	}
	return gen;
}

/*
 * A running job has lost its owner when, on SQLite (one process per
 * file), an earlier process claimed it; on PostgreSQL, when nobody holds
 * the liveness lock of the generation that claimed it (its process is
 * gone, or cut off and stopping: its writes are fenced). Under the write
 * lock, so two adopters never take the same job.
 */
#define ADOPT_SQLITE "UPDATE jobs SET claim_gen = ?1, runner = ?2 WHERE " \
	"state = 'running' AND (claim_gen IS NULL OR claim_gen < ?1) AND " \
	"(site IS NULL OR CAST(?3 AS TEXT) IS NULL OR site = ?3) RETURNING id"
#define ADOPT_PG "UPDATE jobs SET claim_gen = ?1, runner = ?2 WHERE " \
	ADOPT_PG_WHERE " RETURNING id"
#define ADOPT_PG_PROBE "SELECT 1 FROM jobs WHERE " ADOPT_PG_WHERE " LIMIT 1"
#define ADOPT_PG_WHERE \
	"state = 'running' AND (claim_gen IS NULL OR claim_gen <> ?1) AND " \
	"(site IS NULL OR CAST(?3 AS TEXT) IS NULL OR site = ?3) AND NOT " \
	"EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = ?4 " \
	"AND l.objid::bigint = jobs.claim_gen AND l.objsubid = 2 AND " \
	"l.granted AND l.database = (SELECT oid FROM pg_database WHERE " \
	"datname = current_database()))"

static void
adopt_bind(struct store *s, struct db_stmt *st, const struct job_claimer *by)
{
	db_bind_int(st, 1, by->gen);
	db_bind_text(st, 2, by->instance);
	db_bind_text(st, 3, by->site);
	if (db_is_pg(s))
		db_bind_int(st, 4, JOBS_LIVE_CLASS);
}

int
jobs_adopt(struct store *s, const struct job_claimer *by, int64_t **ids,
    size_t *n)
{
	struct db_stmt	*st;
	int		 rc;

	*ids = NULL;
	*n = 0;
	/* Every instance looks every second: the write lock only when
	 * there is something to adopt. */
	if (db_is_pg(s)) {
		if ((st = db_prepare(s, ADOPT_PG_PROBE)) == NULL)
			return -1;
		adopt_bind(s, st, by);
		rc = db_step(st);
		db_finish(s, st);
		if (rc != DB_ROW)
			return rc == DB_DONE ? 0 : -1;
	}
	if (store_begin(s) != 0)
		return -1;
	if ((st = db_prepare(s, db_is_pg(s) ? ADOPT_PG : ADOPT_SQLITE)) ==
	    NULL) {
		store_rollback(s);
		return -1;
	}
	adopt_bind(s, st, by);
	while ((rc = db_step(st)) == DB_ROW) {
		*ids = xreallocarray(*ids, *n + 1, sizeof **ids);
		(*ids)[(*n)++] = db_int(st, 0);
	}
	db_finish(s, st);
	if (rc != DB_DONE || store_commit(s) != 0) {
		store_rollback(s);
		free(*ids);
		*ids = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

/* ---- steps ---- */

static const char *step_names[] = { "intent", "started", "done", "failed",
	"unknown" };

const char *
step_state_name(enum step_state st)
{
	return (size_t)st < nitems(step_names) ? step_names[st] : "?";
}

int
jobs_step_intent(struct store *s, struct job_step *js, char **cause)
{
	struct db_stmt	*st;
	char		 marker[17];
	int		 rc;

	random_hex(marker, 8);
	js->intent_at = wall_now();
	st = db_prepare(s, "INSERT INTO job_steps (job_id, seq, name, "
	    "method, target, params, node, task_type, vmid, marker, "
	    "intent_at, state) VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 "
	    "FROM job_steps WHERE job_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	    "?9, ?10, 'intent') RETURNING id, seq");
	if (st == NULL)
		return set_cause(cause, "cannot record the step");
	db_bind_int(st, 1, js->job_id);
	db_bind_text(st, 2, js->name);
	db_bind_text(st, 3, js->method);
	db_bind_text(st, 4, js->target);
	db_bind_text(st, 5, js->params != NULL ? js->params : "{}");
	bind_opt_text(st, 6, js->node);
	bind_opt_text(st, 7, js->task_type);
	bind_opt_int(st, 8, js->vmid);
	db_bind_text(st, 9, marker);
	db_bind_int(st, 10, js->intent_at);
	rc = db_step(st);
	if (rc == DB_ROW) {
		js->id = db_int(st, 0);
		js->seq = (int)db_int(st, 1);
	}
	db_finish(s, st);
	if (rc != DB_ROW)
		return set_cause(cause, "cannot record the step: %s",
		    db_error(s));
	js->state = STEP_INTENT;
	return 0;
}

int
jobs_step_upid(struct store *s, int64_t step_id, const char *upid)
{
	struct db_stmt	*st;

	st = db_prepare(s, "UPDATE job_steps SET upid = ?1, state = "
	    "'started' WHERE id = ?2 AND (upid IS NULL OR upid = ?1)");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, upid);
	db_bind_int(st, 2, step_id);
	/* A constraint error: another step holds this UPID. */
	return db_run(s, st) == 0 && db_changes(s) == 1 ? 0 : -1;
}

int
jobs_step_finish(struct store *s, int64_t step_id, enum step_state state)
{
	struct db_stmt	*st;

	st = db_prepare(s, "UPDATE job_steps SET state = ?1, finished_at "
	    "= ?2 WHERE id = ?3");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, step_state_name(state));
	db_bind_int(st, 2, wall_now());
	db_bind_int(st, 3, step_id);
	return db_run(s, st);
}

int
jobs_steps(struct store *s, int64_t job_id, struct job_step **out,
    size_t *n)
{
	struct db_stmt	*st;
	struct job_step	*v = NULL;
	size_t		 k;

	*out = NULL;
	*n = 0;
	st = db_prepare(s, "SELECT id, seq, name, method, target, params, "
	    "node, task_type, vmid, intent_at, upid, state FROM job_steps "
	    "WHERE job_id = ?1 ORDER BY seq");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, job_id);
	while (db_step(st) == DB_ROW) {
		struct job_step	*js;
		char		*state;

		v = xreallocarray(v, *n + 1, sizeof *v);
		js = &v[(*n)++];
		memset(js, 0, sizeof *js);
		js->id = db_int(st, 0);
		js->job_id = job_id;
		js->seq = (int)db_int(st, 1);
		js->name = db_text_dup(st, 2);
		js->method = db_text_dup(st, 3);
		js->target = db_text_dup(st, 4);
		js->params = db_text_dup(st, 5);
		js->node = db_text_dup(st, 6);
		js->task_type = db_text_dup(st, 7);
		js->vmid = (int)db_int(st, 8);
		js->intent_at = db_int(st, 9);
		js->upid = db_text_dup(st, 10);
		state = db_text_dup(st, 11);
		js->state = STEP_INTENT;
		for (k = 0; k < nitems(step_names); k++) {
			if (state != NULL && strcmp(state, step_names[k]) == 0)
				js->state = (enum step_state)k;
		}
		free(state);
	}
	db_finish(s, st);
	*out = v;
	return 0;
}

void
jobs_steps_free(struct job_step *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].method);
		free(v[i].target);
		free(v[i].params);
		free(v[i].node);
		free(v[i].task_type);
		free(v[i].upid);
	}
	free(v);
}

int
jobs_upid_claimed(struct store *s, const char *upid)
{
	struct db_stmt	*st;

	st = db_prepare(s, "SELECT 1 FROM job_steps WHERE upid = ?1");
	if (st == NULL)
		return 0;
	db_bind_text(st, 1, upid);
	return db_exists(s, st) == 1;
}

/* ---- what a guest will be once a person's pending jobs have run ---- */

static const char *
action_result(const char *action)
{
	static const struct {
		const char	*action, *status;
	} map[] = {
		{ "guest.start", "running" },
		{ "guest.stop", "stopped" },
		{ "guest.shutdown", "stopped" },
		{ "guest.reboot", "running" },
		{ "guest.suspend", "paused" },
		{ "guest.resume", "running" },
	};
	size_t	 i;

	for (i = 0; i < nitems(map); i++) {
		if (strcmp(map[i].action, action) == 0)
			return map[i].status;
	}
	return NULL;
}

char *
jobs_expected_status(struct store *s, const char *requester, int64_t vmid,
    const char *now)
{
	struct db_stmt	*st;
	const char	*status = now, *r;
	char		*out;
	int64_t		 id, newest = 0;

	if (now == NULL)
		return NULL;
	/* The newest such job decides; found here, not by a sort in SQL. */
	st = db_prepare(s, "SELECT id, action FROM jobs WHERE requester = "
	    "?1 AND target_vmid = ?2 AND state IN ('resolving', "
	    "'awaiting_approval', 'queued', 'running')");
	if (st == NULL)
		return xstrdup(now);
	db_bind_text(st, 1, requester);
	db_bind_int(st, 2, vmid);
	out = NULL;
	while (db_step(st) == DB_ROW) {
		id = db_int(st, 0);
		r = action_result(db_text(st, 1));
		if (r != NULL && id > newest) {
			status = r;
			newest = id;
		}
	}
	out = xstrdup(status);
	db_finish(s, st);
	return out;
}
