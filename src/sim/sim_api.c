/*
 * sim_api.c - the Proxmox VE endpoints the simulator serves: one table of
 * (method, path, parameters, handler) at the bottom, one short handler
 * per endpoint above it. Parameter tables are written by hand from the
 * official schema (names, types, ranges, enums, formats); the unit test
 * test_sim holds every entry to ../shared/api-specs/proxmox-api.compact.json.
 * The tables are a subset: a parameter the simulator does not model is
 * refused as unknown, which is stricter than the real API, never looser.
 *
 * Handlers run with the simulator's lock held and the parameters already
 * checked; they read and change the state and fill a struct sim_reply.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_int.h"
#include "util.h"

void
sim_reply_error(struct sim_reply *r, int status, const char *fmt, ...)
{
	va_list	ap;

	r->status = status;
	free(r->message);
	va_start(ap, fmt);
	r->message = xvasprintf(fmt, ap);
	va_end(ap);
}

/* 0 when the token holds priv on path, else a 403 reply and -1. */
static int
need(struct sim_call *c, struct sim_reply *r, const char *path,
    const char *priv)
{
	if (sim_token_has(c->token, priv))
		return (0);
	sim_reply_error(r, 403, "Permission check failed (%s, %s)", path,
	    priv);
	return (-1);
}

static int
need_vm(struct sim_call *c, struct sim_reply *r, int vmid, const char *priv)
{
	char	path[32];

	snprintf(path, sizeof path, "/vms/%d", vmid);
	return (need(c, r, path, priv));
}

static struct sim_node *
node_get(struct sim_call *c, struct sim_reply *r)
{
	struct sim_node	*n = sim_node_find(c->sim, c->node);

	if (n == NULL)
		sim_reply_error(r, 500, "hostname lookup '%s' failed - failed "
		    "to get address info for: %s: Name or service not known",
		    c->node, c->node);
	return (n);
}

/* The guest of the path: it must be of that type and on that node. */
static struct sim_guest *
guest_get(struct sim_call *c, struct sim_reply *r)
{
	struct sim_guest	*g = sim_guest_find(c->sim, c->vmid);
	int			 lxc = strcmp(c->vmtype, "lxc") == 0;

	if (node_get(c, r) == NULL)
		return (NULL);
	if (g == NULL || g->lxc != lxc || strcmp(g->node, c->node) != 0) {
		sim_reply_error(r, 500, "Configuration file 'nodes/%s/%s/%d."
		    "conf' does not exist", c->node,
		    lxc ? "lxc" : "qemu-server", c->vmid);
		return (NULL);
	}
	return (g);
}

static int
check_lock(struct sim_call *c, struct sim_reply *r, struct sim_guest *g)
{
	if (g->lock[0] == '\0' || sim_param_bool(c, "skiplock", 0))
		return (0);
	sim_reply_error(r, 500, "%s is locked (%s)", sim_guest_kind(g),
	    g->lock);
	return (-1);
}

/* skiplock is for root@pam only; a token never is root@pam. */
static int
check_skiplock(struct sim_call *c, struct sim_reply *r)
{
	if (!sim_param_bool(c, "skiplock", 0))
		return (0);
	sim_reply_error(r, 403, "Permission check failed (option 'skiplock' "
	    "is only allowed for root@pam)");
	return (-1);
}

static struct sim_task *
task_start(struct sim_call *c, struct sim_reply *r, const char *type,
    const char *id)
{
	struct sim_task	*t;

	t = sim_task_new(c->sim, c->node, type, id, c->token_user);
	r->data = json_string(t->upid);
	return (t);
}

static const char *
vmid_text(int vmid, char *buf, size_t len)
{
	snprintf(buf, len, "%d", vmid);
	return (buf);
}

/*
 * JSON text written straight into a buffer: /cluster/resources at 10,000
 * guests is 3 MB, and a jansson tree of it costs more than the request.
 */
static void
jw_str(struct buf *b, const char *v)
{
	char		 esc[8];
	const char	*p, *run = v;

	buf_append(b, "\"", 1);
	for (p = v; *p != '\0'; p++) {
		unsigned char	c = (unsigned char)*p;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_append(b, run, (size_t)(p - run));
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof esc, "\\%c", c);
		else
			snprintf(esc, sizeof esc, "\\u%04x", c);
		buf_puts(b, esc);
		run = p + 1;
	}
	buf_append(b, run, (size_t)(p - run));
	buf_append(b, "\"", 1);
}

static void
jw_key_str(struct buf *b, const char *key, const char *v)
{
	buf_append(b, ",\"", 2);
	buf_puts(b, key);
	buf_append(b, "\":", 2);
	jw_str(b, v);
}

static void
jw_key_int(struct buf *b, const char *key, long long v)
{
	char	num[64];
	int	n;

	n = snprintf(num, sizeof num, ",\"%s\":%lld", key, v);
	buf_append(b, num, (size_t)n);
}

static void
jw_key_num(struct buf *b, const char *key, double v)
{
	char	num[64];
	int	n;

	n = snprintf(num, sizeof num, ",\"%s\":%.10g", key, v);
	buf_append(b, num, (size_t)n);
}

/* One guest as /cluster/resources lists it. */
static void
guest_resource_text(struct buf *b, struct sim *s, const struct sim_guest *g,
    int64_t now)
{
	struct sim_node	*n = sim_node_find(s, g->node);
	int		 online = n != NULL && n->online;
	const char	*type = g->lxc ? "lxc" : "qemu";
	char		 id[32];
	int		 len;

	len = snprintf(id, sizeof id, "{\"id\":\"%s/%d\"", type, g->vmid);
	buf_append(b, id, (size_t)len);
	jw_key_str(b, "type", type);
	jw_key_int(b, "vmid", g->vmid);
	jw_key_str(b, "name", g->name);
	jw_key_str(b, "node", g->node);
	jw_key_str(b, "status", !online ? "unknown" : g->running ?
	    "running" : "stopped");
	jw_key_int(b, "template", g->template);
	if (g->tags[0] != '\0')
		jw_key_str(b, "tags", g->tags);
	if (g->lock[0] != '\0')
		jw_key_str(b, "lock", g->lock);
	jw_key_num(b, "cpu", online && g->running ? g->cpu : 0);
	jw_key_int(b, "maxcpu", g->maxcpu);
	jw_key_int(b, "mem", online && g->running ? g->mem : 0);
	jw_key_int(b, "maxmem", g->maxmem);
	jw_key_int(b, "disk", g->disk);
	jw_key_int(b, "maxdisk", g->maxdisk);
	jw_key_int(b, "uptime", online && g->running ? now - g->started : 0);
	jw_key_int(b, "netin", g->running ? 123456789 + g->vmid : 0);
	jw_key_int(b, "netout", g->running ? 98765432 + g->vmid : 0);
	jw_key_int(b, "diskread", g->running ? 55555555 : 0);
	jw_key_int(b, "diskwrite", g->running ? 33333333 : 0);
	buf_append(b, "}", 1);
}

static json_t *
guest_resource(struct sim *s, const struct sim_guest *g)
{
	struct buf	 b;
	json_t		*o;

	buf_init(&b, 0);
	guest_resource_text(&b, s, g, wall_now());
	o = json_loads(buf_cstr(&b), 0, NULL);
	buf_release(&b);
	if (o == NULL)
		abort();	/* the writer above is broken */
	return (o);
}

static json_t *
node_resource(const struct sim_node *n)
{
	json_t	*o = json_object();

	json_object_set_new(o, "id", json_sprintf("node/%s", n->name));
	json_object_set_new(o, "type", json_string("node"));
	json_object_set_new(o, "node", json_string(n->name));
	json_object_set_new(o, "status", json_string(n->online ? "online" :
	    "offline"));
	json_object_set_new(o, "level", json_string(""));
	json_object_set_new(o, "cgroup-mode", json_integer(2));
	json_object_set_new(o, "maxcpu", json_integer(n->maxcpu));
	json_object_set_new(o, "maxmem", json_integer(n->maxmem));
	json_object_set_new(o, "maxdisk", json_integer(n->maxdisk));
	if (n->online) {
		json_object_set_new(o, "cpu", json_real(n->cpu));
		json_object_set_new(o, "mem", json_integer(n->mem));
		json_object_set_new(o, "disk", json_integer(n->disk));
		json_object_set_new(o, "uptime", json_integer(wall_now() -
		    n->boot_time));
	}
	return (o);
}

static json_t *
storage_resource(const struct sim_storage *st, const struct sim_node *n,
    int node_index)
{
	json_t	*o = json_object();
	int64_t	 used = sim_storage_used(st, node_index);

	json_object_set_new(o, "id", json_sprintf("storage/%s/%s", n->name,
	    st->id));
	json_object_set_new(o, "type", json_string("storage"));
	json_object_set_new(o, "storage", json_string(st->id));
	json_object_set_new(o, "node", json_string(n->name));
	json_object_set_new(o, "status", json_string(n->online ? "available" :
	    "unknown"));
	json_object_set_new(o, "content", json_string(st->content));
	json_object_set_new(o, "plugintype", json_string(st->type));
	json_object_set_new(o, "shared", json_integer(st->shared));
	json_object_set_new(o, "disk", json_integer(used));
	json_object_set_new(o, "maxdisk", json_integer(st->maxdisk));
	return (o);
}

static void
jw_item(struct buf *b, json_t *o, int *first)
{
	char	*t = json_dumps(o, JSON_COMPACT);

	if (!*first)
		buf_append(b, ",", 1);
	*first = 0;
	buf_puts(b, t);
	free(t);
	json_decref(o);
}

static void
api_cluster_resources(struct sim_call *c, struct sim_reply *r)
{
	struct sim	*s = c->sim;
	const char	*type = sim_param(c, "type");
	struct buf	 b;
	int64_t		 now = wall_now();
	int		 i, j, first = 1;

	buf_init(&b, 0);
	buf_append(&b, "[", 1);
	if (type == NULL || strcmp(type, "node") == 0) {
		for (i = 0; i < s->nnodes; i++)
			jw_item(&b, node_resource(&s->nodes[i]), &first);
	}
	if ((type == NULL || strcmp(type, "vm") == 0) &&
	    sim_token_has(c->token, "VM.Audit")) {
		for (i = 0; i < s->nguests; i++) {
			if (!first)
				buf_append(&b, ",", 1);
			first = 0;
			guest_resource_text(&b, s, &s->guests[i], now);
		}
	}
	/* Storages need Datastore.Audit, as the API filters them. */
	if ((type == NULL || strcmp(type, "storage") == 0) &&
	    sim_token_has(c->token, "Datastore.Audit")) {
		for (i = 0; i < s->nnodes; i++) {
			for (j = 0; j < s->nstorages; j++)
				jw_item(&b, storage_resource(&s->storages[j],
				    &s->nodes[i], i), &first);
		}
	}
	buf_append(&b, "]", 1);
	r->raw = buf_steal(&b);
}

static void
api_version(struct sim_call *c, struct sim_reply *r)
{
	r->data = json_pack("{ssssss}", "version", "9.1.1", "release", "9.1",
	    "repoid", "42db4a6cf33dac83");
}

static void
api_cluster_status(struct sim_call *c, struct sim_reply *r)
{
	struct sim	*s = c->sim;
	json_t		*a = json_array(), *o;
	int		 i;

	o = json_object();
	json_object_set_new(o, "type", json_string("cluster"));
	json_object_set_new(o, "id", json_string("cluster"));
	json_object_set_new(o, "name", json_string("homelab"));
	json_object_set_new(o, "nodes", json_integer(s->nnodes));
	json_object_set_new(o, "quorate", json_integer(s->quorate));
	json_object_set_new(o, "version", json_integer(3));
	json_array_append_new(a, o);
	for (i = 0; i < s->nnodes; i++) {
		o = json_object();
		json_object_set_new(o, "type", json_string("node"));
		json_object_set_new(o, "id", json_sprintf("node/%s",
		    s->nodes[i].name));
		json_object_set_new(o, "name", json_string(s->nodes[i].name));
		json_object_set_new(o, "nodeid", json_integer(i + 1));
		json_object_set_new(o, "online", json_integer(
		    s->nodes[i].online));
		json_object_set_new(o, "local", json_integer(i == 0));
		json_object_set_new(o, "level", json_string(""));
		json_array_append_new(a, o);
	}
	r->data = a;
}

static void
api_nodes(struct sim_call *c, struct sim_reply *r)
{
	struct sim	*s = c->sim;
	json_t		*a = json_array(), *o;
	int		 i;

	for (i = 0; i < s->nnodes; i++) {
		o = node_resource(&s->nodes[i]);
		json_object_del(o, "cgroup-mode");
		json_object_del(o, "disk");
		json_object_del(o, "maxdisk");
		if (s->httpd != NULL && httpd_fingerprint(s->httpd) != NULL)
			json_object_set_new(o, "ssl_fingerprint",
			    json_string(httpd_fingerprint(s->httpd)));
		json_array_append_new(a, o);
	}
	r->data = a;
}

static json_t *
usage(int64_t total, int64_t used)
{
	json_t	*o = json_object();

	json_object_set_new(o, "total", json_integer(total));
	json_object_set_new(o, "used", json_integer(used));
	json_object_set_new(o, "free", json_integer(total - used));
	return (o);
}

static void
api_node_status(struct sim_call *c, struct sim_reply *r)
{
	struct sim_node	*n = node_get(c, r);
	json_t		*o, *ci, *rootfs;
	char		 path[96];

	if (n == NULL)
		return;
	snprintf(path, sizeof path, "/nodes/%s", n->name);
	if (need(c, r, path, "Sys.Audit") != 0)
		return;
	o = json_object();
	json_object_set_new(o, "cpu", json_real(n->cpu));
	json_object_set_new(o, "wait", json_real(0.0012));
	json_object_set_new(o, "uptime", json_integer(wall_now() -
	    n->boot_time));
	ci = json_object();
	json_object_set_new(ci, "cpus", json_integer(n->maxcpu));
	json_object_set_new(ci, "cores", json_integer(n->maxcpu));
	json_object_set_new(ci, "sockets", json_integer(1));
	json_object_set_new(ci, "model", json_string(
	    "AMD Ryzen 7 5700G with Radeon Graphics"));
	json_object_set_new(ci, "mhz", json_string("3800.000"));
	json_object_set_new(o, "cpuinfo", ci);
	json_object_set_new(o, "memory", usage(n->maxmem, n->mem));
	json_object_set_new(o, "swap", usage(8LL << 30, 0));
	rootfs = usage(n->maxdisk, n->disk);
	json_object_set_new(rootfs, "avail", json_integer(n->maxdisk -
	    n->disk));
	json_object_set_new(o, "rootfs", rootfs);
	json_object_set_new(o, "loadavg", json_pack("[sss]",
	    "0.42", "0.37", "0.31"));
	json_object_set_new(o, "pveversion", json_string(
	    "pve-manager/9.1.1/42db4a6cf33dac83"));
	json_object_set_new(o, "kversion", json_string(
	    "Linux 6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1"));
	json_object_set_new(o, "current-kernel", json_pack("{ssssssss}",
	    "sysname", "Linux", "release", "6.17.2-1-pve", "version",
	    "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1", "machine", "x86_64"));
	json_object_set_new(o, "boot-info", json_pack("{ss}", "mode", "efi"));
	r->data = o;
}

static void
api_guest_status(struct sim_call *c, struct sim_reply *r)
{
	struct sim_guest	*g = guest_get(c, r);
	json_t			*o;

	if (g == NULL || need_vm(c, r, g->vmid, "VM.Audit") != 0)
		return;
	o = guest_resource(c->sim, g);
	json_object_del(o, "id");
	json_object_del(o, "node");
	json_object_del(o, "type");
	json_object_set_new(o, "status", json_string(g->running ? "running" :
	    "stopped"));
	json_object_set_new(o, "cpus", json_integer(g->maxcpu));
	json_object_set_new(o, "ha", json_pack("{si}", "managed", 0));
	if (!g->template)
		json_object_del(o, "template");
	if (g->lxc) {
		json_object_set_new(o, "type", json_string("lxc"));
		json_object_set_new(o, "maxswap", json_integer(512LL << 20));
	} else {
		json_object_set_new(o, "qmpstatus", json_string(!g->running ?
		    "stopped" : g->paused ? "paused" : "running"));
		if (g->running) {
			json_object_set_new(o, "pid", json_integer(10000 +
			    g->vmid));
			json_object_set_new(o, "running-qemu",
			    json_string("10.1.2"));
			json_object_set_new(o, "running-machine",
			    json_string("pc-i440fx-10.1+pve0"));
		}
	}
	r->data = o;
}

/* start / stop / shutdown / reboot / suspend / resume */
static void
api_guest_power(struct sim_call *c, struct sim_reply *r, const char *what)
{
	struct sim_guest	*g = guest_get(c, r);
	struct sim_task		*t;
	char			 type[16], id[16];
	const char		*kind;

	if (g == NULL || need_vm(c, r, g->vmid, "VM.PowerMgmt") != 0 ||
	    check_skiplock(c, r) != 0 || check_lock(c, r, g) != 0)
		return;
	kind = sim_guest_kind(g);
	if (strcmp(what, "start") == 0 && g->template) {
		sim_reply_error(r, 500, "you can't start a vm if it's a "
		    "template");
		return;
	}
	if (g->lxc && strcmp(what, "start") == 0 && g->running) {
		sim_reply_error(r, 500, "CT %d already running", g->vmid);
		return;
	}
	if (!g->running && (g->lxc || (strcmp(what, "stop") != 0 &&
	    strcmp(what, "shutdown") != 0)) && strcmp(what, "start") != 0) {
		sim_reply_error(r, 500, "%s %d not running", kind, g->vmid);
		return;
	}
	snprintf(type, sizeof type, "%s%s", g->lxc ? "vz" : "qm", what);
	t = task_start(c, r, type, vmid_text(g->vmid, id, sizeof id));
	t->vmid = g->vmid;
	if (!g->lxc && strcmp(what, "start") == 0 && g->running) {
		free(t->fail);
		t->fail = xasprintf("VM %d already running", g->vmid);
		t->dur_ms /= 5;
	}
	sim_task_script(c->sim, t);
}

#define POWER(name)							\
static void								\
api_guest_##name(struct sim_call *c, struct sim_reply *r)		\
{									\
	api_guest_power(c, r, #name);					\
}
POWER(start)
POWER(stop)
POWER(shutdown)
POWER(reboot)
POWER(suspend)
POWER(resume)

static void
api_snapshot_list(struct sim_call *c, struct sim_reply *r)
{
	struct sim_guest	*g = guest_get(c, r);
	json_t			*a, *o;
	int			 i;

	if (g == NULL || need_vm(c, r, g->vmid, "VM.Audit") != 0)
		return;
	a = json_array();
	for (i = 0; i < g->nsnaps; i++) {
		o = json_object();
		json_object_set_new(o, "name", json_string(g->snaps[i].name));
		json_object_set_new(o, "description",
		    json_string(g->snaps[i].description));
		json_object_set_new(o, "snaptime",
		    json_integer(g->snaps[i].snaptime));
		if (g->snaps[i].parent[0] != '\0')
			json_object_set_new(o, "parent",
			    json_string(g->snaps[i].parent));
		if (!g->lxc)
			json_object_set_new(o, "vmstate",
			    json_integer(g->snaps[i].vmstate));
		json_array_append_new(a, o);
	}
	o = json_object();
	json_object_set_new(o, "name", json_string("current"));
	json_object_set_new(o, "description",
	    json_string("You are here!"));
	json_object_set_new(o, "running", json_integer(g->running));
	if (g->nsnaps > 0)
		json_object_set_new(o, "parent",
		    json_string(g->snaps[g->nsnaps - 1].name));
	json_array_append_new(a, o);
	r->data = a;
}

static void
api_snapshot_create(struct sim_call *c, struct sim_reply *r)
{
	struct sim_guest	*g = guest_get(c, r);
	struct sim_task		*t;
	const char		*name = sim_param(c, "snapname");
	const char		*desc = sim_param(c, "description");
	char			 id[16];
	int			 i;

	if (g == NULL || need_vm(c, r, g->vmid, "VM.Snapshot") != 0 ||
	    check_lock(c, r, g) != 0)
		return;
	if (strcmp(name, "current") == 0 || strcmp(name, "pending") == 0) {
		sim_reply_error(r, 500, "unable to use snapshot name '%s' "
		    "(reserved name)", name);
		return;
	}
	if (g->template) {
		sim_reply_error(r, 500, "you can't take a snapshot if it's "
		    "a template");
		return;
	}
	t = task_start(c, r, g->lxc ? "vzsnapshot" : "qmsnapshot",
	    vmid_text(g->vmid, id, sizeof id));
	t->vmid = g->vmid;
	snprintf(t->snapname, sizeof t->snapname, "%s", name);
	snprintf(t->snapdesc, sizeof t->snapdesc, "%s",
	    desc != NULL ? desc : "");
	t->vmstate = sim_param_bool(c, "vmstate", 0);
	for (i = 0; i < g->nsnaps; i++) {
		if (strcmp(g->snaps[i].name, name) == 0 && t->fail == NULL)
			t->fail = xasprintf("snapshot name '%s' already used",
			    name);
	}
	if (t->fail == NULL) {
		snprintf(g->lock, sizeof g->lock, "snapshot");
		t->locked = 1;
	}
	sim_task_script(c->sim, t);
}

static void
api_snapshot_rollback(struct sim_call *c, struct sim_reply *r)
{
	struct sim_guest	*g = guest_get(c, r);
	struct sim_task		*t;
	char			 id[16];
	int			 i, found = 0;

	if (g == NULL || need_vm(c, r, g->vmid, "VM.Snapshot.Rollback") != 0 ||
	    check_lock(c, r, g) != 0)
		return;
	if (g->template) {
		sim_reply_error(r, 500, "you can't rollback if vm is a "
		    "template");
		return;
	}
	t = task_start(c, r, g->lxc ? "vzrollback" : "qmrollback",
	    vmid_text(g->vmid, id, sizeof id));
	t->vmid = g->vmid;
	snprintf(t->snapname, sizeof t->snapname, "%s", c->snapname);
	t->flag = sim_param_bool(c, "start", 0);
	for (i = 0; i < g->nsnaps; i++)
		found |= strcmp(g->snaps[i].name, c->snapname) == 0;
	if (!found && t->fail == NULL)
		t->fail = xasprintf("snapshot '%s' does not exist",
		    c->snapname);
	if (t->fail == NULL) {
		snprintf(g->lock, sizeof g->lock, "rollback");
		t->locked = 1;
		/* A rollback stops the guest first. */
		g->running = 0;
		g->paused = 0;
	}
	sim_task_script(c->sim, t);
}

static void
api_snapshot_delete(struct sim_call *c, struct sim_reply *r)
{
	struct sim_guest	*g = guest_get(c, r);
	struct sim_task		*t;
	char			 id[16];
	int			 i, found = 0;

	if (g == NULL || need_vm(c, r, g->vmid, "VM.Snapshot") != 0 ||
	    check_lock(c, r, g) != 0)
		return;
	t = task_start(c, r, g->lxc ? "vzdelsnapshot" : "qmdelsnapshot",
	    vmid_text(g->vmid, id, sizeof id));
	t->vmid = g->vmid;
	snprintf(t->snapname, sizeof t->snapname, "%s", c->snapname);
	for (i = 0; i < g->nsnaps; i++)
		found |= strcmp(g->snaps[i].name, c->snapname) == 0;
	if (!found && t->fail == NULL)
		t->fail = xasprintf("snapshot '%s' does not exist",
		    c->snapname);
	if (t->fail == NULL) {
		snprintf(g->lock, sizeof g->lock, "snapshot-delete");
		t->locked = 1;
	}
	sim_task_script(c->sim, t);
}

static void
api_vzdump(struct sim_call *c, struct sim_reply *r)
{
	struct sim		*s = c->sim;
	struct sim_node		*n = node_get(c, r);
	struct sim_storage	*st;
	struct sim_guest	*g, *local[SIM_MAX_VZDUMP];
	struct sim_task		*t;
	const char		*list = sim_param(c, "vmid"), *p;
	const char		*storage = sim_param(c, "storage");
	const char		*mode = sim_param(c, "mode");
	const char		*compress = sim_param(c, "compress");
	char			 path[96], id[16], *end;
	struct buf		 skipped;
	int			 nlocal = 0, i, all = sim_param_bool(c, "all", 0);
	long			 v;

	if (n == NULL)
		return;
	if (list == NULL && !all) {
		r->status = 400;
		r->errors = json_pack("{ss}", "vmid",
		    "property is missing and it is not optional");
		return;
	}
	if (list != NULL && all) {
		r->status = 400;
		r->errors = json_pack("{ss}", "all",
		    "option conflicts with option 'vmid'");
		return;
	}
	if (storage == NULL)
		storage = "local";
	if ((st = sim_storage_find(s, storage)) == NULL) {
		sim_reply_error(r, 500, "storage '%s' does not exist",
		    storage);
		return;
	}
	if (strstr(st->content, "backup") == NULL) {
		sim_reply_error(r, 500, "can't use storage '%s' for backups - "
		    "wrong content type", storage);
		return;
	}
	snprintf(path, sizeof path, "/storage/%s", storage);
	if (need(c, r, path, "Datastore.AllocateSpace") != 0)
		return;

	buf_init(&skipped, 4096);
	if (all) {
		for (i = 0; i < s->nguests && nlocal < SIM_MAX_VZDUMP; i++) {
			if (strcmp(s->guests[i].node, n->name) == 0)
				local[nlocal++] = &s->guests[i];
		}
	} else {
		for (p = list; *p != '\0'; p = end) {
			while (*p == ',' || *p == ';' || *p == ' ' ||
			    *p == '\t')
				p++;
			if (*p == '\0')
				break;
			v = strtol(p, &end, 10);
			if ((g = sim_guest_find(s, (int)v)) == NULL) {
				buf_release(&skipped);
				sim_reply_error(r, 500, "Unable to find VM/CT "
				    "%ld", v);
				return;
			}
			if (strcmp(g->node, n->name) != 0)
				buf_printf(&skipped, "%s%d",
				    skipped.len ? ", " : "", g->vmid);
			else if (nlocal < SIM_MAX_VZDUMP)
				local[nlocal++] = g;
		}
	}
	for (i = 0; i < nlocal; i++) {
		if (need_vm(c, r, local[i]->vmid, "VM.Backup") != 0) {
			buf_release(&skipped);
			return;
		}
	}
	t = task_start(c, r, "vzdump", nlocal == 1 && !all ?
	    vmid_text(local[0]->vmid, id, sizeof id) : "");
	snprintf(t->storage, sizeof t->storage, "%s", storage);
	snprintf(t->mode, sizeof t->mode, "%s", mode != NULL ? mode :
	    "snapshot");
	snprintf(t->compress, sizeof t->compress, "%s",
	    compress != NULL ? compress : "0");
	for (i = 0; i < nlocal; i++) {
		t->vmids[t->nvmids++] = local[i]->vmid;
		if (local[i]->lock[0] != '\0' && t->fail == NULL)
			t->fail = xasprintf("%s is locked (%s)",
			    sim_guest_kind(local[i]), local[i]->lock);
	}
	if (t->fail == NULL) {
		for (i = 0; i < nlocal; i++)
			snprintf(local[i]->lock, sizeof local[i]->lock,
			    "backup");
		t->locked = 1;
	}
	sim_task_script(s, t);
	if (skipped.len > 0) {
		/* Guests on other nodes are skipped, as vzdump does. */
		char *line = xasprintf("INFO: skip external VMs: %s",
		    buf_cstr(&skipped));
		t->script = xreallocarray(t->script, (size_t)t->nscript + 1,
		    sizeof *t->script);
		memmove(&t->script[2], &t->script[1],
		    (size_t)(t->nscript - 1) * sizeof *t->script);
		t->script[1].permille = 0;
		t->script[1].text = line;
		t->nscript++;
	}
	buf_release(&skipped);
}

static void
api_storage_content(struct sim_call *c, struct sim_reply *r)
{
	struct sim		*s = c->sim;
	struct sim_node		*n = node_get(c, r);
	struct sim_storage	*st;
	struct sim_backup	*b;
	const char		*content = sim_param(c, "content");
	long long		 vmid = sim_param_int(c, "vmid", 0);
	char			 path[96];
	json_t			*a, *o;
	int			 i;

	if (n == NULL)
		return;
	if ((st = sim_storage_find(s, c->storage)) == NULL) {
		sim_reply_error(r, 500, "storage '%s' does not exist",
		    c->storage);
		return;
	}
	snprintf(path, sizeof path, "/storage/%s", st->id);
	if (need(c, r, path, "Datastore.Audit") != 0)
		return;
	a = json_array();
	if (content == NULL || strstr(content, "backup") != NULL) {
		for (i = 0; i < s->nbackups; i++) {
			b = &s->backups[i];
			if (strcmp(b->storage, st->id) != 0 ||
			    (!st->shared && strcmp(b->node, n->name) != 0) ||
			    (vmid != 0 && b->vmid != vmid))
				continue;
			o = json_object();
			json_object_set_new(o, "volid", json_string(b->volid));
			json_object_set_new(o, "content",
			    json_string("backup"));
			json_object_set_new(o, "format",
			    json_string(b->format));
			json_object_set_new(o, "size", json_integer(b->size));
			json_object_set_new(o, "ctime", json_integer(b->ctime));
			json_object_set_new(o, "vmid", json_integer(b->vmid));
			json_object_set_new(o, "subtype", json_string(
			    strncmp(b->format, "tar", 3) == 0 ? "lxc" :
			    "qemu"));
			json_array_append_new(a, o);
		}
	}
	r->data = a;
}

static void
api_migrate(struct sim_call *c, struct sim_reply *r)
{
	struct sim_guest	*g = guest_get(c, r);
	struct sim_node		*tn;
	struct sim_task		*t;
	const char		*target = sim_param(c, "target");
	int			 online = sim_param_bool(c, "online", 0);
	int			 restart = sim_param_bool(c, "restart", 0);
	char			 id[16];

	if (g == NULL || need_vm(c, r, g->vmid, "VM.Migrate") != 0 ||
	    check_lock(c, r, g) != 0)
		return;
	if ((tn = sim_node_find(c->sim, target)) == NULL) {
		sim_reply_error(r, 500, "no such cluster node '%s'", target);
		return;
	}
	if (strcmp(tn->name, g->node) == 0) {
		sim_reply_error(r, 500, "target is local node.");
		return;
	}
	if (!tn->online) {
		sim_reply_error(r, 500, "target node '%s' is not online",
		    target);
		return;
	}
	if (g->lxc && online) {
		sim_reply_error(r, 500, "lxc live migration is currently not "
		    "implemented");
		return;
	}
	if (g->running && !g->lxc && !online) {
		sim_reply_error(r, 500, "can't migrate running VM without "
		    "--online");
		return;
	}
	if (g->running && g->lxc && !restart) {
		sim_reply_error(r, 500, "CT is running - use restart mode");
		return;
	}
	t = task_start(c, r, g->lxc ? "vzmigrate" : "qmigrate",
	    vmid_text(g->vmid, id, sizeof id));
	t->vmid = g->vmid;
	t->flag = g->lxc ? restart : online;
	snprintf(t->target, sizeof t->target, "%s", target);
	if (t->fail == NULL) {
		snprintf(g->lock, sizeof g->lock, "migrate");
		t->locked = 1;
	}
	sim_task_script(c->sim, t);
}

static void
api_clone(struct sim_call *c, struct sim_reply *r)
{
	struct sim_guest	*g = guest_get(c, r);
	struct sim_node		*tn;
	struct sim_task		*t;
	const char		*target = sim_param(c, "target");
	const char		*name = sim_param(c, g != NULL && g->lxc ?
				    "hostname" : "name");
	int			 newid = (int)sim_param_int(c, "newid", 0);
	char			 id[16];

	if (g == NULL || need_vm(c, r, g->vmid, "VM.Clone") != 0 ||
	    need_vm(c, r, newid, "VM.Allocate") != 0 ||
	    check_lock(c, r, g) != 0)
		return;
	if (sim_guest_find(c->sim, newid) != NULL) {
		sim_reply_error(r, 500, "unable to create %s %d: config file "
		    "already exists", sim_guest_kind(g), newid);
		return;
	}
	if (target != NULL) {
		if ((tn = sim_node_find(c->sim, target)) == NULL) {
			sim_reply_error(r, 500, "no such cluster node '%s'",
			    target);
			return;
		}
		if (!tn->online) {
			sim_reply_error(r, 500, "target node '%s' is not "
			    "online", target);
			return;
		}
		if (sim_prov_clone_check(c, r, g, target) != 0)
			return;
	}
	t = task_start(c, r, g->lxc ? "vzclone" : "qmclone",
	    vmid_text(g->vmid, id, sizeof id));
	t->vmid = g->vmid;
	t->newid = newid;
	t->flag = sim_param_bool(c, "full", 0);
	snprintf(t->newname, sizeof t->newname, "%s", name != NULL ? name :
	    "");
	snprintf(t->target, sizeof t->target, "%s", target != NULL ? target :
	    "");
	if (t->fail == NULL) {
		snprintf(g->lock, sizeof g->lock, "clone");
		t->locked = 1;
	}
	sim_task_script(c->sim, t);
}

static void
guest_digest(const struct sim_guest *g, char out[41])
{
	char	*text, hex[65];

	text = xasprintf("%d|%s|%s|%s|%s|%d|%d|%u", g->vmid, g->name, g->tags,
	    g->lock, g->description, g->onboot, g->protection, g->digest_gen);
	sha256_hex(text, strlen(text), hex);
	memcpy(out, hex, 40);
	out[40] = '\0';
	free(text);
}

static void
api_config_get(struct sim_call *c, struct sim_reply *r)
{
	struct sim_guest	*g = guest_get(c, r);
	json_t			*o;
	char			 digest[41];

	if (g == NULL || need_vm(c, r, g->vmid, "VM.Audit") != 0)
		return;
	o = json_object();
	guest_digest(g, digest);
	json_object_set_new(o, "digest", json_string(digest));
	json_object_set_new(o, g->lxc ? "hostname" : "name",
	    json_string(g->name));
	if (g->tags[0] != '\0')
		json_object_set_new(o, "tags", json_string(g->tags));
	if (g->lock[0] != '\0')
		json_object_set_new(o, "lock", json_string(g->lock));
	if (g->description[0] != '\0')
		json_object_set_new(o, "description",
		    json_string(g->description));
	json_object_set_new(o, "onboot", json_integer(g->onboot));
	if (g->startup[0] != '\0')
		json_object_set_new(o, "startup", json_string(g->startup));
	if (g->protection)
		json_object_set_new(o, "protection", json_integer(1));
	if (g->template)
		json_object_set_new(o, "template", json_integer(1));
	json_object_set_new(o, "cores", json_integer(g->maxcpu));
	if (g->lxc) {
		json_object_set_new(o, "memory", json_integer(g->maxmem >>
		    20));
		json_object_set_new(o, "swap", json_integer(512));
		json_object_set_new(o, "arch", json_string("amd64"));
		json_object_set_new(o, "ostype", json_string("debian"));
		json_object_set_new(o, "unprivileged", json_integer(1));
		json_object_set_new(o, "rootfs", json_sprintf(
		    "%s:vm-%d-disk-0,size=%lldG", sim_prov_storage(g), g->vmid,
		    (long long)(g->maxdisk >> 30)));
	} else {
		json_object_set_new(o, "memory", json_sprintf("%lld",
		    (long long)(g->maxmem >> 20)));
		json_object_set_new(o, "sockets", json_integer(1));
		json_object_set_new(o, "ostype", json_string(
		    strstr(g->name, "win") != NULL ? "win11" : "l26"));
		json_object_set_new(o, "scsihw",
		    json_string("virtio-scsi-single"));
		json_object_set_new(o, "boot", json_string("order=scsi0;net0"));
		json_object_set_new(o, "scsi0", json_sprintf("%s:%s-%d-"
		    "disk-0,iothread=1,size=%lldG", sim_prov_storage(g),
		    g->template ? "base" : "vm",
		    g->vmid, (long long)(g->maxdisk >> 30)));
	}
	sim_prov_config_get(g, o);	/* net0, ipconfig0, DNS */
	r->data = o;
}

static int
list_has(const char *list, const char *item)
{
	const char	*p = list, *e;
	size_t		 n = strlen(item);

	while (*p != '\0') {
		e = p + strcspn(p, ",; ");
		if ((size_t)(e - p) == n && strncmp(p, item, n) == 0)
			return (1);
		p = *e != '\0' ? e + 1 : e;
	}
	return (0);
}

static void
api_config_put(struct sim_call *c, struct sim_reply *r)
{
	struct sim_guest	*g = guest_get(c, r);
	const char		*del = sim_param(c, "delete");
	const char		*digest = sim_param(c, "digest");
	const char		*v;
	char			 cur[41];
	size_t			 i;

	if (g == NULL || need_vm(c, r, g->vmid, "VM.Config.Options") != 0 ||
	    check_skiplock(c, r) != 0)
		return;
	/*
	 * The lock is checked whatever the request deletes, `delete=lock`
	 * included: qemu-server's update_vm_api runs check_lock unless
	 * skiplock ("Ignore locks - only root is allowed to use this
	 * option.", PUT /nodes/{node}/qemu/{vmid}/config in
	 * ../shared/api-specs/proxmox-api.compact.json; refused above for a
	 * token), pve-container's update_vm runs it always (its PUT .../config
	 * has no skiplock) and before the digest; qemu-server compares the
	 * digest first. So an API token cannot unlock a guest: that is
	 * `qm unlock` / `pct unlock` on the node.
	 */
	if (g->lxc && check_lock(c, r, g) != 0)
		return;
	guest_digest(g, cur);
	if (digest != NULL && strcmp(digest, cur) != 0) {
		sim_reply_error(r, 500, "detected modified configuration - "
		    "file changed by other user? Try again.");
		return;
	}
	if (!g->lxc && check_lock(c, r, g) != 0)
		return;
	if (sim_prov_config_check(c, r, g) != 0)
		return;
	sim_prov_config_apply(c, g, list_has, del);
	if (del != NULL) {
		if (list_has(del, "lock"))
			g->lock[0] = '\0';
		if (list_has(del, "tags"))
			g->tags[0] = '\0';
		if (list_has(del, "description"))
			g->description[0] = '\0';
		if (list_has(del, "onboot"))
			g->onboot = 0;
		if (list_has(del, "startup"))
			g->startup[0] = '\0';
		if (list_has(del, "protection"))
			g->protection = 0;
	}
	for (i = 0; i < c->nparams; i++) {
		const char *k = c->params[i].key;

		v = c->params[i].value;
		if (strcmp(k, "tags") == 0)
			snprintf(g->tags, sizeof g->tags, "%s", v);
		else if (strcmp(k, "description") == 0)
			snprintf(g->description, sizeof g->description, "%s",
			    v);
		else if (strcmp(k, "name") == 0 || strcmp(k, "hostname") == 0)
			snprintf(g->name, sizeof g->name, "%s", v);
		else if (strcmp(k, "lock") == 0)
			snprintf(g->lock, sizeof g->lock, "%s", v);
		else if (strcmp(k, "onboot") == 0)
			g->onboot = sim_param_bool(c, "onboot", 0);
		else if (strcmp(k, "startup") == 0)
			snprintf(g->startup, sizeof g->startup, "%s", v);
		else if (strcmp(k, "protection") == 0)
			g->protection = sim_param_bool(c, "protection", 0);
	}
	g->digest_gen++;
	r->data = json_null();
}

/*
 * POST /nodes/{node}/status command=reboot|shutdown (Sys.PowerMgmt on
 * /nodes/{node}). Proxmox answers null at once and runs "(sleep 2;
 * /sbin/poweroff)&": the node goes a moment later, its guests stopped
 * by pve-guests.service on the way down. Here: after task_ms.
 */
static void
api_node_cmd(struct sim_call *c, struct sim_reply *r)
{
	struct sim_node	*n = node_get(c, r);
	const char	*cmd = sim_param(c, "command");
	char		 path[96];

	if (n == NULL)
		return;
	snprintf(path, sizeof path, "/nodes/%s", n->name);
	if (need(c, r, path, "Sys.PowerMgmt") != 0)
		return;
	n->power = strcmp(cmd, "reboot") == 0 ? SIM_POWER_REBOOT :
	    SIM_POWER_SHUTDOWN;
	n->power_at_ms = now_ms() + c->sim->task_ms;
	r->data = json_null();
}

/*
 * POST /nodes/{node}/wakeonlan (Sys.PowerMgmt on /nodes/{node}): sent
 * by the node that receives the request - the schema gives no proxyto -
 * so it must be another node than {node}: "'pve1' is local node, cannot
 * wake my self!". The MAC comes from {node}'s config (`wakeonlan:`);
 * without one "No wake on LAN MAC address defined for 'pve3'!". Answers
 * the MAC; an offline node boots task_ms later.
 */
static void
api_wakeonlan(struct sim_call *c, struct sim_reply *r)
{
	struct sim_node	*n = sim_node_find(c->sim, c->node);
	struct sim_node	*local = sim_local_node(c->sim);
	char		 path[96];

	if (local == NULL) {
		sim_reply_error(r, 595, "no route to host");
		return;
	}
	if (n == NULL) {
		sim_reply_error(r, 500, "no such cluster node '%s'", c->node);
		return;
	}
	snprintf(path, sizeof path, "/nodes/%s", n->name);
	if (need(c, r, path, "Sys.PowerMgmt") != 0)
		return;
	if (n == local) {
		sim_reply_error(r, 500, "'%s' is local node, cannot wake my "
		    "self!", n->name);
		return;
	}
	if (n->wol_mac[0] == '\0') {
		sim_reply_error(r, 500, "No wake on LAN MAC address defined "
		    "for '%s'!", n->name);
		return;
	}
	if (!n->online && n->power == SIM_POWER_NONE) {
		n->power = SIM_POWER_WAKE;
		n->power_at_ms = now_ms() + c->sim->task_ms;
	}
	r->data = json_string(n->wol_mac);
}

static int
in_vmid_list(const char *list, int vmid)
{
	const char	*p = list, *e;
	char		 buf[16];

	snprintf(buf, sizeof buf, "%d", vmid);
	while (*p != '\0') {
		e = p + strcspn(p, ",; \t");
		if ((size_t)(e - p) == strlen(buf) &&
		    strncmp(p, buf, (size_t)(e - p)) == 0)
			return (1);
		p = *e != '\0' ? e + 1 : e;
	}
	return (0);
}

/* A guest of a bulk task with Proxmox's order key. */
struct bulk_item {
	int	vmid;
	long	key;	/* startup order; unset = last (LONG_MAX) */
};

/* Start: order ascending, then VMID ascending (Nodes.pm startall). */
static int
cmp_start(const void *a, const void *b)
{
	const struct bulk_item	*x = a, *y = b;

	if (x->key != y->key)
		return (x->key < y->key ? -1 : 1);
	return (x->vmid < y->vmid ? -1 : x->vmid > y->vmid);
}

/* Stop: order descending, then VMID descending (Nodes.pm stopall). */
static int
cmp_stop(const void *a, const void *b)
{
	return (cmp_start(b, a));
}

/*
 * POST /nodes/{node}/startall and stopall: VM.PowerMgmt on / (or on
 * each guest of `vms`). The guests of the node, only those in `vms`
 * when given; startall takes only onboot=1 guests unless force=1 and
 * skips running ones and templates; stopall takes the running ones.
 * One task ("startall"/"stopall", no id) does them in startup order.
 */
static void
api_bulk(struct sim_call *c, struct sim_reply *r, int start)
{
	struct sim		*s = c->sim;
	struct sim_node		*n = node_get(c, r);
	struct sim_guest	*g;
	struct sim_task		*t;
	const char		*vms = sim_param(c, "vms");
	struct bulk_item	 ids[SIM_MAX_GUESTS];
	int			 nids = 0, i, force, order;

	if (n == NULL || need(c, r, "/", "VM.PowerMgmt") != 0)
		return;
	force = sim_param_bool(c, "force", 0);
	for (i = 0; i < s->nguests; i++) {
		g = &s->guests[i];
		if (strcmp(g->node, n->name) != 0 || g->template ||
		    (vms != NULL && !in_vmid_list(vms, g->vmid)))
			continue;
		if (start && (g->running || (!force && !g->onboot)))
			continue;
		if (!start && !g->running)
			continue;
		order = sim_startup_order(g, NULL);
		ids[nids].vmid = g->vmid;
		ids[nids++].key = order < 0 ? 2147483647L : (long)order;
	}
	if (nids > SIM_MAX_VZDUMP) {
		sim_reply_error(r, 500, "simulator: more than %d guests in one "
		    "bulk task", SIM_MAX_VZDUMP);
		return;
	}
	qsort(ids, (size_t)nids, sizeof ids[0], start ? cmp_start : cmp_stop);
	t = task_start(c, r, start ? "startall" : "stopall", "");
	for (i = 0; i < nids; i++)
		t->vmids[i] = ids[i].vmid;
	t->nvmids = nids;
	t->flag = (int)sim_param_int(c, "timeout", 180);
	sim_task_script(s, t);
}

static void
api_startall(struct sim_call *c, struct sim_reply *r)
{
	api_bulk(c, r, 1);
}

static void
api_stopall(struct sim_call *c, struct sim_reply *r)
{
	api_bulk(c, r, 0);
}

/* May the caller see this task? Its own always, others with Sys.Audit. */
static int
task_visible(struct sim_call *c, const struct sim_task *t)
{
	return (strcmp(t->user, c->token_user) == 0 ||
	    sim_token_has(c->token, "Sys.Audit"));
}

static json_t *
task_json(const struct sim_task *t, int with_status)
{
	json_t	*o = json_object();

	json_object_set_new(o, "upid", json_string(t->upid));
	json_object_set_new(o, "node", json_string(t->node));
	json_object_set_new(o, "pid", json_integer(t->pid));
	json_object_set_new(o, "pstart", json_integer(t->pstart));
	json_object_set_new(o, "starttime", json_integer(t->starttime));
	json_object_set_new(o, "type", json_string(t->type));
	json_object_set_new(o, "id", json_string(t->id));
	json_object_set_new(o, "user", json_string(t->user));
	if (!t->running) {
		json_object_set_new(o, "endtime", json_integer(t->endtime));
		if (with_status)
			json_object_set_new(o, "status",
			    json_string(t->exitstatus));
	}
	return (o);
}

static struct sim_task *
task_get(struct sim_call *c, struct sim_reply *r)
{
	struct sim_task	*t;

	if (node_get(c, r) == NULL)
		return (NULL);
	t = sim_task_find(c->sim, c->upid);
	if (t == NULL || strcmp(t->node, c->node) != 0) {
		sim_reply_error(r, 500, "no such task");
		return (NULL);
	}
	if (!task_visible(c, t)) {
		sim_reply_error(r, 403, "Permission check failed (/nodes/%s, "
		    "Sys.Audit)", c->node);
		return (NULL);
	}
	return (t);
}

static int
status_class_ok(const char *filter, const struct sim_task *t)
{
	const char	*cls;

	if (t->running)
		cls = "unknown";
	else if (strcmp(t->exitstatus, "OK") == 0)
		cls = "ok";
	else if (strncmp(t->exitstatus, "WARNINGS", 8) == 0)
		cls = "warning";
	else
		cls = "error";
	return (list_has(filter, cls));
}

static void
api_tasks(struct sim_call *c, struct sim_reply *r)
{
	struct sim		*s = c->sim;
	struct sim_task		*t;
	const char		*source = sim_param(c, "source");
	const char		*tf = sim_param(c, "typefilter");
	const char		*uf = sim_param(c, "userfilter");
	const char		*sf = sim_param(c, "statusfilter");
	long long		 limit = sim_param_int(c, "limit", 50);
	long long		 start = sim_param_int(c, "start", 0);
	long long		 vmid = sim_param_int(c, "vmid", 0);
	long long		 since = sim_param_int(c, "since", 0);
	long long		 until = sim_param_int(c, "until", 0);
	int			 errors = sim_param_bool(c, "errors", 0);
	long long		 seen = 0;
	json_t			*a;
	char			 id[16];
	int			 i;

	if (node_get(c, r) == NULL)
		return;
	if (source == NULL)
		source = "archive";
	a = json_array();
	for (i = s->ntasks - 1; i >= 0; i--) {
		t = s->tasks[i];
		if (strcmp(t->node, c->node) != 0 || !task_visible(c, t))
			continue;
		if (strcmp(source, "archive") == 0 && t->running)
			continue;
		if (strcmp(source, "active") == 0 && !t->running)
			continue;
		if (tf != NULL && *tf != '\0' && strcmp(t->type, tf) != 0)
			continue;
		if (uf != NULL && *uf != '\0' && strcasestr(t->user, uf) ==
		    NULL)
			continue;
		if (vmid != 0 && strcmp(t->id, vmid_text((int)vmid, id,
		    sizeof id)) != 0)
			continue;
		if (since != 0 && t->starttime < since)
			continue;
		if (until != 0 && t->starttime > until)
			continue;
		if (errors && !t->running && strcmp(t->exitstatus, "OK") == 0)
			continue;
		if (sf != NULL && *sf != '\0' && !status_class_ok(sf, t))
			continue;
		seen++;
		if (seen <= start || (long long)json_array_size(a) >= limit)
			continue;
		json_array_append_new(a, task_json(t, 1));
	}
	r->data = a;
	r->extra = json_pack("{sI}", "total", (json_int_t)seen);
}

static void
api_task_status(struct sim_call *c, struct sim_reply *r)
{
	struct sim_task	*t = task_get(c, r);
	json_t		*o;

	if (t == NULL)
		return;
	o = task_json(t, 0);
	json_object_set_new(o, "status", json_string(t->running ? "running" :
	    "stopped"));
	if (!t->running)
		json_object_set_new(o, "exitstatus",
		    json_string(t->exitstatus));
	r->data = o;
}

static void
api_task_log(struct sim_call *c, struct sim_reply *r)
{
	struct sim_task	*t = task_get(c, r);
	long long	 start = sim_param_int(c, "start", 0);
	long long	 limit = sim_param_int(c, "limit", 50);
	long long	 i;
	json_t		*a;

	if (t == NULL)
		return;
	if (limit == 0)
		limit = 50;
	a = json_array();
	/*
	 * PVE::Tools::dump_logfile: an empty log reads as one placeholder
	 * line {"n":1,"t":"no content"} (total 1), whatever the start; a
	 * start past the end of a log with lines reads as [].
	 */
	if (t->nlog == 0)
		json_array_append_new(a, json_pack("{siss}", "n", 1, "t",
		    "no content"));
	for (i = start; i < t->nlog && i < start + limit; i++)
		json_array_append_new(a, json_pack("{sIss}", "n",
		    (json_int_t)(i + 1), "t", t->log[i]));
	r->data = a;
	r->extra = json_pack("{sI}", "total", (json_int_t)(t->nlog > 0 ?
	    t->nlog : 1));
}

static void
api_task_delete(struct sim_call *c, struct sim_reply *r)
{
	struct sim_task	*t = task_get(c, r);
	char		 path[96];

	if (t == NULL)
		return;
	if (strcmp(t->user, c->token_user) != 0) {
		snprintf(path, sizeof path, "/nodes/%s", c->node);
		if (need(c, r, path, "Sys.Modify") != 0)
			return;
	}
	sim_task_stop(c->sim, t, "interrupted by signal");
	r->data = json_null();
}

/* Parameter tables: hand-written from the official schema. */
#define P_END		{ .name = NULL }
#define P_NODE		{ .name = "node", .type = PT_STR, .in_path = 1,	\
			    .fmt = F_NODE }
#define P_VMID		{ .name = "vmid", .type = PT_INT, .in_path = 1,	\
			    .has_min = 1, .min = 100, .has_max = 1,	\
			    .max = 999999999 }
#define P_SNAPNAME	{ .name = "snapname", .type = PT_STR,		\
			    .in_path = 1, .fmt = F_CONFIGID, .maxlen = 40 }
#define P_UPID		{ .name = "upid", .type = PT_STR, .in_path = 1,	\
			    .fmt = F_UPID }
#define P_STORAGE_PATH	{ .name = "storage", .type = PT_STR,		\
			    .in_path = 1, .fmt = F_STORAGEID }
#define OPT_BOOL(n)	{ .name = n, .type = PT_BOOL, .optional = 1 }
#define OPT_STR(n)	{ .name = n, .type = PT_STR, .optional = 1 }
#define OPT_UINT(n)	{ .name = n, .type = PT_INT, .optional = 1,	\
			    .has_min = 1, .min = 0 }
#define OPT_NODE(n)	{ .name = n, .type = PT_STR, .optional = 1,	\
			    .fmt = F_NODE }
#define OPT_VMID(n)	{ .name = n, .type = PT_INT, .optional = 1,	\
			    .has_min = 1, .min = 100, .has_max = 1,	\
			    .max = 999999999 }

static const struct sim_param p_none[] = { P_END };
static const struct sim_param p_resources[] = {
	{ .name = "type", .type = PT_STR, .optional = 1,
	    .enumv = "vm,storage,node,sdn" },
	P_END
};
static const struct sim_param p_node[] = { P_NODE, P_END };
static const struct sim_param p_guest[] = { P_NODE, P_VMID, P_END };
static const struct sim_param p_qm_start[] = { P_NODE, P_VMID,
	OPT_BOOL("skiplock"), OPT_UINT("timeout"), P_END };
static const struct sim_param p_ct_start[] = { P_NODE, P_VMID,
	OPT_BOOL("skiplock"), OPT_BOOL("debug"), P_END };
static const struct sim_param p_qm_stop[] = { P_NODE, P_VMID,
	OPT_BOOL("skiplock"), OPT_UINT("timeout"), OPT_BOOL("keepActive"),
	OPT_BOOL("overrule-shutdown"), P_END };
static const struct sim_param p_ct_stop[] = { P_NODE, P_VMID,
	OPT_BOOL("skiplock"), OPT_BOOL("overrule-shutdown"), P_END };
static const struct sim_param p_qm_shutdown[] = { P_NODE, P_VMID,
	OPT_BOOL("forceStop"), OPT_BOOL("keepActive"), OPT_BOOL("skiplock"),
	OPT_UINT("timeout"), P_END };
static const struct sim_param p_ct_shutdown[] = { P_NODE, P_VMID,
	OPT_BOOL("forceStop"), OPT_UINT("timeout"), P_END };
static const struct sim_param p_reboot[] = { P_NODE, P_VMID,
	OPT_UINT("timeout"), P_END };
static const struct sim_param p_qm_suspend[] = { P_NODE, P_VMID,
	OPT_BOOL("skiplock"), OPT_BOOL("todisk"), P_END };
static const struct sim_param p_qm_resume[] = { P_NODE, P_VMID,
	OPT_BOOL("skiplock"), OPT_BOOL("nocheck"), P_END };
static const struct sim_param p_qm_snapshot[] = { P_NODE, P_VMID,
	{ .name = "snapname", .type = PT_STR, .fmt = F_CONFIGID,
	    .maxlen = 40 },
	OPT_STR("description"), OPT_BOOL("vmstate"), P_END };
static const struct sim_param p_ct_snapshot[] = { P_NODE, P_VMID,
	{ .name = "snapname", .type = PT_STR, .fmt = F_CONFIGID,
	    .maxlen = 40 },
	OPT_STR("description"), P_END };
static const struct sim_param p_rollback[] = { P_NODE, P_VMID, P_SNAPNAME,
	OPT_BOOL("start"), P_END };
static const struct sim_param p_delsnapshot[] = { P_NODE, P_VMID,
	P_SNAPNAME, OPT_BOOL("force"), P_END };
static const struct sim_param p_vzdump[] = {
	/* The schema marks this path parameter optional. */
	{ .name = "node", .type = PT_STR, .in_path = 1, .optional = 1,
	    .fmt = F_NODE },
	{ .name = "vmid", .type = PT_STR, .optional = 1, .fmt = F_VMIDLIST },
	OPT_BOOL("all"),
	{ .name = "mode", .type = PT_STR, .optional = 1,
	    .enumv = "snapshot,suspend,stop" },
	{ .name = "storage", .type = PT_STR, .optional = 1,
	    .fmt = F_STORAGEID },
	{ .name = "compress", .type = PT_STR, .optional = 1,
	    .enumv = "0,1,gzip,lzo,zstd" },
	OPT_BOOL("remove"), OPT_BOOL("quiet"), OPT_BOOL("protected"),
	OPT_UINT("bwlimit"),
	{ .name = "notes-template", .type = PT_STR, .optional = 1,
	    .maxlen = 1024 },
	{ .name = "mailnotification", .type = PT_STR, .optional = 1,
	    .enumv = "always,failure" },
	P_END
};
static const struct sim_param p_content[] = { P_NODE, P_STORAGE_PATH,
	{ .name = "content", .type = PT_STR, .optional = 1,
	    .fmt = F_CONTENT },
	OPT_VMID("vmid"), P_END };
static const struct sim_param p_qm_migrate[] = { P_NODE, P_VMID,
	{ .name = "target", .type = PT_STR, .fmt = F_NODE },
	OPT_BOOL("online"), OPT_BOOL("with-local-disks"), OPT_BOOL("force"),
	P_END };
static const struct sim_param p_ct_migrate[] = { P_NODE, P_VMID,
	{ .name = "target", .type = PT_STR, .fmt = F_NODE },
	OPT_BOOL("online"), OPT_BOOL("restart"),
	{ .name = "timeout", .type = PT_INT, .optional = 1 },
	P_END };
static const struct sim_param p_qm_clone[] = { P_NODE, P_VMID,
	{ .name = "newid", .type = PT_INT, .has_min = 1, .min = 100,
	    .has_max = 1, .max = 999999999 },
	{ .name = "name", .type = PT_STR, .optional = 1, .fmt = F_DNSNAME },
	OPT_STR("description"), OPT_BOOL("full"), OPT_NODE("target"),
	{ .name = "storage", .type = PT_STR, .optional = 1,
	    .fmt = F_STORAGEID },
	{ .name = "snapname", .type = PT_STR, .optional = 1,
	    .fmt = F_CONFIGID, .maxlen = 40 },
	P_END };
static const struct sim_param p_ct_clone[] = { P_NODE, P_VMID,
	{ .name = "newid", .type = PT_INT, .has_min = 1, .min = 100,
	    .has_max = 1, .max = 999999999 },
	{ .name = "hostname", .type = PT_STR, .optional = 1,
	    .fmt = F_DNSNAME },
	OPT_STR("description"), OPT_BOOL("full"), OPT_NODE("target"),
	{ .name = "storage", .type = PT_STR, .optional = 1,
	    .fmt = F_STORAGEID },
	{ .name = "snapname", .type = PT_STR, .optional = 1,
	    .fmt = F_CONFIGID, .maxlen = 40 },
	P_END };
static const struct sim_param p_config_get[] = { P_NODE, P_VMID,
	OPT_BOOL("current"),
	{ .name = "snapshot", .type = PT_STR, .optional = 1,
	    .fmt = F_CONFIGID, .maxlen = 40 },
	P_END };
static const struct sim_param p_qm_config_put[] = { P_NODE, P_VMID,
	{ .name = "delete", .type = PT_STR, .optional = 1,
	    .fmt = F_CONFIGIDLIST },
	{ .name = "tags", .type = PT_STR, .optional = 1, .fmt = F_TAGLIST },
	{ .name = "description", .type = PT_STR, .optional = 1,
	    .maxlen = 8192 },
	{ .name = "digest", .type = PT_STR, .optional = 1, .maxlen = 40 },
	{ .name = "name", .type = PT_STR, .optional = 1, .fmt = F_DNSNAME },
	OPT_BOOL("onboot"), OPT_BOOL("protection"), OPT_BOOL("skiplock"),
	{ .name = "lock", .type = PT_STR, .optional = 1,
	    .enumv = "backup,clone,create,migrate,rollback,snapshot,"
	    "snapshot-delete,suspending,suspended" },
	{ .name = "startup", .type = PT_STR, .optional = 1,
	    .fmt = F_STARTUP },
	OPT_STR("net0"), OPT_STR("ipconfig0"), OPT_STR("nameserver"),
	OPT_STR("searchdomain"),
	P_END };
static const struct sim_param p_ct_config_put[] = { P_NODE, P_VMID,
	{ .name = "delete", .type = PT_STR, .optional = 1,
	    .fmt = F_CONFIGIDLIST },
	{ .name = "tags", .type = PT_STR, .optional = 1, .fmt = F_TAGLIST },
	{ .name = "description", .type = PT_STR, .optional = 1,
	    .maxlen = 8192 },
	{ .name = "digest", .type = PT_STR, .optional = 1, .maxlen = 40 },
	{ .name = "hostname", .type = PT_STR, .optional = 1,
	    .fmt = F_DNSNAME, .maxlen = 255 },
	OPT_BOOL("onboot"), OPT_BOOL("protection"),
	{ .name = "lock", .type = PT_STR, .optional = 1,
	    .enumv = "backup,create,destroyed,disk,fstrim,migrate,mounted,"
	    "rollback,snapshot,snapshot-delete" },
	{ .name = "startup", .type = PT_STR, .optional = 1,
	    .fmt = F_STARTUP },
	OPT_STR("net0"), OPT_STR("nameserver"), OPT_STR("searchdomain"),
	P_END };
static const struct sim_param p_tasks[] = { P_NODE,
	OPT_UINT("limit"), OPT_UINT("start"), OPT_VMID("vmid"),
	OPT_STR("typefilter"), OPT_STR("userfilter"),
	{ .name = "since", .type = PT_INT, .optional = 1 },
	{ .name = "until", .type = PT_INT, .optional = 1 },
	{ .name = "source", .type = PT_STR, .optional = 1,
	    .enumv = "archive,active,all" },
	OPT_BOOL("errors"),
	{ .name = "statusfilter", .type = PT_STR, .optional = 1,
	    .fmt = F_STATUSLIST },
	P_END };
static const struct sim_param p_task[] = { P_NODE, P_UPID, P_END };
static const struct sim_param p_node_cmd[] = { P_NODE,
	{ .name = "command", .type = PT_STR, .enumv = "reboot,shutdown" },
	P_END };
static const struct sim_param p_startall[] = { P_NODE,
	OPT_BOOL("force"),
	{ .name = "max-workers", .type = PT_INT, .optional = 1,
	    .has_min = 1, .min = 1, .has_max = 1, .max = 64 },
	{ .name = "vms", .type = PT_STR, .optional = 1, .fmt = F_VMIDLIST },
	P_END };
static const struct sim_param p_stopall[] = { P_NODE,
	OPT_BOOL("force-stop"),
	{ .name = "max-workers", .type = PT_INT, .optional = 1,
	    .has_min = 1, .min = 1, .has_max = 1, .max = 64 },
	{ .name = "timeout", .type = PT_INT, .optional = 1,
	    .has_min = 1, .min = 0, .has_max = 1, .max = 7200 },
	{ .name = "vms", .type = PT_STR, .optional = 1, .fmt = F_VMIDLIST },
	P_END };
static const struct sim_param p_task_log[] = { P_NODE, P_UPID,
	OPT_UINT("start"), OPT_UINT("limit"), P_END };

#define GUEST(t, m, sub, fn, params)					\
	{ m, "/nodes/{node}/" t "/{vmid}" sub, fn, params }

const struct sim_route sim_routes[] = {
	{ "GET", "/version", api_version, p_none },
	{ "GET", "/cluster/resources", api_cluster_resources, p_resources },
	{ "GET", "/cluster/status", api_cluster_status, p_none },
	{ "GET", "/nodes", api_nodes, p_none },
	{ "GET", "/nodes/{node}/status", api_node_status, p_node },
	{ "POST", "/nodes/{node}/status", api_node_cmd, p_node_cmd },
	{ "POST", "/nodes/{node}/wakeonlan", api_wakeonlan, p_node },
	{ "POST", "/nodes/{node}/startall", api_startall, p_startall },
	{ "POST", "/nodes/{node}/stopall", api_stopall, p_stopall },

	GUEST("qemu", "GET", "/status/current", api_guest_status, p_guest),
	GUEST("qemu", "POST", "/status/start", api_guest_start, p_qm_start),
	GUEST("qemu", "POST", "/status/stop", api_guest_stop, p_qm_stop),
	GUEST("qemu", "POST", "/status/shutdown", api_guest_shutdown,
	    p_qm_shutdown),
	GUEST("qemu", "POST", "/status/reboot", api_guest_reboot, p_reboot),
	GUEST("qemu", "POST", "/status/suspend", api_guest_suspend,
	    p_qm_suspend),
	GUEST("qemu", "POST", "/status/resume", api_guest_resume,
	    p_qm_resume),
	GUEST("qemu", "GET", "/snapshot", api_snapshot_list, p_guest),
	GUEST("qemu", "POST", "/snapshot", api_snapshot_create,
	    p_qm_snapshot),
	GUEST("qemu", "POST", "/snapshot/{snapname}/rollback",
	    api_snapshot_rollback, p_rollback),
	GUEST("qemu", "DELETE", "/snapshot/{snapname}", api_snapshot_delete,
	    p_delsnapshot),
	GUEST("qemu", "POST", "/migrate", api_migrate, p_qm_migrate),
	GUEST("qemu", "POST", "/clone", api_clone, p_qm_clone),
	GUEST("qemu", "GET", "/config", api_config_get, p_config_get),
	GUEST("qemu", "PUT", "/config", api_config_put, p_qm_config_put),

	GUEST("lxc", "GET", "/status/current", api_guest_status, p_guest),
	GUEST("lxc", "POST", "/status/start", api_guest_start, p_ct_start),
	GUEST("lxc", "POST", "/status/stop", api_guest_stop, p_ct_stop),
	GUEST("lxc", "POST", "/status/shutdown", api_guest_shutdown,
	    p_ct_shutdown),
	GUEST("lxc", "POST", "/status/reboot", api_guest_reboot, p_reboot),
	GUEST("lxc", "POST", "/status/suspend", api_guest_suspend, p_guest),
	GUEST("lxc", "POST", "/status/resume", api_guest_resume, p_guest),
	GUEST("lxc", "GET", "/snapshot", api_snapshot_list, p_guest),
	GUEST("lxc", "POST", "/snapshot", api_snapshot_create,
	    p_ct_snapshot),
	GUEST("lxc", "POST", "/snapshot/{snapname}/rollback",
	    api_snapshot_rollback, p_rollback),
	GUEST("lxc", "DELETE", "/snapshot/{snapname}", api_snapshot_delete,
	    p_delsnapshot),
	GUEST("lxc", "POST", "/migrate", api_migrate, p_ct_migrate),
	GUEST("lxc", "POST", "/clone", api_clone, p_ct_clone),
	GUEST("lxc", "GET", "/config", api_config_get, p_config_get),
	GUEST("lxc", "PUT", "/config", api_config_put, p_ct_config_put),

	{ "POST", "/nodes/{node}/vzdump", api_vzdump, p_vzdump },
	{ "GET", "/nodes/{node}/storage/{storage}/content",
	    api_storage_content, p_content },
	{ "GET", "/nodes/{node}/tasks", api_tasks, p_tasks },
	{ "GET", "/nodes/{node}/tasks/{upid}/status", api_task_status,
	    p_task },
	{ "GET", "/nodes/{node}/tasks/{upid}/log", api_task_log,
	    p_task_log },
	{ "DELETE", "/nodes/{node}/tasks/{upid}", api_task_delete, p_task },
};
const size_t sim_nroutes = nitems(sim_routes);

int
sim_route_local(const struct sim_route *route)
{
	return (route->fn == api_wakeonlan);
}

void
sim_api_walk(void (*cb)(void *, const char *, const char *, const char *,
    const char *, int, int, const char *), void *arg)
{
	static const char *const tnames[] = { "boolean", "integer", "number",
	    "string" };
	const struct sim_route	*r;
	const struct sim_param	*p;
	size_t			 i;

	for (i = 0; (r = sim_route_at(i)) != NULL; i++) {
		p = r->params;
		if (p->name == NULL)
			cb(arg, r->method, r->path, NULL, NULL, 0, 0, NULL);
		for (; p->name != NULL; p++)
			cb(arg, r->method, r->path, p->name, tnames[p->type],
			    p->optional, p->in_path, p->enumv);
	}
}
