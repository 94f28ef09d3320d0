/*
 * prov_cluster.c - the provisioning reads a worker makes of Proxmox (the
 * router never calls Proxmox: these run in jobs), and `nextip`.
 *
 * prov_read_used() reads every guest's configuration. It fails rather
 * than guess: when one guest's configuration cannot be read (its node
 * is offline, the token may not audit it) no address is picked, since
 * that guest may hold the one that would be handed out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "builtin.h"
#include "cmd.h"
#include "exec_proxmox.h"
#include "prov.h"
#include "prov_int.h"
#include "store.h"
#include "store_prov.h"
#include "util.h"

int
prov_read_used(struct pve *pve, struct prov_used *u,
    struct pve_guest **guestsp, size_t *nguestsp, json_t ***cfgsp,
    char **cause)
{
	struct pve_guest	*guests = NULL;
	json_t			**cfgs;
	size_t			 n = 0, i;
	char			*path, *why = NULL;

	if (pve_list_guests(pve, &guests, &n, &why) != PVE_OK) {
		set_cause(cause, "cannot read the guest list: %s", why);
		free(why);
		return -1;
	}
	cfgs = xcalloc(n + 1, sizeof *cfgs);
	for (i = 0; i < n; i++) {
		path = pve_guest_path(&guests[i], "/config");
		if (pve_request(pve, "GET", path, NULL, 0, &cfgs[i], &why) !=
		    PVE_OK) {
			set_cause(cause, "cannot read the configuration of "
			    "guest %d on %s: %s; no address is picked without "
			    "knowing every guest's", guests[i].vmid,
			    guests[i].node, why);
			free(why);
			free(path);
			prov_configs_free(cfgs, n);
			pve_guests_free(guests, n);
			return -1;
		}
		free(path);
		prov_used_add_config(u, cfgs[i]);
		prov_used_add_name(u, guests[i].name);
	}
	if (guestsp != NULL) {
		*guestsp = guests;
		*nguestsp = n;
	} else
		pve_guests_free(guests, n);
	if (cfgsp != NULL)
		*cfgsp = cfgs;
	else
		prov_configs_free(cfgs, n);
	return 0;
}

void
prov_configs_free(json_t **cfgs, size_t n)
{
	size_t	 i;

	if (cfgs == NULL)
		return;
	for (i = 0; i < n; i++)
		json_decref(cfgs[i]);
	free(cfgs);
}

/* "vm" or "ct", as typed; the range of that kind. */
const struct prov_range *
prov_range_of(const struct prov_node *pn, const char *kind)
{
	return strcmp(kind, "ct") == 0 || strcmp(kind, "lxc") == 0 ?
	    &pn->ct : &pn->vm;
}

static size_t
count_in(const struct prov_used *u, const struct prov_range *r)
{
	size_t	 i, n = 0;

	for (i = 0; i < u->nips; i++)
		n += u->ips[i] >= r->lo && u->ips[i] <= r->hi;
	return n;
}

/* Live addresses pvebot holds on a node (0 when it cannot tell). */
static int64_t
held_in(struct store *s, const char *node)
{
	int64_t	 n = prov_ips_held(s, node);

	return n < 0 ? 0 : n;
}

/* `nextip NODE vm|ct`: what the next clone there would get; takes none. */
char *
prov_job_nextip(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	const struct prov_conf	*pc = env->app->prov;
	const struct prov_node	*pn;
	const struct prov_range	*r;
	const char		*node = cmd_call_value(call, "node");
	const char		*kind = cmd_call_value(call, "kind");
	struct prov_used	 u;
	char			 ip[16], gw[16], lo[16], hi[16], *text;
	uint32_t		 next;

	if (pc == NULL) {
		set_cause(cause, "no provisioning conventions (bot.conf: "
		    "provisioning: FILE)");
		return NULL;
	}
	if ((pn = prov_conf_node(pc, node)) == NULL) {
		set_cause(cause, "node %s has no subnet in %s", node,
		    pc->file);
		return NULL;
	}
	r = prov_range_of(pn, kind);
	if (r->lo > r->hi) {
		set_cause(cause, "node %s has no %s range in %s", node,
		    strcmp(kind, "ct") == 0 ? "container" : "VM", pc->file);
		return NULL;
	}
	if (env->app->pve == NULL) {
		set_cause(cause, "no Proxmox endpoint is configured");
		return NULL;
	}
	memset(&u, 0, sizeof u);
	/* What jobs that never ran held is free again. */
	prov_sweep(env->store);
	if (prov_read_used(env->app->pve, &u, NULL, NULL, NULL, cause) != 0 ||
	    prov_peek_ip(env->store, pn, r, &u, &next, cause) != 0) {
		prov_used_release(&u);
		return NULL;
	}
	prov_ip_format(next, ip);
	prov_ip_format(pn->gateway, gw);
	prov_ip_format(r->lo, lo);
	prov_ip_format(r->hi, hi);
	text = xasprintf("next free %s address on %s: %s/%d (gateway %s, "
	    "bridge %s)\nrange %s-%s: %zu used by guests, %lld held by "
	    "pvebot on %s", strcmp(kind, "ct") == 0 ? "container" : "VM",
	    node, ip, pn->prefix, gw, pn->bridge != NULL ? pn->bridge :
	    pc->bridge, lo, hi, count_in(&u, r), (long long)held_in(env->store,
	    node), node);
	prov_used_release(&u);
	return text;
}
