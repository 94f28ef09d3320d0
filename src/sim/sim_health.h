/*
 * sim_health.h - what the simulator's health files share: the state of
 * the things a cluster loses quietly (disks and their SMART data, ZFS
 * pools, certificates, packages and kernels per node; backup jobs,
 * replication jobs and Ceph for the cluster) and the handlers that serve
 * it. sim_nodes.c holds the per-node part, sim_cluster.c the cluster
 * part, the route table and the admin requests. Not for use outside
 * src/sim/.
 */
#ifndef PVEBOT_SIM_HEALTH_H
#define PVEBOT_SIM_HEALTH_H

#include <stdint.h>

#include <jansson.h>

#include "sim_int.h"

#define SIMH_MAX_NODES		(SIM_MAX_NODES * 2)
#define SIMH_MAX_DISKS		8
#define SIMH_MAX_POOLS		4
#define SIMH_MAX_VDEVS		6
#define SIMH_MAX_CERTS		4
#define SIMH_MAX_PKGS		64
#define SIMH_MAX_KERNELS	4
#define SIMH_MAX_REPL		32
#define SIMH_MAX_JOBS		8
#define SIMH_MAX_CHECKS		8

struct simh_disk {
	char		 devpath[64];	/* /dev/sda, /dev/nvme0n1 */
	char		 model[64];
	char		 serial[64];
	char		 type[8];	/* hdd ssd nvme */
	char		 health[24];	/* PASSED, FAILED, ... */
	char		 used[24];	/* ZFS, LVM, partitions, "" */
	int		 wearout;	/* life left in percent, -1: N/A */
	int64_t		 size;
	long long	 reallocated, pending, uncorrectable, hours;
	int		 rpm;
};

struct simh_vdev {
	char	 name[128];	/* /dev/disk/by-id/ata-...-part1 */
	char	 state[16];	/* ONLINE DEGRADED FAULTED UNAVAIL ... */
	char	 msg[96];
	int	 read, write, cksum;
};

struct simh_pool {
	char		 name[64];
	char		 layout[16];	/* "mirror-0", "raidz1-0", "" */
	struct simh_vdev dev[SIMH_MAX_VDEVS];
	int		 ndev;
	int64_t		 size, alloc;
	int		 frag;
};

struct simh_cert {
	char	 filename[64];
	char	 subject[128];
	char	 issuer[128];
	char	 fingerprint[96];
	char	 san[64];
	int64_t	 notbefore, notafter;
};

struct simh_pkg {
	char	 name[64];
	char	 version[64];
	char	 old[64];
	char	 origin[16];	/* Debian, Proxmox */
	char	 section[16];
	char	 dist[32];	/* trixie, trixie-security */
};

struct simh_node {
	char		 name[32];
	struct simh_disk disks[SIMH_MAX_DISKS];
	int		 ndisks;
	struct simh_pool pools[SIMH_MAX_POOLS];
	int		 npools;
	struct simh_cert certs[SIMH_MAX_CERTS];
	int		 ncerts;
	struct simh_pkg	 pkgs[SIMH_MAX_PKGS];
	int		 npkgs;
	char		 running[32];			/* 6.17.2-1-pve */
	char		 kernels[SIMH_MAX_KERNELS][32];	/* installed */
	int		 nkernels;
};

struct simh_repl {
	char	 id[24];	/* 101-0 */
	int	 guest, jobnum;
	char	 source[32], target[32];
	char	 schedule[32];
	int	 disable;
	int	 fail_count;
	char	 error[160];
	int64_t	 last_sync, last_try;
	double	 duration;
};

struct simh_job {
	char	 id[40];
	int	 all;
	char	 vmid[256];	/* "101,102" when not all */
	char	 exclude[256];
	int	 enabled;
};

struct simh_check {
	char	 code[32];	/* OSD_DOWN */
	char	 severity[16];	/* HEALTH_WARN, HEALTH_ERR */
	char	 message[128];
};

struct sim_health {
	struct simh_node	 nodes[SIMH_MAX_NODES];
	int			 nnodes;
	struct simh_repl	 repl[SIMH_MAX_REPL];
	int			 nrepl;
	struct simh_job		 jobs[SIMH_MAX_JOBS];
	int			 njobs;
	int			 ceph;		/* Ceph installed */
	struct simh_check	 checks[SIMH_MAX_CHECKS];
	int			 nchecks;
};

/* sim_nodes.c */
struct simh_node *simh_node(struct sim *, const char *name);
int	simh_node_admin(struct sim *, json_t *, char **cause);
void	simh_api_disks(struct sim_call *, struct sim_reply *);
void	simh_api_smart(struct sim_call *, struct sim_reply *);
void	simh_api_zfs(struct sim_call *, struct sim_reply *);
void	simh_api_zfs_detail(struct sim_call *, struct sim_reply *);
void	simh_api_certs(struct sim_call *, struct sim_reply *);
void	simh_api_apt_update(struct sim_call *, struct sim_reply *);
void	simh_api_apt_versions(struct sim_call *, struct sim_reply *);
void	simh_api_apt_changelog(struct sim_call *, struct sim_reply *);

/* sim_cluster.c: shared checks */
int	simh_need(struct sim_call *, struct sim_reply *, const char *path,
	    const char *priv);
struct sim_node *simh_node_get(struct sim_call *, struct sim_reply *);
void	simh_param_error(struct sim_reply *, const char *param,
	    const char *why);

#endif
