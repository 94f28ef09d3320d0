/*
 * monitor_rule.c - the alert state machine and the small pure pieces
 * around it: selectors, overrides, silence matchers, time windows,
 * sparklines and bars.
 *
 * Nothing here reads a clock, a socket or the database: every input is
 * an argument, so the tests drive it with injected time. alert_step() is
 * the one function that moves an alert between states:
 *
 *   inactive/resolved -> pending    the condition starts to hold
 *   pending -> firing               it held for `for` seconds
 *   pending -> inactive             it stopped before that
 *   firing -> resolved              it went back past `clear`
 *   firing/resolved -> flapping     more than flap_count flips in
 *                                   flap_window
 *   flapping -> firing/resolved     no flip for a whole flap_window
 *   firing -> stale/unknown         not measured for stale_after cycles
 *                                   (alert_miss; unknown: the target
 *                                   exists but cannot be measured)
 *   stale/unknown -> firing         measured again, still past `clear`
 *   stale/unknown -> resolved       measured again, back past `clear`
 *
 * A missing measurement never resolves: "not measured" is not "back to
 * normal". Only alert_step() with a real value resolves (or with
 * present 0, which the caller passes only when it saw the target gone:
 * a guest that stopped or was removed in a list that was read).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "monitor.h"
#include "util.h"

static const char *const state_names[] = {
	"inactive", "pending", "firing", "resolved", "flapping", "stale",
	"unknown"
};

const char *
alert_state_name(enum alert_state s)
{
	if ((size_t)s >= nitems(state_names))
		return "inactive";
	return state_names[s];
}

int
alert_state_parse(const char *name, enum alert_state *out)
{
	size_t	 i;

	for (i = 0; name != NULL && i < nitems(state_names); i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*out = (enum alert_state)i;
			return 0;
		}
	}
	return -1;
}

int
alert_breach(const char *op, double value, double threshold)
{
	if (op == NULL || strcmp(op, ">") == 0)
		return value > threshold;
	if (strcmp(op, ">=") == 0)
		return value >= threshold;
	if (strcmp(op, "<") == 0)
		return value < threshold;
	if (strcmp(op, "<=") == 0)
		return value <= threshold;
	return 0;
}

/* Back to normal: past `clear` when there is one, else no breach. */
static int
cleared(const struct alert_rule *r, double value)
{
	int	 above = r->op == NULL || r->op[0] == '>';

	if (!r->has_clear)
		return !alert_breach(r->op, value, r->threshold);
	return above ? value < r->clear : value > r->clear;
}

/* Counts a flip; 1 when the alert now flaps. */
static int
count_flip(struct alert_row *a, int64_t now, const struct alert_rule *r)
{
	if (r->flap_count <= 0 || r->flap_window <= 0)
		return 0;
	if (a->flap_window_start == 0 ||
	    now - a->flap_window_start > r->flap_window) {
		a->flap_window_start = now;
		a->flaps = 1;
	} else
		a->flaps++;
	return a->flaps > r->flap_count;
}

static enum alert_action
step_flapping(struct alert_row *a, int present, double value, int64_t now,
    const struct alert_rule *r)
{
	int	 on = a->resolved_at == 0;

	if (on && (!present || cleared(r, value))) {
		a->resolved_at = now;
		a->flap_window_start = now;
		a->flaps++;
	} else if (!on && present && alert_breach(r->op, value,
	    r->threshold)) {
		a->resolved_at = 0;
		a->flap_window_start = now;
		a->flaps++;
	}
	if (now - a->flap_window_start < r->flap_window)
		return ALERT_NONE;
	/* Calm for a whole window: settle where it is. */
	a->flaps = 0;
	a->flap_window_start = 0;
	if (a->resolved_at == 0) {
		a->state = ALERT_FIRING;
		a->last_sent_at = now;
		return ALERT_UNFLAP;
	}
	a->state = ALERT_RESOLVED;
	free(a->acked_by);
	a->acked_by = NULL;
	return ALERT_RESOLVE;
}

int
alert_state_open(enum alert_state s)
{
	return s == ALERT_PENDING || s == ALERT_FIRING || s == ALERT_FLAPPING ||
	    s == ALERT_STALE || s == ALERT_UNKNOWN;
}

enum alert_action
alert_miss(struct alert_row *a, int unknown, int stale_after, int64_t now)
{
	if (!alert_state_open(a->state))
		return ALERT_NONE;
	a->missed++;
	if (a->missed < stale_after)
		return ALERT_NONE;
	switch (a->state) {
	case ALERT_PENDING:
		/* Never posted: nobody was told, nobody is told. */
		a->state = ALERT_INACTIVE;
		a->pending_since = 0;
		return ALERT_NONE;
	case ALERT_FIRING:
		a->state = unknown ? ALERT_UNKNOWN : ALERT_STALE;
		return ALERT_STALE_NOW;
	case ALERT_STALE:
		if (unknown) {
			a->state = ALERT_UNKNOWN;
			return ALERT_STALE_NOW;
		}
		return ALERT_NONE;
	case ALERT_UNKNOWN:
		if (!unknown) {
			a->state = ALERT_STALE;
			return ALERT_STALE_NOW;
		}
		return ALERT_NONE;
	default:
		/* Flapping stays held until it is measured again. */
		return ALERT_NONE;
	}
}

enum alert_action
alert_step(struct alert_row *a, int present, double value, int64_t now,
    const struct alert_rule *r)
{
	int	 breach = present && alert_breach(r->op, value, r->threshold);

	if (present) {
		a->value = value;
		a->missed = 0;
		a->last_seen_at = now;
	}
	switch (a->state) {
	case ALERT_STALE:
	case ALERT_UNKNOWN:
		if (!present || cleared(r, value)) {
			a->state = ALERT_RESOLVED;
			a->resolved_at = now;
			a->pending_since = 0;
			free(a->acked_by);
			a->acked_by = NULL;
			return ALERT_RESOLVE;
		}
		/* Measured again and still past `clear`: firing, as it
		 * never stopped; the repeat clock starts again. */
		a->state = ALERT_FIRING;
		a->last_sent_at = now;
		return ALERT_BACK;
	case ALERT_INACTIVE:
	case ALERT_RESOLVED:
		if (!breach)
			return ALERT_NONE;
		a->pending_since = now;
		if (r->for_s > 0) {
			a->state = ALERT_PENDING;
			return ALERT_NONE;
		}
		/* FALLTHROUGH */
	case ALERT_PENDING:
		if (!breach) {
			a->state = ALERT_INACTIVE;
			a->pending_since = 0;
			return ALERT_NONE;
		}
		if (now - a->pending_since < r->for_s)
			return ALERT_NONE;
		a->fired_at = now;
		a->resolved_at = 0;
		a->last_sent_at = now;
		if (count_flip(a, now, r)) {
			a->state = ALERT_FLAPPING;
			a->flap_window_start = now;
			return ALERT_FLAP;
		}
		a->state = ALERT_FIRING;
		return ALERT_FIRE;
	case ALERT_FIRING:
		if (!present || cleared(r, value)) {
			a->resolved_at = now;
			a->pending_since = 0;
			if (count_flip(a, now, r)) {
				a->state = ALERT_FLAPPING;
				a->flap_window_start = now;
				return ALERT_FLAP;
			}
			a->state = ALERT_RESOLVED;
			free(a->acked_by);
			a->acked_by = NULL;
			return ALERT_RESOLVE;
		}
		if (r->repeat > 0 && a->acked_by == NULL &&
		    now - a->last_sent_at >= r->repeat) {
			a->last_sent_at = now;
			return ALERT_REPEAT;
		}
		return ALERT_NONE;
	case ALERT_FLAPPING:
		return step_flapping(a, present, value, now, r);
	}
	return ALERT_NONE;
}

/* ---- selectors and overrides ---- */

static int
parse_vmid(const char *s, const char *end, long long *out)
{
	const char	*errstr;
	char		 tmp[16];
	size_t		 len = (size_t)(end - s);

	if (len == 0 || len >= sizeof tmp)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*out = strtonum(tmp, 0, 999999999, &errstr);
	return errstr == NULL ? 0 : -1;
}

static int
tag_match(const char *tags, const char *pattern)
{
	const char	*p = tags;
	char		 one[128];

	while (p != NULL && *p != '\0') {
		size_t	 len = strcspn(p, ";, ");

		if (len > 0 && len < sizeof one) {
			memcpy(one, p, len);
			one[len] = '\0';
			if (glob_match(pattern, one))
				return 1;
		}
		p += len;
		if (*p != '\0')
			p++;
	}
	return 0;
}

/* Kinds a selector names as KIND:GLOB, matched on the target's name. */
static const char *const named_kinds[] = { "disk", "zfs", "cert",
	"replication" };

int
mon_select_match(const char *sel, const struct mon_target *t)
{
	const char	*dash;
	long long	 lo, hi;
	size_t		 i;

	if (sel == NULL || t == NULL)
		return 0;
	if (strcmp(sel, "*") == 0)
		return 1;
	if (str_has_prefix(sel, "node:"))
		return t->node != NULL && glob_match(sel + 5, t->node);
	if (str_has_prefix(sel, "tag:"))
		return t->tags != NULL && tag_match(t->tags, sel + 4);
	if (str_has_prefix(sel, "name:"))
		return t->vmid > 0 && t->name != NULL &&
		    glob_match(sel + 5, t->name);
	if (str_has_prefix(sel, "storage:"))
		return strcmp(t->kind, "storage") == 0 && t->name != NULL &&
		    glob_match(sel + 8, t->name);
	if (str_has_prefix(sel, "sensor:"))
		return strcmp(t->kind, "sensor") == 0 && t->name != NULL &&
		    glob_match(sel + 7, t->name);
	if (strcmp(sel, "cluster") == 0)
		return strcmp(t->kind, "cluster") == 0;
	if (strcmp(sel, "ceph") == 0)
		return strcmp(t->kind, "ceph") == 0;
	for (i = 0; i < nitems(named_kinds); i++) {
		size_t	 len = strlen(named_kinds[i]);

		if (strncmp(sel, named_kinds[i], len) == 0 && sel[len] == ':')
			return strcmp(t->kind, named_kinds[i]) == 0 &&
			    t->name != NULL && glob_match(sel + len + 1,
			    t->name);
	}
	if (!isdigit((unsigned char)sel[0]) || t->vmid <= 0)
		return 0;
	if ((dash = strchr(sel, '-')) != NULL) {
		if (parse_vmid(sel, dash, &lo) != 0 ||
		    parse_vmid(dash + 1, dash + strlen(dash), &hi) != 0)
			return 0;
		return t->vmid >= lo && t->vmid <= hi;
	}
	if (parse_vmid(sel, sel + strlen(sel), &lo) != 0)
		return 0;
	return t->vmid == lo;
}

int
mon_rule_for(const struct conf_rule *cr, const struct conf_monitor *mc,
    const struct mon_target *t, struct alert_rule *out)
{
	size_t	 i;
	int	 selected = cr->nselect == 0;

	for (i = 0; i < cr->nselect && !selected; i++)
		selected = mon_select_match(cr->select[i], t);
	if (!selected)
		return -1;
	memset(out, 0, sizeof *out);
	out->name = cr->name;
	out->metric = cr->metric;
	out->op = cr->op != NULL ? cr->op : ">";
	out->threshold = cr->threshold;
	out->clear = cr->clear;
	out->has_clear = cr->has_clear;
	out->for_s = cr->for_s;
	out->repeat = cr->repeat;
	out->severity = cr->severity != NULL ? cr->severity : "warning";
	out->flap_count = mc != NULL ? mc->flap_count : 0;
	out->flap_window = mc != NULL ? mc->flap_window : 0;
	for (i = 0; i < cr->noverrides; i++) {
		const struct conf_override	*o = &cr->overrides[i];

		if (!mon_select_match(o->target, t))
			continue;
		if (o->exclude)
			return -1;
		if (o->has_threshold)
			out->threshold = o->threshold;
		if (o->has_clear) {
			out->clear = o->clear;
			out->has_clear = 1;
		} else if (o->has_threshold)
			out->has_clear = 0;
		break;
	}
	return 0;
}

/* ---- silence matchers ---- */

static int
label_match(const char *key, const char *want, const struct mon_labels *l)
{
	char	 num[32];

	if (strcmp(key, "alert") == 0 || strcmp(key, "id") == 0) {
		snprintf(num, sizeof num, "%lld", (long long)l->alert_id);
		if (strcmp(want, num) == 0)
			return 1;
		snprintf(num, sizeof num, "%lld", (long long)l->group_id);
		return l->group_id > 0 && strcmp(want, num) == 0;
	}
	if (strcmp(key, "guest") == 0 || strcmp(key, "vmid") == 0) {
		if (l->vmid <= 0)
			return 0;
		snprintf(num, sizeof num, "%d", l->vmid);
		return glob_match(want, num) || (l->guest_name != NULL &&
		    glob_match(want, l->guest_name));
	}
	if (strcmp(key, "rule") == 0)
		return l->rule != NULL && glob_match(want, l->rule);
	if (strcmp(key, "target") == 0)
		return l->target != NULL && glob_match(want, l->target);
	if (strcmp(key, "node") == 0)
		return l->node != NULL && glob_match(want, l->node);
	if (strcmp(key, "storage") == 0)
		return l->storage != NULL && glob_match(want, l->storage);
	if (strcmp(key, "severity") == 0)
		return l->severity != NULL && glob_match(want, l->severity);
	return -1;
}

int
mon_matcher_match(const char *matcher, const struct mon_labels *l)
{
	char	*copy, *p, *item, *eq;
	int	 result = 1, n = 0, m;

	if (matcher == NULL || *matcher == '\0')
		return -1;
	copy = p = xstrdup(matcher);
	while ((item = strsep(&p, ",")) != NULL) {
		item = str_trim(item);
		if (*item == '\0')
			continue;
		if ((eq = strchr(item, '=')) == NULL || eq == item ||
		    eq[1] == '\0') {
			result = -1;
			break;
		}
		*eq = '\0';
		n++;
		m = label_match(str_trim(item), eq + 1, l);
		if (m < 0) {
			result = -1;
			break;
		}
		if (m == 0)
			result = 0;
	}
	free(copy);
	return n == 0 ? -1 : result;
}

/* Every value of the matcher is only '*': it silences everything. */
static int
matches_everything(const char *matcher)
{
	const char	*p = matcher, *eq;
	size_t		 len, i;

	while (*p != '\0') {
		len = strcspn(p, ",");
		eq = memchr(p, '=', len);
		if (eq != NULL) {
			for (i = (size_t)(eq + 1 - p); i < len; i++) {
				if (p[i] != '*' && p[i] != ' ')
					return 0;
			}
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 1;
}

int
mon_silence_check(int64_t max_secs, const char *matcher, int64_t secs,
    const char *who, const char *reason, int64_t now, char **refusal,
    char **notice)
{
	char		 d[32], m[32], until[32];
	struct tm	 tm;
	int		 all;

	*notice = NULL;
	if (secs > max_secs) {
		set_cause(refusal, "a silence may last at most %s (monitor."
		    "max_silence in bot.conf); %s is longer. Nothing was "
		    "silenced.", format_duration(max_secs, m, sizeof m),
		    format_duration(secs, d, sizeof d));
		return -1;
	}
	all = matches_everything(matcher);
	if (secs <= 86400 && !all)
		return 0;
	tz_localtime(now + secs, NULL, &tm);
	strftime(until, sizeof until, "%Y-%m-%d %H:%M UTC", &tm);
	*notice = xasprintf("\xf0\x9f\x94\x95 %s silenced %s for %s "
	    "(until %s)%s%s%s", who, all ? "EVERY alert" : matcher,
	    format_duration(secs, d, sizeof d), until, all ? ", matcher " :
	    "", all ? matcher : "", reason != NULL ? "" : "; no reason given");
	if (reason != NULL) {
		char	*with = xasprintf("%s: %s", *notice, reason);

		free(*notice);
		*notice = with;
	}
	return 0;
}

/* ---- windows ---- */

static int
day_index(const char *s, size_t len)
{
	static const char *const days[] = { "sun", "mon", "tue", "wed",
	    "thu", "fri", "sat" };
	size_t	 i;

	if (len != 3)
		return -1;
	for (i = 0; i < nitems(days); i++) {
		if (strncasecmp(s, days[i], 3) == 0)
			return (int)i;
	}
	return -1;
}

/* Whether weekday wday (0 = Sunday) is in "*", "mon-fri", "sat,sun". */
static int
day_in(const char *spec, int wday)
{
	const char	*p = spec;

	if (spec == NULL || *spec == '\0' || strcmp(spec, "*") == 0)
		return 1;
	while (*p != '\0') {
		size_t		 len = strcspn(p, ",");
		const char	*dash = memchr(p, '-', len);
		int		 a, b;

		if (dash != NULL) {
			a = day_index(p, (size_t)(dash - p));
			b = day_index(dash + 1, len - (size_t)(dash - p) - 1);
			if (a >= 0 && b >= 0 && (a <= b ? wday >= a &&
			    wday <= b : wday >= a || wday <= b))
				return 1;
		} else if (day_index(p, len) == wday)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int
minutes_of(const char *hhmm)
{
	int	 h, m;

	if (hhmm == NULL || sscanf(hhmm, "%d:%d", &h, &m) != 2)
		return -1;
	return h * 60 + m;
}

int
mon_window_active(const struct conf_window *w, const struct tm *tm)
{
	int	 start = minutes_of(w->start), end = minutes_of(w->end);
	int	 now = tm->tm_hour * 60 + tm->tm_min;

	if (start < 0 || end < 0 || start == end)
		return 0;
	if (start < end)
		return now >= start && now < end && day_in(w->days, tm->tm_wday);
	/* Past midnight: the part after midnight belongs to yesterday. */
	if (now >= start)
		return day_in(w->days, tm->tm_wday);
	if (now < end)
		return day_in(w->days, (tm->tm_wday + 6) % 7);
	return 0;
}

int
mon_severity_rank(const char *s)
{
	if (s != NULL && strcmp(s, "info") == 0)
		return 0;
	if (s != NULL && strcmp(s, "critical") == 0)
		return 2;
	return 1;
}

/* ---- sparklines and bars ---- */

char *
mon_sparkline(const double *v, size_t n, double lo, double hi)
{
	static const char *const ticks[] = { "\xe2\x96\x81", "\xe2\x96\x82",
	    "\xe2\x96\x83", "\xe2\x96\x84", "\xe2\x96\x85", "\xe2\x96\x86",
	    "\xe2\x96\x87", "\xe2\x96\x88" };
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 0);
	buf_puts(&b, "");
	for (i = 0; i < n; i++) {
		double	 f;
		int	 k;

		if (v[i] < 0) {		/* no sample */
			buf_puts(&b, " ");
			continue;
		}
		f = hi > lo ? (v[i] - lo) / (hi - lo) : 0;
		k = (int)(f * 8);
		if (k < 0)
			k = 0;
		if (k > 7)
			k = 7;
		buf_puts(&b, ticks[k]);
	}
	return buf_steal(&b);
}

char *
mon_bar(double pct, int width)
{
	struct buf	 b;
	int		 i, full;

	if (pct < 0)
		pct = 0;
	if (pct > 100)
		pct = 100;
	full = (int)(pct * width / 100.0 + 0.5);
	buf_init(&b, 0);
	buf_puts(&b, "");
	for (i = 0; i < width; i++)
		buf_puts(&b, i < full ? "\xe2\x96\x88" : "\xe2\x96\x91");
	return buf_steal(&b);
}

double
mon_pct(double used, double total)
{
	return total > 0 ? 100.0 * used / total : 0;
}
