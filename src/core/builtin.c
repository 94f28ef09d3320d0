/*
 * builtin.c - the one table of built-in commands (see builtin.h), and the
 * handlers of those a worker runs: reads of the cluster, the nodes'
 * sensors and the digest. Each is a few lines over a formatter of
 * exec/ or monitor/; none changes anything.
 *
 * The router's handlers live in router.c next to the state they touch;
 * this table is the only place that names them.
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "builtin.h"
#include "cmd.h"
#include "conf.h"
#include "core_int.h"
#include "exec_proxmox.h"
#include "sensors_limits.h"
#include "store_leader.h"
#include "../prov/prov_int.h"
#include "util.h"
#include "worker.h"

/* The value of the call's first argument of a type, or NULL. */
static const char *
value_of(const struct cmd_call *call, enum arg_type type)
{
	size_t	 i;

	for (i = 0; i < call->def->nargs; i++) {
		if (call->def->args[i].type == type)
			return call->values[i];
	}
	return NULL;
}

static struct pve *
need_pve(const struct builtin_env *env, char **cause)
{
	if (env->app->pve == NULL)
		set_cause(cause, "no Proxmox endpoint is configured");
	return env->app->pve;
}

static char *
bw_status(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	struct pve	*pve = need_pve(env, cause);
	struct app	*app = env->app;
	char		*text, *inst, *out;

	if (pve == NULL || (text = pve_format_status(pve, cause)) == NULL)
		return NULL;
	if (app->leader == NULL)
		return text;
	/* Several instances share the database: which one answers, and
	 * who leads (the same lines as `pvebot status --cluster`). */
	inst = leader_state_text(env->store, wall_now());
	out = xasprintf("%s\npvebot: answered by %s (site %s)\n%s", text,
	    app->instance, app->conf->instance.site, inst != NULL ? inst :
	    "instances: the database cannot be read now\n");
	free(inst);
	free(text);
	return out;
}

static char *
bw_nodes(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	struct pve	*pve = need_pve(env, cause);

	return pve != NULL ? pve_format_nodes(pve, cause) : NULL;
}

static char *
bw_guests(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	struct pve	*pve = need_pve(env, cause);

	return pve != NULL ? pve_format_guests(pve, cause) : NULL;
}

static char *
bw_guest(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	struct pve	*pve = need_pve(env, cause);

	return pve != NULL ? pve_format_guest(pve, value_of(call, ARG_GUEST),
	    cause) : NULL;
}

static char *
bw_snapshots(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	struct pve	*pve = need_pve(env, cause);

	return pve != NULL ? pve_format_snapshots(pve, value_of(call,
	    ARG_GUEST), cause) : NULL;
}

static char *
bw_backups(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	struct pve	*pve = need_pve(env, cause);

	return pve != NULL ? pve_format_backups(pve, value_of(call,
	    ARG_GUEST), cause) : NULL;
}

static char *
bw_tasks(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	struct pve	*pve = need_pve(env, cause);

	return pve != NULL ? pve_format_tasks(pve, value_of(call, ARG_NODE),
	    cause) : NULL;
}

static char *
bw_task(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	struct pve	*pve = need_pve(env, cause);

	return pve != NULL ? pve_format_task(pve, value_of(call, ARG_UPID),
	    cause) : NULL;
}

/* Quorum from /cluster/status through the API: no SSH needed. */
static char *
bw_quorum(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	struct pve	*pve = need_pve(env, cause);

	return pve != NULL ? pve_format_quorum(pve, cause) : NULL;
}

/* Every storage per node, shared ones once. */
static char *
bw_storage(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	struct pve	*pve = need_pve(env, cause);

	return pve != NULL ? pve_format_storage(pve, cause) : NULL;
}

/* `sensors -j` on the named node, or this machine's own sensors; the
 * limits shown are the ones the monitor judges by (bot.conf's, else
 * the chip's). */
static char *
bw_sensors(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	const char	*node = value_of(call, ARG_NODE);
	char		*argv[] = { "sensors", "-j", NULL };
	char		*out, *text;

	if (node == NULL)
		return worker_local_sensors(env->app, cause);
	if (env->app->sensor_feed != NULL &&
	    strcmp(node, env->app->sensor_feed_host) == 0)
		return worker_feed_sensors(env->app, cause);
	if ((out = env->ssh(env->ssh_arg, node, argv, 2, "text", 0,
	    cause)) == NULL)
		return NULL;
	text = sensors_text(&env->app->conf->monitor, out, cause);
	free(out);
	return text;
}

static char *
bw_digest(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	return worker_digest(env->app, env->store, cause);
}

static const struct builtin builtins[] = {
	/* Answered by the router: pvebot's own state. */
	{ "help", bi_help, NULL, NULL },
	{ "whoami", bi_whoami, NULL, NULL },
	{ "explain", bi_explain, NULL, NULL },
	{ "jobs", bi_jobs, NULL, NULL },
	{ "job", bi_job, NULL, NULL },
	{ "cancel", bi_cancel, NULL, NULL },
	{ "approve", bi_approve, NULL, NULL },
	{ "deny", bi_deny, NULL, NULL },
	{ "alerts", bi_alerts, NULL, NULL },
	{ "silence", bi_silence, NULL, NULL },
	{ "unsilence", bi_unsilence, NULL, NULL },
	{ "ack", bi_ack, NULL, NULL },
	{ "schedules", bi_schedules, NULL, NULL },
	/* Run by a worker: reads of the cluster and the nodes. */
	{ "status", NULL, bw_status, NULL },
	{ "nodes", NULL, bw_nodes, NULL },
	{ "guests", NULL, bw_guests, NULL },
	{ "guest", NULL, bw_guest, NULL },
	{ "snapshots", NULL, bw_snapshots, NULL },
	{ "backups", NULL, bw_backups, NULL },
	{ "tasks", NULL, bw_tasks, NULL },
	{ "task", NULL, bw_task, NULL },
	{ "quorum", NULL, bw_quorum, NULL },
	{ "storage", NULL, bw_storage, NULL },
	{ "sensors", NULL, bw_sensors, NULL },
	{ "digest", NULL, bw_digest, NULL },
	{ "nextip", NULL, prov_job_nextip, NULL },
	{ "inventory", NULL, prov_job_inventory, NULL },
	{ "clone_to", NULL, NULL, prov_op_clone },
	{ "replicate", NULL, NULL, prov_op_clone },
	{ "restore_to", NULL, NULL, prov_op_restore },
	/* Run by a worker: actions of several steps. */
	{ "node_shutdown", NULL, NULL, worker_shutdown_node },
	{ "prune", NULL, NULL, worker_prune },
	{ "restore", NULL, NULL, worker_restore },
};

/* The ops above whose plan a worker reads before the approval. */
static const struct {
	const char	*name;
	builtin_plan_fn	 plan;
} plans[] = {
	{ "prune", worker_prune_plan },
};

builtin_plan_fn
builtin_plan(const char *name)
{
	size_t	 i;

	for (i = 0; name != NULL && i < nitems(plans); i++) {
		if (strcmp(plans[i].name, name) == 0)
			return plans[i].plan;
	}
	return NULL;
}

const struct builtin *
builtin_find(const char *name)
{
	size_t	 i;

	for (i = 0; name != NULL && i < nitems(builtins); i++) {
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	}
	return NULL;
}

size_t
builtin_count(void)
{
	return nitems(builtins);
}

const struct builtin *
builtin_get(size_t i)
{
	return i < nitems(builtins) ? &builtins[i] : NULL;
}
