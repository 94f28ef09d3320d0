/*
 * test_schedule.c - calendar expressions (the subset of systemd calendar
 * events Proxmox uses for backup jobs), when a schedule is due (on time,
 * missed and caught up, missed and skipped, never twice), and the
 * schedules file's errors with file:line:column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "schedule.h"
#include "t.h"
#include "util.h"

/* UNIX time of a UTC date. */
static int64_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm	tm;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return (int64_t)timegm(&tm);
}

static int64_t
next_of(const char *expr, const char *tz, int64_t after)
{
	struct calendar	 c;
	char		*cause = NULL;

	if (calendar_parse(expr, &c, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "%s: %s", expr, cause);
		free(cause);
		return -2;
	}
	return calendar_next(&c, tz, after);
}

static void
test_calendar_next(void)
{
	/* Friday 2026-12-04 10:00 UTC. */
	int64_t	fri = utc(2026, 12, 4, 10, 0);

	T_EQ_INT(next_of("mon..fri 02:30", NULL, fri), utc(2026, 12, 7, 2, 30));
	T_EQ_INT(next_of("sat 03:00", NULL, fri), utc(2026, 12, 5, 3, 0));
	T_EQ_INT(next_of("fri..mon 09:00", NULL, fri), utc(2026, 12, 5, 9, 0));
	T_EQ_INT(next_of("*:0/15", NULL, fri), utc(2026, 12, 4, 10, 15));
	T_EQ_INT(next_of("hourly", NULL, fri), utc(2026, 12, 4, 11, 0));
	T_EQ_INT(next_of("daily", NULL, fri), utc(2026, 12, 5, 0, 0));
	T_EQ_INT(next_of("weekly", NULL, fri), utc(2026, 12, 7, 0, 0));
	T_EQ_INT(next_of("sun", NULL, fri), utc(2026, 12, 6, 0, 0));
	T_EQ_INT(next_of("2,22:30", NULL, fri), utc(2026, 12, 4, 22, 30));
	T_EQ_INT(next_of("8..18:05", NULL, fri), utc(2026, 12, 4, 10, 5));
	T_EQ_INT(next_of("10:00", NULL, fri), utc(2026, 12, 5, 10, 0));
	/* In the schedules' time zone: 02:30 in Berlin is 01:30 UTC in
	 * winter. */
	T_EQ_INT(next_of("mon 02:30", "Europe/Berlin", fri),
	    utc(2026, 12, 7, 1, 30));
}

static void
test_calendar_errors(void)
{
	static const char *const bad[] = { "", "funday 02:30", "mon..fri",
	    "25:00", "02:60", "mon 02:30 extra", "mon,,tue 02:00",
	    "02:30,", "*/0:00", "mon..xyz 01:00", "2..1:00" };
	struct calendar	 c;
	char		*cause;
	size_t		 i;

	for (i = 0; i < nitems(bad); i++) {
		cause = NULL;
		if (strcmp(bad[i], "mon..fri") == 0) {
			/* Days alone mean midnight. */
			T_EQ_INT(calendar_parse(bad[i], &c, &cause), 0);
			T_OK(c.minutes == 1 && c.hours == 1);
			continue;
		}
		T_EQ_INT(calendar_parse(bad[i], &c, &cause), -1);
		T_OK(cause != NULL && *cause != '\0');
		free(cause);
	}
	cause = NULL;
	T_EQ_INT(calendar_parse("funday 02:30", &c, &cause), -1);
	T_CONTAINS(cause, "'funday' is not a list of days");
	free(cause);
}

static void
test_due(void)
{
	struct schedule	 s;
	char		*cause = NULL;
	int64_t		 slot, mon0230 = utc(2026, 12, 7, 2, 30);

	memset(&s, 0, sizeof s);
	s.name = "nightly";
	T_EQ_INT(calendar_parse("mon..fri 02:30", &s.cal, &cause), 0);
	/* Running since Sunday: on time at 02:30:00 and during that minute,
	 * once. */
	T_EQ_INT(schedule_due(&s, NULL, mon0230 - 86400, mon0230 - 3600,
	    mon0230 - 1, &slot), SCHEDULE_NOTHING);
	T_EQ_INT(schedule_due(&s, NULL, mon0230 - 86400, mon0230 - 3600,
	    mon0230, &slot), SCHEDULE_RUN);
	T_EQ_INT(slot, mon0230);
	T_EQ_INT(schedule_due(&s, NULL, mon0230 - 86400, mon0230 - 3600,
	    mon0230 + 59, &slot), SCHEDULE_RUN);
	/* Its run saved: never again in that minute, nor later that day. */
	T_EQ_INT(schedule_due(&s, NULL, mon0230, mon0230 - 3600,
	    mon0230 + 30, &slot), SCHEDULE_NOTHING);
	T_EQ_INT(schedule_due(&s, NULL, mon0230, mon0230 + 40, mon0230 + 45,
	    &slot), SCHEDULE_NOTHING);
	T_EQ_INT(schedule_due(&s, NULL, mon0230, mon0230 - 3600,
	    mon0230 + 3 * 3600, &slot), SCHEDULE_NOTHING);
	/* Down at 02:30:00, back at 02:30:20 without a saved run: missed. */
	T_EQ_INT(schedule_due(&s, NULL, mon0230 - 86400, mon0230 + 20,
	    mon0230 + 21, &slot), SCHEDULE_SKIP);
	/* Down from 02:00 to 04:00: missed, skipped by default... */
	T_EQ_INT(schedule_due(&s, NULL, mon0230 - 86400, mon0230 + 5400,
	    mon0230 + 5401, &slot), SCHEDULE_SKIP);
	T_EQ_INT(slot, mon0230);
	/* ...or run once when the schedule says missed: run. */
	s.catch_up = 1;
	T_EQ_INT(schedule_due(&s, NULL, mon0230 - 86400, mon0230 + 5400,
	    mon0230 + 5401, &slot), SCHEDULE_CATCH_UP);
	/* Down for three days: only the latest slot is caught up. */
	T_EQ_INT(schedule_due(&s, NULL, mon0230 - 86400, mon0230 + 3 * 86400
	    + 3600, mon0230 + 3 * 86400 + 3601, &slot), SCHEDULE_CATCH_UP);
	T_EQ_INT(slot, mon0230 + 3 * 86400);
}

static void
test_file_errors(void)
{
	const char	*good =
	    "timezone: Europe/Berlin\n"
	    "schedules:\n"
	    "  - name: nightly-backup\n"
	    "    on: \"mon..fri 02:30\"\n"
	    "    command: backup 107\n"
	    "    room: telegram:-100123\n"
	    "    missed: run\n";
	const char	*bad =
	    "schedules:\n"
	    "  - name: a\n"
	    "    on: \"someday 02:30\"\n"
	    "    command: start 101\n"
	    "    room: console:console\n"
	    "  - name: b\n"
	    "    on: daily\n"
	    "    command: start 101\n"
	    "    room: console\n"
	    "    missed: later\n"
	    "    colour: blue\n"
	    "  - name: c\n"
	    "    on: daily\n"
	    "    command: x\n"
	    "    room: console:console\n"
	    "  - name: c\n"
	    "    on: daily\n"
	    "    command: y\n"
	    "    room: console:console\n";
	struct schedules	*ss;
	char			*errors = NULL;

	ss = schedules_load_string("schedules.yaml", good, strlen(good),
	    &errors);
	T_OK(ss != NULL);
	T_OK(errors == NULL);
	if (ss != NULL) {
		T_EQ_INT(ss->n, 1);
		T_EQ_STR(ss->tz, "Europe/Berlin");
		T_EQ_STR(ss->v[0].connector, "telegram");
		T_EQ_STR(ss->v[0].room, "-100123");
		T_EQ_INT(ss->v[0].catch_up, 1);
	}
	schedules_free(ss);
	ss = schedules_load_string("schedules.yaml", bad, strlen(bad),
	    &errors);
	T_OK(ss == NULL);
	T_CONTAINS(errors, "schedules.yaml:3:9: on: 'someday' is not a list "
	    "of days");
	T_CONTAINS(errors, "schedules.yaml:9:11: room: expected "
	    "CONNECTOR:ROOM");
	T_CONTAINS(errors, "schedules.yaml:10:13: missed: expected run or "
	    "skip");
	T_CONTAINS(errors, "schedules.yaml:11:5: unknown key 'colour'");
	T_CONTAINS(errors, "schedules.yaml:16:5: schedule 'c' is already "
	    "defined at line 12");
	free(errors);
	errors = NULL;
	ss = schedules_load_string("s.yaml", "schedules: [\n", 13, &errors);
	T_OK(ss == NULL);
	T_CONTAINS(errors, "s.yaml:");
	free(errors);
}

/* Each command must be one the catalogue parses (`pvebot check`). */
static void
test_commands_checked(void)
{
	const char		*text =
	    "schedules:\n"
	    "  - name: ok\n"
	    "    on: daily\n"
	    "    command: backup 107 snapshot nas-backup\n"
	    "    room: console:console\n"
	    "  - name: typo\n"
	    "    on: daily\n"
	    "    command: frobnicate 101\n"
	    "    room: console:console\n";
	struct catalogue	*cat;
	struct schedules	*ss;
	char			*errors = NULL;

	cat = catalogue_load("commands", &errors);
	T_OK(cat != NULL);
	free(errors);
	errors = NULL;
	ss = schedules_load_string("s.yaml", text, strlen(text), &errors);
	T_OK(ss != NULL);
	T_EQ_INT(schedules_check(ss, cat, &errors), -1);
	T_CONTAINS(errors, "s.yaml:6:1: schedule typo: unknown command "
	    "'frobnicate'");
	T_NOT_CONTAINS(errors, "schedule ok");
	free(errors);
	schedules_free(ss);
	catalogue_free(cat);
}

/*
 * {time} in a command is the run's local minute: each scheduled
 * snapshot gets its own name, and `pvebot check` accepts the command.
 */
static void
test_command_time(void)
{
	const char		*text =
	    "timezone: Europe/Berlin\n"
	    "schedules:\n"
	    "  - name: snap\n"
	    "    on: daily\n"
	    "    command: snapshot 101 auto-{time} nightly {time}\n"
	    "    room: console:console\n";
	struct catalogue	*cat;
	struct schedules	*ss;
	char			*errors = NULL, *cmd;

	cat = catalogue_load("commands", &errors);
	T_OK(cat != NULL);
	free(errors);
	errors = NULL;
	ss = schedules_load_string("s.yaml", text, strlen(text), &errors);
	T_OK(ss != NULL);
	if (ss == NULL || cat == NULL)
		goto out;
	T_EQ_INT(schedules_check(ss, cat, &errors), 0);
	free(errors);
	/* 2026-12-04 10:00 UTC is 11:00 in Berlin. */
	cmd = schedule_command(&ss->v[0], ss->tz, 1796378400);
	T_EQ_STR(cmd, "snapshot 101 auto-20261204-1100 nightly "
	    "20261204-1100");
	free(cmd);
out:
	schedules_free(ss);
	catalogue_free(cat);
}

int
main(void)
{
	T_RUN(test_calendar_next);
	T_RUN(test_calendar_errors);
	T_RUN(test_due);
	T_RUN(test_file_errors);
	T_RUN(test_commands_checked);
	T_RUN(test_command_time);
	return t_summary();
}
