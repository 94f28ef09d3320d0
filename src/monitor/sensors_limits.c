/*
 * sensors_limits.c - the limits a voltage or current is judged by, and
 * the `sensors` command's text with them.
 *
 * An input's limits are the first of monitor.sensor_limits whose glob
 * matches "chip/label" (a side it leaves out is open), else the chip's
 * own min/max (when min is below max), else none. The monitor alerts
 * on exactly these (monitor_poll.c) and `sensors` shows exactly these,
 * marked "bot.conf" when they are the configured ones, so what a user
 * reads in chat is what the alert rules use.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "conf.h"
#include "sensors.h"
#include "sensors_limits.h"
#include "util.h"

int
sensor_limits_of(const struct conf_monitor *mc,
    const struct sensor_reading *r, double *min, double *max)
{
	char	*key;
	size_t	 i;

	if (r->kind != SENSOR_VOLTAGE && r->kind != SENSOR_CURRENT)
		return 0;
	key = xasprintf("%s/%s", r->chip, r->label);
	for (i = 0; mc != NULL && i < mc->nsensor_limits; i++) {
		const struct conf_sensor_limit	*l = &mc->sensor_limits[i];

		if (!glob_match(l->sensor, key))
			continue;
		free(key);
		*min = l->has_min ? l->min : -HUGE_VAL;
		*max = l->has_max ? l->max : HUGE_VAL;
		return 2;
	}
	free(key);
	if (!r->has_limits)
		return 0;
	*min = r->min;
	*max = r->max;
	return 1;
}

void
sensor_limits_apply(const struct conf_monitor *mc, struct sensor_list *l)
{
	size_t	 i;
	double	 min, max;

	for (i = 0; i < l->n; i++) {
		struct sensor_reading	*r = &l->v[i];

		if (sensor_limits_of(mc, r, &min, &max) != 2)
			continue;
		r->has_limits = 1;
		r->configured = 1;
		r->min = min;
		r->max = max;
	}
}

void
sensor_filter_of(const struct conf_monitor *mc, struct sensor_filter *f)
{
	memset(f, 0, sizeof *f);
	f->ignore = (const char *const *)mc->sensor_ignore;
	f->nignore = mc->nsensor_ignore;
	f->temp_min = SENSOR_TEMP_MIN;
	f->temp_max = mc->temp_max_sane > 0 ? mc->temp_max_sane :
	    SENSOR_TEMP_MAX;
}

char *
sensors_text(const struct conf_monitor *mc, const char *json, char **cause)
{
	struct sensor_filter	 f;
	struct sensor_list	 l;
	char			*text;

	sensor_filter_of(mc, &f);
	if (sensors_parse_json(json, &f, NULL, &l, cause) != 0)
		return NULL;
	sensor_limits_apply(mc, &l);
	text = sensors_format(&l);
	sensor_list_release(&l);
	return text;
}
