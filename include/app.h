/*
 * app.h - the running daemon: what the router, the workers and the
 * monitor share, and the threads that carry the flow of DESIGN.md:
 *
 *   connector -> router -> policy -> job store -> worker -> executor
 *
 * The catalogue and the policy can be swapped by SIGHUP: readers take
 * app->rules_lock to read the pointers. A replaced catalogue or policy is
 * kept (retired) until the daemon exits, so a worker that follows a long
 * task with the old one never holds the lock, and reloads never wait.
 */
#ifndef PVEBOT_APP_H
#define PVEBOT_APP_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "chat.h"

struct conf;
struct catalogue;
struct policy;
struct pve;
struct router;
struct workers;
struct monitor;
struct schedules;
struct scheduler;
struct prov_conf;
struct sim;
struct store;
struct chat_event;
struct chat_sender;
struct cmd_call;
struct guest_index;
struct guest_view;
struct job;
struct http;

#define APP_MAX_CONNECTORS 8

/*
 * A catalogue and a policy loaded together. Whoever uses them outside
 * the rules_lock (a worker running a job) holds them; a reload retires
 * the set and the last holder frees it.
 */
struct app_rules {
	struct catalogue	*catalogue;
	struct policy		*policy;
	int			 holds;		/* under app->rules_mutex */
	int			 retired;
};

struct app {
	/*
	 * bot.conf as last loaded: a reload swaps in the new one (its
	 * restart-only settings kept, see conf_keep_fixed); earlier ones
	 * stay allocated until app_free, so a pointer read before the
	 * swap stays good. The first is the caller's.
	 */
	struct conf *_Atomic	 conf;
	struct conf		**reloaded;	/* confs this app loaded */
	size_t			 nreloaded;
	pthread_rwlock_t	 rules_lock;	/* catalogue, policy, rules */
	struct catalogue	*catalogue;	/* == rules->catalogue */
	struct policy		*policy;	/* == rules->policy */
	struct app_rules	*rules;
	pthread_mutex_t		 rules_mutex;	/* holds, retired */
	struct app_rules	**retired;	/* still held */
	size_t			 nretired;
	int			 reloads;	/* done, for tests */
	struct chat_ctx		 chat_ctx;
	struct connector	*connectors[APP_MAX_CONNECTORS];
	size_t			 nconnectors;
	struct chat_sender	*senders[APP_MAX_CONNECTORS];
	struct connector	*console;	/* also in connectors[] */
	struct pve		*pve;		/* NULL without Proxmox */
	struct guest_index	*guests;	/* what Proxmox last said */
	pthread_t		 refresher;	/* keeps the index fresh */
	int			 refreshing;
	pthread_mutex_t		 refresh_lock;
	pthread_cond_t		 refresh_cond;
	struct router		*router;
	struct workers		*workers;
	struct monitor		*monitor;
	struct http		*http;		/* webhooks, metrics, health */
	struct schedules	*schedules;	/* NULL: none */
	struct scheduler	*scheduler;
	struct prov_conf	*prov;		/* NULL: no conventions */
	struct sim		*sim;		/* the demo's simulator */
	/*
	 * The demo's sensor host (`/sim sensor`, core/demo_sensors.c):
	 * when set, the monitor reads `sensors -j` JSON of host
	 * sensor_feed_host from sensor_feed every cycle, and `sensors`
	 * shows it, through the same parser, filter and limits as
	 * lm-sensors and SSH output. Only demo_main sets it, before
	 * app_start; NULL in the daemon, which reads no other source.
	 */
	char			*(*sensor_feed)(void *arg, char **cause);
	void			*sensor_feed_arg;
	const char		*sensor_feed_host;
	atomic_int		 stopping;
	int			 audit_keyed;	/* its key is registered */
	/* On PostgreSQL: the leader lock this process holds to run at
	 * all (src/store/leader.c), its epoch and this instance's name
	 * (instance.name or the host name). Set before anything starts. */
	struct leader		*leader;
	int64_t			 epoch;
	char			*instance;
	int			 standby_stopped; /* stopped before leading */
	/* Every instance runs workers; only the leader runs the rest
	 * (set once it leads). What other instances write is heard by
	 * the listener (PostgreSQL). */
	atomic_int		 leading;
	struct store_listener	*listener;
	/* Tests and the demo shorten waits through these. */
	int64_t			 tick_ms;	/* router timer period */
	/*
	 * A fault only tests and the demo inject (`/sim wedge router N`):
	 * until this now_ms() the router's loop holds still, as if a call
	 * in it hung, so the watchdog and health checks can be seen to
	 * notice. 0: no fault.
	 */
	_Atomic int64_t		 router_wedged_until;
};

/*
 * Builds the daemon from a loaded config: catalogue, policy, Proxmox
 * client, connectors. Console on in_fd/out_fd when enabled.
 */
struct app	*app_create(struct conf *, int in_fd, int out_fd, char **cause);
/* Starts router, workers, monitor and connectors. */
int		 app_start(struct app *, char **cause);
/*
 * Runs until SIGTERM/SIGINT (or, for the console, end of input with no
 * job in flight); SIGHUP reloads catalogue and policy. Under systemd
 * (sdnotify.h) it sends READY=1 once app_start() has returned, and
 * WATCHDOG=1 every WATCHDOG_USEC/2 while the router's heartbeat is no
 * older than that (or two ticks, whichever is longer).
 */
int		 app_run(struct app *);
void		 app_stop(struct app *);	/* drains queues; idempotent */
void		 app_free(struct app *);
/*
 * The catalogue bot.conf names: `commands`, with `local_commands` layered
 * over it when given. NULL with *errors (every problem) on failure.
 */
struct catalogue *app_load_catalogue(const struct conf *, char **errors);
/*
 * SIGHUP: reloads bot.conf, the commands and the policies; on any error
 * keeps all of the old ones. Rooms, people, monitor rules, the digest and
 * the log level take effect; settings read only at start are kept and
 * named in *notes (caller frees; "" when none) as needing a restart.
 * Telegram's menu and Discord's slash commands are published again by
 * their connectors when the catalogue changed.
 */
int		 app_reload(struct app *, char **notes, char **cause);
/* The rule set in force, held until app_rules_drop (workers). */
const struct app_rules *app_rules_hold(struct app *);
void		 app_rules_drop(struct app *, const struct app_rules *);
/*
 * Checks across the catalogue and the policy (core/app_check.c): builtin:
 * and parser: names pvebot implements, policy actions commands define.
 * 0, or -1 with *errors ("file:line:column: ...\n" each; caller frees).
 */
int		 app_check_rules(const struct catalogue *,
		    const struct policy *, char **errors);

struct connector *app_connector(struct app *, const char *name);
/* The site jobs made here belong to: instance.site with several
 * instances on PostgreSQL, NULL (any worker) on SQLite. */
const char	*app_site(const struct app *);
/* The site whose cluster commands from connector:room act on: the
 * room's `site`, else instance.home_site, else instance.site (NULL on
 * SQLite). */
const char	*app_room_site(const struct app *, const char *connector,
		    const char *room);

/*
 * Whether the router's loop is turning: its heartbeat is at most
 * max_age_ms old. It wakes at least every tick, so a smaller max_age_ms
 * counts as two ticks; a larger one tolerates a slow event (today a chat
 * send in the router can take seconds). *age_ms (may be NULL) is the
 * heartbeat's age. 1 alive, 0 stuck.
 */
int		 app_router_alive(struct app *, int64_t max_age_ms,
		    int64_t *age_ms);
/* Wedges the router for ms milliseconds (tests and the demo only). */
void		 app_wedge_router(struct app *, int64_t ms);
/* Called by the router's loop at its timer turn: holds while wedged. */
void		 app_router_hold(struct app *);

/* The router (router.c). */
struct router	*router_create(struct app *, char **cause);
int		 router_start(struct router *, char **cause);
void		 router_submit(void *router, struct chat_event *);
/* Waits until the queue is empty and the router idle. */
void		 router_drain(struct router *);
void		 router_stop(struct router *);
/* now_ms() of the router loop's last turn (an atomic read). */
int64_t		 router_heartbeat(struct router *);
void		 router_free(struct router *);
/*
 * Finishes a job in state `resolving` (workers): the guest is looked up
 * in `view` (fresh from Proxmox), the policy decides as the router would
 * have, and the job is queued, sent for approval or refused, its message
 * edited. lookup_error says why there is no view. Runs inside the
 * caller's transaction; -1 when a write failed.
 */
int		 router_resolve_job(struct app *, struct store *, struct job *,
		    const struct catalogue *, const struct policy *,
		    const struct guest_view *, const char *lookup_error);
/*
 * Consent at dispatch (workers): the policy of this moment is asked again
 * with the guest as `view` shows it now (fresh from Proxmox). 0 when the
 * job may run; -1 with *why (what changed) when the decision no longer
 * allows it: refused now, needing approval it did not get, or approved
 * by people whose approval no longer counts.
 */
int		 router_consent(struct app *, struct store *,
		    const struct policy *, const struct job *,
		    const struct cmd_call *, const struct guest_view *,
		    char **why);
/* Builtins the router answers itself (help, whoami, approve, ...). */
int		 router_is_local_builtin(const char *name);
/* The policy's explanation for a command line; caller frees. */
char		*router_explain(struct app *, const char *user,
		    const char *room, const char *line, int64_t now);

/* Workers (exec/worker.c). */
struct workers	*workers_create(struct app *, char **cause);
int		 workers_start(struct workers *, char **cause);
/* Wakes a worker: a job was queued. */
void		 workers_kick(struct workers *);
/* The same for a callback (the store's listener): arg is the workers. */
void		 workers_kick_arg(void *);
/* Number of jobs queued or running. */
int		 workers_busy(struct workers *);
/*
 * Whether the worker threads are alive: one of them turned its loop at
 * most max_age_ms ago (idle ones turn twice a second), or every one of
 * them is running a job. *age_ms: age of the newest turn, -1 before the
 * first. 1 alive, 0 not (not started, or stuck outside a job).
 */
int		 workers_alive(struct workers *, int64_t max_age_ms,
		    int64_t *age_ms);
void		 workers_stop(struct workers *);
void		 workers_free(struct workers *);
/*
 * Re-attaches jobs whose owner is gone (crash safety, jobs_adopt()): a
 * previous process of this instance, or on PostgreSQL any instance of
 * this site whose liveness lock is free. Each is followed by its UPID,
 * found in the node's task list, or reported interrupted.
 * workers_start_recovery() takes this process's generation and runs it
 * on its own thread: once at start on SQLite, every second on
 * PostgreSQL (another instance may die at any time), so a long task
 * does not hold up the connectors.
 */
void		 workers_recover(struct workers *);
int		 workers_start_recovery(struct workers *, char **cause);

/* Reads /cluster/resources once: the guest index is fed. */
int		 app_refresh_guests(struct app *, char **cause);
/* Feeds the guest index from a /cluster/resources reply (all types). */
struct pve_resources;
void		 app_publish_resources(struct app *,
		    const struct pve_resources *);

#endif
