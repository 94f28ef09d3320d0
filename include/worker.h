/*
 * worker.h - what the workers ask of the monitor part (local sensor
 * readings from libsensors, the digest text), and the worker's built-in
 * actions the builtin table names.
 */
#ifndef PVEBOT_WORKER_H
#define PVEBOT_WORKER_H

struct app;
struct store;

/* Sensors of the machine pvebot runs on, as chat text; caller frees. */
char	*worker_local_sensors(struct app *, char **cause);
/* Sensors of the demo's sensor host (app.h: sensor_feed, which must be
 * set), as chat text; caller frees. */
char	*worker_feed_sensors(struct app *, char **cause);
/* The daily digest, built now; caller frees. */
char	*worker_digest(struct app *, struct store *, char **cause);
/*
 * `shutdown-node`: the built-in action the table in builtin.c names
 * (exec/worker_node.c); it records its steps and finishes the job.
 */
struct cmd_call;
struct run;
void	 worker_shutdown_node(struct run *, const struct cmd_call *);
/*
 * `prune` (its dry run is the plan the approver sees) and `restore`
 * (exec/worker_backup.c).
 */
int	 worker_prune_plan(struct app *, const struct cmd_call *,
	    char **plan, char **cause);
void	 worker_prune(struct run *, const struct cmd_call *);
void	 worker_restore(struct run *, const struct cmd_call *);

#endif
