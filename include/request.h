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

struct request {
	struct policy_target	 target;	/* points into guest/call */
	struct pve_guest	 guest;		/* the resolved guest */
	int			 have_guest;
	const char		*reason;
	struct policy_request	 preq;
};

/*
 * Resolves the call's guest (by VMID or name, through pve when it is not
 * NULL) and fills r. The call must outlive r. -1 with *cause when the
 * guest cannot be found or is ambiguous.
 */
int	request_prepare(struct pve *, const struct cmd_call *,
	    const char *user, const char *room, int64_t now, struct request *,
	    char **cause);
void	request_release(struct request *);

#endif
