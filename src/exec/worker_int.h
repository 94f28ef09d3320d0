/*
 * worker_int.h - what the worker's files share: the running job and the
 * steps a multi-step action (worker_node.c) is made of. Not for use
 * outside src/exec/.
 */
#ifndef PVEBOT_WORKER_INT_H
#define PVEBOT_WORKER_INT_H

#include <stdint.h>

#include "jobs.h"
#include "util.h"

struct app;
struct chat_button;
struct cmd_call;
struct guest_view;
struct pve_param;
struct store;
struct workers;

/* What one running job carries while a worker follows it. */
struct run {
	struct workers		*w;
	struct app		*app;
	struct store		*store;
	struct job		*job;
	char			*title;
	int64_t			 started_ms;
	int64_t			 last_edit_ms;
	int			 percent;
	int			 shown_percent;
	int			 read;		/* a read: show just the answer */
	int			 reattached;	/* followed again after a restart */
	const struct guest_view	*view;		/* guests at dispatch, or NULL */
	char			*context;	/* "approved by ..." or NULL */
	struct buf		 tail;		/* last task log lines */
};

/* worker.c */
void	run_post(struct run *, const char *text,
	    const struct chat_button *, size_t nbuttons);
void	run_finish(struct run *, enum job_state, const char *result,
	    const char *error, const struct chat_button *, size_t nbuttons);
enum job_state follow_task(struct run *, const char *upid, char **error);
int	run_step(struct run *, const char *name, const char *method,
	    const char *path, const struct pve_param *, size_t n,
	    const char *node, const char *type, int vmid, int task,
	    int64_t *step_id, char **upid, char **cause);
const char *task_type(const char *action, const char *guest_type);

/*
 * worker_backup.c: a restore of one vzdump archive, as a step of the
 * running job. `restore` fills it from the command; a restore as a new
 * guest (restore-to, src/prov/prov_plan.c) adds a node and parameters
 * such as name= or hostname= of its own, and goes on after it
 * (keep_open). Returns 0 when the guest was restored (the job is
 * finished unless keep_open), -1 when the job was finished and nothing
 * was restored (refused, not accepted, the task failed), 1 when the
 * job was finished with an unknown outcome or pvebot is stopping (the
 * restart follows the task).
 */
#define RESTORE_EXTRA_MAX	8
struct restore_spec {
	const char		*volid;		/* STORAGE:backup/vzdump-... */
	const char		*node;		/* NULL: chosen (see the file) */
	int			 vmid;		/* 0: the archive's own */
	const char		*storage;	/* target storage, or NULL */
	int			 force;		/* may overwrite a stopped
						   guest of the same kind */
	const struct pve_param	*extra;		/* more POST parameters */
	size_t			 nextra;
	int			 keep_open;	/* restored: the caller goes on */
};
int	restore_guest(struct run *, const struct restore_spec *);
/*
 * "STORAGE:backup/vzdump-(qemu|lxc)-VMID-..." -> its storage, kind
 * (*lxc) and original VMID; -1 when it is not a vzdump archive's name.
 */
int	restore_archive_parse(const char *volid, char *storage, size_t slen,
	    int *lxc, int *vmid);
/* Does node list volid (of orig_vmid) on storage? 1 yes, 0 no, -1 with
 * *cause when it cannot be told. */
struct pve;
int	restore_archive_visible(struct pve *, const char *node,
	    const char *storage, const char *volid, int orig_vmid,
	    char **cause);

#endif
