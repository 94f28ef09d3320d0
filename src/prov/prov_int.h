/*
 * prov_int.h - what the provisioning files share, and the handlers the
 * builtin table (core/builtin.c) names. Not for use outside src/prov/
 * and that table.
 */
#ifndef PVEBOT_PROV_INT_H
#define PVEBOT_PROV_INT_H

#include <stddef.h>

#include <jansson.h>

struct builtin_env;
struct cmd_call;
struct prov_node;
struct prov_range;
struct prov_used;
struct pve;
struct pve_guest;

struct app;
struct job;
struct run;
struct store;

/* Built-ins: `nextip` (a read job), `clone-to`, `replicate` and
 * `restore-to` (a plan before the decision, then an action of several
 * steps). */
char	*prov_job_nextip(const struct builtin_env *,
	    const struct cmd_call *, char **cause);
void	 prov_op_clone(struct run *, const struct cmd_call *);
/* `restore-to BACKUP NODE`: a restore as a new guest by convention. */
void	 prov_op_restore(struct run *, const struct cmd_call *);
char	*prov_job_inventory(const struct builtin_env *,
	    const struct cmd_call *, char **cause);

#endif
