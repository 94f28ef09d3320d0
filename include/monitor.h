/*
 * monitor.h - watching the cluster without being asked: threshold rules
 * with for-duration, hysteresis, repeat, resolve, flap damping and
 * silences; hardware readings; the daily digest (monitor/).
 */
#ifndef PVEBOT_MONITOR_H
#define PVEBOT_MONITOR_H

#include <stdint.h>

struct app;
struct store;
struct monitor;

struct monitor	*monitor_create(struct app *, char **cause);
int		 monitor_start(struct monitor *, char **cause);
void		 monitor_stop(struct monitor *);
void		 monitor_free(struct monitor *);

/*
 * Alert buttons and their text forms, run by the router inside its
 * transaction: "ack:ID" and "sil:ID:1h". Returns 1 when `data` was an
 * alert button (then *answer is set, caller frees), 0 otherwise.
 */
int		 monitor_button(struct store *, const char *user,
		    const char *data, int64_t now, char **answer);

#endif
