/*
 * sensors.h - hardware readings (temperatures, fans, voltages and
 * currents) by chip and label, from `sensors -j` output (remote nodes
 * over SSH) and from libsensors on the local machine. Shared by the
 * `sensors` command and the monitor. A voltage or current carries the
 * limits the chip reports for it (inN_min/inN_max, currN_min/currN_max)
 * when they make sense (min below max; boards often report 0/0 for
 * inputs nobody set up).
 *
 * Readings outside a sane range (a 216 C board sensor, a fan header at
 * 0 RPM that never had a fan) are dropped and described in `notes`; an
 * ignore list of "chip/label" globs drops readings silently.
 */
#ifndef PVEBOT_SENSORS_H
#define PVEBOT_SENSORS_H

#include <stddef.h>

enum sensor_kind {
	SENSOR_TEMP,		/* degrees Celsius */
	SENSOR_FAN,		/* RPM */
	SENSOR_VOLTAGE,		/* volts */
	SENSOR_CURRENT		/* amperes */
};

struct sensor_reading {
	char			*chip;	/* "k10temp-pci-00c3" */
	char			*label;	/* "Tctl", "Composite", "fan2" */
	enum sensor_kind	 kind;
	double			 value;
	int			 has_limits;	/* the chip's min < max */
	double			 min, max;
	int			 configured;	/* limits from bot.conf (one
						 * side may be +-HUGE_VAL) */
};

struct sensor_list {
	struct sensor_reading	*v;	/* in the order sensors printed them */
	size_t			 n;
	char			**notes;	/* dropped readings, one line each */
	size_t			 nnotes;
};

#define SENSOR_TEMP_MIN		(-40.0)
#define SENSOR_TEMP_MAX		150.0
#define SENSOR_FAN_MAX		30000.0
/* Volts or amperes beyond this are an unconnected input's noise. */
#define SENSOR_ELECTRIC_MAX	1000.0

struct sensor_filter {
	const char *const	*ignore;	/* "chip/label" globs, '*' '?' */
	size_t			 nignore;
	double			 temp_min;	/* 0: SENSOR_TEMP_MIN */
	double			 temp_max;	/* 0: SENSOR_TEMP_MAX */
	double			 fan_max;	/* 0: SENSOR_FAN_MAX */
};

/*
 * Memory across polls of one host, for the monitor: which fans have
 * been seen spinning (a fan that spun and now reads 0 RPM is kept as a
 * 0 reading, so a stall can alert) and which oddities were already
 * noted (each is noted once). Not thread-safe: one per monitor thread.
 */
struct sensors_seen;
struct sensors_seen	*sensors_seen_create(void);
void			 sensors_seen_free(struct sensors_seen *);

/*
 * Parses `sensors -j` output. filter may be NULL (defaults, no ignore
 * list); seen may be NULL (every oddity is noted, 0 RPM fans dropped).
 * Returns 0, or -1 with *cause when the text is not sensors JSON.
 */
int	sensors_parse_json(const char *json, const struct sensor_filter *,
	    struct sensors_seen *, struct sensor_list *, char **cause);
void	sensor_list_release(struct sensor_list *);

/* Whether "chip/label" matches one of the filter's ignore globs. */
int	sensors_ignored(const struct sensor_filter *, const char *chip,
	    const char *label);

/* The reading for chip (glob) and label, or NULL. */
const struct sensor_reading *sensors_find(const struct sensor_list *,
	    const char *chip_glob, const char *label);

/* One line per chip: "k10temp-pci-00c3: Tctl 45.9 C, Tccd1 41.2 C";
 * "nct6798-isa-0290: Vcore 0.90 V (0.00-1.74), curr1 1.20 A"; limits
 * from bot.conf: "Vcore 1.20 V (0.90-1.40, bot.conf)", "+12V 12.10 V
 * (min 11.40, bot.conf)". */
char	*sensors_format(const struct sensor_list *);

#endif
