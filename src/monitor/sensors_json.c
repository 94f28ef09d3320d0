/*
 * sensors_json.c - turns `sensors -j` output into temperature and fan
 * readings by chip and label.
 *
 * `sensors -j` prints one object per chip ("k10temp-pci-00c3"), holding
 * an "Adapter" string and one object per feature keyed by its label
 * ("Tctl", "Composite", "fan2"), whose members are the subfeatures
 * ("temp1_input", "temp1_max", "fan2_min", ...). tempN_input,
 * fanN_input, inN_input (volts) and currN_input (amperes) are readings;
 * a voltage or current takes the chip's inN_min/inN_max (currN_...) as
 * its limits when min is below max. Alarms, power and anything else are
 * skipped. Every value is checked against a sane range before it is
 * believed, because board sensors routinely report garbage for
 * unconnected inputs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sensors.h"
#include "util.h"

/*
 * Keys remembered per set and host. A node printing more distinct
 * chip/label pairs than this (over all its polls) gets its oddities noted
 * again on each poll and later fans not remembered as spinning; the
 * memory and the cost of a lookup stay bounded.
 */
#define SENSORS_SEEN_MAX	1024

struct sensors_seen {
	char	**spun;		/* "chip/label" of fans seen above 0 RPM */
	size_t	  nspun;
	char	**noted;	/* "chip/label" already described in notes */
	size_t	  nnoted;
};

struct sensors_seen *
sensors_seen_create(void)
{
	return xcalloc(1, sizeof(struct sensors_seen));
}

void
sensors_seen_free(struct sensors_seen *seen)
{
	if (seen == NULL)
		return;
	strv_free(seen->spun, seen->nspun);
	strv_free(seen->noted, seen->nnoted);
	free(seen);
}

static int
set_has(char *const *v, size_t n, const char *key)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (strcmp(v[i], key) == 0)
			return 1;
	}
	return 0;
}

static void
set_add(char ***v, size_t *n, const char *key)
{
	if (set_has(*v, *n, key) || *n >= SENSORS_SEEN_MAX)
		return;
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(key);
}

int
sensors_ignored(const struct sensor_filter *f, const char *chip,
    const char *label)
{
	char	*key;
	size_t	 i;
	int	 hit = 0;

	if (f == NULL || f->nignore == 0)
		return 0;
	key = xasprintf("%s/%s", chip, label);
	for (i = 0; i < f->nignore && !hit; i++)
		hit = f->ignore[i] != NULL && glob_match(f->ignore[i], key);
	free(key);
	return hit;
}

/* "temp12_input" -> SENSOR_TEMP; 0 if the key is not a reading. */
static int
reading_kind(const char *key, enum sensor_kind *kind)
{
	const char	*p;

	if (str_has_prefix(key, "temp")) {
		*kind = SENSOR_TEMP;
		p = key + 4;
	} else if (str_has_prefix(key, "fan")) {
		*kind = SENSOR_FAN;
		p = key + 3;
	} else if (str_has_prefix(key, "curr")) {
		*kind = SENSOR_CURRENT;
		p = key + 4;
	} else if (str_has_prefix(key, "in")) {
		*kind = SENSOR_VOLTAGE;
		p = key + 2;
	} else
		return 0;
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return strcmp(p, "_input") == 0;
}

/* The chip's limits of "in0_input": in0_min and in0_max, if min < max. */
static int
limits_of(const json_t *feature, const char *key, double *min, double *max)
{
	size_t		 len = strlen(key) - strlen("_input");
	char		*k;
	const json_t	*lo, *hi;

	k = xasprintf("%.*s_min", (int)len, key);
	lo = json_object_get(feature, k);
	free(k);
	k = xasprintf("%.*s_max", (int)len, key);
	hi = json_object_get(feature, k);
	free(k);
	if (!json_is_number(lo) || !json_is_number(hi) ||
	    !(json_number_value(lo) < json_number_value(hi)))
		return 0;
	*min = json_number_value(lo);
	*max = json_number_value(hi);
	return 1;
}

static void
note(struct sensor_list *sl, struct sensors_seen *seen, const char *key,
    const char *fmt, double value)
{
	if (seen != NULL) {
		if (set_has(seen->noted, seen->nnoted, key))
			return;
		set_add(&seen->noted, &seen->nnoted, key);
	}
	sl->notes = xreallocarray(sl->notes, sl->nnotes + 1,
	    sizeof *sl->notes);
	sl->notes[sl->nnotes++] = xasprintf(fmt, key, value);
}

static struct sensor_reading *
add_reading(struct sensor_list *sl, const char *chip, const char *label,
    enum sensor_kind kind, double value)
{
	struct sensor_reading	*r;

	sl->v = xreallocarray(sl->v, sl->n + 1, sizeof *sl->v);
	r = &sl->v[sl->n++];
	memset(r, 0, sizeof *r);
	r->chip = xstrdup(chip);
	r->label = xstrdup(label);
	r->kind = kind;
	r->value = value;
	return r;
}

static struct sensor_reading *
consider(struct sensor_list *sl, const struct sensor_filter *f,
    struct sensors_seen *seen, const char *chip, const char *label,
    enum sensor_kind kind, double value)
{
	struct sensor_reading	*r = NULL;
	double	 tmin = SENSOR_TEMP_MIN, tmax = SENSOR_TEMP_MAX;
	double	 fmax = SENSOR_FAN_MAX;
	char	*key;

	if (f != NULL && f->temp_min != 0)
		tmin = f->temp_min;
	if (f != NULL && f->temp_max != 0)
		tmax = f->temp_max;
	if (f != NULL && f->fan_max > 0)
		fmax = f->fan_max;
	if (sensors_ignored(f, chip, label))
		return NULL;
	key = xasprintf("%s/%s", chip, label);
	if (!isfinite(value))
		note(sl, seen, key, "%s: no number (%g), ignored", value);
	else if ((kind == SENSOR_VOLTAGE || kind == SENSOR_CURRENT) &&
	    fabs(value) > SENSOR_ELECTRIC_MAX)
		note(sl, seen, key, "%s: %g is outside the sane range, ignored",
		    value);
	else if (kind == SENSOR_TEMP && (value < tmin || value > tmax))
		note(sl, seen, key, "%s: %.1f C is outside the sane range, "
		    "ignored", value);
	else if (kind == SENSOR_FAN && (value < 0 || value > fmax))
		note(sl, seen, key, "%s: %.0f RPM is outside the sane range, "
		    "ignored", value);
	else if (kind == SENSOR_FAN && value == 0 && (seen == NULL ||
	    !set_has(seen->spun, seen->nspun, key)))
		note(sl, seen, key, "%s: %.0f RPM and never seen spinning "
		    "(no fan on this header?), ignored", value);
	else {
		if (kind == SENSOR_FAN && value > 0 && seen != NULL)
			set_add(&seen->spun, &seen->nspun, key);
		r = add_reading(sl, chip, label, kind, value);
	}
	free(key);
	return r;
}

int
sensors_parse_json(const char *text, const struct sensor_filter *f,
    struct sensors_seen *seen, struct sensor_list *sl, char **cause)
{
	json_t		*root, *chip, *feature, *value;
	json_error_t	 jerr;
	const char	*chip_name, *label, *key;

	memset(sl, 0, sizeof *sl);
	if ((root = json_loads(text, 0, &jerr)) == NULL)
		return set_cause(cause, "sensors output is not JSON: line %d: "
		    "%s", jerr.line, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return set_cause(cause, "sensors output is not a JSON object");
	}
	json_object_foreach(root, chip_name, chip) {
		if (!json_is_object(chip))
			continue;
		json_object_foreach(chip, label, feature) {
			if (!json_is_object(feature))
				continue;
			json_object_foreach(feature, key, value) {
				enum sensor_kind	 kind;
				struct sensor_reading	*r;

				if (!reading_kind(key, &kind) ||
				    !json_is_number(value))
					continue;
				r = consider(sl, f, seen, chip_name, label,
				    kind, json_number_value(value));
				if (r != NULL && (kind == SENSOR_VOLTAGE ||
				    kind == SENSOR_CURRENT))
					r->has_limits = limits_of(feature, key,
					    &r->min, &r->max);
			}
		}
	}
	json_decref(root);
	return 0;
}

void
sensor_list_release(struct sensor_list *sl)
{
	size_t	 i;

	if (sl == NULL)
		return;
	for (i = 0; i < sl->n; i++) {
		free(sl->v[i].chip);
		free(sl->v[i].label);
	}
	free(sl->v);
	strv_free(sl->notes, sl->nnotes);
	memset(sl, 0, sizeof *sl);
}

const struct sensor_reading *
sensors_find(const struct sensor_list *sl, const char *chip_glob,
    const char *label)
{
	size_t	 i;

	for (i = 0; i < sl->n; i++) {
		if (glob_match(chip_glob, sl->v[i].chip) &&
		    strcmp(sl->v[i].label, label) == 0)
			return &sl->v[i];
	}
	return NULL;
}

char *
sensors_format(const struct sensor_list *sl)
{
	struct buf	 b;
	size_t		 i;
	const char	*chip = NULL;

	if (sl->n == 0)
		return xstrdup("no readings");
	buf_init(&b, 0);
	for (i = 0; i < sl->n; i++) {
		const struct sensor_reading	*r = &sl->v[i];

		if (chip == NULL || strcmp(chip, r->chip) != 0) {
			if (chip != NULL)
				buf_puts(&b, "\n");
			buf_printf(&b, "%s: ", r->chip);
			chip = r->chip;
		} else
			buf_puts(&b, ", ");
		if (r->kind == SENSOR_TEMP)
			buf_printf(&b, "%s %.1f C", r->label, r->value);
		else if (r->kind == SENSOR_FAN)
			buf_printf(&b, "%s %.0f RPM", r->label, r->value);
		else {
			buf_printf(&b, "%s %.2f %s", r->label, r->value,
			    r->kind == SENSOR_VOLTAGE ? "V" : "A");
			if (r->has_limits && r->configured) {
				if (isinf(r->min))
					buf_printf(&b, " (max %.2f, bot.conf)",
					    r->max);
				else if (isinf(r->max))
					buf_printf(&b, " (min %.2f, bot.conf)",
					    r->min);
				else
					buf_printf(&b, " (%.2f-%.2f, bot.conf)",
					    r->min, r->max);
			} else if (r->has_limits)
				buf_printf(&b, " (%.2f-%.2f)", r->min, r->max);
		}
	}
	buf_puts(&b, "\n");
	return buf_steal(&b);
}
