/*
 * request.c - from a parsed command to a policy request: the guest named
 * by VMID or name is resolved against the cluster (node, type, tags,
 * pool, template), and the node, storage and snapshot arguments become
 * the target the policy's selectors match.
 *
 * Shared by the router, the chat command `explain` and `pvebot explain`,
 * so all three decide on exactly the same request.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "exec_proxmox.h"
#include "log.h"
#include "policy.h"
#include "request.h"
#include "util.h"

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
request_prepare(struct pve *pve, const struct cmd_call *call,
    const char *user, const char *room, int64_t now, struct request *r,
    char **cause)
{
	const struct cmd_def	*def = call->def;
	size_t			 i;

	memset(r, 0, sizeof *r);
	for (i = 0; i < def->nargs; i++) {
		const struct cmd_arg	*a = &def->args[i];
		const char		*v = call->values[i];

		if (v == NULL)
			continue;
		switch (a->type) {
		case ARG_GUEST:
			if (r->have_guest)
				break;
			if (pve != NULL) {
				if (pve_resolve_guest(pve, v, &r->guest,
				    cause) != 0)
					goto fail;
			} else if (all_digits(v)) {
				const char	*errstr;

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
	r->preq.action = call->action != NULL ? call->action : def->action;
	r->preq.mutating = call->mutating;
	r->preq.target = &r->target;
	r->preq.room = room;
	r->preq.has_reason = r->reason != NULL;
	r->preq.now = now;
	return 0;
fail:
	request_release(r);
	return -1;
}

void
request_release(struct request *r)
{
	if (r->have_guest || r->guest.name != NULL)
		pve_guest_release(&r->guest);
	memset(r, 0, sizeof *r);
}
