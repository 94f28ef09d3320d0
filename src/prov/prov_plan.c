/*
 * prov_plan.c - clone by convention (`clone-to GUEST NODE`),
 * `replicate TEMPLATE [NODES]` and restore as a new guest by convention
 * (`restore-to BACKUP NODE`): the plan made before the approval, and
 * the action that carries it out.
 *
 * The plan. The router never calls Proxmox, so a command whose built-in
 * makes a plan (prov_has_plan) goes to a worker as a lookup (state
 * `resolving`). Before the worker lets the policy decide,
 * prov_plan_pending() reads every
 * guest's configuration and /cluster/nextid, and in one BEGIN IMMEDIATE
 * transaction reserves for each target node a VMID, a name, an address
 * and a MAC in the allocation table (prov_alloc, rows of kind vmid,
 * name, ip, mac under the job's id). The approval request shows those
 * rows (prov_plan_text), so what is approved is exactly what will be
 * created, and no other job can be given any of it meanwhile. A plan
 * that cannot be made (no conventions for the node, a full range, a
 * guest whose configuration cannot be read) fails the job, nothing
 * reserved.
 *
 * The action. For each target in turn: the clone (a step whose intent is
 * recorded first, then its task followed), then the clone's own
 * configuration rewritten (net0 with the reserved MAC, bridge and, for a
 * container, ip=/gw=; a VM's cloud-init ipconfig0; nameserver and
 * searchdomain when the conventions give them). One target failing does
 * not stop the others; its reservations are released, and the message
 * keeps one line per target with what happened to it. restore-to plans
 * one target of the archive's kind (vzdump-qemu: a VM, vzdump-lxc: a
 * container), restores the archive there under the reserved VMID and
 * name, then rewrites its configuration with the very code a clone's
 * goes through (address_one), so the restored guest never keeps the
 * original's name, address or MAC.
 *
 * Reservations of a job that was denied, expired, cancelled, refused or
 * failed are released at the next allocation (prov_sweep), those of one
 * whose outcome is unknown are kept until a person looks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "builtin.h"
#include "cmd.h"
#include "exec_proxmox.h"
#include "guest_index.h"
#include "jobs.h"
#include "log.h"
#include "outbox.h"
#include "chat.h"
#include "prov.h"
#include "prov_int.h"
#include "store.h"
#include "store_prov.h"
#include "util.h"
#include "../exec/worker_int.h"

#define PLAN_MAX_TARGETS	16
#define NAME_MAX_SEQ		9999

struct target {
	char	 node[64];
	int	 vmid;
	char	 name[96];
	char	 ip[16];
	char	 mac[18];
	char	 status[512];
	int	 ok;
};

/* The job's live reservations, one target per VMID, in VMID order. */
static int
plan_load(struct store *s, int64_t job, struct target **out, size_t *n)
{
	struct prov_row	*rows;
	struct target	*t = NULL, *cur = NULL;
	size_t		 nrows, i;

	*out = NULL;
	*n = 0;
	if (prov_rows_of_job(s, job, &rows, &nrows) != 0) {
		prov_rows_free(rows, nrows);
		return -1;
	}
	for (i = 0; i < nrows; i++) {
		const struct prov_row	*r = &rows[i];

		if (cur == NULL || cur->vmid != r->vmid) {
			t = xreallocarray(t, *n + 1, sizeof *t);
			cur = &t[(*n)++];
			memset(cur, 0, sizeof *cur);
			cur->vmid = r->vmid;
			snprintf(cur->node, sizeof cur->node, "%s", r->node);
		}
		if (strcmp(r->kind, "name") == 0)
			snprintf(cur->name, sizeof cur->name, "%s", r->value);
		else if (strcmp(r->kind, "ip") == 0)
			snprintf(cur->ip, sizeof cur->ip, "%s", r->value);
		else if (strcmp(r->kind, "mac") == 0)
			snprintf(cur->mac, sizeof cur->mac, "%s", r->value);
	}
	prov_rows_free(rows, nrows);
	*out = t;
	return 0;
}

char *
prov_plan_text(struct store *s, int64_t job)
{
	struct target	*t;
	struct buf	 b;
	size_t		 n, i;

	if (plan_load(s, job, &t, &n) != 0 || n == 0) {
		free(t);
		return NULL;
	}
	buf_init(&b, 64 << 10);
	buf_printf(&b, "will create %zu guest%s:", n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++)
		buf_printf(&b, "\n  %s: VMID %d %s, %s, MAC %s", t[i].node,
		    t[i].vmid, t[i].name, t[i].ip, t[i].mac);
	free(t);
	return buf_steal(&b);
}

/* ---- the plan ---------------------------------------------------- */

static const struct pve_guest *
find_source(const struct pve_guest *g, size_t n, const char *ref)
{
	const struct pve_guest	*hit = NULL;
	const char		*errstr;
	long long		 id;
	size_t			 i;

	id = strtonum(ref, 100, 999999999, &errstr);
	for (i = 0; i < n; i++) {
		if (errstr == NULL ? g[i].vmid == id : g[i].name != NULL &&
		    strcmp(g[i].name, ref) == 0) {
			if (hit != NULL)
				return NULL;	/* ambiguous: the router says */
			hit = &g[i];
		}
	}
	return hit;
}

static int
name_taken(const struct prov_used *u, const char *name)
{
	size_t	 i;

	for (i = 0; i < u->nnames; i++) {
		if (strcasecmp(u->names[i], name) == 0)
			return 1;
	}
	return 0;
}

static int
vmid_taken(const struct pve_guest *g, size_t n, int vmid)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (g[i].vmid == vmid)
			return 1;
	}
	return 0;
}

/* /cluster/nextid: Proxmox's answer, a number or a number in a string. */
static int
cluster_nextid(struct pve *pve, int *id, char **cause)
{
	json_t		*data = NULL;
	const char	*errstr = NULL;
	long long	 v = 0;

	if (pve_request(pve, "GET", "/cluster/nextid", NULL, 0, &data,
	    cause) != PVE_OK)
		return -1;
	if (json_is_integer(data))
		v = json_integer_value(data);
	else if (json_is_string(data))
		v = strtonum(json_string_value(data), 100, 999999999, &errstr);
	json_decref(data);
	if (v < 100 || v > 999999999 || errstr != NULL)
		return set_cause(cause, "/cluster/nextid returned no VMID");
	*id = (int)v;
	return 0;
}

/*
 * Reserves a VMID, name, address and MAC on each node for a guest of
 * the source's type (ref: clone-to, replicate) or of `kind` ("vm" or
 * "ct": restore-to, whose source is an archive).
 */
static int
plan_targets(struct app *app, struct store *s, const struct job *j,
    const char *ref, const char *kind_given, char **nodes, size_t nnodes,
    char **cause)
{
	const struct prov_conf	*pc = app->prov;
	const struct prov_node	*pn;
	const struct pve_guest	*src;
	struct pve_guest	*guests = NULL;
	struct prov_used	 u;
	const char		*kind;
	char			 idtext[16], *name = NULL;
	size_t			 ng = 0, i;
	uint32_t		 ip;
	int			 next = 0, seq, l, rc = -1;
	char			 mac[18];

	memset(&u, 0, sizeof u);
	for (i = 0; i < nnodes; i++) {
		if (prov_conf_node(pc, nodes[i]) == NULL)
			return set_cause(cause, "node %s has no subnet in %s; "
			    "nothing was done", nodes[i], pc->file);
	}
	if (prov_read_used(app->pve, &u, &guests, &ng, NULL, cause) != 0)
		goto out;
	if (kind_given != NULL)
		kind = kind_given;
	else if ((src = find_source(guests, ng, ref)) == NULL) {
		rc = 0;	/* the router's resolution names the problem */
		goto out;
	} else
		kind = strcmp(src->type, "lxc") == 0 ? "ct" : "vm";
	if (cluster_nextid(app->pve, &next, cause) != 0)
		goto out;
	if (store_begin(s) != 0) {
		set_cause(cause, "the database is busy; try again");
		goto out;
	}
	prov_sweep(s);
	for (i = 0; i < nnodes; i++) {
		pn = prov_conf_node(pc, nodes[i]);
		for (;; next++) {
			snprintf(idtext, sizeof idtext, "%d", next);
			if (vmid_taken(guests, ng, next))
				continue;
			if ((l = prov_row_live(s, "vmid", idtext, 1)) < 0)
				goto fail;
			if (l == 0)
				break;
		}
		if (prov_row_add(s, "vmid", idtext, pn->node, j->id, next,
		    cause) != 0)
			goto fail;
		for (seq = 1; seq <= NAME_MAX_SEQ; seq++) {
			free(name);
			name = prov_name_format(pc->name_pattern, pn->node,
			    kind, seq, next);
			if (name_taken(&u, name))
				continue;
			if ((l = prov_row_live(s, "name", name, 1)) < 0)
				goto fail;
			if (l == 0)
				break;
		}
		if (seq > NAME_MAX_SEQ) {
			set_cause(cause, "no free name by %s on %s",
			    pc->name_pattern, pn->node);
			goto fail;
		}
		if (prov_row_add(s, "name", name, pn->node, j->id, next,
		    cause) != 0 ||
		    prov_alloc_ip(s, pn, prov_range_of(pn, kind), &u, j->id,
		    next, &ip, cause) != 0 ||
		    prov_alloc_mac(s, pc, &u, pn->node, j->id, next, mac,
		    cause) != 0)
			goto fail;
		next++;
	}
	if (store_commit(s) != 0) {
		set_cause(cause, "the reservation could not be saved");
		goto out;
	}
	rc = 0;
	goto out;
fail:
	store_rollback(s);
	if (*cause == NULL)
		set_cause(cause, "cannot read the allocation table");
out:
	free(name);
	prov_used_release(&u);
	pve_guests_free(guests, ng);
	return rc;
}

/* The nodes a replicate goes to: those named, or every other one. */
static char **
replicate_nodes(struct app *app, const struct cmd_call *call,
    const char *src_node, size_t *n, char **cause)
{
	const char	*list = cmd_call_value(call, "nodes");
	char		**v = NULL, *copy, *tok, *save;
	size_t		 i;

	*n = 0;
	if (list != NULL) {
		copy = xstrdup(list);
		for (tok = strtok_r(copy, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			for (i = 0; i < *n; i++) {
				if (strcmp(v[i], tok) == 0)
					break;
			}
			if (i < *n)
				continue;	/* named twice */
			v = xreallocarray(v, *n + 1, sizeof *v);
			v[(*n)++] = xstrdup(tok);
		}
		free(copy);
	} else {
		for (i = 0; i < app->prov->nnodes; i++) {
			if (src_node != NULL &&
			    strcmp(app->prov->nodes[i].node, src_node) == 0)
				continue;
			v = xreallocarray(v, *n + 1, sizeof *v);
			v[(*n)++] = xstrdup(app->prov->nodes[i].node);
		}
	}
	if (*n == 0 || *n > PLAN_MAX_TARGETS) {
		set_cause(cause, *n == 0 ? "no node to replicate to" :
		    "at most %d nodes at once", PLAN_MAX_TARGETS);
		strv_free(v, *n);
		*n = 0;
		return NULL;
	}
	return v;
}

static int
plan_call(struct app *app, struct store *s, const struct job *j,
    const struct cmd_call *call, char **cause)
{
	const char		*ref = cmd_call_value(call, "guest");
	const struct guest_view	*view;
	struct pve_guest	 g;
	char			**nodes, *one[1], *why = NULL;
	size_t			 n;
	int			 rc;

	if (app->prov == NULL)
		return set_cause(cause, "no provisioning conventions "
		    "(bot.conf: provisioning: FILE); nothing was done");
	if (app->pve == NULL)
		return set_cause(cause, "no Proxmox endpoint is configured");
	if (ref == NULL)
		ref = cmd_call_value(call, "template");
	if (strcmp(call->def->builtin, "clone_to") == 0) {
		one[0] = (char *)cmd_call_value(call, "to");
		return plan_targets(app, s, j, ref, NULL, one, 1, cause);
	}
	if (strcmp(call->def->builtin, "restore_to") == 0) {
		const char	*volid = cmd_call_value(call, "backup");
		char		 storage[64];
		int		 lxc, orig;

		if (volid == NULL || restore_archive_parse(volid, storage,
		    sizeof storage, &lxc, &orig) != 0)
			return set_cause(cause, "'%s' is not the name of a "
			    "vzdump backup (STORAGE:backup/vzdump-qemu|lxc-"
			    "VMID-...); nothing was done", volid != NULL ?
			    volid : "");
		one[0] = (char *)cmd_call_value(call, "to");
		if (one[0] != NULL && prov_conf_node(app->prov, one[0]) !=
		    NULL && (rc = restore_archive_visible(app->pve, one[0],
		    storage, volid, orig, &why)) != 1) {
			set_cause(cause, "node %s does not see backup %s%s%s; "
			    "nothing was done", one[0], volid, rc < 0 ? ": " :
			    "", rc < 0 ? why : "");
			free(why);
			return -1;
		}
		return plan_targets(app, s, j, NULL, lxc ? "ct" : "vm", one,
		    1, cause);
	}
	/* replicate: the template's node, to leave it out by default. */
	memset(&g, 0, sizeof g);
	view = guest_index_get(app->guests);
	if (view == NULL || guest_view_resolve(view, ref, &g, &why) != 0) {
		guest_view_release(view);
		free(why);
		return 0;	/* the router's resolution names it */
	}
	guest_view_release(view);
	if (!g.is_template) {
		set_cause(cause, "%d %s is not a template; replicate copies a "
		    "template to other nodes (clone-to copies one guest)",
		    g.vmid, g.name);
		pve_guest_release(&g);
		return -1;
	}
	nodes = replicate_nodes(app, call, g.node, &n, cause);
	pve_guest_release(&g);
	if (nodes == NULL)
		return -1;
	rc = plan_targets(app, s, j, ref, NULL, nodes, n, cause);
	strv_free(nodes, n);
	return rc;
}

int
prov_plan_pending(struct app *app, struct store *s, int64_t id,
    const struct catalogue *cat)
{
	struct cmd_parse_opts	 opts = { .direct = 1, .addressed = 1 };
	struct cmd_call		 call;
	struct job		 j;
	char			*cause = NULL, *title, *msg;
	int			 rc = 0;

	memset(&j, 0, sizeof j);
	if (jobs_get(s, id, &j) != 0 || j.state != JOB_RESOLVING) {
		job_release(&j);
		return 0;
	}
	opts.now = j.created_at;
	if (cmd_parse(cat, j.command, &opts, &call, &cause) != CMD_PARSE_OK) {
		free(cause);
		job_release(&j);
		return 0;	/* the resolution reports it */
	}
	if (call.def->exec != CMD_EXEC_BUILTIN ||
	    !prov_has_plan(call.def->builtin) || prov_job_holds(s, id) == 1) {
		cmd_call_release(&call);
		job_release(&j);
		return 0;
	}
	if (plan_call(app, s, &j, &call, &cause) == 0) {
		cmd_call_release(&call);
		job_release(&j);
		return 0;
	}
	/* No plan: the job ends here, with why. */
	msg = xstrdup(cause != NULL ? cause : "no plan could be made");
	if (store_begin(s) == 0) {
		struct chat_msg	 m;

		title = xasprintf("Job #%" PRId64 ": %s", j.id, j.command);
		m = (struct chat_msg){ .title = title, .text = msg };
		if (jobs_transition(s, id, JOB_RESOLVING, JOB_FAILED, "pvebot",
		    NULL, msg, NULL) == 0 && (j.msg_id <= 0 ||
		    outbox_edit(s, j.msg_id, &m) == 0))
			rc = store_commit(s) == 0 ? -1 : 0;
		else
			store_rollback(s);
		free(title);
	}
	log_info("prov", "job=%" PRId64 " no plan: %s", id, msg);
	free(msg);
	free(cause);
	cmd_call_release(&call);
	job_release(&j);
	return rc;
}

int
prov_has_plan(const char *builtin)
{
	return builtin != NULL && (strcmp(builtin, "clone_to") == 0 ||
	    strcmp(builtin, "replicate") == 0 ||
	    strcmp(builtin, "restore_to") == 0);
}

/* ---- the action -------------------------------------------------- */

/*
 * The clone's net0 rewritten: the MAC (a VM's MODEL= or macaddr=, a
 * container's hwaddr=) replaced by ours, bridge set, and for a
 * container ip= and gw= set; other items (firewall, tag, mtu) kept.
 */
static char *
net0_rewrite(const char *cur, int lxc, const struct target *t,
    const struct prov_node *pn, const char *bridge)
{
	static const char *const drop[] = { "bridge", "hwaddr", "macaddr",
		"ip", "gw", "model", NULL };
	static const char *const qm_keys[] = { "bridge", "firewall",
		"link_down", "mtu", "queues", "rate", "tag", "trunks",
		"macaddr", "model", NULL };
	struct buf	 kept, out;
	const char	*p, *e, *eq;
	char		 gw[16], model[32];
	size_t		 i, kl;
	int		 keep, known, have_name = 0;

	prov_ip_format(pn->gateway, gw);
	snprintf(model, sizeof model, "virtio");
	buf_init(&kept, 4096);
	buf_init(&out, 4096);
	for (p = cur != NULL ? cur : ""; *p != '\0';
	    p = *e != '\0' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if ((eq = memchr(p, '=', (size_t)(e - p))) == NULL)
			continue;
		kl = (size_t)(eq - p);
		for (known = 0, i = 0; qm_keys[i] != NULL; i++)
			known |= strlen(qm_keys[i]) == kl &&
			    strncmp(p, qm_keys[i], kl) == 0;
		if (!lxc && !known && kl < sizeof model) {
			/* "virtio=MAC": the model is the key. */
			snprintf(model, sizeof model, "%.*s", (int)kl, p);
			continue;
		}
		if (!lxc && kl == 5 && strncmp(p, "model", 5) == 0 &&
		    (size_t)(e - eq - 1) < sizeof model) {
			snprintf(model, sizeof model, "%.*s",
			    (int)(e - eq - 1), eq + 1);
			continue;
		}
		for (keep = 1, i = 0; drop[i] != NULL; i++) {
			if (strlen(drop[i]) == kl &&
			    strncmp(p, drop[i], kl) == 0)
				keep = 0;
		}
		have_name |= kl == 4 && strncmp(p, "name", 4) == 0;
		if (keep)
			buf_printf(&kept, "%.*s,", (int)(e - p), p);
	}
	if (lxc)
		buf_printf(&out, "%s%sbridge=%s,hwaddr=%s,ip=%s/%d,gw=%s",
		    have_name ? "" : "name=eth0,", buf_cstr(&kept), bridge,
		    t->mac, t->ip, pn->prefix, gw);
	else
		buf_printf(&out, "%s=%s,%sbridge=%s", model, t->mac,
		    buf_cstr(&kept), bridge);
	buf_release(&kept);
	return buf_steal(&out);
}

/*
 * The new guest's own configuration, by convention: net0 rewritten
 * (net0_rewrite), a VM's cloud-init ipconfig0, nameserver and
 * searchdomain; a step recorded before the PUT. `made` is what was done
 * before ("cloned", "restored") for the message when this fails. 0
 * (t->status "created", t->ok), -1 failed, 1 outcome unknown.
 */
static int
address_one(struct run *r, const char *type, struct target *t,
    const char *made)
{
	const struct prov_conf	*pc = r->app->prov;
	const struct prov_node	*pn = prov_conf_node(pc, t->node);
	struct pve_param	 p[4];
	struct pve_guest	 ng;
	json_t			*cfg = NULL;
	char			 gw[16], *path, *upid = NULL, *cause = NULL;
	char			*net0, *ipcfg = NULL, stepname[160];
	const char		*bridge;
	int64_t			 step = 0;
	int			 lxc = strcmp(type, "lxc") == 0, np = 0, rc;

	if (pn == NULL) {
		snprintf(t->status, sizeof t->status, "%s, but not addressed: "
		    "no conventions for %s", made, t->node);
		return -1;
	}
	bridge = pn->bridge != NULL ? pn->bridge : pc->bridge;
	/* The guest's configuration, as Proxmox made it. */
	memset(&ng, 0, sizeof ng);
	ng.vmid = t->vmid;
	ng.node = t->node;
	ng.type = (char *)type;
	path = pve_guest_path(&ng, "/config");
	if (pve_request(r->app->pve, "GET", path, NULL, 0, &cfg, &cause) !=
	    PVE_OK) {
		snprintf(t->status, sizeof t->status, "%s, but its "
		    "configuration cannot be read: %s; address it by hand",
		    made, cause);
		free(cause);
		free(path);
		return -1;
	}
	net0 = net0_rewrite(json_string_value(json_object_get(cfg, "net0")),
	    lxc, t, pn, bridge);
	json_decref(cfg);
	p[np++] = (struct pve_param){ "net0", net0 };
	if (!lxc) {
		prov_ip_format(pn->gateway, gw);
		ipcfg = xasprintf("ip=%s/%d,gw=%s", t->ip, pn->prefix, gw);
		p[np++] = (struct pve_param){ "ipconfig0", ipcfg };
	}
	if (pc->nameserver != NULL)
		p[np++] = (struct pve_param){ "nameserver", pc->nameserver };
	if (pc->searchdomain != NULL)
		p[np++] = (struct pve_param){ "searchdomain",
		    pc->searchdomain };
	snprintf(stepname, sizeof stepname, "address %d", t->vmid);
	rc = run_step(r, stepname, "PUT", path, p, (size_t)np, t->node, NULL,
	    t->vmid, 0, &step, &upid, &cause);
	free(path);
	free(upid);
	free(net0);
	free(ipcfg);
	if (rc != 0) {
		snprintf(t->status, sizeof t->status, "%s, but not "
		    "addressed: %s", made, cause);
		free(cause);
		return rc > 0 ? 1 : -1;
	}
	snprintf(t->status, sizeof t->status, "created");
	t->ok = 1;
	return 0;
}

/* Clones src to one target and addresses it; 0, or -1 (t->status). */
static int
clone_one(struct run *r, const struct pve_guest *src, struct target *t,
    int *stopping)
{
	struct pve_param	 p[3];
	enum job_state		 st;
	char			 newid[16], *path, *upid = NULL;
	char			*cause = NULL, *err = NULL;
	char			 stepname[160];
	int64_t			 step = 0;
	int			 lxc = strcmp(src->type, "lxc") == 0, np = 0, rc;

	*stopping = 0;
	if (prov_conf_node(r->app->prov, t->node) == NULL) {
		snprintf(t->status, sizeof t->status, "failed: no conventions "
		    "for %s", t->node);
		return -1;
	}
	snprintf(newid, sizeof newid, "%d", t->vmid);
	p[np++] = (struct pve_param){ "newid", newid };
	p[np++] = (struct pve_param){ lxc ? "hostname" : "name", t->name };
	if (strcmp(src->node, t->node) != 0)
		p[np++] = (struct pve_param){ "target", t->node };
	path = pve_guest_path(src, "/clone");
	snprintf(stepname, sizeof stepname, "clone %d to %s", t->vmid,
	    t->node);
	rc = run_step(r, stepname, "POST", path, p, (size_t)np, src->node,
	    task_type("guest.clone", src->type), src->vmid, 1, &step, &upid,
	    &cause);
	free(path);
	if (rc != 0) {
		snprintf(t->status, sizeof t->status, "%s: %s", rc > 0 ?
		    "outcome unknown" : "failed", cause);
		free(cause);
		free(upid);
		return rc > 0 ? 1 : -1;
	}
	st = follow_task(r, upid, &err);
	free(upid);
	if (st == JOB_RUNNING) {
		*stopping = 1;
		return -1;
	}
	jobs_step_finish(r->store, step, st == JOB_SUCCEEDED ? STEP_DONE :
	    st == JOB_UNKNOWN ? STEP_UNKNOWN : STEP_FAILED);
	if (st != JOB_SUCCEEDED) {
		snprintf(t->status, sizeof t->status, "%s: %s",
		    st == JOB_UNKNOWN ? "outcome unknown" : "clone failed",
		    err != NULL ? err : "the task failed");
		free(err);
		return st == JOB_UNKNOWN ? 1 : -1;
	}
	free(err);
	return address_one(r, src->type, t, "cloned");
}

static void
table(struct buf *b, const struct target *t, size_t n)
{
	size_t	 i;

	buf_puts(b, "node | VMID | name | IP | MAC | status");
	for (i = 0; i < n; i++)
		buf_printf(b, "\n%s | %d | %s | %s | %s | %s", t[i].node,
		    t[i].vmid, t[i].name, t[i].ip, t[i].mac, t[i].status);
}

static void
progress(struct run *r, const char *head, const struct target *t,
    size_t n)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 64 << 10);
	buf_puts(&b, head);
	for (i = 0; i < n; i++)
		buf_printf(&b, "\n%s: %d %s %s %s: %s", t[i].node, t[i].vmid,
		    t[i].name, t[i].ip, t[i].mac, t[i].status);
	run_post(r, buf_cstr(&b), NULL, 0);
	buf_release(&b);
}

void
prov_op_clone(struct run *r, const struct cmd_call *call)
{
	const char	*ref = cmd_call_value(call, "guest");
	struct pve_guest src;
	struct target	*t = NULL;
	struct buf	 b;
	char		*cause = NULL, *head;
	size_t		 n = 0, i, nok = 0, nunknown = 0;
	int		 stopping = 0, rc;

	if (ref == NULL)
		ref = cmd_call_value(call, "template");
	memset(&src, 0, sizeof src);
	if (r->app->pve == NULL || r->app->prov == NULL) {
		run_finish(r, JOB_FAILED, NULL, "no Proxmox endpoint or no "
		    "provisioning conventions", NULL, 0);
		return;
	}
	if (pve_resolve_guest(r->app->pve, ref, &src, &cause) != PVE_OK) {
		char *msg = xasprintf("cannot find %s: %s; nothing was done",
		    ref, cause != NULL ? cause : "no guest list");

		run_finish(r, JOB_FAILED, NULL, msg, NULL, 0);
		free(msg);
		free(cause);
		return;
	}
	if (plan_load(r->store, r->job->id, &t, &n) != 0 || n == 0) {
		run_finish(r, JOB_FAILED, NULL, "this job has no reserved "
		    "VMID, name, address and MAC (released?); nothing was "
		    "done", NULL, 0);
		pve_guest_release(&src);
		free(t);
		return;
	}
	for (i = 0; i < n; i++)
		snprintf(t[i].status, sizeof t[i].status, "waiting");
	head = xasprintf("%s %d %s:", n == 1 ? "cloning" : "replicating",
	    src.vmid, src.name);
	for (i = 0; i < n; i++) {
		snprintf(t[i].status, sizeof t[i].status, "cloning");
		progress(r, head, t, n);
		rc = clone_one(r, &src, &t[i], &stopping);
		if (stopping)
			goto out;	/* recovery follows the step */
		if (rc == 0)
			nok++;
		else if (rc > 0)
			nunknown++;
		else
			prov_release_target(r->store, r->job->id, t[i].vmid);
		log_info("prov", "job=%" PRId64 " node=%s vmid=%d status=%s",
		    r->job->id, t[i].node, t[i].vmid, t[i].status);
		progress(r, head, t, n);
	}
	buf_init(&b, 64 << 10);
	buf_printf(&b, "%zu of %zu created\n", nok, n);
	table(&b, t, n);
	if (nok == n)
		run_finish(r, JOB_SUCCEEDED, buf_cstr(&b), NULL, NULL, 0);
	else
		run_finish(r, nunknown > 0 ? JOB_UNKNOWN : JOB_FAILED, NULL,
		    buf_cstr(&b), NULL, 0);
	buf_release(&b);
out:
	free(head);
	free(t);
	pve_guest_release(&src);
}

/*
 * `restore-to BACKUP NODE`: the archive restored (worker_backup.c's
 * restore_guest) onto the reserved node, VMID and name, with unique=1 so
 * that not even for a moment does it carry the original's MAC, then
 * addressed by convention exactly as a clone is (address_one). A restore
 * that did not happen gives its reservations back; one whose outcome is
 * unknown keeps them until a person looks.
 */
void
prov_op_restore(struct run *r, const struct cmd_call *call)
{
	const char		*volid = cmd_call_value(call, "backup");
	struct restore_spec	 rs;
	struct pve_param	 extra[2];
	struct target		*t = NULL;
	struct buf		 b;
	char			 storage[64], *head = NULL;
	size_t			 n = 0;
	int			 lxc, orig, rc;

	if (r->app->pve == NULL || r->app->prov == NULL) {
		run_finish(r, JOB_FAILED, NULL, "no Proxmox endpoint or no "
		    "provisioning conventions", NULL, 0);
		return;
	}
	if (volid == NULL || restore_archive_parse(volid, storage,
	    sizeof storage, &lxc, &orig) != 0) {
		run_finish(r, JOB_FAILED, NULL, "restore-to needs the name of "
		    "a vzdump backup; nothing was done", NULL, 0);
		return;
	}
	if (plan_load(r->store, r->job->id, &t, &n) != 0 || n != 1) {
		run_finish(r, JOB_FAILED, NULL, "this job has no reserved "
		    "VMID, name, address and MAC (released?); nothing was "
		    "done", NULL, 0);
		free(t);
		return;
	}
	head = xasprintf("restoring %s as a new guest:", volid);
	snprintf(t->status, sizeof t->status, "restoring");
	progress(r, head, t, n);
	memset(&rs, 0, sizeof rs);
	extra[0] = (struct pve_param){ lxc ? "hostname" : "name", t->name };
	extra[1] = (struct pve_param){ "unique", "1" };
	rs.volid = volid;
	rs.node = t->node;
	rs.vmid = t->vmid;
	rs.extra = extra;
	rs.nextra = nitems(extra);
	rs.keep_open = 1;
	rc = restore_guest(r, &rs);
	if (rc != 0) {
		/* The job is finished, with why. */
		if (rc < 0)
			prov_release_target(r->store, r->job->id, t->vmid);
		log_info("prov", "job=%" PRId64 " restore to %s vmid=%d not "
		    "done", r->job->id, t->node, t->vmid);
		goto out;
	}
	rc = address_one(r, lxc ? "lxc" : "qemu", t, "restored");
	log_info("prov", "job=%" PRId64 " node=%s vmid=%d status=%s",
	    r->job->id, t->node, t->vmid, t->status);
	buf_init(&b, 64 << 10);
	buf_printf(&b, "%s restored as a new guest%s\n", volid, rc == 0 ?
	    "" : ", but not addressed by convention");
	table(&b, t, n);
	if (rc == 0) {
		buf_puts(&b, "\nit is stopped");
		run_finish(r, JOB_SUCCEEDED, buf_cstr(&b), NULL, NULL, 0);
	} else
		run_finish(r, rc > 0 ? JOB_UNKNOWN : JOB_FAILED, NULL,
		    buf_cstr(&b), NULL, 0);
	buf_release(&b);
out:
	free(head);
	free(t);
}
