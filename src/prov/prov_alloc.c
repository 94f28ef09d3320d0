/*
 * prov_alloc.c - what guests use (addresses and MACs read from their
 * configurations) and the choice of free ones, recorded in pvebot's
 * allocation table (prov_alloc: store_prov.h).
 *
 * Guarantees:
 * - An address is handed out only when no guest's configuration names
 *   it, no live row of the table holds it and it is not the gateway; a
 *   MAC only when no guest's configuration and no live row has it. Each
 *   choice and its row are made in the caller's BEGIN IMMEDIATE
 *   transaction, so writers queue and the second sees the first's row;
 *   the unique index on live rows refuses a duplicate even if a caller
 *   forgot the transaction.
 * - A released address is free again only once its row is released: a
 *   job that failed gives its allocations back (prov_release_job); one
 *   that created a guest keeps them, and the guest's configuration holds
 *   the address from then on anyway.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "prov.h"
#include "store.h"
#include "store_prov.h"
#include "util.h"

#define MAC_TRIES	4096

/* ---- what configurations use ------------------------------------- */

static int
is_mac(const char *s, size_t n)
{
	size_t	 i;

	if (n != 17)
		return 0;
	for (i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

static void
add_mac(struct prov_used *u, const char *s)
{
	char	*m = xstrndup(s, 17);
	size_t	 i;

	for (i = 0; m[i] != '\0'; i++)
		m[i] = (char)toupper((unsigned char)m[i]);
	u->macs = xreallocarray(u->macs, u->nmacs + 1, sizeof *u->macs);
	u->macs[u->nmacs++] = m;
}

static void
add_ip(struct prov_used *u, uint32_t ip)
{
	u->ips = xreallocarray(u->ips, u->nips + 1, sizeof *u->ips);
	u->ips[u->nips++] = ip;
}

/* "ip=10.1.0.5/24" (dhcp, manual and IPv6 are not addresses we own). */
static void
add_ip_item(struct prov_used *u, const char *v, size_t n)
{
	char		*a;
	uint32_t	 ip;
	size_t		 len = strcspn(v, "/");

	if (len > n)
		len = n;
	a = xstrndup(v, len);
	if (prov_ip_parse(a, &ip) == 0)
		add_ip(u, ip);
	free(a);
}

/*
 * One netN or ipconfigN value: comma-separated key=value items. The
 * MAC of a container is hwaddr=; a VM's is MODEL=MAC (virtio=, e1000=,
 * ...; Proxmox writes the model as the key) or macaddr=.
 */
static void
add_items(struct prov_used *u, const char *val, int is_net)
{
	const char	*p = val, *e, *eq;
	size_t		 n, kl;

	while (*p != '\0') {
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		if ((eq = memchr(p, '=', n)) != NULL) {
			kl = (size_t)(eq - p);
			if (kl == 2 && strncmp(p, "ip", 2) == 0)
				add_ip_item(u, eq + 1, n - kl - 1);
			else if (is_net && is_mac(eq + 1, n - kl - 1))
				add_mac(u, eq + 1);
		}
		p = *e != '\0' ? e + 1 : e;
	}
}

static int
key_numbered(const char *key, const char *stem)
{
	size_t	 n = strlen(stem), i;

	if (strncmp(key, stem, n) != 0 || key[n] == '\0')
		return 0;
	for (i = n; key[i] != '\0'; i++) {
		if (!isdigit((unsigned char)key[i]) || i - n > 2)
			return 0;
	}
	return 1;
}

void
prov_used_add_config(struct prov_used *u, const json_t *cfg)
{
	const char	*key, *v;
	json_t		*val;

	if (!json_is_object(cfg))
		return;
	json_object_foreach((json_t *)cfg, key, val) {
		if ((v = json_string_value(val)) == NULL)
			continue;
		if (key_numbered(key, "net"))
			add_items(u, v, 1);
		else if (key_numbered(key, "ipconfig"))
			add_items(u, v, 0);
	}
}

void
prov_used_add_name(struct prov_used *u, const char *name)
{
	if (name == NULL)
		return;
	u->names = xreallocarray(u->names, u->nnames + 1, sizeof *u->names);
	u->names[u->nnames++] = xstrdup(name);
}

int
prov_used_has_ip(const struct prov_used *u, uint32_t ip)
{
	size_t	 i;

	for (i = 0; i < u->nips; i++) {
		if (u->ips[i] == ip)
			return 1;
	}
	return 0;
}

int
prov_used_has_mac(const struct prov_used *u, const char *mac)
{
	size_t	 i;

	for (i = 0; i < u->nmacs; i++) {
		if (strcasecmp(u->macs[i], mac) == 0)
			return 1;
	}
	return 0;
}

void
prov_used_release(struct prov_used *u)
{
	if (u == NULL)
		return;
	free(u->ips);
	strv_free(u->macs, u->nmacs);
	strv_free(u->names, u->nnames);
	memset(u, 0, sizeof *u);
}

/* ---- choosing free values ----------------------------------------- */

static int
pick_ip(struct store *s, const struct prov_node *pn,
    const struct prov_range *r, const struct prov_used *u, uint32_t *ip,
    char **cause)
{
	char		 text[16], a[16], b[16];
	uint64_t	 x;
	int		 l;

	for (x = r->lo; r->lo <= r->hi && x <= r->hi; x++) {
		if ((uint32_t)x == pn->gateway || prov_used_has_ip(u,
		    (uint32_t)x))
			continue;
		prov_ip_format((uint32_t)x, text);
		if ((l = prov_row_live(s, "ip", text, 0)) < 0)
			return set_cause(cause, "cannot read the allocation "
			    "table");
		if (l == 0) {
			*ip = (uint32_t)x;
			return 0;
		}
	}
	if (r->lo > r->hi)
		return set_cause(cause, "node %s has no such range in %s",
		    pn->node, "the provisioning file");
	prov_ip_format(r->lo, a);
	prov_ip_format(r->hi, b);
	return set_cause(cause, "no free address in %s-%s on node %s: every "
	    "one is used by a guest or held by pvebot", a, b, pn->node);
}

int
prov_peek_ip(struct store *s, const struct prov_node *pn,
    const struct prov_range *r, const struct prov_used *u, uint32_t *ip,
    char **cause)
{
	return pick_ip(s, pn, r, u, ip, cause);
}

int
prov_alloc_ip(struct store *s, const struct prov_node *pn,
    const struct prov_range *r, const struct prov_used *u, int64_t job_id,
    int vmid, uint32_t *ip, char **cause)
{
	char	 text[16];

	if (pick_ip(s, pn, r, u, ip, cause) != 0)
		return -1;
	prov_ip_format(*ip, text);
	return prov_row_add(s, "ip", text, pn->node, job_id, vmid, cause);
}

int
prov_alloc_mac(struct store *s, const struct prov_conf *pc,
    const struct prov_used *u, const char *node, int64_t job_id, int vmid,
    char out[18], char **cause)
{
	uint8_t		 mac[6];
	uint64_t	 r, space, start = random_u64();
	size_t		 i, free_octets = 6 - pc->mac_prefix_len;
	int		 tries, l, ntries = MAC_TRIES;

	/*
	 * A long prefix leaves few addresses: walk all of them from a
	 * random start, so a free one is found if there is one.
	 */
	space = (uint64_t)1 << (8 * free_octets);
	if (free_octets <= 2)
		ntries = (int)space;
	for (tries = 0; tries < ntries; tries++) {
		r = free_octets <= 2 ? (start + (uint64_t)tries) % space :
		    random_u64();
		for (i = 0; i < 6; i++) {
			if (i < pc->mac_prefix_len)
				mac[i] = pc->mac_prefix[i];
			else {
				mac[i] = (uint8_t)(r & 0xff);
				r >>= 8;
			}
		}
		snprintf(out, 18, "%02X:%02X:%02X:%02X:%02X:%02X", mac[0],
		    mac[1], mac[2], mac[3], mac[4], mac[5]);
		if (prov_used_has_mac(u, out))
			continue;
		if ((l = prov_row_live(s, "mac", out, 0)) < 0)
			return set_cause(cause, "cannot read the allocation "
			    "table");
		if (l == 0)
			return prov_row_add(s, "mac", out, node, job_id, vmid,
			    cause);
	}
	return set_cause(cause, "no free MAC address with the prefix after "
	    "%d tries: the prefix leaves too few addresses", ntries);
}
