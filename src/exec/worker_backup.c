/*
 * worker_backup.c - `prune STORAGE GUEST [keep-...=N ...]` and `restore
 * BACKUP [NEWID] [STORAGE] [force]`: backup retention and restore as
 * built-in actions of a worker.
 *
 * Prune guarantees:
 * - Before anyone is asked to approve it, a worker reads Proxmox's dry
 *   run (GET /nodes/{node}/storage/{storage}/prunebackups with the
 *   retention as `prune-backups`, the guest's `vmid` and `type`) and
 *   stores it with the job as its plan; the approval request lists
 *   every backup that would be removed, and those kept. A plan that
 *   removes nothing ends the job there, without asking anybody.
 * - The retention is the command's keep-...=N words, else the storage's
 *   default of bot.conf (workers.retention); without either it is
 *   refused: pvebot never falls back to a rule nobody wrote down.
 * - When the job runs, the dry run is read again. If the backups it
 *   would remove differ in any way from the approved list (a backup
 *   made, removed or protected since), nothing is deleted and the chat
 *   says what changed. Only then is the prune sent (DELETE on the same
 *   path with the same parameters, a step recorded before it), its task
 *   followed, and the storage read once more: a backup the approver saw
 *   kept that is gone is reported as such, loudly. (Between the second
 *   read and the DELETE, milliseconds apart, a backup Proxmox itself
 *   makes could shift the marks; pvebot's own jobs on the guest cannot,
 *   they wait for this one.)
 *
 * Restore guarantees:
 * - The archive's kind (qemu or lxc) and original VMID come from its
 *   vzdump name; the target VMID is NEWID, else the original.
 * - An existing guest at the target VMID is refused, naming it, unless
 *   `force` was asked for (judged by the policy as backup.restore.force
 *   with that guest as target, so self-protection holds) and the guest
 *   is stopped and of the same kind; Proxmox is asked with force=1 then
 *   and only then.
 * - The node is the overwritten guest's, else the original guest's, else
 *   the first online node that sees the archive; the archive must be
 *   listed in that node's view of the storage.
 * - The restore is one step (intent recorded before the POST), its task
 *   followed with progress edited in place; restore_guest() is the part
 *   that `restore-to` (restore as a new guest by convention,
 *   src/prov/prov_plan.c) calls with a node, VMID, name and further
 *   parameters of its own, then goes on to address the guest.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "app.h"
#include "cmd.h"
#include "conf.h"
#include "exec_proxmox.h"
#include "jobs.h"
#include "log.h"
#include "util.h"
#include "worker.h"
#include "worker_int.h"

#define PRUNE_NKEEP		6
#define PRUNE_SHOW_MAX		60	/* removals one approval may list */
#define PRUNE_SHOW_KEPT		20	/* kept backups listed */

static const char *const keep_names[PRUNE_NKEEP] = {
	"keep-last", "keep-hourly", "keep-daily", "keep-weekly",
	"keep-monthly", "keep-yearly",
};

/*
 * The retention as Proxmox's property string ("keep-last=3,keep-daily=7")
 * from the command's keep words, else bot.conf's default for the storage.
 * 0, or -1 with *cause.
 */
static int
prune_retention(const struct conf *conf, const struct cmd_call *call,
    const char *storage, char *out, size_t len, char **cause)
{
	long long	 n[PRUNE_NKEEP] = { 0 };
	const char	*v, *eq, *errstr;
	size_t		 i, k, klen;
	int		 given = 0;
	struct buf	 b;

	for (i = 0; i < call->def->nargs; i++) {
		if (strncmp(call->def->args[i].name, "keep", 4) != 0 ||
		    (v = call->values[i]) == NULL)
			continue;
		if ((eq = strchr(v, '=')) == NULL)
			return set_cause(cause, "'%s' is not keep-...=N", v);
		klen = (size_t)(eq - v);
		for (k = 0; k < PRUNE_NKEEP; k++) {
			if (strlen(keep_names[k]) == klen &&
			    strncmp(keep_names[k], v, klen) == 0)
				break;
		}
		if (k == PRUNE_NKEEP)
			return set_cause(cause, "'%.*s' is not a retention "
			    "option (keep-last, keep-hourly, keep-daily, "
			    "keep-weekly, keep-monthly, keep-yearly)",
			    (int)klen, v);
		if (n[k] != 0)
			return set_cause(cause, "%s is given twice",
			    keep_names[k]);
		n[k] = strtonum(eq + 1, 1, 1000000, &errstr);
		if (errstr != NULL)
			return set_cause(cause, "%s=%s: the number must be "
			    "1..1000000", keep_names[k], eq + 1);
		given = 1;
	}
	if (!given) {
		for (i = 0; i < conf->workers.nretention; i++) {
			const struct conf_retention *r =
			    &conf->workers.retention[i];

			if (r->storage == NULL ||
			    strcmp(r->storage, storage) != 0)
				continue;
			n[0] = r->keep_last;
			n[1] = r->keep_hourly;
			n[2] = r->keep_daily;
			n[3] = r->keep_weekly;
			n[4] = r->keep_monthly;
			n[5] = r->keep_yearly;
			given = 1;
		}
	}
	if (!given)
		return set_cause(cause, "no retention was given and bot.conf "
		    "has none for storage %s (workers.retention): say what to "
		    "keep, e.g. `prune %s GUEST keep-last=3 keep-daily=7`",
		    storage, storage);
	buf_init(&b, len);
	for (k = 0; k < PRUNE_NKEEP; k++) {
		if (n[k] > 0)
			buf_printf(&b, "%s%s=%lld", b.len > 0 ? "," : "",
			    keep_names[k], n[k]);
	}
	snprintf(out, len, "%s", buf_cstr(&b));
	buf_release(&b);
	return 0;
}

/* Proxmox's dry run: the list of {volid, ctime, mark, ...}. */
static int
prune_dry_run(struct pve *pve, const char *node, const char *storage,
    const char *keep, int vmid, const char *type, json_t **list,
    char **cause)
{
	struct pve_param	 p[3];
	char			 id[16], *path;
	int			 rc;

	snprintf(id, sizeof id, "%d", vmid);
	p[0] = (struct pve_param){ "prune-backups", keep };
	p[1] = (struct pve_param){ "vmid", id };
	p[2] = (struct pve_param){ "type", type };
	path = xasprintf("/nodes/%s/storage/%s/prunebackups", node, storage);
	rc = pve_request(pve, "GET", path, p, 3, list, cause);
	free(path);
	if (rc != PVE_OK)
		return -1;
	if (!json_is_array(*list)) {
		json_decref(*list);
		*list = NULL;
		return set_cause(cause, "Proxmox's dry run is not a list");
	}
	return 0;
}

static const char *
entry_volid(const json_t *o)
{
	return json_string_value(json_object_get(o, "volid"));
}

static const char *
entry_mark(const json_t *o)
{
	const char	*m = json_string_value(json_object_get(o, "mark"));

	return m != NULL ? m : "?";
}

/* "2026-11-21 01:00 UTC" */
static void
entry_time(const json_t *o, char *out, size_t len)
{
	struct tm	tm;
	time_t		t = (time_t)json_integer_value(json_object_get(o,
			    "ctime"));

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm);
}

/* The volids marked remove, in the list's order. */
static json_t *
removals(const json_t *list)
{
	json_t		*a = json_array();
	const json_t	*o;
	size_t		 i;

	json_array_foreach(list, i, o) {
		if (strcmp(entry_mark(o), "remove") == 0 &&
		    entry_volid(o) != NULL)
			json_array_append_new(a, json_string(entry_volid(o)));
	}
	return a;
}

static int
has_string(const json_t *a, const char *s)
{
	const json_t	*v;
	size_t		 i;

	json_array_foreach(a, i, v) {
		if (json_string_value(v) != NULL &&
		    strcmp(json_string_value(v), s) == 0)
			return 1;
	}
	return 0;
}

/* The dry run for chat: what goes, then what stays. */
static void
prune_text(struct buf *b, const json_t *list, const char *storage,
    const struct pve_guest *g, const char *keep)
{
	const json_t	*o;
	char		 when[32], kept[256];
	size_t		 i, nremove = 0, nkeep = 0, shown = 0;

	json_array_foreach(list, i, o) {
		if (strcmp(entry_mark(o), "remove") == 0)
			nremove++;
		else
			nkeep++;
	}
	snprintf(kept, sizeof kept, "%s", keep);
	for (i = 0; kept[i] != '\0'; i++) {
		if (kept[i] == ',')
			kept[i] = ' ';
	}
	buf_printf(b, "dry run on %s for %d %s (%s): %zu backup%s, %zu to "
	    "remove, %zu kept", storage, g->vmid, g->name, kept,
	    json_array_size(list), json_array_size(list) == 1 ? "" : "s",
	    nremove, nkeep);
	json_array_foreach(list, i, o) {
		if (strcmp(entry_mark(o), "remove") != 0)
			continue;
		entry_time(o, when, sizeof when);
		buf_printf(b, "\nremove    %s  %s", when, entry_volid(o));
	}
	json_array_foreach(list, i, o) {
		if (strcmp(entry_mark(o), "remove") == 0)
			continue;
		if (shown++ == PRUNE_SHOW_KEPT) {
			buf_printf(b, "\n... and %zu more kept", nkeep -
			    PRUNE_SHOW_KEPT);
			break;
		}
		entry_time(o, when, sizeof when);
		buf_printf(b, "\n%-9s %s  %s", entry_mark(o), when,
		    entry_volid(o));
	}
}

int
worker_prune_plan(struct app *app, const struct cmd_call *call, char **plan,
    char **cause)
{
	const char		*storage = cmd_call_value(call, "storage");
	const char		*ref = cmd_call_value(call, "guest");
	struct pve_guest	 g;
	json_t			*list = NULL, *o, *gone;
	char			 keep[256];
	struct buf		 b;
	int			 rc;

	*plan = NULL;
	if (app->pve == NULL)
		return set_cause(cause, "no Proxmox endpoint is configured");
	if (storage == NULL || ref == NULL)
		return set_cause(cause, "prune needs a storage and a guest");
	if (prune_retention(app->conf, call, storage, keep, sizeof keep,
	    cause) != 0)
		return -1;
	if (pve_resolve_guest(app->pve, ref, &g, cause) != PVE_OK)
		return -1;
	if (prune_dry_run(app->pve, g.node, storage, keep, g.vmid, g.type,
	    &list, cause) != 0) {
		char	*c = *cause;

		*cause = NULL;
		set_cause(cause, "cannot read the dry run of %s on %s: %s",
		    storage, g.node, c);
		free(c);
		pve_guest_release(&g);
		return -1;
	}
	gone = removals(list);
	if (json_array_size(gone) > PRUNE_SHOW_MAX) {
		set_cause(cause, "%zu backups of %d on %s would be removed at "
		    "once, more than the %d one request may show; prune with a "
		    "larger retention first", json_array_size(gone), g.vmid,
		    storage, PRUNE_SHOW_MAX);
		json_decref(gone);
		json_decref(list);
		pve_guest_release(&g);
		return -1;
	}
	buf_init(&b, 64 << 10);
	prune_text(&b, list, storage, &g, keep);
	if (json_array_size(gone) == 0)
		buf_puts(&b, "\nnothing to remove; nothing was deleted");
	o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:O,s:O,s:s}", "node", g.node, "storage", storage,
	    "vmid", g.vmid, "type", g.type, "keep", keep, "remove", gone,
	    "list", list, "text", buf_cstr(&b));
	*plan = json_dumps(o, JSON_COMPACT);
	rc = json_array_size(gone) == 0 ? 1 : 0;
	if (rc == 1) {
		/* Nothing to do: the answer is the text. */
		free(*plan);
		*plan = buf_steal(&b);
	}
	buf_release(&b);
	json_decref(o);
	json_decref(gone);
	json_decref(list);
	pve_guest_release(&g);
	return rc;
}

/* What changed between two removal lists, for chat. */
static void
list_changes(struct buf *b, const json_t *approved, const json_t *now)
{
	const json_t	*v;
	size_t		 i;

	json_array_foreach(now, i, v) {
		if (!has_string(approved, json_string_value(v)))
			buf_printf(b, "\nwould now also remove %s",
			    json_string_value(v));
	}
	json_array_foreach(approved, i, v) {
		if (!has_string(now, json_string_value(v)))
			buf_printf(b, "\nwould no longer remove %s",
			    json_string_value(v));
	}
}

void
worker_prune(struct run *r, const struct cmd_call *call)
{
	json_t			*plan = NULL, *list = NULL, *now = NULL, *after;
	const json_t		*approved, *old, *o;
	const char		*node, *storage, *type, *keep;
	struct pve_param	 p[3];
	struct buf		 b;
	enum job_state		 st;
	char			 id[16], *path, *upid = NULL, *cause = NULL;
	char			*err = NULL;
	int64_t			 step = 0;
	int			 vmid, rc;
	size_t			 i, nmissing = 0;

	buf_init(&b, 64 << 10);
	if (r->app->pve == NULL || r->job->plan == NULL ||
	    (plan = json_loads(r->job->plan, 0, NULL)) == NULL ||
	    (node = json_string_value(json_object_get(plan, "node"))) ==
	    NULL || (storage = json_string_value(json_object_get(plan,
	    "storage"))) == NULL || (type = json_string_value(
	    json_object_get(plan, "type"))) == NULL || (keep =
	    json_string_value(json_object_get(plan, "keep"))) == NULL ||
	    !json_is_array(approved = json_object_get(plan, "remove")) ||
	    !json_is_array(old = json_object_get(plan, "list"))) {
		run_finish(r, JOB_FAILED, NULL, r->app->pve == NULL ? "no "
		    "Proxmox endpoint is configured" : "this job has no dry "
		    "run to check against; nothing was deleted", NULL, 0);
		goto out;
	}
	vmid = (int)json_integer_value(json_object_get(plan, "vmid"));
	run_post(r, "reading the dry run again", NULL, 0);
	if (prune_dry_run(r->app->pve, node, storage, keep, vmid, type, &list,
	    &cause) != 0) {
		buf_printf(&b, "cannot read the dry run again: %s; nothing was "
		    "deleted", cause);
		run_finish(r, JOB_FAILED, NULL, buf_cstr(&b), NULL, 0);
		goto out;
	}
	now = removals(list);
	if (json_array_size(now) != json_array_size(approved)) {
		buf_puts(&b, "the backups changed since the dry run that was "
		    "approved:");
		list_changes(&b, approved, now);
		buf_puts(&b, "\nnothing was deleted; send prune again to see "
		    "the new list");
		run_finish(r, JOB_FAILED, NULL, buf_cstr(&b), NULL, 0);
		goto out;
	}
	for (i = 0; i < json_array_size(now); i++) {
		if (!has_string(approved, json_string_value(json_array_get(
		    now, i)))) {
			buf_puts(&b, "the backups changed since the dry run "
			    "that was approved:");
			list_changes(&b, approved, now);
			buf_puts(&b, "\nnothing was deleted; send prune again "
			    "to see the new list");
			run_finish(r, JOB_FAILED, NULL, buf_cstr(&b), NULL, 0);
			goto out;
		}
	}

	path = xasprintf("removing %zu backup%s of %d on %s",
	    json_array_size(now), json_array_size(now) == 1 ? "" : "s", vmid,
	    storage);
	run_post(r, path, NULL, 0);
	free(path);
	snprintf(id, sizeof id, "%d", vmid);
	p[0] = (struct pve_param){ "prune-backups", keep };
	p[1] = (struct pve_param){ "vmid", id };
	p[2] = (struct pve_param){ "type", type };
	path = xasprintf("/nodes/%s/storage/%s/prunebackups", node, storage);
	/* The task's id is the storage: no VMID to find it by. */
	rc = run_step(r, "prune", "DELETE", path, p, 3, node, "prunebackups",
	    0, 1, &step, &upid, &cause);
	free(path);
	if (rc != 0) {
		buf_printf(&b, "the prune was not accepted: %s", cause);
		run_finish(r, rc > 0 ? JOB_UNKNOWN : JOB_FAILED, NULL,
		    buf_cstr(&b), NULL, 0);
		goto out;
	}
	st = follow_task(r, upid, &err);
	if (st == JOB_RUNNING)
		goto out;	/* stopping: recovery follows the task */
	jobs_step_finish(r->store, step, st == JOB_SUCCEEDED ? STEP_DONE :
	    st == JOB_UNKNOWN ? STEP_UNKNOWN : STEP_FAILED);

	/* What is left, against what the approver saw. */
	json_decref(list);
	list = NULL;
	free(cause);
	cause = NULL;
	if (prune_dry_run(r->app->pve, node, storage, keep, vmid, type, &list,
	    &cause) != 0) {
		buf_printf(&b, "the prune task ended %s, and the backups "
		    "cannot be read to check it: %s", st == JOB_SUCCEEDED ?
		    "well" : err != NULL ? err : "badly", cause);
		run_finish(r, st == JOB_SUCCEEDED ? JOB_UNKNOWN : st, NULL,
		    buf_cstr(&b), NULL, 0);
		goto out;
	}
	after = json_array();
	json_array_foreach(list, i, o) {
		if (entry_volid(o) != NULL)
			json_array_append_new(after,
			    json_string(entry_volid(o)));
	}
	json_array_foreach(old, i, o) {
		if (strcmp(entry_mark(o), "remove") == 0 || entry_volid(o) ==
		    NULL || has_string(after, entry_volid(o)))
			continue;
		if (nmissing++ == 0)
			buf_puts(&b, "NOT in the approved list but gone:");
		buf_printf(&b, "\n%s", entry_volid(o));
	}
	if (nmissing > 0) {
		json_decref(after);
		run_finish(r, JOB_FAILED, NULL, buf_cstr(&b), NULL, 0);
		goto out;
	}
	json_array_foreach(approved, i, o) {
		if (has_string(after, json_string_value(o)))
			buf_printf(&b, "%sstill there: %s", b.len > 0 ? "\n" :
			    "", json_string_value(o));
	}
	if (st != JOB_SUCCEEDED || b.len > 0) {
		struct buf	 e;

		buf_init(&e, 64 << 10);
		buf_printf(&e, "the prune task ended %s%s%s",
		    st == JOB_SUCCEEDED ? "well" : "with an error: ",
		    st == JOB_SUCCEEDED ? "" : err != NULL ? err : "?",
		    b.len > 0 ? "\n" : "");
		buf_puts(&e, buf_cstr(&b));
		json_decref(after);
		run_finish(r, st == JOB_UNKNOWN ? JOB_UNKNOWN : JOB_FAILED,
		    NULL, buf_cstr(&e), NULL, 0);
		buf_release(&e);
		goto out;
	}
	buf_printf(&b, "removed %zu backup%s of %d on %s (%s):",
	    json_array_size(approved), json_array_size(approved) == 1 ? "" :
	    "s", vmid, storage, keep);
	json_array_foreach(approved, i, o)
		buf_printf(&b, "\n%s", json_string_value(o));
	buf_printf(&b, "\n%zu kept", json_array_size(after));
	json_decref(after);
	log_info("worker", "job=%" PRId64 " pruned %zu backups vmid=%d "
	    "storage=%s", r->job->id, json_array_size(approved), vmid,
	    storage);
	run_finish(r, JOB_SUCCEEDED, buf_cstr(&b), NULL, NULL, 0);
out:
	buf_release(&b);
	json_decref(plan);
	json_decref(list);
	json_decref(now);
	free(upid);
	free(cause);
	free(err);
}

/* ---- restore ---- */

int
restore_archive_parse(const char *volid, char *storage, size_t slen, int *lxc,
    int *vmid)
{
	const char	*colon = strchr(volid, ':'), *p, *errstr;
	char		 num[16];
	size_t		 n;

	if (colon == NULL || (size_t)(colon - volid) >= slen ||
	    colon == volid)
		return -1;
	snprintf(storage, slen, "%.*s", (int)(colon - volid), volid);
	p = colon + 1;
	if (str_has_prefix(p, "backup/vzdump-qemu-")) {
		*lxc = 0;
		p += strlen("backup/vzdump-qemu-");
	} else if (str_has_prefix(p, "backup/vzdump-lxc-")) {
		*lxc = 1;
		p += strlen("backup/vzdump-lxc-");
	} else
		return -1;
	n = strspn(p, "0123456789");
	if (n == 0 || n >= sizeof num || p[n] != '-')
		return -1;
	snprintf(num, sizeof num, "%.*s", (int)n, p);
	*vmid = (int)strtonum(num, 100, 999999999, &errstr);
	return errstr == NULL ? 0 : -1;
}

/* Does node see volid on storage? 1 yes, 0 no, -1 (*cause) unknown. */
int
restore_archive_visible(struct pve *pve, const char *node,
    const char *storage, const char *volid, int orig_vmid, char **cause)
{
	struct pve_param	 p[2];
	json_t			*list = NULL, *o;
	char			 id[16], *path;
	size_t			 i;
	int			 found = 0, rc;

	snprintf(id, sizeof id, "%d", orig_vmid);
	p[0] = (struct pve_param){ "content", "backup" };
	p[1] = (struct pve_param){ "vmid", id };
	path = xasprintf("/nodes/%s/storage/%s/content", node, storage);
	rc = pve_request(pve, "GET", path, p, 2, &list, cause);
	free(path);
	if (rc != PVE_OK)
		return -1;
	json_array_foreach(list, i, o) {
		if (entry_volid(o) != NULL && strcmp(entry_volid(o), volid) ==
		    0)
			found = 1;
	}
	json_decref(list);
	return found;
}

/* The first online node that sees the archive; NULL with *cause. */
static char *
archive_node(struct pve *pve, const char *prefer, const char *storage,
    const char *volid, int orig_vmid, char **cause)
{
	json_t		*nodes = NULL, *o;
	const char	*name, *status;
	char		*last = NULL, *found = NULL;
	size_t		 i;
	int		 rc;

	if (prefer != NULL) {
		rc = restore_archive_visible(pve, prefer, storage, volid,
		    orig_vmid, &last);
		if (rc == 1)
			return xstrdup(prefer);
		free(last);
		last = NULL;
	}
	if (pve_request(pve, "GET", "/nodes", NULL, 0, &nodes, cause) !=
	    PVE_OK)
		return NULL;
	json_array_foreach(nodes, i, o) {
		name = json_string_value(json_object_get(o, "node"));
		status = json_string_value(json_object_get(o, "status"));
		if (name == NULL || status == NULL || strcmp(status,
		    "online") != 0 || (prefer != NULL && strcmp(name,
		    prefer) == 0))
			continue;
		free(last);
		last = NULL;
		if (restore_archive_visible(pve, name, storage, volid,
		    orig_vmid, &last) == 1) {
			found = xstrdup(name);
			break;
		}
	}
	json_decref(nodes);
	if (found == NULL)
		set_cause(cause, "no online node sees backup %s%s%s", volid,
		    last != NULL ? ": " : "", last != NULL ? last : "");
	free(last);
	return found;
}

int
restore_guest(struct run *r, const struct restore_spec *rs)
{
	struct pve_guest	*guests = NULL, *old = NULL, *orig = NULL;
	struct pve_param	 p[8 + RESTORE_EXTRA_MAX];
	struct buf		 b;
	enum job_state		 st;
	char			 storage[64], id[16], name[32];
	char			*node = NULL, *path, *upid = NULL, *cause = NULL;
	char			*err = NULL;
	size_t			 n = 0, i, np = 0;
	int64_t			 step = 0;
	int			 lxc, orig_vmid, vmid, rc, ret = -1;

	buf_init(&b, 16384);
	if (r->app->pve == NULL) {
		run_finish(r, JOB_FAILED, NULL, "no Proxmox endpoint is "
		    "configured", NULL, 0);
		goto out;
	}
	if (restore_archive_parse(rs->volid, storage, sizeof storage, &lxc,
	    &orig_vmid) != 0) {
		buf_printf(&b, "'%s' is not the name of a vzdump backup "
		    "(STORAGE:backup/vzdump-qemu|lxc-VMID-...); nothing was "
		    "done", rs->volid);
		run_finish(r, JOB_FAILED, NULL, buf_cstr(&b), NULL, 0);
		goto out;
	}
	vmid = rs->vmid > 0 ? rs->vmid : orig_vmid;
	run_post(r, "reading the guests and the backup", NULL, 0);
	if (pve_list_guests(r->app->pve, &guests, &n, &cause) != PVE_OK) {
		buf_printf(&b, "cannot read the guest list: %s; nothing was "
		    "done", cause);
		run_finish(r, JOB_FAILED, NULL, buf_cstr(&b), NULL, 0);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (guests[i].vmid == vmid)
			old = &guests[i];
		if (guests[i].vmid == orig_vmid)
			orig = &guests[i];
	}
	if (old != NULL && !rs->force) {
		buf_printf(&b, "guest %d %s (%s on %s) exists: restore to a new "
		    "VMID (`restore %s NEWID`), or ask for `restore %s %d "
		    "force` to overwrite it; nothing was done", old->vmid,
		    old->name, old->type, old->node, rs->volid, rs->volid,
		    old->vmid);
		run_finish(r, JOB_REFUSED, NULL, buf_cstr(&b), NULL, 0);
		goto out;
	}
	if (old != NULL) {
		if (strcmp(old->type, lxc ? "lxc" : "qemu") != 0) {
			buf_printf(&b, "guest %d %s is a %s and the backup is "
			    "a %s's: a forced restore replaces a guest of the "
			    "same kind only; nothing was done", old->vmid,
			    old->name, strcmp(old->type, "lxc") == 0 ?
			    "container" : "VM", lxc ? "container" : "VM");
			run_finish(r, JOB_REFUSED, NULL, buf_cstr(&b), NULL,
			    0);
			goto out;
		}
		if (old->status == NULL || strcmp(old->status, "stopped") !=
		    0) {
			buf_printf(&b, "guest %d %s is %s: stop it before it "
			    "is overwritten; nothing was done", old->vmid,
			    old->name, old->status != NULL ? old->status :
			    "in an unknown state");
			run_finish(r, JOB_REFUSED, NULL, buf_cstr(&b), NULL,
			    0);
			goto out;
		}
	}
	if (rs->node != NULL && old != NULL && strcmp(rs->node,
	    old->node) != 0) {
		buf_printf(&b, "guest %d is on %s, not %s: a forced restore "
		    "happens on the guest's node; nothing was done", old->vmid,
		    old->node, rs->node);
		run_finish(r, JOB_REFUSED, NULL, buf_cstr(&b), NULL, 0);
		goto out;
	}
	if (rs->node != NULL || old != NULL) {
		const char	*want = rs->node != NULL ? rs->node : old->node;

		rc = restore_archive_visible(r->app->pve, want, storage,
		    rs->volid, orig_vmid, &cause);
		if (rc != 1) {
			buf_printf(&b, "node %s does not see backup %s%s%s; "
			    "nothing was done", want, rs->volid, rc < 0 ?
			    ": " : "", rc < 0 ? cause : "");
			run_finish(r, JOB_FAILED, NULL, buf_cstr(&b), NULL, 0);
			goto out;
		}
		node = xstrdup(want);
	} else if ((node = archive_node(r->app->pve, orig != NULL ?
	    orig->node : NULL, storage, rs->volid, orig_vmid, &cause)) ==
	    NULL) {
		buf_printf(&b, "%s; nothing was done", cause);
		run_finish(r, JOB_FAILED, NULL, buf_cstr(&b), NULL, 0);
		goto out;
	}

	snprintf(id, sizeof id, "%d", vmid);
	p[np++] = (struct pve_param){ "vmid", id };
	if (lxc) {
		p[np++] = (struct pve_param){ "ostemplate", rs->volid };
		p[np++] = (struct pve_param){ "restore", "1" };
	} else
		p[np++] = (struct pve_param){ "archive", rs->volid };
	if (rs->storage != NULL)
		p[np++] = (struct pve_param){ "storage", rs->storage };
	if (old != NULL)
		p[np++] = (struct pve_param){ "force", "1" };
	for (i = 0; i < rs->nextra && i < RESTORE_EXTRA_MAX; i++)
		p[np++] = rs->extra[i];
	buf_printf(&b, "restoring %s to %s %d on %s%s", rs->volid,
	    lxc ? "CT" : "VM", vmid, node, old != NULL ? ", over the old "
	    "guest" : "");
	run_post(r, buf_cstr(&b), NULL, 0);
	buf_reset(&b);
	snprintf(name, sizeof name, "restore %d", vmid);
	path = xasprintf("/nodes/%s/%s", node, lxc ? "lxc" : "qemu");
	rc = run_step(r, name, "POST", path, p, np, node, lxc ? "vzrestore" :
	    "qmrestore", vmid, 1, &step, &upid, &cause);
	free(path);
	if (rc != 0) {
		buf_printf(&b, "the restore was not accepted: %s", cause);
		run_finish(r, rc > 0 ? JOB_UNKNOWN : JOB_FAILED, NULL,
		    buf_cstr(&b), NULL, 0);
		ret = rc > 0 ? 1 : -1;
		goto out;
	}
	st = follow_task(r, upid, &err);
	if (st == JOB_RUNNING) {
		ret = 1;
		goto out;	/* stopping: recovery follows the task */
	}
	jobs_step_finish(r->store, step, st == JOB_SUCCEEDED ? STEP_DONE :
	    st == JOB_UNKNOWN ? STEP_UNKNOWN : STEP_FAILED);
	if (st != JOB_SUCCEEDED) {
		buf_printf(&b, "the restore of %s to %d failed: %s", rs->volid,
		    vmid, err != NULL ? err : "the task failed");
		run_finish(r, st == JOB_UNKNOWN ? JOB_UNKNOWN : JOB_FAILED,
		    NULL, buf_cstr(&b), NULL, 0);
		ret = st == JOB_UNKNOWN ? 1 : -1;
		goto out;
	}
	log_info("worker", "job=%" PRId64 " restored vmid=%d node=%s from=%s",
	    r->job->id, vmid, node, rs->volid);
	buf_printf(&b, "restored %s %d on %s from %s%s; it is stopped",
	    lxc ? "CT" : "VM", vmid, node, rs->volid, old != NULL ?
	    " (the old guest was overwritten)" : "");
	if (rs->keep_open)
		run_post(r, buf_cstr(&b), NULL, 0);
	else
		run_finish(r, JOB_SUCCEEDED, buf_cstr(&b), NULL, NULL, 0);
	ret = 0;
out:
	buf_release(&b);
	pve_guests_free(guests, n);
	free(node);
	free(upid);
	free(cause);
	free(err);
	return ret;
}

void
worker_restore(struct run *r, const struct cmd_call *call)
{
	const char		*newid = cmd_call_value(call, "newid");
	const char		*how = cmd_call_value(call, "force");
	const char		*errstr = NULL;
	struct restore_spec	 rs;

	memset(&rs, 0, sizeof rs);
	rs.volid = cmd_call_value(call, "backup");
	rs.storage = cmd_call_value(call, "storage");
	rs.force = how != NULL && strcmp(how, "force") == 0;
	if (newid != NULL)
		rs.vmid = (int)strtonum(newid, 100, 999999999, &errstr);
	if (rs.volid == NULL || errstr != NULL) {
		run_finish(r, JOB_FAILED, NULL, "restore needs a backup and a "
		    "valid VMID", NULL, 0);
		return;
	}
	if (rs.force && newid == NULL) {
		run_finish(r, JOB_REFUSED, NULL, "a forced restore names the "
		    "VMID it overwrites: `restore BACKUP VMID force`; nothing "
		    "was done", NULL, 0);
		return;
	}
	(void)restore_guest(r, &rs);
}
