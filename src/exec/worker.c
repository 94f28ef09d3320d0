/*
 * worker.c - the worker pool: claims queued jobs and runs them against
 * the Proxmox VE API or over SSH, editing one chat message as they go.
 *
 * Guarantees:
 * - A job is claimed in a transaction (jobs_claim), so it runs once.
 *   Jobs of one guest run one at a time in order; heavy jobs (backup,
 *   migrate, clone) respect a per-node limit.
 * - Just before dispatch the target is checked again: it must still
 *   exist, be on the node the request saw, be in the state the command
 *   expects and not be locked; otherwise the job fails saying what
 *   changed, instead of acting on a different reality.
 * - dispatched_at is committed before the API call and the task's UPID
 *   the moment the API returns it. After a crash, workers_recover()
 *   follows a stored UPID, or finds the task in the node's task list,
 *   or reports the job interrupted: no job is started twice.
 * - Progress edits are throttled (workers.edit_interval per message).
 *
 * Reads (status, guests, ...) run on their own thread, so a long backup
 * never makes `status` wait.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "builtin.h"
#include "chat.h"
#include "cmd.h"
#include "conf.h"
#include "exec_proxmox.h"
#include "exec_ssh.h"
#include "fault.h"
#include "guest_index.h"
#include "jobs.h"
#include "log.h"
#include "outbox.h"
#include "prov.h"
#include "sensors.h"
#include "store.h"
#include "store_leader.h"
#include "util.h"
#include "worker.h"
#include "worker_int.h"

#define MAX_WORKERS	64
#define WORKER_STATUS_TRIES	40	/* failed status reads before the
					 * log's final line decides */
#define WORKER_FIND_TRIES	3	/* task list reads, a second apart */
#define WORKER_CLOCK_SKEW	2	/* seconds a node's clock may lag */
#define WORKER_SWEEP_MS		1000	/* looks for jobs of dead instances */

struct workers {
	struct app	*app;
	pthread_t	 threads[MAX_WORKERS + 1];
	int		 nthreads;
	pthread_t	 recovery;
	int		 recovering;
	struct job_claimer by;		/* this process: generation, name,
					 * site */
	int64_t		*orphans;	/* adopted, not yet followed */
	size_t		 norphans;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 stop;
	int		 kicks;
	_Atomic int64_t	 beat;		/* now_ms() of the last loop turn */
	atomic_int	 executing;	/* threads inside execute() */
};


/*
 * The job's message gets new content: an edit of its outbox row (the
 * sender delivers the newest content; nothing here waits on the chat).
 */
void
run_post(struct run *r, const char *text, const struct chat_button *buttons,
    size_t nbuttons)
{
	struct chat_msg	 m = { .title = r->title, .text = text,
	    .buttons = buttons, .nbuttons = nbuttons };
	char		*label, *full = NULL;

	/* Who let it run stays on the message to the end. */
	if (r->context != NULL)
		m.text = full = xasprintf("%s\n%s", r->context, text);
	if (r->job->msg_id > 0 && outbox_edit(r->store, r->job->msg_id,
	    &m) == 0) {
		r->last_edit_ms = now_ms();
		free(full);
		return;
	}
	label = xasprintf("job #%" PRId64, r->job->id);
	r->job->msg_id = outbox_send(r->store, r->job->connector,
	    r->job->room, &m, label);
	free(label);
	free(full);
	if (r->job->msg_id > 0)
		jobs_set_int(r->store, r->job->id, "msg_id", r->job->msg_id);
	r->last_edit_ms = now_ms();
}

static void
progress_bar(int percent, char *out, size_t len)
{
	struct buf	 b;
	int		 i, full = percent / 10;

	buf_init(&b, 0);
	buf_puts(&b, "[");
	for (i = 0; i < 10; i++)
		buf_puts(&b, i < full ? "\xe2\x96\x88" : "\xe2\x96\x91");
	buf_printf(&b, "] %d%%", percent);
	snprintf(out, len, "%s", buf_cstr(&b));
	buf_release(&b);
}

/* A progress edit, at most one per edit_interval. */
static void
run_progress(struct run *r, int force)
{
	int64_t	 interval = r->app->conf->workers.edit_interval * 1000;
	char	 bar[128], el[32], *text;

	if (!force && now_ms() - r->last_edit_ms < interval)
		return;
	if (!force && r->percent == r->shown_percent && r->percent >= 0)
		return;
	format_duration((now_ms() - r->started_ms) / 1000, el, sizeof el);
	if (r->percent >= 0) {
		progress_bar(r->percent, bar, sizeof bar);
		text = xasprintf("running %s, %s%s", bar, el, r->reattached ?
		    " (pvebot restarted; following the task again)" : "");
		jobs_set_int(r->store, r->job->id, "progress", r->percent);
	} else
		text = xasprintf("running, %s%s", el, r->reattached ?
		    " (pvebot restarted; following the task again)" : "");
	r->shown_percent = r->percent;
	run_post(r, text, NULL, 0);
	free(text);
}

/*
 * The job's final state and its message, in one transaction: the chat
 * shows what the database says. A failed write is tried again until it
 * works (loudly, the job stays running meanwhile): pvebot never reports
 * an outcome it could not record.
 */
void
run_finish(struct run *r, enum job_state to, const char *result,
    const char *error, const struct chat_button *buttons, size_t nbuttons)
{
	char	 el[32], *text, *cause = NULL;
	int	 attempt, noted = 0;

	format_duration((now_ms() - r->started_ms) / 1000, el, sizeof el);
	switch (to) {
	case JOB_SUCCEEDED:
		if (r->read && result != NULL) {
			text = xstrdup(result);
			break;
		}
		if (r->percent >= 0) {
			char	 bar[128];

			progress_bar(r->percent, bar, sizeof bar);
			text = xasprintf("succeeded in %s %s%s%s", el, bar,
			    result != NULL && *result ? "\n" : "",
			    result != NULL ? result : "");
			break;
		}
		text = xasprintf("succeeded in %s%s%s", el,
		    result != NULL && *result ? "\n" : "",
		    result != NULL ? result : "");
		break;
	case JOB_CANCELLED:
		text = xasprintf("cancelled after %s", el);
		break;
	case JOB_INTERRUPTED:
		text = xasprintf("interrupted: %s", error != NULL ? error : "");
		break;
	case JOB_REFUSED:
		text = xasprintf("refused: %s", error != NULL ? error : "");
		break;
	case JOB_UNKNOWN:
		text = xasprintf("outcome unknown: %s", error != NULL ? error :
		    "");
		break;
	default:
		text = xasprintf("failed after %s: %s%s%s", el,
		    error != NULL ? error : "unknown error",
		    r->tail.len > 0 ? "\nlast task lines:\n" : "",
		    buf_cstr(&r->tail));
		break;
	}
	for (attempt = 0;; attempt++) {
		if (store_begin(r->store) == 0) {
			if (jobs_transition(r->store, r->job->id, JOB_RUNNING,
			    to, "worker", result, error, &cause) != 0) {
				/* Not running any more (cancelled, ...):
				 * nothing to record. */
				log_warn("worker", "job=%" PRId64 " final "
				    "state not saved: %s", r->job->id, cause);
				free(cause);
				cause = NULL;
				store_rollback(r->store);
				break;
			}
			if (attempt > 0 && !noted) {
				/* Said in the chat once it can be. */
				char	*late = xasprintf("%s\n(recorded late: "
				    "the database refused writes for a while)",
				    text);

				free(text);
				text = late;
				noted = 1;
			}
			run_post(r, text, buttons, nbuttons);
			if (fault_fail("worker.finish"))
				store_rollback(r->store);
			else if (store_commit(r->store) == 0)
				break;
		}
		log_error("worker", "job=%" PRId64 " outcome %s could not be "
		    "saved (attempt %d): the database refuses writes; the "
		    "job stays running until it can", r->job->id,
		    job_state_name(to), attempt + 1);
		if (atomic_load(&r->app->stopping) && attempt >= 3)
			break;
		sleep_ms(chat_backoff_ms(attempt, 500, 30000));
	}
	log_info("worker", "job=%" PRId64 " state=%s", r->job->id,
	    job_state_name(to));
	free(text);
}

/* A read's answer replaces the "working..." message. */
static void
read_finish(struct run *r, char *text, char *cause)
{
	if (text != NULL)
		run_finish(r, JOB_SUCCEEDED, text, NULL, NULL, 0);
	else
		run_finish(r, JOB_FAILED, NULL, cause != NULL ? cause :
		    "no answer", NULL, 0);
	free(text);
	free(cause);
}

static int
cancel_requested(struct run *r)
{
	return jobs_cancel_requested(r->store, r->job->id);
}

static void
tail_line(struct run *r, const char *line)
{
	/* Keep the last few lines for a failure report. */
	struct buf	 b;
	const char	*p = buf_cstr(&r->tail);
	int		 lines = 0;
	const char	*q;

	for (q = p; *q != '\0'; q++)
		lines += *q == '\n';
	buf_init(&b, 4096);
	if (lines >= 5) {
		const char	*nl = strchr(p, '\n');

		p = nl != NULL ? nl + 1 : p;
	}
	buf_puts(&b, p);
	buf_printf(&b, "%.300s\n", line);
	buf_release(&r->tail);
	r->tail = b;
}

/*
 * Follows a task to its end: log lines become progress, cancel requests
 * stop it. Returns the final state; *error is the task's exit status
 * when it failed (caller frees). When the status endpoint keeps failing
 * the task log's final line decides ("TASK OK", "TASK ERROR: ..."); when
 * that cannot be read either the outcome is JOB_UNKNOWN, never a guess.
 * JOB_RUNNING means pvebot is stopping and left the task running.
 */
enum job_state
follow_task(struct run *r, const char *upid, char **error)
{
	struct pve	*pve = r->app->pve;
	int64_t		 poll = r->app->conf->proxmox.task_poll;
	int		 next_line = 0, stopped = 0, errors = 0;

	*error = NULL;
	for (;;) {
		struct pve_task_status	 ts;
		json_t			*lines = NULL, *l;
		char			*cause = NULL, *last;
		size_t			 i;

		if (pve_task_log(pve, upid, next_line, &lines, &cause) == 0) {
			size_t	 got = json_array_size(lines);

			json_array_foreach(lines, i, l) {
				const char	*t = json_string_value(
				    json_object_get(l, "t"));
				int		 pct;

				/* An empty log's placeholder is no line. */
				if (t == NULL || (next_line == 0 && got == 1 &&
				    strcmp(t, "no content") == 0))
					continue;
				next_line++;
				tail_line(r, t);
				pct = pve_progress_percent(t);
				if (pct > r->percent)
					r->percent = pct;
			}
			json_decref(lines);
		}
		free(cause);
		cause = NULL;
		memset(&ts, 0, sizeof ts);
		if (pve_task_status(pve, upid, &ts, &cause) != 0) {
			if (++errors > WORKER_STATUS_TRIES) {
				last = pve_task_final_line(pve, upid, NULL);
				if (last != NULL && (strcmp(last, "TASK OK") ==
				    0 || str_has_prefix(last,
				    "TASK WARNINGS"))) {
					free(last);
					free(cause);
					return JOB_SUCCEEDED;
				}
				if (last != NULL && str_has_prefix(last,
				    "TASK ERROR: ")) {
					*error = xstrdup(last + 12);
					free(last);
					free(cause);
					return JOB_FAILED;
				}
				free(last);
				*error = xasprintf("pvebot lost track of task %s "
				    "(%s); it may still run or have ended: "
				    "check `task %s`", upid, cause, upid);
				free(cause);
				return JOB_UNKNOWN;
			}
			free(cause);
			sleep_ms(poll);
			continue;
		}
		errors = 0;
		if (!ts.running) {
			enum job_state	 st = JOB_SUCCEEDED;

			/* Catch the last log lines (the 100% line). */
			if (pve_task_log(pve, upid, next_line, &lines,
			    NULL) == 0) {
				json_array_foreach(lines, i, l) {
					const char	*t = json_string_value(
					    json_object_get(l, "t"));

					if (t == NULL || (next_line == 0 &&
					    json_array_size(lines) == 1 &&
					    strcmp(t, "no content") == 0))
						continue;
					tail_line(r, t);
					if (pve_progress_percent(t) > r->percent)
						r->percent =
						    pve_progress_percent(t);
				}
				json_decref(lines);
			}
			if (stopped)
				st = JOB_CANCELLED;
			else if (ts.exitstatus == NULL ||
			    (strcmp(ts.exitstatus, "OK") != 0 &&
			    !str_has_prefix(ts.exitstatus, "WARNINGS"))) {
				st = JOB_FAILED;
				*error = xstrdup(ts.exitstatus != NULL ?
				    ts.exitstatus : "the task failed");
			}
			if (st == JOB_SUCCEEDED && r->percent >= 0 &&
			    r->percent < 100 && r->shown_percent >= 0)
				r->percent = 100;
			pve_task_status_release(&ts);
			return st;
		}
		pve_task_status_release(&ts);
		if (!stopped && cancel_requested(r)) {
			if (pve_task_stop(pve, upid, &cause) == 0)
				stopped = 1;
			else
				log_warn("worker", "job=%" PRId64 " stop "
				    "failed: %s", r->job->id, cause);
			free(cause);
		}
		run_progress(r, 0);
		sleep_ms(poll);
		if (atomic_load(&r->app->stopping) && !stopped) {
			/*
			 * Shutting down: leave the job running with its
			 * UPID; the next start re-attaches to it.
			 */
			return JOB_RUNNING;
		}
	}
}

static const char *
call_value(const struct cmd_call *call, enum arg_type type)
{
	size_t	 i;

	for (i = 0; i < call->def->nargs; i++) {
		if (call->def->args[i].type == type)
			return call->values[i];
	}
	return NULL;
}

/* Is `status` one of the comma-separated `expect` states? */
static int
status_expected(const char *expect, const char *status)
{
	char	*copy = xstrdup(expect), *p = copy, *tok;
	int	 ok = 0;

	while ((tok = strsep(&p, ",")) != NULL) {
		if (strcmp(str_trim(tok), status) == 0)
			ok = 1;
	}
	free(copy);
	return ok;
}

/*
 * The target as it is now, against what the request saw. Returns NULL
 * when it is fine to act, else what changed (caller frees).
 */
static char *
recheck(struct run *r, const struct cmd_call *call, struct pve_guest *g)
{
	const char	*ref = call_value(call, ARG_GUEST);
	const char	*expect = call->def->proxmox.expect_status;
	char		*cause = NULL, vm[32];

	if (ref == NULL)
		return NULL;
	snprintf(vm, sizeof vm, "%" PRId64, r->job->target_vmid);
	/* The list read for the consent check: read once per dispatch. */
	if (r->view != NULL ? guest_view_resolve(r->view,
	    r->job->target_vmid > 0 ? vm : ref, g, &cause) != 0 :
	    pve_resolve_guest(r->app->pve, r->job->target_vmid > 0 ? vm : ref,
	    g, &cause) != 0)
		return cause;
	if (r->job->target_node != NULL &&
	    strcmp(g->node, r->job->target_node) != 0)
		return xasprintf("guest %d moved from %s to %s since the "
		    "request; nothing was done", g->vmid, r->job->target_node,
		    g->node);
	if (g->status == NULL)
		g->status = xstrdup("unknown");
	if (strcmp(g->status, "unknown") == 0)
		return xasprintf("node %s is not reachable (guest %d shows as "
		    "unknown); nothing was done", g->node, g->vmid);
	if (strcmp(r->job->action, "guest.unlock") == 0) {
		if (g->lock == NULL)
			return xasprintf("guest %d is not locked; nothing was "
			    "done", g->vmid);
	} else if (g->lock != NULL)
		return xasprintf("guest %d is locked (%s); nothing was done",
		    g->vmid, g->lock);
	if (expect != NULL && !status_expected(expect, g->status))
		return xasprintf("guest %d is %s, not %s; nothing was done",
		    g->vmid, g->status, expect);
	/* What an approver saw (after the requester's earlier jobs on it). */
	if (expect == NULL && r->job->approvals_needed > 0 &&
	    r->job->target_status != NULL &&
	    strcmp(r->job->target_status, g->status) != 0)
		return xasprintf("guest %d changed from %s to %s since the "
		    "request; nothing was done", g->vmid,
		    r->job->target_status, g->status);
	return NULL;
}

static int
mark_dispatched(struct run *r)
{
	return jobs_set_int(r->store, r->job->id, "dispatched_at", wall_now());
}

/* Task types by action, for finding a task whose UPID was not stored. */
const char *
task_type(const char *action, const char *guest_type)
{
	static const struct {
		const char	*action, *qemu, *lxc;
	} map[] = {
		{ "guest.start", "qmstart", "vzstart" },
		{ "guest.stop", "qmstop", "vzstop" },
		{ "guest.shutdown", "qmshutdown", "vzshutdown" },
		{ "guest.reboot", "qmreboot", "vzreboot" },
		{ "guest.suspend", "qmsuspend", "vzsuspend" },
		{ "guest.resume", "qmresume", "vzresume" },
		{ "guest.snapshot.create", "qmsnapshot", "vzsnapshot" },
		{ "guest.snapshot.rollback", "qmrollback", "vzrollback" },
		{ "guest.snapshot.delete", "qmdelsnapshot", "vzdelsnapshot" },
		{ "backup.create", "vzdump", "vzdump" },
		{ "guest.migrate", "qmigrate", "vzmigrate" },
		{ "guest.clone", "qmclone", "vzclone" },
		{ "node.startall", "startall", "startall" },
		{ "node.stopall", "stopall", "stopall" },
	};
	size_t	 i;

	for (i = 0; i < nitems(map); i++) {
		if (strcmp(map[i].action, action) == 0)
			return guest_type != NULL &&
			    strcmp(guest_type, "lxc") == 0 ? map[i].lxc :
			    map[i].qemu;
	}
	return NULL;
}

static char *
params_json(const struct pve_param *params, size_t n)
{
	json_t	*o = json_object();
	char	*s;
	size_t	 i;

	for (i = 0; i < n; i++)
		json_object_set_new(o, params[i].key, json_string(
		    params[i].value != NULL ? params[i].value : ""));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/*
 * The task a step started, found by its intent: of the right type, on
 * the right node and guest, by pvebot's token, started at or after the
 * intent (less a little clock skew) and claimed by no other step.
 * Exactly one such task is adopted (its UPID stored against the step);
 * none or several leave *upid NULL. `patience` tries, a second apart:
 * Proxmox lists a task as soon as it starts.
 */
static void
step_find_task(struct run *r, const struct job_step *js, int patience,
    char **upid, int *ambiguous)
{
	char	**v = NULL, *cause = NULL;
	size_t	  n = 0, i, free_n;
	int	  tries;
	ssize_t	  pick;

	*upid = NULL;
	*ambiguous = 0;
	if (r->app->pve == NULL || js->task_type == NULL || js->node == NULL)
		return;
	for (tries = 0; tries < patience; tries++) {
		if (tries > 0)
			sleep_ms(1000);
		if (pve_task_candidates(r->app->pve, js->node, js->task_type,
		    js->vmid, r->app->conf->proxmox.token_id, js->intent_at -
		    WORKER_CLOCK_SKEW, &v, &n, &cause) != PVE_OK) {
			log_warn("worker", "job=%" PRId64 " task lookup "
			    "failed: %s", js->job_id, cause);
			free(cause);
			cause = NULL;
			continue;
		}
		free_n = 0;
		pick = -1;
		for (i = 0; i < n; i++) {
			if (jobs_upid_claimed(r->store, v[i]))
				continue;
			free_n++;
			pick = (ssize_t)i;
		}
		if (free_n == 1 && jobs_step_upid(r->store, js->id,
		    v[pick]) == 0) {
			*upid = xstrdup(v[pick]);
			strv_free(v, n);
			return;
		}
		strv_free(v, n);
		if (free_n > 1) {
			*ambiguous = 1;
			return;
		}
	}
}

/*
 * One request that starts something, as a step of the job: the intent
 * is committed first, then the request goes out, then its UPID is stored
 * against the step (a task endpoint). Returns 0 (with *upid for a
 * task), -1 when it did not run (*cause), 1 when it may have run and
 * pvebot cannot tell (*cause says what to check).
 */
int
run_step(struct run *r, const char *name, const char *method,
    const char *path, const struct pve_param *params, size_t n,
    const char *node, const char *type, int vmid, int task, int64_t *step_id,
    char **upid, char **cause)
{
	struct job_step	 js;
	json_t		*data = NULL;
	char		*pj, *why = NULL;
	int		 rc, ambiguous;

	*upid = NULL;
	memset(&js, 0, sizeof js);
	js.job_id = r->job->id;
	js.name = (char *)name;
	js.method = (char *)method;
	js.target = (char *)path;
	js.params = pj = params_json(params, n);
	js.node = (char *)node;
	js.task_type = (char *)type;
	js.vmid = vmid;
	rc = jobs_step_intent(r->store, &js, cause);
	free(pj);
	if (rc != 0)
		return -1;
	*step_id = js.id;
	mark_dispatched(r);
	fault_point("step.intent");
	rc = pve_request(r->app->pve, method, path, params, n, task ? &data :
	    NULL, &why);
	fault_point("step.sent");
	if (rc == PVE_OK && task && !json_is_string(data)) {
		rc = PVE_MAYBE;
		free(why);
		why = xstrdup("Proxmox accepted it but returned no task id");
	}
	if (rc == PVE_OK) {
		if (task) {
			*upid = xstrdup(json_string_value(data));
			json_decref(data);
			if (jobs_step_upid(r->store, js.id, *upid) != 0) {
				/* Another step holds it: never follow it. */
				jobs_step_finish(r->store, js.id, STEP_UNKNOWN);
				set_cause(cause, "Proxmox returned task %s, which "
				    "belongs to another job; check `task %s`",
				    *upid, *upid);
				free(*upid);
				*upid = NULL;
				return 1;
			}
		} else
			jobs_step_finish(r->store, js.id, STEP_DONE);
		free(why);
		return 0;
	}
	json_decref(data);
	if (rc != PVE_MAYBE) {
		jobs_step_finish(r->store, js.id, STEP_FAILED);
		*cause = why;
		return -1;
	}
	/* It may have run: the task list says whether it did. */
	log_warn("worker", "job=%" PRId64 " step=%s: %s; looking for its task",
	    r->job->id, name, why);
	if (task)
		step_find_task(r, &js, WORKER_FIND_TRIES, upid, &ambiguous);
	if (*upid != NULL) {
		log_info("worker", "job=%" PRId64 " found its task %s",
		    r->job->id, *upid);
		free(why);
		return 0;
	}
	jobs_step_finish(r->store, js.id, STEP_UNKNOWN);
	set_cause(cause, "%s, and %s. It may have run: check %s before you "
	    "send it again", why, !task || type == NULL ? "Proxmox gives no "
	    "task to look for" : ambiguous ? "several tasks of pvebot match "
	    "it" : "Proxmox shows no task for it", node != NULL ? "`tasks`" :
	    "the guest");
	free(why);
	return 1;
}

static int
safety_snapshot(struct run *r, const struct pve_guest *g, char **cause)
{
	struct pve_param	 p[2];
	char			 name[64], *path, *upid = NULL, *err = NULL;
	enum job_state		 st;
	int64_t			 step;
	int			 percent = r->percent, rc;

	snprintf(name, sizeof name, "pvebot-%" PRId64, r->job->id);
	p[0] = (struct pve_param){ "snapname", name };
	p[1] = (struct pve_param){ "description", "safety snapshot taken "
	    "by pvebot before the job ran" };
	path = pve_guest_path(g, "/snapshot");
	run_post(r, "taking safety snapshot first", NULL, 0);
	rc = run_step(r, "safety_snapshot", "POST", path, p, 2, g->node,
	    task_type("guest.snapshot.create", g->type), g->vmid, 1, &step,
	    &upid, cause);
	free(path);
	if (rc != 0)
		return rc;
	fault_point("step.snapshot");
	st = follow_task(r, upid, &err);
	free(upid);
	r->percent = percent;
	buf_reset(&r->tail);
	jobs_step_finish(r->store, step, st == JOB_SUCCEEDED ? STEP_DONE :
	    st == JOB_FAILED ? STEP_FAILED : STEP_UNKNOWN);
	if (st == JOB_RUNNING) {
		free(err);
		return 2;	/* stopping: the next start follows it */
	}
	if (st != JOB_SUCCEEDED) {
		set_cause(cause, "the safety snapshot %s %s: %s", name,
		    st == JOB_FAILED ? "failed" : "has an unknown outcome",
		    err != NULL ? err : "?");
		free(err);
		return st == JOB_FAILED ? -1 : 1;
	}
	return 0;
}

/*
 * Free space before a backup: the target storage, as the guest's node
 * sees it in /cluster/resources, must have the guest's disk size
 * (maxdisk) plus workers.backup_margin_gib free. NULL when it has (or
 * when no storage was named: the node's default is not known here),
 * else the refusal with the figures (caller frees).
 */
static char *
backup_space(struct run *r, const struct pve_guest *g, const char *storage)
{
	const double	 gib = 1024.0 * 1024 * 1024;
	struct pve_param p[1] = { { "type", "storage" } };
	json_t		*data = NULL, *o;
	char		*id, *cause = NULL, *text = NULL;
	int64_t		 margin, total, used, need;
	size_t		 i;
	int		 found = 0;

	if (storage == NULL)
		return NULL;
	if (pve_request(r->app->pve, "GET", "/cluster/resources", p, 1,
	    &data, &cause) != PVE_OK) {
		text = xasprintf("cannot read the free space of %s: %s; "
		    "nothing was done", storage, cause);
		free(cause);
		return text;
	}
	id = xasprintf("storage/%s/%s", g->node, storage);
	margin = (int64_t)r->app->conf->workers.backup_margin_gib << 30;
	json_array_foreach(data, i, o) {
		const char	*v = json_string_value(json_object_get(o, "id"));

		if (v == NULL || strcmp(v, id) != 0)
			continue;
		found = 1;
		total = json_integer_value(json_object_get(o, "maxdisk"));
		used = json_integer_value(json_object_get(o, "disk"));
		need = g->maxdisk + margin;
		if (total - used < need)
			text = xasprintf("not enough free space on %s (node "
			    "%s): %.1f GiB free, guest %d %s has %.1f GiB of "
			    "disk and the margin is %.0f GiB (%.1f GiB "
			    "needed); nothing was done", storage, g->node,
			    (double)(total - used) / gib, g->vmid, g->name,
			    (double)g->maxdisk / gib, (double)margin / gib,
			    (double)need / gib);
	}
	if (!found)
		text = xasprintf("storage %s is not available on node %s; "
		    "nothing was done", storage, g->node);
	free(id);
	json_decref(data);
	return text;
}

static void
run_proxmox(struct run *r, const struct cmd_call *call)
{
	struct cmd_proxmox_request	 req;
	struct cmd_guest_ref		 gref = { 0 };
	struct pve_guest		 g;
	struct pve_param		*params = NULL;
	enum job_state			 st;
	char				*cause = NULL, *changed, *upid = NULL;
	char				*err = NULL;
	size_t				 i;
	int64_t				 step = 0;
	int				 have_guest, rc;

	memset(&g, 0, sizeof g);
	memset(&req, 0, sizeof req);
	if (r->app->pve == NULL) {
		run_finish(r, JOB_FAILED, NULL, "no Proxmox endpoint is "
		    "configured", NULL, 0);
		return;
	}
	have_guest = call_value(call, ARG_GUEST) != NULL;
	if ((changed = recheck(r, call, &g)) != NULL) {
		run_finish(r, JOB_FAILED, NULL, changed, NULL, 0);
		free(changed);
		pve_guest_release(&g);
		return;
	}
	if (have_guest) {
		gref.node = g.node;
		gref.type = g.type;
		gref.vmid = g.vmid;
	}
	if (r->job->snapshot_before && have_guest &&
	    (rc = safety_snapshot(r, &g, &cause)) != 0) {
		if (rc != 2)
			run_finish(r, rc > 0 ? JOB_UNKNOWN : JOB_FAILED, NULL,
			    cause, NULL, 0);
		free(cause);
		pve_guest_release(&g);
		return;
	}
	if (have_guest && strcmp(r->job->action, "backup.create") == 0 &&
	    (changed = backup_space(r, &g, call_value(call, ARG_STORAGE))) !=
	    NULL) {
		run_finish(r, JOB_REFUSED, NULL, changed, NULL, 0);
		free(changed);
		pve_guest_release(&g);
		return;
	}
	if (cmd_proxmox_request(call, have_guest ? &gref : NULL, &req,
	    &cause) != 0) {
		run_finish(r, JOB_FAILED, NULL, cause, NULL, 0);
		free(cause);
		pve_guest_release(&g);
		return;
	}
	params = xcalloc(req.nparams + 1, sizeof *params);
	for (i = 0; i < req.nparams; i++)
		params[i] = (struct pve_param){ req.params[i].key,
		    req.params[i].value };
	rc = run_step(r, "action", req.method, req.path, params, req.nparams,
	    have_guest ? g.node : call_value(call, ARG_NODE), task_type(
	    r->job->action, have_guest ? g.type : NULL), have_guest ? g.vmid :
	    0, call->def->proxmox.task, &step, &upid, &cause);
	if (rc != 0) {
		run_finish(r, rc > 0 ? JOB_UNKNOWN : JOB_FAILED, NULL, cause,
		    NULL, 0);
		goto out;
	}
	if (!call->def->proxmox.task) {
		run_finish(r, JOB_SUCCEEDED, "done", NULL, NULL, 0);
		goto out;
	}
	log_info("worker", "job=%" PRId64 " upid=%s", r->job->id, upid);
	jobs_set_text(r->store, r->job->id, "upid", upid);
	run_progress(r, 1);
	st = follow_task(r, upid, &err);
	if (st == JOB_RUNNING)
		goto out;	/* shutting down; re-attached later */
	jobs_step_finish(r->store, step, st == JOB_SUCCEEDED ? STEP_DONE :
	    st == JOB_UNKNOWN ? STEP_UNKNOWN : STEP_FAILED);
	if (st == JOB_FAILED && r->job->snapshot_before && have_guest) {
		char			 data[32];
		struct chat_button	 b = { "Roll back", data,
		    "\xe2\x86\xa9", CHAT_BUTTON_DANGER };
		char			*why;

		snprintf(data, sizeof data, "rb:%" PRId64, r->job->id);
		why = xasprintf("%s\nthe safety snapshot is kept; to go "
		    "back: rollback %d pvebot-%" PRId64, err != NULL ? err :
		    "the task failed", g.vmid, r->job->id);
		run_finish(r, st, NULL, why, &b, 1);
		free(why);
	} else {
		if (st == JOB_SUCCEEDED && r->percent >= 0)
			r->percent = 100;
		run_finish(r, st, st == JOB_SUCCEEDED ? "task OK" : NULL, err,
		    NULL, 0);
	}
out:
	free(cause);
	free(err);
	free(upid);
	free(params);
	cmd_proxmox_request_release(&req);
	pve_guest_release(&g);
}

static void
ssh_line(void *arg, const char *line)
{
	struct run	*r = arg;

	tail_line(r, line);
	run_progress(r, 0);
}

/*
 * Runs argv on host; the output formatted by parser. A command that needs
 * root gets "sudo -n" in front on hosts that log in as a plain user.
 */
static char *
ssh_text(struct run *r, const char *host, char *const *argv, size_t argc,
    int64_t timeout, const char *parser, int needs_root, int *exit_status,
    char **cause)
{
	const struct conf_ssh_host	*h;
	struct ssh_result		 res;
	const char			**full;
	char				*text = NULL;
	size_t				 n = 0, i;
	int				 rc;

	*exit_status = -1;
	if (r->app->conf->ssh.nhosts == 0) {
		set_cause(cause, "no SSH hosts are configured");
		return NULL;
	}
	full = xcalloc(argc + 3, sizeof *full);
	h = conf_ssh_host_find(r->app->conf, host);
	if (needs_root && h != NULL && h->sudo) {
		full[n++] = "sudo";
		full[n++] = "-n";
	}
	for (i = 0; i < argc; i++)
		full[n++] = argv[i];
	rc = ssh_run(&r->app->conf->ssh, host, full, n, timeout, ssh_line, r,
	    &res, cause);
	free(full);
	if (rc != 0) {
		ssh_result_release(&res);
		return NULL;
	}
	*exit_status = res.exit_status;
	if (res.exit_status != 0) {
		set_cause(cause, "exited with status %d%s%.400s",
		    res.exit_status, *res.err ? ": " : "", res.err);
	} else
		text = ssh_output_format(parser, res.out, cause);
	ssh_result_release(&res);
	return text;
}

static void
run_ssh(struct run *r, const struct cmd_call *call)
{
	struct cmd_guest_ref	 gref = { 0 };
	struct pve_guest	 g;
	char	*host = NULL, **argv = NULL, *cause = NULL, *text = NULL;
	size_t	 argc = 0;
	int64_t	 step = 0;
	int	 status, rc, have_guest = call_value(call, ARG_GUEST) != NULL;

	/*
	 * A command on a guest (unlock) is checked like an API action,
	 * and runs on the node the guest is on now.
	 */
	memset(&g, 0, sizeof g);
	if (have_guest && r->app->pve == NULL)
		cause = xstrdup("no Proxmox endpoint is configured");
	else if (have_guest && (cause = recheck(r, call, &g)) == NULL) {
		gref.node = g.node;
		gref.type = g.type;
		gref.vmid = g.vmid;
	}
	if (cause == NULL && cmd_ssh_argv(call, have_guest ? &gref : NULL,
	    &host, &argv, &argc, &cause) == 0 && call->def->ssh.host_guest &&
	    conf_ssh_host_find(r->app->conf, host) == NULL) {
		struct buf	 line;
		size_t		 i;

		buf_init(&line, 512);
		for (i = 0; i < argc; i++)
			buf_printf(&line, "%s%s", i > 0 ? " " : "", argv[i]);
		cause = xasprintf("guest %d is on node %s, and no SSH host is "
		    "configured for %s (ssh: hosts: in bot.conf); %s runs "
		    "`%s` there", g.vmid, host, host, call->def->name,
		    buf_cstr(&line));
		buf_release(&line);
	}
	pve_guest_release(&g);
	if (cause != NULL) {
		run_finish(r, JOB_FAILED, NULL, cause, NULL, 0);
		free(cause);
		free(host);
		cmd_ssh_argv_free(argv, argc);
		return;
	}
	if (call->mutating) {
		/* A command that changes things is a step: after a crash
		 * pvebot knows it may have run. */
		struct job_step	 js;
		json_t		*a = json_array();
		size_t		 i;

		for (i = 0; i < argc; i++)
			json_array_append_new(a, json_string(argv[i]));
		memset(&js, 0, sizeof js);
		js.job_id = r->job->id;
		js.name = "ssh";
		js.method = "ssh";
		js.target = host;
		js.params = json_dumps(a, JSON_COMPACT);
		json_decref(a);
		rc = jobs_step_intent(r->store, &js, &cause);
		free(js.params);
		if (rc != 0) {
			run_finish(r, JOB_FAILED, NULL, cause, NULL, 0);
			goto out;
		}
		step = js.id;
	}
	mark_dispatched(r);
	fault_point("step.intent");
	run_progress(r, 1);
	text = ssh_text(r, host, argv, argc, call->def->ssh.timeout,
	    call->def->ssh.parser, call->def->ssh.sudo, &status, &cause);
	if (step > 0)
		jobs_step_finish(r->store, step, text != NULL ? STEP_DONE :
		    STEP_FAILED);
	if (text != NULL)
		run_finish(r, JOB_SUCCEEDED, text, NULL, NULL, 0);
	else
		run_finish(r, JOB_FAILED, NULL, cause, NULL, 0);
out:
	free(text);
	free(cause);
	free(host);
	cmd_ssh_argv_free(argv, argc);
}

/* What builtin.c's read handlers run over SSH. */
static char *
builtin_ssh(void *arg, const char *host, char *const *argv, size_t argc,
    const char *parser, int needs_root, char **cause)
{
	int	 status;

	return ssh_text(arg, host, argv, argc, 0, parser, needs_root, &status,
	    cause);
}

static void
run_builtin(struct run *r, const struct cmd_call *call)
{
	const struct builtin	*b = builtin_find(call->def->builtin);
	struct builtin_env	 env = { r->app, r->store, builtin_ssh, r };
	char			*cause = NULL, *text = NULL;

	if (b != NULL && b->op != NULL) {
		b->op(r, call);
		return;
	}
	if (b == NULL || b->job == NULL)
		cause = xasprintf("pvebot has no handler '%s'",
		    call->def->builtin != NULL ? call->def->builtin : "");
	else
		text = b->job(&env, call, &cause);
	read_finish(r, text, cause);
}

/* Rebuilds the call from the job's canonical command. */
static int
job_call(const struct catalogue *cat, const struct job *j,
    struct cmd_call *call, char **cause)
{
	struct cmd_parse_opts	 opts = { .bot_name = NULL, .direct = 1,
	    .addressed = 1, .now = j->created_at };

	if (cmd_parse(cat, j->command, &opts, call, cause) !=
	    CMD_PARSE_OK) {
		char	*c = *cause;

		*cause = NULL;
		set_cause(cause, "the command no longer parses (the catalogue "
		    "changed?): %s", c != NULL ? c : "");
		free(c);
		return -1;
	}
	return 0;
}

static void
run_init(struct run *r, struct workers *w, struct store *s, struct job *j)
{
	memset(r, 0, sizeof *r);
	r->w = w;
	r->app = w->app;
	r->store = s;
	r->job = j;
	r->title = xasprintf("Job #%" PRId64 ": %s", j->id, j->command);
	r->started_ms = now_ms();
	r->percent = -1;
	r->shown_percent = -1;
	buf_init(&r->tail, 4096);
	if (j->approvals_needed > 0) {
		char	*names = jobs_approver_names(s, j->id);

		if (*names != '\0')
			r->context = xasprintf("approved by %s", names);
		free(names);
	}
}

static void
run_release(struct run *r)
{
	free(r->title);
	free(r->context);
	buf_release(&r->tail);
}

/*
 * Consent at dispatch: the guest list is read fresh (once; recheck()
 * uses it too) and the policy of this moment decides again. A job the
 * rules or the guest no longer allow is refused, saying what changed,
 * and its requester and approvers are told. 0 when it may run.
 */
static int
consent(struct run *r, const struct cmd_call *call)
{
	const struct app_rules	*rules;
	const struct policy	*pol;
	char			*why = NULL, *cause = NULL, *text;
	struct buf		 b;
	int			 rc;

	/* Node-wide actions are judged by the guests of the node too. */
	if ((call_value(call, ARG_GUEST) != NULL ||
	    str_has_prefix(r->job->action, "node.") ||
	    strcmp(r->job->action, "backup.restore.force") == 0) &&
	    r->app->pve != NULL) {
		if (app_refresh_guests(r->app, &cause) != 0) {
			text = xasprintf("cannot read the guest list from "
			    "Proxmox to check the request again: %s; nothing "
			    "was done", cause);
			run_finish(r, JOB_FAILED, NULL, text, NULL, 0);
			free(text);
			free(cause);
			return -1;
		}
		r->view = guest_index_get(r->app->guests);
	}
	/* The policy of this moment, not the one the job was asked under. */
	rules = app_rules_hold(r->app);
	pol = rules->policy;
	rc = router_consent(r->app, r->store, pol, r->job, call, r->view,
	    &why);
	app_rules_drop(r->app, rules);
	if (rc == 0)
		return 0;
	log_warn("worker", "job=%" PRId64 " refused at dispatch: %s",
	    r->job->id, why);
	text = xasprintf("%s; nothing was done", why);
	run_finish(r, JOB_REFUSED, NULL, text, NULL, 0);
	/* Those who asked and those who approved learn it here. */
	buf_init(&b, 4096);
	buf_printf(&b, "your job #%" PRId64 " (%s) was refused when it was "
	    "about to run: %s", r->job->id, r->job->command, why);
	{
		char	*names = jobs_approver_names(r->store, r->job->id);

		if (*names != '\0')
			buf_printf(&b, "\napproved by %s", names);
		free(names);
	}
	{
		struct chat_msg	 m = { .text = buf_cstr(&b),
		    .mention = r->job->requester, .mention_name =
		    r->job->display };

		outbox_send(r->store, r->job->connector, r->job->room, &m,
		    NULL);
	}
	buf_release(&b);
	free(text);
	free(why);
	return -1;
}

static void
execute(struct workers *w, struct store *s, struct job *j)
{
	const struct app_rules	*rules;
	struct run		 r;
	struct cmd_call		 call;
	char			*cause = NULL;

	run_init(&r, w, s, j);
	/* The catalogue this job uses stays until it ends, reload or not. */
	rules = app_rules_hold(w->app);
	if (job_call(rules->catalogue, j, &call, &cause) != 0) {
		run_finish(&r, JOB_FAILED, NULL, cause, NULL, 0);
		free(cause);
		run_release(&r);
		app_rules_drop(w->app, rules);
		return;
	}
	log_info("worker", "job=%" PRId64 " command=%s", j->id, j->command);
	r.read = !call.mutating;
	if (call.mutating && consent(&r, &call) != 0)
		goto done;
	switch (call.def->exec) {
	case CMD_EXEC_PROXMOX:
		run_proxmox(&r, &call);
		break;
	case CMD_EXEC_SSH:
		run_ssh(&r, &call);
		break;
	default:
		run_builtin(&r, &call);
		break;
	}
done:
	cmd_call_release(&call);
	guest_view_release(r.view);
	run_release(&r);
	app_rules_drop(w->app, rules);
}

/*
 * A job of several steps (shutdown-node) whose last finished step is
 * not the end: the rest is not sent again; a person decides.
 */
static void
recover_steps_told(struct run *r, const struct job_step *last)
{
	char	*msg;

	/* The last step of a safe shutdown: nothing is left to do. */
	if (strcmp(last->name, "node shutdown") == 0) {
		run_finish(r, JOB_SUCCEEDED, "the node's shutdown was sent "
		    "before pvebot stopped", NULL, NULL, 0);
		return;
	}
	msg = xasprintf("pvebot stopped after the step \"%s\" of this job; "
	    "the steps after it were not sent. Check the node and its guests "
	    "and send the command again if you still want it", last->name);
	run_finish(r, JOB_INTERRUPTED, NULL, msg, NULL, 0);
	free(msg);
}

/*
 * One job left running by a process that is gone, judged by its steps:
 * - no step: nothing was sent; interrupted, nothing was done;
 * - the last step has a UPID: its task is followed to the end;
 * - the last step is only an intent: the task it may have started is
 *   looked for (type, node, guest, token, start time, claimed by no
 *   other step); exactly one is adopted and followed, else the outcome
 *   is unknown and the chat says what to check;
 * - an SSH step without a result: unknown (it may have run);
 * - every step done but the job not finished: the last step's outcome
 *   is the job's when it was the action; after a safety snapshot alone,
 *   interrupted (the action was never sent).
 * Nothing is sent again: a person decides.
 */
static void
recover_one(struct workers *w, struct store *s, struct job *j)
{
	struct run	 r;
	struct job_step	*steps = NULL, *last;
	size_t		 n = 0;
	char		*upid = NULL, *err = NULL, *msg = NULL;
	enum job_state	 st;
	int		 ambiguous;

	run_init(&r, w, s, j);
	r.reattached = 1;
	if (strcmp(j->kind != NULL ? j->kind : "action", "read") == 0) {
		run_finish(&r, JOB_INTERRUPTED, NULL, "pvebot restarted before "
		    "it answered; ask again", NULL, 0);
		goto out;
	}
	jobs_steps(s, j->id, &steps, &n);
	if (n == 0) {
		run_finish(&r, JOB_INTERRUPTED, NULL, "pvebot stopped before "
		    "it sent the request; nothing was done. Send the command "
		    "again if you still want it", NULL, 0);
		goto out;
	}
	last = &steps[n - 1];
	if (strcmp(last->name, "ssh") == 0 && (last->state == STEP_INTENT ||
	    last->state == STEP_STARTED)) {
		jobs_step_finish(s, last->id, STEP_UNKNOWN);
		msg = xasprintf("pvebot stopped while the command ran on %s: it "
		    "may have run, in part or whole. Check %s before you send "
		    "it again", last->target, last->target);
		run_finish(&r, JOB_UNKNOWN, NULL, msg, NULL, 0);
		goto out;
	}
	if (last->state == STEP_DONE || last->state == STEP_FAILED ||
	    last->state == STEP_UNKNOWN) {
		if (strcmp(last->name, "action") == 0)
			run_finish(&r, last->state == STEP_DONE ?
			    JOB_SUCCEEDED : last->state == STEP_FAILED ?
			    JOB_FAILED : JOB_UNKNOWN, last->state == STEP_DONE ?
			    "task OK" : NULL, last->state == STEP_DONE ? NULL :
			    "its task ended before pvebot stopped; see `job`",
			    NULL, 0);
		else if (strcmp(last->name, "safety_snapshot") == 0)
			run_finish(&r, JOB_INTERRUPTED, NULL, "pvebot stopped "
			    "after the safety snapshot; the action itself was "
			    "not sent. Send the command again if you still "
			    "want it", NULL, 0);
		else
			recover_steps_told(&r, last);
		goto out;
	}
	if (w->app->pve == NULL) {
		run_finish(&r, JOB_UNKNOWN, NULL, "no Proxmox endpoint to "
		    "follow the task", NULL, 0);
		goto out;
	}
	if (last->upid != NULL)
		upid = xstrdup(last->upid);
	else {
		step_find_task(&r, last, WORKER_FIND_TRIES, &upid, &ambiguous);
		if (upid == NULL) {
			jobs_step_finish(s, last->id, STEP_UNKNOWN);
			msg = xasprintf("pvebot stopped while sending the "
			    "request and %s. It may have run: check `tasks %s` "
			    "and the guest before you send it again",
			    ambiguous ? "several of pvebot's tasks match it" :
			    "Proxmox shows no task for it", last->node != NULL ?
			    last->node : "");
			run_finish(&r, JOB_UNKNOWN, NULL, msg, NULL, 0);
			goto out;
		}
	}
	log_info("worker", "job=%" PRId64 " re-attached step=%s upid=%s", j->id,
	    last->name, upid);
	jobs_set_text(s, j->id, "upid", upid);
	run_post(&r, "pvebot restarted; following the task again", NULL, 0);
	st = follow_task(&r, upid, &err);
	if (st == JOB_RUNNING)
		goto out;
	jobs_step_finish(s, last->id, st == JOB_SUCCEEDED ? STEP_DONE :
	    st == JOB_FAILED ? STEP_FAILED : STEP_UNKNOWN);
	if (strcmp(last->name, "safety_snapshot") == 0 &&
	    st == JOB_SUCCEEDED)
		run_finish(&r, JOB_INTERRUPTED, NULL, "pvebot stopped during "
		    "the safety snapshot, which has finished; the action "
		    "itself was not sent. Send the command again if you still "
		    "want it", NULL, 0);
	else if (strcmp(last->name, "action") != 0 && st == JOB_SUCCEEDED)
		recover_steps_told(&r, last);
	else
		run_finish(&r, st, st == JOB_SUCCEEDED ? "task OK" : NULL,
		    err, NULL, 0);
out:
	jobs_steps_free(steps, n);
	free(msg);
	free(upid);
	free(err);
	run_release(&r);
}

/* Follows the adopted jobs in w->orphans, then forgets them. */
static void
recover_adopted(struct workers *w, struct store *s)
{
	size_t	 i;

	for (i = 0; i < w->norphans && !atomic_load(&w->app->stopping); i++) {
		struct job	 j;

		if (jobs_get(s, w->orphans[i], &j) != 0)
			continue;
		if (j.state == JOB_RUNNING)
			recover_one(w, s, &j);
		job_release(&j);
	}
	free(w->orphans);
	w->orphans = NULL;
	w->norphans = 0;
}

/* Waits up to ms, or until the workers stop: 1 when they do. */
static int
sweep_wait(struct workers *w, int64_t ms)
{
	struct timespec	 ts;
	int64_t		 wake = wall_now_ms() + ms;
	int		 stop;

	ts.tv_sec = wake / 1000;
	ts.tv_nsec = (wake % 1000) * 1000000;
	pthread_mutex_lock(&w->lock);
	if (!w->stop)
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	return stop || atomic_load(&w->app->stopping);
}

void
workers_recover(struct workers *w)
{
	struct store	*s;
	char		*cause = NULL;

	if ((s = store_open(w->app->conf->database, &cause)) == NULL) {
		log_error("worker", "recovery: %s", cause);
		free(cause);
		return;
	}
	recover_adopted(w, s);
	/*
	 * Several instances: any of them may die at any time, and a live
	 * one of the same site follows what it left running.
	 */
	while (w->app->leader != NULL &&
	    !sweep_wait(w, WORKER_SWEEP_MS)) {
		if (jobs_adopt(s, &w->by, &w->orphans, &w->norphans) != 0)
			continue;
		if (w->norphans > 0)
			log_info("worker", "adopted %zu running jobs of an "
			    "instance that is gone", w->norphans);
		recover_adopted(w, s);
	}
	store_close(s);
}

static void *
recovery_thread(void *arg)
{
	workers_recover(arg);
	return NULL;
}

int
workers_start_recovery(struct workers *w, char **cause)
{
	struct store	*s;

	/*
	 * Once per start, before any worker claims a job: this process's
	 * generation (on PostgreSQL the one whose liveness lock it holds),
	 * and the running jobs whose owner is gone. Jobs this process
	 * claims carry its generation.
	 */
	if ((s = store_open(w->app->conf->database, cause)) == NULL)
		return -1;
	w->by.instance = w->app->instance;
	w->by.site = app_site(w->app);
	w->by.gen = w->app->leader != NULL ? leader_gen(w->app->leader) :
	    jobs_next_generation(s);
	if (w->by.gen < 0 ||
	    jobs_adopt(s, &w->by, &w->orphans, &w->norphans) != 0) {
		store_close(s);
		return set_cause(cause, "cannot read the jobs a previous "
		    "process left");
	}
	store_close(s);
	if (w->norphans > 0)
		log_info("worker", "jobs left running by an earlier process: "
		    "%zu", w->norphans);
	if (pthread_create(&w->recovery, NULL, recovery_thread, w) != 0)
		return set_cause(cause, "cannot start the recovery thread");
	w->recovering = 1;
	return 0;
}

/*
 * Inside the caller's transaction: a resolving job ends here, its
 * message saying how (the plan that needs nothing done, or why).
 */
static void
end_resolving(struct store *s, const struct job *j, enum job_state to,
    const char *text)
{
	struct chat_msg	 m;
	char		*title = xasprintf("Job #%" PRId64 ": %s", j->id,
	    j->command);

	jobs_transition(s, j->id, JOB_RESOLVING, to, "pvebot",
	    to == JOB_SUCCEEDED ? text : NULL, to == JOB_SUCCEEDED ? NULL :
	    text, NULL);
	m = (struct chat_msg){ .title = title, .text = text };
	if (j->msg_id > 0)
		outbox_edit(s, j->msg_id, &m);
	free(title);
}

/*
 * The leader: requests for a site that no live instance serves (a room's
 * `site` misspelt, or every instance of it down) fail at once, saying
 * so, rather than wait unseen.
 */
static void
fail_unserved(struct workers *w, struct store *s)
{
	int64_t		*ids = NULL;
	size_t		 n = 0, i;

	if (jobs_ids_unserved(s, w->by.site, &ids, &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		struct job	 j;
		char		*msg;

		if (store_begin(s) != 0)
			break;
		if (jobs_get(s, ids[i], &j) != 0 || j.state != JOB_RESOLVING) {
			store_rollback(s);
			job_release(&j);
			continue;
		}
		msg = xasprintf("no pvebot instance of site %s is running, so "
		    "its cluster cannot be reached; nothing was done",
		    j.site != NULL ? j.site : "?");
		end_resolving(s, &j, JOB_FAILED, msg);
		log_warn("worker", "job=%" PRId64 " failed: %s", j.id, msg);
		free(msg);
		if (store_commit(s) != 0)
			store_rollback(s);
		job_release(&j);
	}
	free(ids);
}

/*
 * A resolving job whose built-in reads a plan first (prune's dry run):
 * the plan is read here, outside any transaction, and stored with the
 * job; the approval request shows it. A plan with nothing to do ends
 * the job (succeeded), one that cannot be read fails it. 0 when the job
 * goes on to the policy, 1 when it ended here or changed meanwhile.
 */
static int
resolve_plan(struct workers *w, struct store *s, const struct catalogue *cat,
    int64_t id)
{
	builtin_plan_fn		 plan_fn;
	struct cmd_parse_opts	 opts = { .direct = 1, .addressed = 1 };
	struct cmd_call		 call;
	struct job		 j;
	char			*plan = NULL, *cause = NULL, *msg;
	int			 rc;

	if (jobs_get(s, id, &j) != 0 || j.state != JOB_RESOLVING) {
		job_release(&j);
		return 1;
	}
	opts.now = j.created_at;
	if (cmd_parse(cat, j.command, &opts, &call, &cause) != CMD_PARSE_OK) {
		/* router_resolve_job() says so. */
		free(cause);
		job_release(&j);
		return 0;
	}
	if (call.def->exec != CMD_EXEC_BUILTIN ||
	    (plan_fn = builtin_plan(call.def->builtin)) == NULL ||
	    j.plan != NULL) {
		cmd_call_release(&call);
		job_release(&j);
		return 0;
	}
	rc = plan_fn(w->app, &call, &plan, &cause);
	cmd_call_release(&call);
	if (store_begin(s) != 0) {
		rc = 1;		/* tried again on the next turn */
		goto out;
	}
	job_release(&j);
	if (jobs_get(s, id, &j) != 0 || j.state != JOB_RESOLVING) {
		store_rollback(s);
		rc = 1;
		goto out;
	}
	if (rc == 0)
		jobs_set_text(s, j.id, "plan", plan);
	else if (rc > 0)
		end_resolving(s, &j, JOB_SUCCEEDED, plan);
	else {
		msg = xasprintf("%s; nothing was done", cause);
		end_resolving(s, &j, JOB_FAILED, msg);
		free(msg);
		rc = 1;
	}
	if (store_commit(s) != 0) {
		store_rollback(s);
		rc = 1;
	}
out:
	job_release(&j);
	free(plan);
	free(cause);
	return rc;
}

/*
 * Requests the router could not resolve in memory: the guest list is
 * read from Proxmox once for all of them, then each is decided as the
 * router would have (router_resolve_job). Returns how many were done.
 */
static int
resolve_pending(struct workers *w, struct store *s)
{
	const struct app_rules	*rules;
	const struct catalogue	*cat;
	const struct policy	*pol;
	const struct guest_view	*view;
	int64_t			*ids = NULL;
	size_t			 n = 0, i;
	char			*cause = NULL;
	int			 done = 0;

	if (atomic_load(&w->app->leading))
		fail_unserved(w, s);
	if (jobs_ids_to_resolve(s, w->by.site, atomic_load(&w->app->leading),
	    &ids, &n) != 0 || n == 0) {
		free(ids);
		return 0;
	}
	if (app_refresh_guests(w->app, &cause) != 0)
		log_warn("worker", "guest lookup failed: %s", cause);
	view = cause == NULL ? guest_index_get(w->app->guests) : NULL;
	rules = app_rules_hold(w->app);
	cat = rules->catalogue;
	pol = rules->policy;
	for (i = 0; i < n && !atomic_load(&w->app->stopping); i++) {
		struct job	 j;

		if (resolve_plan(w, s, cat, ids[i]) != 0) {
			done++;
			continue;
		}
		/* Provisioning: reserve what it will create (prov.h). */
		if (view != NULL && prov_plan_pending(w->app, s, ids[i],
		    cat) != 0) {
			done++;
			continue;
		}
		if (store_begin(s) != 0)
			break;
		if (jobs_get(s, ids[i], &j) != 0 || j.state != JOB_RESOLVING) {
			store_rollback(s);
			job_release(&j);
			continue;
		}
		if (router_resolve_job(w->app, s, &j, cat, pol, view,
		    cause) != 0 || store_commit(s) != 0)
			store_rollback(s);
		else
			done++;
		job_release(&j);
	}
	app_rules_drop(w->app, rules);
	guest_view_release(view);
	free(cause);
	free(ids);
	if (done > 0)
		workers_kick(w);
	return done;
}

struct worker_arg {
	struct workers	*w;
	int		 reads;
};

static void *
worker_thread(void *arg)
{
	struct worker_arg	*wa = arg;
	struct workers		*w = wa->w;
	struct store		*s;
	char			*cause = NULL;
	int			 reads = wa->reads;

	free(wa);
	if ((s = store_open(w->app->conf->database, &cause)) == NULL) {
		log_error("worker", "%s", cause);
		free(cause);
		return NULL;
	}
	for (;;) {
		struct job	 j;
		int		 rc;

		if (atomic_load(&w->app->stopping))
			break;
		atomic_store(&w->beat, now_ms());
		if (reads && resolve_pending(w, s) > 0)
			continue;
		rc = jobs_claim(s, reads ? "read" : "action",
		    w->app->conf->workers.heavy_per_node, &w->by, &j);
		if (rc == 1) {
			atomic_fetch_add(&w->executing, 1);
			execute(w, s, &j);
			atomic_fetch_sub(&w->executing, 1);
			job_release(&j);
			continue;
		}
		pthread_mutex_lock(&w->lock);
		if (!w->stop && w->kicks == 0) {
			struct timespec	 ts;
			int64_t		 wake = wall_now_ms() + 500;

			ts.tv_sec = wake / 1000;
			ts.tv_nsec = (wake % 1000) * 1000000;
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		}
		if (w->kicks > 0)
			w->kicks--;
		if (w->stop) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		pthread_mutex_unlock(&w->lock);
	}
	store_close(s);
	return NULL;
}

struct workers *
workers_create(struct app *app, char **cause)
{
	struct workers	*w = xcalloc(1, sizeof *w);

	w->app = app;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	return w;
}

int
workers_start(struct workers *w, char **cause)
{
	int	 i, n = w->app->conf->workers.count;

	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	for (i = 0; i <= n; i++) {
		struct worker_arg	*wa = xcalloc(1, sizeof *wa);

		wa->w = w;
		wa->reads = i == n;	/* the last thread serves reads */
		if (pthread_create(&w->threads[i], NULL, worker_thread,
		    wa) != 0) {
			free(wa);
			return set_cause(cause, "cannot start worker threads");
		}
		w->nthreads++;
	}
	return 0;
}

void
workers_kick_arg(void *arg)
{
	workers_kick(arg);
}

void
workers_kick(struct workers *w)
{
	pthread_mutex_lock(&w->lock);
	w->kicks += w->nthreads;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int
workers_busy(struct workers *w)
{
	struct store	*s;
	char		*cause = NULL;
	int		 n;

	if ((s = store_open(w->app->conf->database, &cause)) == NULL) {
		free(cause);
		return 0;
	}
	if ((n = jobs_count_active(s)) < 0)
		n = 0;
	store_close(s);
	return n;
}

int
workers_alive(struct workers *w, int64_t max_age_ms, int64_t *age_ms)
{
	int64_t	 beat = atomic_load(&w->beat);

	*age_ms = beat != 0 ? now_ms() - beat : -1;
	if (w->nthreads == 0 || beat == 0)
		return 0;
	/* Idle threads turn twice a second; busy ones work on jobs. */
	return *age_ms <= max_age_ms ||
	    atomic_load(&w->executing) >= w->nthreads;
}

void
workers_stop(struct workers *w)
{
	int	 i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	w->nthreads = 0;
	if (w->recovering) {
		pthread_join(w->recovery, NULL);
		w->recovering = 0;
	}
}

void
workers_free(struct workers *w)
{
	if (w == NULL)
		return;
	workers_stop(w);
	free(w->orphans);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
