/*
 * monitor_int.h - what the files of monitor/ share: the monitor object,
 * one cycle's measurements, and the helpers between poll, evaluation and
 * digest.
 */
#ifndef PVEBOT_MONITOR_INT_H
#define PVEBOT_MONITOR_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "exec_ssh.h"
#include "pve_resources.h"
#include "monitor.h"
#include "sensors.h"

struct app;
struct conf;
struct store;
struct connector;

/*
 * One measured value of one target in one cycle. metric and kind are
 * string constants, never freed. A guest's readings from
 * /cluster/resources borrow target, node, name and tags from the
 * samples' own blocks (`borrowed`): 10,000 guests make 40,000 readings
 * a cycle, and a copy of each string of each would cost more than the
 * rules that read them.
 */
struct mon_sample {
	const char *metric;	/* node.cpu, guest.memory, ... */
	char	*target;	/* "node:pve1", "guest:101", "cluster", ... */
	double	 value;
	const char *kind;	/* node guest storage cluster sensor */
	char	*node;		/* node or sensor host's node */
	char	*name;		/* guest name, storage id, chip/label */
	char	*tags;
	int	 vmid;
	int	 backup_lock;	/* the guest is under a backup lock */
	int	 no_new;	/* keeps an alert going (or ends it), never
				 * opens one */
	int	 borrowed;	/* target, node, name, tags not owned */
	char	*summary;	/* "pve1: CPU 95%" */
};

struct mon_samples {
	struct mon_sample	*v;
	size_t			 n, size;
	int			 resources_ok;	/* /cluster/resources read */
	int			 status_ok;	/* /cluster/status read */
	int			 backups_ok;	/* backup ages known */
	int			 coverage_ok;	/* not-backed-up list read */
	/* Targets that exist but cannot be measured now (a guest or a
	 * storage of an offline node, the offline node itself): their
	 * alerts are neither resolved nor fired, and go `unknown`. */
	char			**unknown;
	size_t			 nunknown;
	/* Offline nodes: every target on them is unknown. */
	char			**offline;
	size_t			 noffline;
	/* Indexes of v sorted by metric (then by order of addition). */
	size_t			*order;
	/* The cycle's /cluster/resources: borrowed strings point into
	 * it and into gtargets ("guest:101" of each guest). */
	struct pve_resources	 res;
	char			*gtargets;
};
void	mon_samples_unknown(struct mon_samples *, const char *target);
int	mon_samples_is_unknown(const struct mon_samples *, const char *);
void	mon_samples_node_offline(struct mon_samples *, const char *node);
int	mon_samples_node_unknown(const struct mon_samples *, const char *);
/* Sorts `order`; then the readings of one metric are order[*lo..*hi). */
void	mon_samples_sort(struct mon_samples *);
void	mon_samples_metric(const struct mon_samples *, const char *metric,
	    size_t *lo, size_t *hi);

/* Chip name of a GPU read with nvidia-smi: "nvidia-gpu0", "nvidia-gpu1". */
#define MON_GPU_CHIP	"nvidia-gpu"

/* Sensors of one host: local ("local") or an SSH host. */
struct mon_host {
	char			*host;
	char			*node;		/* Proxmox node it maps to */
	struct sensors_seen	*seen;
	struct sensor_list	 list;
	int			 have;		/* list holds fresh readings */
	int			 ok;		/* read this cycle */
	/* GPUs read with nvidia-smi (monitor.gpu_hosts). */
	struct gpu_list		 gpus;
	int			 gpu_have;	/* gpus holds fresh readings */
	int			 gpu_ok;	/* nvidia-smi read this cycle */
	int			 gpu_failing;	/* failure logged, not since read */
};

/* Newest backup per guest. */
struct mon_backup {
	int	 vmid;
	int64_t	 ctime;
};

/* One kind's read on its own schedule: when it was last tried, and
 * whether that worked (its readings count only then). */
struct mon_read {
	int64_t	 at;		/* 0: never tried */
	int	 ok;
	int	 failing;	/* failure logged, not since read */
};

struct mon_disk {
	char	*devpath;	/* /dev/sdb */
	char	*model;
	char	*serial;
	char	*health;	/* PASSED, FAILED!, OK, UNKNOWN */
	int	 wear_used;	/* percent of rated life used, -1 unknown */
	int64_t	 sectors;	/* reallocated + pending + uncorrectable (or
				 * NVMe media errors), -1 unknown */
	int64_t	 rising;	/* gained within disks.trend_window */
	int64_t	 realloc, pending;
};

struct mon_pool {
	char	*name;
	char	*health;	/* ONLINE DEGRADED FAULTED ... */
	char	*fault;		/* "sdc FAULTED (too many errors)", NULL */
};

struct mon_cert {
	char	*file;		/* pveproxy-ssl.pem */
	char	*subject;	/* CN=pve1.example.org */
	int64_t	 notafter;
};

struct mon_repl {
	char	*id;		/* 101-0 */
	char	*target;
	char	*error;
	int	 guest;
	int	 fail_count;
	int	 disabled;
	int64_t	 last_sync;	/* 0: never */
};

/* A vzdump that failed for a guest. */
struct mon_failed {
	int	 vmid;
	char	*why;
	int64_t	 at;		/* the task's start */
};

struct mon_pkg {
	char	*name;
	char	*version;
};

/* What one node reports about itself (monitor_health.c and friends). */
struct mon_node {
	char			*name;
	int			 online;
	struct mon_read		 disks_read, zfs_read, repl_read,
				 certs_read, updates_read, kernel_read,
				 tasks_read;
	struct mon_disk		*disks;
	size_t			 ndisks;
	struct mon_pool		*pools;
	size_t			 npools;
	struct mon_cert		*certs;
	size_t			 ncerts;
	struct mon_repl		*repl;
	size_t			 nrepl;
	struct mon_pkg		*pkgs;		/* pending updates */
	size_t			 npkgs;
	char			*running;	/* kernel release */
	char			*installed;	/* newest installed */
	struct mon_failed	*failed;	/* vzdump failures in window */
	size_t			 nfailed;
	int			 job_failed;	/* newest vzdump failed for
						 * no guest it named */
	char			*job_why;
	char			*job_upid;	/* that task, for `task UPID` */
	/* Failed vzdump tasks already read: UPID, guests, reason. */
	struct mon_task_seen	*seen;
	size_t			 nseen;
};

struct mon_task_seen {
	char	*upid;
	int64_t	 start;
	int	*vmids;		/* guests it failed for; none: the job */
	size_t	 nvmids;
	char	*why;
};

/* A package version and whether its changelog says security. */
struct mon_changelog {
	char	*key;		/* name=version */
	int	 security;	/* 1, 0, or -1 when it could not be read */
};

struct mon_health {
	struct mon_node		*nodes;
	size_t			 nnodes;
	struct mon_read		 coverage_read, ceph_read;
	int			*not_backed_up;	/* VMIDs in no job */
	size_t			 nnot_backed_up;
	int			 ceph;		/* Ceph is installed */
	int			 ceph_level;	/* 0 OK, 1 WARN, 2 ERR */
	char			*ceph_checks;	/* "OSD_DOWN 1 osds down" */
	struct mon_changelog	*changelogs;
	size_t			 nchangelogs;
	/* Cluster members ever seen (kv monitor.members), with the time
	 * each was first missed (0 while listed). */
	char			**members;
	int64_t			*gone_since;
	size_t			 nmembers;
	int			 members_loaded;
	char			*snapshot;	/* kv monitor.health as written */
};

/* A series the digest draws (node CPU, temperature high), one value per
 * bucket in table metric_samples. */
struct mon_series {
	char	*name;		/* "node.cpu:pve1", "temp.max:pve1" */
	int64_t	 bucket;
	double	 sum, max;
	int	 n;
	int	 use_max;
};

struct monitor {
	struct app		*app;
	const struct conf	*conf;
	const struct conf	*pending;	/* a reload's, under lock */
	struct store		*store;

	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 started;
	int			 stopping;

	/* The rules in force: configured ones plus built-in events. */
	struct conf_rule	*rules;
	size_t			 nrules;

	struct mon_host		*hosts;
	size_t			 nhosts;

	/* Guests seen running by the previous poll (kv monitor.running). */
	int			*running;
	size_t			 nrunning;
	int			 have_running;
	int64_t			 last_poll;
	/* Guests with an open guest.stopped_unexpectedly alert, sorted;
	 * read once a cycle when a stopped guest asks. */
	int			*stop_alerts;
	size_t			 nstop_alerts;
	int			 stop_alerts_read;

	struct mon_backup	*backups;
	size_t			 nbackups;
	int64_t			 backups_at;	/* 0: never read */

	struct mon_series	*series;
	size_t			 nseries;
	int64_t			 pruned_at;
	int64_t			 first_cycle;	/* kv monitor.first_cycle */

	struct mon_health	 health;

	/* Idle shutdown, expected running, snapshot retention. */
	struct mon_ops		*ops;
};

/* A guest record's name as messages show it. */
#define RES_NAME(g)	((g)->name != NULL ? (g)->name : "?")

/* monitor_poll.c */
void	mon_samples_free(struct mon_samples *);
struct mon_sample *mon_sample_add(struct mon_samples *, const char *metric,
	    const char *kind, const char *target, double value);
int	mon_poll(struct monitor *, int64_t now, struct mon_samples *);
/* Newest backup per guest from every backup storage; -1 when one could
 * not be listed. */
struct pve;
int	mon_read_backups(struct pve *, const struct pve_resources *resources,
	    struct mon_backup **, size_t *);
void	mon_sample_summary(struct mon_sample *);
char	*mon_sample_text(const struct mon_sample *);
struct mon_host *mon_host_get(struct monitor *, const char *host);

/* monitor_health.c: the kinds read on their own schedules */
struct mon_node *mon_node_get(struct monitor *, const char *name);
int	mon_due(const struct mon_read *, int64_t interval, int64_t now);
void	mon_read_done(struct mon_read *, int ok, int64_t now,
	    const char *what, const char *node, const char *cause);
void	mon_health_poll(struct monitor *, int64_t now,
	    const struct pve_resources *, const json_t *status,
	    struct mon_samples *);
void	mon_health_free(struct monitor *);
struct mon_sample *mon_sample_named(struct mon_samples *, const char *metric,
	    const char *kind, const char *target, const char *node,
	    const char *name, double value);
/* monitor_disks.c: disks (SMART), ZFS pools, Ceph */
void	mon_poll_disks(struct monitor *, struct mon_node *, int64_t now);
void	mon_poll_zfs(struct monitor *, struct mon_node *, int64_t now);
void	mon_poll_ceph(struct monitor *, int64_t now);
void	mon_samples_disks(struct monitor *, struct mon_node *,
	    struct mon_samples *);
void	mon_samples_ceph(struct monitor *, struct mon_samples *);
void	mon_disks_release(struct mon_node *);
json_t	*mon_snapshot_disks(const struct mon_node *);
/* monitor_nodes.c: certificates, updates and kernels, replication */
void	mon_poll_certs(struct monitor *, struct mon_node *, int64_t now);
void	mon_poll_updates(struct monitor *, struct mon_node *, int64_t now);
void	mon_poll_replication(struct monitor *, struct mon_node *,
	    int64_t now);
void	mon_classify_updates(struct monitor *);
void	mon_samples_nodeinfo(struct monitor *, struct mon_node *,
	    int64_t now, const struct pve_resources *resources, struct mon_samples *);
void	mon_nodeinfo_release(struct mon_node *);
json_t	*mon_snapshot_nodeinfo(struct monitor *, const struct mon_node *);
/* monitor_backup.c: backup coverage and failed backups */
void	mon_poll_coverage(struct monitor *, int64_t now);
void	mon_poll_tasks(struct monitor *, struct mon_node *, int64_t now);
void	mon_samples_backups(struct monitor *, const struct pve_resources *resources,
	    struct mon_samples *);
void	mon_backups_release(struct mon_node *);
json_t	*mon_snapshot_backups(struct monitor *, const struct pve_resources *resources);
int	mon_guest_ignored(const struct conf_monitor *,
	    const struct pve_res *guest);

/* monitor_ops.c: operations pvebot starts on its own */
struct mon_ops;
void	mon_ops_poll(struct monitor *, int64_t now, const struct pve_resources *resources);
/* Before the previous poll's running set is replaced. */
void	mon_expected_guest(struct monitor *, const struct pve_res *guest,
	    int64_t now, struct mon_samples *);
void	mon_ops_free(struct monitor *);

/* monitor_digest.c */
void	mon_series_record(struct monitor *, const struct mon_samples *,
	    int64_t now);
void	mon_digest_tick(struct monitor *, int64_t now);

#endif
