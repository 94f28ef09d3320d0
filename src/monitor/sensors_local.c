/*
 * sensors_local.c - temperatures, fans, voltages and currents of the
 * machine pvebot runs on, read with libsensors.
 *
 * The readings are turned into the JSON `sensors -j` prints and go
 * through the same parser as remote nodes, so the sane-range checks and
 * the ignore list apply alike. libsensors is initialised once per
 * process; a machine with no chips (a VM, a container) simply has no
 * readings, which is not an error. The `sensors` command of the demo
 * shows its sensor feed (app.h) instead, through the same parser.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sensors/error.h>
#include <sensors/sensors.h>

#include "app.h"
#include "conf.h"
#include "log.h"
#include "sensors.h"
#include "sensors_limits.h"
#include "sensors_local.h"
#include "util.h"
#include "worker.h"

static pthread_once_t	 local_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t	 local_lock = PTHREAD_MUTEX_INITIALIZER;
static int		 local_rc = -1;

static void
local_init(void)
{
	local_rc = sensors_init(NULL);
	if (local_rc != 0)
		log_warn("sensors", "libsensors init failed: %s",
		    sensors_strerror(local_rc));
}

static const char *
subfeature_key(const sensors_subfeature *sf)
{
	return sf->name;
}

char *
sensors_local_json(char **cause)
{
	const sensors_chip_name	*chip;
	json_t			*root;
	char			*out;
	int			 nr = 0;

	pthread_once(&local_once, local_init);
	if (local_rc != 0) {
		set_cause(cause, "libsensors could not start: %s",
		    sensors_strerror(local_rc));
		return NULL;
	}
	root = json_object();
	pthread_mutex_lock(&local_lock);
	while ((chip = sensors_get_detected_chips(NULL, &nr)) != NULL) {
		const sensors_feature	*f;
		json_t			*jc = json_object();
		char			 name[256];
		int			 fnr = 0;

		if (sensors_snprintf_chip_name(name, sizeof name, chip) < 0)
			snprintf(name, sizeof name, "%s", chip->prefix);
		json_object_set_new(jc, "Adapter", json_string(
		    sensors_get_adapter_name(&chip->bus) != NULL ?
		    sensors_get_adapter_name(&chip->bus) : "unknown"));
		while ((f = sensors_get_features(chip, &fnr)) != NULL) {
			const sensors_subfeature	*sf, *lim;
			sensors_subfeature_type		 in, lo, hi;
			json_t				*jf;
			char				*label;
			double				 v;

			switch (f->type) {
			case SENSORS_FEATURE_TEMP:
				in = SENSORS_SUBFEATURE_TEMP_INPUT;
				lo = hi = SENSORS_SUBFEATURE_UNKNOWN;
				break;
			case SENSORS_FEATURE_FAN:
				in = SENSORS_SUBFEATURE_FAN_INPUT;
				lo = hi = SENSORS_SUBFEATURE_UNKNOWN;
				break;
			case SENSORS_FEATURE_IN:
				in = SENSORS_SUBFEATURE_IN_INPUT;
				lo = SENSORS_SUBFEATURE_IN_MIN;
				hi = SENSORS_SUBFEATURE_IN_MAX;
				break;
			case SENSORS_FEATURE_CURR:
				in = SENSORS_SUBFEATURE_CURR_INPUT;
				lo = SENSORS_SUBFEATURE_CURR_MIN;
				hi = SENSORS_SUBFEATURE_CURR_MAX;
				break;
			default:
				continue;
			}
			sf = sensors_get_subfeature(chip, f, in);
			if (sf == NULL || sensors_get_value(chip, sf->number,
			    &v) != 0)
				continue;
			label = sensors_get_label(chip, f);
			jf = json_object();
			json_object_set_new(jf, subfeature_key(sf),
			    json_real(v));
			/* The limits, as `sensors -j` prints them. */
			if (lo != SENSORS_SUBFEATURE_UNKNOWN &&
			    (lim = sensors_get_subfeature(chip, f, lo)) !=
			    NULL && sensors_get_value(chip, lim->number,
			    &v) == 0)
				json_object_set_new(jf, lim->name,
				    json_real(v));
			if (hi != SENSORS_SUBFEATURE_UNKNOWN &&
			    (lim = sensors_get_subfeature(chip, f, hi)) !=
			    NULL && sensors_get_value(chip, lim->number,
			    &v) == 0)
				json_object_set_new(jf, lim->name,
				    json_real(v));
			json_object_set_new(jc, label != NULL ? label : f->name,
			    jf);
			free(label);
		}
		json_object_set_new(root, name, jc);
	}
	pthread_mutex_unlock(&local_lock);
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}

int
sensors_local_read(const struct sensor_filter *filter,
    struct sensors_seen *seen, struct sensor_list *list, char **cause)
{
	char	*json = sensors_local_json(cause);
	int	 rc;

	memset(list, 0, sizeof *list);
	if (json == NULL)
		return -1;
	rc = sensors_parse_json(json, filter, seen, list, cause);
	free(json);
	return rc;
}

char *
worker_feed_sensors(struct app *app, char **cause)
{
	char	*json, *text;

	if ((json = app->sensor_feed(app->sensor_feed_arg, cause)) == NULL)
		return NULL;
	text = sensors_text(&app->conf->monitor, json, cause);
	free(json);
	if (text != NULL) {
		json = text;
		text = xasprintf("%s (simulated by the demo):\n%s",
		    app->sensor_feed_host, json);
		free(json);
	}
	return text;
}

char *
worker_local_sensors(struct app *app, char **cause)
{
	const struct conf_monitor	*mc = &app->conf->monitor;
	struct sensor_filter		 f;
	struct sensor_list		 l;
	char				*text;

	/* The demo's sensor host stands in for this machine's. */
	if (app->sensor_feed != NULL)
		return worker_feed_sensors(app, cause);
	sensor_filter_of(mc, &f);
	if (sensors_local_read(&f, NULL, &l, cause) != 0)
		return NULL;
	sensor_limits_apply(mc, &l);
	if (l.n == 0 && l.nnotes == 0)
		text = xstrdup("no temperature, fan, voltage or current "
		    "sensors on this machine (a VM or container?); try sensors "
		    "NODE");
	else
		text = sensors_format(&l);
	sensor_list_release(&l);
	return text;
}
