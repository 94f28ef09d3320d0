/*
 * demo.h - `pvebot demo`: the embedded default (core/demo.c).
 */
#ifndef PVEBOT_DEMO_H
#define PVEBOT_DEMO_H

#include <stdint.h>

int	demo_main(int argc, char **argv);

/*
 * The demo's sensor host (core/demo_sensors.c): a board as `sensors -j`
 * prints it, changed by "/sim sensor CHIP/INPUT VALUE" and read as the
 * app's sensor feed. Thread-safe.
 */
struct demo_sensors;
struct demo_sensors *demo_sensors_create(const char *host);
void		 demo_sensors_free(struct demo_sensors *);
const char	*demo_sensors_host(const struct demo_sensors *);
/* The board as `sensors -j` JSON (the feed); caller frees. */
char		*demo_sensors_json(void *, char **cause);
/* Applies "CHIP/INPUT VALUE"; the reply for the console, caller frees. */
char		*demo_sensors_set(struct demo_sensors *, const char *args);

/*
 * "/sim until RULE firing|repeated|resolved [SECONDS]"
 * (core/demo_until.c): waits
 * at most secs for the monitor's record to show it; the reply for the
 * console, caller frees.
 */
struct app;
char		*demo_until(struct app *, const char *rule, const char *state,
		    int64_t secs);

#endif
