/*
 * request.h - turning a parsed command into the request the policy
 * decides on (core/request.c).
 */
#ifndef PVEBOT_REQUEST_H
#define PVEBOT_REQUEST_H

#include <stdint.h>

#include "exec_proxmox.h"
#include "policy.h"

struct cmd_call;
struct guest_view;

/* Where guests are looked up. */
struct request_guests {
	int			 proxmox;	/* a cluster is configured */
	const struct guest_view	*view;		/* NULL: none yet */
	int64_t			 max_age_ms;	/* older: a worker looks up */
};

enum {
	REQUEST_OK = 0,
	REQUEST_ERROR = -1,
	REQUEST_LOOKUP = 1,	/* the guest must be looked up by a worker */
};

struct request {
	struct policy_target	 target;	/* points into guest/call */
	struct pve_guest	 guest;		/* the resolved guest */
	int			 have_guest;
	const char		*reason;
	struct policy_request	 preq;
	/*
	 * A node-wide action that stops guests (stop-all, shutdown-node)
	 * targets the node with the tags of the running guests it would
	 * stop, so rules on tags (pvebot-self) judge it.
	 */
	char			**node_tags;
	size_t			  nnode_tags;
};

/*
 * Resolves the call's guest (by VMID or name, from the guest index) and
 * fills r. The call must outlive r. REQUEST_ERROR with *cause when the
 * guest cannot be found or is ambiguous; REQUEST_LOOKUP when the index
 * cannot tell (r is filled but for the guest).
 */
int	request_prepare(const struct request_guests *, const struct cmd_call *,
	    const char *user, const char *room, int64_t now, struct request *,
	    char **cause);
void	request_release(struct request *);

#endif
