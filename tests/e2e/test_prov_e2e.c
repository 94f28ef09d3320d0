/*
 * test_prov_e2e.c - provisioning by convention as a user meets it: the
 * real pvebot with a conventions file, the Proxmox simulator, the
 * console. `nextip` shows the address the next clone would get, read by
 * a worker from every guest's configuration and pvebot's allocation
 * table, and takes nothing. `clone-to` reserves a VMID, a name, an
 * address and a MAC before the approval, shows them in it, and applies
 * them through the clone's configuration; two at once get different
 * ones. `restore-to` restores a backup onto another node as a new
 * guest with a name, address and MAC by convention, none the
 * original's; a node that does not see the backup is refused before
 * anyone is asked.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "exec_proxmox.h"
#include "sim.h"
#include "t.h"
#include "t_env.h"
#include "util.h"

static const char *conventions =
    "name: \"pve-{node}-{type}-{seq:02d}\"\n"
    "mac_prefix: \"02:00:00\"\n"
    "nameserver: 10.0.0.53\n"
    "nodes:\n"
    "  - node: pve1\n"
    "    subnet: 10.1.0.0/24\n"
    "    gateway: 10.1.0.1\n"
    "    vm_range: 10.1.0.100-10.1.0.109\n"
    "    ct_range: 10.1.0.150-10.1.0.159\n"
    "  - node: pve2\n"
    "    subnet: 10.2.0.0/24\n"
    "    gateway: 10.2.0.1\n"
    "    vm_range: 10.2.0.100-10.2.0.109\n"
    "    ct_range: 10.2.0.150-10.2.0.159\n"
    "  - node: pve3\n"
    "    subnet: 10.3.0.0/24\n"
    "    gateway: 10.3.0.1\n"
    "    vm_range: 10.3.0.100-10.3.0.109\n";

/* A client of the simulator, as someone outside pvebot would use it. */
static struct pve *
outsider(struct t_env *e, char **url)
{
	struct conf_proxmox	 cf;
	struct pve		*pve;
	char			*cause = NULL;

	*url = xasprintf("https://127.0.0.1:%d/api2/json", sim_port(e->sim));
	memset(&cf, 0, sizeof cf);
	cf.urls = url;
	cf.nurls = 1;
	cf.token_id = "pvebot@pve!bot";
	cf.secret = getenv("PVEBOT_T_ENV_PVE_SECRET");
	cf.fingerprint = (char *)sim_fingerprint(e->sim);
	cf.connect_timeout = 10;
	cf.request_timeout = 10;
	cf.task_poll = 50;
	if ((pve = pve_create(&cf, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "pve_create: %s", cause);
		free(cause);
	}
	return pve;
}

static void
put(struct pve *pve, const char *path, const char *key, const char *value)
{
	struct pve_param	 p[1] = { { key, value } };
	char			*cause = NULL;

	if (pve_request(pve, "PUT", path, p, 1, NULL, &cause) != PVE_OK) {
		t_fail(__FILE__, __LINE__, "PUT %s: %s", path, cause);
		free(cause);
	}
}

static struct t_env *
start(void)
{
	struct t_env_opts	 o = { .console = 1, .console_user = "bob",
	    .extra = "provisioning: prov.yaml\n" };
	struct t_env		*e;

	char			*cause = NULL;

	t_write("prov.yaml", conventions, 0644);
	e = t_env_new(&o);
	/* Templates on shared storage: Proxmox clones those across nodes. */
	if (sim_admin(e->sim, "prov", "[{\"storage\":\"ceph-vm\"},"
	    "{\"vmid\":9000,\"storage\":\"ceph-vm\"},"
	    "{\"vmid\":9001,\"storage\":\"ceph-vm\"}]", &cause) != 0) {
		t_fail(__FILE__, __LINE__, "sim: %s", cause);
		free(cause);
	}
	if (t_env_start(e, NULL, 30000) != 0) {
		t_fail(__FILE__, __LINE__, "pvebot did not start");
		t_env_free(e);
		return NULL;
	}
	return e;
}

/* `nextip`: skips what guests use, takes nothing. */
static void
test_nextip_in_chat(void)
{
	struct t_env	*e;
	struct pve	*pve = NULL;
	char		*url = NULL;
	size_t		 at;

	if ((e = start()) == NULL)
		return;
	if ((pve = outsider(e, &url)) == NULL)
		goto out;
	/* A VM set up by hand holds the range's first address. */
	put(pve, "/nodes/pve1/qemu/101/config", "ipconfig0",
	    "ip=10.1.0.100/24,gw=10.1.0.1");
	put(pve, "/nodes/pve1/lxc/100/config", "net0", "name=eth0,"
	    "bridge=vmbr0,hwaddr=02:00:00:00:00:01,ip=10.1.0.150/24,"
	    "type=veth");
	at = t_env_output_size(e);
	t_env_type(e, "nextip pve1 vm");
	T_OK(t_env_wait_output(e, at, "next free VM address on pve1: "
	    "10.1.0.101/24 (gateway 10.1.0.1, bridge vmbr0)", 30000, &at) >
	    0);
	t_env_type(e, "nextip pve1 ct");
	T_OK(t_env_wait_output(e, at, "next free container address on "
	    "pve1: 10.1.0.151/24", 30000, &at) > 0);
	/* Asking again gives the same: nothing was taken. */
	t_env_type(e, "nextip pve1 vm");
	T_OK(t_env_wait_output(e, at, "10.1.0.101/24", 30000, &at) > 0);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc", NULL), 0);
	/* A node the conventions do not name, and one with no such range. */
	t_env_type(e, "nextip pve3 ct");
	T_OK(t_env_wait_output(e, at, "node pve3 has no container range",
	    30000, &at) > 0);
out:
	pve_free(pve);
	free(url);
	t_env_free(e);
}

static json_t *
config_of(struct pve *pve, const char *path)
{
	json_t	*data = NULL;
	char	*cause = NULL;

	if (pve_request(pve, "GET", path, NULL, 0, &data, &cause) !=
	    PVE_OK) {
		t_fail(__FILE__, __LINE__, "GET %s: %s", path, cause);
		free(cause);
	}
	return data;
}

static const char *
cfg_str(json_t *cfg, const char *key)
{
	return json_string_value(json_object_get(cfg, key));
}

/*
 * `clone-to`: the approval shows exactly what will be made; the clone
 * comes up with that name, address, MAC, gateway and DNS.
 */
static void
test_clone_to_by_convention(void)
{
	struct t_env	*e;
	struct pve	*pve = NULL;
	json_t		*cfg;
	char		*url = NULL, *mac = NULL, *net;
	size_t		 at;

	if ((e = start()) == NULL)
		return;
	if ((pve = outsider(e, &url)) == NULL)
		goto out;
	/* A guest set up by hand holds pve2's first VM address. */
	put(pve, "/nodes/pve2/qemu/104/config", "ipconfig0",
	    "ip=10.2.0.100/24,gw=10.2.0.1");
	at = t_env_output_size(e);
	t_env_type(e, "clone-to 9000 pve2");
	/* VMIDs 100-108 are taken: 109; the name's first sequence. */
	T_OK(t_env_wait_output(e, at, "will create 1 guest:", 30000, NULL) >
	    0);
	T_OK(t_env_wait_output(e, at, "pve2: VMID 109 pve-pve2-vm-01, "
	    "10.2.0.101, MAC 02:00:00:", 30000, NULL) > 0);
	T_OK(t_env_wait_output(e, at, "[approve 1]", 30000, &at) > 0);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc WHERE "
	    "job_id = 1 AND released_at IS NULL", NULL), 4);
	t_env_type(e, "/as alice");
	t_env_type(e, "approve 1");
	T_OK(t_env_wait_output(e, at, "1 of 1 created", 60000, NULL) > 0);
	cfg = config_of(pve, "/nodes/pve2/qemu/109/config");
	T_EQ_STR(cfg_str(cfg, "name"), "pve-pve2-vm-01");
	T_EQ_STR(cfg_str(cfg, "ipconfig0"), "ip=10.2.0.101/24,gw=10.2.0.1");
	T_EQ_STR(cfg_str(cfg, "nameserver"), "10.0.0.53");
	net = (char *)cfg_str(cfg, "net0");
	T_OK(net != NULL && str_has_prefix(net, "virtio=02:00:00:"));
	T_CONTAINS(net, ",bridge=vmbr0");
	/* The MAC the approval showed is the one it has. */
	if (net != NULL)
		mac = xstrndup(net + strlen("virtio="), 17);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc WHERE "
	    "kind = 'mac' AND value = ?1 AND job_id = 1 AND released_at IS "
	    "NULL", mac), 1);
	json_decref(cfg);
	/* The same pattern again: the next name, the next address. */
	at = t_env_output_size(e);
	t_env_type(e, "nextip pve2 vm");
	T_OK(t_env_wait_output(e, at, "10.2.0.102/24", 30000, NULL) > 0);
out:
	free(mac);
	pve_free(pve);
	free(url);
	t_env_free(e);
}

/* Two clones asked for at once: different VMIDs, names, IPs, MACs. */
static void
test_two_clones_at_once(void)
{
	struct t_env	*e;
	struct pve	*pve = NULL;
	json_t		*a = NULL, *b = NULL;
	char		*url = NULL;
	size_t		 at;

	if ((e = start()) == NULL)
		return;
	if ((pve = outsider(e, &url)) == NULL)
		goto out;
	at = t_env_output_size(e);
	t_env_type(e, "clone-to 9000 pve3");
	t_env_type(e, "clone-to 9001 pve3");
	T_OK(t_env_wait_output(e, at, "[approve 2]", 30000, NULL) > 0);
	T_OK(t_env_wait_output(e, at, "[approve 1]", 30000, NULL) > 0);
	/* Reserved: each value once. */
	T_EQ_INT(t_env_db_int(e, "SELECT count(DISTINCT value) FROM prov_alloc "
	    "WHERE released_at IS NULL", NULL), 8);
	T_EQ_INT(t_env_db_int(e, "SELECT count(DISTINCT job_id) FROM "
	    "prov_alloc WHERE released_at IS NULL", NULL), 2);
	at = t_env_output_size(e);
	t_env_type(e, "/as alice");
	t_env_type(e, "approve 1");
	t_env_type(e, "approve 2");
	T_OK(t_env_wait_output(e, at, "1 of 1 created", 60000, &at) > 0);
	T_OK(t_env_wait_output(e, at, "1 of 1 created", 60000, &at) > 0);
	a = config_of(pve, "/nodes/pve3/qemu/109/config");
	b = config_of(pve, "/nodes/pve3/qemu/110/config");
	T_OK(a != NULL && b != NULL);
	if (a != NULL && b != NULL) {
		T_OK(strcmp(cfg_str(a, "ipconfig0"), cfg_str(b,
		    "ipconfig0")) != 0);
		T_OK(strcmp(cfg_str(a, "net0"), cfg_str(b, "net0")) != 0);
		T_OK(strcmp(cfg_str(a, "name"), cfg_str(b, "name")) != 0);
		T_CONTAINS(cfg_str(a, "ipconfig0"), "ip=10.3.0.10");
		T_CONTAINS(cfg_str(b, "ipconfig0"), "ip=10.3.0.10");
	}
out:
	json_decref(a);
	json_decref(b);
	pve_free(pve);
	free(url);
	t_env_free(e);
}

/*
 * `replicate` to three nodes, one of which goes away after the
 * approval: the other two are created by convention, the message says
 * which failed and why, and the failed one's reservations are released.
 */
static void
test_replicate_one_node_failing(void)
{
	struct t_env	*e;
	struct pve	*pve = NULL;
	json_t		*a = NULL, *b = NULL;
	char		*url = NULL, *cause = NULL;
	size_t		 at;

	if ((e = start()) == NULL)
		return;
	if ((pve = outsider(e, &url)) == NULL)
		goto out;
	at = t_env_output_size(e);
	t_env_type(e, "replicate 9000 pve1,pve2,pve3");
	T_OK(t_env_wait_output(e, at, "will create 3 guests:", 30000, NULL) >
	    0);
	T_OK(t_env_wait_output(e, at, "pve1: VMID 109 pve-pve1-vm-01, "
	    "10.1.0.100, MAC 02:00:00:", 30000, NULL) > 0);
	T_OK(t_env_wait_output(e, at, "pve2: VMID 110 pve-pve2-vm-01, "
	    "10.2.0.100, MAC 02:00:00:", 30000, NULL) > 0);
	T_OK(t_env_wait_output(e, at, "[approve 1]", 30000, &at) > 0);
	/* 111 is taken (test): the third gets 113 after 112. */
	T_EQ_INT(t_env_db_int(e, "SELECT vmid FROM prov_alloc WHERE kind = "
	    "'vmid' AND node = ?1", "pve3"), 113);
	if (sim_admin(e->sim, "fault", "{\"node\":\"pve3\","
	    "\"online\":false}", &cause) != 0) {
		t_fail(__FILE__, __LINE__, "fault: %s", cause);
		free(cause);
	}
	t_env_type(e, "/as alice");
	t_env_type(e, "approve 1");
	T_OK(t_env_wait_output(e, at, "2 of 3 created", 90000, NULL) > 0);
	T_OK(t_env_wait_output(e, at, "pve3 | 113 | pve-pve3-vm-01 | "
	    "10.3.0.100 | 02:00:00:", 1000, NULL) > 0);
	T_OK(t_env_wait_output(e, at, "target node 'pve3' is not online",
	    1000, NULL) > 0);
	T_OK(t_env_wait_output(e, at, "pve1 | 109 | pve-pve1-vm-01 | "
	    "10.1.0.100 | 02:00:00:", 1000, NULL) > 0);
	a = config_of(pve, "/nodes/pve1/qemu/109/config");
	b = config_of(pve, "/nodes/pve2/qemu/110/config");
	T_EQ_STR(cfg_str(a, "ipconfig0"), "ip=10.1.0.100/24,gw=10.1.0.1");
	T_EQ_STR(cfg_str(b, "ipconfig0"), "ip=10.2.0.100/24,gw=10.2.0.1");
	T_EQ_STR(cfg_str(b, "name"), "pve-pve2-vm-01");
	/* pve3's reservations are free again; the others are kept. */
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc WHERE "
	    "node = ?1 AND released_at IS NULL", "pve3"), 0);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc WHERE "
	    "node = ?1 AND released_at IS NULL", "pve2"), 4);
out:
	json_decref(a);
	json_decref(b);
	pve_free(pve);
	free(url);
	t_env_free(e);
}

static char *
export_once(struct t_env *e, const char *name, int *rc)
{
	char	*argv[] = { (char *)t_pvebot(), "inventory", "export", "-c",
		    e->conf_path, NULL, NULL };
	char	*out = NULL, *err = NULL, *path, *text;

	argv[5] = t_path("inv");
	*rc = t_spawn(argv, NULL, &out, &err, 60000);
	if (*rc != 0)
		t_fail(__FILE__, __LINE__, "inventory export: %s%s", out, err);
	T_CONTAINS(out, "inventory: ");
	path = xasprintf("%s/%s", argv[5], name);
	text = t_slurp(path);
	free(path);
	free(argv[5]);
	free(out);
	free(err);
	return text;
}

/*
 * `pvebot inventory export` twice with no change: the same bytes; after
 * a change, `inventory` in chat names exactly the changed guest.
 */
static void
test_inventory_export_and_drift(void)
{
	struct t_env_opts o = { .console = 1, .console_user = "bob",
	    .extra = "provisioning: prov.yaml\ninventory: inv\n" };
	struct t_env	*e;
	struct pve	*pve = NULL;
	char		*url = NULL, *a = NULL, *b = NULL, *c = NULL, *a2 = NULL;
	size_t		 at;
	int		 rc;

	t_write("prov.yaml", conventions, 0644);
	e = t_env_new(&o);
	if (t_env_start(e, NULL, 30000) != 0) {
		t_fail(__FILE__, __LINE__, "pvebot did not start");
		t_env_free(e);
		return;
	}
	if ((pve = outsider(e, &url)) == NULL)
		goto out;
	put(pve, "/nodes/pve1/qemu/101/config", "ipconfig0",
	    "ip=10.1.0.100/24,gw=10.1.0.1");
	a = export_once(e, "pve1.yaml", &rc);
	a2 = export_once(e, "pve2.yaml", &rc);
	b = export_once(e, "pve1.yaml", &rc);
	T_OK(a != NULL && b != NULL);
	T_EQ_STR(a, b);
	T_CONTAINS(a, "  - id: 101\n    name: \"web-01\"\n    type: qemu\n"
	    "    node: pve1\n    ips: [\"10.1.0.100\"]\n"
	    "    macs: [\"BC:24:11:01:00:65\"]\n    cores: 2\n"
	    "    memory: 4096\n    disks: [\"scsi0: local-lvm:vm-101-disk-0,"
	    "iothread=1,size=32G\"]\n    tags: [\"prod\", \"web\"]\n"
	    "    onboot: false\n    template: false\n");
	T_CONTAINS(a, "  - id: 100\n    name: \"pvebot\"\n    type: lxc\n");
	T_CONTAINS(a, "    privileged: false\n");
	T_CONTAINS(a, "  - id: 9000\n");
	T_CONTAINS(a, "    template: true\n");
	T_CONTAINS(a2, "node: pve2\n");
	at = t_env_output_size(e);
	t_env_type(e, "inventory");
	T_OK(t_env_wait_output(e, at, "inventory: no drift since the last "
	    "export (13 guests", 30000, &at) > 0);
	/* One guest changes: only it is named. */
	put(pve, "/nodes/pve1/qemu/102/config", "tags", "db;prod;critical");
	t_env_type(e, "inventory");
	T_OK(t_env_wait_output(e, at, "inventory: 1 guest differs from the "
	    "last export", 30000, NULL) > 0);
	T_OK(t_env_wait_output(e, at, "changed: 102 db-01: tags [\"db\", "
	    "\"prod\"] -> [\"critical\", \"db\", \"prod\"]", 30000, &at) >
	    0);
	/* The next export differs in that node's file only. */
	c = export_once(e, "pve1.yaml", &rc);
	T_OK(c != NULL && strcmp(a, c) != 0);
	T_CONTAINS(c, "    tags: [\"critical\", \"db\", \"prod\"]\n");
	free(b);
	b = export_once(e, "pve2.yaml", &rc);
	T_EQ_STR(a2, b);
out:
	free(a);
	free(a2);
	free(b);
	free(c);
	pve_free(pve);
	free(url);
	t_env_free(e);
}

/* A denied clone's address is free again; a pending one's is not. */
static void
test_denied_clone_releases(void)
{
	struct t_env	*e;
	size_t		 at;

	if ((e = start()) == NULL)
		return;
	at = t_env_output_size(e);
	t_env_type(e, "clone-to 9001 pve2");
	T_OK(t_env_wait_output(e, at, "pve2: VMID 109 pve-pve2-vm-01, "
	    "10.2.0.100, MAC 02:00:00:", 30000, NULL) > 0);
	T_OK(t_env_wait_output(e, at, "[approve 1]", 30000, &at) > 0);
	t_env_type(e, "nextip pve2 vm");
	T_OK(t_env_wait_output(e, at, "next free VM address on pve2: "
	    "10.2.0.101/24", 30000, &at) > 0);
	t_env_type(e, "/as alice");
	t_env_type(e, "deny 1");
	T_OK(t_env_wait_output(e, at, "denied", 30000, &at) > 0);
	t_env_type(e, "nextip pve2 vm");
	T_OK(t_env_wait_output(e, at, "next free VM address on pve2: "
	    "10.2.0.100/24", 30000, &at) > 0);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc WHERE "
	    "job_id = 1 AND released_at IS NOT NULL", NULL), 4);
	/* A viewer may not clone: refused at once, nothing reserved. */
	t_env_type(e, "/as carol");
	t_env_type(e, "clone-to 9001 pve2");
	T_OK(t_env_wait_output(e, at, "Refused: your role viewer may not "
	    "request guest.clone", 30000, &at) > 0);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc WHERE "
	    "released_at IS NULL", NULL), 0);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM jobs WHERE state = "
	    "'resolving'", NULL), 0);
	t_env_free(e);
}

/*
 * The MAC of an approval's line "NODE: VMID N NAME, IP, MAC 02:00:00:",
 * once the whole request ("[approve N]") is out.
 */
static char *
approval_mac(struct t_env *e, size_t from, const char *line)
{
	size_t	 end = 0;
	char	*out, *mac = NULL;

	if (t_env_wait_output(e, from, line, 30000, &end) < 0)
		return NULL;
	out = t_proc_output(&e->proc);
	if (out != NULL && strlen(out) >= end + 8)
		mac = xstrndup(out + end - strlen("02:00:00:"), 17);
	free(out);
	return mac;
}

/*
 * `restore-to` of a VM's backup onto another node: the approval shows
 * the new guest's VMID, name, address and MAC, reserved before anyone
 * approves; the restored guest has them (not the original's: the
 * archive holds the original's net0 and cloud-init address).
 */
static void
test_restore_to_by_convention(void)
{
	struct t_env	*e;
	struct pve	*pve = NULL;
	json_t		*orig = NULL, *cfg = NULL;
	char		*url = NULL, *mac = NULL, *cmd = NULL, *cause = NULL;
	char		*orig_net = NULL, *vol = NULL, stamp[32];
	const char	*net;
	struct tm	 tm;
	time_t		 when = 1764550800;	/* 2025-12-01 01:00:00 UTC */
	size_t		 at;

	if ((e = start()) == NULL)
		return;
	if ((pve = outsider(e, &url)) == NULL)
		goto out;
	/* The original: web-01 on pve1, addressed by hand; then backed up. */
	put(pve, "/nodes/pve1/qemu/101/config", "ipconfig0",
	    "ip=10.1.0.120/24,gw=10.1.0.1");
	if (sim_admin(e->sim, "backup", "{\"storage\":\"nas-backup\","
	    "\"vmid\":101,\"ctime\":1764550800}", &cause) != 0) {
		t_fail(__FILE__, __LINE__, "sim backup: %s", cause);
		free(cause);
		goto out;
	}
	gmtime_r(&when, &tm);
	strftime(stamp, sizeof stamp, "%Y_%m_%d-%H_%M_%S", &tm);
	vol = xasprintf("nas-backup:backup/vzdump-qemu-101-%s.vma.zst", stamp);
	orig = config_of(pve, "/nodes/pve1/qemu/101/config");
	T_EQ_STR(cfg_str(orig, "name"), "web-01");
	orig_net = xstrdup(cfg_str(orig, "net0") != NULL ? cfg_str(orig,
	    "net0") : "");
	T_OK(str_has_prefix(orig_net, "virtio=BC:24:11:"));

	at = t_env_output_size(e);
	t_env_type(e, "/as alice");
	cmd = xasprintf("restore-to %s pve2", vol);
	t_env_type(e, cmd);
	/* VMIDs 100-108 are taken: 109; pve2's first VM name and address. */
	T_OK(t_env_wait_output(e, at, "will create 1 guest:", 30000, NULL) >
	    0);
	T_OK(t_env_wait_output(e, at, "[approve 1]", 30000, NULL) > 0);
	mac = approval_mac(e, at, "pve2: VMID 109 pve-pve2-vm-01, "
	    "10.2.0.100, MAC 02:00:00:");
	T_OK(mac != NULL);
	T_OK(t_env_wait_output(e, at, "[approve 1]", 30000, &at) > 0);
	/* Reserved before the approval: VMID, name, address, MAC. */
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc WHERE "
	    "job_id = 1 AND released_at IS NULL", NULL), 4);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc WHERE "
	    "kind = 'mac' AND value = ?1 AND job_id = 1", mac), 1);
	/* Nothing restored yet. */
	T_EQ_INT(t_env_sim_count(e, "POST", "/nodes/pve2/qemu"), 0);
	t_env_type(e, "approve 1");
	T_OK(t_env_wait_output(e, at, "restored as a new guest", 60000,
	    NULL) > 0);
	T_OK(t_env_wait_output(e, at, "pve2 | 109 | pve-pve2-vm-01 | "
	    "10.2.0.100 | 02:00:00:", 1000, NULL) > 0);
	T_OK(t_env_wait_output(e, at, "created", 1000, NULL) > 0);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM jobs WHERE id = 1 AND "
	    "state = 'succeeded'", NULL), 1);

	/* The new guest: restored from the archive onto pve2 ... */
	cfg = config_of(pve, "/nodes/pve2/qemu/109/config");
	T_OK(cfg != NULL);
	if (cfg == NULL)
		goto out;
	T_EQ_STR(cfg_str(cfg, "tags"), cfg_str(orig, "tags"));
	/* ... under a new name, address and MAC, by convention. */
	T_EQ_STR(cfg_str(cfg, "name"), "pve-pve2-vm-01");
	T_OK(strcmp(cfg_str(cfg, "name"), cfg_str(orig, "name")) != 0);
	T_EQ_STR(cfg_str(cfg, "ipconfig0"), "ip=10.2.0.100/24,gw=10.2.0.1");
	T_OK(strcmp(cfg_str(cfg, "ipconfig0"), cfg_str(orig,
	    "ipconfig0")) != 0);
	T_EQ_STR(cfg_str(cfg, "nameserver"), "10.0.0.53");
	net = cfg_str(cfg, "net0");
	T_OK(net != NULL && mac != NULL && str_has_prefix(net, "virtio=") &&
	    strncmp(net + strlen("virtio="), mac, 17) == 0);
	T_CONTAINS(net, ",bridge=vmbr0");
	T_OK(net != NULL && strncmp(net, orig_net, strlen("virtio=") + 17) !=
	    0);
	/* The original is untouched. */
	json_decref(orig);
	orig = config_of(pve, "/nodes/pve1/qemu/101/config");
	T_EQ_STR(cfg_str(orig, "net0"), orig_net);
	T_EQ_STR(cfg_str(orig, "ipconfig0"), "ip=10.1.0.120/24,gw=10.1.0.1");
	/* Kept: the guest exists with them. */
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc WHERE "
	    "job_id = 1 AND released_at IS NULL", NULL), 4);
out:
	json_decref(orig);
	json_decref(cfg);
	free(orig_net);
	free(vol);
	free(cmd);
	free(mac);
	pve_free(pve);
	free(url);
	t_env_free(e);
}

/*
 * `restore-to` of a backup the node cannot see (a local storage of
 * another node): the job fails before anyone is asked, saying why, and
 * nothing is reserved or restored.
 */
static void
test_restore_to_unseen_backup(void)
{
	struct t_env	*e;
	char		*cause = NULL;
	size_t		 at;

	if ((e = start()) == NULL)
		return;
	/* 101's backup on pve1's local storage: pve2 does not list it. */
	if (sim_admin(e->sim, "backup", "{\"storage\":\"local\","
	    "\"node\":\"pve1\",\"vmid\":101,\"ctime\":1764550800}",
	    &cause) != 0) {
		t_fail(__FILE__, __LINE__, "sim backup: %s", cause);
		free(cause);
		goto out;
	}
	at = t_env_output_size(e);
	t_env_type(e, "/as alice");
	t_env_type(e, "restore-to local:backup/vzdump-qemu-101-2025_12_01-"
	    "01_00_00.vma.zst pve2");
	T_OK(t_env_wait_output(e, at, "node pve2 does not see backup local:"
	    "backup/vzdump-qemu-101-2025_12_01-01_00_00.vma.zst; nothing was "
	    "done", 30000, &at) > 0);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM jobs WHERE id = 1 AND "
	    "state = 'failed'", NULL), 1);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc", NULL), 0);
	T_EQ_INT(t_env_sim_count(e, "POST", "/nodes/pve2/qemu"), 0);
	T_OK(t_env_wait_output(e, 0, "[approve 1]", 0, NULL) < 0);
out:
	t_env_free(e);
}

/*
 * `restore-to` of a container's backup (103 on pve2) onto pve1: pve1's
 * container range, and the container's own net0 carries the address (ip=, gw=) and the MAC
 * (hwaddr=); the hostname is the convention's.
 */
static void
test_restore_to_container(void)
{
	struct t_env	*e;
	struct pve	*pve = NULL;
	json_t		*orig = NULL, *cfg = NULL;
	char		*url = NULL, *cause = NULL, *mac = NULL;
	const char	*net, *onet;
	size_t		 at;

	if ((e = start()) == NULL)
		return;
	if ((pve = outsider(e, &url)) == NULL)
		goto out;
	put(pve, "/nodes/pve2/lxc/103/config", "net0", "name=eth0,"
	    "bridge=vmbr0,hwaddr=BC:24:11:00:00:67,ip=10.2.0.153/24,"
	    "gw=10.2.0.1,type=veth,firewall=1");
	if (sim_admin(e->sim, "backup", "{\"storage\":\"nas-backup\","
	    "\"vmid\":103,\"ctime\":1764550800}", &cause) != 0) {
		t_fail(__FILE__, __LINE__, "sim backup: %s", cause);
		free(cause);
		goto out;
	}
	orig = config_of(pve, "/nodes/pve2/lxc/103/config");
	at = t_env_output_size(e);
	t_env_type(e, "/as alice");
	t_env_type(e, "restore-to nas-backup:backup/vzdump-lxc-103-"
	    "2025_12_01-01_00_00.tar.zst pve1");
	T_OK(t_env_wait_output(e, at, "[approve 1]", 30000, NULL) > 0);
	mac = approval_mac(e, at, "pve1: VMID 109 pve-pve1-ct-01, "
	    "10.1.0.150, MAC 02:00:00:");
	T_OK(mac != NULL);
	T_OK(t_env_wait_output(e, at, "[approve 1]", 30000, &at) > 0);
	t_env_type(e, "approve 1");
	T_OK(t_env_wait_output(e, at, "pve1 | 109 | pve-pve1-ct-01 | "
	    "10.1.0.150 | 02:00:00:", 60000, NULL) > 0);
	T_OK(t_env_wait_output(e, at, "it is stopped", 1000, NULL) > 0);
	cfg = config_of(pve, "/nodes/pve1/lxc/109/config");
	T_OK(cfg != NULL && orig != NULL);
	if (cfg == NULL || orig == NULL || mac == NULL)
		goto out;
	T_EQ_STR(cfg_str(cfg, "hostname"), "pve-pve1-ct-01");
	T_OK(strcmp(cfg_str(cfg, "hostname"), cfg_str(orig, "hostname")) !=
	    0);
	net = cfg_str(cfg, "net0");
	onet = cfg_str(orig, "net0");
	T_CONTAINS(net, ",ip=10.1.0.150/24,gw=10.1.0.1");
	T_CONTAINS(net, "hwaddr=");
	T_OK(net != NULL && strstr(net, mac) != NULL);
	T_OK(net != NULL && strstr(net, "BC:24:11:00:00:67") == NULL);
	T_OK(net != NULL && strstr(net, "10.2.0.153") == NULL);
	/* What the original's net0 had besides: kept. */
	T_CONTAINS(net, "firewall=1");
	T_CONTAINS(onet, "hwaddr=BC:24:11:00:00:67");
out:
	json_decref(orig);
	json_decref(cfg);
	free(mac);
	pve_free(pve);
	free(url);
	t_env_free(e);
}

/* A denied restore-to gives back what it reserved; nothing restored. */
static void
test_denied_restore_to_releases(void)
{
	struct t_env	*e;
	char		*cause = NULL;
	size_t		 at;

	if ((e = start()) == NULL)
		return;
	if (sim_admin(e->sim, "backup", "{\"storage\":\"nas-backup\","
	    "\"vmid\":101,\"ctime\":1764550800}", &cause) != 0) {
		t_fail(__FILE__, __LINE__, "sim backup: %s", cause);
		free(cause);
		goto out;
	}
	at = t_env_output_size(e);
	t_env_type(e, "/as alice");
	t_env_type(e, "restore-to nas-backup:backup/vzdump-qemu-101-"
	    "2025_12_01-01_00_00.vma.zst pve2");
	T_OK(t_env_wait_output(e, at, "pve2: VMID 109 pve-pve2-vm-01, "
	    "10.2.0.100, MAC 02:00:00:", 30000, NULL) > 0);
	T_OK(t_env_wait_output(e, at, "[approve 1]", 30000, &at) > 0);
	/* Held while the request waits. */
	t_env_type(e, "nextip pve2 vm");
	T_OK(t_env_wait_output(e, at, "next free VM address on pve2: "
	    "10.2.0.101/24", 30000, &at) > 0);
	t_env_type(e, "deny 1");
	T_OK(t_env_wait_output(e, at, "denied", 30000, &at) > 0);
	t_env_type(e, "nextip pve2 vm");
	T_OK(t_env_wait_output(e, at, "next free VM address on pve2: "
	    "10.2.0.100/24", 30000, &at) > 0);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc WHERE "
	    "job_id = 1 AND released_at IS NOT NULL", NULL), 4);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc WHERE "
	    "released_at IS NULL", NULL), 0);
	T_EQ_INT(t_env_sim_count(e, "POST", "/nodes/pve2/qemu"), 0);
out:
	t_env_free(e);
}

/*
 * clone-to creates guests: it changes state, so the self-protection of
 * the guests pvebot depends on refuses it, and what its lookup reserved
 * is released.
 */
static void
test_clone_to_self_protected(void)
{
	struct t_env	*e;
	char		*cause = NULL;
	size_t		 at;

	if ((e = start()) == NULL)
		return;
	if (sim_admin(e->sim, "guest", "{\"vmid\":9000,\"tags\":"
	    "\"pvebot-self\"}", &cause) != 0) {
		t_fail(__FILE__, __LINE__, "sim guest: %s", cause);
		free(cause);
		goto out;
	}
	at = t_env_output_size(e);
	t_env_type(e, "/as alice");
	t_env_type(e, "clone-to 9000 pve2");
	T_OK(t_env_wait_output(e, at, "Refused (self-protection)", 30000,
	    &at) > 0);
	/* What the lookup reserved is free again for the next one. */
	t_env_type(e, "nextip pve2 vm");
	T_OK(t_env_wait_output(e, at, "next free VM address on pve2: "
	    "10.2.0.100/24", 30000, &at) > 0);
	T_EQ_INT(t_env_db_int(e, "SELECT count(*) FROM prov_alloc WHERE "
	    "released_at IS NULL", NULL), 0);
	T_EQ_INT(t_env_sim_count(e, "POST", "/nodes/pve1/qemu/9000/clone"),
	    0);
out:
	t_env_free(e);
}

int
main(void)
{
	T_RUN(test_nextip_in_chat);
	T_RUN(test_clone_to_by_convention);
	T_RUN(test_two_clones_at_once);
	T_RUN(test_replicate_one_node_failing);
	T_RUN(test_inventory_export_and_drift);
	T_RUN(test_denied_clone_releases);
	T_RUN(test_restore_to_by_convention);
	T_RUN(test_restore_to_unseen_backup);
	T_RUN(test_restore_to_container);
	T_RUN(test_denied_restore_to_releases);
	T_RUN(test_clone_to_self_protected);
	return t_summary();
}
