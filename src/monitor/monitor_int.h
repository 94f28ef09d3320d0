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
#include "monitor.h"
#include "sensors.h"

struct app;
struct conf;
struct store;
struct connector;

/* One measured value of one target in one cycle. */
struct mon_sample {
	char	*metric;	/* node.cpu, guest.memory, ... */
	char	*target;	/* "node:pve1", "guest:101", "cluster", ... */
	double	 value;
	char	*kind;		/* node guest storage cluster sensor */
	char	*node;		/* node or sensor host's node */
	char	*name;		/* guest name, storage id, chip/label */
	char	*tags;
	int	 vmid;
	int	 backup_lock;	/* the guest is under a backup lock */
	char	*summary;	/* "pve1: CPU 95%" */
};

struct mon_samples {
	struct mon_sample	*v;
	size_t			 n, size;
	int			 resources_ok;	/* /cluster/resources read */
	int			 status_ok;	/* /cluster/status read */
	int			 backups_ok;	/* backup ages known */
	/* Targets that exist but cannot be measured now (a guest or a
	 * storage of an offline node, the offline node itself): their
	 * alerts are neither resolved nor fired. */
	char			**unknown;
	size_t			 nunknown;
};
void	mon_samples_unknown(struct mon_samples *, const char *target);
int	mon_samples_is_unknown(const struct mon_samples *, const char *);

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

	struct mon_backup	*backups;
	size_t			 nbackups;
	int64_t			 backups_at;	/* 0: never read */

	struct mon_series	*series;
	size_t			 nseries;
	int64_t			 pruned_at;
	int64_t			 first_cycle;	/* kv monitor.first_cycle */
};

/* monitor_poll.c */
void	mon_samples_free(struct mon_samples *);
struct mon_sample *mon_sample_add(struct mon_samples *, const char *metric,
	    const char *kind, const char *target, double value);
int	mon_poll(struct monitor *, int64_t now, struct mon_samples *);
/* Newest backup per guest from every backup storage; -1 when one could
 * not be listed. */
struct pve;
int	mon_read_backups(struct pve *, const json_t *resources,
	    struct mon_backup **, size_t *);
void	mon_sample_summary(struct mon_sample *);
struct mon_host *mon_host_get(struct monitor *, const char *host);

/* monitor_digest.c */
void	mon_series_record(struct monitor *, const struct mon_samples *,
	    int64_t now);
void	mon_digest_tick(struct monitor *, int64_t now);

#endif
