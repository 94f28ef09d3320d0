/*
 * cmd_load.c - loads the command catalogue: every *.yaml in commands/,
 * and in a local folder layered over it (bot.conf's local_commands), where
 * a file adds commands or replaces the file of the same name, so a site
 * keeps its changes out of the shipped catalogue and package upgrades
 * update the rest.
 *
 * Files are read in name order, each at most 1 MiB, with libyaml. Every
 * key is checked against the tables below: an unknown key, a missing
 * required key, a wrong type, a duplicate name or alias (across files,
 * comparing case-insensitively with '-' equal to '_') and an unsafe
 * executor template are errors naming file:line:column. Loading goes on
 * past the first error, and a catalogue is returned only when there were
 * none, so a half-valid catalogue never runs.
 *
 * Template rules (what keeps user text out of places it must not go):
 * placeholders are {arg}, {arg?TEXT} (TEXT when arg is present) and, for
 * commands with a guest argument, {node} {type} {vmid}. An SSH argv
 * element is a constant or exactly one "{arg}", never a mix, and free
 * text (reason, command, matcher) never goes into an argv or a path.
 */
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <yaml.h>

#include "cmd_int.h"
#include "util.h"

#define FILE_MAX	(1024 * 1024)
#define ERRORS_MAX	(64 * 1024)
#define CMDS_MAX	256
#define ARGS_MAX	16
#define ALIASES_MAX	8
#define ENUMS_MAX	25
#define PARAMS_MAX	32
#define ARGV_MAX	64

struct name_ref {
	char	*name;		/* a command name or alias */
	char	*owner;		/* the command it belongs to */
	char	*file;
	int	 line, column;
};

struct loader {
	const char	*file;
	yaml_document_t	*doc;
	struct buf	*errors;
	int		 nerrors;
	struct name_ref	*names;
	size_t		 nnames;
};

static void free_def(struct cmd_def *);

static void __attribute__((format(printf, 3, 4)))
lerr(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (n != NULL)
		buf_printf(l->errors, "%s:%zu:%zu: %s\n", l->file,
		    n->start_mark.line + 1, n->start_mark.column + 1, msg);
	else
		buf_printf(l->errors, "%s: %s\n", l->file, msg);
	free(msg);
	l->nerrors++;
}

static yaml_node_t *
node(struct loader *l, int id)
{
	return yaml_document_get_node(l->doc, id);
}

static const char *
scalar_of(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* A scalar value, or an error naming what was expected. */
static const char *
want_scalar(struct loader *l, yaml_node_t *n, const char *key)
{
	const char	*s = scalar_of(n);

	if (s == NULL)
		lerr(l, n, "%s: expected a string", key);
	else if (strlen(s) != n->data.scalar.length)
		lerr(l, n, "%s: NUL byte in value", key);
	else
		return s;
	return NULL;
}

static int
want_bool(struct loader *l, yaml_node_t *n, const char *key, int *out)
{
	const char	*s = scalar_of(n);

	if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)) {
		*out = 1;
		return 0;
	}
	if (s != NULL && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)) {
		*out = 0;
		return 0;
	}
	lerr(l, n, "%s: expected true or false", key);
	return -1;
}

static int
want_int(struct loader *l, yaml_node_t *n, const char *key, long long min,
    long long max, long long *out)
{
	const char	*s = scalar_of(n), *errstr;
	long long	 v;

	if (s == NULL) {
		lerr(l, n, "%s: expected a number", key);
		return -1;
	}
	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL) {
		lerr(l, n, "%s: '%s' is %s (%lld to %lld)", key, s, errstr,
		    min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * Checks a mapping's keys against the allowed and required lists:
 * unknown, duplicate and missing keys are errors. Returns 0 when the node
 * is a mapping (even with key errors) so the caller goes on checking.
 */
static int
check_keys(struct loader *l, yaml_node_t *map, const char *what,
    const char *const *allowed, const char *const *required)
{
	yaml_node_pair_t	*p, *q;
	const char		*k;
	size_t			 i;

	if (map == NULL || map->type != YAML_MAPPING_NODE) {
		lerr(l, map, "%s: expected a mapping", what);
		return -1;
	}
	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = node(l, p->key);

		k = scalar_of(kn);
		if (k == NULL) {
			lerr(l, kn, "%s: keys must be strings", what);
			continue;
		}
		for (i = 0; allowed[i] != NULL; i++) {
			if (strcmp(allowed[i], k) == 0)
				break;
		}
		if (allowed[i] == NULL) {
			lerr(l, kn, "%s: unknown key '%s'", what, k);
			continue;
		}
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			const char *k2 = scalar_of(node(l, q->key));

			if (k2 != NULL && strcmp(k, k2) == 0) {
				lerr(l, kn, "%s: duplicate key '%s'", what, k);
				break;
			}
		}
	}
	for (i = 0; required != NULL && required[i] != NULL; i++) {
		for (p = map->data.mapping.pairs.start;
		    p < map->data.mapping.pairs.top; p++) {
			const char *k2 = scalar_of(node(l, p->key));

			if (k2 != NULL && strcmp(k2, required[i]) == 0)
				break;
		}
		if (p == map->data.mapping.pairs.top)
			lerr(l, map, "%s: missing required key '%s'", what,
			    required[i]);
	}
	return 0;
}

static yaml_node_t *
map_get(struct loader *l, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar_of(node(l, p->key));

		if (k != NULL && strcmp(k, key) == 0)
			return node(l, p->value);
	}
	return NULL;
}

static size_t
seq_len(yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
}

/* [a-z][a-z0-9_-]{0,31}, or with dots between such parts for actions. */
static int
ident_ok(const char *s, size_t max, int dashes, int dots)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > max || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_')
			continue;
		if (c == '-' && dashes)
			continue;
		if (c == '.' && dots && s[i + 1] >= 'a' && s[i + 1] <= 'z')
			continue;
		return 0;
	}
	return 1;
}

/* One line of 1 to max characters (not bytes): menu texts. */
static int
oneline_text(const char *s, size_t max)
{
	size_t	 i, n = strlen(s), chars = 0;

	for (i = 0; i < n; i++)
		chars += ((unsigned char)s[i] & 0xc0) != 0x80;
	return chars > 0 && chars <= max && utf8_valid_text(s, n) &&
	    strchr(s, '\t') == NULL;
}

int
cmd_name_equal(const char *a, const char *b)
{
	for (;; a++, b++) {
		char ca = *a == '-' ? '_' : (char)tolower_ascii(*a);
		char cb = *b == '-' ? '_' : (char)tolower_ascii(*b);

		if (ca != cb)
			return 0;
		if (ca == '\0')
			return 1;
	}
}

int
cmd_is_rest_type(enum arg_type t)
{
	return t == ARG_REASON || t == ARG_COMMAND;
}

static void
add_name(struct loader *l, yaml_node_t *n, const char *name, const char *owner)
{
	struct name_ref	*r;
	size_t		 i;

	for (i = 0; i < l->nnames; i++) {
		r = &l->names[i];
		if (cmd_name_equal(r->name, name)) {
			lerr(l, n, "'%s' is already used by command '%s' "
			    "(%s:%d:%d)", name, r->owner, r->file, r->line,
			    r->column);
			return;
		}
	}
	l->names = xreallocarray(l->names, l->nnames + 1, sizeof *l->names);
	r = &l->names[l->nnames++];
	r->name = xstrdup(name);
	r->owner = xstrdup(owner);
	r->file = xstrdup(l->file);
	r->line = (int)n->start_mark.line + 1;
	r->column = (int)n->start_mark.column + 1;
}

static const struct {
	const char	*name;
	enum arg_type	 type;
} type_table[] = {
	{ "guest", ARG_GUEST }, { "node", ARG_NODE },
	{ "snapshot", ARG_SNAPSHOT }, { "storage", ARG_STORAGE },
	{ "duration", ARG_DURATION }, { "int", ARG_INT },
	{ "enum", ARG_ENUM }, { "word", ARG_WORD }, { "reason", ARG_REASON },
	{ "upid", ARG_UPID }, { "matcher", ARG_MATCHER },
	{ "vmid", ARG_VMID }, { "command", ARG_COMMAND },
};

static const char *const arg_keys[] = { "name", "type", "optional", "min",
    "max", "values", "pattern", "default", "default_now", "help", NULL };
static const char *const arg_required[] = { "name", "type", NULL };

static void
load_arg(struct loader *l, yaml_node_t *n, struct cmd_arg *a)
{
	yaml_node_t	*v;
	const char	*s;
	size_t		 i;
	int		 b, have_type = 0;

	a->max = -1;
	/* Until the type is known: not a guest (no {node} {type} {vmid}). */
	a->type = ARG_WORD;
	if (check_keys(l, n, "argument", arg_keys, arg_required) != 0)
		return;
	if ((s = want_scalar(l, map_get(l, n, "name"), "name")) != NULL) {
		if (!ident_ok(s, 32, 0, 0))
			lerr(l, map_get(l, n, "name"), "argument name '%s': "
			    "use lower-case letters, digits and '_', at most "
			    "32", s);
		a->name = xstrdup(s);
	}
	if ((v = map_get(l, n, "type")) != NULL &&
	    (s = want_scalar(l, v, "type")) != NULL) {
		for (i = 0; i < nitems(type_table); i++) {
			if (strcmp(type_table[i].name, s) == 0) {
				a->type = type_table[i].type;
				have_type = 1;
			}
		}
		if (!have_type)
			lerr(l, v, "type: unknown argument type '%s'", s);
	}
	if ((v = map_get(l, n, "optional")) != NULL &&
	    want_bool(l, v, "optional", &b) == 0)
		a->optional = b;
	if ((v = map_get(l, n, "help")) != NULL &&
	    (s = want_scalar(l, v, "help")) != NULL) {
		if (!oneline_text(s, 100))
			lerr(l, v, "help: one line of 1 to 100 characters");
		a->help = xstrdup(s);
	}
	if (!have_type)
		return;

	if (a->type == ARG_INT) {
		if ((v = map_get(l, n, "min")) == NULL ||
		    (v = map_get(l, n, "max")) == NULL)
			lerr(l, n, "argument %s: an int needs min and max",
			    a->name ? a->name : "?");
		if ((v = map_get(l, n, "min")) != NULL)
			want_int(l, v, "min", -(1LL << 53), 1LL << 53, &a->min);
		if ((v = map_get(l, n, "max")) != NULL)
			want_int(l, v, "max", -(1LL << 53), 1LL << 53, &a->max);
		if (map_get(l, n, "min") != NULL &&
		    map_get(l, n, "max") != NULL && a->min > a->max)
			lerr(l, n, "argument %s: min is above max",
			    a->name ? a->name : "?");
	} else if ((v = map_get(l, n, "min")) != NULL ||
	    (v = map_get(l, n, "max")) != NULL)
		lerr(l, v, "min and max are for int arguments only");

	v = map_get(l, n, "values");
	if (a->type == ARG_ENUM) {
		if (v == NULL || v->type != YAML_SEQUENCE_NODE ||
		    seq_len(v) == 0 || seq_len(v) > ENUMS_MAX)
			lerr(l, v != NULL ? v : n, "values: an enum needs a "
			    "list of 1 to %d values", ENUMS_MAX);
		else {
			a->enums = xcalloc(seq_len(v), sizeof *a->enums);
			for (i = 0; i < seq_len(v); i++) {
				yaml_node_t *e = node(l,
				    v->data.sequence.items.start[i]);

				if ((s = want_scalar(l, e, "values")) == NULL)
					continue;
				if (!ident_ok(s, 32, 1, 0))
					lerr(l, e, "enum value '%s': use "
					    "lower-case letters, digits, '_' "
					    "and '-'", s);
				a->enums[a->nenums++] = xstrdup(s);
			}
		}
	} else if (v != NULL)
		lerr(l, v, "values are for enum arguments only");

	v = map_get(l, n, "pattern");
	if (a->type == ARG_WORD) {
		if (v == NULL)
			lerr(l, n, "argument %s: a word needs a pattern",
			    a->name ? a->name : "?");
		else if ((s = want_scalar(l, v, "pattern")) != NULL) {
			regex_t	*re = xmalloc(sizeof *re);
			char	*anchored = xasprintf("^(%s)$", s);
			char	 msg[128];
			int	 rc;

			rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB);
			free(anchored);
			if (rc != 0) {
				regerror(rc, re, msg, sizeof msg);
				lerr(l, v, "pattern: %s", msg);
				free(re);
			} else
				a->regex = re;
			a->pattern = xstrdup(s);
		}
	} else if (v != NULL)
		lerr(l, v, "pattern is for word arguments only");

	if ((v = map_get(l, n, "default")) != NULL &&
	    (s = want_scalar(l, v, "default")) != NULL) {
		char *cause = NULL;

		if (!a->optional)
			lerr(l, v, "default: only an optional argument has "
			    "a default");
		else if (a->name != NULL && cmd_validate_arg(a, s, &cause) != 0)
			lerr(l, v, "default: %s", cause);
		free(cause);
		a->def = xstrdup(s);
	}
	if ((v = map_get(l, n, "default_now")) != NULL &&
	    (s = want_scalar(l, v, "default_now")) != NULL) {
		char		 sample[256], *cause = NULL;
		struct tm	 tm;
		time_t		 t = 1700000000;

		gmtime_r(&t, &tm);
		if (!a->optional || a->def != NULL)
			lerr(l, v, "default_now: only for an optional "
			    "argument without default");
		else if (strftime(sample, sizeof sample, s, &tm) == 0)
			lerr(l, v, "default_now: '%s' gives an empty or too "
			    "long value", s);
		else if (a->name != NULL &&
		    cmd_validate_arg(a, sample, &cause) != 0)
			lerr(l, v, "default_now: '%s' gives '%s': %s", s,
			    sample, cause);
		free(cause);
		a->def_now = xstrdup(s);
	}
}

/* A template's placeholders, checked against the command's arguments. */
static const struct cmd_arg *
find_arg(const struct cmd_def *d, const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < d->nargs; i++) {
		if (d->args[i].name != NULL &&
		    strlen(d->args[i].name) == len &&
		    strncmp(d->args[i].name, name, len) == 0)
			return &d->args[i];
	}
	return NULL;
}

static int
has_guest(const struct cmd_def *d)
{
	size_t	 i;

	for (i = 0; i < d->nargs; i++) {
		if (d->args[i].type == ARG_GUEST)
			return 1;
	}
	return 0;
}

/*
 * where: "path", "param" or "argv". Returns the number of placeholders,
 * or -1 after reporting an error.
 */
static int
check_template(struct loader *l, yaml_node_t *n, const struct cmd_def *d,
    const char *t, const char *where)
{
	const char		*p = t, *open, *close, *q;
	const struct cmd_arg	*a;
	size_t			 len;
	int			 count = 0;

	for (;;) {
		open = strpbrk(p, "{}");
		if (open == NULL)
			break;
		if (*open == '}')
			goto unbalanced;
		close = strpbrk(open + 1, "{}");
		if (close == NULL || *close == '{')
			goto unbalanced;
		q = memchr(open + 1, '?', (size_t)(close - open - 1));
		len = (size_t)((q != NULL ? q : close) - open - 1);
		count++;
		if (len == 0) {
			lerr(l, n, "%s '%s': empty placeholder", where, t);
			return -1;
		}
		a = find_arg(d, open + 1, len);
		if (a == NULL && has_guest(d) && q == NULL &&
		    ((len == 4 && strncmp(open + 1, "node", 4) == 0) ||
		    (len == 4 && strncmp(open + 1, "type", 4) == 0) ||
		    (len == 4 && strncmp(open + 1, "vmid", 4) == 0))) {
			if (strcmp(where, "argv") == 0 &&
			    (open != t || close[1] != '\0')) {
				lerr(l, n, "argv element '%s' mixes constant "
				    "text with a placeholder: a placeholder "
				    "must be the whole element", t);
				return -1;
			}
			p = close + 1;
			continue;
		}
		if (a == NULL) {
			lerr(l, n, "%s '%s': unknown placeholder '{%.*s}'",
			    where, t, (int)len, open + 1);
			return -1;
		}
		if (strcmp(where, "param") != 0 &&
		    (cmd_is_rest_type(a->type) || a->type == ARG_MATCHER)) {
			lerr(l, n, "%s '%s': free text ({%s}) may go into a "
			    "parameter only", where, t, a->name);
			return -1;
		}
		if (strcmp(where, "argv") == 0 && a->type == ARG_INT &&
		    a->min < 0) {
			lerr(l, n, "argv '%s': {%s} may be negative and read "
			    "as an option: give it min: 0", t, a->name);
			return -1;
		}
		if (strcmp(where, "argv") == 0 &&
		    (q != NULL || open != t || close[1] != '\0')) {
			lerr(l, n, "argv element '%s' mixes constant text "
			    "with a placeholder: a placeholder must be the "
			    "whole element", t);
			return -1;
		}
		p = close + 1;
	}
	return count;
unbalanced:
	lerr(l, n, "%s '%s': unbalanced '{' or '}'", where, t);
	return -1;
}

/* Proxmox parameter names: forceStop, target-storage, with-local-disks. */
static int
param_name_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > 64 || !((s[0] >= 'a' && s[0] <= 'z') ||
	    (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static const char *const proxmox_keys[] = { "method", "path", "params",
    "params_qemu", "params_lxc", "task", "expect_status", NULL };
static const char *const proxmox_required[] = { "method", "path", NULL };

static void
load_params(struct loader *l, yaml_node_t *n, struct cmd_def *d,
    const char *key, struct cmd_param **out, size_t *nout)
{
	yaml_node_pair_t	*p;
	const char		*k, *v;
	size_t			 cnt;

	if (n == NULL)
		return;
	if (n->type != YAML_MAPPING_NODE) {
		lerr(l, n, "%s: expected a mapping of name: template", key);
		return;
	}
	cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (cnt > PARAMS_MAX) {
		lerr(l, n, "%s: at most %d parameters", key, PARAMS_MAX);
		return;
	}
	if (strcmp(key, "params") != 0 && !has_guest(d))
		lerr(l, n, "%s: only for commands with a guest argument", key);
	*out = xcalloc(cnt ? cnt : 1, sizeof **out);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		yaml_node_t *kn = node(l, p->key), *vn = node(l, p->value);

		k = want_scalar(l, kn, key);
		v = want_scalar(l, vn, key);
		if (k == NULL || v == NULL)
			continue;
		if (!param_name_ok(k))
			lerr(l, kn, "%s: '%s' is not a parameter name", key, k);
		check_template(l, vn, d, v, "param");
		(*out)[*nout].key = xstrdup(k);
		(*out)[*nout].value = xstrdup(v);
		(*nout)++;
	}
}

static void
load_proxmox(struct loader *l, yaml_node_t *n, struct cmd_def *d)
{
	yaml_node_t	*v;
	const char	*s;
	int		 b;

	if (check_keys(l, n, "proxmox", proxmox_keys, proxmox_required) != 0)
		return;
	if ((v = map_get(l, n, "method")) != NULL &&
	    (s = want_scalar(l, v, "method")) != NULL) {
		if (strcmp(s, "GET") != 0 && strcmp(s, "POST") != 0 &&
		    strcmp(s, "PUT") != 0 && strcmp(s, "DELETE") != 0)
			lerr(l, v, "method: expected GET, POST, PUT or DELETE");
		d->proxmox.method = xstrdup(s);
	}
	if ((v = map_get(l, n, "path")) != NULL &&
	    (s = want_scalar(l, v, "path")) != NULL) {
		if (s[0] != '/' || strpbrk(s, " ?#%\\") != NULL)
			lerr(l, v, "path: expected an API path like "
			    "/nodes/{node}/{type}/{vmid}/status/start");
		else
			check_template(l, v, d, s, "path");
		d->proxmox.path = xstrdup(s);
	}
	load_params(l, map_get(l, n, "params"), d, "params",
	    &d->proxmox.params, &d->proxmox.nparams);
	load_params(l, map_get(l, n, "params_qemu"), d, "params_qemu",
	    &d->proxmox.params_qemu, &d->proxmox.nparams_qemu);
	load_params(l, map_get(l, n, "params_lxc"), d, "params_lxc",
	    &d->proxmox.params_lxc, &d->proxmox.nparams_lxc);
	if ((v = map_get(l, n, "task")) != NULL &&
	    want_bool(l, v, "task", &b) == 0)
		d->proxmox.task = b;
	if ((v = map_get(l, n, "expect_status")) != NULL &&
	    (s = want_scalar(l, v, "expect_status")) != NULL) {
		char	*copy = xstrdup(s), *tok, *save = NULL;

		for (tok = strtok_r(copy, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			if (strcmp(tok, "running") != 0 &&
			    strcmp(tok, "stopped") != 0 &&
			    strcmp(tok, "paused") != 0)
				lerr(l, v, "expect_status: '%s' is not one of "
				    "running, stopped, paused", tok);
		}
		free(copy);
		if (!has_guest(d))
			lerr(l, v, "expect_status: only for commands with a "
			    "guest argument");
		d->proxmox.expect_status = xstrdup(s);
	}
}

static const char *const ssh_keys[] = { "host", "argv", "argv_qemu",
    "argv_lxc", "timeout", "parser", "sudo", NULL };
static const char *const ssh_required[] = { "host", NULL };

/* One argv template: constants and whole-element placeholders. */
static void
load_argv(struct loader *l, yaml_node_t *v, struct cmd_def *d,
    const char *key, char ***argv, size_t *nargv)
{
	const struct cmd_arg	*a;
	const char		*s;
	size_t			 i;

	if (v->type != YAML_SEQUENCE_NODE || seq_len(v) == 0 ||
	    seq_len(v) > ARGV_MAX) {
		lerr(l, v, "%s: expected a list of 1 to %d strings", key,
		    ARGV_MAX);
		return;
	}
	*argv = xcalloc(seq_len(v), sizeof **argv);
	for (i = 0; i < seq_len(v); i++) {
		yaml_node_t	*e = node(l, v->data.sequence.items.start[i]);
		int		 ph;

		if ((s = want_scalar(l, e, key)) == NULL)
			continue;
		ph = check_template(l, e, d, s, "argv");
		if (i == 0 && ph != 0)
			lerr(l, e, "%s: the program must be a constant", key);
		a = ph == 1 ? find_arg(d, s + 1, strlen(s) - 2) : NULL;
		if (a != NULL && a->optional && a->def == NULL &&
		    a->def_now == NULL)
			lerr(l, e, "%s: optional argument '%s' has no "
			    "default, so this element could be empty", key,
			    a->name);
		if (ph == 0 && !utf8_valid_text(s, strlen(s)))
			lerr(l, e, "%s: control characters", key);
		(*argv)[(*nargv)++] = xstrdup(s);
	}
}

static void
load_ssh(struct loader *l, yaml_node_t *n, struct cmd_def *d)
{
	yaml_node_t		*v, *vq, *vl;
	const char		*s;
	const struct cmd_arg	*a;

	d->ssh.timeout = 30;
	if (check_keys(l, n, "ssh", ssh_keys, ssh_required) != 0)
		return;
	if ((v = map_get(l, n, "host")) != NULL &&
	    (s = want_scalar(l, v, "host")) != NULL) {
		a = find_arg(d, s, strlen(s));
		if (a == NULL || (a->type != ARG_NODE &&
		    a->type != ARG_GUEST) || a->optional)
			lerr(l, v, "host: '%s' is not a required node or "
			    "guest argument of this command", s);
		else
			d->ssh.host_guest = a->type == ARG_GUEST;
		d->ssh.host_arg = xstrdup(s);
	}
	v = map_get(l, n, "argv");
	vq = map_get(l, n, "argv_qemu");
	vl = map_get(l, n, "argv_lxc");
	if (v != NULL && (vq != NULL || vl != NULL))
		lerr(l, vq != NULL ? vq : vl, "ssh: argv, or argv_qemu and "
		    "argv_lxc, not both");
	else if (v == NULL && (vq == NULL || vl == NULL))
		lerr(l, n, "ssh: needs argv, or argv_qemu and argv_lxc");
	else if (v == NULL && !has_guest(d))
		lerr(l, vq, "argv_qemu: only for commands with a guest "
		    "argument");
	if (v != NULL)
		load_argv(l, v, d, "argv", &d->ssh.argv, &d->ssh.nargv);
	if (vq != NULL)
		load_argv(l, vq, d, "argv_qemu", &d->ssh.argv_qemu,
		    &d->ssh.nargv_qemu);
	if (vl != NULL)
		load_argv(l, vl, d, "argv_lxc", &d->ssh.argv_lxc,
		    &d->ssh.nargv_lxc);
	if ((v = map_get(l, n, "timeout")) != NULL &&
	    (s = want_scalar(l, v, "timeout")) != NULL) {
		int64_t secs;

		if (parse_duration(s, &secs, NULL) != 0 || secs < 1 ||
		    secs > 3600)
			lerr(l, v, "timeout: expected a duration from 1s to "
			    "1h");
		else
			d->ssh.timeout = secs;
	}
	if ((v = map_get(l, n, "parser")) != NULL &&
	    (s = want_scalar(l, v, "parser")) != NULL) {
		if (!ident_ok(s, 32, 0, 0))
			lerr(l, v, "parser: '%s' is not a parser name", s);
		d->ssh.parser = xstrdup(s);
		d->parser_line = (int)v->start_mark.line + 1;
		d->parser_column = (int)v->start_mark.column + 1;
	}
	{
		int	 b;

		if ((v = map_get(l, n, "sudo")) != NULL &&
		    want_bool(l, v, "sudo", &b) == 0)
			d->ssh.sudo = b;
	}
}

static const char *const variant_keys[] = { "action", "mutating", NULL };

static void
load_action_by(struct loader *l, yaml_node_t *n, struct cmd_def *d)
{
	static const char *const keys[] = { "arg", "values", NULL };
	const struct cmd_arg	*a = NULL;
	yaml_node_t		*v, *vals;
	yaml_node_pair_t	*p;
	const char		*s;
	size_t			 i, j;
	int			 b;

	if (check_keys(l, n, "action_by", keys, keys) != 0)
		return;
	if ((v = map_get(l, n, "arg")) != NULL &&
	    (s = want_scalar(l, v, "arg")) != NULL) {
		a = find_arg(d, s, strlen(s));
		/* An optional one with a default always has a value. */
		if (a == NULL || a->type != ARG_ENUM || (a->optional &&
		    a->def == NULL)) {
			lerr(l, v, "arg: '%s' is not a required enum argument "
			    "(or an optional one with a default)", s);
			a = NULL;
		}
		d->action_arg = xstrdup(s);
	}
	vals = map_get(l, n, "values");
	if (vals == NULL || vals->type != YAML_MAPPING_NODE) {
		lerr(l, vals != NULL ? vals : n, "values: expected a mapping "
		    "of enum value: {action, mutating}");
		return;
	}
	i = (size_t)(vals->data.mapping.pairs.top -
	    vals->data.mapping.pairs.start);
	if (i > ENUMS_MAX)
		return;
	d->variants = xcalloc(i ? i : 1, sizeof *d->variants);
	for (p = vals->data.mapping.pairs.start;
	    p < vals->data.mapping.pairs.top; p++) {
		yaml_node_t		*kn = node(l, p->key);
		yaml_node_t		*vn = node(l, p->value);
		struct cmd_variant	*var = &d->variants[d->nvariants];

		if ((s = want_scalar(l, kn, "values")) == NULL)
			continue;
		var->value = xstrdup(s);
		var->mutating = 1;
		d->nvariants++;
		if (check_keys(l, vn, "action_by value", variant_keys,
		    variant_keys) != 0)
			continue;
		if ((v = map_get(l, vn, "action")) != NULL &&
		    (s = want_scalar(l, v, "action")) != NULL) {
			if (!ident_ok(s, 64, 0, 1))
				lerr(l, v, "action '%s': use dotted lower-case "
				    "words like guest.start", s);
			var->action = xstrdup(s);
		}
		if ((v = map_get(l, vn, "mutating")) != NULL &&
		    want_bool(l, v, "mutating", &b) == 0)
			var->mutating = b;
	}
	if (a == NULL)
		return;
	for (i = 0; i < a->nenums; i++) {
		for (j = 0; j < d->nvariants; j++) {
			if (strcmp(d->variants[j].value, a->enums[i]) == 0)
				break;
		}
		if (j == d->nvariants)
			lerr(l, vals, "values: no action for '%s'",
			    a->enums[i]);
	}
	for (j = 0; j < d->nvariants; j++) {
		for (i = 0; i < a->nenums; i++) {
			if (strcmp(d->variants[j].value, a->enums[i]) == 0)
				break;
		}
		if (i == a->nenums)
			lerr(l, vals, "values: '%s' is not a value of %s",
			    d->variants[j].value, a->name);
	}
}

static void
make_usage(struct cmd_def *d)
{
	struct buf	 b;
	size_t		 i, j;

	buf_init(&b, 0);
	buf_puts(&b, d->name);
	for (i = 0; i < d->nargs; i++) {
		const struct cmd_arg *a = &d->args[i];

		buf_puts(&b, " ");
		if (a->optional)
			buf_puts(&b, "[");
		if (a->type == ARG_ENUM) {
			for (j = 0; j < a->nenums; j++)
				buf_printf(&b, "%s%s", j ? "|" : "",
				    a->enums[j]);
		} else {
			for (j = 0; a->name != NULL && a->name[j] != '\0'; j++)
				buf_printf(&b, "%c",
				    toupper((unsigned char)a->name[j]));
			if (a->type == ARG_COMMAND)
				buf_puts(&b, "...");
		}
		if (a->optional)
			buf_puts(&b, "]");
	}
	d->usage = buf_steal(&b);
}

static const char *const cmd_keys[] = { "name", "aliases", "summary", "help",
    "action", "action_by", "mutating", "heavy", "args", "proxmox", "ssh",
    "builtin", NULL };
static const char *const cmd_required[] = { "name", "summary", "action",
    NULL };

static void
load_command(struct loader *l, yaml_node_t *n, struct cmd_def *d)
{
	yaml_node_t	*v, *mut, *px, *sh, *bi;
	const char	*s;
	size_t		 i, j;
	int		 b, seen_optional = 0;

	d->file = xstrdup(l->file);
	d->line = (int)n->start_mark.line + 1;
	if (check_keys(l, n, "command", cmd_keys, cmd_required) != 0)
		return;
	if ((v = map_get(l, n, "name")) != NULL &&
	    (s = want_scalar(l, v, "name")) != NULL) {
		if (!ident_ok(s, 32, 1, 0))
			lerr(l, v, "name '%s': use lower-case letters, digits, "
			    "'_' and '-', starting with a letter, at most 32",
			    s);
		d->name = xstrdup(s);
		add_name(l, v, s, s);
	}
	if ((v = map_get(l, n, "aliases")) != NULL) {
		if (v->type != YAML_SEQUENCE_NODE || seq_len(v) > ALIASES_MAX)
			lerr(l, v, "aliases: expected a list of at most %d "
			    "names", ALIASES_MAX);
		else {
			d->aliases = xcalloc(seq_len(v) + 1,
			    sizeof *d->aliases);
			for (i = 0; i < seq_len(v); i++) {
				yaml_node_t *e = node(l,
				    v->data.sequence.items.start[i]);

				if ((s = want_scalar(l, e, "aliases")) == NULL)
					continue;
				if (!ident_ok(s, 32, 1, 0))
					lerr(l, e, "alias '%s': use lower-case "
					    "letters, digits, '_' and '-'", s);
				d->aliases[d->naliases++] = xstrdup(s);
				add_name(l, e, s, d->name ? d->name : "?");
			}
		}
	}
	if ((v = map_get(l, n, "summary")) != NULL &&
	    (s = want_scalar(l, v, "summary")) != NULL) {
		if (!oneline_text(s, 100))
			lerr(l, v, "summary: one line of 1 to 100 characters");
		d->summary = xstrdup(s);
	}
	if ((v = map_get(l, n, "help")) != NULL &&
	    (s = want_scalar(l, v, "help")) != NULL)
		d->help = xstrdup(s);
	if ((v = map_get(l, n, "action")) != NULL &&
	    (s = want_scalar(l, v, "action")) != NULL) {
		if (!ident_ok(s, 64, 0, 1))
			lerr(l, v, "action '%s': use dotted lower-case words "
			    "like guest.start", s);
		d->action = xstrdup(s);
	}

	if ((v = map_get(l, n, "args")) != NULL) {
		if (v->type != YAML_SEQUENCE_NODE || seq_len(v) > ARGS_MAX)
			lerr(l, v, "args: expected a list of at most %d "
			    "arguments", ARGS_MAX);
		else {
			d->args = xcalloc(seq_len(v) + 1, sizeof *d->args);
			for (i = 0; i < seq_len(v); i++) {
				yaml_node_t *e = node(l,
				    v->data.sequence.items.start[i]);
				struct cmd_arg *a = &d->args[d->nargs++];

				load_arg(l, e, a);
				if (a->name == NULL)
					continue;
				for (j = 0; j + 1 < d->nargs; j++) {
					if (d->args[j].name != NULL &&
					    strcmp(d->args[j].name,
					    a->name) == 0)
						lerr(l, e, "argument '%s' "
						    "appears twice", a->name);
				}
				if (seen_optional && !a->optional)
					lerr(l, e, "argument '%s': a required "
					    "argument cannot follow an "
					    "optional one", a->name);
				if (a->optional)
					seen_optional = 1;
				if (i > 0 &&
				    cmd_is_rest_type(d->args[i - 1].type))
					lerr(l, e, "argument '%s': nothing can "
					    "follow a %s argument", a->name,
					    cmd_arg_type_name(
					    d->args[i - 1].type));
			}
		}
	}
	if (has_guest(d)) {
		for (i = 0; i < d->nargs; i++) {
			if (d->args[i].name != NULL &&
			    (strcmp(d->args[i].name, "node") == 0 ||
			    strcmp(d->args[i].name, "type") == 0 ||
			    strcmp(d->args[i].name, "vmid") == 0))
				lerr(l, n, "argument '%s' clashes with the "
				    "guest's {%s}: pick another name",
				    d->args[i].name, d->args[i].name);
		}
	}
	if ((v = map_get(l, n, "heavy")) != NULL &&
	    want_bool(l, v, "heavy", &b) == 0)
		d->heavy = b;

	px = map_get(l, n, "proxmox");
	sh = map_get(l, n, "ssh");
	bi = map_get(l, n, "builtin");
	if (px != NULL && sh != NULL)
		lerr(l, sh, "a command runs either proxmox or ssh, not both");
	if (px == NULL && sh == NULL && bi == NULL)
		lerr(l, n, "command %s: needs proxmox, ssh or builtin",
		    d->name ? d->name : "?");
	if (px != NULL) {
		d->exec = CMD_EXEC_PROXMOX;
		load_proxmox(l, px, d);
	} else if (sh != NULL) {
		d->exec = CMD_EXEC_SSH;
		load_ssh(l, sh, d);
	} else
		d->exec = CMD_EXEC_BUILTIN;
	if (bi != NULL && (s = want_scalar(l, bi, "builtin")) != NULL) {
		if (!ident_ok(s, 32, 0, 0))
			lerr(l, bi, "builtin: '%s' is not a handler name", s);
		d->builtin = xstrdup(s);
		d->builtin_line = (int)bi->start_mark.line + 1;
		d->builtin_column = (int)bi->start_mark.column + 1;
	}

	/* Reads default to not mutating; anything else to mutating. */
	d->mutating = d->exec == CMD_EXEC_SSH || (d->exec == CMD_EXEC_PROXMOX &&
	    d->proxmox.method != NULL && strcmp(d->proxmox.method, "GET") != 0);
	if ((mut = map_get(l, n, "mutating")) != NULL &&
	    want_bool(l, mut, "mutating", &b) == 0) {
		if (!b && d->exec == CMD_EXEC_PROXMOX &&
		    d->proxmox.method != NULL &&
		    strcmp(d->proxmox.method, "GET") != 0)
			lerr(l, mut, "mutating: a %s changes state and cannot "
			    "be marked read-only", d->proxmox.method);
		d->mutating = b;
	}
	if ((v = map_get(l, n, "action_by")) != NULL) {
		load_action_by(l, v, d);
		if (mut != NULL)
			lerr(l, mut, "mutating: set it per value under "
			    "action_by");
		d->mutating = 0;
		for (i = 0; i < d->nvariants; i++)
			d->mutating |= d->variants[i].mutating;
	}
	if (bi != NULL && d->exec != CMD_EXEC_BUILTIN && d->mutating)
		lerr(l, bi, "builtin: only a read command may name an output "
		    "formatter next to proxmox or ssh");
	if (d->name != NULL)
		make_usage(d);
}

static void
load_document(struct loader *l, struct catalogue *cat)
{
	static const char *const top_keys[] = { "commands", NULL };
	yaml_node_t	*root, *list;
	size_t		 i;

	root = yaml_document_get_root_node(l->doc);
	if (root == NULL)
		return;		/* an empty file is an empty group */
	if (check_keys(l, root, "file", top_keys, top_keys) != 0)
		return;
	list = map_get(l, root, "commands");
	if (list == NULL)
		return;
	if (list->type != YAML_SEQUENCE_NODE) {
		lerr(l, list, "commands: expected a list of commands");
		return;
	}
	if (cat->ncmds + seq_len(list) > CMDS_MAX) {
		lerr(l, list, "commands: at most %d commands in all", CMDS_MAX);
		return;
	}
	cat->cmds = xreallocarray(cat->cmds, cat->ncmds + seq_len(list) + 1,
	    sizeof *cat->cmds);
	for (i = 0; i < seq_len(list); i++) {
		struct cmd_def	*d = &cat->cmds[cat->ncmds++];
		const char	*base, *dot;

		memset(d, 0, sizeof *d);
		base = strrchr(l->file, '/');
		base = base != NULL ? base + 1 : l->file;
		dot = strrchr(base, '.');
		d->group = dot != NULL ? xstrndup(base, (size_t)(dot - base)) :
		    xstrdup(base);
		load_command(l, node(l, list->data.sequence.items.start[i]), d);
	}
}

static void
load_text(struct loader *l, struct catalogue *cat, const char *text,
    size_t len)
{
	yaml_parser_t	 parser;
	yaml_document_t	 doc;

	if (len > FILE_MAX) {
		lerr(l, NULL, "file is larger than %d bytes", FILE_MAX);
		return;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		buf_printf(l->errors, "%s:%zu:%zu: YAML syntax error: %s%s%s\n",
		    l->file, parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1,
		    parser.problem ? parser.problem : "unknown",
		    parser.context ? " " : "",
		    parser.context ? parser.context : "");
		l->nerrors++;
		yaml_parser_delete(&parser);
		return;
	}
	l->doc = &doc;
	load_document(l, cat);
	yaml_document_delete(&doc);
	l->doc = NULL;
	/* One document per file: a second one is a mistake, not ignored. */
	if (yaml_parser_load(&parser, &doc)) {
		if (yaml_document_get_root_node(&doc) != NULL)
			lerr(l, NULL, "more than one YAML document");
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
}

static struct catalogue *
finish(struct loader *l, struct catalogue *cat, char **errors)
{
	size_t	 i;

	for (i = 0; i < l->nnames; i++) {
		free(l->names[i].name);
		free(l->names[i].owner);
		free(l->names[i].file);
	}
	free(l->names);
	if (l->nerrors == 0 && cat->ncmds == 0) {
		buf_printf(l->errors, "%s: no commands found\n", l->file);
		l->nerrors++;
	}
	if (l->nerrors != 0) {
		if (l->errors->truncated)
			buf_printf(l->errors, "...\n");
		if (errors != NULL)
			*errors = buf_steal(l->errors);
		buf_release(l->errors);
		catalogue_free(cat);
		return NULL;
	}
	buf_release(l->errors);
	return cat;
}

struct catalogue *
catalogue_load_string(const char *file, const char *text, size_t len,
    char **errors)
{
	struct catalogue	*cat = xcalloc(1, sizeof *cat);
	struct loader		 l;
	struct buf		 eb;

	memset(&l, 0, sizeof l);
	buf_init(&eb, ERRORS_MAX);
	l.errors = &eb;
	l.file = file;
	load_text(&l, cat, text, len);
	return finish(&l, cat, errors);
}

static int
yaml_name(const struct dirent *de)
{
	size_t	 n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 5 &&
	    strcmp(de->d_name + n - 5, ".yaml") == 0;
}

struct catalogue *
catalogue_load(const char *dir, char **errors)
{
	return catalogue_load_dirs(&dir, 1, errors);
}

/* One catalogue file: its name (the layering key) and where it is. */
struct cat_file {
	char	*name;
	char	*path;
};

static int
cat_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cat_file *)a)->name,
	    ((const struct cat_file *)b)->name);
}

struct catalogue *
catalogue_load_dirs(const char *const *dirs, size_t ndirs, char **errors)
{
	struct catalogue	*cat = xcalloc(1, sizeof *cat);
	struct dirent		**list = NULL;
	struct cat_file		*files = NULL;
	struct loader		 l;
	struct buf		 eb;
	size_t			 nfiles = 0, d, j;
	int			 n, i;

	memset(&l, 0, sizeof l);
	buf_init(&eb, ERRORS_MAX);
	l.errors = &eb;
	for (d = 0; d < ndirs; d++) {
		n = scandir(dirs[d], &list, yaml_name, alphasort);
		if (n < 0) {
			buf_printf(&eb, "%s: cannot read the commands folder: "
			    "%s\n", dirs[d], strerror(errno));
			l.nerrors++;
			continue;
		}
		for (i = 0; i < n; i++) {
			for (j = 0; j < nfiles; j++) {
				if (strcmp(files[j].name, list[i]->d_name) == 0)
					break;
			}
			if (j == nfiles) {
				files = xreallocarray(files, nfiles + 1,
				    sizeof *files);
				files[nfiles].name = xstrdup(list[i]->d_name);
				files[nfiles].path = NULL;
				nfiles++;
			}
			free(files[j].path);
			files[j].path = xasprintf("%s/%s", dirs[d],
			    list[i]->d_name);
			free(list[i]);
		}
		free(list);
		list = NULL;
	}
	if (nfiles > 0)
		qsort(files, nfiles, sizeof *files, cat_file_cmp);
	for (j = 0; j < nfiles; j++) {
		char	*text, *cause = NULL;
		size_t	 len;

		text = read_file(files[j].path, FILE_MAX, &len, &cause);
		l.file = files[j].path;
		if (text == NULL) {
			buf_printf(&eb, "%s: %s\n", files[j].path, cause);
			l.nerrors++;
		} else
			load_text(&l, cat, text, len);
		free(cause);
		free(text);
		/* Defs keep their own copy; the names list its own too. */
		free(files[j].path);
		free(files[j].name);
	}
	free(files);
	l.file = ndirs > 0 ? dirs[0] : "(catalogue)";
	return finish(&l, cat, errors);
}

static void
free_params(struct cmd_param *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(p[i].key);
		free(p[i].value);
	}
	free(p);
}

static void
free_def(struct cmd_def *d)
{
	size_t	 i;

	free(d->name);
	strv_free(d->aliases, d->naliases);
	free(d->summary);
	free(d->help);
	free(d->usage);
	free(d->group);
	for (i = 0; i < d->nargs; i++) {
		struct cmd_arg *a = &d->args[i];

		free(a->name);
		strv_free(a->enums, a->nenums);
		free(a->pattern);
		free(a->def);
		free(a->def_now);
		free(a->help);
		if (a->regex != NULL) {
			regfree(a->regex);
			free(a->regex);
		}
	}
	free(d->args);
	free(d->action);
	free(d->action_arg);
	for (i = 0; i < d->nvariants; i++) {
		free(d->variants[i].value);
		free(d->variants[i].action);
	}
	free(d->variants);
	free(d->builtin);
	free(d->proxmox.method);
	free(d->proxmox.path);
	free_params(d->proxmox.params, d->proxmox.nparams);
	free_params(d->proxmox.params_qemu, d->proxmox.nparams_qemu);
	free_params(d->proxmox.params_lxc, d->proxmox.nparams_lxc);
	free(d->proxmox.expect_status);
	free(d->ssh.host_arg);
	strv_free(d->ssh.argv, d->ssh.nargv);
	strv_free(d->ssh.argv_qemu, d->ssh.nargv_qemu);
	strv_free(d->ssh.argv_lxc, d->ssh.nargv_lxc);
	free(d->ssh.parser);
	free(d->file);
}

void
catalogue_free(struct catalogue *cat)
{
	size_t	 i;

	if (cat == NULL)
		return;
	for (i = 0; i < cat->ncmds; i++)
		free_def(&cat->cmds[i]);
	free(cat->cmds);
	free(cat);
}

size_t
catalogue_count(const struct catalogue *cat)
{
	return cat != NULL ? cat->ncmds : 0;
}

const struct cmd_def *
catalogue_get(const struct catalogue *cat, size_t i)
{
	if (cat == NULL || i >= cat->ncmds)
		return NULL;
	return &cat->cmds[i];
}

const struct cmd_def *
catalogue_find(const struct catalogue *cat, const char *name)
{
	size_t	 i, j;

	if (cat == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cat->ncmds; i++) {
		const struct cmd_def *d = &cat->cmds[i];

		if (cmd_name_equal(d->name, name))
			return d;
		for (j = 0; j < d->naliases; j++) {
			if (cmd_name_equal(d->aliases[j], name))
				return d;
		}
	}
	return NULL;
}
