/*
 * store_hooks.h - what the webhooks keep in the store (store/hooks.c,
 * store/hooks_am.c), and what the HTTP endpoint reads of other parts'
 * tables: the counts /metrics shows, the health check's write probe.
 * The silences a Proxmox notification may fall under are the monitor's
 * (store_silences.h).
 *
 * hook_events holds one row per Proxmox notification, unique by its
 * dedup key, stored "new" and then set to what became of it (alert,
 * digest, silenced; an alert is resolved by a later success of its
 * job). am_groups holds one row per Alertmanager group (receiver and
 * groupKey) with its alerts in am_alerts by fingerprint; am_silences the
 * silences the buttons asked of Alertmanager, pending until the
 * endpoint's thread has made them or given up.
 *
 * Each function runs its statements on the caller's connection, inside
 * the caller's transaction when there is one: callers that need several
 * writes to land together wrap them in store_begin()/store_commit().
 * Writes return 0, or -1 when the database refused (the connection's
 * error says why: store_error()). Rows come back in plain structs
 * the caller owns and gives back with the matching _release/_free
 * function (both accept NULL / zero rows).
 */
#ifndef PVEBOT_STORE_HOOKS_H
#define PVEBOT_STORE_HOOKS_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* ---- hook_events: Proxmox notifications (store/hooks.c) ---- */

/* A notification as stored when it arrives; job_id may be NULL. */
struct hook_event_new {
	const char	*dedup_key;
	const char	*type;
	const char	*hostname;
	const char	*job_id;
	const char	*severity;
	const char	*sender_severity;
	int64_t		 ts;
	const char	*title;
	const char	*message;
	const char	*fields;
	const char	*kind;
	const char	*summary;
	const char	*details;
};
/*
 * Stores it in state "new", received at `now`: 1 with *id, 0 when a
 * notification with the same dedup key is stored already (nothing
 * written), -1 on error.
 */
int	hook_event_add(struct store *, const struct hook_event_new *,
	    int64_t now, int64_t *id);

/* A stored notification; NULL for a column that is NULL or not read. */
struct hook_event {
	int64_t	 id;
	char	*type, *hostname, *job_id, *severity, *title, *kind;
	char	*summary, *details, *state, *acked_by, *notes, *msg_refs;
};
void	hook_event_release(struct hook_event *);
void	hook_events_free(struct hook_event *, size_t n);
/* Every column of notification `id`: 0 found, 1 none, -1 error. */
int	hook_event_find(struct store *, int64_t id, struct hook_event *);
/*
 * The open failures (state "alert") of one job (type, hostname,
 * job_id) stored before notification `before`: id, severity, kind,
 * summary, details, notes and msg_refs of each.
 */
int	hook_events_open_of_job(struct store *, const char *type,
	    const char *hostname, const char *job_id, int64_t before,
	    struct hook_event **, size_t *n);
/* The notifications received after `since`, oldest first: their state
 * and summary only (the digest). */
int	hook_events_since(struct store *, int64_t since,
	    struct hook_event **, size_t *n);
/* Sets its notes, and who acked it unless acked_by is NULL. */
int	hook_event_set_notes(struct store *, int64_t id, const char *acked_by,
	    const char *notes);
/* Closes an open failure: state "resolved", with these notes. */
int	hook_event_resolve(struct store *, int64_t id, const char *notes);
/* What became of a new notification: its state and the messages it was
 * posted in (msg_refs JSON, NULL when none). */
int	hook_event_set_shown(struct store *, int64_t id, const char *state,
	    const char *msg_refs);

/* ---- what /metrics counts (store/hooks.c) ---- */

/* One count by one or two labels (label2 NULL when there is one). */
struct metrics_row {
	char	*label1;
	char	*label2;
	int64_t	 n;
};
void	metrics_rows_free(struct metrics_row *, size_t n);
/* Jobs by kind and state, ordered by both. */
int	metrics_count_jobs(struct store *, struct metrics_row **, size_t *n);
/* Outbox rows still pending, by connector. */
int	metrics_count_outbox(struct store *, struct metrics_row **,
	    size_t *n);
/* The monitor's alerts firing or flapping, by severity (may be NULL). */
int	metrics_count_alerts(struct store *, struct metrics_row **,
	    size_t *n);
/* Proxmox notifications open and not acked, by severity. */
int	metrics_count_hook_events(struct store *, struct metrics_row **,
	    size_t *n);
/* The labels (JSON objects) of the Alertmanager alerts firing in a
 * firing group, one string per alert. Free with strv_free(). */
int	metrics_am_firing_labels(struct store *, char ***labels, size_t *n);

/* ---- the connection (store/hooks.c) ---- */

/*
 * 1 when the database takes a write now: a write transaction begun and
 * rolled back (store_try_begin(): nothing logged, the caller reports),
 * waiting at most the connection's wait for the lock; 0 with *cause
 * when it does not (read-only, locked).
 */
int	hooks_writable(struct store *, char **cause);

/* ---- Alertmanager: am_groups, am_alerts (store/hooks_am.c) ---- */

/* A group; the JSON columns as stored text. */
struct am_group_row {
	int64_t	 id;
	char	*status;	/* firing | resolved, as last shown */
	char	*receiver;
	char	*group_labels;	/* JSON object */
	char	*acked_by;
	char	*notes;
	char	*msg_refs;	/* JSON: [{c, r, m}] */
	char	*rendered;	/* hash of what chat shows */
};
void	am_group_row_release(struct am_group_row *);

/* An alert of a group (only fingerprint and labels for the firing
 * ones). */
struct am_alert_row {
	char	*fingerprint;
	char	*status;	/* firing | resolved */
	char	*labels;	/* JSON object */
	char	*annotations;	/* JSON object */
	char	*starts_at;	/* as Alertmanager sent it; may be NULL */
};
void	am_alert_rows_free(struct am_alert_row *, size_t n);

/*
 * The group (receiver, group_key), created "resolved" when new; its
 * labels, external URL (may be NULL) and update time set to these. *id:
 * its id.
 */
int	am_group_upsert(struct store *, const char *receiver,
	    const char *group_key, const char *group_labels,
	    const char *external_url, int64_t now, int64_t *id);
/* Group `id`: 0 found, 1 none, -1 error. */
int	am_group_find(struct store *, int64_t id, struct am_group_row *);
/* Its alerts, firing first, then by start and fingerprint. */
int	am_group_alerts(struct store *, int64_t id, struct am_alert_row **,
	    size_t *n);
/* Its firing alerts by fingerprint: fingerprint and labels only. */
int	am_group_alerts_firing(struct store *, int64_t id,
	    struct am_alert_row **, size_t *n);
/* A new incident: the group forgets its alerts, ack, notes, messages
 * and what they showed (two statements: call in a transaction). */
int	am_group_restart(struct store *, int64_t id);
/* Stores an alert of group `gid` by fingerprint, replacing what was
 * stored of it; starts_at and ends_at may be NULL. */
int	am_alert_upsert(struct store *, int64_t gid, const char *fingerprint,
	    const char *status, const char *labels, const char *annotations,
	    const char *starts_at, const char *ends_at, int64_t now);
/* What the group's message shows: its status, the messages (msg_refs
 * NULL keeps them) and the hash of the content. */
int	am_group_set_shown(struct store *, int64_t id, const char *status,
	    const char *msg_refs, const char *rendered);
/* Sets its notes, and who acked it unless acked_by is NULL. */
int	am_group_set_notes(struct store *, int64_t id, const char *acked_by,
	    const char *notes);

/* ---- Alertmanager: am_silences (store/hooks_am.c) ---- */

/* A silence request of the buttons. */
struct am_silence_req {
	int64_t	 id;
	int64_t	 group_id;
	char	*created_by;
	char	*comment;
	int64_t	 duration;	/* seconds */
	int64_t	 requested_at;	/* UNIX s */
	int	 attempts;
	char	*silence_ids;	/* JSON {fingerprint: id}; may be NULL */
	int64_t	 next_at;	/* wall clock ms */
};
void	am_silence_reqs_free(struct am_silence_req *, size_t n);
/* A request, pending and due at once; *id gets its id. */
int	am_silence_req_add(struct store *, int64_t gid, const char *created_by,
	    const char *comment, int64_t duration, int64_t now, int64_t *id);
/* At most `max` pending requests, the soonest due first (due or not). */
int	am_silence_reqs_pending(struct store *, size_t max,
	    struct am_silence_req **, size_t *n);
/*
 * Saves a request's progress: state (pending, done, failed), attempts,
 * when it is due next, the silences made so far, the last error (may be
 * NULL); a request no longer pending is finished at `now`.
 */
int	am_silence_req_save(struct store *, int64_t id, const char *state,
	    int attempts, int64_t next_at, const char *silence_ids,
	    const char *error, int64_t now);

#endif
