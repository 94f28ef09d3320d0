/*
 * ssh_parse.c - parsers for what the SSH-backed commands print:
 * `pvecm status`, `apt list --upgradable`, nvidia-smi's CSV query,
 * `lvs --reportformat json`, `systemctl status`; the snapshot
 * retention rule; and the one table of output parsers by name that both
 * the catalogue check and the worker use.
 *
 * Parsers have no side effects and trust nothing: a line they do not
 * recognise is skipped when the format allows it, and output that is
 * not what the program prints is refused with a one-line cause quoting
 * its first line. Numbers go through strtonum().
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "exec_ssh.h"
#include "sensors.h"
#include "util.h"

/* Splits text into lines in place; returns the next line or NULL. */
static char *
next_line(char **cursor)
{
	char	*line = *cursor, *nl;

	if (line == NULL || *line == '\0')
		return NULL;
	if ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		*cursor = nl + 1;
	} else
		*cursor = line + strlen(line);
	if ((nl = strchr(line, '\r')) != NULL && nl[1] == '\0')
		*nl = '\0';
	return line;
}

/* The first line of text, at most 120 bytes, for error messages. */
static char *
quote_first_line(const char *text)
{
	size_t	 n;

	while (*text == '\n' || *text == '\r' || *text == ' ')
		text++;
	n = strcspn(text, "\r\n");
	if (n > 120)
		n = 120;
	if (n == 0)
		return xstrdup("(empty)");
	return xasprintf("\"%.*s\"", (int)n, text);
}

static int
parse_int(const char *s, long long max, long long *out)
{
	char		 word[32];
	const char	*err;
	size_t		 n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strcspn(s, " \t");
	if (n == 0 || n >= sizeof word)
		return -1;
	memcpy(word, s, n);
	word[n] = '\0';
	*out = strtonum(word, 0, max, &err);
	return err == NULL ? 0 : -1;
}

/* --- pvecm status --- */

int
pvecm_parse(const char *text, struct pvecm_status *st, char **cause)
{
	char		*copy, *cur, *line, *colon, *q;
	int		 members = 0, have_quorate = 0;
	long long	 v;

	memset(st, 0, sizeof *st);
	st->nodes = st->expected_votes = st->total_votes = st->quorum = -1;
	copy = cur = xstrdup(text);
	while ((line = next_line(&cur)) != NULL) {
		if (members) {
			struct pvecm_member	 m;
			char			*id, *votes, *name, *save;

			id = strtok_r(line, " \t", &save);
			votes = strtok_r(NULL, " \t", &save);
			name = strtok_r(NULL, " \t", &save);
			if (id == NULL || votes == NULL || name == NULL ||
			    !str_has_prefix(id, "0x") ||
			    parse_int(votes, 1000, &v) == -1) {
				members = 0;
				continue;
			}
			memset(&m, 0, sizeof m);
			m.nodeid = xstrdup(id);
			m.votes = (int)v;
			m.name = xstrdup(name);
			m.local = (q = strtok_r(NULL, " \t", &save)) != NULL &&
			    strcmp(q, "(local)") == 0;
			st->members = xreallocarray(st->members,
			    st->nmembers + 1, sizeof *st->members);
			st->members[st->nmembers++] = m;
			continue;
		}
		if (strstr(line, "Nodeid") != NULL &&
		    strstr(line, "Votes") != NULL) {
			members = 1;
			continue;
		}
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		q = str_trim(colon + 1);
		if (strcmp(line, "Name") == 0 && st->cluster == NULL)
			st->cluster = xstrdup(q);
		else if (strcmp(line, "Quorate") == 0) {
			have_quorate = 1;
			st->quorate = strcasecmp(q, "Yes") == 0;
		} else if (strcmp(line, "Nodes") == 0 &&
		    parse_int(q, 100000, &v) == 0)
			st->nodes = (int)v;
		else if (strcmp(line, "Expected votes") == 0 &&
		    parse_int(q, 100000, &v) == 0)
			st->expected_votes = (int)v;
		else if (strcmp(line, "Total votes") == 0 &&
		    parse_int(q, 100000, &v) == 0)
			st->total_votes = (int)v;
		else if (strcmp(line, "Quorum") == 0 &&
		    parse_int(q, 100000, &v) == 0)
			st->quorum = (int)v;
	}
	free(copy);
	if (!have_quorate) {
		char	*first = quote_first_line(text);

		set_cause(cause, "not pvecm status output (no Quorate line): "
		    "%s", first);
		free(first);
		pvecm_release(st);
		return -1;
	}
	return 0;
}

void
pvecm_release(struct pvecm_status *st)
{
	size_t	 i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nmembers; i++) {
		free(st->members[i].nodeid);
		free(st->members[i].name);
	}
	free(st->members);
	free(st->cluster);
	memset(st, 0, sizeof *st);
}

char *
pvecm_summary(const struct pvecm_status *st)
{
	struct buf	 b;
	int		 nodes = st->nodes >= 0 ? st->nodes : (int)st->nmembers;

	buf_init(&b, 0);
	buf_printf(&b, "%s%s%s", st->cluster != NULL ? "cluster " : "",
	    st->cluster != NULL ? st->cluster : "", st->cluster ? ": " : "");
	buf_puts(&b, st->quorate ? "quorate" : "NOT quorate");
	if (st->total_votes >= 0 && st->expected_votes >= 0)
		buf_printf(&b, ", votes %d/%d", st->total_votes,
		    st->expected_votes);
	if (st->quorum >= 0)
		buf_printf(&b, " (quorum %d)", st->quorum);
	buf_printf(&b, ", %d node%s", nodes, nodes == 1 ? "" : "s");
	return buf_steal(&b);
}

/* --- apt list --upgradable --- */

int
apt_parse(const char *text, struct apt_updates *up, char **cause)
{
	char	*copy, *cur, *line;
	int	 listing = 0;

	memset(up, 0, sizeof *up);
	copy = cur = xstrdup(text);
	while ((line = next_line(&cur)) != NULL) {
		struct apt_update	 u;
		char			*slash, *space, *save, *suite, *ver;
		char			*from;

		if (str_has_prefix(line, "Listing...")) {
			listing = 1;
			continue;
		}
		if (*line == '\0' || line[1] == ':' ||
		    str_has_prefix(line, "WARNING"))
			continue;
		/* "name/suite version arch [...]": a slash before any space. */
		slash = strchr(line, '/');
		space = strchr(line, ' ');
		if (slash == NULL || space == NULL || space < slash)
			continue;
		*slash = '\0';
		suite = strtok_r(slash + 1, " ", &save);
		ver = strtok_r(NULL, " ", &save);
		if (*line == '\0' || suite == NULL || ver == NULL)
			continue;
		memset(&u, 0, sizeof u);
		u.name = xstrdup(line);
		u.suite = xstrdup(suite);
		u.version = xstrdup(ver);
		if (save != NULL &&
		    (from = strstr(save, "[upgradable from: ")) != NULL) {
			from += strlen("[upgradable from: ");
			u.from = xstrndup(from, strcspn(from, "]"));
		}
		up->v = xreallocarray(up->v, up->n + 1, sizeof *up->v);
		up->v[up->n++] = u;
	}
	free(copy);
	if (!listing && up->n == 0) {
		char	*first = quote_first_line(text);

		set_cause(cause, "not apt list output: %s", first);
		free(first);
		return -1;
	}
	return 0;
}

void
apt_release(struct apt_updates *up)
{
	size_t	 i;

	if (up == NULL)
		return;
	for (i = 0; i < up->n; i++) {
		free(up->v[i].name);
		free(up->v[i].suite);
		free(up->v[i].version);
		free(up->v[i].from);
	}
	free(up->v);
	memset(up, 0, sizeof *up);
}

char *
apt_summary(const struct apt_updates *up, size_t max_names)
{
	struct buf	 b;
	size_t		 i;

	if (up->n == 0)
		return xstrdup("no pending updates");
	buf_init(&b, 0);
	buf_printf(&b, "%zu update%s: ", up->n, up->n == 1 ? "" : "s");
	for (i = 0; i < up->n && (max_names == 0 || i < max_names); i++)
		buf_printf(&b, "%s%s", i > 0 ? ", " : "", up->v[i].name);
	if (i < up->n)
		buf_printf(&b, " and %zu more", up->n - i);
	return buf_steal(&b);
}

/* --- nvidia-smi --- */

static int
gpu_value(const char *s, long long max, long long *out)
{
	if (*s == '[' || strcmp(s, "N/A") == 0) {
		*out = -1;
		return 0;
	}
	return parse_int(s, max, out);
}

int
gpu_parse(const char *text, struct gpu_list *gl, char **cause)
{
	char		*copy, *cur, *line;
	int		 lineno = 0;

	memset(gl, 0, sizeof *gl);
	copy = cur = xstrdup(text);
	while ((line = next_line(&cur)) != NULL) {
		char		*field[5], *p = line;
		long long	 v[4];
		size_t		 nf = 0, i;
		struct gpu_info	 g;

		lineno++;
		if (*str_trim(line) == '\0')
			continue;
		if (str_has_prefix(line, "No devices were found"))
			break;
		while (nf < 5) {
			char	*comma = strchr(p, ',');

			field[nf++] = p;
			if (comma == NULL)
				break;
			*comma = '\0';
			p = comma + 1;
		}
		if (nf != 5 || strchr(p, ',') != NULL)
			goto bad;
		for (i = 0; i < 5; i++)
			field[i] = str_trim(field[i]);
		if (*field[0] == '\0' ||
		    gpu_value(field[1], 1000, &v[0]) == -1 ||
		    gpu_value(field[2], 100, &v[1]) == -1 ||
		    gpu_value(field[3], INT64_C(1) << 40, &v[2]) == -1 ||
		    gpu_value(field[4], INT64_C(1) << 40, &v[3]) == -1)
			goto bad;
		g.name = xstrdup(field[0]);
		g.temp_c = (int)v[0];
		g.util_pct = (int)v[1];
		g.mem_used_mib = v[2];
		g.mem_total_mib = v[3];
		gl->v = xreallocarray(gl->v, gl->n + 1, sizeof *gl->v);
		gl->v[gl->n++] = g;
	}
	free(copy);
	return 0;
bad:
	free(copy);
	{
		char	*first = quote_first_line(text);

		if (lineno == 1)
			set_cause(cause, "not nvidia-smi CSV output: %s", first);
		else
			set_cause(cause, "nvidia-smi output line %d is not "
			    "name, temperature, utilization, memory used, "
			    "memory total", lineno);
		free(first);
	}
	gpu_release(gl);
	return -1;
}

void
gpu_release(struct gpu_list *gl)
{
	size_t	 i;

	if (gl == NULL)
		return;
	for (i = 0; i < gl->n; i++)
		free(gl->v[i].name);
	free(gl->v);
	memset(gl, 0, sizeof *gl);
}

char *
gpu_format(const struct gpu_list *gl)
{
	struct buf	 b;
	size_t		 i;

	if (gl->n == 0)
		return xstrdup("no NVIDIA GPU found");
	buf_init(&b, 0);
	for (i = 0; i < gl->n; i++) {
		const struct gpu_info	*g = &gl->v[i];

		buf_printf(&b, "GPU%zu %s: ", i, g->name);
		if (g->temp_c >= 0)
			buf_printf(&b, "%d C", g->temp_c);
		else
			buf_puts(&b, "temperature n/a");
		if (g->util_pct >= 0)
			buf_printf(&b, ", %d%% busy", g->util_pct);
		if (g->mem_used_mib >= 0 && g->mem_total_mib >= 0)
			buf_printf(&b, ", %" PRId64 "/%" PRId64 " MiB",
			    g->mem_used_mib, g->mem_total_mib);
		buf_puts(&b, "\n");
	}
	return buf_steal(&b);
}

/* --- lvs --- */

/* "2026-10-01 03:00:00 +0200" to UNIX time; -1 if malformed. */
static int64_t
lv_time_parse(const char *s)
{
	struct tm	 tm;
	int		 y, mo, d, h, mi, sec, off, n = 0;
	char		 sign;

	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d %c%4d%n", &y, &mo, &d, &h, &mi,
	    &sec, &sign, &off, &n) != 8 || s[n] != '\0' ||
	    (sign != '+' && sign != '-') || mo < 1 || mo > 12 || d < 1 ||
	    d > 31 || h > 23 || mi > 59 || sec > 60 || off > 1400)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	off = (off / 100) * 3600 + (off % 100) * 60;
	return (int64_t)timegm(&tm) - (sign == '+' ? off : -off);
}

static int
snap_by_time(const void *a, const void *b)
{
	const struct lv_snapshot	*x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return strcmp(x->name, y->name);
}

int
lvs_parse(const char *text, struct lv_snapshots *ls, char **cause)
{
	json_t		*root, *report, *entry, *lvs, *lv;
	json_error_t	 jerr;
	size_t		 i, j;

	memset(ls, 0, sizeof *ls);
	if ((root = json_loads(text, 0, &jerr)) == NULL) {
		char	*first = quote_first_line(text);

		set_cause(cause, "lvs output is not JSON (line %d: %s): %s",
		    jerr.line, jerr.text, first);
		free(first);
		return -1;
	}
	report = json_object_get(root, "report");
	if (!json_is_array(report)) {
		json_decref(root);
		return set_cause(cause, "lvs output has no \"report\" array");
	}
	json_array_foreach(report, i, entry) {
		lvs = json_object_get(entry, "lv");
		if (!json_is_array(lvs))
			continue;
		json_array_foreach(lvs, j, lv) {
			const char		*name, *origin, *tm, *size;
			struct lv_snapshot	 s;

			name = json_string_value(json_object_get(lv,
			    "lv_name"));
			origin = json_string_value(json_object_get(lv,
			    "origin"));
			tm = json_string_value(json_object_get(lv, "lv_time"));
			size = json_string_value(json_object_get(lv,
			    "lv_size"));
			if (name == NULL || origin == NULL || *origin == '\0')
				continue;
			s.name = xstrdup(name);
			s.origin = xstrdup(origin);
			s.size = xstrdup(size != NULL ? size : "");
			s.time = tm != NULL ? lv_time_parse(tm) : -1;
			ls->v = xreallocarray(ls->v, ls->n + 1, sizeof *ls->v);
			ls->v[ls->n++] = s;
		}
	}
	json_decref(root);
	if (ls->n > 1)
		qsort(ls->v, ls->n, sizeof *ls->v, snap_by_time);
	return 0;
}

void
lvs_release(struct lv_snapshots *ls)
{
	size_t	 i;

	if (ls == NULL)
		return;
	for (i = 0; i < ls->n; i++) {
		free(ls->v[i].name);
		free(ls->v[i].origin);
		free(ls->v[i].size);
	}
	free(ls->v);
	memset(ls, 0, sizeof *ls);
}

char *
lvs_format(const struct lv_snapshots *ls)
{
	struct buf	 b;
	size_t		 i;

	if (ls->n == 0)
		return xstrdup("no snapshots");
	buf_init(&b, 0);
	for (i = 0; i < ls->n; i++) {
		const struct lv_snapshot	*s = &ls->v[i];
		char				 when[32] = "unknown time";
		struct tm			 tm;
		time_t				 t = (time_t)s->time;

		if (s->time >= 0 && gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
		buf_printf(&b, "%s of %s, %s, %s\n", s->name, s->origin,
		    s->size, when);
	}
	return buf_steal(&b);
}

static int
is_safety(const char *name)
{
	return str_has_prefix(name, "safety-");
}

size_t
lvs_retention(const struct lv_snapshots *ls, size_t max_count,
    int64_t max_age_s, int64_t now, size_t *remove)
{
	size_t	 i, n = 0, kept = 0, excess;
	char	*gone;

	if (ls->n == 0)
		return 0;
	gone = xcalloc(ls->n, 1);
	/* The list is oldest first: age, then count from the old end. */
	for (i = 0; i < ls->n; i++) {
		if (is_safety(ls->v[i].name))
			continue;
		if (max_age_s > 0 && ls->v[i].time >= 0 &&
		    now - ls->v[i].time > max_age_s)
			gone[i] = 1;
		else
			kept++;
	}
	excess = max_count > 0 && kept > max_count ? kept - max_count : 0;
	for (i = 0; i < ls->n && excess > 0; i++) {
		if (is_safety(ls->v[i].name) || gone[i])
			continue;
		gone[i] = 1;
		excess--;
	}
	for (i = 0; i < ls->n; i++) {
		if (gone[i])
			remove[n++] = i;
	}
	free(gone);
	return n;
}

/* --- systemctl status --- */

char *
systemctl_summary(const char *unit, const char *text)
{
	const char	*p = text;

	while (p != NULL && *p != '\0') {
		const char	*line = p, *nl = strchr(p, '\n');
		size_t		 n = nl != NULL ? (size_t)(nl - p) : strlen(p);

		while (n > 0 && isspace((unsigned char)*line)) {
			line++;
			n--;
		}
		if (n > 7 && strncmp(line, "Active:", 7) == 0) {
			line += 7;
			n -= 7;
			while (n > 0 && *line == ' ') {
				line++;
				n--;
			}
			return xasprintf("%s: %.*s", unit, (int)n, line);
		}
		p = nl != NULL ? nl + 1 : NULL;
	}
	return NULL;
}

/* ---- the parsers by name ---- */

static char *
out_text(const char *out, char **cause)
{
	return xstrdup(*out != '\0' ? out : "(no output)");
}

static char *
out_apt(const char *out, char **cause)
{
	struct apt_updates	 u;
	char			*s;

	if (apt_parse(out, &u, cause) != 0)
		return NULL;
	s = apt_summary(&u, 20);
	apt_release(&u);
	return s;
}

static char *
out_gpu(const char *out, char **cause)
{
	struct gpu_list	 g;
	char		*s;

	if (gpu_parse(out, &g, cause) != 0)
		return NULL;
	s = gpu_format(&g);
	gpu_release(&g);
	return s;
}

static char *
out_lvs(const char *out, char **cause)
{
	struct lv_snapshots	 l;
	char			*s;

	if (lvs_parse(out, &l, cause) != 0)
		return NULL;
	s = lvs_format(&l);
	lvs_release(&l);
	return s;
}

static char *
out_pvecm(const char *out, char **cause)
{
	struct pvecm_status	 p;
	char			*s;

	if (pvecm_parse(out, &p, cause) != 0)
		return NULL;
	s = pvecm_summary(&p);
	pvecm_release(&p);
	return s;
}

static char *
out_sensors(const char *out, char **cause)
{
	struct sensor_list	 l;
	char			*s;

	if (sensors_parse_json(out, NULL, NULL, &l, cause) != 0)
		return NULL;
	s = sensors_format(&l);
	sensor_list_release(&l);
	return s;
}

static const struct ssh_output ssh_outputs[] = {
	{ "text", out_text },
	{ "apt_upgradable", out_apt },
	{ "gpu_csv", out_gpu },
	{ "lvs_json", out_lvs },
	{ "pvecm", out_pvecm },
	{ "sensors_json", out_sensors },
};

const struct ssh_output *
ssh_output_find(const char *name)
{
	size_t	 i;

	for (i = 0; name != NULL && i < nitems(ssh_outputs); i++) {
		if (strcmp(ssh_outputs[i].name, name) == 0)
			return &ssh_outputs[i];
	}
	return NULL;
}

size_t
ssh_output_count(void)
{
	return nitems(ssh_outputs);
}

const struct ssh_output *
ssh_output_get(size_t i)
{
	return i < nitems(ssh_outputs) ? &ssh_outputs[i] : NULL;
}

char *
ssh_output_format(const char *name, const char *out, char **cause)
{
	const struct ssh_output	*o = ssh_output_find(name != NULL ? name :
	    "text");

	if (o == NULL) {
		set_cause(cause, "unknown output parser '%s'", name);
		return NULL;
	}
	return o->format(out, cause);
}
