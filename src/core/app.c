/*
 * app.c - assembling and running the daemon: the catalogue and the
 * policy, the Proxmox client, the connectors, the router, the workers
 * and the monitor, started in that order and stopped in reverse.
 *
 * Shutdown (SIGTERM/SIGINT) stops the connectors first so no new work
 * arrives, drains the router's queue, then lets the workers finish what
 * they hold: a task still running keeps its job in state running with
 * its UPID, which the next start re-attaches to. SIGHUP reloads the
 * commands and policies and keeps the old ones if the new ones fail.
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
#include "jobs.h"
#include "log.h"
#include "monitor.h"
#include "policy.h"
#include "store.h"
#include "util.h"


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

static int
load_rules(const struct conf *conf, struct catalogue **cat,
    struct policy **pol, char **cause)
{
	const char	*paths[1] = { conf->policies_dir };
	char		*errors = NULL;

	*cat = catalogue_load(conf->commands_dir, &errors);
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
	if (load_rules(conf, &app->catalogue, &app->policy, cause) != 0)
		goto fail;
	if (conf->proxmox.enabled && conf->proxmox.nurls > 0 &&
	    (app->pve = pve_create(&conf->proxmox, cause)) == NULL)
		goto fail;
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
	return app;
fail:
	app_free(app);
	return NULL;
}

int
app_start(struct app *app, char **cause)
{
	size_t	 i;

	audit_milestone(app, 1);
	/* Jobs a previous process left running are followed again. */
	if (workers_start_recovery(app->workers, cause) != 0)
		return -1;
	if (router_start(app->router, cause) != 0)
		return -1;
	if (workers_start(app->workers, cause) != 0)
		return -1;
	if (app->monitor != NULL && monitor_start(app->monitor, cause) != 0)
		return -1;
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
	}
	/* Jobs queued before a restart. */
	workers_kick(app->workers);
	return 0;
}

int
app_reload(struct app *app, char **cause)
{
	struct catalogue	*cat;
	struct policy		*pol;

	if (load_rules(app->conf, &cat, &pol, cause) != 0)
		return -1;
	pthread_rwlock_wrlock(&app->rules_lock);
	app->retired_catalogues = xreallocarray(app->retired_catalogues,
	    app->nretired + 1, sizeof *app->retired_catalogues);
	app->retired_policies = xreallocarray(app->retired_policies,
	    app->nretired + 1, sizeof *app->retired_policies);
	app->retired_catalogues[app->nretired] = app->catalogue;
	app->retired_policies[app->nretired] = app->policy;
	app->nretired++;
	app->catalogue = cat;
	app->policy = pol;
	app->chat_ctx.catalogue = cat;
	pthread_rwlock_unlock(&app->rules_lock);
	return 0;
}

int
app_run(struct app *app)
{
	struct sigaction	 sa;
	int			 console_gone = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		if (got_term) {
			log_info("app", "signal received, stopping");
			break;
		}
		if (got_hup) {
			char	*cause = NULL;

			got_hup = 0;
			if (app_reload(app, &cause) != 0) {
				log_error("app", "reload failed, keeping the "
				    "old commands and policies: %s", cause);
				free(cause);
			} else
				log_info("app", "commands and policies "
				    "reloaded");
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
		sleep_ms(50);
	}
	app_stop(app);
	return 0;
}

void
app_stop(struct app *app)
{
	size_t	 i;

	if (atomic_exchange(&app->stopping, 1))
		return;
	for (i = 0; i < app->nconnectors; i++)
		app->connectors[i]->ops->stop(app->connectors[i]);
	if (app->router != NULL) {
		router_drain(app->router);
		router_stop(app->router);
	}
	if (app->monitor != NULL)
		monitor_stop(app->monitor);
	workers_stop(app->workers);
	if (app->audit_keyed)
		audit_milestone(app, 0);
}

void
app_free(struct app *app)
{
	size_t	 i;

	if (app == NULL)
		return;
	app_stop(app);
	monitor_free(app->monitor);
	workers_free(app->workers);
	router_free(app->router);
	for (i = 0; i < app->nconnectors; i++)
		chat_free(app->connectors[i]);
	pve_free(app->pve);
	catalogue_free(app->catalogue);
	policy_free(app->policy);
	for (i = 0; i < app->nretired; i++) {
		catalogue_free(app->retired_catalogues[i]);
		policy_free(app->retired_policies[i]);
	}
	free(app->retired_catalogues);
	free(app->retired_policies);
	if (app->audit_keyed)
		audit_key_clear(app->conf->database);
	pthread_rwlock_destroy(&app->rules_lock);
	free(app);
}

void
app_job_message(struct app *app, struct store *s, struct job *j,
    const struct chat_msg *m, int final)
{
	struct connector	*c = app_connector(app, j->connector);
	char			*ref = NULL, *cause = NULL;

	if (c == NULL)
		return;
	if (final) {
		/* A final result is retried for up to a minute. */
		if (chat_deliver(c, j->room, j->msg_ref, m, &ref, 60000) != 0)
			log_error("app", "job=%lld result not delivered",
			    (long long)j->id);
	} else if (j->msg_ref != NULL) {
		if (chat_edit(c, j->room, j->msg_ref, m, &cause) != CHAT_OK)
			log_warn("app", "job=%lld progress edit failed: %s",
			    (long long)j->id, cause != NULL ? cause : "?");
	} else if (chat_send(c, j->room, m, &ref, &cause) != CHAT_OK)
		log_warn("app", "job=%lld progress not sent: %s",
		    (long long)j->id, cause != NULL ? cause : "?");
	free(cause);
	if (ref != NULL && j->msg_ref == NULL) {
		jobs_set_text(s, j->id, "msg_ref", ref);
		j->msg_ref = ref;
	} else
		free(ref);
}
