/*
 * schedule.h - commands on a calendar (core/schedule.c): schedules.yaml,
 * the calendar expressions Proxmox uses for its backup jobs (a subset of
 * systemd calendar events), and when each schedule is due.
 *
 * A schedule is a name, a calendar expression, a command line as a user
 * would type it, the room its messages go to and what to do with a run
 * missed while pvebot was down. Its run is a chat event from the identity
 * `schedule:NAME` that the router judges like any other (policy,
 * approvals, queue, audit), carrying the run's minute as the event's
 * offset ("schedule:NAME"), so the last run is saved in the same
 * transaction as the job it produced: a run never happens twice, even
 * across a restart in that minute.
 *
 * Calendar subset: [DAYS] [HOURS:MINUTES], or hourly, daily, weekly.
 *   DAYS     mon,wed..fri    (mon tue wed thu fri sat sun; a..b a range)
 *   HOURS    *  2  2,14  8..18  0/6 (from 0 every 6; also with *)
 *   MINUTES  00  0,30  0/15  5/10
 * Without DAYS every day; without a time 00:00. Times are in the
 * schedules file's timezone (default UTC).
 */
#ifndef PVEBOT_SCHEDULE_H
#define PVEBOT_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

struct app;
struct buf;
struct store;

struct calendar {
	uint8_t		 days;		/* bit 0 = Sunday (tm_wday) */
	uint32_t	 hours;		/* bit h */
	uint64_t	 minutes;	/* bit m */
};

/* 0, or -1 with *cause naming the bad part. */
int	calendar_parse(const char *expr, struct calendar *, char **cause);
/* The first matching minute after `after` (UNIX seconds); -1 if none
 * within 8 days (cannot happen for a parsed expression). */
int64_t	calendar_next(const struct calendar *, const char *tz, int64_t after);
/* The last matching minute at or before t; -1 if none within 8 days. */
int64_t	calendar_prev(const struct calendar *, const char *tz, int64_t t);

struct schedule {
	char		*name;
	char		*expr;
	struct calendar	 cal;
	char		*command;
	char		*connector;	/* from room: "telegram:-100123" */
	char		*room;
	int		 catch_up;	/* missed: run (1) or skip (0) */
	int		 line;
};

struct schedules {
	char		*file;
	char		*tz;		/* NULL: UTC */
	struct schedule	*v;
	size_t		 n;
};

/*
 * Loads a schedules file. NULL with *errors (every problem, one
 * "file:line:column: message\n" each) on failure.
 */
struct schedules *schedules_load(const char *path, char **errors);
struct schedules *schedules_load_string(const char *name, const char *text,
	    size_t len, char **errors);
void	schedules_free(struct schedules *);
/*
 * Every schedule's command must parse against the catalogue: 0, or -1
 * with *errors ("file:line:1: schedule NAME: why\n" each).
 */
struct catalogue;
int	schedules_check(const struct schedules *, const struct catalogue *,
	    char **errors);

enum schedule_due {
	SCHEDULE_NOTHING,
	SCHEDULE_RUN,		/* its time came while pvebot ran */
	SCHEDULE_CATCH_UP,	/* missed while down: run it once now */
	SCHEDULE_SKIP,		/* missed while down: say so, skip it */
};

/*
 * What to do for one schedule at `now`, given its last run (`last`, the
 * slot saved with its last job or skip) and when this process started:
 * the latest slot at or before now that is after `last` is due; if it
 * came before `started` (pvebot was down at that moment, even by a few
 * seconds) it was missed. *slot gets that minute. A schedule never run
 * counts from the moment pvebot first saw it.
 */
enum schedule_due schedule_due(const struct schedule *, const char *tz,
	    int64_t last, int64_t started, int64_t now, int64_t *slot);

/*
 * The command a run sends: each {time} in the schedule's command is the
 * run's minute in the schedules' time zone, YYYYMMDD-HHMM, so a
 * scheduled `snapshot 101 auto-{time}` names each snapshot anew.
 * Caller frees.
 */
char	*schedule_command(const struct schedule *, const char *tz,
	    int64_t slot);

/* The store key that keeps a schedule's last run. */
char	*schedule_key(const struct schedule *);	/* caller frees */

/*
 * The scheduler thread: once a second it submits due runs to the router
 * (schedule.c). `now_offset` shifts its clock (tests, through
 * PVEBOT_SCHEDULE_NOW); the router and the rest keep the real time.
 */
struct scheduler;
struct scheduler *scheduler_start(struct app *, const struct schedules *,
	    int64_t now_offset, char **cause);
void	scheduler_stop(struct scheduler *);

/* `schedules`: each with its expression, next and last run. */
void	schedules_format(const struct schedules *, struct store *,
	    int64_t now, struct buf *out);

#endif
