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
	size_t			 i;
	int			 lookup = 0;

	memset(r, 0, sizeof *r);
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
	return lookup ? REQUEST_LOOKUP : REQUEST_OK;
fail:
	request_release(r);
	return REQUEST_ERROR;
}

void
request_release(struct request *r)
{
	if (r->have_guest || r->guest.name != NULL)
		pve_guest_release(&r->guest);
	memset(r, 0, sizeof *r);
}
