/*
 * sim_cluster.c - what the simulated cluster reports as a whole: which
 * guests no backup job covers, replication jobs and their state, Ceph's
 * health, and who is a member; the admin requests that script failures
 * of these (a guest left out of every job, a failed backup, a failed or
 * lagging replication, Ceph warnings, a node leaving or joining); and
 * the route table of every health endpoint (sim_nodes.c holds the
 * per-node handlers).
 *
 * The endpoints follow pve-manager's PVE::API2::Cluster::BackupInfo,
 * PVE::API2::Replication and PVE::API2::Cluster::Ceph as the official
 * schema describes them (paths, parameters, privileges, fields):
 * not-backed-up needs Sys.Audit on / and lists only guests the token
 * may audit (templates included, as the real one does); the replication
 * list silently leaves out jobs of guests without VM.Audit; Ceph's
 * status needs Sys.Audit or Datastore.Audit and, on a cluster without
 * Ceph, fails with "binary not installed: /usr/bin/ceph-mon".
 *
 * A node leaves the cluster only without guests (pvecm delnode expects
 * them moved); a node that joins is online with default hardware.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_health.h"
#include "util.h"

/* ---- shared checks ---- */

int
simh_need(struct sim_call *c, struct sim_reply *r, const char *path,
    const char *priv)
{
	if (sim_token_has(c->token, priv))
		return 0;
	sim_reply_error(r, 403, "Permission check failed (%s, %s)", path,
	    priv);
	return -1;
}

struct sim_node *
simh_node_get(struct sim_call *c, struct sim_reply *r)
{
	struct sim_node	*n = sim_node_find(c->sim, c->node);

	if (n == NULL)
		sim_reply_error(r, 500, "hostname lookup '%s' failed - failed "
		    "to get address info for: %s: Name or service not known",
		    c->node, c->node);
	return n;
}

/* A 400 "Parameter verification failed." for a pattern check. */
void
simh_param_error(struct sim_reply *r, const char *param, const char *why)
{
	r->status = 400;
	json_decref(r->errors);
	r->errors = json_pack("{ss}", param, why);
}

/* ---- backup coverage ---- */

static int
vmid_listed(const char *list, int vmid)
{
	const char	*p = list;
	char		*end;
	long		 v;

	while (*p != '\0') {
		v = strtol(p, &end, 10);
		if (end == p) {
			p++;
			continue;
		}
		if (v == vmid)
			return 1;
		p = end;
	}
	return 0;
}

/* PVE::VZDump::get_included_guests over every job, enabled or not. */
static int
covered(struct sim *s, const struct sim_guest *g)
{
	const struct sim_health	*h = s->health;
	int			 i;

	for (i = 0; i < h->njobs; i++) {
		const struct simh_job	*j = &h->jobs[i];

		if (j->all ? !vmid_listed(j->exclude, g->vmid) :
		    vmid_listed(j->vmid, g->vmid))
			return 1;
	}
	return 0;
}

static void
api_not_backed_up(struct sim_call *c, struct sim_reply *r)
{
	struct sim	*s = c->sim;
	json_t		*a;
	int		 i;

	if (simh_need(c, r, "/", "Sys.Audit") != 0)
		return;
	a = json_array();
	for (i = 0; i < s->nguests; i++) {
		const struct sim_guest	*g = &s->guests[i];

		if (!sim_token_has(c->token, "VM.Audit") || covered(s, g))
			continue;
		json_array_append_new(a, json_pack("{siss ss}", "vmid",
		    g->vmid, "name", g->name, "type", g->lxc ? "lxc" :
		    "qemu"));
	}
	r->data = a;
}

/* ---- replication ---- */

static json_t *
repl_json(struct sim *s, const struct simh_repl *j)
{
	json_t			*o = json_object();
	const struct sim_guest	*g = sim_guest_find(s, j->guest);

	json_object_set_new(o, "id", json_string(j->id));
	json_object_set_new(o, "guest", json_integer(j->guest));
	json_object_set_new(o, "jobnum", json_integer(j->jobnum));
	json_object_set_new(o, "type", json_string("local"));
	json_object_set_new(o, "target", json_string(j->target));
	json_object_set_new(o, "source", json_string(j->source));
	json_object_set_new(o, "schedule", json_string(j->schedule));
	json_object_set_new(o, "vmtype", json_string(g != NULL && g->lxc ?
	    "lxc" : "qemu"));
	if (j->disable)
		json_object_set_new(o, "disable", json_integer(1));
	if (j->last_sync > 0)
		json_object_set_new(o, "last_sync", json_integer(j->last_sync));
	if (j->last_try > 0)
		json_object_set_new(o, "last_try", json_integer(j->last_try));
	json_object_set_new(o, "next_sync", json_integer((j->last_try > 0 ?
	    j->last_try : wall_now()) + 900));
	json_object_set_new(o, "duration", json_real(j->duration));
	json_object_set_new(o, "fail_count", json_integer(j->fail_count));
	if (j->error[0] != '\0')
		json_object_set_new(o, "error", json_string(j->error));
	return o;
}

/* Jobs run on the node their guest is on. */
static const char *
repl_source(struct sim *s, const struct simh_repl *j)
{
	const struct sim_guest	*g = sim_guest_find(s, j->guest);

	return g != NULL ? g->node : j->source;
}

static void
api_replication(struct sim_call *c, struct sim_reply *r)
{
	struct sim		*s = c->sim;
	struct sim_health	*h = s->health;
	long long		 guest = sim_param_int(c, "guest", 0);
	json_t			*a;
	int			 i;

	if (simh_node_get(c, r) == NULL)
		return;
	a = json_array();
	for (i = 0; i < h->nrepl; i++) {
		struct simh_repl	*j = &h->repl[i];

		snprintf(j->source, sizeof j->source, "%s", repl_source(s, j));
		if (strcmp(j->source, c->node) != 0 ||
		    (guest != 0 && j->guest != guest) ||
		    !sim_token_has(c->token, "VM.Audit"))
			continue;
		json_array_append_new(a, repl_json(s, j));
	}
	r->data = a;
}

/* [1-9][0-9]{2,8}-\d{1,9}, the schema's pattern for a job id. */
static int
repl_id_ok(const char *v)
{
	size_t	 a = 0, b = 0;

	if (*v < '1' || *v > '9')
		return 0;
	while (isdigit((unsigned char)v[a]))
		a++;
	if (a < 3 || a > 9 || v[a] != '-')
		return 0;
	while (isdigit((unsigned char)v[a + 1 + b]))
		b++;
	return b >= 1 && b <= 9 && v[a + 1 + b] == '\0';
}

static void
api_replication_status(struct sim_call *c, struct sim_reply *r)
{
	struct sim		*s = c->sim;
	struct sim_health	*h = s->health;
	char			 path[32];
	int			 i;

	if (simh_node_get(c, r) == NULL)
		return;
	if (!repl_id_ok(c->pathid)) {
		simh_param_error(r, "id", "value does not match the regex "
		    "pattern");
		return;
	}
	for (i = 0; i < h->nrepl; i++) {
		struct simh_repl	*j = &h->repl[i];

		if (strcmp(j->id, c->pathid) != 0)
			continue;
		snprintf(path, sizeof path, "/vms/%d", j->guest);
		if (simh_need(c, r, path, "VM.Audit") != 0)
			return;
		snprintf(j->source, sizeof j->source, "%s", repl_source(s, j));
		r->data = repl_json(s, j);
		return;
	}
	sim_reply_error(r, 500, "no such replication job '%s'", c->pathid);
}

/* ---- Ceph ---- */

static const char *
ceph_status(const struct sim_health *h)
{
	int	 i, err = 0;

	for (i = 0; i < h->nchecks; i++)
		err |= strcmp(h->checks[i].severity, "HEALTH_ERR") == 0;
	return h->nchecks == 0 ? "HEALTH_OK" : err ? "HEALTH_ERR" :
	    "HEALTH_WARN";
}

static void
api_ceph_status(struct sim_call *c, struct sim_reply *r)
{
	struct sim_health	*h = c->sim->health;
	json_t			*o, *checks;
	int			 i;

	if (!sim_token_has(c->token, "Sys.Audit") &&
	    !sim_token_has(c->token, "Datastore.Audit")) {
		sim_reply_error(r, 403, "Permission check failed (/, "
		    "Sys.Audit|Datastore.Audit)");
		return;
	}
	if (!h->ceph) {
		sim_reply_error(r, 500, "binary not installed: "
		    "/usr/bin/ceph-mon");
		return;
	}
	checks = json_object();
	for (i = 0; i < h->nchecks; i++)
		json_object_set_new(checks, h->checks[i].code, json_pack(
		    "{sss{sssi}sb}", "severity", h->checks[i].severity,
		    "summary", "message", h->checks[i].message, "count", 1,
		    "muted", 0));
	o = json_object();
	json_object_set_new(o, "fsid", json_string(
	    "5f1c6f8e-1b6a-4f0e-9a3c-2d7e8b9c0a11"));
	json_object_set_new(o, "health", json_pack("{sssos[]}", "status",
	    ceph_status(h), "checks", checks, "mutes"));
	json_object_set_new(o, "quorum_names", json_pack("[sss]", "pve1",
	    "pve2", "pve3"));
	json_object_set_new(o, "osdmap", json_pack("{sisisi}", "num_osds", 3,
	    "num_up_osds", 3, "num_in_osds", 3));
	json_object_set_new(o, "pgmap", json_pack("{sisIsI}", "num_pgs", 129,
	    "bytes_used", (json_int_t)412345678901LL, "bytes_total",
	    (json_int_t)5999999999999LL));
	r->data = o;
}

/* ---- routes ---- */

#define P_END		{ .name = NULL }
#define P_NODE		{ .name = "node", .type = PT_STR, .in_path = 1,	\
			    .fmt = F_NODE }

static const struct sim_param p_none[] = { P_END };
static const struct sim_param p_node[] = { P_NODE, P_END };
static const struct sim_param p_disks[] = { P_NODE,
	{ .name = "include-partitions", .type = PT_BOOL, .optional = 1 },
	{ .name = "skipsmart", .type = PT_BOOL, .optional = 1 },
	{ .name = "type", .type = PT_STR, .optional = 1,
	    .enumv = "unused,journal_disks" },
	P_END };
static const struct sim_param p_smart[] = { P_NODE,
	{ .name = "disk", .type = PT_STR },
	{ .name = "healthonly", .type = PT_BOOL, .optional = 1 },
	P_END };
static const struct sim_param p_zfs_detail[] = { P_NODE,
	{ .name = "name", .type = PT_STR, .in_path = 1, .fmt = F_STORAGEID },
	P_END };
static const struct sim_param p_replication[] = { P_NODE,
	{ .name = "guest", .type = PT_INT, .optional = 1, .has_min = 1,
	    .min = 100, .has_max = 1, .max = 999999999 },
	P_END };
static const struct sim_param p_replication_id[] = { P_NODE,
	{ .name = "id", .type = PT_STR, .in_path = 1 },
	P_END };
static const struct sim_param p_changelog[] = { P_NODE,
	{ .name = "name", .type = PT_STR },
	{ .name = "version", .type = PT_STR, .optional = 1 },
	P_END };

const struct sim_route sim_health_routes[] = {
	{ "GET", "/cluster/backup-info/not-backed-up", api_not_backed_up,
	    p_none },
	{ "GET", "/cluster/ceph/status", api_ceph_status, p_none },
	{ "GET", "/nodes/{node}/disks/list", simh_api_disks, p_disks },
	{ "GET", "/nodes/{node}/disks/smart", simh_api_smart, p_smart },
	{ "GET", "/nodes/{node}/disks/zfs", simh_api_zfs, p_node },
	{ "GET", "/nodes/{node}/disks/zfs/{name}", simh_api_zfs_detail,
	    p_zfs_detail },
	{ "GET", "/nodes/{node}/replication", api_replication,
	    p_replication },
	{ "GET", "/nodes/{node}/replication/{id}/status",
	    api_replication_status, p_replication_id },
	{ "GET", "/nodes/{node}/certificates/info", simh_api_certs, p_node },
	{ "GET", "/nodes/{node}/apt/update", simh_api_apt_update, p_node },
	{ "GET", "/nodes/{node}/apt/versions", simh_api_apt_versions,
	    p_node },
	{ "GET", "/nodes/{node}/apt/changelog", simh_api_apt_changelog,
	    p_changelog },
};
const size_t sim_health_nroutes = nitems(sim_health_routes);

/* ---- state ---- */

void
sim_health_init(struct sim *s)
{
	struct sim_health	*h = xcalloc(1, sizeof *h);

	s->health = h;
	/* The homelab backs up everything every night. */
	snprintf(h->jobs[0].id, sizeof h->jobs[0].id, "backup-a1b2c3d4-e5f6");
	h->jobs[0].all = 1;
	h->jobs[0].enabled = 1;
	h->njobs = 1;
}

void
sim_health_free(struct sim *s)
{
	free(s->health);
	s->health = NULL;
}

/* ---- admin ---- */

static int
admin_jobs(struct sim *s, json_t *a, char **cause)
{
	struct sim_health	*h = s->health;
	json_t			*j;
	const char		*v;
	size_t			 i;

	if (!json_is_array(a) || json_array_size(a) > SIMH_MAX_JOBS)
		return set_cause(cause, "health: backup_jobs is a list of at "
		    "most %d jobs", SIMH_MAX_JOBS);
	h->njobs = 0;
	json_array_foreach(a, i, j) {
		struct simh_job	*b = &h->jobs[h->njobs++];

		memset(b, 0, sizeof *b);
		v = json_string_value(json_object_get(j, "id"));
		snprintf(b->id, sizeof b->id, "%s", v != NULL ? v : "backup");
		b->all = json_is_true(json_object_get(j, "all"));
		b->enabled = !json_is_false(json_object_get(j, "enabled"));
		v = json_string_value(json_object_get(j, "vmid"));
		snprintf(b->vmid, sizeof b->vmid, "%s", v != NULL ? v : "");
		v = json_string_value(json_object_get(j, "exclude"));
		snprintf(b->exclude, sizeof b->exclude, "%s",
		    v != NULL ? v : "");
	}
	return 0;
}

/* A vzdump task that already ended with errors, as a nightly job
 * leaves one behind: {"node":"pve1","vmids":[102],"message":"..."}.
 * With "vmids": [] (a node needed) the job failed before it named any
 * guest (its storage could not be activated): the task's status is the
 * message, as Proxmox's "TASK ERROR: ..." line makes it. */
static int
admin_backup_failed(struct sim *s, json_t *o, char **cause)
{
	const char	*node = json_string_value(json_object_get(o, "node"));
	const char	*msg = json_string_value(json_object_get(o,
	    "message"));
	json_t		*ids = json_object_get(o, "vmids"), *j;
	struct sim_task	*t;
	char		 id[16];
	size_t		 i;

	if (!json_is_array(ids) || json_array_size(ids) > SIM_MAX_VZDUMP ||
	    (json_array_size(ids) == 0 && node == NULL))
		return set_cause(cause, "health: backup_failed needs vmids "
		    "(or a node, for a job that failed before any guest)");
	json_array_foreach(ids, i, j) {
		if (!json_is_integer(j) || sim_guest_find(s,
		    (int)json_integer_value(j)) == NULL)
			return set_cause(cause, "health: backup_failed: no "
			    "guest %lld", (long long)json_integer_value(j));
	}
	/* Without a node: the node of the first guest. */
	if (node == NULL)
		node = sim_guest_find(s, (int)json_integer_value(
		    json_array_get(ids, 0)))->node;
	if (sim_node_find(s, node) == NULL)
		return set_cause(cause, "health: backup_failed: no node %s",
		    node);
	snprintf(id, sizeof id, "%lld", (long long)json_integer_value(
	    json_array_get(ids, 0)));
	if (json_array_size(ids) == 0)
		msg = msg != NULL ? msg : "could not activate storage "
		    "'nas-backup', storage is offline";
	/* A scheduled job's task has no id; one guest's has its VMID. */
	t = sim_task_new(s, node, "vzdump", json_array_size(ids) == 1 ? id :
	    "", "root@pam");
	json_array_foreach(ids, i, j)
		t->vmids[t->nvmids++] = (int)json_integer_value(j);
	snprintf(t->storage, sizeof t->storage, "nas-backup");
	snprintf(t->mode, sizeof t->mode, "snapshot");
	snprintf(t->compress, sizeof t->compress, "zstd");
	free(t->fail);
	t->fail = xstrdup(msg != NULL ? msg : "unable to create temporary "
	    "directory '/mnt/pve/nas-backup/dump' - No space left on device");
	t->dur_ms = 0;
	sim_task_script(s, t);
	sim_tick(s);
	return 0;
}

static int
admin_replication(struct sim *s, json_t *o, const char *id, char **cause)
{
	struct sim_health	*h = s->health;
	struct simh_repl	*j = NULL;
	const struct sim_guest	*g;
	const char		*v;
	json_t			*x;
	int			 i;

	if (!repl_id_ok(id))
		return set_cause(cause, "health: bad replication job id %s",
		    id);
	for (i = 0; i < h->nrepl; i++) {
		if (strcmp(h->repl[i].id, id) == 0)
			j = &h->repl[i];
	}
	if (json_is_true(json_object_get(o, "remove"))) {
		if (j == NULL)
			return set_cause(cause, "health: no replication job "
			    "%s", id);
		i = (int)(j - h->repl);
		memmove(&h->repl[i], &h->repl[i + 1],
		    (size_t)(h->nrepl - i - 1) * sizeof *h->repl);
		h->nrepl--;
		return 0;
	}
	if (j == NULL) {
		if (h->nrepl >= SIMH_MAX_REPL)
			return set_cause(cause, "health: too many replication "
			    "jobs");
		j = &h->repl[h->nrepl];
		memset(j, 0, sizeof *j);
		snprintf(j->id, sizeof j->id, "%s", id);
		j->guest = (int)strtol(id, NULL, 10);
		j->jobnum = (int)strtol(strchr(id, '-') + 1, NULL, 10);
		if ((g = sim_guest_find(s, j->guest)) == NULL)
			return set_cause(cause, "health: no guest %d",
			    j->guest);
		/* Without a target: the first other node. */
		if ((v = json_string_value(json_object_get(o, "target"))) ==
		    NULL) {
			for (i = 0; i < s->nnodes && v == NULL; i++) {
				if (strcmp(s->nodes[i].name, g->node) != 0)
					v = s->nodes[i].name;
			}
		}
		if (v == NULL || sim_node_find(s, v) == NULL ||
		    strcmp(v, g->node) == 0)
			return set_cause(cause, "health: replication %s needs "
			    "a target node other than %s", id, g->node);
		snprintf(j->target, sizeof j->target, "%s", v);
		snprintf(j->source, sizeof j->source, "%s", g->node);
		snprintf(j->schedule, sizeof j->schedule, "*/15");
		j->last_sync = j->last_try = wall_now() - 300;
		j->duration = 4.2;
		h->nrepl++;
	}
	if ((x = json_object_get(o, "fail_count")) != NULL) {
		if (!json_is_integer(x) || json_integer_value(x) < 0)
			return set_cause(cause, "health: bad fail_count");
		j->fail_count = (int)json_integer_value(x);
		j->last_try = wall_now() - 60;
		if (j->fail_count == 0) {
			j->error[0] = '\0';
			j->last_sync = j->last_try;
		}
	}
	if ((v = json_string_value(json_object_get(o, "error"))) != NULL)
		snprintf(j->error, sizeof j->error, "%s", v);
	if ((x = json_object_get(o, "last_sync_ago")) != NULL) {
		if (!json_is_integer(x) || json_integer_value(x) < 0)
			return set_cause(cause, "health: bad last_sync_ago");
		j->last_sync = wall_now() - json_integer_value(x);
	}
	if ((x = json_object_get(o, "last_sync")) != NULL) {
		if (!json_is_integer(x) || json_integer_value(x) < 0)
			return set_cause(cause, "health: bad last_sync");
		j->last_sync = j->last_try = json_integer_value(x);
	}
	if ((x = json_object_get(o, "disable")) != NULL)
		j->disable = json_is_true(x);
	return 0;
}

static int
admin_ceph(struct sim *s, json_t *o, const char *status, char **cause)
{
	struct sim_health	*h = s->health;
	json_t			*a = json_object_get(o, "checks"), *c;
	const char		*code, *msg;
	size_t			 i;

	if (strcmp(status, "absent") == 0) {
		h->ceph = 0;
		h->nchecks = 0;
		return 0;
	}
	if (strcmp(status, "HEALTH_OK") != 0 &&
	    strcmp(status, "HEALTH_WARN") != 0 &&
	    strcmp(status, "HEALTH_ERR") != 0)
		return set_cause(cause, "health: ceph is HEALTH_OK, "
		    "HEALTH_WARN, HEALTH_ERR or absent");
	h->ceph = 1;
	h->nchecks = 0;
	if (strcmp(status, "HEALTH_OK") == 0)
		return 0;
	json_array_foreach(a, i, c) {
		if (h->nchecks >= SIMH_MAX_CHECKS)
			break;
		code = json_string_value(json_object_get(c, "code"));
		msg = json_string_value(json_object_get(c, "message"));
		if (code == NULL || msg == NULL)
			return set_cause(cause, "health: a Ceph check needs "
			    "code and message");
		snprintf(h->checks[h->nchecks].code, sizeof h->checks[0].code,
		    "%s", code);
		snprintf(h->checks[h->nchecks].message,
		    sizeof h->checks[0].message, "%s", msg);
		snprintf(h->checks[h->nchecks].severity,
		    sizeof h->checks[0].severity, "%s", status);
		h->nchecks++;
	}
	if (h->nchecks == 0)
		return set_cause(cause, "health: %s needs checks", status);
	return 0;
}

static int
admin_join(struct sim *s, const char *name, char **cause)
{
	struct sim_node	*n;
	size_t		 i;

	if (sim_node_find(s, name) != NULL)
		return set_cause(cause, "health: %s is already a member",
		    name);
	if (s->nnodes >= SIM_MAX_NODES || strlen(name) >= sizeof n->name ||
	    *name == '\0')
		return set_cause(cause, "health: cannot add node %s", name);
	for (i = 0; name[i] != '\0'; i++) {
		if (!isalnum((unsigned char)name[i]) && name[i] != '-')
			return set_cause(cause, "health: bad node name %s",
			    name);
	}
	n = &s->nodes[s->nnodes++];
	memset(n, 0, sizeof *n);
	snprintf(n->name, sizeof n->name, "%s", name);
	n->online = 1;
	n->cpu = 0.03;
	n->maxcpu = 4;
	n->maxmem = 16LL << 30;
	n->mem = 4LL << 30;
	n->maxdisk = 100LL << 30;
	n->disk = 9LL << 30;
	n->boot_time = wall_now() - 3600;
	return 0;
}

static int
admin_leave(struct sim *s, const char *name, char **cause)
{
	struct sim_node	*n = sim_node_find(s, name);
	int		 i;

	if (n == NULL)
		return set_cause(cause, "health: %s is not a member", name);
	for (i = 0; i < s->nguests; i++) {
		if (strcmp(s->guests[i].node, name) == 0)
			return set_cause(cause, "health: %s still hosts guest "
			    "%d (move its guests first)", name,
			    s->guests[i].vmid);
	}
	i = (int)(n - s->nodes);
	memmove(&s->nodes[i], &s->nodes[i + 1],
	    (size_t)(s->nnodes - i - 1) * sizeof *s->nodes);
	s->nnodes--;
	return 0;
}

/* {"backup_exclude":104} / {"backup_include":104}: the first job. */
static int
admin_exclude(struct sim *s, int vmid, int exclude, char **cause)
{
	struct simh_job	*j = &s->health->jobs[0];
	struct buf	 b;
	const char	*p;
	char		*end;
	long		 v;

	if (s->health->njobs == 0 || !j->all)
		return set_cause(cause, "health: the first backup job does "
		    "not take all guests");
	buf_init(&b, sizeof j->exclude - 1);
	buf_puts(&b, "");
	for (p = j->exclude; *p != '\0'; p = end) {
		v = strtol(p, &end, 10);
		if (end == p) {
			end = (char *)p + 1;
			continue;
		}
		if (v != vmid)
			buf_printf(&b, "%s%ld", b.len > 0 ? "," : "", v);
	}
	if (exclude)
		buf_printf(&b, "%s%d", b.len > 0 ? "," : "", vmid);
	if (b.truncated) {
		buf_release(&b);
		return set_cause(cause, "health: too many excluded guests");
	}
	snprintf(j->exclude, sizeof j->exclude, "%s", buf_cstr(&b));
	buf_release(&b);
	return 0;
}

/* POST /_sim/health: one object (or an array, see sim.c). */
int
sim_health_admin(struct sim *s, json_t *o, char **cause)
{
	const char	*v;
	json_t		*j;

	if (!json_is_object(o))
		return set_cause(cause, "health: expected an object");
	if (json_object_get(o, "node") != NULL)
		return simh_node_admin(s, o, cause);
	if ((j = json_object_get(o, "backup_jobs")) != NULL)
		return admin_jobs(s, j, cause);
	if ((j = json_object_get(o, "backup_failed")) != NULL)
		return admin_backup_failed(s, j, cause);
	if ((j = json_object_get(o, "backup_exclude")) != NULL ||
	    (j = json_object_get(o, "backup_include")) != NULL) {
		if (!json_is_integer(j) || sim_guest_find(s,
		    (int)json_integer_value(j)) == NULL)
			return set_cause(cause, "health: no such guest");
		return admin_exclude(s, (int)json_integer_value(j),
		    json_object_get(o, "backup_exclude") != NULL, cause);
	}
	if ((v = json_string_value(json_object_get(o, "replication"))) !=
	    NULL)
		return admin_replication(s, o, v, cause);
	if ((v = json_string_value(json_object_get(o, "ceph"))) != NULL)
		return admin_ceph(s, o, v, cause);
	if ((v = json_string_value(json_object_get(o, "join"))) != NULL)
		return admin_join(s, v, cause);
	if ((v = json_string_value(json_object_get(o, "leave"))) != NULL)
		return admin_leave(s, v, cause);
	return set_cause(cause, "health: unknown request");
}
