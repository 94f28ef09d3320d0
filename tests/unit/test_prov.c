/*
 * test_prov.c - addresses and MACs by convention (prov/prov_alloc.c,
 * prov/prov_cluster.c) against the Proxmox simulator over HTTPS on
 * loopback, with a real SQLite allocation table: what guests'
 * configurations use is read as Proxmox formats it (a container's net0
 * ip=, a VM's cloud-init ipconfig0 ip=, MACs in both), an address a
 * guest outside pvebot uses is skipped, two allocations at once get
 * different addresses and MACs, a released address comes back only
 * after its release; and what the simulator models of it (net0 and
 * ipconfig0 checked as Proxmox checks them, a new MAC on clone,
 * /cluster/nextid).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "exec_proxmox.h"
#include "prov.h"
#include "sim.h"
#include "store.h"
#include "store_prov.h"
#include "t.h"
#include "t_db.h"
#include "t_store.h"
#include "util.h"

#define SECRET	"3a4b5c6d-7e8f-4a1b-9c2d-3e4f5a6b7c8d"
#define TOKEN	"pvebot@pve!bot"

static const char *conventions =
    "name: \"pve-{node}-{type}-{seq:02d}\"\n"
    "mac_prefix: \"02:00:00\"\n"
    "nodes:\n"
    "  - node: pve1\n"
    "    subnet: 10.1.0.0/24\n"
    "    gateway: 10.1.0.1\n"
    "    vm_range: 10.1.0.100-10.1.0.109\n"
    "    ct_range: 10.1.0.150-10.1.0.159\n";

struct env {
	struct sim		*sim;
	char			*url;
	struct conf_proxmox	 cf;
	struct pve		*pve;
	struct prov_conf	*pc;
	char			*db;
};

static int
env_start(struct env *e)
{
	struct sim_opts	 o;
	char		*cause = NULL, *errors = NULL;

	memset(e, 0, sizeof *e);
	memset(&o, 0, sizeof o);
	o.tls = 1;
	o.token_id = TOKEN;
	o.secret = SECRET;
	o.task_ms = 200;
	if ((e->sim = sim_start(&o, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "sim_start: %s", cause);
		free(cause);
		return -1;
	}
	e->url = xasprintf("https://127.0.0.1:%d/api2/json",
	    sim_port(e->sim));
	e->cf.urls = &e->url;
	e->cf.nurls = 1;
	e->cf.token_id = TOKEN;
	e->cf.secret = SECRET;
	e->cf.fingerprint = (char *)sim_fingerprint(e->sim);
	e->cf.connect_timeout = 10;
	e->cf.request_timeout = 10;
	e->cf.task_poll = 50;
	if ((e->pve = pve_create(&e->cf, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "pve_create: %s", cause);
		free(cause);
		return -1;
	}
	e->pc = prov_conf_load_string("prov.yaml", conventions,
	    strlen(conventions), &errors);
	if (e->pc == NULL) {
		t_fail(__FILE__, __LINE__, "conventions: %s", errors);
		free(errors);
		return -1;
	}
	e->db = t_store_db("pvebot.db");
	return 0;
}

static void
env_stop(struct env *e)
{
	pve_free(e->pve);
	sim_stop(e->sim);
	prov_conf_free(e->pc);
	free(e->url);
	free(e->db);
}

/* PUT a guest's config; 0, or -1 with *cause. */
static int
put_config(struct env *e, const char *path, const char *key,
    const char *value, char **cause)
{
	struct pve_param	 p[1] = { { key, value } };

	return pve_request(e->pve, "PUT", path, p, 1, NULL, cause) == PVE_OK ?
	    0 : -1;
}

static void
put_ok(struct env *e, const char *path, const char *key, const char *value)
{
	char	*cause = NULL;

	if (put_config(e, path, key, value, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "PUT %s %s=%s: %s", path, key,
		    value, cause);
		free(cause);
	}
}

static json_t *
get_config(struct env *e, const char *path)
{
	json_t	*data = NULL;
	char	*cause = NULL;

	if (pve_request(e->pve, "GET", path, NULL, 0, &data, &cause) !=
	    PVE_OK) {
		t_fail(__FILE__, __LINE__, "GET %s: %s", path, cause);
		free(cause);
	}
	return data;
}

static char *
wait_task(struct env *e, const char *upid)
{
	struct pve_task_status	 ts;
	char			*cause = NULL, *x;
	int64_t			 until = now_ms() + 20000;

	while (now_ms() < until) {
		if (pve_task_status(e->pve, upid, &ts, &cause) != PVE_OK) {
			free(cause);
			return NULL;
		}
		if (!ts.running) {
			x = ts.exitstatus;
			ts.exitstatus = NULL;
			return x;
		}
		pve_task_status_release(&ts);
		sleep_ms(20);
	}
	return NULL;
}

/* The simulator holds net0 and ipconfig0 as Proxmox checks them. */
static void
test_sim_network_config(void)
{
	struct env	 e;
	json_t		*cfg, *data = NULL;
	char		*cause = NULL, *x;
	struct pve_param p[2];
	const char	*net;

	if (env_start(&e) != 0)
		goto out;
	/* A container: net0 with ip=, read back as written. */
	put_ok(&e, "/nodes/pve2/lxc/103/config", "net0", "name=eth0,"
	    "bridge=vmbr0,hwaddr=02:00:00:AA:BB:CC,ip=10.1.0.150/24,"
	    "gw=10.1.0.1,type=veth");
	cfg = get_config(&e, "/nodes/pve2/lxc/103/config");
	T_EQ_STR(json_string_value(json_object_get(cfg, "net0")), "name=eth0,"
	    "bridge=vmbr0,hwaddr=02:00:00:AA:BB:CC,ip=10.1.0.150/24,"
	    "gw=10.1.0.1,type=veth");
	json_decref(cfg);
	/* A key the format does not have, a bad address, a missing name. */
	T_EQ_INT(put_config(&e, "/nodes/pve2/lxc/103/config", "net0",
	    "name=eth0,colour=red", &cause), -1);
	T_CONTAINS(cause, "net0");
	free(cause);
	cause = NULL;
	T_EQ_INT(put_config(&e, "/nodes/pve2/lxc/103/config", "net0",
	    "name=eth0,ip=10.1.0.300/24", &cause), -1);
	free(cause);
	cause = NULL;
	T_EQ_INT(put_config(&e, "/nodes/pve2/lxc/103/config", "net0",
	    "bridge=vmbr0,ip=dhcp", &cause), -1);
	free(cause);
	cause = NULL;
	/* Containers have no cloud-init ipconfig0. */
	T_EQ_INT(put_config(&e, "/nodes/pve2/lxc/103/config", "ipconfig0",
	    "ip=10.1.0.151/24", &cause), -1);
	free(cause);
	cause = NULL;
	/* A VM: MODEL=MAC, and cloud-init's ipconfig0. */
	put_ok(&e, "/nodes/pve1/qemu/101/config", "ipconfig0",
	    "ip=10.1.0.100/24,gw=10.1.0.1");
	T_EQ_INT(put_config(&e, "/nodes/pve1/qemu/101/config", "net0",
	    "bridge=vmbr0", &cause), -1);	/* no model */
	free(cause);
	cause = NULL;
	put_ok(&e, "/nodes/pve1/qemu/101/config", "net0",
	    "virtio=02:00:00:01:02:03,bridge=vmbr0");
	/* A multicast MAC is no guest's. */
	T_EQ_INT(put_config(&e, "/nodes/pve1/qemu/101/config", "net0",
	    "virtio=03:00:00:01:02:03,bridge=vmbr0", &cause), -1);
	free(cause);
	cause = NULL;

	/* A clone gets a new MAC and keeps the address. */
	p[0] = (struct pve_param){ "newid", "130" };
	p[1] = (struct pve_param){ "hostname", "dns-copy" };
	if (pve_request(e.pve, "POST", "/nodes/pve2/lxc/103/clone", p, 2,
	    &data, &cause) != PVE_OK) {
		t_fail(__FILE__, __LINE__, "clone: %s", cause);
		free(cause);
		goto out;
	}
	x = wait_task(&e, json_string_value(data));
	T_EQ_STR(x, "OK");
	free(x);
	json_decref(data);
	cfg = get_config(&e, "/nodes/pve2/lxc/130/config");
	net = json_string_value(json_object_get(cfg, "net0"));
	T_CONTAINS(net, "ip=10.1.0.150/24");
	T_NOT_CONTAINS(net, "02:00:00:AA:BB:CC");
	T_CONTAINS(net, "hwaddr=BC:24:11:");
	json_decref(cfg);

	/* To another node only from shared storage (Proxmox's rule). */
	p[0] = (struct pve_param){ "newid", "131" };
	p[1] = (struct pve_param){ "target", "pve1" };
	T_OK(pve_request(e.pve, "POST", "/nodes/pve2/lxc/103/clone", p, 2,
	    NULL, &cause) != PVE_OK);
	T_CONTAINS(cause, "can't clone CT to node 'pve1' (CT uses local "
	    "storage)");
	free(cause);
	cause = NULL;
	T_EQ_INT(sim_admin(e.sim, "prov", "[{\"storage\":\"ceph-vm\"},"
	    "{\"vmid\":103,\"storage\":\"ceph-vm\"}]", &cause), 0);
	data = NULL;
	T_EQ_INT(pve_request(e.pve, "POST", "/nodes/pve2/lxc/103/clone", p, 2,
	    &data, &cause), PVE_OK);
	x = wait_task(&e, json_string_value(data));
	T_EQ_STR(x, "OK");
	free(x);
	json_decref(data);
	cfg = get_config(&e, "/nodes/pve1/lxc/131/config");
	T_CONTAINS(json_string_value(json_object_get(cfg, "rootfs")),
	    "ceph-vm:");
	json_decref(cfg);

	/* /cluster/nextid: the lowest free id; a taken one asserted is 400. */
	data = NULL;
	T_EQ_INT(pve_request(e.pve, "GET", "/cluster/nextid", NULL, 0, &data,
	    &cause), PVE_OK);
	T_EQ_STR(json_string_value(data), "109");
	json_decref(data);
	p[0] = (struct pve_param){ "vmid", "101" };
	T_OK(pve_request(e.pve, "GET", "/cluster/nextid", p, 1, NULL,
	    &cause) != PVE_OK);
	T_CONTAINS(cause, "already exists");
	free(cause);
out:
	env_stop(&e);
}

/* The addresses and MACs of the cluster's configurations. */
static void
test_used_from_configs(void)
{
	struct env		 e;
	struct prov_used	 u;
	char			*cause = NULL;

	if (env_start(&e) != 0)
		goto out;
	put_ok(&e, "/nodes/pve2/lxc/103/config", "net0", "name=eth0,"
	    "bridge=vmbr0,hwaddr=02:00:00:AA:BB:CC,ip=10.1.0.150/24,"
	    "type=veth");
	put_ok(&e, "/nodes/pve1/qemu/101/config", "ipconfig0",
	    "gw=10.1.0.1,ip=10.1.0.100/24");
	put_ok(&e, "/nodes/pve1/qemu/102/config", "net0",
	    "e1000=02:00:00:0d:0e:0f,bridge=vmbr0");
	memset(&u, 0, sizeof u);
	T_EQ_INT(prov_read_used(e.pve, &u, NULL, NULL, NULL, &cause), 0);
	T_OK(cause == NULL);
	T_OK(prov_used_has_ip(&u, 0x0a010096));		/* 10.1.0.150 */
	T_OK(prov_used_has_ip(&u, 0x0a010064));		/* 10.1.0.100 */
	T_OK(!prov_used_has_ip(&u, 0x0a010001));	/* the gateway */
	T_OK(prov_used_has_mac(&u, "02:00:00:AA:BB:CC"));
	T_OK(prov_used_has_mac(&u, "02:00:00:0D:0E:0F"));
	/* The simulator's own guests' MACs too. */
	T_OK(prov_used_has_mac(&u, "BC:24:11:01:00:68"));	/* 104 */
	prov_used_release(&u);

	/* An unreadable configuration: no guess. */
	T_EQ_INT(sim_admin(e.sim, "fault", "{\"node\":\"pve3\","
	    "\"online\":false}", &cause), 0);
	memset(&u, 0, sizeof u);
	T_EQ_INT(prov_read_used(e.pve, &u, NULL, NULL, NULL, &cause), -1);
	T_CONTAINS(cause, "no address is picked");
	free(cause);
	prov_used_release(&u);
out:
	env_stop(&e);
}

static int
alloc_one(struct env *e, struct store *s, int64_t job, char ip[16],
    char mac[18])
{
	struct prov_used	 u;
	const struct prov_node	*pn = prov_conf_node(e->pc, "pve1");
	uint32_t		 a;
	char			*cause = NULL;
	int			 rc = -1;

	memset(&u, 0, sizeof u);
	if (prov_read_used(e->pve, &u, NULL, NULL, NULL, &cause) != 0)
		goto out;
	if (store_begin(s) != 0)
		goto out;
	if (prov_alloc_ip(s, pn, &pn->vm, &u, job, 0, &a, &cause) != 0 ||
	    prov_alloc_mac(s, e->pc, &u, "pve1", job, 0, mac, &cause) != 0) {
		store_rollback(s);
		goto out;
	}
	if (store_commit(s) != 0)
		goto out;
	prov_ip_format(a, ip);
	rc = 0;
out:
	if (cause != NULL)
		t_fail(__FILE__, __LINE__, "allocation: %s", cause);
	free(cause);
	prov_used_release(&u);
	return rc;
}

/* An address a guest outside pvebot uses is skipped. */
static void
test_outside_address_skipped(void)
{
	struct env	 e;
	struct store	*s = NULL;
	char		 ip[16], mac[18], *cause = NULL;

	if (env_start(&e) != 0 || (s = store_open(e.db, &cause)) == NULL)
		goto out;
	put_ok(&e, "/nodes/pve1/qemu/101/config", "ipconfig0",
	    "ip=10.1.0.100/24,gw=10.1.0.1");
	put_ok(&e, "/nodes/pve2/lxc/103/config", "net0", "name=eth0,"
	    "bridge=vmbr0,hwaddr=02:00:00:AA:BB:CC,ip=10.1.0.101/24,"
	    "type=veth");
	T_EQ_INT(alloc_one(&e, s, 1, ip, mac), 0);
	T_EQ_STR(ip, "10.1.0.102");
	T_OK(str_has_prefix(mac, "02:00:00:"));
out:
	free(cause);
	store_close(s);
	env_stop(&e);
}

/* A released address is reused only after its release. */
static void
test_release_then_reuse(void)
{
	struct env	 e;
	struct store	*s = NULL;
	char		 a[16], b[16], c[16], d[16], mac[18], *cause = NULL;

	if (env_start(&e) != 0 || (s = store_open(e.db, &cause)) == NULL)
		goto out;
	T_EQ_INT(alloc_one(&e, s, 1, a, mac), 0);
	T_EQ_INT(alloc_one(&e, s, 2, b, mac), 0);
	T_EQ_STR(a, "10.1.0.100");
	T_EQ_STR(b, "10.1.0.101");
	/* Job 1's address is still held: job 3 gets the next one. */
	T_EQ_INT(alloc_one(&e, s, 3, c, mac), 0);
	T_EQ_STR(c, "10.1.0.102");
	T_EQ_INT(prov_release_job(s, 1), 2);	/* its address and MAC */
	T_EQ_INT(alloc_one(&e, s, 4, d, mac), 0);
	T_EQ_STR(d, "10.1.0.100");
	/* Released twice changes nothing. */
	T_EQ_INT(prov_release_job(s, 1), 0);
out:
	free(cause);
	store_close(s);
	env_stop(&e);
}

/*
 * A held name blocks the same name in another case (Proxmox ignores the
 * case of names), and only while its row is live; an address compares
 * exactly.
 */
static void
test_name_held_without_case(void)
{
	struct env	 e;
	struct store	*s = NULL;
	char		*cause = NULL;

	if (env_start(&e) != 0 || (s = store_open(e.db, &cause)) == NULL)
		goto out;
	T_EQ_INT(prov_row_add(s, "name", "Web-01", "pve1", 7, 120, &cause),
	    0);
	T_EQ_INT(prov_row_live(s, "name", "web-01", 1), 1);
	T_EQ_INT(prov_row_live(s, "name", "WEB-01", 1), 1);
	T_EQ_INT(prov_row_live(s, "name", "web-02", 1), 0);
	T_EQ_INT(prov_row_live(s, "name", "web-01", 0), 0);
	T_EQ_INT(prov_row_live(s, "ip", "Web-01", 1), 0);
	T_EQ_INT(prov_release_value(s, "name", "Web-01"), 1);
	T_EQ_INT(prov_row_live(s, "name", "web-01", 1), 0);
out:
	free(cause);
	store_close(s);
	env_stop(&e);
}

struct racer {
	struct env	*e;
	int64_t		 job;
	pthread_barrier_t *bar;
	char		 ip[16], mac[18];
	int		 rc;
};

static void *
racer_run(void *arg)
{
	struct racer	*r = arg;
	struct store	*s;
	char		*cause = NULL;

	s = store_open(r->e->db, &cause);
	pthread_barrier_wait(r->bar);
	r->rc = s != NULL ? alloc_one(r->e, s, r->job, r->ip, r->mac) : -1;
	free(cause);
	store_close(s);
	return NULL;
}

/* Two allocations at once: different addresses and MACs. */
static void
test_two_at_once(void)
{
	struct env		 e;
	struct racer		 r[4];
	pthread_t		 th[4];
	pthread_barrier_t	 bar;
	struct store		*s = NULL;
	char			*cause = NULL;
	size_t			 i, j;

	if (env_start(&e) != 0 || (s = store_open(e.db, &cause)) == NULL)
		goto out;
	pthread_barrier_init(&bar, NULL, 4);
	for (i = 0; i < 4; i++) {
		memset(&r[i], 0, sizeof r[i]);
		r[i].e = &e;
		r[i].job = (int64_t)i + 10;
		r[i].bar = &bar;
		pthread_create(&th[i], NULL, racer_run, &r[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (i = 0; i < 4; i++) {
		T_EQ_INT(r[i].rc, 0);
		for (j = 0; j < i; j++) {
			if (strcmp(r[i].ip, r[j].ip) == 0)
				t_fail(__FILE__, __LINE__, "jobs %zu and %zu "
				    "both got %s", i, j, r[i].ip);
			if (strcmp(r[i].mac, r[j].mac) == 0)
				t_fail(__FILE__, __LINE__, "jobs %zu and %zu "
				    "both got %s", i, j, r[i].mac);
		}
	}
	/* The table refuses a second live row even outside the picking. */
	T_EQ_INT(store_exec(s, "INSERT INTO prov_alloc (kind, value, node, "
	    "allocated_at) SELECT kind, value, node, 0 FROM prov_alloc LIMIT "
	    "1", &cause), -1);
	/* Each backend's words for it. */
	T_CONTAINS(cause, t_db_pg() ? "unique constraint" : "UNIQUE");
out:
	free(cause);
	store_close(s);
	env_stop(&e);
}

/* A MAC is never one a guest has or pvebot holds. */
static void
test_mac_avoids_cluster(void)
{
	const char	*tight = "mac_prefix: \"02:00:00:00:00\"\n"
	    "nodes:\n"
	    "  - {node: pve1, subnet: 10.1.0.0/24, gateway: 10.1.0.1,"
	    " vm_range: 10.1.0.10-10.1.0.20}\n";
	struct env	 e;
	struct store	*s = NULL;
	struct prov_used u;
	struct prov_conf *pc = NULL;
	char		*cause = NULL, *errors = NULL, mac[18], net[256];
	int		 i;

	memset(&u, 0, sizeof u);
	if (env_start(&e) != 0 || (s = store_open(e.db, &cause)) == NULL)
		goto out;
	pc = prov_conf_load_string("p.yaml", tight, strlen(tight), &errors);
	T_OK(pc != NULL);
	if (pc == NULL)
		goto out;
	/* One guest holds ...:00:07 in its config; pvebot the rest but 42. */
	put_ok(&e, "/nodes/pve1/qemu/101/config", "net0",
	    "virtio=02:00:00:00:00:07,bridge=vmbr0");
	for (i = 0; i < 256; i++) {
		if (i == 0x42 || i == 7)
			continue;
		snprintf(net, sizeof net, "INSERT INTO prov_alloc (kind, "
		    "value, node, allocated_at) VALUES ('mac', "
		    "'02:00:00:00:00:%02X', 'pve1', 0)", i);
		T_EQ_INT(store_exec(s, net, &cause), 0);
	}
	T_EQ_INT(prov_read_used(e.pve, &u, NULL, NULL, NULL, &cause), 0);
	T_EQ_INT(store_begin(s), 0);
	T_EQ_INT(prov_alloc_mac(s, pc, &u, "pve1", 5, 0, mac, &cause), 0);
	T_EQ_STR(mac, "02:00:00:00:00:42");
	/* Now none is left: a clear answer, nothing taken. */
	T_EQ_INT(prov_alloc_mac(s, pc, &u, "pve1", 6, 0, mac, &cause), -1);
	T_CONTAINS(cause, "no free MAC address");
	store_commit(s);
out:
	free(cause);
	free(errors);
	prov_used_release(&u);
	prov_conf_free(pc);
	store_close(s);
	env_stop(&e);
}

/* The digest's inventory line: only when something changed. */
static void
test_inventory_digest_line(void)
{
	struct env	 e;
	struct buf	 b;
	char		*dir = NULL, *summary = NULL, *cause = NULL;

	buf_init(&b, 1 << 20);
	if (env_start(&e) != 0)
		goto out;
	dir = t_path("inv");
	/* No export yet: nothing to say. */
	prov_inventory_digest(&b, e.pve, dir);
	T_EQ_STR(buf_cstr(&b), "");
	T_EQ_INT(prov_inventory_export(e.pve, dir, &summary, &cause), 0);
	T_CONTAINS(summary, "13 guests in 3 files");
	prov_inventory_digest(&b, e.pve, dir);
	T_EQ_STR(buf_cstr(&b), "");
	put_ok(&e, "/nodes/pve2/lxc/103/config", "onboot", "0");
	put_ok(&e, "/nodes/pve3/qemu/106/config", "tags", "k8s;gpu");
	prov_inventory_digest(&b, e.pve, dir);
	T_EQ_STR(buf_cstr(&b), "Inventory: 2 guests changed since the last "
	    "export (`inventory` names them)\n");
out:
	buf_release(&b);
	free(summary);
	free(cause);
	free(dir);
	env_stop(&e);
}

int
main(void)
{
	T_RUN(test_sim_network_config);
	T_RUN(test_used_from_configs);
	T_RUN(test_outside_address_skipped);
	T_RUN(test_release_then_reuse);
	T_RUN(test_name_held_without_case);
	T_RUN(test_two_at_once);
	T_RUN(test_mac_avoids_cluster);
	T_RUN(test_inventory_digest_line);
	return t_summary();
}
