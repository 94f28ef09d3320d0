/*
 * store_monitor.h - what the monitor (src/monitor/) keeps in the store,
 * and what it reads there of other parts' tables.
 *
 * store/alerts.c: the alerts (one row per rule and target, struct
 * alert_row of monitor.h) and their history (alert_events); the
 * silences, in the same file, are store_silences.h's.
 * store/monitor_state.c: the metric samples the digest and the
 * disk trends draw from, and the monitor's reads of the jobs and audit
 * tables (what pvebot itself asked for or stopped).
 *
 * Each call is one statement (or one read loop) on the caller's
 * connection and part of the caller's transaction when one is open:
 * callers that need several writes to land together wrap them in
 * store_begin()/store_commit(). Returns: 0 or -1 for writes; 1 (found),
 * 0 (absent) or -1 (cannot tell) for questions; rows come back as
 * arrays the caller frees with the matching _free function (NULL and 0
 * when there are none; on -1, the rows read before the error). A
 * statement that cannot be prepared is logged by the store.
 */
#ifndef PVEBOT_STORE_MONITOR_H
#define PVEBOT_STORE_MONITOR_H

#include <stddef.h>
#include <stdint.h>

struct alert_row;
struct store;

/* ---- alerts (store/alerts.c) ---- */

/*
 * Every alert, by id. A state the binary does not know reads as
 * ALERT_INACTIVE; absent times and counters read as 0, absent texts as
 * NULL. Free with alert_rows_free().
 */
int	alerts_all(struct store *, struct alert_row **, size_t *);
/* Frees the rows' texts, then the array. */
void	alert_rows_free(struct alert_row *, size_t);
/*
 * A new alert (rule and target are unique); sets row->id. Times and
 * counters that are 0 and texts that are NULL are stored as NULL.
 */
int	alert_insert(struct store *, struct alert_row *);
/* Everything but id, rule and target, of the alert with that rule and
 * target; 0 also when there is none. */
int	alert_update(struct store *, const struct alert_row *);
/* Acks an alert not acked yet: 1 acked now, 0 absent or already acked. */
int	alert_ack(struct store *, int64_t id, const char *user);
/* Is the alert of this rule and target pending, firing or flapping. */
int	alert_active(struct store *, const char *rule, const char *target);

/* ---- alert history (store/alerts.c) ---- */

/* One event of an alert ("fired", "resolved", "flapping", ...). */
int	alert_event_add(struct store *, int64_t alert_id, int64_t at,
	    const char *kind);
/* How many events of that kind happened after `since`; -1 on error. */
int64_t	alert_events_count(struct store *, const char *kind, int64_t since);
/* Forgets the events before `before`. */
int	alert_events_prune(struct store *, int64_t before);

/* ---- metric samples (store/monitor_state.c) ---- */

/* One value of a series ("node.cpu:pve1") at a time. */
struct metric_sample {
	int64_t	 at;
	double	 value;
};

/* Stores the series' value at `at`, replacing one stored for that time. */
int	metric_sample_put(struct store *, const char *series, int64_t at,
	    double value);
/* Forgets the samples of every series before `before`. */
int	metric_samples_prune(struct store *, int64_t before);
/* The samples with after < at <= until, in no particular order; free
 * the array with free(). */
int	metric_samples_range(struct store *, const char *series,
	    int64_t after, int64_t until, struct metric_sample **, size_t *);
/* The highest value with at > after: 1 found (*out set), 0 none. */
int	metric_sample_max(struct store *, const char *series, int64_t after,
	    double *out);
/* The lowest value with from <= at <= until: 1 found (*out set), 0 none. */
int	metric_sample_min(struct store *, const char *series, int64_t from,
	    int64_t until, double *out);

/* ---- jobs and audit, as the monitor reads them (store/monitor_state.c) */

/* A job in a report. */
struct job_line {
	int64_t	 id;
	char	*requester;
	char	*command;
	char	*state;
};
/* Frees the lines' texts, then the array. */
void	job_lines_free(struct job_line *, size_t);

/* Jobs asked by a schedule (requester "schedule:NAME") created after
 * `since`, by id. */
int	jobs_scheduled_since(struct store *, int64_t since,
	    struct job_line **, size_t *);
/* At most `max` jobs of `requester` still waiting (resolving, awaiting
 * approval, queued), by id. */
int	jobs_waiting_of(struct store *, const char *requester, size_t max,
	    struct job_line **, size_t *);
/* Actions (kind 'action') in `state` that ended (or, not ended, were
 * created) after `since`; -1 on error. */
int64_t	jobs_actions_count_since(struct store *, const char *state,
	    int64_t since);
/*
 * Is a job of `requester` for `command` still open (resolving, awaiting
 * approval, queued, running), or refused, denied or expired at or after
 * `since`.
 */
int	jobs_request_pending(struct store *, const char *requester,
	    const char *command, int64_t since);
/*
 * Did a job stop (or may it have stopped) guest `vmid`: a stop,
 * shutdown, reboot, suspend, migration or rollback of it (and, with
 * `backups`, a backup of it) queued, running, or ended (or started, or
 * created) at or after `since`.
 */
int	jobs_stopping_guest_since(struct store *, int vmid, int64_t since,
	    int backups);
/*
 * The arguments (JSON arrays as stored) of the node shutdowns and
 * stop-alls queued, running, or ended (or started, or created) at or
 * after `since`. Free with strv_free().
 */
int	jobs_node_stops_since(struct store *, int64_t since, char ***args,
	    size_t *n);
/*
 * Did the router refuse `command` from `actor` at or after `since`: an
 * audit row command.refused whose detail holds " command=COMMAND ".
 */
int	audit_refused_since(struct store *, const char *actor,
	    const char *command, int64_t since);

#endif
