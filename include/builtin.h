/*
 * builtin.h - the built-in commands: the one table of the `builtin:`
 * names the command files (commands/NAME.yaml) may use, and who answers
 * each.
 *
 * A built-in is answered either by the router (it touches only pvebot's
 * own state: help, whoami, approve, silence, ...), by a worker as a
 * read job (it asks Proxmox or a node: status, guests, sensors, ...) or
 * by a worker as an action of several steps (shutdown-node, prune,
 * restore); an action may have a plan that a worker reads before the
 * approval is asked for (prune's dry run).
 * `pvebot check` and the daemon's loading refuse a command whose
 * builtin: name is not in this table; the router and the workers look
 * their handlers up in it, so a name cannot be checked in one place and
 * dispatched in another.
 */
#ifndef PVEBOT_BUILTIN_H
#define PVEBOT_BUILTIN_H

#include <stddef.h>

struct app;
struct buf;
struct catalogue;
struct cmd_call;
struct route;
struct run;
struct store;

/* What a worker lends a read built-in. */
struct builtin_env {
	struct app	*app;
	struct store	*store;		/* the worker's connection */
	/*
	 * Runs argv on an SSH host (root commands with "sudo -n" where the
	 * host wants it) and formats standard output with the named parser;
	 * NULL with *cause on failure.
	 */
	char		*(*ssh)(void *arg, const char *host, char *const *argv,
			    size_t argc, const char *parser, int needs_root,
			    char **cause);
	void		*ssh_arg;
};

struct builtin {
	const char	*name;
	/* Answered by the router inside its transaction; NULL otherwise. */
	int		(*local)(struct route *, const struct cmd_call *,
			    struct buf *out);
	/* Run by a worker: the text to show, or NULL with *cause. */
	char		*(*job)(const struct builtin_env *,
			    const struct cmd_call *, char **cause);
	/*
	 * A worker's action of several steps (shutdown-node): it records
	 * each step and finishes the job itself. NULL otherwise.
	 */
	void		(*op)(struct run *, const struct cmd_call *);
};

/*
 * The plan of an op whose approver must see what it will do (prune's
 * dry run), or NULL: a worker calls it before the policy's decision is
 * recorded and the approval asked for. 0 with *plan (JSON; its "text"
 * is shown in the request, the op checks the rest when it runs), 1 when
 * there is nothing to do (*plan is the answer), -1 with *cause.
 */
typedef int (*builtin_plan_fn)(struct app *, const struct cmd_call *,
	    char **plan, char **cause);
builtin_plan_fn builtin_plan(const char *name);

/* The built-in named so, or NULL. */
const struct builtin *builtin_find(const char *name);
size_t	builtin_count(void);
const struct builtin *builtin_get(size_t);

#endif
