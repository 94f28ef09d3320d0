/*
 * fuzz_sensors_json.c - libFuzzer target for the `sensors -j` parser
 * (src/monitor/sensors_json.c), fed whatever a node might print.
 *
 * The text is parsed twice with one memory of what was seen, as two
 * monitor polls of the same host would be, through a filter with an
 * ignore list. Beyond "no crash, no leak, no UB": every reading is a
 * finite number inside the sane range of its kind and not ignored; the
 * second poll notes nothing new (each oddity is noted once) and drops no
 * reading the first one kept; the list formats and can be searched.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensors.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const ignore[] = {
	"nct6798-isa-0290/AUXTIN*", "*/fan5", "acpitz-*/temp?"
};
static const struct sensor_filter filter = {
	ignore, 3, 0, 0, 0
};

static void
check_list(const struct sensor_list *sl)
{
	const struct sensor_reading	*r;
	size_t				 i;
	char				*s;

	for (i = 0; i < sl->n; i++) {
		r = &sl->v[i];
		if (r->chip == NULL || r->label == NULL || !isfinite(r->value))
			abort();
		if (r->kind == SENSOR_TEMP && (r->value < SENSOR_TEMP_MIN ||
		    r->value > SENSOR_TEMP_MAX))
			abort();
		if (r->kind == SENSOR_FAN && (r->value < 0 ||
		    r->value > SENSOR_FAN_MAX))
			abort();
		if (sensors_ignored(&filter, r->chip, r->label))
			abort();
		/* A name matches itself as a glob. */
		if (sensors_find(sl, r->chip, r->label) == NULL)
			abort();
	}
	for (i = 0; i < sl->nnotes; i++) {
		if (sl->notes[i] == NULL)
			abort();
	}
	s = sensors_format(sl);
	if (s == NULL)
		abort();
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sensors_seen	*seen;
	struct sensor_list	 first, second;
	char			*text, *cause = NULL;
	int			 rc;

	if (size > 256 * 1024)
		return 0;
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	seen = sensors_seen_create();
	rc = sensors_parse_json(text, &filter, seen, &first, &cause);
	if (rc != 0) {
		if (rc != -1 || cause == NULL || first.n != 0)
			abort();
		free(cause);
		sensor_list_release(&first);
		sensors_seen_free(seen);
		free(text);
		return 0;
	}
	check_list(&first);
	if (sensors_parse_json(text, &filter, seen, &second, NULL) != 0)
		abort();
	check_list(&second);
	if (second.nnotes != 0 || second.n < first.n)
		abort();
	sensor_list_release(&first);
	sensor_list_release(&second);
	sensors_seen_free(seen);
	/* Without a memory or a filter, the same text parses as well. */
	if (sensors_parse_json(text, NULL, NULL, &first, NULL) != 0)
		abort();
	sensor_list_release(&first);
	free(text);
	return 0;
}
