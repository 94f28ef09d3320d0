/*
 * Unit tests for sensors_json.c: `sensors -j` output from real hardware
 * types (tests/data/sensors/) parsed into readings, with the sanity
 * filter, the ignore globs and the once-only notes.
 */
#include <stdlib.h>
#include <string.h>

#include "sensors.h"
#include "t.h"
#include "util.h"

static char *
fixture(const char *name)
{
	char	*path = xasprintf("tests/data/sensors/%s", name);
	char	*text = t_slurp(path);

	if (text == NULL)
		t_fail(__FILE__, __LINE__, "fixture %s is missing", path);
	free(path);
	return text != NULL ? text : xstrdup("");
}

static double
value_of(const struct sensor_list *sl, const char *chip, const char *label)
{
	const struct sensor_reading	*r = sensors_find(sl, chip, label);

	return r != NULL ? r->value : -1000;
}

static int
has_note(const struct sensor_list *sl, const char *needle)
{
	size_t	 i;

	for (i = 0; i < sl->nnotes; i++) {
		if (strstr(sl->notes[i], needle) != NULL)
			return 1;
	}
	return 0;
}

static void
test_amd_board(void)
{
	char			*json = fixture("amd-k10temp-nct6798.json");
	char			*cause = NULL;
	struct sensor_list	 sl;

	T_EQ_INT(sensors_parse_json(json, NULL, NULL, &sl, &cause), 0);
	/* 3 NVMe + 3 k10temp + 7 nct6798 (2 fans) + acpitz + amdgpu edge,
	 * and 4 voltages: nct6798 in0, in1, amdgpu vddgfx, vddnb */
	T_EQ_INT(sl.n, 19);
	T_OK(value_of(&sl, "k10temp-pci-00c3", "Tctl") == 48.625);
	T_OK(value_of(&sl, "k10temp-pci-00c3", "Tccd2") == 41.0);
	T_OK(value_of(&sl, "nvme-pci-0100", "Composite") == 41.85);
	T_OK(value_of(&sl, "nvme-pci-0100", "Sensor 2") == 46.85);
	T_OK(value_of(&sl, "nct6798-*", "fan2") == 1064);
	T_OK(sensors_find(&sl, "nct6798-isa-0290", "fan2")->kind ==
	    SENSOR_FAN);
	T_OK(sensors_find(&sl, "nct6798-isa-0290", "SYSTIN")->kind ==
	    SENSOR_TEMP);
	T_OK(value_of(&sl, "acpitz-acpi-0", "temp1") == 16.8);
	T_OK(value_of(&sl, "amdgpu-pci-0a00", "edge") == 39);
	/* The bogus ones are dropped and said so. */
	T_OK(sensors_find(&sl, "*", "temp5") == NULL);
	T_OK(sensors_find(&sl, "*", "AUXTIN1") == NULL);
	T_OK(sensors_find(&sl, "*", "fan1") == NULL);
	/* Voltages, with the chip's limits when min is below max. */
	T_OK(sensors_find(&sl, "nct6798-isa-0290", "in0")->kind ==
	    SENSOR_VOLTAGE);
	T_OK(value_of(&sl, "nct6798-isa-0290", "in0") == 0.328);
	T_OK(sensors_find(&sl, "nct6798-isa-0290", "in0")->has_limits);
	T_OK(sensors_find(&sl, "nct6798-isa-0290", "in0")->max == 1.744);
	/* in1 says min 0, max 0 (and alarm 1): no limits, not an alarm. */
	T_OK(!sensors_find(&sl, "nct6798-isa-0290", "in1")->has_limits);
	T_OK(value_of(&sl, "amdgpu-pci-0a00", "vddgfx") == 0.862);
	T_OK(!sensors_find(&sl, "amdgpu-pci-0a00", "vddgfx")->has_limits);
	/* Power is not read. */
	T_OK(sensors_find(&sl, "*", "PPT") == NULL);
	T_OK(sensors_find(&sl, "*", "intrusion0") == NULL);
	T_EQ_INT(sl.nnotes, 3);
	T_OK(has_note(&sl, "nct6798-isa-0290/temp5: 216.0 C is outside the "
	    "sane range, ignored"));
	T_OK(has_note(&sl, "nct6798-isa-0290/AUXTIN1: -62.0 C"));
	T_OK(has_note(&sl, "nct6798-isa-0290/fan1: 0 RPM and never seen "
	    "spinning"));
	sensor_list_release(&sl);
	free(json);
}

static void
test_intel_board(void)
{
	char			*json = fixture("intel-coretemp-nct6775.json");
	char			*cause = NULL, *text;
	struct sensor_list	 sl;

	T_EQ_INT(sensors_parse_json(json, NULL, NULL, &sl, &cause), 0);
	T_EQ_INT(sl.n, 15);
	T_OK(value_of(&sl, "coretemp-isa-0000", "Package id 0") == 54);
	T_OK(value_of(&sl, "coretemp-isa-0000", "Core 3") == 52);
	T_OK(value_of(&sl, "pch_cannonlake-virtual-0", "temp1") == 45);
	T_OK(value_of(&sl, "nvme-pci-0200", "Composite") == 36.85);
	T_OK(value_of(&sl, "nct6775-isa-0290", "fan2") == 1240);
	T_OK(value_of(&sl, "nct6775-isa-0290", "AUXTIN") == 127);
	T_EQ_INT(sl.nnotes, 1);
	T_OK(has_note(&sl, "nct6775-isa-0290/fan1"));
	text = sensors_format(&sl);
	T_CONTAINS(text, "coretemp-isa-0000: Package id 0 54.0 C, Core 0 "
	    "51.0 C, Core 1 53.0 C, Core 2 50.0 C, Core 3 52.0 C\n");
	T_CONTAINS(text, "nct6775-isa-0290: Vcore 0.90 V (0.00-1.74), fan2 "
	    "1240 RPM, SYSTIN 34.0 C");
	free(text);
	sensor_list_release(&sl);
	free(json);
}

static void
test_ignore_globs_and_range(void)
{
	char			*json = fixture("intel-coretemp-nct6775.json");
	char			*cause = NULL;
	const char		*ignore[] = { "nct6775-*/AUXTIN", "acpitz-*/*" };
	struct sensor_filter	 f = { ignore, 2, 0, 0, 0 };
	struct sensor_filter	 strict = { NULL, 0, 0, 100, 0 };
	struct sensor_filter	 warm = { NULL, 0, 20, 0, 0 };
	struct sensor_list	 sl;

	T_EQ_INT(sensors_parse_json(json, &f, NULL, &sl, &cause), 0);
	T_EQ_INT(sl.n, 12);
	T_OK(sensors_find(&sl, "*", "AUXTIN") == NULL);
	T_OK(sensors_find(&sl, "acpitz-acpi-0", "temp1") == NULL);
	T_OK(sensors_find(&sl, "acpitz-acpi-0", "temp2") == NULL);
	/* The same label on another chip is not ignored. */
	T_OK(sensors_find(&sl, "pch_cannonlake-virtual-0", "temp1") != NULL);
	/* Ignored readings are silent: only the empty fan header is noted. */
	T_EQ_INT(sl.nnotes, 1);
	T_OK(sensors_ignored(&f, "acpitz-acpi-0", "temp9"));
	T_OK(!sensors_ignored(&f, "nct6775-isa-0290", "AUXTIN1x"));
	sensor_list_release(&sl);

	/* A configured upper bound (monitor.temp_max_sane) drops 127 C. */
	T_EQ_INT(sensors_parse_json(json, &strict, NULL, &sl, &cause), 0);
	T_OK(sensors_find(&sl, "*", "AUXTIN") == NULL);
	T_OK(has_note(&sl, "nct6775-isa-0290/AUXTIN: 127.0 C"));
	sensor_list_release(&sl);
	free(json);

	/* Bounds are set one at a time: a raised floor keeps the ceiling. */
	json = fixture("amd-k10temp-nct6798.json");
	T_EQ_INT(sensors_parse_json(json, &warm, NULL, &sl, &cause), 0);
	T_OK(sensors_find(&sl, "acpitz-acpi-0", "temp1") == NULL);
	T_OK(has_note(&sl, "acpitz-acpi-0/temp1: 16.8 C"));
	T_OK(has_note(&sl, "nct6798-isa-0290/temp5: 216.0 C"));
	T_OK(has_note(&sl, "nct6798-isa-0290/PCH_CHIP_TEMP: 0.0 C"));
	T_EQ_INT(sl.n, 17);
	sensor_list_release(&sl);
	free(json);
}

static void
test_noted_once_and_fan_stall(void)
{
	char			*json = fixture("amd-k10temp-nct6798.json");
	char			*stalled, *at, *cause = NULL;
	struct sensors_seen	*seen = sensors_seen_create();
	struct sensor_list	 sl;

	T_EQ_INT(sensors_parse_json(json, NULL, seen, &sl, &cause), 0);
	T_EQ_INT(sl.nnotes, 3);
	sensor_list_release(&sl);
	/* The second poll notes nothing new. */
	T_EQ_INT(sensors_parse_json(json, NULL, seen, &sl, &cause), 0);
	T_EQ_INT(sl.nnotes, 0);
	T_EQ_INT(sl.n, 19);
	sensor_list_release(&sl);

	/* fan2 spun before; now it reads 0: kept as a 0 reading (stall). */
	stalled = xstrdup(json);
	at = strstr(stalled, "\"fan2_input\": 1064.000");
	T_OK(at != NULL);
	if (at != NULL)
		memcpy(at, "\"fan2_input\":    0.000", 22);
	T_EQ_INT(sensors_parse_json(stalled, NULL, seen, &sl, &cause), 0);
	T_OK(value_of(&sl, "nct6798-isa-0290", "fan2") == 0);
	T_EQ_INT(sl.nnotes, 0);
	sensor_list_release(&sl);
	/* Without memory the same text drops it and says why. */
	T_EQ_INT(sensors_parse_json(stalled, NULL, NULL, &sl, &cause), 0);
	T_OK(sensors_find(&sl, "*", "fan2") == NULL);
	T_OK(has_note(&sl, "nct6798-isa-0290/fan2: 0 RPM"));
	sensor_list_release(&sl);
	sensors_seen_free(seen);
	free(stalled);
	free(json);
}

/*
 * A node that prints ever new chip names cannot grow the memory of one
 * host without end: 1,024 keys are remembered, oddities past them are
 * noted again on each poll (never dropped in silence).
 */
static void
test_seen_is_bounded(void)
{
	struct sensors_seen	*seen = sensors_seen_create();
	struct sensor_list	 sl;
	struct buf		 b;
	char			*cause = NULL;
	int			 i;

	buf_init(&b, 0);
	buf_puts(&b, "{");
	for (i = 0; i < 1500; i++)
		buf_printf(&b, "%s\"c%d-isa-0\": {\"fan1\": {\"fan1_input\": "
		    "0.000}}", i ? ", " : "", i);
	buf_puts(&b, "}");
	T_EQ_INT(sensors_parse_json(buf_cstr(&b), NULL, seen, &sl, &cause),
	    0);
	T_EQ_INT(sl.nnotes, 1500);
	sensor_list_release(&sl);
	for (i = 0; i < 2; i++) {
		T_EQ_INT(sensors_parse_json(buf_cstr(&b), NULL, seen, &sl,
		    &cause), 0);
		T_EQ_INT(sl.nnotes, 1500 - 1024);
		T_EQ_INT(sl.n, 0);
		sensor_list_release(&sl);
	}
	sensors_seen_free(seen);
	buf_release(&b);
}

static void
test_bad_input(void)
{
	char			*cause = NULL, *text;
	struct sensor_list	 sl;

	T_EQ_INT(sensors_parse_json("No sensors found!", NULL, NULL, &sl,
	    &cause), -1);
	T_CONTAINS(cause, "sensors output is not JSON");
	free(cause);
	cause = NULL;
	T_EQ_INT(sensors_parse_json("[1, 2]", NULL, NULL, &sl, &cause), -1);
	T_CONTAINS(cause, "not a JSON object");
	free(cause);
	cause = NULL;
	/* Odd shapes are skipped, not trusted. */
	T_EQ_INT(sensors_parse_json("{\"x-isa-0\": {\"Adapter\": \"ISA\", "
	    "\"a\": {\"temp1_input\": \"hot\"}, \"b\": 5, "
	    "\"c\": {\"temp2_input\": 33.5, \"temp2_inputx\": 9, "
	    "\"tempx_input\": 9, \"fan_input\": 9}}, \"y\": 3}", NULL, NULL,
	    &sl, &cause), 0);
	T_EQ_INT(sl.n, 1);
	T_OK(value_of(&sl, "x-isa-0", "c") == 33.5);
	sensor_list_release(&sl);
	/* Volts and amperes: limits only when min < max; noise dropped. */
	T_EQ_INT(sensors_parse_json("{\"ina3221-i2c-1-40\": {\"Adapter\": "
	    "\"i2c\", \"VBUS\": {\"in1_input\": 12.1, \"in1_min\": 11.4, "
	    "\"in1_max\": 12.6}, \"IBUS\": {\"curr1_input\": 1.25, "
	    "\"curr1_max\": 0.0}, \"in9\": {\"in9_input\": 65535.0}}}", NULL,
	    NULL, &sl, &cause), 0);
	T_EQ_INT(sl.n, 2);
	T_OK(sensors_find(&sl, "*", "VBUS")->kind == SENSOR_VOLTAGE);
	T_OK(sensors_find(&sl, "*", "VBUS")->has_limits);
	T_OK(sensors_find(&sl, "*", "VBUS")->min == 11.4);
	T_OK(sensors_find(&sl, "*", "IBUS")->kind == SENSOR_CURRENT);
	T_OK(!sensors_find(&sl, "*", "IBUS")->has_limits);
	T_OK(has_note(&sl, "ina3221-i2c-1-40/in9: 65535 is outside"));
	text = sensors_format(&sl);
	T_EQ_STR(text, "ina3221-i2c-1-40: VBUS 12.10 V (11.40-12.60), IBUS "
	    "1.25 A\n");
	free(text);
	sensor_list_release(&sl);
	T_EQ_INT(sensors_parse_json("{}", NULL, NULL, &sl, &cause), 0);
	T_EQ_INT(sl.n, 0);
	text = sensors_format(&sl);
	T_EQ_STR(text, "no readings");
	free(text);
	sensor_list_release(&sl);
	sensor_list_release(NULL);
	sensors_seen_free(NULL);
}

int
main(void)
{
	T_RUN(test_amd_board);
	T_RUN(test_intel_board);
	T_RUN(test_ignore_globs_and_range);
	T_RUN(test_noted_once_and_fan_stall);
	T_RUN(test_seen_is_bounded);
	T_RUN(test_bad_input);
	return t_summary();
}
