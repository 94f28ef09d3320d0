/*
 * schedule.c - schedules.yaml, calendar expressions, and the scheduler
 * thread that turns due runs into chat events for the router.
 *
 * Guarantees (see include/schedule.h):
 * - Parsing has no side effects; every problem of the file is reported
 *   with file:line:column, loading goes on past the first.
 * - A run is a MESSAGE event from `schedule:NAME` whose offset (key
 *   "schedule:NAME", value the run's minute) the router saves in the
 *   transaction of the job it writes: a run is done once or not at all.
 *   The thread remembers what it submitted, so it never submits a minute
 *   twice while it runs, and reads the saved minutes when it starts, so
 *   a restart never repeats one.
 * - A run missed while pvebot was down is run once at start (missed:
 *   run) or skipped with a message saying so (missed: skip, the
 *   default); either way its minute is saved with what was done.
 * - The thread never waits on the network: it only reads the store and
 *   hands events to the router's queue.
 */
#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <yaml.h>

#include "app.h"
#include "chat.h"
#include "cmd.h"
#include "conf.h"
#include "log.h"
#include "schedule.h"
#include "store.h"
#include "util.h"

#define SCHEDULES_FILE_MAX	(256 * 1024)
#define SCHEDULES_MAX		256
#define SCHEDULE_SEARCH		(8 * 86400)	/* a weekly slot is within */

/* ---- calendar expressions ---------------------------------------- */

static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu",
	"fri", "sat" };

static int
day_of(const char *s, size_t n)
{
	int	i;

	if (n != 3)
		return -1;
	for (i = 0; i < 7; i++) {
		if (strncasecmp(s, day_names[i], 3) == 0)
			return i;
	}
	return -1;
}

static int
number_of(const char *s, size_t n, int max)
{
	size_t	i;
	int	v = 0;

	if (n == 0 || n > 2)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/*
 * One list of hours or minutes: items "*", "N", "N..M", "N/S", "*\/S"
 * separated by commas. Sets bits 0..max in *out; -1 when malformed.
 */
static int
field_parse(const char *s, size_t len, int max, uint64_t *out)
{
	const char	*p = s, *end = s + len, *e, *dots, *slash;
	int		 a, b, step, v;

	*out = 0;
	if (len == 0)
		return -1;
	while (p < end) {
		e = memchr(p, ',', (size_t)(end - p));
		if (e == NULL)
			e = end;
		slash = memchr(p, '/', (size_t)(e - p));
		dots = NULL;
		for (const char *q = p; q + 1 < e; q++) {
			if (q[0] == '.' && q[1] == '.') {
				dots = q;
				break;
			}
		}
		step = 1;
		if (slash != NULL) {
			if ((step = number_of(slash + 1, (size_t)(e - slash -
			    1), max)) <= 0)
				return -1;
		}
		{
			const char	*ve = slash != NULL ? slash : e;

			if (ve - p == 1 && *p == '*') {
				a = 0;
				b = max;
			} else if (dots != NULL && dots < ve) {
				a = number_of(p, (size_t)(dots - p), max);
				b = number_of(dots + 2, (size_t)(ve - dots - 2),
				    max);
				if (a < 0 || b < 0 || b < a)
					return -1;
			} else {
				if ((a = number_of(p, (size_t)(ve - p),
				    max)) < 0)
					return -1;
				b = slash != NULL ? max : a;
			}
		}
		for (v = a; v <= b; v += step)
			*out |= (uint64_t)1 << v;
		p = e < end ? e + 1 : e;
		if (e < end && p == end)
			return -1;	/* a trailing comma */
	}
	return 0;
}

static int
days_parse(const char *s, size_t len, uint8_t *out)
{
	const char	*p = s, *end = s + len, *e, *dots;
	int		 a, b, d;

	*out = 0;
	while (p < end) {
		e = memchr(p, ',', (size_t)(end - p));
		if (e == NULL)
			e = end;
		dots = NULL;
		for (const char *q = p; q + 1 < e; q++) {
			if (q[0] == '.' && q[1] == '.') {
				dots = q;
				break;
			}
		}
		if (dots != NULL) {
			a = day_of(p, (size_t)(dots - p));
			b = day_of(dots + 2, (size_t)(e - dots - 2));
		} else
			a = b = day_of(p, (size_t)(e - p));
		if (a < 0 || b < 0)
			return -1;
		/* mon..sun wraps through the week as systemd reads it. */
		for (d = a;; d = (d + 1) % 7) {
			*out |= (uint8_t)(1 << d);
			if (d == b)
				break;
		}
		p = e < end ? e + 1 : e;
		if (e < end && p == end)
			return -1;
	}
	return *out != 0 ? 0 : -1;
}

int
calendar_parse(const char *expr, struct calendar *c, char **cause)
{
	const char	*p = expr, *sp, *colon, *time;
	uint64_t	 h;

	memset(c, 0, sizeof *c);
	while (*p == ' ')
		p++;
	if (strcasecmp(p, "hourly") == 0)
		p = "*:00";
	else if (strcasecmp(p, "daily") == 0)
		p = "00:00";
	else if (strcasecmp(p, "weekly") == 0)
		p = "mon 00:00";
	if (*p == '\0' || strlen(p) > 128)
		return set_cause(cause, "'%s' is not a calendar expression "
		    "(e.g. mon..fri 02:30)", expr);
	c->days = 0x7f;
	sp = strchr(p, ' ');
	colon = strchr(p, ':');
	if (colon == NULL || (sp != NULL && sp < colon)) {
		/* Days first. */
		size_t	n = sp != NULL ? (size_t)(sp - p) : strlen(p);

		if (days_parse(p, n, &c->days) != 0)
			return set_cause(cause, "'%.*s' is not a list of days "
			    "(mon tue wed thu fri sat sun, a..b)", (int)n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
	time = *p != '\0' ? p : "00:00";
	colon = strchr(time, ':');
	if (colon == NULL || strchr(time, ' ') != NULL ||
	    field_parse(time, (size_t)(colon - time), 23, &h) != 0 ||
	    field_parse(colon + 1, strlen(colon + 1), 59, &c->minutes) != 0)
		return set_cause(cause, "'%s' is not a time (HH:MM, with *, "
		    "lists, a..b and /step)", time);
	c->hours = (uint32_t)h;
	return 0;
}

static int
calendar_match(const struct calendar *c, const char *tz, int64_t t)
{
	struct tm	tm;

	if (tz_localtime(t, tz, &tm) != 0)
		return 0;
	return (c->days & (1 << tm.tm_wday)) &&
	    (c->hours & ((uint32_t)1 << tm.tm_hour)) &&
	    (c->minutes & ((uint64_t)1 << tm.tm_min));
}

int64_t
calendar_next(const struct calendar *c, const char *tz, int64_t after)
{
	int64_t	t = (after / 60 + 1) * 60;

	for (; t <= after + SCHEDULE_SEARCH; t += 60) {
		if (calendar_match(c, tz, t))
			return t;
	}
	return -1;
}

int64_t
calendar_prev(const struct calendar *c, const char *tz, int64_t at)
{
	int64_t	t = (at / 60) * 60;

	for (; t >= at - SCHEDULE_SEARCH; t -= 60) {
		if (calendar_match(c, tz, t))
			return t;
	}
	return -1;
}

enum schedule_due
schedule_due(const struct schedule *s, const char *tz, int64_t last,
    int64_t started, int64_t now, int64_t *slot)
{
	int64_t	 t = calendar_prev(&s->cal, tz, now);

	*slot = t;
	if (t < 0 || t <= last)
		return SCHEDULE_NOTHING;
	/* Its time came while this process ran: on time. */
	if (t >= started)
		return SCHEDULE_RUN;
	return s->catch_up ? SCHEDULE_CATCH_UP : SCHEDULE_SKIP;
}

/* s with every {time} replaced by `stamp`; caller frees. */
static char *
command_expand(const char *s, const char *stamp)
{
	struct buf	 b;
	const char	*p;

	buf_init(&b, 4096);
	buf_puts(&b, "");
	while ((p = strstr(s, "{time}")) != NULL) {
		buf_append(&b, s, (size_t)(p - s));
		buf_puts(&b, stamp);
		s = p + 6;
	}
	buf_puts(&b, s);
	return buf_steal(&b);
}

char *
schedule_command(const struct schedule *s, const char *tz, int64_t slot)
{
	struct tm	tm;
	char		stamp[32];

	if (tz_localtime(slot, tz, &tm) != 0 ||
	    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M", &tm) == 0)
		snprintf(stamp, sizeof stamp, "%" PRId64, slot);
	return command_expand(s->command, stamp);
}

char *
schedule_key(const struct schedule *s)
{
	return xasprintf("schedule:%s", s->name);
}

/* ---- schedules.yaml ---------------------------------------------- */

struct sload {
	const char	*file;
	yaml_document_t	*doc;
	struct buf	 errors;
	int		 nerrors;
};

static void sl_err(struct sload *, const yaml_node_t *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
sl_err(struct sload *l, const yaml_node_t *n, const char *fmt, ...)
{
	va_list	ap;
	char	*m;

	va_start(ap, fmt);
	m = xvasprintf(fmt, ap);
	va_end(ap);
	buf_printf(&l->errors, "%s:%zu:%zu: %s\n", l->file,
	    n != NULL ? n->start_mark.line + 1 : 1,
	    n != NULL ? n->start_mark.column + 1 : 1, m);
	free(m);
	l->nerrors++;
}

static const char *
sl_scalar(struct sload *l, yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE) {
		sl_err(l, n, "%s: expected a string", what);
		return NULL;
	}
	if (strlen((const char *)n->data.scalar.value) !=
	    n->data.scalar.length) {
		sl_err(l, n, "%s: NUL byte in value", what);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

static int
name_ok(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
		return 0;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return 0;
	}
	return 1;
}

static void
schedule_release(struct schedule *s)
{
	free(s->name);
	free(s->expr);
	free(s->command);
	free(s->connector);
	free(s->room);
}

static void
load_one(struct sload *l, yaml_node_t *n, struct schedules *ss)
{
	struct schedule	 s;
	yaml_node_pair_t *p;
	yaml_node_t	*k, *v;
	const char	*key, *val, *colon;
	char		*cause = NULL;
	size_t		 i;

	memset(&s, 0, sizeof s);
	if (n->type != YAML_MAPPING_NODE) {
		sl_err(l, n, "a schedule is a mapping with name, on, command "
		    "and room");
		return;
	}
	s.line = (int)n->start_mark.line + 1;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(l->doc, p->key);
		v = yaml_document_get_node(l->doc, p->value);
		if ((key = sl_scalar(l, k, "key")) == NULL)
			continue;
		if ((val = sl_scalar(l, v, key)) == NULL)
			continue;
		if (strcmp(key, "name") == 0) {
			if (!name_ok(val))
				sl_err(l, v, "name: '%s' is not a name "
				    "(letters, digits, - and _, at most 63)",
				    val);
			else
				s.name = xstrdup(val);
		} else if (strcmp(key, "on") == 0) {
			if (calendar_parse(val, &s.cal, &cause) != 0) {
				sl_err(l, v, "on: %s", cause);
				free(cause);
				cause = NULL;
			} else
				s.expr = xstrdup(val);
		} else if (strcmp(key, "command") == 0) {
			if (*val == '\0' || strlen(val) > 1024 ||
			    strchr(val, '\n') != NULL)
				sl_err(l, v, "command: one line of at most "
				    "1024 characters");
			else
				s.command = xstrdup(val);
		} else if (strcmp(key, "room") == 0) {
			colon = strchr(val, ':');
			if (colon == NULL || colon == val || colon[1] == '\0' ||
			    strlen(val) > 255)
				sl_err(l, v, "room: expected CONNECTOR:ROOM "
				    "(telegram:-100123, matrix:!id:hs, "
				    "discord:123, console:console)");
			else {
				s.connector = xstrndup(val, (size_t)(colon -
				    val));
				s.room = xstrdup(colon + 1);
			}
		} else if (strcmp(key, "missed") == 0) {
			if (strcmp(val, "run") == 0)
				s.catch_up = 1;
			else if (strcmp(val, "skip") == 0)
				s.catch_up = 0;
			else
				sl_err(l, v, "missed: expected run or skip");
		} else
			sl_err(l, k, "unknown key '%s' (name, on, command, "
			    "room, missed)", key);
	}
	if (s.name == NULL || s.expr == NULL || s.command == NULL ||
	    s.room == NULL) {
		if (l->nerrors == 0)
			sl_err(l, n, "a schedule needs name, on, command and "
			    "room");
		schedule_release(&s);
		return;
	}
	for (i = 0; i < ss->n; i++) {
		if (strcmp(ss->v[i].name, s.name) == 0) {
			sl_err(l, n, "schedule '%s' is already defined at line "
			    "%d", s.name, ss->v[i].line);
			schedule_release(&s);
			return;
		}
	}
	if (ss->n >= SCHEDULES_MAX) {
		sl_err(l, n, "more than %d schedules", SCHEDULES_MAX);
		schedule_release(&s);
		return;
	}
	ss->v = xreallocarray(ss->v, ss->n + 1, sizeof *ss->v);
	ss->v[ss->n++] = s;
}

struct schedules *
schedules_load_string(const char *name, const char *text, size_t len,
    char **errors)
{
	struct schedules	*ss;
	struct sload		 l;
	yaml_parser_t		 parser;
	yaml_document_t		 doc;
	yaml_node_t		*root, *k, *v, *item;
	yaml_node_pair_t	*p;
	yaml_node_item_t	*it;
	const char		*key, *val;
	char			*cause = NULL;

	*errors = NULL;
	ss = xcalloc(1, sizeof *ss);
	ss->file = xstrdup(name);
	memset(&l, 0, sizeof l);
	l.file = name;
	buf_init(&l.errors, 1 << 20);
	buf_puts(&l.errors, "");
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    len);
	if (!yaml_parser_load(&parser, &doc)) {
		buf_printf(&l.errors, "%s:%zu:%zu: %s\n", name,
		    parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1, parser.problem != NULL ?
		    parser.problem : "YAML error");
		yaml_parser_delete(&parser);
		goto fail;
	}
	yaml_parser_delete(&parser);
	l.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		yaml_document_delete(&doc);
		buf_release(&l.errors);
		return ss;	/* an empty file: no schedules */
	}
	if (root->type != YAML_MAPPING_NODE) {
		sl_err(&l, root, "expected a mapping with schedules: (and "
		    "timezone:)");
		yaml_document_delete(&doc);
		goto fail;
	}
	for (p = root->data.mapping.pairs.start;
	    p < root->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(&doc, p->key);
		v = yaml_document_get_node(&doc, p->value);
		if ((key = sl_scalar(&l, k, "key")) == NULL)
			continue;
		if (strcmp(key, "timezone") == 0) {
			if ((val = sl_scalar(&l, v, key)) == NULL)
				continue;
			if (tz_check(val, &cause) != 0) {
				sl_err(&l, v, "timezone: %s", cause);
				free(cause);
				cause = NULL;
			} else
				ss->tz = xstrdup(val);
		} else if (strcmp(key, "schedules") == 0) {
			if (v->type != YAML_SEQUENCE_NODE) {
				sl_err(&l, v, "schedules: expected a list");
				continue;
			}
			for (it = v->data.sequence.items.start;
			    it < v->data.sequence.items.top; it++) {
				item = yaml_document_get_node(&doc, *it);
				if (item != NULL)
					load_one(&l, item, ss);
			}
		} else
			sl_err(&l, k, "unknown key '%s' (schedules, timezone)",
			    key);
	}
	yaml_document_delete(&doc);
	if (l.nerrors > 0)
		goto fail;
	buf_release(&l.errors);
	return ss;
fail:
	*errors = buf_steal(&l.errors);
	schedules_free(ss);
	return NULL;
}

struct schedules *
schedules_load(const char *path, char **errors)
{
	struct schedules	*ss;
	char			*text, *cause = NULL;
	size_t			 len;

	if ((text = read_file(path, SCHEDULES_FILE_MAX, &len, &cause)) ==
	    NULL) {
		*errors = xasprintf("%s:1:1: %s\n", path, cause);
		free(cause);
		return NULL;
	}
	ss = schedules_load_string(path, text, len, errors);
	free(text);
	return ss;
}

void
schedules_free(struct schedules *ss)
{
	size_t	i;

	if (ss == NULL)
		return;
	for (i = 0; i < ss->n; i++)
		schedule_release(&ss->v[i]);
	free(ss->v);
	free(ss->tz);
	free(ss->file);
	free(ss);
}

int
schedules_check(const struct schedules *ss, const struct catalogue *cat,
    char **errors)
{
	struct cmd_parse_opts	 opts = { .direct = 0, .addressed = 1 };
	struct cmd_call		 call;
	struct buf		 b;
	char			*cause;
	size_t			 i;
	int			 bad = 0;

	*errors = NULL;
	if (ss == NULL || cat == NULL)
		return 0;
	buf_init(&b, 1 << 20);
	buf_puts(&b, "");
	for (i = 0; i < ss->n; i++) {
		/* As a run sends it: {time} filled in. */
		char	*line = command_expand(ss->v[i].command,
		    "20260101-0000");
		int	 ok;

		cause = NULL;
		ok = cmd_parse(cat, line, &opts, &call, &cause) == CMD_PARSE_OK;
		free(line);
		if (ok) {
			cmd_call_release(&call);
			continue;
		}
		buf_printf(&b, "%s:%d:1: schedule %s: %s\n", ss->file,
		    ss->v[i].line, ss->v[i].name, cause != NULL ? cause :
		    "the command is not one pvebot knows");
		free(cause);
		bad = 1;
	}
	if (!bad) {
		buf_release(&b);
		return 0;
	}
	*errors = buf_steal(&b);
	return -1;
}

/* ---- `schedules` ------------------------------------------------- */

static void
stamp(int64_t t, const char *tz, char *buf, size_t len)
{
	struct tm	tm;

	if (t < 0 || tz_localtime(t, tz, &tm) != 0) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%a %Y-%m-%d %H:%M", &tm);
}

void
schedules_format(const struct schedules *ss, struct store *st, int64_t now,
    struct buf *out)
{
	const struct schedule	*s;
	char			 next[64], last[64], *key, *v;
	const char		*errstr;
	int64_t			 t;
	size_t			 i;

	if (ss == NULL || ss->n == 0) {
		buf_puts(out, "no schedules (bot.conf: schedules: FILE)");
		return;
	}
	buf_printf(out, "%zu schedule%s (times %s):", ss->n, ss->n == 1 ? "" :
	    "s", ss->tz != NULL ? ss->tz : "UTC");
	for (i = 0; i < ss->n; i++) {
		s = &ss->v[i];
		stamp(calendar_next(&s->cal, ss->tz, now), ss->tz, next,
		    sizeof next);
		key = schedule_key(s);
		v = NULL;
		snprintf(last, sizeof last, "never");
		if (store_offset_get(st, key, &v) == 0 && v != NULL) {
			t = strtonum(v, 0, INT64_MAX, &errstr);
			if (errstr == NULL && t > 0)
				stamp(t, ss->tz, last, sizeof last);
		}
		free(v);
		free(key);
		buf_printf(out, "\n%s  [%s]  %s\n  next %s, last %s, missed "
		    "runs: %s", s->name, s->expr, s->command, next, last,
		    s->catch_up ? "run once" : "skip");
	}
}

/* ---- the thread -------------------------------------------------- */

struct scheduler {
	struct app		*app;
	const struct schedules	*ss;
	struct store		*store;
	int64_t			 offset;	/* added to the wall clock */
	int64_t			 started;
	int64_t			*last;		/* per schedule */
	int64_t			*next;		/* first slot after last */
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 stop;
};

static int64_t
sched_now(const struct scheduler *sc)
{
	return wall_now() + sc->offset;
}

static void
submit(struct scheduler *sc, const struct schedule *s, enum chat_event_kind
    kind, const char *text, int64_t slot)
{
	struct chat_event	*ev;
	char			*user = schedule_key(s), *disp;

	ev = chat_event_new(kind, s->connector, s->room, user);
	disp = xasprintf("schedule %s", s->name);
	ev->display = disp;
	ev->text = xstrdup(text);
	ev->addressed = 1;
	/* Made now: the router's age check reads the real clock. */
	ev->sent_at = wall_now();
	if (slot > 0) {
		ev->offset_key = xstrdup(user);
		ev->offset = xasprintf("%" PRId64, slot);
	}
	free(user);
	router_submit(sc->app->router, ev);
}

static void
sched_turn(struct scheduler *sc)
{
	const struct schedule	*s;
	enum schedule_due	 due;
	int64_t			 now = sched_now(sc), slot;
	char			 when[64], *text, *command;
	size_t			 i;

	for (i = 0; i < sc->ss->n; i++) {
		s = &sc->ss->v[i];
		/* The calendar is searched only when a slot has come. */
		if (sc->next[i] < 0)
			sc->next[i] = calendar_next(&s->cal, sc->ss->tz,
			    sc->last[i]);
		if (sc->next[i] < 0 || now < sc->next[i])
			continue;
		due = schedule_due(s, sc->ss->tz, sc->last[i], sc->started,
		    now, &slot);
		if (due == SCHEDULE_NOTHING)
			continue;
		stamp(slot, sc->ss->tz, when, sizeof when);
		command = schedule_command(s, sc->ss->tz, slot);
		switch (due) {
		case SCHEDULE_RUN:
			log_info("schedule", "name=%s slot=%" PRId64 " run: %s",
			    s->name, slot, command);
			submit(sc, s, CHAT_EV_MESSAGE, command, slot);
			break;
		case SCHEDULE_CATCH_UP:
			log_info("schedule", "name=%s slot=%" PRId64 " missed "
			    "while down; running it once", s->name, slot);
			text = xasprintf("schedule %s: the run of %s was "
			    "missed while pvebot was down; running it once "
			    "now: %s", s->name, when, command);
			submit(sc, s, CHAT_EV_NOTICE, text, 0);
			free(text);
			submit(sc, s, CHAT_EV_MESSAGE, command, slot);
			break;
		case SCHEDULE_SKIP:
			log_info("schedule", "name=%s slot=%" PRId64 " missed "
			    "while down; skipped", s->name, slot);
			text = xasprintf("schedule %s: the run of %s (%s) was "
			    "missed while pvebot was down and is skipped "
			    "(missed: skip)", s->name, when, s->command);
			submit(sc, s, CHAT_EV_NOTICE, text, slot);
			free(text);
			break;
		default:
			break;
		}
		free(command);
		sc->last[i] = slot;
		sc->next[i] = -1;
	}
}

static void *
scheduler_main(void *arg)
{
	struct scheduler	*sc = arg;
	struct timespec		 ts;
	int64_t			 at;

	pthread_mutex_lock(&sc->lock);
	while (!sc->stop) {
		pthread_mutex_unlock(&sc->lock);
		sched_turn(sc);
		pthread_mutex_lock(&sc->lock);
		/* Wake at the next second: a minute is never missed. */
		at = wall_now_ms() + 1000 - wall_now_ms() % 1000;
		ts.tv_sec = at / 1000;
		ts.tv_nsec = (at % 1000) * 1000000;
		if (!sc->stop)
			pthread_cond_timedwait(&sc->cond, &sc->lock, &ts);
	}
	pthread_mutex_unlock(&sc->lock);
	return NULL;
}

struct scheduler *
scheduler_start(struct app *app, const struct schedules *ss,
    int64_t now_offset, char **cause)
{
	struct scheduler	*sc;
	const char		*errstr;
	char			*key, *v;
	size_t			 i;

	sc = xcalloc(1, sizeof *sc);
	sc->app = app;
	sc->ss = ss;
	sc->offset = now_offset;
	sc->started = sched_now(sc);
	sc->last = xcalloc(ss->n + 1, sizeof *sc->last);
	sc->next = xcalloc(ss->n + 1, sizeof *sc->next);
	for (i = 0; i < ss->n; i++)
		sc->next[i] = -1;
	if ((sc->store = store_open(app->conf->database, cause)) == NULL)
		goto fail;
	for (i = 0; i < ss->n; i++) {
		if (app_connector(app, ss->v[i].connector) == NULL) {
			set_cause(cause, "%s:%d: schedule %s: no connector %s "
			    "is enabled", ss->file, ss->v[i].line,
			    ss->v[i].name, ss->v[i].connector);
			goto fail;
		}
		key = schedule_key(&ss->v[i]);
		v = NULL;
		if (store_offset_get(sc->store, key, &v) != 0) {
			free(key);
			set_cause(cause, "cannot read the last runs of the "
			    "schedules");
			goto fail;
		}
		if (v != NULL) {
			sc->last[i] = strtonum(v, 0, INT64_MAX, &errstr);
			if (errstr != NULL)
				sc->last[i] = 0;
			free(v);
		}
		/* A schedule never run starts now: nothing was missed. */
		if (sc->last[i] == 0) {
			char	*now = xasprintf("%" PRId64, sc->started);

			sc->last[i] = sc->started;
			if (store_offset_set(sc->store, key, now) != 0)
				log_warn("schedule", "name=%s cannot save its "
				    "start", ss->v[i].name);
			free(now);
		}
		free(key);
	}
	pthread_mutex_init(&sc->lock, NULL);
	pthread_cond_init(&sc->cond, NULL);
	if (pthread_create(&sc->thread, NULL, scheduler_main, sc) != 0) {
		set_cause(cause, "cannot start the scheduler thread");
		pthread_mutex_destroy(&sc->lock);
		pthread_cond_destroy(&sc->cond);
		goto fail;
	}
	log_info("schedule", "started schedules=%zu", ss->n);
	return sc;
fail:
	store_close(sc->store);
	free(sc->last);
	free(sc->next);
	free(sc);
	return NULL;
}

void
scheduler_stop(struct scheduler *sc)
{
	if (sc == NULL)
		return;
	pthread_mutex_lock(&sc->lock);
	sc->stop = 1;
	pthread_cond_broadcast(&sc->cond);
	pthread_mutex_unlock(&sc->lock);
	pthread_join(sc->thread, NULL);
	pthread_mutex_destroy(&sc->lock);
	pthread_cond_destroy(&sc->cond);
	store_close(sc->store);
	free(sc->last);
	free(sc->next);
	free(sc);
}
