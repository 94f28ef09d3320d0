/*
 * sensors_limits.h - the limits a voltage or current is judged by
 * (monitor.sensor_limits in bot.conf first, else the chip's own), shared
 * by the monitor's rules and the `sensors` command
 * (monitor/sensors_limits.c).
 */
#ifndef PVEBOT_SENSORS_LIMITS_H
#define PVEBOT_SENSORS_LIMITS_H

#include "sensors.h"

struct conf_monitor;

/*
 * The limits of reading r: 2 when an entry of monitor.sensor_limits
 * matches its "chip/label" (a side the entry leaves out is -HUGE_VAL
 * or HUGE_VAL), 1 for the chip's own, 0 when it has none (and for
 * temperatures and fans). mc may be NULL (the chip's only).
 */
int	 sensor_limits_of(const struct conf_monitor *mc,
	    const struct sensor_reading *r, double *min, double *max);
/* Gives every reading with configured limits those limits (configured
 * set), so sensors_format() shows what the rules use. */
void	 sensor_limits_apply(const struct conf_monitor *,
	    struct sensor_list *);
/* The monitor's filter: its ignore list and sane temperature range. */
void	 sensor_filter_of(const struct conf_monitor *,
	    struct sensor_filter *);
/* `sensors -j` output as the `sensors` command shows it, with the
 * monitor's filter and limits; NULL with *cause when not sensors JSON. */
char	*sensors_text(const struct conf_monitor *, const char *json,
	    char **cause);

#endif
