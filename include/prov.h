/*
 * prov.h - provisioning by convention (src/prov/): the conventions file
 * (names, per-node subnets with VM and container ranges, gateway, DNS,
 * bridge, MAC prefix), the addresses and MACs guests use, and pvebot's
 * own allocation table, so that an address or a MAC is never handed out
 * twice.
 *
 * The conventions live in their own YAML file, named by bot.conf's
 * `provisioning: FILE` (docs/provisioning.md). prov_conf_load() checks
 * it whole and reports every problem as file:line:column: ranges outside
 * their subnet, ranges that overlap (within a node or across nodes), a
 * gateway inside a range, a MAC prefix that is not locally administered
 * unicast, a naming pattern with a placeholder pvebot does not know.
 *
 * Addresses are IPv4 only. An address is "in use" when some guest's
 * configuration names it (containers: netN `ip=A/N`; VMs: cloud-init
 * ipconfigN `ip=A/N`) or when pvebot's allocation table holds it and has
 * not released it. prov_alloc_take() picks the lowest free address of a
 * range and records it in one BEGIN IMMEDIATE transaction, and a unique
 * index on the live rows backs it, so two workers allocating at the same
 * moment never get the same address or MAC.
 */
#ifndef PVEBOT_PROV_H
#define PVEBOT_PROV_H

#include <stddef.h>
#include <stdint.h>

struct store;

struct prov_range {
	uint32_t	 lo, hi;	/* host order, inclusive */
	int		 line, column;
};

struct prov_node {
	char			*node;
	uint32_t		 net;		/* host order */
	int			 prefix;	/* /N */
	uint32_t		 gateway;
	struct prov_range	 vm, ct;
	char			*bridge;	/* NULL: the file's default */
	int			 line, column;
};

struct prov_conf {
	char		*file;
	char		*name_pattern;	/* "pve-{node}-{type}-{seq:02d}" */
	uint8_t		 mac_prefix[5];
	size_t		 mac_prefix_len;	/* octets, 1..5 */
	char		*bridge;	/* default vmbr0 */
	char		*nameserver;	/* "10.0.0.53 10.0.0.54" or NULL */
	char		*searchdomain;	/* or NULL */
	struct prov_node *nodes;
	size_t		 nnodes;
};

/*
 * Loads and checks a conventions file (or a text; `name` is what errors
 * call it). NULL with *errors ("file:line:column: why\n" each, every
 * problem) on failure.
 */
struct prov_conf *prov_conf_load(const char *path, char **errors);
struct prov_conf *prov_conf_load_string(const char *name, const char *text,
		    size_t len, char **errors);
void		  prov_conf_free(struct prov_conf *);
const struct prov_node *prov_conf_node(const struct prov_conf *,
		    const char *node);

/*
 * A name by the pattern: {node}, {type} ("vm" or "ct"), {seq} or
 * {seq:0Nd} (N 1..9), {vmid}. Caller frees.
 */
char	*prov_name_format(const char *pattern, const char *node,
	    const char *type, int seq, int vmid);

/* "10.1.0.5" into host order; -1 if not a dotted quad. */
int	 prov_ip_parse(const char *, uint32_t *);
void	 prov_ip_format(uint32_t, char out[16]);

/*
 * What guests' configurations use: every IPv4 address of an `ip=A/N` in
 * netN (containers) or ipconfigN (VMs), every MAC of a netN (hwaddr=, or
 * a VM's MODEL=MAC / macaddr=), upper case. Grows the sets; the
 * configuration is the JSON object of GET .../config.
 */
struct prov_used {
	uint32_t	*ips;
	size_t		 nips;
	char		**macs;		/* "02:00:00:0A:0B:0C" */
	size_t		 nmacs;
	char		**names;	/* guest names (any case) */
	size_t		 nnames;
};
struct json_t;
void	 prov_used_add_config(struct prov_used *, const struct json_t *cfg);
void	 prov_used_add_name(struct prov_used *, const char *name);
int	 prov_used_has_ip(const struct prov_used *, uint32_t);
int	 prov_used_has_mac(const struct prov_used *, const char *mac);
void	 prov_used_release(struct prov_used *);

/*
 * The allocation table (migration in store.c): kind "ip" or "mac", the
 * value, the node, the job that took it (0 for none) and the VMID it is
 * for. A released row stays as history.
 */
/*
 * The lowest address of `r` that is neither in `used` nor live in the
 * table nor the gateway, allocated to job/vmid in the caller's open
 * transaction (BEGIN IMMEDIATE). 0 and *ip, or -1 with *cause (the range
 * is full).
 */
int	 prov_alloc_ip(struct store *, const struct prov_node *,
	    const struct prov_range *, const struct prov_used *,
	    int64_t job_id, int vmid, uint32_t *ip, char **cause);
/*
 * A random MAC with the prefix, different from every MAC in `used` and
 * every live one in the table, allocated like an address; out gets
 * "02:00:00:AB:CD:EF".
 */
int	 prov_alloc_mac(struct store *, const struct prov_conf *,
	    const struct prov_used *, const char *node, int64_t job_id,
	    int vmid, char out[18], char **cause);
/* The first address of `r` prov_alloc_ip() would take, without taking
 * it (for `nextip`); -1 with *cause when the range is full. */
int	 prov_peek_ip(struct store *, const struct prov_node *,
	    const struct prov_range *, const struct prov_used *,
	    uint32_t *ip, char **cause);
/* The table itself: store_prov.h (prov_row_live, prov_row_add, the
 * releases). */

/*
 * Clone, replicate and restore-to by convention (prov_plan.c): a worker
 * makes the plan of a `resolving` job whose built-in has one, before it
 * lets the policy decide: 0 (planned, or nothing to plan), -1 when no
 * plan could be made and the job was failed with why. prov_plan_text()
 * is what the approval request shows (NULL: the job has no plan; caller
 * frees). prov_sweep() (store_prov.h) releases what jobs that ended
 * without running hold.
 */
struct app;
struct catalogue;
/* Does this built-in (clone_to, replicate, restore_to) make a plan
 * first? */
int	 prov_has_plan(const char *builtin);
int	 prov_plan_pending(struct app *, struct store *, int64_t job_id,
	    const struct catalogue *);
char	*prov_plan_text(struct store *, int64_t job_id);

struct pve;
struct pve_guest;

/*
 * The inventory (prov_inventory.c): one YAML file per node in dir, in a
 * stable order (*summary: what was written; caller frees); and the drift
 * between those files and the cluster now (*text for chat, *nchanged
 * guests added, removed or changed). -1 with *cause.
 */
int	 prov_inventory_export(struct pve *, const char *dir, char **summary,
	    char **cause);
int	 prov_inventory_drift(struct pve *, const char *dir, char **text,
	    int *nchanged, char **cause);
/* The digest's line: one when guests changed since the export, else
 * nothing (nothing either without an export or an inventory folder). */
struct buf;
void	 prov_inventory_digest(struct buf *, struct pve *, const char *dir);
/*
 * Every guest and its configuration (GET .../config), what they use
 * added to *u. guests/cfgs may be NULL when not wanted; otherwise the
 * caller frees them (pve_guests_free, prov_configs_free), cfgs[i] being
 * guests[i]'s. -1 with *cause when one cannot be read.
 */
int	 prov_read_used(struct pve *, struct prov_used *u,
	    struct pve_guest **guests, size_t *nguests, struct json_t ***cfgs,
	    char **cause);
void	 prov_configs_free(struct json_t **, size_t n);
const struct prov_range *prov_range_of(const struct prov_node *,
	    const char *kind);

#endif
