/*
 * t_sim.h - `pvebot run` on the console against the Proxmox simulator
 * running in the test's own process (so the test injects faults and
 * reads the calls it received), with real SQLite and a copy of the
 * default policy the test may change. Shared by the end-to-end tests of
 * consent, node power and schedules.
 */
#ifndef T_SIM_H
#define T_SIM_H

#include "sim.h"
#include "t.h"

struct t_sim {
	struct sim	*sim;
	char		*conf;		/* bot.conf */
	char		*db;
	char		*pols;		/* policies/ copied */
	char		*sched;		/* schedules.yaml (T_SIM_SCHEDULES) */
};

#define T_SIM_SCHEDULES	0x1	/* bot.conf names e->sched */

/*
 * Starts the simulator (tasks take task_ms) and writes bot.conf: console
 * user bob, two workers, no monitor. `proxmox` and `workers` are more
 * keys for those sections ("  index_max_age: 2s\n"), or NULL. Aborts on
 * failure.
 */
void	 t_sim_start(struct t_sim *, int task_ms, int flags,
	    const char *proxmox, const char *workers);
void	 t_sim_stop(struct t_sim *);
/* A simulator admin call (POST /_sim/WHAT); a failure fails the case. */
void	 t_sim_admin(struct t_sim *, const char *what, const char *json);
/* Calls the simulator received whose method and path glob match. */
int	 t_sim_count_calls(struct t_sim *, const char *method,
	    const char *path_glob);
/* The simulator's calls of method, as "path params" lines, in order. */
char	*t_sim_calls_of(struct sim *, const char *method);
/* The status of a node or guest in /cluster/resources, by its id. */
char	*t_sim_resource_status(struct t_sim *, const char *id);
/* Waits until that status is `want`; 1 when it got there. */
int	 t_sim_wait_status(struct t_sim *, const char *id, const char *want,
	    int timeout_ms);
/* Waits until job id is in state want; 1 when it got there. */
int	 t_sim_wait_job(struct t_sim *, int id, const char *want,
	    int timeout_ms);
/* Column `col` of job `id` in the database at `db` (caller frees). */
char	*t_job_text(const char *db, int id, const char *col);
/* pvebot running on the console, for a conversation over time. */
void	 t_sim_daemon(struct t_sim *, struct t_proc *);
/* Writes text (give its newline) to the daemon's console. */
void	 t_type(struct t_proc *, const char *line);
/* How many times needle stands in hay (NULL: 0). */
int	 t_count(const char *hay, const char *needle);

#endif
