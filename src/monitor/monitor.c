/*
 * monitor.c - placeholder until the monitoring part lands: the daemon
 * runs without alerts; the digest says it is not available.
 */
#include <stdlib.h>

#include "app.h"
#include "monitor.h"
#include "util.h"
#include "worker.h"

struct monitor {
	struct app	*app;
};

struct monitor *
monitor_create(struct app *app, char **cause)
{
	struct monitor	*m = xcalloc(1, sizeof *m);

	m->app = app;
	return m;
}

int
monitor_start(struct monitor *m, char **cause)
{
	return 0;
}

void
monitor_stop(struct monitor *m)
{
}

void
monitor_free(struct monitor *m)
{
	free(m);
}

int
monitor_button(struct store *s, const char *user, const char *data,
    int64_t now, char **answer)
{
	return 0;
}

char *
worker_digest(struct app *app, struct store *s, char **cause)
{
	set_cause(cause, "the daily digest is not available in this build");
	return NULL;
}

