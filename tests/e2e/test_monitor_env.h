/*
 * monitor_env.h - what the monitor's end-to-end tests share: the Proxmox
 * simulator on loopback HTTPS, a bot.conf written to the case's folder,
 * a real SQLite database, and a recording connector (a real
 * implementation of the connector interface that keeps what was sent and
 * edited, as a chat would show it). Included by the test files only.
 */
#ifndef PVEBOT_TEST_MONITOR_ENV_H
#define PVEBOT_TEST_MONITOR_ENV_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "conf.h"
#include "exec_proxmox.h"
#include "monitor.h"
#include "sim.h"
#include "db.h"
#include "store.h"
#include "t.h"
#include "t_db.h"
#include "util.h"

#define ENV_SECRET	"3a4b5c6d-7e8f-4a1b-9c2d-3e4f5a6b7c8d"
#define ENV_TOKEN	"pvebot@pve!bot"
#define ENV_MAXMSG	256

struct rec_msg {
	int	 edit;
	char	*room;
	char	*ref;
	char	*title;
	char	*text;
	char	*buttons;	/* "ack:3 sil:3:1h ..." */
};

struct recorder {
	pthread_mutex_t	 lock;
	struct rec_msg	 v[ENV_MAXMSG];
	size_t		 n;
	int		 next_ref;
};

struct env {
	struct sim		*sim;
	char			*url;
	struct conf_proxmox	 cf;
	struct pve		*pve;
	struct conf		*conf;
	struct app		 app;
	struct connector	 conn;
	struct recorder		 rec;
	struct monitor		*mon;
	struct store		*store;		/* the test's own connection */
};

static __attribute__((unused)) void
rec_add(struct connector *c, int edit, const char *room, const char *ref,
    const struct chat_msg *m)
{
	struct recorder	*r = c->priv;
	struct rec_msg	*x;
	struct buf	 b;
	size_t		 i;

	pthread_mutex_lock(&r->lock);
	if (r->n < ENV_MAXMSG) {
		x = &r->v[r->n++];
		x->edit = edit;
		x->room = xstrdup(room);
		x->ref = xstrdup(ref);
		x->title = xstrdup(m->title != NULL ? m->title : "");
		x->text = xstrdup(m->text != NULL ? m->text : "");
		buf_init(&b, 0);
		buf_puts(&b, "");
		for (i = 0; i < m->nbuttons; i++)
			buf_printf(&b, "%s%s", i ? " " : "",
			    m->buttons[i].data);
		x->buttons = buf_steal(&b);
	}
	pthread_mutex_unlock(&r->lock);
}

static __attribute__((unused)) int
rec_send(struct connector *c, const char *room, const struct chat_msg *m,
    char **ref, char **cause)
{
	struct recorder	*r = c->priv;
	char		 id[16];

	pthread_mutex_lock(&r->lock);
	snprintf(id, sizeof id, "m%d", ++r->next_ref);
	pthread_mutex_unlock(&r->lock);
	rec_add(c, 0, room, id, m);
	if (ref != NULL)
		*ref = xstrdup(id);
	return CHAT_OK;
}

static __attribute__((unused)) int
rec_edit(struct connector *c, const char *room, const char *ref,
    const struct chat_msg *m, char **cause)
{
	rec_add(c, 1, room, ref, m);
	return CHAT_OK;
}

static const struct connector_ops rec_ops = {
	.name = "console",
	.send = rec_send,
	.edit = rec_edit,
};

static __attribute__((unused)) void
rec_clear(struct recorder *r)
{
	size_t	 i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].room);
		free(r->v[i].ref);
		free(r->v[i].title);
		free(r->v[i].text);
		free(r->v[i].buttons);
	}
	r->n = 0;
}

/* How many sends (edit 0) or edits (edit 1) were recorded. */
static __attribute__((unused)) size_t
rec_count(struct env *e, int edit)
{
	size_t	 i, n = 0;

	for (i = 0; i < e->rec.n; i++)
		n += e->rec.v[i].edit == edit;
	return n;
}

/* The last send or edit, or an empty message. */
static __attribute__((unused)) const struct rec_msg *
rec_last(struct env *e, int edit)
{
	static struct rec_msg	 none = { 0, "", "", "", "", "" };
	size_t			 i;

	for (i = e->rec.n; i > 0; i--) {
		if (e->rec.v[i - 1].edit == edit)
			return &e->rec.v[i - 1];
	}
	return &none;
}

static __attribute__((unused)) void
env_admin(struct env *e, const char *what, const char *json)
{
	char	*cause = NULL;

	if (sim_admin(e->sim, what, json, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "sim_admin %s %s: %s", what, json,
		    cause);
		free(cause);
	}
}

/* Starts the simulator, loads `conf_text` (monitor and digest sections;
 * the console room takes alerts) and creates the monitor. */
static __attribute__((unused)) int
env_start(struct env *e, const char *conf_text)
{
	struct sim_opts	 o;
	char		*cause = NULL, *text, *path, *errors = NULL;
	char		*dbconf, *db;

	memset(e, 0, sizeof *e);
	pthread_mutex_init(&e->rec.lock, NULL);
	memset(&o, 0, sizeof o);
	o.tls = 1;
	o.token_id = ENV_TOKEN;
	o.secret = ENV_SECRET;
	o.task_ms = 50;
	if ((e->sim = sim_start(&o, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "sim_start: %s", cause);
		free(cause);
		return -1;
	}
	e->url = xasprintf("https://127.0.0.1:%d/api2/json",
	    sim_port(e->sim));
	e->cf.urls = &e->url;
	e->cf.nurls = 1;
	e->cf.token_id = ENV_TOKEN;
	e->cf.secret = ENV_SECRET;
	e->cf.fingerprint = (char *)sim_fingerprint(e->sim);
	e->cf.connect_timeout = 2;
	e->cf.request_timeout = 5;
	e->cf.task_poll = 50;
	if ((e->pve = pve_create(&e->cf, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "pve_create: %s", cause);
		free(cause);
		return -1;
	}
	dbconf = t_db_conf("state.db", &db);
	text = xasprintf("%schat:\n  console:\n"
	    "    enabled: true\n    alerts: true\n%s", dbconf, conf_text);
	path = xstrdup(t_write("bot.conf", text, 0644));
	free(text);
	free(dbconf);
	free(db);
	e->conf = conf_load(path, &errors);
	free(path);
	if (e->conf == NULL) {
		t_fail(__FILE__, __LINE__, "conf: %s", errors);
		free(errors);
		return -1;
	}
	e->conn.ops = &rec_ops;
	e->conn.priv = &e->rec;
	e->app.conf = e->conf;
	e->app.pve = e->pve;
	e->app.connectors[0] = &e->conn;
	e->app.nconnectors = 1;
	if ((e->mon = monitor_create(&e->app, &cause)) == NULL ||
	    (e->store = store_open(e->conf->database, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "monitor_create: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* A new monitor object on a new store connection: a restart. */
static __attribute__((unused)) void
env_restart(struct env *e)
{
	char	*cause = NULL;

	monitor_free(e->mon);
	if ((e->mon = monitor_create(&e->app, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "monitor_create: %s", cause);
		free(cause);
	}
}

static __attribute__((unused)) void
env_stop(struct env *e)
{
	monitor_free(e->mon);
	store_close(e->store);
	pve_free(e->pve);
	sim_stop(e->sim);
	conf_free(e->conf);
	free(e->url);
	rec_clear(&e->rec);
	pthread_mutex_destroy(&e->rec.lock);
}

/*
 * One monitor cycle at time t, then what it wrote to the outbox goes
 * out through the sender's delivery code to the recording connector.
 */
static __attribute__((unused)) int
env_cycle(struct env *e, int64_t t)
{
	int	 rc = monitor_cycle(e->mon, t);

	chat_sender_flush(&e->conn, e->store);
	return rc;
}

/* Delivers what waits in the outbox (after a button press, ...). */
static __attribute__((unused)) void
env_flush(struct env *e)
{
	chat_sender_flush(&e->conn, e->store);
}

/* Today 00:00 UTC plus `hhmm` minutes, for readable schedules. */
static __attribute__((unused)) int64_t
env_today(int hours, int minutes)
{
	int64_t	 now = wall_now();

	return now - now % 86400 + hours * 3600 + minutes * 60;
}

static __attribute__((unused)) int64_t
env_int(struct env *e, const char *sql)
{
	struct db_stmt	*st = db_prepare(e->store, sql);
	int64_t		 v = -1;

	if (st == NULL)
		return -1;
	if (db_step(st) == DB_ROW)
		v = db_int(st, 0);
	db_finish(e->store, st);
	return v;
}

#endif
