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
#include "chat.h"
#include "cmd.h"
#include "conf.h"
#include "exec_proxmox.h"
#include "exec_ssh.h"
#include "jobs.h"
#include "log.h"
#include "sensors.h"
#include "store.h"
#include "util.h"
#include "worker.h"

#define MAX_WORKERS	64

struct workers {
	struct app	*app;
	pthread_t	 threads[MAX_WORKERS + 1];
	int		 nthreads;
	pthread_t	 recovery;
	int		 recovering;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 stop;
	int		 kicks;
};

/* What one running job carries while a worker follows it. */
struct run {
	struct workers		*w;
	struct app		*app;
	struct store		*store;
	struct job		*job;
	char			*title;
	int64_t			 started_ms;
	int64_t			 last_edit_ms;
	int			 percent;
	int			 shown_percent;
	int			 read;		/* a read: show just the answer */
	struct buf		 tail;		/* last task log lines */
};

static void
run_post(struct run *r, const char *text, int final,
    const struct chat_button *buttons, size_t nbuttons)
{
	struct chat_msg	 m = { .title = r->title, .text = text,
	    .buttons = buttons, .nbuttons = nbuttons };

	app_job_message(r->app, r->store, r->job, &m, final);
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
		text = xasprintf("running %s, %s", bar, el);
		jobs_set_int(r->store, r->job->id, "progress", r->percent);
	} else
		text = xasprintf("running, %s", el);
	r->shown_percent = r->percent;
	run_post(r, text, 0, NULL, 0);
	free(text);
}

static void
run_finish(struct run *r, enum job_state to, const char *result,
    const char *error, const struct chat_button *buttons, size_t nbuttons)
{
	char	 el[32], *text, *cause = NULL;

	format_duration((now_ms() - r->started_ms) / 1000, el, sizeof el);
	if (jobs_transition(r->store, r->job->id, JOB_RUNNING, to, "worker",
	    result, error, &cause) != 0) {
		log_error("worker", "job=%" PRId64 " final state not saved: %s",
		    r->job->id, cause);
		free(cause);
	}
	switch (to) {
	case JOB_SUCCEEDED:
		if (r->read && result != NULL) {
			text = xstrdup(result);
			break;
		}
		if (r->percent >= 0) {
			char	 bar[128];

			progress_bar(r->percent, bar, sizeof bar);
			text = xasprintf("succeeded in %s %s", el, bar);
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
	default:
		text = xasprintf("failed after %s: %s%s%s", el,
		    error != NULL ? error : "unknown error",
		    r->tail.len > 0 ? "\nlast task lines:\n" : "",
		    buf_cstr(&r->tail));
		break;
	}
	run_post(r, text, 1, buttons, nbuttons);
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
	sqlite3_stmt	*st;
	int		 yes = 0;

	st = store_prepare(r->store, "SELECT cancel_requested FROM jobs "
	    "WHERE id = ?1");
	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, r->job->id);
	if (sqlite3_step(st) == SQLITE_ROW)
		yes = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return yes;
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
 * when it failed (caller frees).
 */
static enum job_state
follow_task(struct run *r, const char *upid, char **error)
{
	struct pve	*pve = r->app->pve;
	int64_t		 poll = r->app->conf->proxmox.task_poll;
	int		 next_line = 0, stopped = 0, errors = 0;

	*error = NULL;
	for (;;) {
		struct pve_task_status	 ts;
		json_t			*lines = NULL, *l;
		char			*cause = NULL;
		size_t			 i;

		if (pve_task_log(pve, upid, next_line, &lines, &cause) == 0) {
			json_array_foreach(lines, i, l) {
				const char	*t = json_string_value(
				    json_object_get(l, "t"));
				int		 pct;

				next_line++;
				if (t == NULL)
					continue;
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
			if (++errors > 30) {
				*error = xasprintf("lost track of the task: %s",
				    cause);
				free(cause);
				return JOB_FAILED;
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

					if (t == NULL)
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
	if (pve_resolve_guest(r->app->pve, r->job->target_vmid > 0 ? vm : ref,
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
	if (expect == NULL && r->job->target_status != NULL &&
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

/* POST that returns a UPID: stores it the moment it arrives. */
static int
start_task(struct run *r, const char *method, const char *path,
    const struct pve_param *params, size_t n, char **upid, char **cause)
{
	json_t	*data = NULL;
	int	 rc;

	*upid = NULL;
	mark_dispatched(r);
	rc = pve_request(r->app->pve, method, path, params, n, &data, cause);
	if (rc != PVE_OK)
		return -1;
	if (!json_is_string(data)) {
		json_decref(data);
		return set_cause(cause, "Proxmox did not return a task id");
	}
	*upid = xstrdup(json_string_value(data));
	json_decref(data);
	jobs_set_text(r->store, r->job->id, "upid", *upid);
	return 0;
}

static int
safety_snapshot(struct run *r, const struct pve_guest *g, char **cause)
{
	struct pve_param	 p[2];
	char			 name[64], *path, *upid = NULL, *err = NULL;
	enum job_state		 st;
	int			 percent = r->percent;

	snprintf(name, sizeof name, "pvebot-%" PRId64, r->job->id);
	p[0] = (struct pve_param){ "snapname", name };
	p[1] = (struct pve_param){ "description", "safety snapshot taken "
	    "by pvebot before the job ran" };
	path = pve_guest_path(g, "/snapshot");
	run_post(r, "taking safety snapshot first", 0, NULL, 0);
	if (start_task(r, "POST", path, p, 2, &upid, cause) != 0) {
		free(path);
		return -1;
	}
	free(path);
	st = follow_task(r, upid, &err);
	free(upid);
	r->percent = percent;
	buf_reset(&r->tail);
	jobs_set_text(r->store, r->job->id, "upid", NULL);
	if (st != JOB_SUCCEEDED) {
		set_cause(cause, "the safety snapshot %s failed: %s", name,
		    err != NULL ? err : "?");
		free(err);
		return -1;
	}
	return 0;
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
	int				 have_guest;

	memset(&g, 0, sizeof g);
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
	    safety_snapshot(r, &g, &cause) != 0) {
		run_finish(r, JOB_FAILED, NULL, cause, NULL, 0);
		free(cause);
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
	if (call->def->proxmox.task) {
		if (start_task(r, req.method, req.path, params, req.nparams,
		    &upid, &cause) != 0)
			goto failed;
		log_info("worker", "job=%" PRId64 " upid=%s", r->job->id,
		    upid);
		run_progress(r, 1);
		st = follow_task(r, upid, &err);
		if (st == JOB_RUNNING)
			goto out;	/* shutting down; re-attached later */
		if (st == JOB_FAILED && r->job->snapshot_before && have_guest) {
			char			 data[32];
			struct chat_button	 b = { "Roll back", data,
			    "\xe2\x86\xa9", CHAT_BUTTON_DANGER };

			char			*why;

			snprintf(data, sizeof data, "rb:%" PRId64, r->job->id);
			why = xasprintf("%s\nthe safety snapshot is kept; to "
			    "go back: rollback %d pvebot-%" PRId64, err != NULL ?
			    err : "the task failed", g.vmid, r->job->id);
			run_finish(r, st, NULL, why, &b, 1);
			free(why);
		} else {
			if (st == JOB_SUCCEEDED && r->percent >= 0)
				r->percent = 100;
			run_finish(r, st, st == JOB_SUCCEEDED ? "task OK" :
			    NULL, err, NULL, 0);
		}
		goto out;
	}
	mark_dispatched(r);
	if (pve_request(r->app->pve, req.method, req.path, params,
	    req.nparams, NULL, &cause) != PVE_OK)
		goto failed;
	run_finish(r, JOB_SUCCEEDED, "done", NULL, NULL, 0);
	goto out;
failed:
	run_finish(r, JOB_FAILED, NULL, cause, NULL, 0);
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

static char *
format_ssh_output(const char *parser, const char *out, char **cause)
{
	if (parser == NULL || strcmp(parser, "text") == 0)
		return xstrdup(*out != '\0' ? out : "(no output)");
	if (strcmp(parser, "apt_upgradable") == 0) {
		struct apt_updates	 u;
		char			*s;

		if (apt_parse(out, &u, cause) != 0)
			return NULL;
		s = apt_summary(&u, 20);
		apt_release(&u);
		return s;
	}
	if (strcmp(parser, "gpu_csv") == 0) {
		struct gpu_list	 g;
		char		*s;

		if (gpu_parse(out, &g, cause) != 0)
			return NULL;
		s = gpu_format(&g);
		gpu_release(&g);
		return s;
	}
	if (strcmp(parser, "lvs_json") == 0) {
		struct lv_snapshots	 l;
		char			*s;

		if (lvs_parse(out, &l, cause) != 0)
			return NULL;
		s = lvs_format(&l);
		lvs_release(&l);
		return s;
	}
	if (strcmp(parser, "pvecm") == 0) {
		struct pvecm_status	 p;
		char			*s;

		if (pvecm_parse(out, &p, cause) != 0)
			return NULL;
		s = pvecm_summary(&p);
		pvecm_release(&p);
		return s;
	}
	if (strcmp(parser, "sensors_json") == 0) {
		struct sensor_list	 l;
		char			*s;

		if (sensors_parse_json(out, NULL, NULL, &l, cause) != 0)
			return NULL;
		s = sensors_format(&l);
		sensor_list_release(&l);
		return s;
	}
	set_cause(cause, "unknown output parser '%s'", parser);
	return NULL;
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
		text = format_ssh_output(parser, res.out, cause);
	ssh_result_release(&res);
	return text;
}

static void
run_ssh(struct run *r, const struct cmd_call *call)
{
	struct cmd_guest_ref	 gref = { 0 };
	struct pve_guest	 g;
	char	*host = NULL, **argv = NULL, *cause = NULL, *text;
	size_t	 argc = 0;
	int	 status, have_guest = call_value(call, ARG_GUEST) != NULL;

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
	mark_dispatched(r);
	run_progress(r, 1);
	text = ssh_text(r, host, argv, argc, call->def->ssh.timeout,
	    call->def->ssh.parser, call->def->ssh.sudo, &status, &cause);
	if (text != NULL)
		run_finish(r, JOB_SUCCEEDED, text, NULL, NULL, 0);
	else
		run_finish(r, JOB_FAILED, NULL, cause, NULL, 0);
	free(text);
	free(cause);
	free(host);
	cmd_ssh_argv_free(argv, argc);
}

static void
run_builtin(struct run *r, const struct cmd_call *call)
{
	struct pve	*pve = r->app->pve;
	const char	*name = call->def->builtin;
	const char	*ref = call_value(call, ARG_GUEST);
	char		*cause = NULL, *text = NULL;
	int		 status;

	if (strcmp(name, "sensors") == 0) {
		const char	*node = call_value(call, ARG_NODE);
		char		*argv_s[] = { "sensors", "-j", NULL };

		if (node == NULL)
			text = worker_local_sensors(r->app, &cause);
		else
			text = ssh_text(r, node, argv_s, 2, 0, "sensors_json",
			    0, &status, &cause);
		read_finish(r, text, cause);
		return;
	}
	if (strcmp(name, "digest") == 0) {
		text = worker_digest(r->app, r->store, &cause);
		read_finish(r, text, cause);
		return;
	}
	if (pve == NULL) {
		read_finish(r, NULL, xstrdup("no Proxmox endpoint is "
		    "configured"));
		return;
	}
	if (strcmp(name, "status") == 0)
		text = pve_format_status(pve, &cause);
	else if (strcmp(name, "quorum") == 0)
		text = pve_format_quorum(pve, &cause);
	else if (strcmp(name, "storage") == 0)
		text = pve_format_storage(pve, &cause);
	else if (strcmp(name, "nodes") == 0)
		text = pve_format_nodes(pve, &cause);
	else if (strcmp(name, "guests") == 0)
		text = pve_format_guests(pve, &cause);
	else if (strcmp(name, "guest") == 0)
		text = pve_format_guest(pve, ref, &cause);
	else if (strcmp(name, "snapshots") == 0)
		text = pve_format_snapshots(pve, ref, &cause);
	else if (strcmp(name, "backups") == 0)
		text = pve_format_backups(pve, ref, &cause);
	else if (strcmp(name, "tasks") == 0)
		text = pve_format_tasks(pve, call_value(call, ARG_NODE), &cause);
	else if (strcmp(name, "task") == 0)
		text = pve_format_task(pve, call_value(call, ARG_UPID), &cause);
	else
		cause = xasprintf("pvebot has no handler '%s'", name);
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
}

static void
run_release(struct run *r)
{
	free(r->title);
	buf_release(&r->tail);
}

static void
execute(struct workers *w, struct store *s, struct job *j)
{
	const struct catalogue	*cat;
	struct run		 r;
	struct cmd_call		 call;
	char			*cause = NULL;

	run_init(&r, w, s, j);
	/* A reload retires, never frees, the catalogue this job uses. */
	pthread_rwlock_rdlock(&w->app->rules_lock);
	cat = w->app->catalogue;
	pthread_rwlock_unlock(&w->app->rules_lock);
	if (job_call(cat, j, &call, &cause) != 0) {
		run_finish(&r, JOB_FAILED, NULL, cause, NULL, 0);
		free(cause);
		run_release(&r);
		return;
	}
	log_info("worker", "job=%" PRId64 " command=%s", j->id, j->command);
	r.read = !call.mutating;
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
	cmd_call_release(&call);
	run_release(&r);
}

/* Task types by action, for finding a task whose UPID was not stored. */
static const char *
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

/* One job left running by a previous process. */
static void
recover_one(struct workers *w, struct store *s, struct job *j)
{
	struct run	 r;
	char		*upid = NULL, *err = NULL, *cause = NULL;
	const char	*type;
	enum job_state	 st;

	run_init(&r, w, s, j);
	if (j->upid != NULL)
		upid = xstrdup(j->upid);
	else if (j->dispatched_at == 0) {
		run_finish(&r, JOB_INTERRUPTED, NULL, "pvebot stopped before "
		    "it sent the request; nothing was done. Send the command "
		    "again if you still want it", NULL, 0);
		goto out;
	} else if (w->app->pve != NULL && j->target_node != NULL &&
	    (type = task_type(j->action, j->target_type)) != NULL) {
		char	*user = xstrdup(w->app->conf->proxmox.token_id);

		if (pve_task_find(w->app->pve, j->target_node, type,
		    (int)j->target_vmid, user, j->dispatched_at - 5, &upid,
		    &cause) != 0) {
			log_warn("worker", "job=%" PRId64 " task lookup "
			    "failed: %s", j->id, cause);
			free(cause);
			cause = NULL;
		}
		free(user);
		if (upid != NULL)
			jobs_set_text(s, j->id, "upid", upid);
	}
	if (upid == NULL) {
		run_finish(&r, JOB_INTERRUPTED, NULL, "pvebot stopped while "
		    "sending the request and Proxmox shows no task for it; "
		    "check with `tasks` before sending it again", NULL, 0);
		goto out;
	}
	if (w->app->pve == NULL) {
		run_finish(&r, JOB_INTERRUPTED, NULL, "no Proxmox endpoint "
		    "to follow the task", NULL, 0);
		goto out;
	}
	log_info("worker", "job=%" PRId64 " re-attached upid=%s", j->id, upid);
	run_post(&r, "pvebot restarted; following the task again", 0, NULL,
	    0);
	st = follow_task(&r, upid, &err);
	if (st != JOB_RUNNING)
		run_finish(&r, st, st == JOB_SUCCEEDED ? "task OK" : NULL,
		    err, NULL, 0);
out:
	free(upid);
	free(err);
	run_release(&r);
}

void
workers_recover(struct workers *w)
{
	struct store	*s;
	int64_t		*ids = NULL;
	size_t		 n = 0, i;
	char		*cause = NULL;

	if ((s = store_open(w->app->conf->database, &cause)) == NULL) {
		log_error("worker", "recovery: %s", cause);
		free(cause);
		return;
	}
	jobs_ids_in_state(s, JOB_RUNNING, &ids, &n);
	for (i = 0; i < n && !atomic_load(&w->app->stopping); i++) {
		struct job	 j;

		if (jobs_get(s, ids[i], &j) != 0)
			continue;
		recover_one(w, s, &j);
		job_release(&j);
	}
	free(ids);
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
	 * Jobs whose announcement a previous process never sent: nobody
	 * will send it now, so they may run (and post a new message).
	 */
	if ((s = store_open(w->app->conf->database, cause)) == NULL)
		return -1;
	store_exec(s, "UPDATE jobs SET ready = 1 WHERE ready = 0", NULL);
	store_close(s);
	if (pthread_create(&w->recovery, NULL, recovery_thread, w) != 0)
		return set_cause(cause, "cannot start the recovery thread");
	w->recovering = 1;
	return 0;
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
		rc = jobs_claim(s, reads ? "read" : "action",
		    w->app->conf->workers.heavy_per_node, &j);
		if (rc == 1) {
			execute(w, s, &j);
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
	sqlite3_stmt	*st;
	char		*cause = NULL;
	int		 n = 0;

	if ((s = store_open(w->app->conf->database, &cause)) == NULL) {
		free(cause);
		return 0;
	}
	st = store_prepare(s, "SELECT COUNT(*) FROM jobs WHERE state IN "
	    "('queued', 'running')");
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	store_close(s);
	return n;
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
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
