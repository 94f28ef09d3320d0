/*
 * worker_node.c - `shutdown-node NODE [force]`: the safe shutdown of a
 * node, as the steps of one job.
 *
 * Guarantees:
 * - Nothing is shut down while a running guest of the node lacks the
 *   safe-shutdown tag: the job is refused and names every such guest.
 *   With `force` (judged by the policy as its own action,
 *   node.shutdown.force) those guests are shut down cleanly too.
 * - The guests go one at a time in reverse start order (their
 *   `startup: order=`; guests without an order first, as Proxmox's
 *   stopall does; equal orders by VMID, highest first). Each is a step
 *   whose intent is recorded before the request, and each is waited for:
 *   Proxmox ends the shutdown task after the guest's `down=` seconds
 *   (180 without one) and pvebot follows the task to its end.
 * - A guest that does not stop ends the job there: the node is not shut
 *   down and the chat says which guests were already stopped.
 * - The node's own shutdown (POST /nodes/{node}/status command=shutdown)
 *   is the last step, sent only when every guest stopped.
 * - After a restart the recovery follows the last recorded step; it does
 *   not carry on with the sequence: a person decides.
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "cmd.h"
#include "exec_proxmox.h"
#include "jobs.h"
#include "log.h"
#include "util.h"
#include "worker.h"
#include "worker_int.h"

#define SAFE_SHUTDOWN_TAG	"safe-shutdown"
#define DEFAULT_DOWN_SECS	180	/* Proxmox's default shutdown timeout */

struct victim {
	const struct pve_guest	*g;
	int			 order;	/* -1: none */
	int			 down;	/* seconds */
};

/* One "N" of a startup item; -1 unless all digits (at most 9). */
static int
startup_number(const char *s, size_t n)
{
	size_t	i;
	int	v = 0;

	if (n == 0 || n > 9)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * A guest's `startup` option, "[[order=]N][,up=N][,down=N]" (Proxmox's
 * pve-startup-order); unknown items are ignored here, Proxmox having
 * checked the value when it was set.
 */
static void
startup_parse(const char *v, int *order, int *down)
{
	const char	*p = v, *e;
	size_t		 n;
	int		 x;

	*order = -1;
	*down = -1;
	while (*p != '\0') {
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		if ((x = startup_number(p, n)) >= 0)
			*order = x;
		else if (n > 6 && strncmp(p, "order=", 6) == 0 &&
		    (x = startup_number(p + 6, n - 6)) >= 0)
			*order = x;
		else if (n > 5 && strncmp(p, "down=", 5) == 0 &&
		    (x = startup_number(p + 5, n - 5)) >= 0)
			*down = x;
		p = *e != '\0' ? e + 1 : e;
	}
}

static int
victim_cmp(const void *a, const void *b)
{
	const struct victim	*x = a, *y = b;
	long			 kx = x->order < 0 ? LONG_MAX : x->order;
	long			 ky = y->order < 0 ? LONG_MAX : y->order;

	if (kx != ky)
		return kx > ky ? -1 : 1;
	return x->g->vmid > y->g->vmid ? -1 : x->g->vmid < y->g->vmid;
}

static int
is_running(const struct pve_guest *g)
{
	return g->status != NULL && (strcmp(g->status, "running") == 0 ||
	    strcmp(g->status, "paused") == 0);
}

/* The guest's startup order and shutdown timeout, from its config. */
static int
victim_read(struct run *r, struct victim *v, char **cause)
{
	json_t		*data = NULL;
	const char	*s;
	char		*path = pve_guest_path(v->g, "/config");
	int		 rc;

	v->order = -1;
	v->down = -1;
	rc = pve_request(r->app->pve, "GET", path, NULL, 0, &data, cause);
	free(path);
	if (rc != PVE_OK)
		return -1;
	if ((s = json_string_value(json_object_get(data, "startup"))) != NULL)
		startup_parse(s, &v->order, &v->down);
	if (v->down < 0)
		v->down = DEFAULT_DOWN_SECS;
	json_decref(data);
	return 0;
}

static void
list_guests(struct buf *b, const struct victim *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		buf_printf(b, "%s%d %s", i > 0 ? ", " : "", v[i].g->vmid,
		    v[i].g->name);
}

/* Shuts one guest down and waits for it; 0, or -1 (job finished). */
static int
victim_shutdown(struct run *r, const struct victim *v, size_t i, size_t n,
    const struct victim *done, size_t ndone)
{
	struct pve_param	 p[1];
	enum job_state		 st;
	char			 secs[16], name[64], *path, *text;
	char			*upid = NULL, *cause = NULL, *err = NULL;
	int64_t			 step = 0;
	int			 rc;
	struct buf		 b;

	text = xasprintf("shutting down %d %s (%zu of %zu, up to %d s)",
	    v->g->vmid, v->g->name, i + 1, n, v->down);
	run_post(r, text, NULL, 0);
	free(text);
	snprintf(secs, sizeof secs, "%d", v->down);
	p[0] = (struct pve_param){ "timeout", secs };
	snprintf(name, sizeof name, "shutdown %d", v->g->vmid);
	path = pve_guest_path(v->g, "/status/shutdown");
	rc = run_step(r, name, "POST", path, p, 1, v->g->node,
	    task_type("guest.shutdown", v->g->type), v->g->vmid, 1, &step,
	    &upid, &cause);
	free(path);
	st = JOB_FAILED;
	if (rc == 0) {
		st = follow_task(r, upid, &err);
		if (st == JOB_RUNNING) {
			free(upid);
			return -1;	/* stopping: recovery follows it */
		}
		jobs_step_finish(r->store, step, st == JOB_SUCCEEDED ?
		    STEP_DONE : st == JOB_UNKNOWN ? STEP_UNKNOWN :
		    STEP_FAILED);
	} else if (rc > 0)
		st = JOB_UNKNOWN;
	free(upid);
	if (rc == 0 && st == JOB_SUCCEEDED)
		return 0;
	buf_init(&b, 8192);
	buf_printf(&b, "guest %d %s did not shut down: %s; the node was not "
	    "shut down", v->g->vmid, v->g->name, err != NULL ? err :
	    cause != NULL ? cause : "the task failed");
	if (ndone > 0) {
		buf_puts(&b, "; already stopped: ");
		list_guests(&b, done, ndone);
	}
	run_finish(r, st == JOB_UNKNOWN ? JOB_UNKNOWN : JOB_FAILED, NULL,
	    buf_cstr(&b), NULL, 0);
	buf_release(&b);
	free(cause);
	free(err);
	return -1;
}

void
worker_shutdown_node(struct run *r, const struct cmd_call *call)
{
	const char		*node = cmd_call_value(call, "node");
	const char		*how = cmd_call_value(call, "force");
	int			 force = how != NULL && strcmp(how, "force") == 0;
	struct pve_guest	*guests = NULL;
	struct victim		*v = NULL, *blockers = NULL;
	struct pve_param	 p[1];
	struct buf		 b;
	size_t			 n = 0, nv = 0, nb = 0, i;
	char			*cause = NULL, *upid = NULL, *path;
	int64_t			 step = 0;
	int			 rc;

	if (r->app->pve == NULL || node == NULL) {
		run_finish(r, JOB_FAILED, NULL, r->app->pve == NULL ? "no "
		    "Proxmox endpoint is configured" : "no node given", NULL,
		    0);
		return;
	}
	run_post(r, "reading the guests of the node", NULL, 0);
	if (pve_list_guests(r->app->pve, &guests, &n, &cause) != PVE_OK) {
		char	*text = xasprintf("cannot read the guest list: %s; "
		    "nothing was done", cause);

		run_finish(r, JOB_FAILED, NULL, text, NULL, 0);
		free(text);
		free(cause);
		return;
	}
	v = xcalloc(n + 1, sizeof *v);
	blockers = xcalloc(n + 1, sizeof *blockers);
	for (i = 0; i < n; i++) {
		if (strcmp(guests[i].node, node) != 0 ||
		    !is_running(&guests[i]))
			continue;
		if (!pve_guest_has_tag(&guests[i], SAFE_SHUTDOWN_TAG))
			blockers[nb++].g = &guests[i];
		if (force || pve_guest_has_tag(&guests[i], SAFE_SHUTDOWN_TAG))
			v[nv++].g = &guests[i];
	}
	buf_init(&b, 16384);
	if (nb > 0 && !force) {
		buf_printf(&b, "%zu running guest%s on %s lack%s the %s tag: ",
		    nb, nb == 1 ? "" : "s", node, nb == 1 ? "s" : "",
		    SAFE_SHUTDOWN_TAG);
		list_guests(&b, blockers, nb);
		buf_puts(&b, "; shut them down first, tag them, or ask for "
		    "`shutdown-node NODE force`; nothing was done");
		run_finish(r, JOB_REFUSED, NULL, buf_cstr(&b), NULL, 0);
		goto out;
	}
	for (i = 0; i < nv; i++) {
		if (victim_read(r, &v[i], &cause) != 0) {
			buf_printf(&b, "cannot read the config of guest %d: "
			    "%s; nothing was done", v[i].g->vmid, cause);
			run_finish(r, JOB_FAILED, NULL, buf_cstr(&b), NULL, 0);
			goto out;
		}
	}
	qsort(v, nv, sizeof *v, victim_cmp);
	for (i = 0; i < nv; i++) {
		if (victim_shutdown(r, &v[i], i, nv, v, i) != 0)
			goto out;
	}

	run_post(r, "every guest stopped; shutting the node down", NULL, 0);
	p[0] = (struct pve_param){ "command", "shutdown" };
	path = xasprintf("/nodes/%s/status", node);
	rc = run_step(r, "node shutdown", "POST", path, p, 1, node, NULL, 0, 0,
	    &step, &upid, &cause);
	free(path);
	free(upid);
	if (rc != 0) {
		buf_printf(&b, "the node's shutdown was not accepted: %s",
		    cause);
		if (nv > 0) {
			buf_puts(&b, "; stopped: ");
			list_guests(&b, v, nv);
		}
		run_finish(r, rc > 0 ? JOB_UNKNOWN : JOB_FAILED, NULL,
		    buf_cstr(&b), NULL, 0);
		goto out;
	}
	log_info("worker", "job=%" PRId64 " node=%s shutdown sent after %zu "
	    "guests", r->job->id, node, nv);
	if (nv > 0) {
		buf_puts(&b, "shut down in order: ");
		list_guests(&b, v, nv);
		buf_printf(&b, "\nthen node %s: shutdown sent", node);
	} else
		buf_printf(&b, "no guest was running; node %s: shutdown sent",
		    node);
	run_finish(r, JOB_SUCCEEDED, buf_cstr(&b), NULL, NULL, 0);
out:
	buf_release(&b);
	free(cause);
	free(v);
	free(blockers);
	pve_guests_free(guests, n);
}
