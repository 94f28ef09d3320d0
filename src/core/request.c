/*
 * request.c - from a parsed command to a policy request: the guest named
 * by VMID or name is resolved against the guest index (node, type, tags,
 * pool, template), and the node, storage and snapshot arguments become
 * the target the policy's selectors match. Nothing here does I/O: a
 * lookup the index cannot answer (none yet, or too old) is handed back
 * as REQUEST_LOOKUP for a worker to do.
 *
 * Shared by the router, the workers (resolving and re-checking jobs),
 * the chat command `explain` and `pvebot explain`, so all of them decide
 * on exactly the same request.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "exec_proxmox.h"
#include "guest_index.h"
#include "log.h"
#include "policy.h"
#include "request.h"
#include "util.h"

/* Node-wide actions that stop the running guests of their node. */
static const char *const node_stop_actions[] = {
	"node.shutdown", "node.shutdown.force", "node.stopall",
};

static int
stops_node_guests(const char *action)
{
	size_t	i;

	for (i = 0; i < nitems(node_stop_actions); i++) {
		if (strcmp(node_stop_actions[i], action) == 0)
			return 1;
	}
	return 0;
}

static int
in_vmid_list(const char *list, int vmid)
{
	char		 id[16];
	const char	*p = list, *e;
	size_t		 n;

	n = (size_t)snprintf(id, sizeof id, "%d", vmid);
	while (*p != '\0') {
		e = p + strcspn(p, ",");
		if ((size_t)(e - p) == n && strncmp(p, id, n) == 0)
			return 1;
		p = *e != '\0' ? e + 1 : e;
	}
	return 0;
}

/* The tags of the running guests of node (only those in `only`). */
static void
node_tags(const struct guest_view *view, const char *node, const char *only,
    struct request *r)
{
	const struct pve_guest	*g;
	size_t			 i, k, j;

	for (i = 0; i < guest_view_count(view); i++) {
		g = guest_view_at(view, i);
		if (strcmp(g->node, node) != 0 || g->status == NULL ||
		    (strcmp(g->status, "running") != 0 &&
		    strcmp(g->status, "paused") != 0) ||
		    (only != NULL && !in_vmid_list(only, g->vmid)))
			continue;
		for (k = 0; k < g->ntags; k++) {
			for (j = 0; j < r->nnode_tags; j++) {
				if (strcmp(r->node_tags[j], g->tags[k]) == 0)
					break;
			}
			if (j < r->nnode_tags)
				continue;
			r->node_tags = xreallocarray(r->node_tags,
			    r->nnode_tags + 1, sizeof *r->node_tags);
			r->node_tags[r->nnode_tags++] = xstrdup(g->tags[k]);
		}
	}
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
	}
	return 1;
}

int
request_prepare(const struct request_guests *rg, const struct cmd_call *call,
    const char *user, const char *room, int64_t now, struct request *r,
    char **cause)
{
	const struct cmd_def	*def = call->def;
	const char		*action, *errstr;
	size_t			 i;
	int			 lookup = 0, vmid;

	memset(r, 0, sizeof *r);
	action = call->action != NULL ? call->action : def->action;
	for (i = 0; i < def->nargs; i++) {
		const struct cmd_arg	*a = &def->args[i];
		const char		*v = call->values[i];

		if (v == NULL)
			continue;
		switch (a->type) {
		case ARG_GUEST:
			if (r->have_guest || lookup)
				break;
			if (rg != NULL && rg->proxmox) {
				if (rg->view == NULL || (rg->max_age_ms > 0 &&
				    guest_view_age_ms(rg->view) >
				    rg->max_age_ms)) {
					lookup = 1;
					break;
				}
				if (guest_view_resolve(rg->view, v, &r->guest,
				    cause) != 0)
					goto fail;
			} else if (all_digits(v)) {
				r->guest.vmid = (int)strtonum(v, 100,
				    999999999, &errstr);
			} else {
				set_cause(cause, "cannot look up guest '%s': "
				    "no Proxmox endpoint is configured", v);
				goto fail;
			}
			r->have_guest = 1;
			break;
		case ARG_NODE:
			r->target.node = v;
			break;
		case ARG_STORAGE:
			r->target.storage = v;
			break;
		case ARG_SNAPSHOT:
			r->target.snapshot = v;
			break;
		case ARG_REASON:
			r->reason = v;
			break;
		case ARG_VMID:
			/*
			 * A forced restore acts on the guest it overwrites:
			 * the policy judges it with that guest's tags.
			 */
			if (r->have_guest || lookup || rg == NULL ||
			    !rg->proxmox || strcmp(action,
			    "backup.restore.force") != 0)
				break;
			if (rg->view == NULL || (rg->max_age_ms > 0 &&
			    guest_view_age_ms(rg->view) > rg->max_age_ms)) {
				lookup = 1;
				break;
			}
			vmid = (int)strtonum(v, 100, 999999999, &errstr);
			if (errstr == NULL && guest_view_vmid(rg->view,
			    vmid) != NULL &&
			    guest_view_resolve(rg->view, v, &r->guest,
			    cause) == 0)
				r->have_guest = 1;
			break;
		case ARG_WORD:
			/* hostsnap-remove names an LV as vg/name. */
			if (r->target.snapshot == NULL &&
			    (strcmp(a->name, "volume") == 0 ||
			    strcmp(a->name, "name") == 0)) {
				const char	*slash = strrchr(v, '/');

				r->target.snapshot = slash != NULL ?
				    slash + 1 : v;
			}
			break;
		default:
			break;
		}
	}
	/* A trailing "-- TEXT" or "because TEXT" of any command. */
	if (r->reason == NULL)
		r->reason = call->reason;
	if (r->have_guest) {
		r->target.vmid = r->guest.vmid;
		r->target.name = r->guest.name;
		if (r->target.node == NULL || def->nargs == 0 ||
		    strcmp(def->name, "migrate") != 0)
			r->target.node = r->guest.node;
		r->target.type = r->guest.type;
		r->target.tags = (const char *const *)r->guest.tags;
		r->target.ntags = r->guest.ntags;
		r->target.pool = r->guest.pool;
		r->target.is_template = r->guest.is_template;
	}
	r->preq.user = user;
	r->preq.action = action;
	if (!r->have_guest && r->target.node != NULL && rg != NULL &&
	    rg->proxmox && stops_node_guests(r->preq.action)) {
		/* Without a fresh list a worker looks the guests up. */
		if (rg->view == NULL || (rg->max_age_ms > 0 &&
		    guest_view_age_ms(rg->view) > rg->max_age_ms))
			lookup = 1;
		else {
			node_tags(rg->view, r->target.node, cmd_call_value(
			    call, "guests"), r);
			r->target.tags = (const char *const *)r->node_tags;
			r->target.ntags = r->nnode_tags;
		}
	}
	r->preq.mutating = call->mutating;
	r->preq.target = &r->target;
	r->preq.room = room;
	r->preq.has_reason = r->reason != NULL;
	r->preq.now = now;
	return lookup ? REQUEST_LOOKUP : REQUEST_OK;
fail:
	request_release(r);
	return REQUEST_ERROR;
}

void
request_release(struct request *r)
{
	size_t	i;

	for (i = 0; i < r->nnode_tags; i++)
		free(r->node_tags[i]);
	free(r->node_tags);
	if (r->have_guest || r->guest.name != NULL)
		pve_guest_release(&r->guest);
	memset(r, 0, sizeof *r);
}
