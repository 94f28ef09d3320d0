/*
 * sim_prov.c - what provisioning needs of the simulated Proxmox: a
 * guest's network configuration (net0; a VM's cloud-init ipconfig0,
 * nameserver, searchdomain), its MAC regenerated on clone, and GET
 * /cluster/nextid.
 *
 * Rules followed (../shared/api-specs/proxmox-api.compact.json):
 * - PUT /nodes/{node}/lxc/{vmid}/config net[n]: the container network
 *   format: name (required), bridge, hwaddr (mac-addr), ip
 *   (pve-ipv4-config: dhcp, manual or CIDR), gw (ipv4), ip6, gw6,
 *   firewall, link_down, mtu (64-65535), rate, tag (1-4094), trunks,
 *   type (veth), host-managed. Any other key is refused ("property is not
 *   defined in schema").
 * - PUT /nodes/{node}/qemu/{vmid}/config net[n]: "MODEL=MAC" (model is
 *   the default key, macaddr its alias), bridge, firewall, link_down,
 *   mtu, queues, rate, tag, trunks; a model out of its enum is refused.
 *   ipconfig[n] (VMs only, pve-qm-ipconfig): "[gw=IPv4][,gw6=][,ip=
 *   IPv4/CIDR|dhcp][,ip6=]". nameserver, searchdomain: both types.
 * - The simulator serves index 0 of net[n] and ipconfig[n] only; other
 *   indexes are refused as parameters it does not know.
 * - A clone gets a new MAC on every netN (qemu-server and pve-container
 *   call random_ether_addr with the datacenter's mac_prefix, BC:24:11 by
 *   default, when they copy the configuration); the address (ip=) is
 *   copied as it is, which is why a clone must be re-addressed.
 * - A backup keeps that configuration and a restore writes it back as
 *   it was, the MAC included; with unique=1 ("Assign a unique random
 *   ethernet address.") every netN gets a new one. A VM's name and a
 *   container's hostname given to the restore replace the backed-up one.
 * - POST .../clone target=NODE: "Target node. Only allowed if the
 *   original VM is on shared storage." A guest whose disks are on a
 *   storage that is not shared is refused with qemu-server's "can't
 *   clone VM to node 'X' (VM uses local storage)" (CT for a container).
 *   The simulator's guests are on local-lvm; POST /_sim/prov adds a
 *   shared storage and puts a guest's disks on it.
 * - GET /cluster/nextid: "Get next free VMID. Pass a VMID to assert
 *   that its free (at time of check)." The lowest free id from 100; with
 *   vmid= a taken one is "400 Parameter verification failed." with
 *   {"vmid": "VM N already exists"}. The id comes as a string (the
 *   schema says integer; Proxmox's JSON carries it quoted).
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim_health.h"
#include "sim_int.h"
#include "util.h"

static const char *const lxc_net_keys[] = { "name", "bridge", "hwaddr",
	"ip", "gw", "ip6", "gw6", "firewall", "link_down", "mtu", "rate",
	"tag", "trunks", "type", "host-managed", NULL };
static const char *const qm_net_keys[] = { "bridge", "firewall",
	"link_down", "mtu", "queues", "rate", "tag", "trunks", "macaddr",
	"model", NULL };
static const char *const qm_models[] = { "e1000", "e1000-82540em",
	"e1000-82544gc", "e1000-82545em", "e1000e", "i82551", "i82557b",
	"i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio",
	"vmxnet3", NULL };
static const char *const ipconfig_keys[] = { "ip", "gw", "ip6", "gw6",
	NULL };

static int
in_list(const char *const *list, const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; list[i] != NULL; i++) {
		if (strlen(list[i]) == n && strncmp(list[i], s, n) == 0)
			return 1;
	}
	return 0;
}

static int
valid_mac(const char *s)
{
	size_t	 i;

	if (strlen(s) != 17)
		return 0;
	for (i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return 0;
	}
	/* mac-addr: a unicast address (bit 0 of the first octet clear). */
	return (strtol((char[3]){ s[0], s[1], '\0' }, NULL, 16) & 1) == 0;
}

static int
valid_ipv4(const char *s)
{
	struct in_addr	 a;

	return inet_pton(AF_INET, s, &a) == 1;
}

/* pve-ipv4-config: dhcp, manual or A.B.C.D/N; ipconfig: no manual. */
static int
valid_ipv4_config(const char *s, int manual_ok)
{
	const char	*slash = strchr(s, '/');
	char		*a;
	long		 n;
	char		*end;
	int		 ok;

	if (strcmp(s, "dhcp") == 0 || (manual_ok && strcmp(s, "manual") == 0))
		return 1;
	if (slash == NULL)
		return 0;
	a = xstrndup(s, (size_t)(slash - s));
	ok = valid_ipv4(a);
	free(a);
	n = strtol(slash + 1, &end, 10);
	return ok && *end == '\0' && end != slash + 1 && n >= 0 && n <= 32;
}

/*
 * One netN/ipconfigN value checked as Proxmox parses it; NULL, or why
 * (caller frees), worded as its "invalid format" errors are.
 */
static char *
check_value(const char *v, int lxc, int is_net)
{
	const char	*p = v, *e, *eq;
	char		*key, *val, *why = NULL;
	size_t		 n, kl;
	int		 first = 1, have_name = 0, have_model = 0;

	if (*v == '\0')
		return xstrdup("invalid format - value is empty");
	while (*p != '\0' && why == NULL) {
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		if ((eq = memchr(p, '=', n)) == NULL) {
			why = xasprintf("invalid format - format error: "
			    "'%.*s' is not key=value", (int)n, p);
			break;
		}
		kl = (size_t)(eq - p);
		key = xstrndup(p, kl);
		val = xstrndup(eq + 1, n - kl - 1);
		if (is_net && !lxc && first && in_list(qm_models, key, kl)) {
			/* "virtio=MAC": the model as key, the MAC its value. */
			have_model = 1;
			if (*val != '\0' && !valid_mac(val))
				why = xasprintf("invalid format - format error "
				    "net0.macaddr: value does not look like a "
				    "valid MAC address");
		} else if (is_net && lxc ? !in_list(lxc_net_keys, key, kl) :
		    is_net ? !in_list(qm_net_keys, key, kl) :
		    !in_list(ipconfig_keys, key, kl))
			why = xasprintf("invalid format - format error %s.%s: "
			    "property is not defined in schema and the schema "
			    "does not allow additional properties", is_net ?
			    "net0" : "ipconfig0", key);
		else if (strcmp(key, "name") == 0)
			have_name = 1;
		else if (strcmp(key, "model") == 0) {
			have_model = 1;
			if (!in_list(qm_models, val, strlen(val)))
				why = xasprintf("invalid format - format error "
				    "net0.model: value '%s' does not have a "
				    "value in the enumeration", val);
		} else if ((strcmp(key, "hwaddr") == 0 ||
		    strcmp(key, "macaddr") == 0) && !valid_mac(val))
			why = xasprintf("invalid format - format error "
			    "net0.%s: value does not look like a valid MAC "
			    "address", key);
		else if (strcmp(key, "ip") == 0 && !valid_ipv4_config(val,
		    is_net))
			why = xasprintf("invalid format - format error "
			    "%s.ip: value does not look like a valid IPv4 "
			    "network configuration", is_net ? "net0" :
			    "ipconfig0");
		else if (strcmp(key, "gw") == 0 && !valid_ipv4(val))
			why = xasprintf("invalid format - format error "
			    "%s.gw: value does not look like a valid IPv4 "
			    "address", is_net ? "net0" : "ipconfig0");
		free(key);
		free(val);
		first = 0;
		p = *e != '\0' ? e + 1 : e;
	}
	if (why == NULL && is_net && lxc && !have_name)
		why = xstrdup("invalid format - format error net0.name: "
		    "property is missing and it is not optional");
	if (why == NULL && is_net && !lxc && !have_model)
		why = xstrdup("invalid format - format error net0.model: "
		    "property is missing and it is not optional");
	return why;
}

int
sim_prov_config_check(struct sim_call *c, struct sim_reply *r,
    const struct sim_guest *g)
{
	const char	*v;
	char		*why;

	if ((v = sim_param(c, "net0")) != NULL &&
	    (why = check_value(v, g->lxc, 1)) != NULL) {
		simh_param_error(r, "net0", why);
		free(why);
		return -1;
	}
	if ((v = sim_param(c, "ipconfig0")) != NULL &&
	    (why = check_value(v, g->lxc, 0)) != NULL) {
		simh_param_error(r, "ipconfig0", why);
		free(why);
		return -1;
	}
	if ((v = sim_param(c, "nameserver")) != NULL) {
		char	*copy = xstrdup(v), *tok, *save;
		int	 ok = 1;

		for (tok = strtok_r(copy, " ,;", &save); tok != NULL;
		    tok = strtok_r(NULL, " ,;", &save))
			ok &= valid_ipv4(tok);
		free(copy);
		if (!ok) {
			simh_param_error(r, "nameserver", "invalid format - "
			    "value does not look like a valid address list");
			return -1;
		}
	}
	return 0;
}

void
sim_prov_config_apply(struct sim_call *c, struct sim_guest *g,
    int (*listed)(const char *, const char *), const char *del)
{
	const char	*v;

	if (del != NULL) {
		if (listed(del, "net0"))
			g->net0[0] = '-';	/* removed, not the default */
		if (listed(del, "ipconfig0"))
			g->ipconfig0[0] = '\0';
		if (listed(del, "nameserver"))
			g->nameserver[0] = '\0';
		if (listed(del, "searchdomain"))
			g->searchdomain[0] = '\0';
	}
	if ((v = sim_param(c, "net0")) != NULL)
		snprintf(g->net0, sizeof g->net0, "%s", v);
	if ((v = sim_param(c, "ipconfig0")) != NULL)
		snprintf(g->ipconfig0, sizeof g->ipconfig0, "%s", v);
	if ((v = sim_param(c, "nameserver")) != NULL)
		snprintf(g->nameserver, sizeof g->nameserver, "%s", v);
	if ((v = sim_param(c, "searchdomain")) != NULL)
		snprintf(g->searchdomain, sizeof g->searchdomain, "%s", v);
}

/* What a guest made by the simulator starts with. */
static void
default_net0(const struct sim_guest *g, char *out, size_t len)
{
	if (g->lxc)
		snprintf(out, len, "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:"
		    "%02X:%02X,ip=dhcp,type=veth", (g->vmid >> 8) & 0xff,
		    g->vmid & 0xff);
	else
		snprintf(out, len, "virtio=BC:24:11:01:%02X:%02X,bridge=vmbr0",
		    (g->vmid >> 8) & 0xff, g->vmid & 0xff);
}

void
sim_prov_config_get(const struct sim_guest *g, json_t *o)
{
	char	 net[sizeof g->net0];

	if (g->net0[0] == '\0')
		default_net0(g, net, sizeof net);
	else
		snprintf(net, sizeof net, "%s", g->net0);
	if (strcmp(net, "-") != 0)
		json_object_set_new(o, "net0", json_string(net));
	if (g->ipconfig0[0] != '\0')
		json_object_set_new(o, "ipconfig0", json_string(g->ipconfig0));
	if (g->nameserver[0] != '\0')
		json_object_set_new(o, "nameserver",
		    json_string(g->nameserver));
	if (g->searchdomain[0] != '\0')
		json_object_set_new(o, "searchdomain",
		    json_string(g->searchdomain));
}

static int
value_is_mac(const char *v)
{
	char	 m[18];

	memcpy(m, v, 17);
	m[17] = '\0';
	return valid_mac(m);
}

/* net (not "-") with every MAC replaced by a new BC:24:11 one. */
static void
net0_new_mac(const char *net, char *out, size_t len)
{
	char		 mac[18];
	const char	*p, *e, *eq;
	struct buf	 b;
	uint64_t	 r = random_u64();

	snprintf(mac, sizeof mac, "BC:24:11:%02X:%02X:%02X",
	    (unsigned)(r & 0xff), (unsigned)((r >> 8) & 0xff),
	    (unsigned)((r >> 16) & 0xff));
	buf_init(&b, len);
	for (p = net; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		eq = memchr(p, '=', (size_t)(e - p));
		if (b.len > 0)
			buf_puts(&b, ",");
		if (eq != NULL && (size_t)(e - eq - 1) == 17 &&
		    value_is_mac(eq + 1))
			buf_printf(&b, "%.*s=%s", (int)(eq - p), p, mac);
		else
			buf_append(&b, p, (size_t)(e - p));
	}
	snprintf(out, len, "%s", buf_cstr(&b));
	buf_release(&b);
}

/* The clone's net0: the source's with a new BC:24:11 MAC. */
void
sim_prov_clone(struct sim_guest *ng, const struct sim_guest *src)
{
	char		 net[sizeof src->net0];

	if (src->net0[0] == '\0')
		default_net0(src, net, sizeof net);
	else
		snprintf(net, sizeof net, "%s", src->net0);
	if (strcmp(net, "-") == 0)
		return;
	net0_new_mac(net, ng->net0, sizeof ng->net0);
}

/*
 * vzdump keeps the guest's configuration in the archive: its net0 as it
 * is (the simulator's default spelled out, so the MAC is the guest's,
 * not one made up from the VMID it is restored to), cloud-init and DNS.
 */
void
sim_prov_backup(struct sim_backup *b, const struct sim_guest *g)
{
	if (g->net0[0] == '\0')
		default_net0(g, b->net0, sizeof b->net0);
	else
		snprintf(b->net0, sizeof b->net0, "%s", g->net0);
	snprintf(b->ipconfig0, sizeof b->ipconfig0, "%s", g->ipconfig0);
	snprintf(b->nameserver, sizeof b->nameserver, "%s", g->nameserver);
	snprintf(b->searchdomain, sizeof b->searchdomain, "%s",
	    g->searchdomain);
}

/*
 * A restore writes the archive's configuration back: net0 with the
 * backed-up guest's MAC and address, unless unique=1 ("Assign a unique
 * random ethernet address": qemu-server's restore_update_config_line and
 * pve-container's restore_configuration give every netN a new MAC).
 * An archive with no configuration recorded leaves the default.
 */
void
sim_prov_restore(struct sim_guest *g, const struct sim_backup *b,
    int unique)
{
	if (b->net0[0] == '\0' || strcmp(b->net0, "-") == 0)
		snprintf(g->net0, sizeof g->net0, "%s", b->net0);
	else if (unique)
		net0_new_mac(b->net0, g->net0, sizeof g->net0);
	else
		snprintf(g->net0, sizeof g->net0, "%s", b->net0);
	snprintf(g->ipconfig0, sizeof g->ipconfig0, "%s", b->ipconfig0);
	snprintf(g->nameserver, sizeof g->nameserver, "%s", b->nameserver);
	snprintf(g->searchdomain, sizeof g->searchdomain, "%s",
	    b->searchdomain);
}

static void
api_nextid(struct sim_call *c, struct sim_reply *r)
{
	const char	*want = sim_param(c, "vmid");
	int		 id;

	if (want != NULL) {
		id = (int)sim_param_int(c, "vmid", 0);
		if (sim_guest_find(c->sim, id) != NULL) {
			char	*why = xasprintf("VM %d already exists", id);

			simh_param_error(r, "vmid", why);
			free(why);
			return;
		}
		r->data = json_sprintf("%d", id);
		return;
	}
	for (id = 100; id < 1000000000; id++) {
		if (sim_guest_find(c->sim, id) == NULL)
			break;
	}
	r->data = json_sprintf("%d", id);
}

static const struct sim_param p_nextid[] = {
	{ .name = "vmid", .type = PT_INT, .optional = 1, .has_min = 1,
	    .min = 100, .has_max = 1, .max = 999999999 },
	{ .name = NULL },
};

const struct sim_route sim_prov_routes[] = {
	{ "GET", "/cluster/nextid", api_nextid, p_nextid },
};
const size_t sim_prov_nroutes = nitems(sim_prov_routes);

const char *
sim_prov_storage(const struct sim_guest *g)
{
	return g->storage[0] != '\0' ? g->storage : "local-lvm";
}

int
sim_prov_clone_check(struct sim_call *c, struct sim_reply *r,
    const struct sim_guest *g, const char *target)
{
	struct sim_storage	*st;

	if (target == NULL || strcmp(target, g->node) == 0)
		return 0;
	st = sim_storage_find(c->sim, sim_prov_storage(g));
	if (st != NULL && st->shared)
		return 0;
	sim_reply_error(r, 500, "can't clone %s to node '%s' (%s uses local "
	    "storage)", g->lxc ? "CT" : "VM", target, g->lxc ? "CT" : "VM");
	return -1;
}

int
sim_prov_admin(struct sim *s, json_t *o, char **cause)
{
	const char		*id = json_string_value(json_object_get(o,
				    "storage"));
	json_t			*vmid = json_object_get(o, "vmid");
	struct sim_storage	*st;
	struct sim_guest	*g;
	const char		*v;

	if (id == NULL || strlen(id) >= sizeof st->id)
		return set_cause(cause, "prov: storage missing or too long");
	if (vmid != NULL) {
		if (!json_is_integer(vmid) || (g = sim_guest_find(s,
		    (int)json_integer_value(vmid))) == NULL)
			return set_cause(cause, "prov: unknown vmid");
		if (sim_storage_find(s, id) == NULL)
			return set_cause(cause, "prov: no storage %s", id);
		snprintf(g->storage, sizeof g->storage, "%s", id);
		return 0;
	}
	if (sim_storage_find(s, id) != NULL)
		return set_cause(cause, "prov: storage %s exists", id);
	if (s->nstorages >= SIM_MAX_STORAGES)
		return set_cause(cause, "prov: too many storages");
	st = &s->storages[s->nstorages++];
	memset(st, 0, sizeof *st);
	snprintf(st->id, sizeof st->id, "%s", id);
	v = json_string_value(json_object_get(o, "type"));
	snprintf(st->type, sizeof st->type, "%s", v != NULL ? v : "rbd");
	v = json_string_value(json_object_get(o, "content"));
	snprintf(st->content, sizeof st->content, "%s", v != NULL ? v :
	    "images,rootdir");
	st->shared = 1;
	st->maxdisk = (int64_t)2000 << 30;
	st->disk = (int64_t)300 << 30;
	return 0;
}
