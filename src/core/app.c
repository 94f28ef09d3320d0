/*
 * app.c - assembling and running the daemon: the catalogue and the
 * policy, the Proxmox client and the guest index, the connectors with a
 * sender thread each, the router, the workers and the monitor, started
 * in that order and stopped in reverse.
 *
 * The guest index is fed by every guest list read from Proxmox (the
 * monitor's cycle, workers' lookups) and kept fresh by a refresher
 * thread that reads the list itself when nobody else has for half of
 * proxmox.index_max_age. At start pvebot waits a moment (at most
 * APP_FIRST_LOOK_MS) for a first list, so the first commands resolve in
 * memory; a Proxmox that does not answer does not hold the start up.
 *
 * Shutdown (SIGTERM/SIGINT) stops the connectors first so no new work
 * arrives, drains the router's queue, then lets the workers finish what
 * they hold: a task still running keeps its job in state running with
 * its UPID, which the next start re-attaches to. The senders deliver
 * what is due for a few seconds; what is left waits in the outbox for
 * the next start. SIGHUP reloads bot.conf, the commands and the policies
 * and keeps all of the old ones if any new one fails (app_reload).
 *
 * Under systemd (Type=notify) the main loop says READY=1 once every part
 * has started, and feeds the watchdog (WatchdogSec=) from the router's
 * heartbeat: a ping goes out every WATCHDOG_USEC/2 only while the router
 * loop has turned within that half period (or two ticks, if longer), so
 * a wedged router stops the pings and systemd restarts the daemon. The
 * main loop itself only sleeps and reads flags, so it is never the part
 * that hangs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "chat.h"
#include "cmd.h"
#include "conf.h"
#include "exec_proxmox.h"
#include "guest_index.h"
#include "http.h"
#include "jobs.h"
#include "jsonx.h"
#include "log.h"
#include "monitor.h"
#include "policy.h"
#include "sdnotify.h"
#include "prov.h"
#include "pve_resources.h"
#include "schedule.h"
#include "store.h"
#include "store_leader.h"
#include "util.h"


#define APP_FIRST_LOOK_MS	3000	/* a first guest list at start */
#define APP_SENDER_DRAIN_MS	5000	/* output delivered at stop */
#define APP_LEADER_CHECK_MS	1000	/* leader lock looked at */

static volatile sig_atomic_t	 got_term;
static volatile sig_atomic_t	 got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

const char *
app_site(const struct app *app)
{
	return app->leader != NULL ? app->conf->instance.site : NULL;
}

const char *
app_room_site(const struct app *app, const char *connector, const char *room)
{
	const struct conf	*c = app->conf;
	const struct conf_room	*rooms = NULL;
	size_t			 n = 0, i;

	if (app->leader == NULL)
		return NULL;
	if (strcmp(connector, "telegram") == 0) {
		rooms = c->chat.telegram.chats;
		n = c->chat.telegram.nchats;
	} else if (strcmp(connector, "matrix") == 0) {
		rooms = c->chat.matrix.rooms;
		n = c->chat.matrix.nrooms;
	} else if (strcmp(connector, "discord") == 0) {
		rooms = c->chat.discord.channels;
		n = c->chat.discord.nchannels;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(rooms[i].id, room) == 0 && rooms[i].site != NULL)
			return rooms[i].site;
	}
	/* Not the leader's own site: after a failover to another site's
	 * instance, `stop 101` still means the same guest. */
	return c->instance.home_site != NULL ? c->instance.home_site :
	    c->instance.site;
}

struct connector *
app_connector(struct app *app, const char *name)
{
	size_t	 i;

	for (i = 0; i < app->nconnectors; i++) {
		if (strcmp(app->connectors[i]->ops->name, name) == 0)
			return app->connectors[i];
	}
	return NULL;
}

struct catalogue *
app_load_catalogue(const struct conf *conf, char **errors)
{
	const char	*dirs[2] = { conf->commands_dir,
	    conf->local_commands_dir };

	return catalogue_load_dirs(dirs, conf->local_commands_dir != NULL ?
	    2 : 1, errors);
}

static int
load_rules(const struct conf *conf, struct catalogue **cat,
    struct policy **pol, char **cause)
{
	const char	*paths[1] = { conf->policies_dir };
	char		*errors = NULL;

	*cat = app_load_catalogue(conf, &errors);
	if (*cat == NULL) {
		set_cause(cause, "%s", errors);
		free(errors);
		return -1;
	}
	*pol = policy_load(paths, 1, &errors);
	if (*pol == NULL || app_check_rules(*cat, *pol, &errors) != 0) {
		catalogue_free(*cat);
		policy_free(*pol);
		*cat = NULL;
		*pol = NULL;
		set_cause(cause, "%s", errors);
		free(errors);
		return -1;
	}
	/* Files left out are no reason to stop, but are worth a line. */
	if ((errors = policy_unread_files(paths, 1)) != NULL) {
		char	*line, *rest = errors;

		while ((line = strsep(&rest, "\n")) != NULL) {
			if (*line != '\0')
				log_warn("app", "policy file %s", line);
		}
		free(errors);
	}
	return 0;
}

static void
guests_observed(void *arg, const struct pve_guest *g, size_t n)
{
	struct app	*app = arg;

	guest_index_publish(app->guests, g, n);
	pthread_mutex_lock(&app->refresh_lock);
	pthread_cond_broadcast(&app->refresh_cond);
	pthread_mutex_unlock(&app->refresh_lock);
}

void
app_publish_resources(struct app *app, const struct pve_resources *rs)
{
	if (app->guests == NULL)
		return;
	guest_index_publish_resources(app->guests, rs);
	pthread_mutex_lock(&app->refresh_lock);
	pthread_cond_broadcast(&app->refresh_cond);
	pthread_mutex_unlock(&app->refresh_lock);
}

int
app_refresh_guests(struct app *app, char **cause)
{
	struct pve_resources	 rs;

	if (app->pve == NULL)
		return set_cause(cause, "no Proxmox endpoint is configured");
	memset(&rs, 0, sizeof rs);
	if (pve_resources_read(app->pve, NULL, &rs, cause) != PVE_OK)
		return -1;
	app_publish_resources(app, &rs);
	pve_resources_release(&rs);
	return 0;
}

/*
 * The refresher: reads the guest list when the index is older than half
 * its allowed age (the monitor's cycle usually keeps it fresher).
 */
static void *
refresher_main(void *arg)
{
	struct app	*app = arg;
	int64_t		 half = app->conf->proxmox.index_max_age * 500;
	int		 failures = 0;

	if (half <= 0)
		half = 45000;
	while (!atomic_load(&app->stopping)) {
		const struct guest_view	*v = guest_index_get(app->guests);
		int64_t			 age = v != NULL ?
		    guest_view_age_ms(v) : INT64_MAX;
		int64_t			 wait;
		char			*cause = NULL;
		struct timespec		 ts;

		guest_view_release(v);
		wait = half - (age == INT64_MAX ? half : age);
		if (wait <= 0) {
			if (app_refresh_guests(app, &cause) != 0) {
				if (failures++ == 0)
					log_warn("app", "cannot read the guest "
					    "list: %s", cause);
				free(cause);
				wait = chat_backoff_ms(failures, 1000, half);
			} else {
				if (failures > 0)
					log_info("app", "guest list read "
					    "again");
				failures = 0;
				wait = half;
			}
		}
		pthread_mutex_lock(&app->refresh_lock);
		if (!atomic_load(&app->stopping)) {
			int64_t	 at = wall_now_ms() + (wait < 1000 ? 1000 :
			    wait);

			ts.tv_sec = at / 1000;
			ts.tv_nsec = (at % 1000) * 1000000;
			pthread_cond_timedwait(&app->refresh_cond,
			    &app->refresh_lock, &ts);
		}
		pthread_mutex_unlock(&app->refresh_lock);
	}
	return NULL;
}

/*
 * The audit key: read, or made at the first start, and given to every
 * connection to the database this process opens.
 */
static int
audit_key_setup(struct app *app, char **cause)
{
	const struct conf	*conf = app->conf;
	char			*key;
	int			 created;

	if ((key = audit_key_load(conf->audit.key_file, 1, &created,
	    cause)) == NULL)
		return -1;
	if (created)
		log_info("app", "audit key created path=%s: keep it with the "
		    "database's backups", conf->audit.key_file);
	audit_key_set(conf->database, key, strlen(key));
	explicit_bzero(key, strlen(key));
	free(key);
	app->audit_keyed = 1;
	return 0;
}

/* The audit log at start and at stop: checked, keyed, checkpointed. */
static void
audit_milestone(struct app *app, int start)
{
	struct store		*s;
	struct audit_head	 head;
	char			*cause = NULL;
	int			 rc;

	if ((s = store_open(app->conf->database, &cause)) == NULL) {
		log_error("app", "audit log not checked: %s", cause);
		free(cause);
		return;
	}
	rc = start ? audit_start(s, &cause) : audit_checkpoint(s, &head,
	    &cause);
	if (rc != 0) {
		log_error("app", "audit log: %s", cause);
		free(cause);
	}
	store_close(s);
}

struct app *
app_create(struct conf *conf, int in_fd, int out_fd, char **cause)
{
	struct app	*app = xcalloc(1, sizeof *app);
	struct {
		int		 enabled;
		struct connector *(*create)(const struct chat_ctx *, char **);
	} backends[] = {
		{ conf->chat.telegram.enabled, chat_telegram_create },
		{ conf->chat.matrix.enabled, chat_matrix_create },
		{ conf->chat.discord.enabled, chat_discord_create },
	};
	size_t		 i;

	app->conf = conf;
	app->tick_ms = 1000;
	pthread_rwlock_init(&app->rules_lock, NULL);
	pthread_mutex_init(&app->rules_mutex, NULL);
	pthread_mutex_init(&app->refresh_lock, NULL);
	pthread_cond_init(&app->refresh_cond, NULL);
	app->guests = guest_index_create();
	store_set_outbox_hook(chat_sender_notify);
	app->rules = xcalloc(1, sizeof *app->rules);
	if (load_rules(conf, &app->rules->catalogue, &app->rules->policy,
	    cause) != 0)
		goto fail;
	app->catalogue = app->rules->catalogue;
	app->policy = app->rules->policy;
	if (conf->schedules_file != NULL) {
		char	*errors = NULL;

		app->schedules = schedules_load(conf->schedules_file, &errors);
		if (app->schedules == NULL) {
			set_cause(cause, "%s", errors);
			free(errors);
			goto fail;
		}
	}
	if (conf->provisioning_file != NULL) {
		char	*errors = NULL;

		app->prov = prov_conf_load(conf->provisioning_file, &errors);
		if (app->prov == NULL) {
			set_cause(cause, "%s", errors);
			free(errors);
			goto fail;
		}
	}
	if (conf->proxmox.enabled && conf->proxmox.nurls > 0) {
		if ((app->pve = pve_create(&conf->proxmox, cause)) == NULL)
			goto fail;
		pve_set_guest_observer(app->pve, guests_observed, app);
	}
	/* Before any connection to the database exists. */
	if (audit_key_setup(app, cause) != 0)
		goto fail;
	if ((app->router = router_create(app, cause)) == NULL)
		goto fail;
	app->chat_ctx.conf = conf;
	app->chat_ctx.catalogue = app->catalogue;
	app->chat_ctx.submit = router_submit;
	app->chat_ctx.submit_arg = app->router;
	if (conf->chat.console.enabled) {
		app->console = chat_console_create(&app->chat_ctx, in_fd,
		    out_fd, cause);
		if (app->console == NULL)
			goto fail;
		app->connectors[app->nconnectors++] = app->console;
	}
	for (i = 0; i < nitems(backends); i++) {
		struct connector	*c;

		if (!backends[i].enabled)
			continue;
		if ((c = backends[i].create(&app->chat_ctx, cause)) == NULL)
			goto fail;
		app->connectors[app->nconnectors++] = c;
	}
	if (app->nconnectors == 0) {
		set_cause(cause, "no chat platform is enabled in %s: enable "
		    "chat.console, chat.telegram, chat.matrix or chat.discord",
		    conf->path);
		goto fail;
	}
	if ((app->workers = workers_create(app, cause)) == NULL)
		goto fail;
	if (conf->monitor.enabled && app->pve != NULL &&
	    (app->monitor = monitor_create(app, cause)) == NULL)
		goto fail;
	if ((app->http = http_create(app, cause)) == NULL)
		goto fail;
	return app;
fail:
	app_free(app);
	return NULL;
}

static void	app_signals(void);
static void	notify(const char *);

/*
 * Several instances on one PostgreSQL database: each joins with a
 * generation and its liveness lock (leader.c), so its workers may claim
 * and adopt jobs beside the others', and hears what the others write.
 * SQLite: one process per file, nothing to join.
 */
static int
app_join(struct app *app, char **cause)
{
	const struct conf	*conf = app->conf;
	char			 host[256], *other;
	const char		*name = conf->instance.name;

	if (!str_has_prefix(conf->database, "postgresql://") &&
	    !str_has_prefix(conf->database, "postgres://"))
		return 0;
	if (name == NULL) {
		if (gethostname(host, sizeof host) != 0)
			snprintf(host, sizeof host, "pvebot");
		host[sizeof host - 1] = '\0';
		name = host;
	}
	app->instance = xstrdup(name);
	app->leader = leader_open(conf->database, name, conf->instance.site,
	    cause);
	if (app->leader == NULL)
		return -1;
	/*
	 * Several sites: rooms without a site must keep meaning one
	 * cluster whichever instance leads, so that site is named.
	 */
	if (conf->instance.home_site == NULL &&
	    (other = leader_other_site(app->leader, conf->instance.site)) !=
	    NULL) {
		set_cause(cause, "instances of sites %s and %s share this "
		    "database: set instance.home_site (the same on every "
		    "instance), the site whose cluster private chats and rooms "
		    "without a site act on, so that a leader of another site "
		    "does not change which guest `stop 101` stops",
		    conf->instance.site, other);
		free(other);
		return -1;
	}
	store_set_alive(conf->database, leader_gen(app->leader),
	    leader_pid(app->leader));
	app->listener = store_listen(conf->database, workers_kick_arg,
	    app->workers, cause);
	return app->listener == NULL ? -1 : 0;
}

/*
 * One leader at a time runs the chat connectors, the router, the
 * monitor, the scheduler and the webhooks: this instance waits as a
 * standby (its workers run meanwhile) until it holds the leader lock.
 * Its epoch fences every write it makes from then on, so once another
 * instance has taken over, nothing of this one commits.
 */
static int
app_lead(struct app *app, char **cause)
{
	const struct conf	*conf = app->conf;
	int			 rc, said = 0;

	if (app->leader == NULL) {
		atomic_store(&app->leading, 1);
		return 0;
	}
	while ((rc = leader_try(app->leader, &app->epoch)) != 1) {
		if (got_term) {
			app->standby_stopped = 1;
			return set_cause(cause, "stopped while standing by");
		}
		if (rc == 0 && !said) {
			log_info("app", "standby instance=%s: another instance "
			    "leads; running jobs of site %s, taking over when "
			    "it stops", app->instance, conf->instance.site);
			notify("READY=1\nSTATUS=standby: another instance "
			    "leads");
			said = 1;
		} else if (rc == -1)
			log_warn("app", "leader lock not taken: the database "
			    "is out of reach");
		/* Jobs this instance claimed may be adopted once its
		 * liveness lock is gone: stop at once. */
		if (!leader_alive(app->leader)) {
			log_error("app", "lost the liveness lock: stopping "
			    "at once");
			_exit(75);
		}
		/* A standby is alive and well: systemd's watchdog hears
		 * so (a ping a second, well inside WatchdogSec). */
		if (said && sdnotify_watchdog_usec() > 0)
			notify("WATCHDOG=1");
		sleep_ms(APP_LEADER_CHECK_MS);
	}
	store_set_fence(conf->database, app->epoch);
	atomic_store(&app->leading, 1);
	return 0;
}

/* The leader lock is gone (the connection to the database): stop now,
 * without writing; systemd starts this instance again as a standby. */
static void
app_check_leader(struct app *app)
{
	if (app->leader == NULL || leader_check(app->leader) == 1)
		return;
	log_error("app", "lost the leader lock (epoch %lld): stopping at "
	    "once", (long long)app->epoch);
	_exit(75);
}

int
app_start(struct app *app, char **cause)
{
	size_t	 i;

	app_signals();
	if (app_join(app, cause) != 0)
		return -1;
	audit_milestone(app, 1);
	/*
	 * Jobs a previous process left running are followed again, and
	 * the workers start: on every instance, leading or not.
	 */
	if (workers_start_recovery(app->workers, cause) != 0 ||
	    workers_start(app->workers, cause) != 0)
		return -1;
	if (app_lead(app, cause) != 0)
		return -1;
	if (app->pve != NULL) {
		const struct guest_view	*v = NULL;
		int64_t			 until = now_ms() + APP_FIRST_LOOK_MS;

		if (pthread_create(&app->refresher, NULL, refresher_main,
		    app) != 0)
			return set_cause(cause, "cannot start the guest list "
			    "thread");
		app->refreshing = 1;
		/* A first look at the cluster, briefly. */
		pthread_mutex_lock(&app->refresh_lock);
		while ((v = guest_index_get(app->guests)) == NULL &&
		    now_ms() < until) {
			struct timespec	 ts;
			int64_t		 at = wall_now_ms() + 50;

			ts.tv_sec = at / 1000;
			ts.tv_nsec = (at % 1000) * 1000000;
			pthread_cond_timedwait(&app->refresh_cond,
			    &app->refresh_lock, &ts);
		}
		pthread_mutex_unlock(&app->refresh_lock);
		if (v == NULL)
			log_warn("app", "no guest list from Proxmox yet; "
			    "guest commands are looked up by a worker");
		guest_view_release(v);
	}
	if (router_start(app->router, cause) != 0)
		return -1;
	if (app->monitor != NULL && monitor_start(app->monitor, cause) != 0)
		return -1;
	if (http_start(app->http, cause) != 0)
		return -1;
	if (app->schedules != NULL && app->schedules->n > 0) {
		/* Tests move the scheduler's clock: PVEBOT_SCHEDULE_NOW. */
		const char	*fake = getenv("PVEBOT_SCHEDULE_NOW"), *errstr;
		int64_t		 offset = 0;

		if (fake != NULL) {
			offset = strtonum(fake, 1, INT64_MAX, &errstr) -
			    wall_now();
			if (errstr != NULL)
				return set_cause(cause, "PVEBOT_SCHEDULE_NOW "
				    "is %s", errstr);
		}
		app->scheduler = scheduler_start(app, app->schedules, offset,
		    cause);
		if (app->scheduler == NULL)
			return -1;
	}
	for (i = 0; i < app->nconnectors; i++) {
		struct connector	*c = app->connectors[i];

		if (c->ops->start(c, cause) != 0) {
			char	*c2 = *cause;

			*cause = NULL;
			set_cause(cause, "%s: %s", c->ops->name, c2);
			free(c2);
			return -1;
		}
		log_info("app", "connector started name=%s", c->ops->name);
		if ((app->senders[i] = chat_sender_start(c,
		    app->conf->database, cause)) == NULL)
			return -1;
	}
	/* Jobs queued before a restart. */
	workers_kick(app->workers);
	return 0;
}

static void
rules_free(struct app_rules *r)
{
	if (r == NULL)
		return;
	catalogue_free(r->catalogue);
	policy_free(r->policy);
	free(r);
}

const struct app_rules *
app_rules_hold(struct app *app)
{
	struct app_rules	*r;

	pthread_rwlock_rdlock(&app->rules_lock);
	r = app->rules;
	pthread_mutex_lock(&app->rules_mutex);
	r->holds++;
	pthread_mutex_unlock(&app->rules_mutex);
	pthread_rwlock_unlock(&app->rules_lock);
	return r;
}

void
app_rules_drop(struct app *app, const struct app_rules *held)
{
	struct app_rules	*r = (struct app_rules *)held, *gone = NULL;
	size_t			 i;

	if (r == NULL)
		return;
	pthread_mutex_lock(&app->rules_mutex);
	if (--r->holds == 0 && r->retired) {
		for (i = 0; i < app->nretired; i++) {
			if (app->retired[i] == r) {
				app->retired[i] = app->retired[--app->nretired];
				break;
			}
		}
		gone = r;
	}
	pthread_mutex_unlock(&app->rules_mutex);
	if (gone != NULL)
		log_debug("app", "a retired rule set freed by its last job");
	rules_free(gone);
}

/* The new rule set in force; the old one freed now or by its last job. */
static void
rules_swap(struct app *app, struct catalogue *cat, struct policy *pol)
{
	struct app_rules	*next = xcalloc(1, sizeof *next), *old;

	next->catalogue = cat;
	next->policy = pol;
	/* The router holds rules_lock for a whole event: none is in use. */
	pthread_rwlock_wrlock(&app->rules_lock);
	old = app->rules;
	app->rules = next;
	app->catalogue = cat;
	app->policy = pol;
	app->chat_ctx.catalogue = cat;
	pthread_rwlock_unlock(&app->rules_lock);
	pthread_mutex_lock(&app->rules_mutex);
	old->retired = 1;
	if (old->holds > 0) {
		app->retired = xreallocarray(app->retired, app->nretired + 1,
		    sizeof *app->retired);
		app->retired[app->nretired++] = old;
		old = NULL;
	}
	pthread_mutex_unlock(&app->rules_mutex);
	rules_free(old);
}

static void
apply_log_level(const struct conf *conf)
{
	enum log_level	 level;

	if (conf->log_level != NULL &&
	    log_parse_level(conf->log_level, &level) == 0)
		log_set_level(level);
}

int
app_reload(struct app *app, char **notes, char **cause)
{
	struct conf		*cur = app->conf, *next;
	struct catalogue	*cat;
	struct policy		*pol;
	char			*errors = NULL;
	size_t			 i;

	*notes = NULL;
	if (cur->path == NULL)
		return set_cause(cause, "the configuration has no file to "
		    "read again");
	if ((next = conf_load(cur->path, &errors)) == NULL) {
		apply_log_level(cur);
		set_cause(cause, "%s", errors);
		free(errors);
		return -1;
	}
	if (load_rules(next, &cat, &pol, cause) != 0) {
		conf_free(next);
		apply_log_level(cur);
		return -1;
	}
	*notes = conf_keep_fixed(next, cur);
	/*
	 * From here on what is new is in force: the parts that read the
	 * config while they run see the new one; connectors and the monitor
	 * take theirs on their own threads.
	 */
	app->reloaded = xreallocarray(app->reloaded, app->nreloaded + 1,
	    sizeof *app->reloaded);
	app->reloaded[app->nreloaded++] = next;
	app->conf = next;
	app->chat_ctx.conf = next;
	rules_swap(app, cat, pol);
	for (i = 0; i < app->nconnectors; i++) {
		struct connector	*c = app->connectors[i];

		if (c->ops->reload != NULL)
			c->ops->reload(c, next, cat);
	}
	if (app->monitor != NULL)
		monitor_reload(app->monitor, next);
	app->reloads++;
	return 0;
}

int
app_router_alive(struct app *app, int64_t max_age_ms, int64_t *age_ms)
{
	int64_t	 tick = app->tick_ms > 0 ? app->tick_ms : 1000;
	int64_t	 age = now_ms() - router_heartbeat(app->router);

	if (age_ms != NULL)
		*age_ms = age;
	if (max_age_ms < 2 * tick)
		max_age_ms = 2 * tick;
	return age <= max_age_ms;
}

void
app_wedge_router(struct app *app, int64_t ms)
{
	atomic_store(&app->router_wedged_until, now_ms() + ms);
}

void
app_router_hold(struct app *app)
{
	while (now_ms() < atomic_load(&app->router_wedged_until) &&
	    !atomic_load(&app->stopping))
		sleep_ms(10);
}

/* Tells systemd; a failing socket is logged once, not at every ping. */
static void
notify(const char *state)
{
	static int	 failing;
	char		*cause = NULL;

	if (sdnotify_send(state, &cause) == 0) {
		failing = 0;
		return;
	}
	if (!failing)
		log_warn("app", "%s", cause);
	failing = 1;
	free(cause);
}

/*
 * One watchdog round, every half period: ping while the router's
 * heartbeat is no older than that half period (two ticks at least); say
 * once when it stops turning and once when it turns again. A router stuck
 * at t is thus restarted by t + 2 periods at the latest.
 */
static void
watchdog_round(struct app *app, int64_t ping_ms, int *stalled)
{
	int64_t	 age;
	char	*status;

	if (app_router_alive(app, ping_ms, &age)) {
		if (*stalled) {
			log_warn("app", "router turning again after a stall "
			    "of %lldms", (long long)age);
			notify("STATUS=running");
		}
		*stalled = 0;
		notify("WATCHDOG=1");
		return;
	}
	if (!*stalled) {
		log_error("app", "router stalled: no loop for %lldms; "
		    "withholding watchdog pings", (long long)age);
		status = xasprintf("STATUS=router stalled for %llds",
		    (long long)(age / 1000));
		notify(status);
		free(status);
	}
	*stalled = 1;
}

/*
 * Before any part starts: a signal that comes while they start (a reload
 * right after "connector started") is kept for app_run, never fatal.
 */
static void
app_signals(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
app_run(struct app *app)
{
	int			 console_gone = 0, stalled = 0;
	int64_t			 ping_ms, next_ping, nap, next_lead;

	app_signals();
	/* The connectors and the router are up: app_start() returned. */
	notify("READY=1\nSTATUS=running");
	ping_ms = sdnotify_watchdog_usec() / 2000;
	if (ping_ms > 0)
		log_info("app", "systemd watchdog on: a ping every %lldms "
		    "while the router turns", (long long)ping_ms);
	next_ping = now_ms();
	next_lead = now_ms() + APP_LEADER_CHECK_MS;
	for (;;) {
		if (now_ms() >= next_lead) {
			app_check_leader(app);
			next_lead = now_ms() + APP_LEADER_CHECK_MS;
		}
		if (got_term) {
			log_info("app", "signal received, stopping");
			break;
		}
		if (got_hup) {
			char	*cause = NULL, *notes = NULL;

			got_hup = 0;
			notify("RELOADING=1");
			if (app_reload(app, &notes, &cause) != 0) {
				log_error("app", "reload failed, keeping the "
				    "old configuration, commands and "
				    "policies: %s", cause);
				free(cause);
			} else {
				log_info("app", "configuration, commands and "
				    "policies reloaded");
				if (*notes != '\0')
					log_warn("app", "changed settings that "
					    "take effect only after a restart "
					    "(kept as they were): %s", notes);
			}
			free(notes);
			notify("READY=1");
		}
		if (ping_ms > 0 && now_ms() >= next_ping) {
			watchdog_round(app, ping_ms, &stalled);
			next_ping = now_ms() + ping_ms;
		}
		/*
		 * The console's input ended: when it is the only chat, finish
		 * what is in flight (not approvals nobody can give any more)
		 * and exit; beside other platforms, carry on without it.
		 */
		if (app->console != NULL && chat_console_eof(app->console)) {
			if (app->nconnectors > 1) {
				if (!console_gone)
					log_info("app", "console input ended; "
					    "the other chat platforms go on");
				console_gone = 1;
			} else {
				router_drain(app->router);
				if (workers_busy(app->workers) == 0)
					break;
			}
		}
		nap = 50;
		if (ping_ms > 0 && next_ping - now_ms() < nap)
			nap = next_ping - now_ms();
		sleep_ms(nap > 0 ? nap : 1);
	}
	notify("STOPPING=1");
	app_stop(app);
	return 0;
}

void
app_stop(struct app *app)
{
	size_t	 i;

	if (atomic_exchange(&app->stopping, 1))
		return;
	store_listen_stop(app->listener);
	app->listener = NULL;
	http_stop(app->http);
	for (i = 0; i < app->nconnectors; i++)
		app->connectors[i]->ops->stop(app->connectors[i]);
	scheduler_stop(app->scheduler);
	app->scheduler = NULL;
	if (app->router != NULL) {
		router_drain(app->router);
		router_stop(app->router);
	}
	if (app->monitor != NULL)
		monitor_stop(app->monitor);
	workers_stop(app->workers);
	if (app->audit_keyed)
		audit_milestone(app, 0);
	if (app->refreshing) {
		pthread_mutex_lock(&app->refresh_lock);
		pthread_cond_broadcast(&app->refresh_cond);
		pthread_mutex_unlock(&app->refresh_lock);
		pthread_join(app->refresher, NULL);
		app->refreshing = 0;
	}
	for (i = 0; i < app->nconnectors; i++)
		chat_sender_stop(app->senders[i], APP_SENDER_DRAIN_MS);
}

void
app_free(struct app *app)
{
	size_t	 i;

	if (app == NULL)
		return;
	app_stop(app);
	free(app->instance);
	/* Last: the lock goes once nothing of this process writes. */
	if (app->leader != NULL) {
		leader_close(app->leader);
		app->leader = NULL;
		store_set_fence(app->conf->database, 0);
	}
	http_free(app->http);
	monitor_free(app->monitor);
	workers_free(app->workers);
	router_free(app->router);
	for (i = 0; i < app->nconnectors; i++) {
		chat_sender_free(app->senders[i]);
		chat_free(app->connectors[i]);
	}
	pve_free(app->pve);
	guest_index_free(app->guests);
	pthread_mutex_destroy(&app->refresh_lock);
	pthread_cond_destroy(&app->refresh_cond);
	rules_free(app->rules);
	for (i = 0; i < app->nretired; i++)
		rules_free(app->retired[i]);
	free(app->retired);
	schedules_free(app->schedules);
	prov_conf_free(app->prov);
	if (app->audit_keyed)
		audit_key_clear(app->conf->database);
	/* The first config is the caller's. */
	for (i = 0; i < app->nreloaded; i++)
		conf_free(app->reloaded[i]);
	free(app->reloaded);
	pthread_rwlock_destroy(&app->rules_lock);
	pthread_mutex_destroy(&app->rules_mutex);
	free(app);
}
