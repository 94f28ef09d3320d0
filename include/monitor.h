/*
 * monitor.h - watching the cluster without being asked: threshold rules
 * with for-duration, hysteresis, repeat, resolve, flap damping and
 * silences; hardware readings; the daily digest (monitor/).
 *
 * Time is always passed in (`now`, UNIX seconds): the thread passes the
 * wall clock, tests fast-forward by passing later times.
 */
#ifndef PVEBOT_MONITOR_H
#define PVEBOT_MONITOR_H

#include <stddef.h>
#include <stdint.h>

struct app;
struct connector;
struct store;
struct conf;
struct monitor;
struct conf_rule;
struct conf_monitor;
struct conf_window;

struct monitor	*monitor_create(struct app *, char **cause);
int		 monitor_start(struct monitor *, char **cause);
/*
 * A reloaded bot.conf (kept alive by the app): its rules, windows,
 * quiet hours and digest take over at the next cycle, which starts now.
 */
void		 monitor_reload(struct monitor *, const struct conf *);
void		 monitor_stop(struct monitor *);
void		 monitor_free(struct monitor *);

/*
 * Alert buttons and their text forms, run by the router inside its
 * transaction: "ack:ID" and "sil:ID:1h"; the webhooks' ("ack:e12",
 * "sil:m3:4h") go on to http_button(). Returns 1 when `data` was an
 * alert button (then *answer is set, caller frees), 0 otherwise.
 */
int		 monitor_button(struct store *, const char *user,
		    const char *data, int64_t now, char **answer);

/*
 * One monitor cycle at time `now`: poll the cluster and the sensors,
 * evaluate every rule, post what changed, send the digest when it is due.
 * The thread calls it every interval; tests call it with injected time.
 */
int		 monitor_cycle(struct monitor *, int64_t now);
/*
 * Hands `sensors -j` output of `host` to the monitor, parsed and
 * filtered as the thread does with SSH output (per-host memory of fans
 * seen spinning and of oddities already logged). Its readings take part
 * in the next cycle. 0, or -1 with *cause when the text is not sensors
 * JSON.
 */
int		 monitor_sensors_input(struct monitor *, const char *host,
		    const char *json, char **cause);
/* The daily digest as of `now`; caller frees. */
char		*monitor_digest_text(struct app *, struct store *,
		    int64_t now, char **cause);

/*
 * The rule state machine (monitor_rule.c): pure, no I/O, no clock.
 */
enum alert_state {
	ALERT_INACTIVE,
	ALERT_PENDING,		/* condition holds, `for` not yet over */
	ALERT_FIRING,
	ALERT_RESOLVED,
	ALERT_FLAPPING,		/* flipped too often: held, one message */
	ALERT_STALE,		/* firing, but not measured for stale_after
				 * cycles: neither firing nor resolved */
	ALERT_UNKNOWN		/* firing, but its target cannot be measured
				 * (its node is offline) for stale_after
				 * cycles */
};

enum alert_action {
	ALERT_NONE,
	ALERT_FIRE,		/* newly firing: tell the rooms */
	ALERT_REPEAT,		/* still firing and `repeat` is over */
	ALERT_RESOLVE,		/* back to normal */
	ALERT_FLAP,		/* now held as flapping */
	ALERT_UNFLAP,		/* calm again and still firing */
	ALERT_STALE_NOW,	/* went stale or unknown: say so */
	ALERT_BACK		/* measured again after stale, still firing */
};

/* A rule with the override for one target applied. */
struct alert_rule {
	const char	*name;
	const char	*metric;
	const char	*op;		/* ">", ">=", "<", "<=" */
	double		 threshold;
	double		 clear;
	int		 has_clear;
	int64_t		 for_s;
	int64_t		 repeat;	/* 0 = never */
	const char	*severity;
	int		 flap_count;	/* more flips than this: flapping */
	int64_t		 flap_window;
};

/*
 * One (rule, target) as stored in table alerts. In ALERT_FLAPPING,
 * flap_window_start is the time of the last flip and resolved_at is 0
 * while the condition holds (the time it stopped holding otherwise).
 */
struct alert_row {
	int64_t		 id;		/* 0 until stored */
	char		*rule;
	char		*target;
	enum alert_state state;
	char		*severity;
	double		 value;
	int64_t		 pending_since;
	int64_t		 fired_at;
	int64_t		 resolved_at;
	int64_t		 last_sent_at;
	char		*acked_by;	/* NULL unless acked */
	int		 flaps;
	int64_t		 flap_window_start;
	char		*msg_refs;	/* JSON array, NULL when never posted */
	char		*summary;
	int		 missed;	/* cycles in a row not measured */
	int64_t		 last_seen_at;	/* last real measurement */
};

const char	*alert_state_name(enum alert_state);
int		 alert_state_parse(const char *, enum alert_state *);
/*
 * Advances one (rule, target) by one observation. `present` is 0 when
 * the target was not measured (gone, or its guest stopped): a firing
 * alert then resolves. Returns what the rooms should be told; the
 * caller decides whether they are (silences, mutes, quiet hours).
 */
enum alert_action alert_step(struct alert_row *, int present, double value,
		    int64_t now, const struct alert_rule *);
/*
 * One cycle in which an open alert's target was not measured (the
 * source could not be read, or stopped reporting it; `unknown`: the
 * target exists but cannot be measured now, e.g. its node is offline).
 * After `stale_after` such cycles in a row a firing alert becomes
 * stale (or unknown) and a pending one goes back to inactive without a
 * word. Nothing here ever resolves: only a measurement back past the
 * clear level does (alert_step).
 */
enum alert_action alert_miss(struct alert_row *, int unknown,
		    int stale_after, int64_t now);
/* Open: pending, firing, flapping, stale or unknown. */
int		 alert_state_open(enum alert_state);
/* Whether value breaches threshold under op. */
int		 alert_breach(const char *op, double value, double threshold);

/*
 * What a selector or override target may match: one measured thing.
 */
struct mon_target {
	const char	*kind;		/* node guest storage cluster sensor
					 * disk zfs cert replication ceph */
	const char	*node;		/* node or sensor host, may be NULL */
	int		 vmid;		/* guests, 0 otherwise */
	const char	*name;		/* guest name, storage id, chip/label */
	const char	*tags;		/* guest tags "a;b", may be NULL */
};
/* "101", "100-199", "tag:db", "name:web*", "node:pve1", "storage:*",
 * "sensor:k10temp-*\/Tctl", "disk:sd*", "zfs:tank", "cert:pve-ssl*",
 * "replication:101-*", "cluster", "ceph", "*". */
int		 mon_select_match(const char *selector, const struct mon_target *);
/* The rule for one target: 0, or -1 when it is not selected or an
 * override excludes it. */
int		 mon_rule_for(const struct conf_rule *, const struct conf_monitor *,
		    const struct mon_target *, struct alert_rule *out);

/* Labels a silence matcher sees for an alert. */
struct mon_labels {
	int64_t		 alert_id;
	int64_t		 group_id;	/* the message it was posted in */
	const char	*rule;
	const char	*target;
	const char	*node;
	int		 vmid;
	const char	*storage;
	const char	*severity;
	const char	*guest_name;	/* guest=NAME matches it too */
};
/*
 * "rule=node-cpu-high,node=pve1,guest=101,severity=warning,alert=12,
 * target=node:pve1,storage=local" (globs allowed in values). 1 when every
 * key matches, 0 when one does not, -1 for a malformed matcher.
 */
int		 mon_matcher_match(const char *matcher, const struct mon_labels *);

/*
 * The alert rooms (monitor.c): calls fn for each (connector, room) with
 * alerts on, the places alerts, digests and announcements are posted.
 */
void		 mon_alert_rooms(struct app *, void (*fn)(void *arg,
		    struct connector *, const char *room), void *arg);

/*
 * The rules for a new silence (`silence MATCHER DURATION [reason]`, by
 * identity `who`): -1 with *refusal (caller frees; it names the maximum)
 * when it would last longer than max_secs. Otherwise 0, and *notice is
 * the text for the alert rooms when the silence lasts longer than a day
 * or its matcher matches every alert (caller frees), NULL when it needs
 * no announcement.
 */
int		 mon_silence_check(int64_t max_secs, const char *matcher,
		    int64_t secs, const char *who, const char *reason,
		    int64_t now, char **refusal, char **notice);

/*
 * Windows (quiet hours, backup windows) at local time tm: days "*",
 * "mon-fri", "sat,sun"; start > end wraps past midnight and belongs to
 * the day it started.
 */
struct tm;
int		 mon_window_active(const struct conf_window *, const struct tm *);
/* severity rank: info 0, warning 1, critical 2 (unknown: warning). */
int		 mon_severity_rank(const char *);

/* "▁▂▃▄▅▆▇█" line of values scaled to [lo, hi]; caller frees. */
char		*mon_sparkline(const double *, size_t n, double lo, double hi);
/* used as a percentage of total; 0 when total is 0. */
double		 mon_pct(double used, double total);
/* "███░░░░░░░" bar of `width` cells for pct 0..100; caller frees. */
char		*mon_bar(double pct, int width);

#endif
