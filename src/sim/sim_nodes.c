/*
 * sim_nodes.c - what each simulated node reports about itself: its disks
 * and their SMART data, its ZFS pools, its certificates, its pending
 * packages and installed kernels, with the admin requests that script
 * their failures (a failing disk, a degraded pool, an expiring
 * certificate, a kernel that needs a reboot).
 *
 * Each endpoint follows pve-storage's PVE::API2::Disks / Disks::ZFS and
 * pve-manager's PVE::API2::Certificates / PVE::API2::APT as the official
 * schema (../shared/api-specs/proxmox-api.compact.json) describes them:
 * the same paths, parameters, privileges and reply fields. Where the
 * schema's return description is shorter than what the code returns
 * (disks/list carries `wearout`, `type` and `rpm` from
 * PVE::Diskmanage::get_disks; smart of an NVMe disk carries `wearout`),
 * the simulator returns what the code returns.
 *
 * A node's state is made on first use with the hardware of a small
 * homelab, all healthy; every handler runs under the simulator's lock.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_health.h"
#include "util.h"

#define GiB	(1024LL * 1024 * 1024)
#define DAY	86400

static void
copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

/* A stable serial per node and disk: "S5GXNF0R" + node + index. */
static void
disk_add(struct simh_node *n, const char *dev, const char *model,
    const char *type, int64_t size, int wearout, const char *used)
{
	struct simh_disk	*d;
	size_t			 i;
	unsigned		 h = 5381;

	if (n->ndisks >= SIMH_MAX_DISKS)
		return;
	for (i = 0; n->name[i] != '\0'; i++)
		h = h * 33 + (unsigned char)n->name[i];
	d = &n->disks[n->ndisks];
	memset(d, 0, sizeof *d);
	copy(d->devpath, sizeof d->devpath, dev);
	copy(d->model, sizeof d->model, model);
	copy(d->type, sizeof d->type, type);
	copy(d->health, sizeof d->health, "PASSED");
	copy(d->used, sizeof d->used, used);
	snprintf(d->serial, sizeof d->serial, "%s%05X%d",
	    strcmp(type, "hdd") == 0 ? "WD-WCC7K" : "S5GXNF0R",
	    h & 0xfffff, n->ndisks);
	d->size = size;
	d->wearout = wearout;
	d->hours = 21000 + 1000 * n->ndisks;
	d->rpm = strcmp(type, "hdd") == 0 ? 5400 : 0;
	n->ndisks++;
}

static void
pool_add(struct simh_node *n, const char *name, const char *layout,
    const char *const *devs, int ndevs, int64_t size)
{
	struct simh_pool	*p;
	int			 i;

	if (n->npools >= SIMH_MAX_POOLS)
		return;
	p = &n->pools[n->npools++];
	memset(p, 0, sizeof *p);
	copy(p->name, sizeof p->name, name);
	copy(p->layout, sizeof p->layout, layout);
	for (i = 0; i < ndevs && i < SIMH_MAX_VDEVS; i++) {
		copy(p->dev[i].name, sizeof p->dev[i].name, devs[i]);
		copy(p->dev[i].state, sizeof p->dev[i].state, "ONLINE");
		p->ndev++;
	}
	p->size = size;
	p->alloc = size / 3;
	p->frag = 7;
}

static void
cert_add(struct simh_node *n, const char *file, const char *subject,
    const char *issuer, int64_t notbefore, int64_t notafter, const char *san)
{
	struct simh_cert	*c;
	uint64_t		 r;
	int			 i;

	if (n->ncerts >= SIMH_MAX_CERTS)
		return;
	c = &n->certs[n->ncerts++];
	memset(c, 0, sizeof *c);
	copy(c->filename, sizeof c->filename, file);
	copy(c->subject, sizeof c->subject, subject);
	copy(c->issuer, sizeof c->issuer, issuer);
	copy(c->san, sizeof c->san, san);
	c->notbefore = notbefore;
	c->notafter = notafter;
	for (i = 0; i < 32; i++) {
		r = random_u64();
		snprintf(c->fingerprint + i * 3, sizeof c->fingerprint - i * 3,
		    "%02X%s", (unsigned)(r & 0xff), i == 31 ? "" : ":");
	}
}

static struct simh_pkg *
pkg_set(struct simh_node *n, const char *name, const char *version,
    const char *old, const char *origin, const char *dist)
{
	struct simh_pkg	*p = NULL;
	int		 i;

	for (i = 0; i < n->npkgs; i++) {
		if (strcmp(n->pkgs[i].name, name) == 0)
			p = &n->pkgs[i];
	}
	if (p == NULL) {
		if (n->npkgs >= SIMH_MAX_PKGS)
			return NULL;
		p = &n->pkgs[n->npkgs++];
	}
	memset(p, 0, sizeof *p);
	copy(p->name, sizeof p->name, name);
	copy(p->version, sizeof p->version, version);
	copy(p->old, sizeof p->old, old);
	copy(p->origin, sizeof p->origin, origin);
	copy(p->section, sizeof p->section, strcmp(origin, "Proxmox") == 0 ?
	    "admin" : "libs");
	copy(p->dist, sizeof p->dist, dist);
	return p;
}

/* The hardware and software of a node of the brief's homelab. */
static void
node_defaults(struct simh_node *n, int first)
{
	const char	*rpool[1], *tank[2];
	char		 dev[128], tank0[128], tank1[128], subj[128], san[64];
	int64_t		 now = wall_now();

	disk_add(n, "/dev/nvme0n1", "Samsung SSD 980 PRO 1TB", "nvme",
	    1000 * GiB, 97, "ZFS");
	if (first) {
		disk_add(n, "/dev/sda", "Samsung SSD 870 EVO 1TB", "ssd",
		    1000 * GiB, 95, "LVM");
		disk_add(n, "/dev/sdb", "WDC WD40EFRX-68N32N0", "hdd",
		    4000 * GiB, -1, "ZFS");
		disk_add(n, "/dev/sdc", "WDC WD40EFRX-68N32N0", "hdd",
		    4000 * GiB, -1, "ZFS");
	} else
		disk_add(n, "/dev/sda", "ST2000DM008-2UB102", "hdd",
		    2000 * GiB, -1, "LVM");
	snprintf(dev, sizeof dev, "/dev/disk/by-id/nvme-Samsung_SSD_980_PRO_"
	    "1TB_%s-part3", n->disks[0].serial);
	rpool[0] = dev;
	pool_add(n, "rpool", "", rpool, 1, 950 * GiB);
	if (first) {
		/* A mirror of the two WD disks, by id as ZFS shows them. */
		snprintf(tank0, sizeof tank0, "/dev/disk/by-id/ata-WDC_WD40EFRX-"
		    "68N32N0_%s-part1", n->disks[2].serial);
		snprintf(tank1, sizeof tank1, "/dev/disk/by-id/ata-WDC_WD40EFRX-"
		    "68N32N0_%s-part1", n->disks[3].serial);
		tank[0] = tank0;
		tank[1] = tank1;
		pool_add(n, "tank", "mirror-0", tank, 2, 3600 * GiB);
	}

	cert_add(n, "pve-root-ca.pem", "/CN=Proxmox Virtual Environment/"
	    "OU=0c3ab9d2b8f14ba9a1c7d7f5e1b2c3d4/O=PVE Cluster Manager CA",
	    "/CN=Proxmox Virtual Environment/OU=0c3ab9d2b8f14ba9a1c7d7f5e1b2"
	    "c3d4/O=PVE Cluster Manager CA", now - 400 * DAY,
	    now + 3250 * DAY, "");
	snprintf(subj, sizeof subj, "/OU=PVE Cluster Node/O=Proxmox Virtual "
	    "Environment/CN=%s.homelab.lan", n->name);
	snprintf(san, sizeof san, "%s.homelab.lan", n->name);
	cert_add(n, "pve-ssl.pem", subj, "/CN=Proxmox Virtual Environment/"
	    "OU=0c3ab9d2b8f14ba9a1c7d7f5e1b2c3d4/O=PVE Cluster Manager CA",
	    now - 400 * DAY, now + 330 * DAY, san);
	snprintf(subj, sizeof subj, "/CN=%s.example.org", n->name);
	snprintf(san, sizeof san, "%s.example.org", n->name);
	cert_add(n, "pveproxy-ssl.pem", subj, "/C=US/O=Let's Encrypt/CN=R11",
	    now - 15 * DAY, now + 75 * DAY, san);

	copy(n->running, sizeof n->running, "6.17.2-1-pve");
	copy(n->kernels[0], sizeof n->kernels[0], "6.17.2-1-pve");
	copy(n->kernels[1], sizeof n->kernels[1], "6.14.11-4-pve");
	n->nkernels = 2;
	if (first) {
		pkg_set(n, "pve-docs", "9.1.2", "9.1.1", "Proxmox", "trixie");
		pkg_set(n, "proxmox-widget-toolkit", "5.1.3", "5.1.2",
		    "Proxmox", "trixie");
		pkg_set(n, "libpve-common-perl", "9.0.14", "9.0.13",
		    "Proxmox", "trixie");
	}
}

struct simh_node *
simh_node(struct sim *s, const char *name)
{
	struct sim_health	*h = s->health;
	struct simh_node	*n;
	int			 i;

	for (i = 0; i < h->nnodes; i++) {
		if (strcmp(h->nodes[i].name, name) == 0)
			return &h->nodes[i];
	}
	if (h->nnodes >= SIMH_MAX_NODES)
		return NULL;
	n = &h->nodes[h->nnodes++];
	memset(n, 0, sizeof *n);
	copy(n->name, sizeof n->name, name);
	node_defaults(n, strcmp(name, "pve1") == 0);
	return n;
}

static struct simh_node *
node_of(struct sim_call *c, struct sim_reply *r)
{
	struct simh_node	*n;

	if (simh_node_get(c, r) == NULL)
		return NULL;
	if ((n = simh_node(c->sim, c->node)) == NULL)
		sim_reply_error(r, 500, "too many nodes");
	return n;
}

/* ---- disks ---- */

static struct simh_disk *
disk_find(struct simh_node *n, const char *dev)
{
	int	 i;

	for (i = 0; i < n->ndisks; i++) {
		if (strcmp(n->disks[i].devpath, dev) == 0)
			return &n->disks[i];
	}
	return NULL;
}

/* Disks.pm list: Sys.Audit on / or on /nodes/{node}. */
void
simh_api_disks(struct sim_call *c, struct sim_reply *r)
{
	struct simh_node	*n = node_of(c, r);
	const char		*type = sim_param(c, "type");
	int			 skipsmart = sim_param_bool(c, "skipsmart", 0);
	json_t			*a, *o;
	int			 i;

	if (n == NULL || simh_need(c, r, "/", "Sys.Audit") != 0)
		return;
	a = json_array();
	for (i = 0; i < n->ndisks; i++) {
		const struct simh_disk	*d = &n->disks[i];

		if (type != NULL && strcmp(type, "unused") == 0 &&
		    d->used[0] != '\0')
			continue;
		if (type != NULL && strcmp(type, "journal_disks") == 0)
			continue;
		o = json_object();
		json_object_set_new(o, "devpath", json_string(d->devpath));
		json_object_set_new(o, "gpt", json_integer(1));
		json_object_set_new(o, "mounted", json_integer(0));
		json_object_set_new(o, "size", json_integer(d->size));
		json_object_set_new(o, "osdid", json_integer(-1));
		json_object_set_new(o, "osdid-list", json_null());
		json_object_set_new(o, "vendor", json_string(
		    strcmp(d->type, "nvme") == 0 ? "unknown" : "ATA     "));
		json_object_set_new(o, "model", json_string(d->model));
		json_object_set_new(o, "serial", json_string(d->serial));
		json_object_set_new(o, "wwn", json_string("unknown"));
		json_object_set_new(o, "type", json_string(d->type));
		json_object_set_new(o, "rpm", json_integer(d->rpm > 0 ?
		    d->rpm : strcmp(d->type, "hdd") == 0 ? -1 : 0));
		if (d->used[0] != '\0')
			json_object_set_new(o, "used", json_string(d->used));
		if (!skipsmart) {
			json_object_set_new(o, "health",
			    json_string(d->health));
			if (d->wearout >= 0)
				json_object_set_new(o, "wearout",
				    json_integer(d->wearout));
			else
				json_object_set_new(o, "wearout",
				    json_string("N/A"));
		}
		json_array_append_new(a, o);
	}
	r->data = a;
}

static json_t *
attribute(const char *id, const char *name, const char *flags, int value,
    int worst, int thresh, long long raw)
{
	char	 rawtext[32];

	snprintf(rawtext, sizeof rawtext, "%lld", raw);
	return json_pack("{sssssssisisisissss}", "id", id, "name", name,
	    "flags", flags, "value", value, "normalized", value, "worst",
	    worst, "threshold", thresh, "fail", "-", "raw", rawtext);
}

/* ^/dev/[a-zA-Z0-9\/]+$, the schema's pattern for `disk`. */
static int
disk_pattern_ok(const char *v)
{
	const char	*p;

	if (!str_has_prefix(v, "/dev/") || v[5] == '\0')
		return 0;
	for (p = v + 5; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '/')
			return 0;
	}
	return 1;
}

/* Disks.pm smart: Sys.Audit on /; smartctl -H -A -f brief. */
void
simh_api_smart(struct sim_call *c, struct sim_reply *r)
{
	struct simh_node	*n = node_of(c, r);
	const char		*dev = sim_param(c, "disk");
	struct simh_disk	*d;
	json_t			*o, *a;
	int			 life;

	if (n == NULL)
		return;
	if (!disk_pattern_ok(dev)) {
		simh_param_error(r, "disk", "value does not match the regex "
		    "pattern");
		return;
	}
	if (simh_need(c, r, "/", "Sys.Audit") != 0)
		return;
	if ((d = disk_find(n, dev)) == NULL) {
		sim_reply_error(r, 500, "not a valid block device");
		return;
	}
	o = json_pack("{ss}", "health", d->health);
	if (sim_param_bool(c, "healthonly", 0)) {
		r->data = o;
		return;
	}
	if (strcmp(d->type, "nvme") == 0) {
		char	*text;

		life = d->wearout >= 0 ? d->wearout : 100;
		text = xasprintf("SMART/Health Information (NVMe Log 0x02)\n"
		    "Critical Warning:                   0x00\n"
		    "Temperature:                        41 Celsius\n"
		    "Available Spare:                    100%%\n"
		    "Available Spare Threshold:          10%%\n"
		    "Percentage Used:                    %d%%\n"
		    "Data Units Read:                    21,318,442 [10.9 TB]\n"
		    "Data Units Written:                 30,112,873 [15.4 TB]\n"
		    "Power On Hours:                     %lld\n"
		    "Unsafe Shutdowns:                   14\n"
		    "Media and Data Integrity Errors:    %lld\n",
		    100 - life, d->hours, d->uncorrectable);
		json_object_set_new(o, "type", json_string("text"));
		json_object_set_new(o, "text", json_string(text));
		json_object_set_new(o, "wearout", json_integer(life));
		free(text);
		r->data = o;
		return;
	}
	a = json_array();
	json_array_append_new(a, attribute("  1", "Raw_Read_Error_Rate",
	    "POSR-K", 200, 200, 51, 0));
	json_array_append_new(a, attribute("  5", "Reallocated_Sector_Ct",
	    "PO--CK", d->reallocated > 0 ? 190 : 200, 190, 140,
	    d->reallocated));
	json_array_append_new(a, attribute("  9", "Power_On_Hours",
	    "-O--CK", 72, 72, 0, d->hours));
	if (strcmp(d->type, "ssd") == 0)
		json_array_append_new(a, attribute("177",
		    "Wear_Leveling_Count", "PO--C-", d->wearout >= 0 ?
		    d->wearout : 100, d->wearout >= 0 ? d->wearout : 100, 0,
		    17));
	json_array_append_new(a, attribute("194", "Temperature_Celsius",
	    "-O---K", 113, 100, 0, 37));
	json_array_append_new(a, attribute("197", "Current_Pending_Sector",
	    "-O--CK", 200, 200, 0, d->pending));
	json_array_append_new(a, attribute("198", "Offline_Uncorrectable",
	    "----CK", 200, 200, 0, d->uncorrectable));
	json_array_append_new(a, attribute("199", "UDMA_CRC_Error_Count",
	    "-O--CK", 200, 200, 0, 0));
	json_object_set_new(o, "type", json_string("ata"));
	json_object_set_new(o, "attributes", a);
	r->data = o;
}

/* ---- ZFS ---- */

static const char *
pool_health(const struct simh_pool *p)
{
	int	 i, online = 0;

	for (i = 0; i < p->ndev; i++)
		online += strcmp(p->dev[i].state, "ONLINE") == 0;
	if (online == p->ndev)
		return "ONLINE";
	if (online > 0 && p->layout[0] != '\0')
		return "DEGRADED";
	/* A single device or every leaf gone: the pool cannot be read. */
	return p->layout[0] != '\0' || p->ndev == 0 ? "UNAVAIL" :
	    p->dev[0].state;
}

static struct simh_pool *
pool_find(struct simh_node *n, const char *name)
{
	int	 i;

	for (i = 0; i < n->npools; i++) {
		if (strcmp(n->pools[i].name, name) == 0)
			return &n->pools[i];
	}
	return NULL;
}

/* Disks/ZFS.pm index: Sys.Audit on /; zpool list -HpPLo ... */
void
simh_api_zfs(struct sim_call *c, struct sim_reply *r)
{
	struct simh_node	*n = node_of(c, r);
	json_t			*a;
	int			 i;

	if (n == NULL || simh_need(c, r, "/", "Sys.Audit") != 0)
		return;
	a = json_array();
	for (i = 0; i < n->npools; i++) {
		const struct simh_pool	*p = &n->pools[i];

		json_array_append_new(a, json_pack("{sssIsIsIsisfss}", "name",
		    p->name, "size", (json_int_t)p->size, "alloc",
		    (json_int_t)p->alloc, "free", (json_int_t)(p->size -
		    p->alloc), "frag", p->frag, "dedup", 1.0, "health",
		    pool_health(p)));
	}
	r->data = a;
}

static json_t *
vdev_json(const struct simh_vdev *v)
{
	return json_pack("{sssssisisisssi}", "name", v->name, "state",
	    v->state, "read", v->read, "write", v->write, "cksum", v->cksum,
	    "msg", v->msg, "leaf", 1);
}

/* Disks/ZFS.pm detail: the tree `zpool status -P` prints. */
void
simh_api_zfs_detail(struct sim_call *c, struct sim_reply *r)
{
	struct simh_node	*n = node_of(c, r);
	struct simh_pool	*p;
	const char		*health;
	json_t			*o, *top, *kids, *group;
	int			 i, errs = 0;

	if (n == NULL || simh_need(c, r, "/", "Sys.Audit") != 0)
		return;
	if ((p = pool_find(n, c->pathid)) == NULL) {
		sim_reply_error(r, 500, "command '/sbin/zpool status -P %s' "
		    "failed: exit code 1", c->pathid);
		return;
	}
	health = pool_health(p);
	kids = json_array();
	for (i = 0; i < p->ndev; i++) {
		json_array_append_new(kids, vdev_json(&p->dev[i]));
		errs += p->dev[i].read + p->dev[i].write + p->dev[i].cksum;
	}
	if (p->layout[0] != '\0') {
		group = json_pack("{sssssisisissso}", "name", p->layout,
		    "state", health, "read", 0, "write", 0, "cksum", 0,
		    "msg", "", "children", kids);
		json_object_set_new(group, "leaf", json_integer(0));
		kids = json_array();
		json_array_append_new(kids, group);
	}
	top = json_pack("{sssssisisissso}", "name", p->name, "state", health,
	    "read", 0, "write", 0, "cksum", 0, "msg", "", "children", kids);
	json_object_set_new(top, "leaf", json_integer(0));
	o = json_object();
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "state", json_string(health));
	if (strcmp(health, "ONLINE") != 0) {
		json_object_set_new(o, "status", json_string("One or more "
		    "devices are faulted in response to persistent errors. "
		    "Sufficient replicas exist for the pool to continue "
		    "functioning in a degraded state."));
		json_object_set_new(o, "action", json_string("Replace the "
		    "faulted device, or use 'zpool clear' to mark the device "
		    "repaired."));
	}
	json_object_set_new(o, "scan", json_string("scrub repaired 0B in "
	    "00:41:12 with 0 errors on Sun Nov  8 01:05:13 2026"));
	json_object_set_new(o, "errors", json_string(errs > 0 ?
	    "1 data errors, use '-v' for a list" : "No known data errors"));
	kids = json_array();
	json_array_append_new(kids, top);
	json_object_set_new(o, "children", kids);
	json_object_set_new(o, "leaf", json_integer(0));
	r->data = o;
}

/* ---- certificates ---- */

/* Certificates.pm info: any user (permissions { user => 'all' }). */
void
simh_api_certs(struct sim_call *c, struct sim_reply *r)
{
	struct simh_node	*n = node_of(c, r);
	json_t			*a, *o;
	int			 i;

	if (n == NULL)
		return;
	a = json_array();
	for (i = 0; i < n->ncerts; i++) {
		const struct simh_cert	*ct = &n->certs[i];

		o = json_object();
		json_object_set_new(o, "filename", json_string(ct->filename));
		json_object_set_new(o, "fingerprint",
		    json_string(ct->fingerprint));
		json_object_set_new(o, "subject", json_string(ct->subject));
		json_object_set_new(o, "issuer", json_string(ct->issuer));
		json_object_set_new(o, "notbefore",
		    json_integer(ct->notbefore));
		json_object_set_new(o, "notafter", json_integer(ct->notafter));
		json_object_set_new(o, "public-key-type",
		    json_string("rsaEncryption"));
		json_object_set_new(o, "public-key-bits", json_integer(2048));
		if (ct->san[0] != '\0')
			json_object_set_new(o, "san", json_pack("[s]",
			    ct->san));
		json_array_append_new(a, o);
	}
	r->data = a;
}

/* ---- packages and kernels ---- */

static json_t *
pkg_json(const char *name, const char *title, const char *version,
    const char *old, const char *origin, const char *section)
{
	json_t	*o = json_object();

	json_object_set_new(o, "Package", json_string(name));
	json_object_set_new(o, "Title", json_string(title));
	json_object_set_new(o, "Description", json_string(title));
	json_object_set_new(o, "Origin", json_string(origin));
	json_object_set_new(o, "Section", json_string(section));
	json_object_set_new(o, "Arch", json_string(strcmp(origin,
	    "Proxmox") == 0 ? "all" : "amd64"));
	json_object_set_new(o, "Priority", json_string("optional"));
	json_object_set_new(o, "Version", json_string(version));
	if (old != NULL && *old != '\0')
		json_object_set_new(o, "OldVersion", json_string(old));
	return o;
}

static int
need_node_priv(struct sim_call *c, struct sim_reply *r, const char *priv)
{
	char	 path[96];

	snprintf(path, sizeof path, "/nodes/%s", c->node);
	return simh_need(c, r, path, priv);
}

/* APT.pm list_updates: Sys.Modify on /nodes/{node}. */
void
simh_api_apt_update(struct sim_call *c, struct sim_reply *r)
{
	struct simh_node	*n = node_of(c, r);
	json_t			*a;
	int			 i;

	if (n == NULL || need_node_priv(c, r, "Sys.Modify") != 0)
		return;
	a = json_array();
	for (i = 0; i < n->npkgs; i++) {
		const struct simh_pkg	*p = &n->pkgs[i];

		json_array_append_new(a, pkg_json(p->name, p->name, p->version,
		    p->old, p->origin, p->section));
	}
	r->data = a;
}

/* "6.17.2-1-pve" -> "6.17.2-1", the kernel package's version. */
static void
kernel_version(const char *release, char *out, size_t len)
{
	size_t	 n = strlen(release);

	if (n > 4 && strcmp(release + n - 4, "-pve") == 0)
		n -= 4;
	snprintf(out, len, "%.*s", (int)n, release);
}

/* APT.pm versions: Sys.Audit on /nodes/{node}; kernels newest first. */
void
simh_api_apt_versions(struct sim_call *c, struct sim_reply *r)
{
	static const char *const others[][2] = {
	    { "pve-qemu-kvm", "10.1.2-1" }, { "qemu-server", "9.0.22" },
	    { "zfsutils-linux", "2.3.4-pve1" } };
	struct simh_node	*n = node_of(c, r);
	json_t			*a, *o;
	char			 name[96], ver[32];
	int			 i;

	if (n == NULL || need_node_priv(c, r, "Sys.Audit") != 0)
		return;
	a = json_array();
	o = pkg_json("proxmox-ve", "Proxmox Virtual Environment", "9.1.0",
	    "9.1.0", "Proxmox", "admin");
	json_object_set_new(o, "CurrentState", json_string("Installed"));
	json_object_set_new(o, "RunningKernel", json_string(n->running));
	json_array_append_new(a, o);
	o = pkg_json("pve-manager", "Proxmox Virtual Environment management "
	    "tools", "9.1.1", "9.1.1", "Proxmox", "admin");
	json_object_set_new(o, "CurrentState", json_string("Installed"));
	json_object_set_new(o, "ManagerVersion", json_string("9.1.1"));
	json_array_append_new(a, o);
	/* The kernel meta-package, then each kernel, newest first (the
	 * list is kept sorted by admin requests). */
	kernel_version(n->kernels[0], ver, sizeof ver);
	o = pkg_json("proxmox-kernel-6.17", "Latest Proxmox Kernel Image",
	    ver, ver, "Proxmox", "admin");
	json_object_set_new(o, "CurrentState", json_string("Installed"));
	json_array_append_new(a, o);
	for (i = 0; i < n->nkernels; i++) {
		snprintf(name, sizeof name, "proxmox-kernel-%s-signed",
		    n->kernels[i]);
		kernel_version(n->kernels[i], ver, sizeof ver);
		o = pkg_json(name, "Proxmox Kernel Image (signed)", ver, ver,
		    "Proxmox", "kernel");
		json_object_set_new(o, "CurrentState",
		    json_string("Installed"));
		json_array_append_new(a, o);
	}
	for (i = 0; i < (int)nitems(others); i++) {
		o = pkg_json(others[i][0], others[i][0], others[i][1],
		    others[i][1], "Proxmox", "admin");
		json_object_set_new(o, "CurrentState",
		    json_string("Installed"));
		json_array_append_new(a, o);
	}
	r->data = a;
}

/* (?^:[a-z0-9][-+.a-z0-9:]+), the schema's pattern for `name`. */
static int
pkg_pattern_ok(const char *v)
{
	const char	*p;

	if (v == NULL || strlen(v) < 2 || !(islower((unsigned char)*v) ||
	    isdigit((unsigned char)*v)))
		return 0;
	for (p = v + 1; *p != '\0'; p++) {
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
		    strchr("-+.:", *p) == NULL)
			return 0;
	}
	return 1;
}

/*
 * APT.pm changelog: Sys.Modify on /nodes/{node}; `apt-get changelog`
 * of the candidate (or the given) version. The first entry names the
 * distribution it was uploaded to: "trixie-security" for a security
 * update.
 */
void
simh_api_apt_changelog(struct sim_call *c, struct sim_reply *r)
{
	struct simh_node	*n = node_of(c, r);
	const char		*name = sim_param(c, "name");
	const char		*version = sim_param(c, "version");
	const struct simh_pkg	*p = NULL;
	int			 i;

	if (n == NULL)
		return;
	if (!pkg_pattern_ok(name)) {
		simh_param_error(r, "name", "value does not match the regex "
		    "pattern");
		return;
	}
	if (need_node_priv(c, r, "Sys.Modify") != 0)
		return;
	for (i = 0; i < n->npkgs; i++) {
		if (strcmp(n->pkgs[i].name, name) == 0)
			p = &n->pkgs[i];
	}
	if (p == NULL || (version != NULL && strcmp(version, p->version) !=
	    0)) {
		sim_reply_error(r, 500, "changelog for '%s_%s' not available",
		    name, version != NULL ? version : "");
		return;
	}
	r->data = json_sprintf("%s (%s) %s; urgency=%s\n\n"
	    "  * %s\n\n -- %s  Mon, 16 Nov 2026 10:12:44 +0100\n\n"
	    "%s (%s) %s; urgency=medium\n\n  * previous upload\n\n"
	    " -- %s  Tue, 01 Sep 2026 09:00:00 +0200\n", p->name, p->version,
	    p->dist, strstr(p->dist, "security") != NULL ? "high" :
	    "medium", strstr(p->dist, "security") != NULL ?
	    "Non-maintainer upload by the Security Team.\n  * Fix "
	    "CVE-2026-1234" : "Bug fix release", strcmp(p->origin,
	    "Proxmox") == 0 ? "Proxmox Support Team <support@proxmox.com>" :
	    "Debian Security Team <team@security.debian.org>", p->name,
	    p->old[0] != '\0' ? p->old : "0", strcmp(p->origin, "Proxmox") ==
	    0 ? "trixie" : "trixie", "Maintainer <maint@debian.org>");
}

/* ---- admin ---- */

static int
int_in(json_t *o, const char *key, long long lo, long long hi,
    long long *out, char **cause)
{
	json_t	*j = json_object_get(o, key);

	if (j == NULL)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < lo ||
	    json_integer_value(j) > hi)
		return set_cause(cause, "health: %s must be a number from "
		    "%lld to %lld", key, lo, hi);
	*out = json_integer_value(j);
	return 1;
}

static int
admin_disk(struct simh_node *n, json_t *o, const char *dev, char **cause)
{
	struct simh_disk	*d = disk_find(n, dev);
	const char		*v;
	long long		 x;
	int			 rc;

	if (!disk_pattern_ok(dev))
		return set_cause(cause, "health: bad disk %s", dev);
	if (d == NULL) {
		if ((v = json_string_value(json_object_get(o, "model"))) ==
		    NULL)
			return set_cause(cause, "health: no disk %s on %s "
			    "(give a model to add one)", dev, n->name);
		disk_add(n, dev, v, json_string_value(json_object_get(o,
		    "type")) != NULL ? json_string_value(json_object_get(o,
		    "type")) : "hdd", 2000 * GiB, -1, "");
		if ((d = disk_find(n, dev)) == NULL)
			return set_cause(cause, "health: too many disks");
	}
	if (json_is_true(json_object_get(o, "remove"))) {
		int	 i = (int)(d - n->disks);

		memmove(&n->disks[i], &n->disks[i + 1],
		    (size_t)(n->ndisks - i - 1) * sizeof *n->disks);
		n->ndisks--;
		return 0;
	}
	if ((v = json_string_value(json_object_get(o, "health"))) != NULL)
		copy(d->health, sizeof d->health, v);
	if ((rc = int_in(o, "wearout", -1, 100, &x, cause)) < 0)
		return -1;
	if (rc)
		d->wearout = (int)x;
	if ((rc = int_in(o, "reallocated", 0, 1LL << 40, &x, cause)) < 0)
		return -1;
	if (rc)
		d->reallocated = x;
	if ((rc = int_in(o, "pending", 0, 1LL << 40, &x, cause)) < 0)
		return -1;
	if (rc)
		d->pending = x;
	if ((rc = int_in(o, "uncorrectable", 0, 1LL << 40, &x, cause)) < 0)
		return -1;
	if (rc)
		d->uncorrectable = x;
	return 0;
}

static int
admin_pool(struct simh_node *n, json_t *o, const char *name, char **cause)
{
	struct simh_pool	*p = pool_find(n, name);
	const char		*dev, *state, *msg;
	long long		 x;
	int			 i, hit = 0, rc;

	if (p == NULL)
		return set_cause(cause, "health: no pool %s on %s", name,
		    n->name);
	dev = json_string_value(json_object_get(o, "device"));
	state = json_string_value(json_object_get(o, "device_state"));
	/* "last": the last device (a mirror's second half). */
	if (dev != NULL && strcmp(dev, "last") == 0 && p->ndev > 0)
		dev = p->dev[p->ndev - 1].name;
	/* "sdc": the vdev of that disk, named by its serial. */
	for (i = 0; dev != NULL && i < n->ndisks; i++) {
		if (strcmp(strrchr(n->disks[i].devpath, '/') + 1, dev) == 0) {
			dev = n->disks[i].serial;
			break;
		}
	}
	msg = json_string_value(json_object_get(o, "msg"));
	for (i = 0; i < p->ndev; i++) {
		if (dev != NULL && strstr(p->dev[i].name, dev) == NULL)
			continue;
		hit = 1;
		if (state != NULL)
			copy(p->dev[i].state, sizeof p->dev[i].state, state);
		if (msg != NULL || state != NULL)
			copy(p->dev[i].msg, sizeof p->dev[i].msg, msg != NULL ?
			    msg : strcmp(state, "FAULTED") == 0 ?
			    "too many errors" : "");
		if ((rc = int_in(o, "cksum", 0, 1 << 30, &x, cause)) < 0)
			return -1;
		if (rc)
			p->dev[i].cksum = (int)x;
		if (dev == NULL && state == NULL)
			break;
	}
	if (!hit)
		return set_cause(cause, "health: no device %s in pool %s",
		    dev != NULL ? dev : "", name);
	return 0;
}

static int
admin_cert(struct simh_node *n, json_t *o, const char *file, char **cause)
{
	long long	 x;
	int		 i, rc;

	for (i = 0; i < n->ncerts; i++) {
		if (strcmp(n->certs[i].filename, file) != 0)
			continue;
		if ((rc = int_in(o, "days_left", -3650, 36500, &x, cause)) < 0)
			return -1;
		if (rc)
			n->certs[i].notafter = wall_now() + x * DAY;
		if ((rc = int_in(o, "notafter", 0, 1LL << 40, &x, cause)) < 0)
			return -1;
		if (rc)
			n->certs[i].notafter = x;
		return 0;
	}
	return set_cause(cause, "health: no certificate %s on %s", file,
	    n->name);
}

/* Sorted newest first, as APT.pm lists them; 1 when a is newer. */
static int
release_newer(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0') {
		long	 x = strtol(a, (char **)&a, 10);
		long	 y = strtol(b, (char **)&b, 10);

		if (x != y)
			return x > y;
		while (*a != '\0' && !isdigit((unsigned char)*a))
			a++;
		while (*b != '\0' && !isdigit((unsigned char)*b))
			b++;
	}
	return 0;
}

static int
admin_kernel(struct simh_node *n, const char *release, char **cause)
{
	char	 tmp[32];
	int	 i;

	for (i = 0; i < n->nkernels; i++) {
		if (strcmp(n->kernels[i], release) == 0)
			return 0;
	}
	if (strlen(release) >= sizeof tmp || n->nkernels >= SIMH_MAX_KERNELS)
		return set_cause(cause, "health: cannot install kernel %s",
		    release);
	copy(n->kernels[n->nkernels++], sizeof n->kernels[0], release);
	/* Newest first. */
	for (i = n->nkernels - 1; i > 0 && release_newer(n->kernels[i],
	    n->kernels[i - 1]); i--) {
		memcpy(tmp, n->kernels[i], sizeof tmp);
		memcpy(n->kernels[i], n->kernels[i - 1], sizeof tmp);
		memcpy(n->kernels[i - 1], tmp, sizeof tmp);
	}
	return 0;
}

/*
 * {"node":"pve1", ...} with one of: "disk" (health, wearout,
 * reallocated, pending, uncorrectable, remove, model), "pool" (device,
 * device_state, msg, cksum), "certificate" (days_left, notafter),
 * "update" (version, old, origin, security), "updates":"none",
 * "kernel_installed", "kernel_running".
 */
int
simh_node_admin(struct sim *s, json_t *o, char **cause)
{
	const char		*name, *v;
	struct simh_node	*n;
	struct simh_pkg		*p;
	int			 i;

	name = json_string_value(json_object_get(o, "node"));
	if (name == NULL || sim_node_find(s, name) == NULL)
		return set_cause(cause, "health: no node %s",
		    name != NULL ? name : "(none)");
	if ((n = simh_node(s, name)) == NULL)
		return set_cause(cause, "health: too many nodes");
	if ((v = json_string_value(json_object_get(o, "disk"))) != NULL)
		return admin_disk(n, o, v, cause);
	if ((v = json_string_value(json_object_get(o, "pool"))) != NULL)
		return admin_pool(n, o, v, cause);
	if ((v = json_string_value(json_object_get(o, "certificate"))) !=
	    NULL)
		return admin_cert(n, o, v, cause);
	if ((v = json_string_value(json_object_get(o, "update"))) != NULL) {
		const char	*ver = json_string_value(json_object_get(o,
		    "version"));
		const char	*old = json_string_value(json_object_get(o,
		    "old"));
		const char	*origin = json_string_value(json_object_get(o,
		    "origin"));
		int		 sec = json_is_true(json_object_get(o,
		    "security"));

		if (!pkg_pattern_ok(v) || ver == NULL)
			return set_cause(cause, "health: update needs a "
			    "package name and a version");
		p = pkg_set(n, v, ver, old != NULL ? old : "", origin != NULL ?
		    origin : "Debian", sec ? "trixie-security" : "trixie");
		return p != NULL ? 0 : set_cause(cause, "health: too many "
		    "updates");
	}
	if ((v = json_string_value(json_object_get(o, "updates"))) != NULL) {
		if (strcmp(v, "none") != 0)
			return set_cause(cause, "health: updates: \"none\" "
			    "clears them");
		n->npkgs = 0;
		return 0;
	}
	if ((v = json_string_value(json_object_get(o, "kernel_installed"))) !=
	    NULL)
		return admin_kernel(n, v, cause);
	if ((v = json_string_value(json_object_get(o, "kernel_running"))) !=
	    NULL) {
		for (i = 0; i < n->nkernels; i++) {
			if (strcmp(n->kernels[i], v) == 0) {
				copy(n->running, sizeof n->running, v);
				return 0;
			}
		}
		return set_cause(cause, "health: kernel %s is not installed on "
		    "%s", v, name);
	}
	return set_cause(cause, "health: nothing to change for node %s", name);
}
