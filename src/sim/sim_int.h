/*
 * sim_int.h - what the simulator's files share: the cluster state, the
 * task model, the endpoint table and the parameter checker. Not for use
 * outside src/sim/.
 */
#ifndef PVEBOT_SIM_INT_H
#define PVEBOT_SIM_INT_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "httpd.h"
#include "sim.h"

#define SIM_MAX_NODES		8
#define SIM_MAX_GUESTS		100000	/* generated or cloned, in all */
#define SIM_MAX_SNAPS		32
#define SIM_MAX_STORAGES	32
#define SIM_MAX_BACKUPS		1000
#define SIM_MAX_TASKS		500
#define SIM_MAX_TASK_LINES	2000
#define SIM_MAX_TOKENS		16
#define SIM_MAX_PRIVS		32
#define SIM_MAX_FAULTS		32
#define SIM_MAX_TASKFAILS	16
#define SIM_MAX_CALLS		5000
#define SIM_MAX_VZDUMP		32

struct sim_node {
	char	 name[32];
	int	 online;
	double	 cpu;
	int	 maxcpu;
	int64_t	 mem, maxmem, disk, maxdisk;
	int64_t	 boot_time;
	char	 wol_mac[18];	/* node config `wakeonlan: mac=` */
	/*
	 * A power change under way: the API answers at once, the node
	 * changes at power_at_ms (monotonic), like "(sleep 2; poweroff)&".
	 */
	enum { SIM_POWER_NONE, SIM_POWER_SHUTDOWN, SIM_POWER_REBOOT,
	    SIM_POWER_WAKE } power;
	int64_t	 power_at_ms;
};

struct sim_snap {
	char	 name[64];
	char	 description[128];
	char	 parent[64];
	int64_t	 snaptime;
	int	 vmstate;
};

struct sim_guest {
	int		 vmid;
	int		 lxc;
	char		 name[64];
	char		 node[32];
	int		 running;
	int		 paused;
	int		 template;
	char		 tags[256];
	char		 lock[32];
	char		 description[256];
	int		 onboot;
	char		 startup[64];	/* "order=2,up=30,down=60" or "" */
	int		 protection;
	double		 cpu;
	int		 maxcpu;
	int64_t		 mem, maxmem, disk, maxdisk;
	int64_t		 started;	/* wall time, for uptime */
	char		 storage[32];	/* its disks' storage; "" local-lvm */
	char		 net0[256];	/* "" the default, "-" deleted */
	char		 ipconfig0[192];	/* VMs: cloud-init */
	char		 nameserver[128];
	char		 searchdomain[128];
	struct sim_snap	*snaps;		/* NULL until the first one */
	int		 nsnaps;
	unsigned	 digest_gen;
};

struct sim_storage {
	char	 id[32];
	char	 type[16];	/* plugintype */
	char	 content[64];
	int	 shared;
	int64_t	 disk, maxdisk;	/* shared storage: one pool */
	int64_t	 node_disk[SIM_MAX_NODES];	/* local: per node */
};

struct sim_backup {
	char	 storage[32];
	char	 node[32];	/* "" on shared storage */
	char	 volid[192];
	int	 vmid;
	int64_t	 ctime, size;
	char	 format[16];
	int	 protected;
	/* The backed-up guest's config, for a restore (sim_backup.c). */
	char	 name[64];
	char	 tags[256];
	int	 maxcpu;
	int64_t	 maxmem, maxdisk;
	/* Its network configuration as backed up (sim_prov.c). */
	char	 net0[256];
	char	 ipconfig0[192];
	char	 nameserver[128];
	char	 searchdomain[128];
};

struct sim_logline {
	int	 permille;	/* when it appears, in 1/1000 of the task */
	char	*text;
};

struct sim_task {
	char		 upid[192];
	char		 node[32];
	char		 type[16];
	char		 id[16];
	char		 user[96];
	unsigned	 pid, pstart;
	int64_t		 starttime, endtime;	/* wall seconds */
	int64_t		 start_ms, dur_ms;	/* monotonic */
	int		 running;
	char		*exitstatus;

	/* The script: lines to emit as time passes, then the effect. */
	struct sim_logline *script;
	int		 nscript, next_line;
	char		**log;
	int		 nlog;
	char		*fail;		/* set: the task ends with this error */

	/* What the task does when it ends well. */
	int		 vmid;
	int		 vmids[SIM_MAX_VZDUMP];
	int		 nvmids;
	char		 snapname[64];
	char		 snapdesc[128];
	int		 vmstate;
	char		 target[32];
	char		 storage[32];
	char		 mode[16];
	char		 compress[8];
	int		 newid;
	char		 newname[64];
	int		 flag;		/* online / restart / start */
	int		 locked;	/* we set the guest's lock */
	char		 archive[192];	/* restore: the volid; prune: the
					   prune-backups string */
	int		 unique;	/* restore: new MACs */
};

struct sim_token {
	char	 id[96];	/* user@realm!name */
	char	 secret[128];
	char	 privs[SIM_MAX_PRIVS][32];
	int	 nprivs;
	int	 all;		/* every privilege */
};

enum sim_fault_kind {
	SIM_FAULT_ERROR,
	SIM_FAULT_GARBAGE,
	SIM_FAULT_DROP,
	SIM_FAULT_SLOW,
	SIM_FAULT_UNAUTHORIZED,
	SIM_FAULT_LOST,		/* done, but the reply is lost (or a proxy
				 * answers `status` instead) */
};

struct sim_fault {
	enum sim_fault_kind kind;
	char	 match[128];
	int	 status;
	char	 message[128];
	int	 delay_ms;
	int	 count;		/* remaining; 0 = unlimited */
};

struct sim_taskfail {
	char	 type[16];
	char	 message[192];
};

struct sim {
	pthread_mutex_t		 lock;
	struct httpd		*httpd;
	int			 task_ms;
	int			 quorate;
	unsigned		 next_pid;

	struct sim_node		 nodes[SIM_MAX_NODES];
	int			 nnodes;
	struct sim_guest	*guests;
	int			 nguests;
	int			 guestcap;
	int			*guest_slots;	/* vmid hash: index + 1 */
	size_t			 nslots;	/* a power of two */
	struct sim_storage	 storages[SIM_MAX_STORAGES];
	int			 nstorages;
	struct sim_backup	*backups;
	int			 nbackups;
	struct sim_task		*tasks[SIM_MAX_TASKS];
	int			 ntasks;
	struct sim_token	 tokens[SIM_MAX_TOKENS];
	int			 ntokens;
	struct sim_fault	 faults[SIM_MAX_FAULTS];
	int			 nfaults;
	struct sim_taskfail	 taskfails[SIM_MAX_TASKFAILS];
	int			 ntaskfails;
	json_t			*calls;
	struct sim_health	*health;	/* sim_cluster.c, sim_nodes.c */
};

/* A request as the endpoint handlers see it, parameters checked. */
struct sim_call {
	struct sim		*sim;
	const char		*method;
	const char		*token_user;	/* user@realm!token */
	const struct sim_token	*token;
	/* Path captures (empty when the template has none). */
	char			 node[64];
	char			 vmtype[8];	/* "qemu" or "lxc" */
	int			 vmid;
	char			 vmid_raw[32];
	char			 snapname[64];
	char			 storage[64];
	char			 upid[256];
	char			 pathid[128];	/* {id}, {name}, ... */
	struct httpd_kv		*params;
	size_t			 nparams;
};

/* A handler's answer: data (stolen) or an error. */
struct sim_reply {
	int		 status;
	char		*message;	/* error text without "\n" */
	json_t		*data;
	json_t		*errors;	/* 400: {"param": "why"} */
	json_t		*extra;		/* extra top-level keys ("total") */
	char		*raw;		/* data as JSON text, instead of
					   data: big lists skip jansson */
};

/* sim_schema.c */
enum sim_ptype { PT_BOOL, PT_INT, PT_NUM, PT_STR };
enum sim_fmt {
	F_NONE, F_NODE, F_CONFIGID, F_STORAGEID, F_VMIDLIST, F_DNSNAME,
	F_TAGLIST, F_CONFIGIDLIST, F_CONTENT, F_STATUSLIST, F_UPID,
	F_STARTUP,
};
struct sim_param {
	const char	*name;
	enum sim_ptype	 type;
	int		 optional;
	int		 in_path;
	enum sim_fmt	 fmt;
	int		 has_min, has_max;
	long long	 min, max;
	int		 maxlen;
	const char	*enumv;		/* "a,b,c" */
};
struct sim_route {
	const char		*method;
	const char		*path;
	void			(*fn)(struct sim_call *, struct sim_reply *);
	const struct sim_param	*params;
};
extern const struct sim_route sim_routes[];
/*
 * 1 when the route is answered by the node that receives the request,
 * not proxied to {node} (no "proxyto" in the schema), so it works while
 * {node} is offline (wakeonlan).
 */
int	sim_route_local(const struct sim_route *);
extern const size_t sim_nroutes;

int	sim_check_value(const struct sim_param *, const char *value,
	    char **why);
/*
 * A `startup` value as pve_parse_startup_order() reads it:
 * "[[order=]N][,up=N][,down=N]"; 0 (order and down -1 when unset), or
 * -1 when Proxmox would refuse it.
 */
int	sim_startup_parse(const char *, int *order, int *down);
int	sim_check_params(const struct sim_route *, const struct sim_call *,
	    json_t *errors);
const char *sim_param(const struct sim_call *, const char *name);
int	sim_param_bool(const struct sim_call *, const char *name, int def);
long long sim_param_int(const struct sim_call *, const char *name,
	    long long def);
const struct sim_route *sim_route_match(const char *method,
	    const char *path, struct sim_call *, int *path_known);

/* sim_state.c */
void	sim_state_init(struct sim *);
void	sim_state_free(struct sim *);
void	sim_tick(struct sim *);
struct sim_node *sim_node_find(struct sim *, const char *);
struct sim_guest *sim_guest_find(struct sim *, int vmid);
/*
 * A new guest with that vmid, zeroed but for vmid; NULL when the
 * simulator is full or the vmid is taken. Moves the guest array: any
 * struct sim_guest pointer held across this call must be looked up again.
 */
struct sim_guest *sim_guest_add(struct sim *, int vmid);
/* Adds generated guests until the cluster holds `total`; 0 or -1. */
int	sim_guests_generate(struct sim *, int total, char **cause);
int	sim_snap_add(struct sim_guest *, struct sim_snap **out);
/* A storage's used bytes as node n sees it (shared: the one pool). */
int64_t	sim_storage_used(const struct sim_storage *, int node_index);
void	sim_storage_add_used(struct sim_storage *, int node_index,
	    int64_t bytes);
/* Sets the used bytes on one node, or on every node (node_index -1). */
void	sim_storage_set_used(struct sim_storage *, int node_index,
	    int64_t bytes);
int	sim_node_index(struct sim *, const char *name);
struct sim_storage *sim_storage_find(struct sim *, const char *);
struct sim_task *sim_task_find(struct sim *, const char *upid);
/* The guest's startup order, or -1 when its config sets none. */
int	sim_startup_order(const struct sim_guest *, int *down);
/* The node that answers requests: the first one online, or NULL. */
struct sim_node *sim_local_node(struct sim *);
struct sim_task *sim_task_new(struct sim *, const char *node,
	    const char *type, const char *id, const char *user);
void	sim_task_script(struct sim *, struct sim_task *);
void	sim_task_stop(struct sim *, struct sim_task *, const char *why);
void	sim_add_backup(struct sim *, const char *storage, const char *node,
	    int vmid, int lxc, int64_t when, int64_t size,
	    const char *compress);
const char *sim_guest_kind(const struct sim_guest *);	/* "VM"/"CT" */
int	sim_token_has(const struct sim_token *, const char *priv);

/* sim_cluster.c: the health endpoints (with sim_nodes.c) */
struct sim_health;
extern const struct sim_route sim_health_routes[];
extern const size_t sim_health_nroutes;
void	sim_health_init(struct sim *);
void	sim_health_free(struct sim *);
int	sim_health_admin(struct sim *, json_t *, char **cause);
/* sim_backup.c: prune and restore */
extern const struct sim_route sim_backup_routes[];
extern const size_t sim_backup_nroutes;
int	sim_backup_task(const struct sim_task *);
char	*sim_backup_task_apply(struct sim *, struct sim_task *);
void	sim_backup_script(struct sim *, struct sim_task *);
int	sim_backup_admin(struct sim *, json_t *, char **cause);
/* A log line of a task now / a line of its script (sim_state.c). */
void	sim_task_log(struct sim_task *, const char *);
void	sim_task_script_add(struct sim_task *, int permille,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* sim_prov.c: network configuration, MACs on clone, /cluster/nextid */
extern const struct sim_route sim_prov_routes[];
extern const size_t sim_prov_nroutes;
int	sim_prov_config_check(struct sim_call *, struct sim_reply *,
	    const struct sim_guest *);
void	sim_prov_config_apply(struct sim_call *, struct sim_guest *,
	    int (*listed)(const char *list, const char *item),
	    const char *del);
void	sim_prov_config_get(const struct sim_guest *, json_t *);
void	sim_prov_clone(struct sim_guest *ng, const struct sim_guest *src);
/* A backup keeps the guest's network configuration; a restore brings it
 * back, with new MACs when unique. */
void	sim_prov_backup(struct sim_backup *, const struct sim_guest *);
void	sim_prov_restore(struct sim_guest *, const struct sim_backup *,
	    int unique);
/* A clone to another node: refused unless the disks are shared. */
int	sim_prov_clone_check(struct sim_call *, struct sim_reply *,
	    const struct sim_guest *, const char *target);
/* POST /_sim/prov: {"storage":ID,"type":T,"content":C} adds a shared
 * storage; {"vmid":N,"storage":ID} puts a guest's disks on one. */
int	sim_prov_admin(struct sim *, json_t *, char **cause);
const char *sim_prov_storage(const struct sim_guest *);
/* Every route: sim_routes, sim_health_routes, sim_backup_routes,
 * sim_prov_routes; NULL past the end. */
const struct sim_route *sim_route_at(size_t);

/* sim_api.c: reply helpers */
void	sim_reply_error(struct sim_reply *, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
