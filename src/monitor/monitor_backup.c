/*
 * monitor_backup.c - backups that are not happening, through the API:
 *
 * - Coverage (monitor.backups.interval): /cluster/backup-info/
 *   not-backed-up lists the guests no backup job includes (Sys.Audit on
 *   /). Templates and guests with a tag of monitor.backups.ignore_tags
 *   need no backup: a guest that becomes one has its backup-missing and
 *   backup-failed alerts resolved, saying why (never left stale).
 * - Failed backups (same interval, per node): the vzdump tasks of the
 *   last monitor.backups.failed_window from /nodes/{node}/tasks
 *   (Sys.Audit on /nodes/{node} to see every user's tasks). The log of
 *   each failed task is read once, for the guests it failed for
 *   ("ERROR: Backup of VM 102 failed - ..."). A guest's failure is over
 *   when a backup of it newer than the failed task exists (the newest
 *   backups come from the storages, see monitor_poll.c). A failed task
 *   that names no guest (the storage could not be reached) is a failed
 *   job of its node, named by its UPID (what `task UPID` shows), over
 *   when a later vzdump task on that node works.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "conf.h"
#include "exec_proxmox.h"
#include "jsonx.h"
#include "log.h"
#include "monitor_int.h"
#include "util.h"

#define TASK_LIST_MAX	"1000"
#define TASK_LOG_MAX	"5000"

static void
seen_release(struct mon_task_seen *t)
{
	free(t->upid);
	free(t->vmids);
	free(t->why);
}

void
mon_backups_release(struct mon_node *n)
{
	size_t	 i;

	for (i = 0; i < n->nfailed; i++)
		free(n->failed[i].why);
	free(n->failed);
	n->failed = NULL;
	n->nfailed = 0;
	for (i = 0; i < n->nseen; i++)
		seen_release(&n->seen[i]);
	free(n->seen);
	n->seen = NULL;
	n->nseen = 0;
	free(n->job_why);
	n->job_why = NULL;
	free(n->job_upid);
	n->job_upid = NULL;
}

/* The first of the guest's tags that monitor.backups.ignore_tags
 * matches, copied to `tag`; 0 when none does. */
static int
ignored_tag(const struct conf_monitor *mc, const struct pve_res *guest,
    char *tag, size_t size)
{
	const char	*tags = guest->tags, *p;
	size_t		 i, len;

	if (tags == NULL || mc->backups.nignore_tags == 0)
		return 0;
	for (p = tags; *p != '\0'; p += len + (p[len] != '\0')) {
		len = strcspn(p, ";, ");
		if (len == 0 || len >= size)
			continue;
		memcpy(tag, p, len);
		tag[len] = '\0';
		for (i = 0; i < mc->backups.nignore_tags; i++) {
			if (glob_match(mc->backups.ignore_tags[i], tag))
				return 1;
		}
	}
	return 0;
}

int
mon_guest_ignored(const struct conf_monitor *mc, const struct pve_res *guest)
{
	char	 one[128];

	return ignored_tag(mc, guest, one, sizeof one);
}

void
mon_poll_coverage(struct monitor *m, int64_t now)
{
	struct mon_health	*h = &m->health;
	json_t			*data = NULL, *o;
	char			*cause = NULL;
	size_t			 i;

	if (pve_request(m->app->pve, "GET", "/cluster/backup-info/"
	    "not-backed-up", NULL, 0, &data, &cause) != PVE_OK ||
	    !json_is_array(data)) {
		mon_read_done(&h->coverage_read, 0, now, "backup coverage",
		    NULL, cause != NULL ? cause : "not a list");
		free(cause);
		json_decref(data);
		return;
	}
	free(h->not_backed_up);
	h->not_backed_up = xreallocarray(NULL, json_array_size(data) + 1,
	    sizeof *h->not_backed_up);
	h->nnot_backed_up = 0;
	json_array_foreach(data, i, o) {
		if (jx_num(o, "vmid") > 0)
			h->not_backed_up[h->nnot_backed_up++] =
			    (int)jx_num(o, "vmid");
	}
	json_decref(data);
	mon_read_done(&h->coverage_read, 1, now, "backup coverage", NULL,
	    NULL);
}

static void
add_vmid(struct mon_task_seen *t, int vmid)
{
	size_t	 i;

	for (i = 0; i < t->nvmids; i++) {
		if (t->vmids[i] == vmid)
			return;
	}
	t->vmids = xreallocarray(t->vmids, t->nvmids + 1, sizeof *t->vmids);
	t->vmids[t->nvmids++] = vmid;
}

/* "ERROR: Backup of VM 102 failed - <why>": the guest and why. */
static int
error_line(const char *line, int *vmid, const char **why)
{
	const char	*p = "ERROR: Backup of VM ", *errstr;
	char		 num[16];
	size_t		 len;

	if (!str_has_prefix(line, p))
		return 0;
	line += strlen(p);
	len = strspn(line, "0123456789");
	if (len == 0 || len >= sizeof num)
		return 0;
	memcpy(num, line, len);
	num[len] = '\0';
	*vmid = (int)strtonum(num, 100, 999999999, &errstr);
	if (errstr != NULL)
		return 0;
	line += len;
	*why = str_has_prefix(line, " failed - ") ? line + 10 : "failed";
	return 1;
}

/* Reads a failed vzdump task's log: which guests failed, and why. */
static void
read_failed(struct monitor *m, struct mon_node *n, const json_t *task,
    struct mon_task_seen *t)
{
	struct pve_param	 p[] = { { "limit", TASK_LOG_MAX } };
	json_t			*data = NULL, *l;
	const char		*why, *id = jx_str(task, "id", "");
	const char		*errstr;
	char			*path, *cause = NULL;
	size_t			 i;
	int			 vmid;

	path = xasprintf("/nodes/%s/tasks/%s/log", n->name, t->upid);
	if (pve_request(m->app->pve, "GET", path, p, 1, &data, &cause) ==
	    PVE_OK && json_is_array(data)) {
		json_array_foreach(data, i, l) {
			if (!error_line(jx_str(l, "t", ""), &vmid, &why))
				continue;
			add_vmid(t, vmid);
			if (t->why == NULL)
				t->why = xstrdup(why);
		}
	} else
		log_warn("monitor", "cannot read the log of failed backup "
		    "node=%s upid=%s: %s", n->name, t->upid, cause != NULL ?
		    cause : "not a list");
	free(cause);
	free(path);
	json_decref(data);
	/* A backup of one guest names it as the task's id. */
	if (t->nvmids == 0 && (vmid = (int)strtonum(id, 100, 999999999,
	    &errstr)) > 0 && errstr == NULL)
		add_vmid(t, vmid);
	if (t->why == NULL)
		t->why = xstrdup(jx_str(task, "status", "failed"));
}

static int
task_ok(const char *status)
{
	/* "OK", or "WARNINGS: 2": the backups were made. */
	return status != NULL && (strcmp(status, "OK") == 0 ||
	    str_has_prefix(status, "WARNINGS"));
}

static void
failure_add(struct mon_node *n, int vmid, const char *why, int64_t at)
{
	size_t	 i;

	for (i = 0; i < n->nfailed; i++) {
		if (n->failed[i].vmid != vmid)
			continue;
		if (at > n->failed[i].at) {
			free(n->failed[i].why);
			n->failed[i].why = xstrdup(why);
			n->failed[i].at = at;
		}
		return;
	}
	n->failed = xreallocarray(n->failed, n->nfailed + 1,
	    sizeof *n->failed);
	n->failed[n->nfailed].vmid = vmid;
	n->failed[n->nfailed].why = xstrdup(why);
	n->failed[n->nfailed].at = at;
	n->nfailed++;
}

void
mon_poll_tasks(struct monitor *m, struct mon_node *n, int64_t now)
{
	const struct conf_monitor	*mc = &m->conf->monitor;
	char				 since[32];
	struct pve_param		 p[] = { { "typefilter", "vzdump" },
	    { "since", since }, { "limit", TASK_LIST_MAX } };
	struct mon_task_seen		*keep = NULL;
	json_t				*data = NULL, *o;
	char				*path, *cause = NULL;
	size_t				 i, k, nkeep = 0;
	int64_t				 newest = 0;

	snprintf(since, sizeof since, "%" PRId64, now -
	    mc->backups.failed_window);
	path = xasprintf("/nodes/%s/tasks", n->name);
	if (pve_request(m->app->pve, "GET", path, p, nitems(p), &data,
	    &cause) != PVE_OK || !json_is_array(data)) {
		mon_read_done(&n->tasks_read, 0, now, "backup tasks", n->name,
		    cause != NULL ? cause : "not a list");
		free(cause);
		free(path);
		json_decref(data);
		return;
	}
	free(path);
	for (k = 0; k < n->nfailed; k++)
		free(n->failed[k].why);
	n->nfailed = 0;
	n->job_failed = 0;
	free(n->job_why);
	n->job_why = NULL;
	free(n->job_upid);
	n->job_upid = NULL;
	keep = xreallocarray(NULL, json_array_size(data) + 1, sizeof *keep);
	json_array_foreach(data, i, o) {
		const char		*upid = jx_str(o, "upid", NULL);
		const char		*status = jx_str(o, "status", NULL);
		int64_t			 start = jx_int(o, "starttime");
		struct mon_task_seen	*t = NULL;

		if (upid == NULL || status == NULL)
			continue;	/* still running */
		if (task_ok(status)) {
			if (start > newest) {
				newest = start;
				n->job_failed = 0;
			}
			continue;
		}
		for (k = 0; k < n->nseen; k++) {
			if (n->seen[k].upid != NULL &&
			    strcmp(n->seen[k].upid, upid) == 0) {
				keep[nkeep] = n->seen[k];
				memset(&n->seen[k], 0, sizeof n->seen[k]);
				t = &keep[nkeep++];
				break;
			}
		}
		if (t == NULL) {
			t = &keep[nkeep++];
			memset(t, 0, sizeof *t);
			t->upid = xstrdup(upid);
			t->start = start;
			read_failed(m, n, o, t);
		}
		for (k = 0; k < t->nvmids; k++)
			failure_add(n, t->vmids[k], t->why, t->start);
		if (t->nvmids == 0 && start >= newest) {
			newest = start;
			n->job_failed = 1;
			free(n->job_why);
			n->job_why = xstrdup(t->why);
			free(n->job_upid);
			n->job_upid = xstrdup(t->upid);
		}
	}
	json_decref(data);
	/* Tasks no longer listed (older than the window) are forgotten. */
	for (k = 0; k < n->nseen; k++)
		seen_release(&n->seen[k]);
	free(n->seen);
	n->seen = keep;
	n->nseen = nkeep;
	mon_read_done(&n->tasks_read, 1, now, "backup tasks", n->name, NULL);
}

static int64_t
newest_backup(const struct monitor *m, int vmid)
{
	size_t	 i;

	for (i = 0; i < m->nbackups; i++) {
		if (m->backups[i].vmid == vmid)
			return m->backups[i].ctime;
	}
	return 0;
}

/*
 * Why a guest of the resources needs no backup ("a template", "tag
 * scratch-1"), or NULL when it needs them. Such a guest's backup alerts
 * end: being told so is a measurement, not a reading that went missing.
 */
static const char *
no_backup_needed(struct monitor *m, const struct pve_res *g, char *why,
    size_t size)
{
	char	 tag[128];

	if (g->is_template)
		return "a template";
	if (!ignored_tag(&m->conf->monitor, g, tag, sizeof tag))
		return NULL;
	snprintf(why, size, "tag %s", tag);
	return why;
}

/* A guest from the resources that needs backups, or NULL. */
static const struct pve_res *
backed_guest(struct monitor *m, const struct pve_resources *resources,
    int vmid)
{
	const struct pve_res	*g = pve_resources_guest(resources, vmid);

	if (g == NULL || g->is_template ||
	    mon_guest_ignored(&m->conf->monitor, g))
		return NULL;
	return g;
}

static struct mon_sample *
guest_sample(struct mon_samples *s, const char *metric,
    const struct pve_res *g, double v)
{
	int			 vmid = g->vmid;
	char			*target = xasprintf("guest:%d", vmid);
	struct mon_sample	*x = mon_sample_named(s, metric, "guest",
	    target, g->node, g->name, v);

	free(target);
	x->vmid = vmid;
	x->tags = g->tags != NULL ? xstrdup(g->tags) : NULL;
	return x;
}

void
mon_samples_backups(struct monitor *m, const struct pve_resources *resources,
    struct mon_samples *s)
{
	struct mon_health	*h = &m->health;
	struct mon_sample	*x;
	const struct pve_res	*g;
	const char		*why;
	char			*target, whybuf[160];
	size_t			 i, k;

	if (h->coverage_read.ok) {
		s->coverage_ok = 1;
		for (i = 0; i < h->nnot_backed_up; i++) {
			if ((g = pve_resources_guest(resources,
			    h->not_backed_up[i])) == NULL)
				continue;
			if ((why = no_backup_needed(m, g, whybuf,
			    sizeof whybuf)) != NULL) {
				x = guest_sample(s, "guest.not_backed_up", g,
				    0);
				x->no_new = 1;
				x->summary = xasprintf("%s (%d) needs no backup "
				    "(%s)", RES_NAME(g),
				    h->not_backed_up[i], why);
				continue;
			}
			x = guest_sample(s, "guest.not_backed_up", g, 1);
			x->summary = xasprintf("%s (%d) is in no backup job",
			    RES_NAME(g), h->not_backed_up[i]);
		}
	}
	for (i = 0; i < h->nnodes; i++) {
		struct mon_node	*n = &h->nodes[i];

		if (!n->online || !n->tasks_read.ok)
			continue;
		for (k = 0; k < n->nfailed; k++) {
			const struct mon_failed	*f = &n->failed[k];
			int			 over;

			if ((g = pve_resources_guest(resources, f->vmid)) == NULL)
				continue;
			if ((why = no_backup_needed(m, g, whybuf,
			    sizeof whybuf)) != NULL) {
				x = guest_sample(s, "guest.backup_failed", g,
				    0);
				x->no_new = 1;
				x->summary = xasprintf("%s (%d) needs no backup "
				    "(%s)", RES_NAME(g), f->vmid,
				    why);
				continue;
			}
			over = newest_backup(m, f->vmid) >= f->at;
			x = guest_sample(s, "guest.backup_failed", g, !over);
			x->no_new = over;
			x->summary = over ? xasprintf("%s (%d) backed up again "
			    "after a failed backup", RES_NAME(g),
			    f->vmid) : xasprintf("%s (%d): backup on %s failed: "
			    "%s", RES_NAME(g), f->vmid, n->name,
			    f->why);
		}
		target = xasprintf("node:%s", n->name);
		x = mon_sample_named(s, "node.backup_failed", "node", target,
		    n->name, NULL, n->job_failed);
		x->no_new = !n->job_failed;
		x->summary = n->job_failed ? xasprintf("%s: backup job failed: "
		    "%s (task %s)", n->name, n->job_why, n->job_upid) :
		    xasprintf("%s: backup jobs work", n->name);
		free(target);
	}
}

json_t *
mon_snapshot_backups(struct monitor *m, const struct pve_resources *resources)
{
	struct mon_health	*h = &m->health;
	json_t			*o = json_object(), *a;
	const struct pve_res	*g;
	size_t			 i, k;

	if (h->coverage_read.at > 0 && h->coverage_read.ok) {
		a = json_array();
		for (i = 0; i < h->nnot_backed_up; i++) {
			if ((g = backed_guest(m, resources,
			    h->not_backed_up[i])) == NULL)
				continue;
			json_array_append_new(a, json_pack("{siss}", "vmid",
			    h->not_backed_up[i], "name", RES_NAME(g)));
		}
		json_object_set_new(o, "not_backed_up", a);
	}
	a = json_array();
	for (i = 0; i < h->nnodes; i++) {
		const struct mon_node	*n = &h->nodes[i];

		for (k = 0; n->tasks_read.ok && k < n->nfailed; k++) {
			const struct mon_failed	*f = &n->failed[k];

			if ((g = backed_guest(m, resources, f->vmid)) == NULL ||
			    newest_backup(m, f->vmid) >= f->at)
				continue;
			json_array_append_new(a, json_pack("{sisssssssI}",
			    "vmid", f->vmid, "name", RES_NAME(g),
			    "why", f->why, "node", n->name, "at",
			    (json_int_t)f->at));
		}
		if (n->tasks_read.ok && n->job_failed)
			json_array_append_new(a, json_pack("{sisssssssI}",
			    "vmid", 0, "name", "", "why", n->job_why, "node",
			    n->name, "at", (json_int_t)0));
	}
	json_object_set_new(o, "failed", a);
	return o;
}
