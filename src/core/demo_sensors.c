/*
 * demo_sensors.c - the demo's sensor host: the board of pve1 as
 * `sensors -j` prints it (lm-sensors' JSON: one object per chip, one per
 * feature, its subfeatures tempN_input, fanN_input, inN_input with
 * inN_min/inN_max, currN_input with currN_min/currN_max), which
 * "/sim sensor CHIP/LABEL VALUE" changes.
 *
 * The demo hands demo_sensors_json() to the app as its sensor feed
 * (app.h): the monitor reads it every cycle and `sensors` shows it,
 * through the same parser, sane ranges, ignore list and limits as real
 * readings, so every sensor rule is provoked by a reading, never by
 * skipping a rule. Nothing here touches a file; only the demo creates
 * one. A /sim line only ever changes the number of an input that is
 * already on the board: what is typed is looked up, never copied into
 * the JSON. Thread-safe: the console sets, the monitor and the workers
 * read.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "demo.h"
#include "log.h"
#include "util.h"

/* What pve1 reports at start: all within limits, both fans spinning. */
static const char demo_board[] =
    "{\"k10temp-pci-00c3\":{\"Adapter\":\"PCI adapter\","
    "\"Tctl\":{\"temp1_input\":48.625},"
    "\"Tccd1\":{\"temp3_input\":43.25}},"
    "\"nct6798-isa-0290\":{\"Adapter\":\"ISA adapter\","
    "\"Vcore\":{\"in0_input\":1.208,\"in0_min\":0.9,\"in0_max\":1.4,"
    "\"in0_alarm\":0.0},"
    "\"+12V\":{\"in1_input\":12.096,\"in1_min\":11.4,\"in1_max\":12.6,"
    "\"in1_alarm\":0.0},"
    "\"fan1\":{\"fan1_input\":812.0,\"fan1_min\":0.0},"
    "\"fan2\":{\"fan2_input\":1064.0,\"fan2_min\":0.0},"
    "\"SYSTIN\":{\"temp1_input\":34.0,\"temp1_max\":80.0}},"
    "\"ltc2945-i2c-1-6f\":{\"Adapter\":\"SMBus I801 adapter at efa0\","
    "\"curr1\":{\"curr1_input\":2.125,\"curr1_min\":0.5,"
    "\"curr1_max\":8.0}}}";

/* The inputs a /sim line names, for its usage. */
#define DEMO_SENSOR_NAMES	"k10temp/Tctl, k10temp/Tccd1, " \
	"nct6798/Vcore, nct6798/+12V, nct6798/fan1, nct6798/fan2, " \
	"nct6798/SYSTIN, ltc2945/curr1"

/* Longest CHIP/LABEL and value a /sim sensor line may hold. */
#define DEMO_SENSOR_ARG_MAX	128
/* Beyond any board (the parser's sane ranges then judge it). */
#define DEMO_SENSOR_VALUE_MAX	100000.0

struct demo_sensors {
	pthread_mutex_t	 lock;
	json_t		*board;
	char		*host;
};

struct demo_sensors *
demo_sensors_create(const char *host)
{
	struct demo_sensors	*ds = xcalloc(1, sizeof *ds);
	json_error_t		 jerr;

	pthread_mutex_init(&ds->lock, NULL);
	if ((ds->board = json_loads(demo_board, 0, &jerr)) == NULL)
		log_fatal("demo", "demo sensors: %s", jerr.text);
	ds->host = xstrdup(host);
	return ds;
}

void
demo_sensors_free(struct demo_sensors *ds)
{
	if (ds == NULL)
		return;
	json_decref(ds->board);
	pthread_mutex_destroy(&ds->lock);
	free(ds->host);
	free(ds);
}

const char *
demo_sensors_host(const struct demo_sensors *ds)
{
	return ds->host;
}

char *
demo_sensors_json(void *arg, char **cause)
{
	struct demo_sensors	*ds = arg;
	char			*out;

	pthread_mutex_lock(&ds->lock);
	out = json_dumps(ds->board, JSON_COMPACT);
	pthread_mutex_unlock(&ds->lock);
	if (out == NULL)
		set_cause(cause, "demo sensors: out of memory");
	return out;
}

/* The chip of the board named `name`, or whose name starts "name-". */
static json_t *
chip_named(json_t *board, const char *name, size_t len)
{
	const char	*key;
	json_t		*chip;

	json_object_foreach(board, key, chip) {
		if (strlen(key) == len && strncmp(key, name, len) == 0)
			return chip;
	}
	json_object_foreach(board, key, chip) {
		if (strlen(key) > len && strncmp(key, name, len) == 0 &&
		    key[len] == '-')
			return chip;
	}
	return NULL;
}

/* The key of feature's one reading ("fan2_input"), or NULL. */
static const char *
input_key(json_t *feature)
{
	const char	*key;
	json_t		*v;

	json_object_foreach(feature, key, v) {
		size_t	 n = strlen(key);

		if (n > 6 && strcmp(key + n - 6, "_input") == 0 &&
		    json_is_number(v))
			return key;
	}
	return NULL;
}

static const char *
unit_of(const char *key)
{
	if (str_has_prefix(key, "temp"))
		return " C";
	if (str_has_prefix(key, "fan"))
		return " RPM";
	if (str_has_prefix(key, "curr"))
		return " A";
	return " V";
}

char *
demo_sensors_set(struct demo_sensors *ds, const char *args)
{
	char		 name[DEMO_SENSOR_ARG_MAX], *end, *label, *msg;
	const char	*sp, *key;
	json_t		*chip, *feature;
	double		 v;
	size_t		 len;

	if (strlen(args) >= DEMO_SENSOR_ARG_MAX ||
	    (sp = strchr(args, ' ')) == NULL || sp == args)
		return xstrdup("usage: /sim sensor CHIP/INPUT VALUE, INPUT "
		    "one of " DEMO_SENSOR_NAMES);
	len = (size_t)(sp - args);
	memcpy(name, args, len);
	name[len] = '\0';
	while (*sp == ' ')
		sp++;
	v = strtod(sp, &end);
	if (*sp == '\0' || *end != '\0' || !isfinite(v) ||
	    fabs(v) > DEMO_SENSOR_VALUE_MAX)
		return xasprintf("usage: /sim sensor CHIP/INPUT VALUE (a "
		    "number, at most %g)", DEMO_SENSOR_VALUE_MAX);
	if ((label = strchr(name, '/')) == NULL)
		return xstrdup("usage: /sim sensor CHIP/INPUT VALUE, INPUT "
		    "one of " DEMO_SENSOR_NAMES);
	*label++ = '\0';
	pthread_mutex_lock(&ds->lock);
	if ((chip = chip_named(ds->board, name, strlen(name))) == NULL ||
	    !json_is_object(feature = json_object_get(chip, label)) ||
	    (key = input_key(feature)) == NULL) {
		pthread_mutex_unlock(&ds->lock);
		return xasprintf("simulator: %s has no sensor input %s/%s "
		    "(it has " DEMO_SENSOR_NAMES ")", ds->host, name, label);
	}
	json_object_set_new(feature, key, json_real(v));
	msg = xasprintf("simulator: %s %s now reads %g%s", ds->host, label, v,
	    unit_of(key));
	pthread_mutex_unlock(&ds->lock);
	return msg;
}
