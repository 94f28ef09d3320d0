/*
 * tz.h - time zones read from the TZif files of /usr/share/zoneinfo,
 * without the process environment: no setenv("TZ"), no tzset(), so a
 * conversion never races with a thread that reads the environment
 * (libcurl does).
 *
 * The name-based calls (tz_localtime, tz_mktime, tz_check) are declared
 * in util.h, where every part already finds them. This header adds the
 * zone objects themselves, for the tests and the fuzz target.
 */
#ifndef PVEBOT_TZ_H
#define PVEBOT_TZ_H

#include <stddef.h>
#include <stdint.h>

struct tm;
struct tz_zone;

/* Where zone names are looked up. */
#define TZ_DIR		"/usr/share/zoneinfo"
/* Largest zone file read (the biggest in tzdata is about 4 KiB). */
#define TZ_FILE_MAX	(256 * 1024)

/*
 * Parses a TZif file (RFC 8536, versions 1 to 4): the 64-bit transitions
 * and the POSIX TZ footer used for times past the last transition. Zones
 * with leap seconds ("right/...") are refused. NULL and *cause on error.
 */
struct tz_zone	*tz_zone_parse(const void *data, size_t len, char **cause);
void		 tz_zone_free(struct tz_zone *);

/*
 * Local time of UNIX time t, with tm_isdst, tm_gmtoff and tm_zone set
 * (tm_zone points into the zone: valid while the zone lives). -1 when t
 * is too far from today for a struct tm (beyond about a billion years).
 */
int		 tz_zone_localtime(const struct tz_zone *, int64_t t,
		    struct tm *out);
/*
 * UNIX time of a local date and time (fields may be out of range, as for
 * mktime(3); tm_isdst is ignored). A time that happens twice (clocks go
 * back) gives the earlier instant; a time that never happens (clocks go
 * forward) is read with the offset in force before the jump, so 02:30 on
 * a spring-forward night at 02:00 becomes 03:30. -1 when out of range.
 */
int		 tz_zone_mktime(const struct tz_zone *, const struct tm *local,
		    int64_t *t);

#endif
