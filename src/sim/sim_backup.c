/*
 * sim_backup.c - what the simulator does with backups beyond making them
 * (vzdump is in sim_api.c): retention (prune, with its dry run) and
 * restore, plus the admin request that places backups with a chosen
 * time, protection and type for tests.
 *
 * Wire behaviour, after pve-storage's PVE::API2::Storage::PruneBackups,
 * PVE::Storage::prune_mark_backup_group and Plugin::prune_backups, and
 * the restore paths of PVE::API2::Qemu create_vm and PVE::API2::LXC
 * create_vm, as the official schema describes them:
 * - GET /nodes/{node}/storage/{storage}/prunebackups (prune-backups,
 *   type qemu|lxc, vmid) is the dry run: every backup of the storage
 *   (of that guest, of that type) as {volid, ctime, mark, type, vmid},
 *   mark keep | remove | protected. DELETE with the same parameters
 *   runs a "prunebackups" task (id: the storage) that marks again when
 *   it runs and removes the backups marked remove, logging "removing
 *   backup 'VOLID'" for each.
 * - Marks: backups are grouped by type and VMID, newest first. A
 *   protected backup is marked protected and counts for nothing. Then
 *   keep-last, -hourly, -daily, -weekly (ISO week), -monthly and -yearly
 *   in that order each keep the newest backup of up to N periods not
 *   already covered by a kept one; whatever is left is removed. No
 *   positive option (or keep-all=1) keeps everything. Times are the
 *   node's local time, which in the simulator is UTC.
 * - prune-backups is a property string: keep-all=<1|0>, keep-last,
 *   keep-hourly, keep-daily, keep-weekly, keep-monthly, keep-yearly
 *   (integers, at least 1); anything else, a repeated key or keep-all
 *   with another option is "400 Parameter verification failed.".
 *   Without it the storage's own retention applies, which in the
 *   simulator is keep-all.
 * - POST /nodes/{node}/qemu with archive=VOLID (vmid, storage, force,
 *   unique, start, name, pool, bwlimit, live-restore) and POST
 *   /nodes/{node}/lxc with ostemplate=VOLID and restore=1 (vmid,
 *   storage, force, unique, start, hostname, pool, unprivileged,
 *   bwlimit): the simulator models restores only, so other parameters
 *   are refused as unknown. A VMID in use is "500 unable to restore VM
 *   N - VM N already exists on node 'X'" unless force=1 and it is the
 *   same kind of guest on this node; force over a running guest is
 *   "... vm is running" (CT: "can't overwrite running container"), over
 *   a protected one "... protection mode enabled". The archive must be
 *   a backup the node sees, of the endpoint's kind (a .vma for qemu, a
 *   .tar for lxc). The task (qmrestore / vzrestore, id: the VMID)
 *   writes "progress N% (read ...)" lines for a VM and, when it ends
 *   well, the guest exists, stopped, with the backed-up guest's name,
 *   tags, sizes and network configuration (net0 with its MAC, a new
 *   MAC with unique=1; ipconfig0, nameserver, searchdomain:
 *   sim_prov.c); a forced restore replaces the old guest's config and
 *   snapshots.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_int.h"
#include "util.h"

#define PRUNE_NOPTS	6

/* Retention in PVE::Storage's order: the order matters for the marks. */
static const char *const keep_names[PRUNE_NOPTS] = {
	"keep-last", "keep-hourly", "keep-daily", "keep-weekly",
	"keep-monthly", "keep-yearly",
};

struct keep {
	long long	n[PRUNE_NOPTS];
	int		all;
};

struct entry {
	struct sim_backup	*b;
	int			 lxc;
	int			 mark;	/* 0 unset, 'k', 'r', 'p' */
};

static int
backup_is_lxc(const struct sim_backup *b)
{
	return (strstr(b->volid, ":backup/vzdump-lxc-") != NULL);
}

/* The property string; 0, or -1 with the schema's sentence in *why. */
static int
keep_parse(const char *v, struct keep *k, char **why)
{
	char		*copy, *item, *save = NULL, *eq;
	const char	*errstr;
	long long	 n;
	int		 i, any = 0, seen[PRUNE_NOPTS + 1] = { 0 };

	memset(k, 0, sizeof *k);
	copy = xstrdup(v);
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if ((eq = strchr(item, '=')) == NULL) {
			*why = xasprintf("invalid format - format error\n"
			    "prune-backups.%s: missing value", item);
			goto fail;
		}
		*eq++ = '\0';
		if (strcmp(item, "keep-all") == 0) {
			if (seen[PRUNE_NOPTS]++ || (strcmp(eq, "1") != 0 &&
			    strcmp(eq, "0") != 0)) {
				*why = xasprintf("invalid format - format "
				    "error\nprune-backups.keep-all: type check "
				    "('boolean') failed - got '%s'", eq);
				goto fail;
			}
			k->all = strcmp(eq, "1") == 0;
			continue;
		}
		for (i = 0; i < PRUNE_NOPTS; i++) {
			if (strcmp(item, keep_names[i]) == 0)
				break;
		}
		if (i == PRUNE_NOPTS) {
			*why = xasprintf("invalid format - format error\n"
			    "prune-backups.%s: property is not defined in "
			    "schema and the schema does not allow additional "
			    "properties", item);
			goto fail;
		}
		if (seen[i]++) {
			*why = xasprintf("invalid format - format error\n"
			    "prune-backups.%s: duplicate key", item);
			goto fail;
		}
		n = strtonum(eq, 1, 1000000, &errstr);
		if (errstr != NULL) {
			*why = xasprintf("invalid format - format error\n"
			    "prune-backups.%s: value must be an integer of "
			    "at least 1 - got '%s'", item, eq);
			goto fail;
		}
		k->n[i] = n;
		any = 1;
	}
	free(copy);
	/* PVE::JSONSchema::validate_prune_backups */
	if (k->all && any) {
		*why = xstrdup("keep-all cannot be set together with other "
		    "options.");
		return (-1);
	}
	return (0);
fail:
	free(copy);
	return (-1);
}

/* The period a backup falls in for option i ("%Y-%m-%d" ...). */
static void
period_of(int i, int64_t ctime, char *out, size_t len)
{
	static const char *const fmts[PRUNE_NOPTS] = {
		NULL, "%Y/%m/%d/%H", "%Y/%m/%d", "%G/%V", "%Y/%m", "%Y",
	};
	struct tm	tm;
	time_t		tt = (time_t)ctime;

	if (fmts[i] == NULL) {
		snprintf(out, len, "%lld", (long long)ctime);
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, len, fmts[i], &tm);
}

static int
entry_newest_first(const void *a, const void *b)
{
	const struct entry	*x = a, *y = b;

	if (x->b->ctime != y->b->ctime)
		return (x->b->ctime > y->b->ctime ? -1 : 1);
	return (strcmp(x->b->volid, y->b->volid));
}

/* $prune_mark of PVE::Storage over one group, newest first. */
static void
mark_option(struct entry *v, int n, int opt, long long count)
{
	char	(*have)[32], (*taken)[32], id[32];
	int	 nhave = 0, ntaken = 0, i, j, found;

	if (count <= 0)
		return;
	have = xcalloc((size_t)n + 1, sizeof *have);
	taken = xcalloc((size_t)n + 1, sizeof *taken);
	for (i = 0; i < n; i++) {
		if (v[i].mark == 'k') {
			period_of(opt, v[i].b->ctime, have[nhave++],
			    sizeof have[0]);
		}
	}
	for (i = 0; i < n; i++) {
		if (v[i].mark != 0)
			continue;
		period_of(opt, v[i].b->ctime, id, sizeof id);
		for (found = 0, j = 0; j < nhave && !found; j++)
			found = strcmp(have[j], id) == 0;
		if (found)
			continue;
		for (found = 0, j = 0; j < ntaken && !found; j++)
			found = strcmp(taken[j], id) == 0;
		if (!found) {
			if (ntaken >= count)
				break;
			snprintf(taken[ntaken++], sizeof taken[0], "%s", id);
			v[i].mark = 'k';
		} else
			v[i].mark = 'r';
	}
	free(have);
	free(taken);
}

/*
 * The backups of st that node sees (of vmid and type when set), marked.
 * Caller frees *out.
 */
static int
prune_mark(struct sim *s, const struct sim_storage *st, const char *node,
    int vmid, const char *type, const struct keep *k, struct entry **out)
{
	struct entry	*v;
	int		 n = 0, i, start, end, opt, positive = 0;

	v = xcalloc((size_t)s->nbackups + 1, sizeof *v);
	for (i = 0; i < s->nbackups; i++) {
		struct sim_backup	*b = &s->backups[i];

		if (strcmp(b->storage, st->id) != 0 ||
		    (!st->shared && strcmp(b->node, node) != 0) ||
		    (vmid != 0 && b->vmid != vmid) ||
		    (type != NULL && (strcmp(type, "lxc") == 0) !=
		    backup_is_lxc(b)))
			continue;
		v[n].b = b;
		v[n].lxc = backup_is_lxc(b);
		v[n].mark = b->protected ? 'p' : 0;
		n++;
	}
	/* Groups: by type, then VMID; newest first inside. */
	for (i = 1; i < n; i++) {
		struct entry	e = v[i];
		int		j = i - 1;

		while (j >= 0 && (v[j].lxc > e.lxc || (v[j].lxc == e.lxc &&
		    (v[j].b->vmid > e.b->vmid || (v[j].b->vmid == e.b->vmid &&
		    entry_newest_first(&v[j], &e) > 0))))) {
			v[j + 1] = v[j];
			j--;
		}
		v[j + 1] = e;
	}
	for (opt = 0; opt < PRUNE_NOPTS; opt++)
		positive |= k->n[opt] > 0;
	for (start = 0; start < n; start = end) {
		for (end = start + 1; end < n && v[end].lxc == v[start].lxc &&
		    v[end].b->vmid == v[start].b->vmid; end++)
			;
		if (k->all || !positive) {
			for (i = start; i < end; i++) {
				if (v[i].mark == 0)
					v[i].mark = 'k';
			}
			continue;
		}
		for (opt = 0; opt < PRUNE_NOPTS; opt++)
			mark_option(v + start, end - start, opt, k->n[opt]);
		for (i = start; i < end; i++) {
			if (v[i].mark == 0)
				v[i].mark = 'r';
		}
	}
	*out = v;
	return (n);
}

static const char *
mark_name(int m)
{
	return (m == 'k' ? "keep" : m == 'p' ? "protected" : "remove");
}

/* The checks both prune endpoints make; the storage, or NULL. */
static struct sim_storage *
prune_storage(struct sim_call *c, struct sim_reply *r, struct keep *k)
{
	struct sim_node		*n = sim_node_find(c->sim, c->node);
	struct sim_storage	*st;
	const char		*pb = sim_param(c, "prune-backups");
	char			*why = NULL;

	if (n == NULL) {
		sim_reply_error(r, 500, "hostname lookup '%s' failed - failed "
		    "to get address info for: %s: Name or service not known",
		    c->node, c->node);
		return (NULL);
	}
	memset(k, 0, sizeof *k);
	if (pb != NULL && keep_parse(pb, k, &why) != 0) {
		r->status = 400;
		r->errors = json_pack("{ss}", "prune-backups", why);
		free(why);
		return (NULL);
	}
	if ((st = sim_storage_find(c->sim, c->storage)) == NULL) {
		sim_reply_error(r, 500, "storage '%s' does not exist",
		    c->storage);
		return (NULL);
	}
	if (strstr(st->content, "backup") == NULL) {
		sim_reply_error(r, 500, "storage '%s' does not support backups",
		    st->id);
		return (NULL);
	}
	return (st);
}

static int
has_priv(struct sim_call *c, const char *priv)
{
	return (sim_token_has(c->token, priv));
}

static void
api_prune_list(struct sim_call *c, struct sim_reply *r)
{
	struct sim_storage	*st;
	struct entry		*v = NULL;
	struct keep		 k;
	json_t			*a;
	int			 n, i;

	if ((st = prune_storage(c, r, &k)) == NULL)
		return;
	if (!has_priv(c, "Datastore.Audit") &&
	    !has_priv(c, "Datastore.AllocateSpace")) {
		sim_reply_error(r, 403, "Permission check failed (/storage/%s, "
		    "Datastore.Audit|Datastore.AllocateSpace)", st->id);
		return;
	}
	n = prune_mark(c->sim, st, c->node, (int)sim_param_int(c, "vmid", 0),
	    sim_param(c, "type"), &k, &v);
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{sssIsssssi}", "volid",
		    v[i].b->volid, "ctime", (json_int_t)v[i].b->ctime, "mark",
		    mark_name(v[i].mark), "type", v[i].lxc ? "lxc" : "qemu",
		    "vmid", v[i].b->vmid));
	free(v);
	r->data = a;
}

static void
api_prune_delete(struct sim_call *c, struct sim_reply *r)
{
	struct sim_storage	*st;
	struct sim_task		*t;
	struct keep		 k;
	int			 vmid = (int)sim_param_int(c, "vmid", 0);
	const char		*type = sim_param(c, "type");
	const char		*pb = sim_param(c, "prune-backups");

	if ((st = prune_storage(c, r, &k)) == NULL)
		return;
	if (!has_priv(c, "Datastore.Allocate") && !(vmid != 0 &&
	    has_priv(c, "Datastore.AllocateSpace") &&
	    has_priv(c, "VM.Backup"))) {
		sim_reply_error(r, 403, "Permission check failed (/storage/%s, "
		    "Datastore.Allocate)", st->id);
		return;
	}
	t = sim_task_new(c->sim, c->node, "prunebackups", st->id,
	    c->token_user);
	r->data = json_string(t->upid);
	snprintf(t->storage, sizeof t->storage, "%s", st->id);
	snprintf(t->mode, sizeof t->mode, "%s", type != NULL ? type : "");
	snprintf(t->archive, sizeof t->archive, "%s", pb != NULL ? pb : "");
	t->vmid = vmid;
	sim_task_script(c->sim, t);
}

static void
backup_remove(struct sim *s, struct sim_backup *b)
{
	int	i = (int)(b - s->backups);

	memmove(&s->backups[i], &s->backups[i + 1],
	    (size_t)(s->nbackups - i - 1) * sizeof *s->backups);
	s->nbackups--;
}

/* The prune task, when it runs: marks again, removes. */
static char *
prune_apply(struct sim *s, struct sim_task *t)
{
	struct sim_storage	*st = sim_storage_find(s, t->storage);
	struct entry		*v = NULL;
	struct keep		 k;
	char			*why = NULL, *line, (*gone)[192];
	int			 n, i, j, ngone = 0;

	if (st == NULL)
		return (xasprintf("storage '%s' does not exist", t->storage));
	if (t->archive[0] != '\0' && keep_parse(t->archive, &k, &why) != 0)
		return (why);
	if (t->archive[0] == '\0')
		memset(&k, 0, sizeof k);
	n = prune_mark(s, st, t->node, t->vmid, t->mode[0] != '\0' ?
	    t->mode : NULL, &k, &v);
	gone = xcalloc((size_t)n + 1, sizeof *gone);
	for (i = 0; i < n; i++) {
		if (v[i].mark == 'r')
			snprintf(gone[ngone++], sizeof gone[0], "%s",
			    v[i].b->volid);
	}
	free(v);
	for (i = 0; i < ngone; i++) {
		line = xasprintf("removing backup '%s'", gone[i]);
		sim_task_log(t, line);
		free(line);
		for (j = 0; j < s->nbackups; j++) {
			if (strcmp(s->backups[j].volid, gone[i]) == 0) {
				sim_storage_add_used(st, sim_node_index(s,
				    t->node), -s->backups[j].size);
				backup_remove(s, &s->backups[j]);
				break;
			}
		}
	}
	free(gone);
	return (NULL);
}

static struct sim_backup *
backup_find(struct sim *s, const char *volid)
{
	int	i;

	for (i = 0; i < s->nbackups; i++) {
		if (strcmp(s->backups[i].volid, volid) == 0)
			return (&s->backups[i]);
	}
	return (NULL);
}

/* Is a restore of vmid under way (its guest does not exist yet)? */
static int
restore_running(struct sim *s, int vmid)
{
	int	i;

	for (i = 0; i < s->ntasks; i++) {
		if (s->tasks[i]->running && s->tasks[i]->newid == vmid &&
		    (strcmp(s->tasks[i]->type, "qmrestore") == 0 ||
		    strcmp(s->tasks[i]->type, "vzrestore") == 0))
			return (1);
	}
	return (0);
}

static void
api_restore(struct sim_call *c, struct sim_reply *r, int lxc)
{
	struct sim		*s = c->sim;
	struct sim_node		*n = sim_node_find(s, c->node);
	struct sim_backup	*b;
	struct sim_guest	*g;
	struct sim_storage	*st;
	struct sim_task		*t;
	const char		*archive = sim_param(c, lxc ? "ostemplate" :
				    "archive");
	const char		*storage = sim_param(c, "storage");
	const char		*kind = lxc ? "CT" : "VM";
	int			 vmid = (int)sim_param_int(c, "vmid", 0);
	int			 force = sim_param_bool(c, "force", 0);
	char			 id[16], path[32];

	if (n == NULL) {
		sim_reply_error(r, 500, "hostname lookup '%s' failed - failed "
		    "to get address info for: %s: Name or service not known",
		    c->node, c->node);
		return;
	}
	if (archive == NULL || (lxc && !sim_param_bool(c, "restore", 0))) {
		/* Creating a guest from nothing is not modelled. */
		r->status = 400;
		r->errors = json_pack("{ss}", lxc ? "restore" : "archive",
		    "the simulator models restores only");
		return;
	}
	snprintf(path, sizeof path, "/vms/%d", vmid);
	if (!has_priv(c, "VM.Allocate")) {
		sim_reply_error(r, 403, "Permission check failed (%s, "
		    "VM.Allocate)", path);
		return;
	}
	if (storage != NULL && sim_storage_find(s, storage) == NULL) {
		sim_reply_error(r, 500, "storage '%s' does not exist", storage);
		return;
	}
	if ((b = backup_find(s, archive)) == NULL ||
	    ((st = sim_storage_find(s, b->storage)) != NULL && !st->shared &&
	    strcmp(b->node, n->name) != 0)) {
		sim_reply_error(r, 500, "volume '%s' does not exist", archive);
		return;
	}
	if (backup_is_lxc(b) != lxc) {
		sim_reply_error(r, 500, lxc ? "unable to restore CT %d - not a "
		    "container backup" : "unable to restore VM %d - not a VM "
		    "backup", vmid);
		return;
	}
	g = sim_guest_find(s, vmid);
	if (restore_running(s, vmid)) {
		sim_reply_error(r, 500, "unable to restore %s %d - %s %d is "
		    "locked (create)", kind, vmid, kind, vmid);
		return;
	}
	if (g != NULL && (!force || g->lxc != lxc ||
	    strcmp(g->node, n->name) != 0)) {
		/* PVE::Cluster::check_vmid_unused */
		sim_reply_error(r, 500, "unable to restore %s %d - %s %d "
		    "already exists on node '%s'", kind, vmid,
		    sim_guest_kind(g), vmid, g->node);
		return;
	}
	if (g != NULL) {
		if (g->lock[0] != '\0') {
			sim_reply_error(r, 500, "%s is locked (%s)",
			    sim_guest_kind(g), g->lock);
			return;
		}
		if (g->protection) {
			sim_reply_error(r, 500, "unable to restore %s %d - "
			    "protection mode enabled", kind, vmid);
			return;
		}
		if (g->running) {
			sim_reply_error(r, 500, lxc ? "unable to restore CT %d "
			    "- can't overwrite running container" : "unable to "
			    "restore VM %d - vm is running", vmid);
			return;
		}
	}
	snprintf(id, sizeof id, "%d", vmid);
	t = sim_task_new(s, n->name, lxc ? "vzrestore" : "qmrestore", id,
	    c->token_user);
	r->data = json_string(t->upid);
	t->newid = vmid;
	t->vmid = vmid;
	t->flag = force;
	t->unique = sim_param_bool(c, "unique", 0);
	snprintf(t->archive, sizeof t->archive, "%s", archive);
	snprintf(t->storage, sizeof t->storage, "%s", storage != NULL ?
	    storage : "");
	snprintf(t->newname, sizeof t->newname, "%s", sim_param(c, lxc ?
	    "hostname" : "name") != NULL ? sim_param(c, lxc ? "hostname" :
	    "name") : "");
	if (g != NULL) {
		snprintf(g->lock, sizeof g->lock, "create");
		t->locked = 1;
	}
	sim_task_script(s, t);
}

static void
api_qm_restore(struct sim_call *c, struct sim_reply *r)
{
	api_restore(c, r, 0);
}

static void
api_ct_restore(struct sim_call *c, struct sim_reply *r)
{
	api_restore(c, r, 1);
}

/* The restore task's log: what qmrestore and vzrestore print. */
void
sim_backup_script(struct sim *s, struct sim_task *t)
{
	struct sim_backup	*b = backup_find(s, t->archive);
	static const int	 pcts[] = { 10, 30, 55, 80, 100 };
	int64_t			 size = b != NULL ? b->size : 1 << 30;
	size_t			 i;

	if (strcmp(t->type, "vzrestore") == 0) {
		sim_task_script_add(t, 50, "recovering backed-up configuration "
		    "from '%s'", t->archive);
		sim_task_script_add(t, 300, "extracting archive '%s'",
		    t->archive);
		sim_task_script_add(t, 900, "Total bytes read: %lld "
		    "(%lldMiB, 100MiB/s)", (long long)size,
		    (long long)(size >> 20));
		return;
	}
	if (strcmp(t->type, "qmrestore") != 0)
		return;
	sim_task_script_add(t, 20, "restore vma archive: zstd -q -d -c %s | "
	    "vma extract -v -r /var/tmp/vzdumptmp.fifo - /var/tmp/vzdumptmp",
	    t->archive);
	for (i = 0; i < nitems(pcts); i++)
		sim_task_script_add(t, 100 + 8 * pcts[i], "progress %d%% "
		    "(read %lld bytes, duration %d sec)", pcts[i],
		    (long long)(size * pcts[i] / 100), pcts[i] / 10);
	sim_task_script_add(t, 990, "rescan volumes...");
}

/* The restore, when the task ends well: the guest as backed up. */
static char *
restore_apply(struct sim *s, struct sim_task *t)
{
	struct sim_backup	*b = backup_find(s, t->archive);
	struct sim_guest	*g;
	int			 lxc = strcmp(t->type, "vzrestore") == 0;

	if (b == NULL)
		return (xasprintf("unable to open file '%s' - No such file or "
		    "directory", t->archive));
	if ((g = sim_guest_find(s, t->newid)) != NULL) {
		/* force: the old config and its snapshots are replaced. */
		free(g->snaps);
		g->snaps = NULL;
		g->nsnaps = 0;
	} else if ((g = sim_guest_add(s, t->newid)) == NULL)
		return (xstrdup("the simulator is full"));
	g->lxc = lxc;
	g->running = 0;
	g->paused = 0;
	g->cpu = 0;
	g->mem = 0;
	g->lock[0] = '\0';
	snprintf(g->node, sizeof g->node, "%s", t->node);
	snprintf(g->name, sizeof g->name, "%s", t->newname[0] != '\0' ?
	    t->newname : b->name[0] != '\0' ? b->name : "restored");
	snprintf(g->tags, sizeof g->tags, "%s", b->tags);
	g->maxcpu = b->maxcpu > 0 ? b->maxcpu : 1;
	g->maxmem = b->maxmem > 0 ? b->maxmem : (int64_t)1 << 30;
	g->maxdisk = b->maxdisk > 0 ? b->maxdisk : (int64_t)8 << 30;
	sim_prov_restore(g, b, t->unique);
	g->digest_gen++;
	return (NULL);
}

char *
sim_backup_task_apply(struct sim *s, struct sim_task *t)
{
	if (strcmp(t->type, "prunebackups") == 0)
		return (prune_apply(s, t));
	return (restore_apply(s, t));
}

int
sim_backup_task(const struct sim_task *t)
{
	return (strcmp(t->type, "prunebackups") == 0 ||
	    strcmp(t->type, "qmrestore") == 0 ||
	    strcmp(t->type, "vzrestore") == 0);
}

/*
 * POST /_sim/backup: {"storage":"nas-backup","vmid":101,"ctime":EPOCH,
 * "lxc":false,"protected":false,"node":"pve1"} adds a backup (node only
 * for a local storage); {"storage":..,"vmid":..,"clear":true} removes
 * that guest's backups on the storage.
 */
int
sim_backup_admin(struct sim *s, json_t *o, char **cause)
{
	struct sim_storage	*st;
	struct sim_guest	*g;
	struct sim_backup	*b;
	const char		*storage, *node;
	json_t			*jv = json_object_get(o, "vmid");
	int			 vmid, i, lxc;
	int64_t			 when;

	storage = json_string_value(json_object_get(o, "storage"));
	if (storage == NULL || (st = sim_storage_find(s, storage)) == NULL)
		return (set_cause(cause, "backup: unknown or missing storage"));
	if (!json_is_integer(jv) || json_integer_value(jv) < 100 ||
	    json_integer_value(jv) > 999999999)
		return (set_cause(cause, "backup: bad or missing vmid"));
	vmid = (int)json_integer_value(jv);
	if (json_is_true(json_object_get(o, "clear"))) {
		for (i = s->nbackups - 1; i >= 0; i--) {
			if (s->backups[i].vmid == vmid &&
			    strcmp(s->backups[i].storage, st->id) == 0)
				backup_remove(s, &s->backups[i]);
		}
		return (0);
	}
	node = json_string_value(json_object_get(o, "node"));
	if (!st->shared && (node == NULL || sim_node_find(s, node) == NULL))
		return (set_cause(cause, "backup: a local storage needs a "
		    "node"));
	when = json_integer_value(json_object_get(o, "ctime"));
	if (when <= 0)
		return (set_cause(cause, "backup: bad or missing ctime"));
	g = sim_guest_find(s, vmid);
	lxc = json_is_boolean(json_object_get(o, "lxc")) ?
	    json_is_true(json_object_get(o, "lxc")) : g != NULL && g->lxc;
	if (s->nbackups >= SIM_MAX_BACKUPS)
		return (set_cause(cause, "backup: the simulator is full"));
	sim_add_backup(s, st->id, st->shared ? "" : node, vmid, lxc, when,
	    (int64_t)1 << 30, "zstd");
	b = &s->backups[s->nbackups - 1];
	b->protected = json_is_true(json_object_get(o, "protected"));
	return (0);
}

/* Parameter tables: hand-written from the official schema. */
#define P_END		{ .name = NULL }
#define P_NODE		{ .name = "node", .type = PT_STR, .in_path = 1,	\
			    .fmt = F_NODE }
#define OPT_BOOL(n)	{ .name = n, .type = PT_BOOL, .optional = 1 }

static const struct sim_param p_prune[] = { P_NODE,
	{ .name = "storage", .type = PT_STR, .in_path = 1,
	    .fmt = F_STORAGEID },
	{ .name = "prune-backups", .type = PT_STR, .optional = 1 },
	{ .name = "type", .type = PT_STR, .optional = 1,
	    .enumv = "qemu,lxc" },
	{ .name = "vmid", .type = PT_INT, .optional = 1, .has_min = 1,
	    .min = 100, .has_max = 1, .max = 999999999 },
	P_END };
static const struct sim_param p_qm_restore[] = { P_NODE,
	{ .name = "vmid", .type = PT_INT, .has_min = 1, .min = 100,
	    .has_max = 1, .max = 999999999 },
	{ .name = "archive", .type = PT_STR, .optional = 1, .maxlen = 255 },
	{ .name = "storage", .type = PT_STR, .optional = 1,
	    .fmt = F_STORAGEID },
	OPT_BOOL("force"), OPT_BOOL("unique"), OPT_BOOL("start"),
	OPT_BOOL("live-restore"),
	{ .name = "name", .type = PT_STR, .optional = 1, .fmt = F_DNSNAME },
	{ .name = "pool", .type = PT_STR, .optional = 1 },
	{ .name = "bwlimit", .type = PT_INT, .optional = 1, .has_min = 1,
	    .min = 0 },
	P_END };
static const struct sim_param p_ct_restore[] = { P_NODE,
	{ .name = "vmid", .type = PT_INT, .has_min = 1, .min = 100,
	    .has_max = 1, .max = 999999999 },
	{ .name = "ostemplate", .type = PT_STR, .maxlen = 255 },
	{ .name = "storage", .type = PT_STR, .optional = 1,
	    .fmt = F_STORAGEID },
	OPT_BOOL("restore"), OPT_BOOL("force"), OPT_BOOL("unique"),
	OPT_BOOL("start"), OPT_BOOL("unprivileged"),
	{ .name = "hostname", .type = PT_STR, .optional = 1,
	    .fmt = F_DNSNAME, .maxlen = 255 },
	{ .name = "pool", .type = PT_STR, .optional = 1 },
	{ .name = "bwlimit", .type = PT_NUM, .optional = 1, .has_min = 1,
	    .min = 0 },
	P_END };

const struct sim_route sim_backup_routes[] = {
	{ "GET", "/nodes/{node}/storage/{storage}/prunebackups",
	    api_prune_list, p_prune },
	{ "DELETE", "/nodes/{node}/storage/{storage}/prunebackups",
	    api_prune_delete, p_prune },
	{ "POST", "/nodes/{node}/qemu", api_qm_restore, p_qm_restore },
	{ "POST", "/nodes/{node}/lxc", api_ct_restore, p_ct_restore },
};
const size_t sim_backup_nroutes = nitems(sim_backup_routes);
