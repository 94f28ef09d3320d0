/*
 * policy_load.c - reads the YAML files in policies/ into a struct policy.
 *
 * Guarantees:
 * - Every key of every mapping is declared once in a table below; one
 *   walker checks each mapping against its table, so an unknown or
 *   misspelt key is an error, never silently ignored.
 * - Every error names file:line:column; loading goes on past the first
 *   error and all of them are reported (capped at MAX_ERRORS). Any error
 *   means no policy: a half-read policy is never returned.
 * - Files are read in two passes, so users and rules in one file may
 *   refer to roles and windows defined in another, in any order.
 * - Input is bounded: files are at most MAX_FILE bytes, YAML aliases are
 *   refused (each node is walked at most once), so loading time is
 *   linear in the size of the input.
 */
#include <sys/stat.h>

#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <yaml.h>

#include "policy_int.h"
#include "util.h"

#define MAX_FILE	(1024 * 1024)
#define MAX_ERRORS	100
#define MAX_APPROVALS	10
#define MAX_EXPIRY	(7 * 86400)
#define VMID_MIN	100
#define VMID_MAX	999999999

struct pol_file {
	const char	*name;		/* points into policy->files */
	yaml_document_t	 doc;
	int		 loaded;
	unsigned char	*seen;		/* per node: walked already */
	size_t		 nnodes;
	yaml_node_t	*users;		/* deferred to the second pass */
	yaml_node_t	*rules;
};

struct load {
	struct policy	*p;
	struct pol_file	*f;		/* the file being walked */
	struct buf	 errs;
	int		 nerrors;
};

/* ---- errors ---------------------------------------------------------- */

static void lerr_at(struct load *, const char *, size_t, size_t,
    const char *, ...) __attribute__((format(printf, 5, 6)));
static void lerr(struct load *, const yaml_node_t *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
lerr_vat(struct load *l, const char *file, size_t line, size_t column,
    const char *fmt, va_list ap)
{
	char	*msg;

	l->nerrors++;
	if (l->nerrors > MAX_ERRORS)
		return;
	msg = xvasprintf(fmt, ap);
	if (l->nerrors == MAX_ERRORS)
		buf_printf(&l->errs, "%s:%zu:%zu: too many errors, giving up\n",
		    file, line, column);
	else
		buf_printf(&l->errs, "%s:%zu:%zu: %s\n", file, line, column,
		    msg);
	free(msg);
}

static void
lerr_at(struct load *l, const char *file, size_t line, size_t column,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	lerr_vat(l, file, line, column, fmt, ap);
	va_end(ap);
}

static void
lerr(struct load *l, const yaml_node_t *n, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 line = 1, column = 1;

	if (n != NULL) {
		line = n->start_mark.line + 1;
		column = n->start_mark.column + 1;
	}
	va_start(ap, fmt);
	lerr_vat(l, l->f->name, line, column, fmt, ap);
	va_end(ap);
}

static void
set_loc(struct load *l, const yaml_node_t *n, struct pol_loc *loc)
{
	loc->file = l->f->name;
	loc->line = (int)n->start_mark.line + 1;
	loc->column = (int)n->start_mark.column + 1;
}

/* ---- nodes ----------------------------------------------------------- */

/*
 * The node at index i, walked for the first time. A node reached twice
 * is the target of a YAML alias: refused, which also keeps the walk
 * linear in the input.
 */
static yaml_node_t *
node(struct load *l, int i)
{
	yaml_node_t	*n;
	size_t		 k;

	n = yaml_document_get_node(&l->f->doc, i);
	if (n == NULL)
		return NULL;
	k = (size_t)(i - 1);
	if (k < l->f->nnodes) {
		if (l->f->seen[k]) {
			lerr(l, n, "YAML anchors and aliases (&name, *name) "
			    "are not supported in policies");
			return NULL;
		}
		l->f->seen[k] = 1;
	}
	return n;
}

static const char *
kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a single value";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static const char *
scalar(struct load *l, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		lerr(l, n, "%s must be %s, not %s", what, "a single value",
		    kind_name(n));
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

static int
is_null(const yaml_node_t *n)
{
	const char	*v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0;
}

static int
boolean(struct load *l, const yaml_node_t *n, const char *what, int *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	const char	*v;
	size_t		 i;

	if ((v = scalar(l, n, what)) == NULL)
		return -1;
	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	lerr(l, n, "%s must be yes or no, not \"%s\"", what, v);
	return -1;
}

/* ---- names and globs ------------------------------------------------- */

enum glob_kind {
	G_ACTION, G_NAME, G_TAG, G_NODE, G_POOL, G_SNAPSHOT, G_STORAGE
};

static const struct {
	const char	*what;
	const char	*extra;		/* allowed besides letters/digits */
	const char	*says;
} glob_kinds[] = {
	[G_ACTION] = { "action", "._-*?",
	    "lower-case letters, digits, '_', '-' and '*' or '?' in "
	    "dot-separated parts such as guest.snapshot.*" },
	[G_NAME] = { "guest name", ".-_*?",
	    "letters, digits, '.', '-', '_' and the wildcards '*' and '?'" },
	[G_TAG] = { "tag", "._-+*?",
	    "letters, digits, '.', '-', '_', '+' and the wildcards '*' and "
	    "'?'" },
	[G_NODE] = { "node", ".-*?",
	    "letters, digits, '.', '-' and the wildcards '*' and '?'" },
	[G_POOL] = { "pool", "._-*?",
	    "letters, digits, '.', '-', '_' and the wildcards '*' and '?'" },
	[G_SNAPSHOT] = { "snapshot", "_-*?",
	    "letters, digits, '_', '-' and the wildcards '*' and '?'" },
	[G_STORAGE] = { "storage", "._-*?",
	    "letters, digits, '.', '-', '_' and the wildcards '*' and '?'" },
};

static int
glob_valid(enum glob_kind kind, const char *g)
{
	const char	*s;
	size_t		 len = strlen(g);

	if (len == 0 || len > 128)
		return 0;
	for (s = g; *s != '\0'; s++) {
		if (kind == G_ACTION && isupper((unsigned char)*s))
			return 0;
		if (!isalnum((unsigned char)*s) &&
		    strchr(glob_kinds[kind].extra, *s) == NULL)
			return 0;
	}
	if (kind == G_ACTION && (g[0] == '.' || g[len - 1] == '.' ||
	    strstr(g, "..") != NULL))
		return 0;
	return 1;
}

static int
name_valid(const char *s, size_t max)
{
	size_t	 len = strlen(s);

	if (len == 0 || len > max)
		return 0;
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && strchr("_-.", *s) == NULL)
			return 0;
	}
	return 1;
}

/*
 * A platform identity: telegram:<digits>, discord:<digits>,
 * matrix:@local:server, console:<name>, schedule:<name>, and pvebot's
 * own operations: idle:<node>, retention:<name>.
 */
static int
identity_valid(const char *id)
{
	const char	*rest, *s;

	if (strlen(id) > 255)
		return 0;
	if (strncmp(id, "telegram:", 9) == 0 ||
	    strncmp(id, "discord:", 8) == 0) {
		rest = strchr(id, ':') + 1;
		if (*rest == '\0' || strlen(rest) > 20)
			return 0;
		for (s = rest; *s != '\0'; s++)
			if (!isdigit((unsigned char)*s))
				return 0;
		return 1;
	}
	if (strncmp(id, "matrix:", 7) == 0) {
		rest = id + 7;
		if (rest[0] != '@' || strchr(rest + 2, ':') == NULL ||
		    rest[1] == ':')
			return 0;
		for (s = rest; *s != '\0'; s++)
			if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 127)
				return 0;
		return 1;
	}
	if (strncmp(id, "console:", 8) == 0)
		return name_valid(id + 8, 63);
	/* A schedule's runs (schedules.yaml) act as schedule:NAME. */
	if (strncmp(id, "schedule:", 9) == 0)
		return name_valid(id + 9, 63);
	/* A node's idle shutdown (operations.idle_shutdown) and the
	 * snapshot clean-up ask as idle:NODE and retention:snapshots. */
	if (strncmp(id, "idle:", 5) == 0)
		return name_valid(id + 5, 63);
	if (strncmp(id, "retention:", 10) == 0)
		return name_valid(id + 10, 63);
	return 0;
}

static void
strv_add(struct pol_strv *sv, const char *s)
{
	sv->v = xreallocarray(sv->v, sv->n + 1, sizeof *sv->v);
	sv->v[sv->n++] = xstrdup(s);
}

static void
pol_strv_free(struct pol_strv *sv)
{
	strv_free(sv->v, sv->n);
	free(sv->locs);
	sv->v = NULL;
	sv->n = 0;
	sv->locs = NULL;
}

static void
idxv_add(struct pol_idxv *iv, size_t i)
{
	iv->v = xreallocarray(iv->v, iv->n + 1, sizeof *iv->v);
	iv->v[iv->n++] = i;
}

/*
 * Calls fn for each item of a single value or a list of single values.
 * An empty list is an error: a selector that names nothing is a mistake.
 */
static int
each_item(struct load *l, yaml_node_t *n, const char *what,
    int (*fn)(struct load *, yaml_node_t *, void *), void *arg)
{
	yaml_node_item_t	*it;
	yaml_node_t		*item;
	int			 rc = 0;

	if (is_null(n)) {
		lerr(l, n, "%s is empty", what);
		return -1;
	}
	if (n->type == YAML_SCALAR_NODE)
		return fn(l, n, arg);
	if (n->type != YAML_SEQUENCE_NODE) {
		lerr(l, n, "%s must be a value or a list of values, not %s",
		    what, kind_name(n));
		return -1;
	}
	if (n->data.sequence.items.start == n->data.sequence.items.top) {
		lerr(l, n, "%s is an empty list", what);
		return -1;
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		if ((item = node(l, *it)) == NULL) {
			rc = -1;
			continue;
		}
		if (item->type != YAML_SCALAR_NODE) {
			lerr(l, item, "each item of %s must be a single value, "
			    "not %s", what, kind_name(item));
			rc = -1;
			continue;
		}
		if (fn(l, item, arg) != 0)
			rc = -1;
	}
	return rc;
}

struct glob_arg {
	enum glob_kind	 kind;
	struct pol_strv	*out;
};

static int
add_glob(struct load *l, yaml_node_t *n, void *arg)
{
	struct glob_arg	*ga = arg;
	const char	*v = (const char *)n->data.scalar.value;

	if (!glob_valid(ga->kind, v)) {
		lerr(l, n, "bad %s pattern \"%s\": use %s",
		    glob_kinds[ga->kind].what, v, glob_kinds[ga->kind].says);
		return -1;
	}
	strv_add(ga->out, v);
	ga->out->locs = xreallocarray(ga->out->locs, ga->out->n,
	    sizeof *ga->out->locs);
	set_loc(l, n, &ga->out->locs[ga->out->n - 1]);
	return 0;
}

static int
globs(struct load *l, yaml_node_t *n, enum glob_kind kind,
    struct pol_strv *out)
{
	struct glob_arg	 ga = { kind, out };
	char		 what[64];

	snprintf(what, sizeof what, "%s", glob_kinds[kind].what);
	return each_item(l, n, what, add_glob, &ga);
}

static ssize_t
role_index(const struct policy *p, const char *name)
{
	size_t	 i;

	for (i = 0; i < p->nroles; i++)
		if (strcmp(p->roles[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* Where an entry of that kind was defined, or NULL. */
typedef const struct pol_loc *(*defined_fn)(const struct policy *,
    const char *);

static const struct pol_loc *
role_defined(const struct policy *p, const char *name)
{
	ssize_t	 i = role_index(p, name);

	return i == -1 ? NULL : &p->roles[i].loc;
}

static const struct pol_loc *
user_defined(const struct policy *p, const char *name)
{
	size_t	 i;

	for (i = 0; i < p->nusers; i++) {
		if (strcmp(p->users[i].name, name) == 0)
			return &p->users[i].loc;
	}
	return NULL;
}

static const struct pol_loc *
window_defined(const struct policy *p, const char *name)
{
	size_t	 i;

	for (i = 0; i < p->nwindows; i++) {
		if (strcmp(p->windows[i].name, name) == 0)
			return &p->windows[i].loc;
	}
	return NULL;
}

/*
 * The name of one entry of a roles:, users: or windows: mapping: a valid
 * name not defined before. NULL (and the error said) otherwise.
 */
static const char *
entry_name(struct load *l, yaml_node_t *k, const char *kind, size_t max,
    defined_fn defined)
{
	const struct pol_loc	*prev;
	const char		*name;
	char			 what[32];

	snprintf(what, sizeof what, "a %s name", kind);
	if ((name = scalar(l, k, what)) == NULL)
		return NULL;
	if (!name_valid(name, max)) {
		lerr(l, k, "bad %s name \"%s\": use up to %zu letters, "
		    "digits, '_', '-' or '.'", kind, name, max);
		return NULL;
	}
	if ((prev = defined(l->p, name)) != NULL) {
		lerr(l, k, "%s \"%s\" is already defined at %s:%d", kind,
		    name, prev->file, prev->line);
		return NULL;
	}
	return name;
}

static int
add_role_ref(struct load *l, yaml_node_t *n, void *arg)
{
	struct pol_idxv	*out = arg;
	const char	*v = (const char *)n->data.scalar.value;
	ssize_t		 i;
	size_t		 k;

	if ((i = role_index(l->p, v)) == -1) {
		lerr(l, n, "unknown role \"%s\"", v);
		return -1;
	}
	for (k = 0; k < out->n; k++)
		if (out->v[k] == (size_t)i)
			return 0;
	idxv_add(out, (size_t)i);
	return 0;
}

static int
add_window_ref(struct load *l, yaml_node_t *n, void *arg)
{
	struct pol_idxv	*out = arg;
	const char	*v = (const char *)n->data.scalar.value;
	size_t		 i;

	for (i = 0; i < l->p->nwindows; i++) {
		if (strcmp(l->p->windows[i].name, v) == 0) {
			idxv_add(out, i);
			return 0;
		}
	}
	lerr(l, n, "unknown window \"%s\" (define it under windows:)", v);
	return -1;
}

/* ---- the table-driven mapping walker --------------------------------- */

struct pol_key {
	const char	*name;
	int		(*fn)(struct load *, void *obj, yaml_node_t *value);
};

/*
 * Walks the mapping n against the table keys; each key's handler gets
 * the value. Unknown and repeated keys are errors. Returns -1 when
 * anything in the mapping was wrong.
 */
static int
walk_map(struct load *l, yaml_node_t *n, const char *what,
    const struct pol_key *keys, size_t nkeys, void *obj)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*name;
	unsigned long		 seen = 0;
	size_t			 i;
	int			 rc = 0;
	struct buf		 list;

	if (n->type != YAML_MAPPING_NODE) {
		lerr(l, n, "%s must be a mapping, not %s", what, kind_name(n));
		return -1;
	}
	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top; pair++) {
		if ((k = node(l, pair->key)) == NULL ||
		    (v = node(l, pair->value)) == NULL) {
			rc = -1;
			continue;
		}
		if ((name = scalar(l, k, "a key")) == NULL) {
			rc = -1;
			continue;
		}
		for (i = 0; i < nkeys; i++)
			if (strcmp(keys[i].name, name) == 0)
				break;
		if (i == nkeys) {
			buf_init(&list, 0);
			for (i = 0; i < nkeys; i++)
				buf_printf(&list, "%s%s", i ? ", " : "",
				    keys[i].name);
			lerr(l, k, "unknown key \"%s\" in %s (expected one "
			    "of: %s)", name, what, buf_cstr(&list));
			buf_release(&list);
			rc = -1;
			continue;
		}
		if (seen & (1UL << i)) {
			lerr(l, k, "key \"%s\" appears twice in %s", name,
			    what);
			rc = -1;
			continue;
		}
		seen |= 1UL << i;
		if (keys[i].fn(l, obj, v) != 0)
			rc = -1;
	}
	return rc;
}

/* ---- roles ----------------------------------------------------------- */

static int
role_request(struct load *l, void *obj, yaml_node_t *v)
{
	return globs(l, v, G_ACTION, &((struct pol_role *)obj)->request);
}

static int
role_approve(struct load *l, void *obj, yaml_node_t *v)
{
	struct pol_role	*r = obj;

	if (v->type == YAML_SEQUENCE_NODE &&
	    v->data.sequence.items.start == v->data.sequence.items.top)
		return 0;	/* approve: [] says "approves nothing" */
	return globs(l, v, G_ACTION, &r->approve);
}

static int
role_description(struct load *l, void *obj, yaml_node_t *v)
{
	return scalar(l, v, "description") == NULL ? -1 : 0;
}

static const struct pol_key role_keys[] = {
	{ "request", role_request },
	{ "approve", role_approve },
	{ "description", role_description },
};

static void
load_roles(struct load *l, yaml_node_t *n)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*name;
	struct pol_role		 r;
	char			 what[96];

	if (n->type != YAML_MAPPING_NODE) {
		lerr(l, n, "roles must be a mapping of role names, not %s",
		    kind_name(n));
		return;
	}
	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top; pair++) {
		if ((k = node(l, pair->key)) == NULL ||
		    (v = node(l, pair->value)) == NULL)
			continue;
		if ((name = entry_name(l, k, "role", 32,
		    role_defined)) == NULL)
			continue;
		memset(&r, 0, sizeof r);
		set_loc(l, k, &r.loc);
		snprintf(what, sizeof what, "role %s", name);
		/* Kept even when wrong, so references do not cascade. */
		if (walk_map(l, v, what, role_keys, nitems(role_keys),
		    &r) == 0 && r.request.n == 0)
			lerr(l, v, "role %s needs request: (the actions it "
			    "may ask for)", name);
		r.name = xstrdup(name);
		l->p->roles = xreallocarray(l->p->roles, l->p->nroles + 1,
		    sizeof *l->p->roles);
		l->p->roles[l->p->nroles++] = r;
	}
}

/* ---- users ----------------------------------------------------------- */

static int
add_identity(struct load *l, yaml_node_t *n, void *arg)
{
	struct pol_user	*u = arg;
	const char	*v = (const char *)n->data.scalar.value;
	const struct pol_user *other;
	size_t		 i;

	if (!identity_valid(v)) {
		lerr(l, n, "bad identity \"%s\": expected telegram:<user id>, "
		    "matrix:@user:server, discord:<user id> or "
		    "console:<name>", v);
		return -1;
	}
	if ((other = pol_find_user(l->p, v)) != NULL) {
		lerr(l, n, "identity \"%s\" already belongs to user %s "
		    "(%s:%d)", v, other->name, other->loc.file,
		    other->loc.line);
		return -1;
	}
	for (i = 0; i < u->identities.n; i++) {
		if (strcmp(u->identities.v[i], v) == 0) {
			lerr(l, n, "identity \"%s\" is listed twice", v);
			return -1;
		}
	}
	strv_add(&u->identities, v);
	return 0;
}

static int
user_identities(struct load *l, void *obj, yaml_node_t *v)
{
	return each_item(l, v, "identities", add_identity, obj);
}

static int
user_roles(struct load *l, void *obj, yaml_node_t *v)
{
	return each_item(l, v, "roles", add_role_ref,
	    &((struct pol_user *)obj)->roles);
}

static const struct pol_key user_keys[] = {
	{ "identities", user_identities },
	{ "roles", user_roles },
	{ "description", role_description },
};

static void
load_users(struct load *l, yaml_node_t *n)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*name;
	struct pol_user		 u;
	char			 what[96];

	if (n->type != YAML_MAPPING_NODE) {
		lerr(l, n, "users must be a mapping of user names, not %s",
		    kind_name(n));
		return;
	}
	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top; pair++) {
		if ((k = node(l, pair->key)) == NULL ||
		    (v = node(l, pair->value)) == NULL)
			continue;
		if ((name = entry_name(l, k, "user", 63,
		    user_defined)) == NULL)
			continue;
		memset(&u, 0, sizeof u);
		set_loc(l, k, &u.loc);
		snprintf(what, sizeof what, "user %s", name);
		if (walk_map(l, v, what, user_keys, nitems(user_keys),
		    &u) == 0) {
			if (u.identities.n == 0)
				lerr(l, v, "user %s needs identities: (such "
				    "as console:%s)", name, name);
			else if (u.roles.n == 0)
				lerr(l, v, "user %s needs roles:", name);
		}
		u.name = xstrdup(name);
		l->p->users = xreallocarray(l->p->users, l->p->nusers + 1,
		    sizeof *l->p->users);
		l->p->users[l->p->nusers++] = u;
	}
}

/* ---- windows --------------------------------------------------------- */

static int
parse_hhmm(const char *s, int allow_24, int *minutes)
{
	int	 h, m;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	if (isdigit((unsigned char)s[1]) && s[2] == ':') {
		h = (s[0] - '0') * 10 + (s[1] - '0');
		s += 3;
	} else if (s[1] == ':') {
		h = s[0] - '0';
		s += 2;
	} else
		return -1;
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != '\0')
		return -1;
	m = (s[0] - '0') * 10 + (s[1] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)))
		return -1;
	*minutes = h * 60 + m;
	return 0;
}

static int
window_from(struct load *l, void *obj, yaml_node_t *v)
{
	struct pol_window	*w = obj;
	const char		*s;

	if ((s = scalar(l, v, "from")) == NULL)
		return -1;
	if (parse_hhmm(s, 0, &w->from) != 0) {
		lerr(l, v, "bad time \"%s\" for from: expected HH:MM between "
		    "00:00 and 23:59", s);
		return -1;
	}
	return 0;
}

static int
window_to(struct load *l, void *obj, yaml_node_t *v)
{
	struct pol_window	*w = obj;
	const char		*s;

	if ((s = scalar(l, v, "to")) == NULL)
		return -1;
	if (parse_hhmm(s, 1, &w->to) != 0) {
		lerr(l, v, "bad time \"%s\" for to: expected HH:MM between "
		    "00:00 and 24:00", s);
		return -1;
	}
	return 0;
}

static int
add_day(struct load *l, yaml_node_t *n, void *arg)
{
	static const char *const days[] = {
		"sunday", "monday", "tuesday", "wednesday", "thursday",
		"friday", "saturday"
	};
	unsigned	*mask = arg;
	const char	*v = (const char *)n->data.scalar.value;
	size_t		 i, len = strlen(v);

	if (strcasecmp(v, "daily") == 0) {
		*mask |= POL_DAYS_ALL;
		return 0;
	}
	if (strcasecmp(v, "weekdays") == 0) {
		*mask |= 0x3e;
		return 0;
	}
	if (strcasecmp(v, "weekends") == 0) {
		*mask |= 0x41;
		return 0;
	}
	for (i = 0; i < nitems(days); i++) {
		if ((len == 3 || len == strlen(days[i])) &&
		    strncasecmp(v, days[i], len) == 0) {
			*mask |= 1U << i;
			return 0;
		}
	}
	lerr(l, n, "bad day \"%s\": use mon, tue, wed, thu, fri, sat, sun, "
	    "weekdays, weekends or daily", v);
	return -1;
}

static int
window_days(struct load *l, void *obj, yaml_node_t *v)
{
	struct pol_window	*w = obj;

	w->days = 0;
	return each_item(l, v, "days", add_day, &w->days);
}

static int
window_tz(struct load *l, void *obj, yaml_node_t *v)
{
	struct pol_window	*w = obj;
	const char		*s;
	char			*cause = NULL;

	if ((s = scalar(l, v, "tz")) == NULL)
		return -1;
	if (*s == '\0') {
		lerr(l, v, "empty time zone (expected a name such as "
		    "Europe/Berlin or UTC)");
		return -1;
	}
	if (tz_check(s, &cause) != 0) {
		lerr(l, v, "%s", cause);
		free(cause);
		return -1;
	}
	free(w->tz);
	w->tz = xstrdup(s);
	return 0;
}

static const struct pol_key window_keys[] = {
	{ "days", window_days },
	{ "from", window_from },
	{ "to", window_to },
	{ "tz", window_tz },
};

static void
load_windows(struct load *l, yaml_node_t *n)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*name;
	struct pol_window	 w;
	char			 what[96];

	if (n->type != YAML_MAPPING_NODE) {
		lerr(l, n, "windows must be a mapping of window names, not %s",
		    kind_name(n));
		return;
	}
	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top; pair++) {
		if ((k = node(l, pair->key)) == NULL ||
		    (v = node(l, pair->value)) == NULL)
			continue;
		if ((name = entry_name(l, k, "window", 32,
		    window_defined)) == NULL)
			continue;
		memset(&w, 0, sizeof w);
		set_loc(l, k, &w.loc);
		w.days = POL_DAYS_ALL;
		w.from = 0;
		w.to = 24 * 60;
		snprintf(what, sizeof what, "window %s", name);
		if (walk_map(l, v, what, window_keys, nitems(window_keys),
		    &w) == 0 && w.from == w.to)
			lerr(l, v, "window %s is empty: from and to are the "
			    "same time", name);
		w.name = xstrdup(name);
		l->p->windows = xreallocarray(l->p->windows,
		    l->p->nwindows + 1, sizeof *l->p->windows);
		l->p->windows[l->p->nwindows++] = w;
	}
}

/* ---- rules ----------------------------------------------------------- */

struct rule_ctx {
	struct pol_rule	 r;
	int		 have_effect;
	yaml_node_t	*approval_key;	/* first approval-only value seen */
};

static int
parse_vmid(const char *s, int *out)
{
	const char	*errstr;
	long long	 v;

	v = strtonum(s, VMID_MIN, VMID_MAX, &errstr);
	if (errstr != NULL)
		return -1;
	*out = (int)v;
	return 0;
}

static int
add_vmid(struct load *l, yaml_node_t *n, void *arg)
{
	struct pol_rule		*r = arg;
	const char		*v = (const char *)n->data.scalar.value;
	const char		*dash;
	char			*lo;
	struct pol_vmrange	 range;
	int			 bad;

	if ((dash = strchr(v, '-')) == NULL) {
		bad = parse_vmid(v, &range.lo);
		range.hi = range.lo;
	} else {
		lo = xstrndup(v, (size_t)(dash - v));
		bad = parse_vmid(lo, &range.lo) || parse_vmid(dash + 1,
		    &range.hi);
		free(lo);
		if (!bad && range.lo > range.hi) {
			lerr(l, n, "bad VMID range \"%s\": the first VMID is "
			    "larger than the last", v);
			return -1;
		}
	}
	if (bad) {
		lerr(l, n, "bad VMID \"%s\": expected a VMID from %d to %d or "
		    "a range such as 9000-9999", v, VMID_MIN, VMID_MAX);
		return -1;
	}
	r->vmids = xreallocarray(r->vmids, r->nvmids + 1, sizeof *r->vmids);
	r->vmids[r->nvmids++] = range;
	return 0;
}

#define RULE(obj) (&((struct rule_ctx *)(obj))->r)

static int
target_vmid(struct load *l, void *obj, yaml_node_t *v)
{
	return each_item(l, v, "vmid", add_vmid, RULE(obj));
}

static int
target_name(struct load *l, void *obj, yaml_node_t *v)
{
	return globs(l, v, G_NAME, &RULE(obj)->names);
}

static int
target_tags(struct load *l, void *obj, yaml_node_t *v)
{
	return globs(l, v, G_TAG, &RULE(obj)->tags);
}

static int
target_node(struct load *l, void *obj, yaml_node_t *v)
{
	return globs(l, v, G_NODE, &RULE(obj)->nodes);
}

static int
target_pool(struct load *l, void *obj, yaml_node_t *v)
{
	return globs(l, v, G_POOL, &RULE(obj)->pools);
}

static int
target_snapshot(struct load *l, void *obj, yaml_node_t *v)
{
	return globs(l, v, G_SNAPSHOT, &RULE(obj)->snapshots);
}

static int
target_storage(struct load *l, void *obj, yaml_node_t *v)
{
	return globs(l, v, G_STORAGE, &RULE(obj)->storages);
}

static int
target_type(struct load *l, void *obj, yaml_node_t *v)
{
	const char	*s;

	if ((s = scalar(l, v, "type")) == NULL)
		return -1;
	if (strcmp(s, "qemu") == 0)
		RULE(obj)->type = 1;
	else if (strcmp(s, "lxc") == 0)
		RULE(obj)->type = 2;
	else {
		lerr(l, v, "bad guest type \"%s\": expected qemu or lxc", s);
		return -1;
	}
	return 0;
}

static int
target_template(struct load *l, void *obj, yaml_node_t *v)
{
	return boolean(l, v, "template", &RULE(obj)->is_template);
}

static const struct pol_key target_keys[] = {
	{ "vmid", target_vmid },
	{ "name", target_name },
	{ "tags", target_tags },
	{ "node", target_node },
	{ "type", target_type },
	{ "pool", target_pool },
	{ "template", target_template },
	{ "snapshot", target_snapshot },
	{ "storage", target_storage },
};

static int
rule_name(struct load *l, void *obj, yaml_node_t *v)
{
	const char	*s;

	if ((s = scalar(l, v, "name")) == NULL)
		return -1;
	if (!name_valid(s, 63)) {
		lerr(l, v, "bad rule name \"%s\": use up to 63 letters, "
		    "digits, '_', '-' or '.'", s);
		return -1;
	}
	RULE(obj)->name = xstrdup(s);
	return 0;
}

static int
rule_why(struct load *l, void *obj, yaml_node_t *v)
{
	const char	*s;

	if ((s = scalar(l, v, "why")) == NULL)
		return -1;
	if (strlen(s) > 200 || !utf8_valid_text(s, strlen(s))) {
		lerr(l, v, "why must be one line of text of at most 200 "
		    "bytes");
		return -1;
	}
	RULE(obj)->why = xstrdup(s);
	return 0;
}

static int
rule_effect(struct load *l, void *obj, yaml_node_t *v)
{
	static const char *const names[] = {
		[POL_SELF_PROTECT] = "self_protect",
		[POL_PROHIBIT] = "prohibit",
		[POL_REQUIRE_APPROVAL] = "require_approval",
		[POL_ALLOW] = "allow",
	};
	struct rule_ctx	*rc = obj;
	const char	*s;
	size_t		 i;

	if ((s = scalar(l, v, "effect")) == NULL)
		return -1;
	for (i = 0; i < nitems(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			rc->r.effect = (enum pol_effect)i;
			rc->have_effect = 1;
			return 0;
		}
	}
	lerr(l, v, "bad effect \"%s\": expected self_protect, prohibit, "
	    "require_approval or allow", s);
	return -1;
}

static int
rule_action(struct load *l, void *obj, yaml_node_t *v)
{
	return globs(l, v, G_ACTION, &RULE(obj)->actions);
}

static int
rule_target(struct load *l, void *obj, yaml_node_t *v)
{
	RULE(obj)->has_target = 1;
	if (v->type == YAML_MAPPING_NODE &&
	    v->data.mapping.pairs.start == v->data.mapping.pairs.top) {
		lerr(l, v, "target is empty: name at least one of vmid, name, "
		    "tags, node, type, pool, template, snapshot, storage");
		return -1;
	}
	return walk_map(l, v, "target", target_keys, nitems(target_keys),
	    obj);
}

static int
rule_role(struct load *l, void *obj, yaml_node_t *v)
{
	return each_item(l, v, "role", add_role_ref, &RULE(obj)->roles);
}

static int
rule_during(struct load *l, void *obj, yaml_node_t *v)
{
	return each_item(l, v, "during", add_window_ref, &RULE(obj)->during);
}

static int
rule_outside(struct load *l, void *obj, yaml_node_t *v)
{
	return each_item(l, v, "outside", add_window_ref,
	    &RULE(obj)->outside);
}

static int
rule_mutating(struct load *l, void *obj, yaml_node_t *v)
{
	return boolean(l, v, "mutating", &RULE(obj)->mutating);
}

static void
approval_key(void *obj, yaml_node_t *v)
{
	struct rule_ctx	*rc = obj;

	if (rc->approval_key == NULL)
		rc->approval_key = v;
}

static int
rule_approvers(struct load *l, void *obj, yaml_node_t *v)
{
	approval_key(obj, v);
	return each_item(l, v, "approvers", add_role_ref,
	    &RULE(obj)->approvers);
}

static int
rule_approvals(struct load *l, void *obj, yaml_node_t *v)
{
	const char	*s, *errstr;
	long long	 n;

	approval_key(obj, v);
	if ((s = scalar(l, v, "approvals")) == NULL)
		return -1;
	n = strtonum(s, 1, MAX_APPROVALS, &errstr);
	if (errstr != NULL) {
		lerr(l, v, "approvals must be a number from 1 to %d, not "
		    "\"%s\"", MAX_APPROVALS, s);
		return -1;
	}
	RULE(obj)->approvals = (int)n;
	return 0;
}

static int
rule_expiry(struct load *l, void *obj, yaml_node_t *v)
{
	const char	*s;
	char		*cause = NULL;
	int64_t		 secs;

	approval_key(obj, v);
	if ((s = scalar(l, v, "expiry")) == NULL)
		return -1;
	if (parse_duration(s, &secs, &cause) != 0 || secs < 60 ||
	    secs > MAX_EXPIRY) {
		lerr(l, v, "expiry must be a duration from 1m to 7d such as "
		    "15m or 2h, not \"%s\"", s);
		free(cause);
		return -1;
	}
	RULE(obj)->expiry = secs;
	return 0;
}

static int
rule_self_approve(struct load *l, void *obj, yaml_node_t *v)
{
	approval_key(obj, v);
	return boolean(l, v, "self_approve", &RULE(obj)->self_approve);
}

static int
rule_reason_required(struct load *l, void *obj, yaml_node_t *v)
{
	approval_key(obj, v);
	return boolean(l, v, "reason_required", &RULE(obj)->reason_required);
}

static int
rule_snapshot_before(struct load *l, void *obj, yaml_node_t *v)
{
	approval_key(obj, v);
	return boolean(l, v, "snapshot_before", &RULE(obj)->snapshot_before);
}

static const struct pol_key rule_keys[] = {
	{ "name", rule_name },
	{ "effect", rule_effect },
	{ "why", rule_why },
	{ "action", rule_action },
	{ "target", rule_target },
	{ "role", rule_role },
	{ "during", rule_during },
	{ "outside", rule_outside },
	{ "mutating", rule_mutating },
	{ "approvers", rule_approvers },
	{ "approvals", rule_approvals },
	{ "expiry", rule_expiry },
	{ "self_approve", rule_self_approve },
	{ "reason_required", rule_reason_required },
	{ "snapshot_before", rule_snapshot_before },
};

static void
rule_free(struct pol_rule *r)
{
	free(r->name);
	free(r->why);
	free(r->vmids);
	pol_strv_free(&r->actions);
	pol_strv_free(&r->names);
	pol_strv_free(&r->tags);
	pol_strv_free(&r->nodes);
	pol_strv_free(&r->pools);
	pol_strv_free(&r->snapshots);
	pol_strv_free(&r->storages);
	free(r->roles.v);
	free(r->during.v);
	free(r->outside.v);
	free(r->approvers.v);
}

static void
load_rules(struct load *l, yaml_node_t *n)
{
	yaml_node_item_t	*it;
	yaml_node_t		*v;
	struct rule_ctx		 rc;
	size_t			 i;
	int			 bad;

	if (n->type != YAML_SEQUENCE_NODE) {
		lerr(l, n, "rules must be a list of rules (each starting "
		    "with \"- \"), not %s", kind_name(n));
		return;
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		if ((v = node(l, *it)) == NULL)
			continue;
		memset(&rc, 0, sizeof rc);
		set_loc(l, v, &rc.r.loc);
		rc.r.is_template = -1;
		rc.r.mutating = -1;
		rc.r.approvals = 1;
		rc.r.expiry = 900;
		bad = walk_map(l, v, "rule", rule_keys, nitems(rule_keys),
		    &rc) != 0;
		if (v->type == YAML_MAPPING_NODE && !rc.have_effect && !bad) {
			lerr(l, v, "rule needs effect: (self_protect, "
			    "prohibit, require_approval or allow)");
			bad = 1;
		}
		if (rc.have_effect && rc.approval_key != NULL &&
		    rc.r.effect != POL_REQUIRE_APPROVAL) {
			lerr(l, rc.approval_key, "approvers, approvals, expiry, "
			    "self_approve, reason_required and snapshot_before "
			    "only apply to effect: require_approval");
			bad = 1;
		}
		if (rc.have_effect && rc.r.name != NULL) {
			for (i = 0; i < l->p->nrules; i++) {
				if (l->p->rules[i].name != NULL &&
				    strcmp(l->p->rules[i].name,
				    rc.r.name) == 0) {
					lerr(l, v, "rule name \"%s\" is already "
					    "used at %s:%d", rc.r.name,
					    l->p->rules[i].loc.file,
					    l->p->rules[i].loc.line);
					bad = 1;
					break;
				}
			}
		}
		if (bad) {
			rule_free(&rc.r);
			continue;
		}
		l->p->rules = xreallocarray(l->p->rules, l->p->nrules + 1,
		    sizeof *l->p->rules);
		l->p->rules[l->p->nrules++] = rc.r;
	}
}

/* ---- files ----------------------------------------------------------- */

/*
 * Parses one file's YAML and runs the first pass (roles, windows; users
 * and rules are remembered for the second).
 */
static void
load_text(struct load *l, struct pol_file *f, const char *text, size_t len)
{
	yaml_parser_t		 parser;
	yaml_document_t		 extra;
	yaml_node_t		*root, *k, *v;
	yaml_node_pair_t	*pair;
	const char		*key;
	int			 alias;

	l->f = f;
	if (memchr(text, '\0', len) != NULL) {
		lerr_at(l, f->name, 1, 1, "the file contains a NUL byte");
		return;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    len);
	if (!yaml_parser_load(&parser, &f->doc)) {
		alias = parser.context != NULL &&
		    strstr(parser.context, "alias") != NULL;
		lerr_at(l, f->name, parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1, "YAML syntax error: %s%s%s%s",
		    parser.problem != NULL ? parser.problem : "unknown",
		    parser.context != NULL ? " " : "",
		    parser.context != NULL ? parser.context : "",
		    alias ? " (quote patterns that start with '*', such as "
		    "\"*.read\")" : "");
		yaml_parser_delete(&parser);
		return;
	}
	f->loaded = 1;
	if (yaml_document_get_root_node(&f->doc) != NULL) {
		if (!yaml_parser_load(&parser, &extra)) {
			lerr_at(l, f->name, parser.problem_mark.line + 1,
			    parser.problem_mark.column + 1,
			    "YAML syntax error: %s",
			    parser.problem != NULL ? parser.problem :
			    "unknown");
		} else {
			if ((root = yaml_document_get_root_node(&extra)) !=
			    NULL)
				lerr_at(l, f->name, root->start_mark.line + 1,
				    root->start_mark.column + 1, "only one "
				    "YAML document per policy file");
			yaml_document_delete(&extra);
		}
	}
	yaml_parser_delete(&parser);

	f->nnodes = (size_t)(f->doc.nodes.top - f->doc.nodes.start);
	f->seen = xcalloc(f->nnodes + 1, 1);
	if ((root = node(l, 1)) == NULL || is_null(root))
		return;		/* an empty file is an empty policy */
	if (root->type != YAML_MAPPING_NODE) {
		lerr(l, root, "a policy file must be a mapping with roles, "
		    "users, windows and rules, not %s", kind_name(root));
		return;
	}
	for (pair = root->data.mapping.pairs.start;
	    pair < root->data.mapping.pairs.top; pair++) {
		if ((k = node(l, pair->key)) == NULL ||
		    (v = node(l, pair->value)) == NULL)
			continue;
		if ((key = scalar(l, k, "a key")) == NULL)
			continue;
		if (is_null(v))
			continue;	/* "rules:" with nothing under it */
		if (strcmp(key, "roles") == 0)
			load_roles(l, v);
		else if (strcmp(key, "windows") == 0)
			load_windows(l, v);
		else if (strcmp(key, "users") == 0 && f->users == NULL)
			f->users = v;
		else if (strcmp(key, "rules") == 0 && f->rules == NULL)
			f->rules = v;
		else if (strcmp(key, "users") == 0 || strcmp(key, "rules") == 0)
			lerr(l, k, "key \"%s\" appears twice in this file", key);
		else
			lerr(l, k, "unknown key \"%s\" at the top of a policy "
			    "file (expected one of: roles, users, windows, "
			    "rules)", key);
	}
}

/* Policy files end in .yaml or .yml; hidden files are never read. */
static int
yaml_name(const char *name)
{
	size_t	 len = strlen(name);

	if (name[0] == '.')
		return 0;
	return (len > 5 && strcmp(name + len - 5, ".yaml") == 0) ||
	    (len > 4 && strcmp(name + len - 4, ".yml") == 0);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds path, or the .yaml and .yml files of folder path in order, to files. */
static void
expand_path(struct load *l, const char *path, struct pol_strv *files)
{
	struct stat	 st;
	DIR		*dir;
	struct dirent	*de;
	struct pol_strv	 names = { NULL, 0, NULL };
	size_t		 i;
	char		*full;

	if (stat(path, &st) != 0) {
		lerr_at(l, path, 1, 1, "cannot read: %s", strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		strv_add(files, path);
		return;
	}
	if ((dir = opendir(path)) == NULL) {
		lerr_at(l, path, 1, 1, "cannot read folder: %s",
		    strerror(errno));
		return;
	}
	while ((de = readdir(dir)) != NULL)
		if (yaml_name(de->d_name))
			strv_add(&names, de->d_name);
	closedir(dir);
	if (names.n == 0) {
		lerr_at(l, path, 1, 1, "no policy files (*.yaml, *.yml) in "
		    "this folder");
		return;
	}
	qsort(names.v, names.n, sizeof *names.v, name_cmp);
	for (i = 0; i < names.n; i++) {
		full = xasprintf("%s%s%s", path,
		    path[strlen(path) - 1] == '/' ? "" : "/", names.v[i]);
		strv_add(files, full);
		free(full);
	}
	pol_strv_free(&names);
}

char *
policy_unread_files(const char *const *paths, size_t npaths)
{
	struct buf	 b;
	struct stat	 st;
	DIR		*dir;
	struct dirent	*de;
	struct pol_strv	 names = { NULL, 0, NULL };
	size_t		 i, k;
	const char	*why;
	char		*full;

	buf_init(&b, 64 * 1024);
	for (i = 0; i < npaths; i++) {
		if (stat(paths[i], &st) != 0 || !S_ISDIR(st.st_mode) ||
		    (dir = opendir(paths[i])) == NULL)
			continue;	/* policy_load() says what is wrong */
		while ((de = readdir(dir)) != NULL) {
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				strv_add(&names, de->d_name);
		}
		closedir(dir);
		qsort(names.v, names.n, sizeof *names.v, name_cmp);
		for (k = 0; k < names.n; k++) {
			full = xasprintf("%s%s%s", paths[i],
			    paths[i][strlen(paths[i]) - 1] == '/' ? "" : "/",
			    names.v[k]);
			why = NULL;
			if (names.v[k][0] == '.')
				why = "hidden files (starting with '.') are "
				    "not policy files";
			else if (yaml_name(names.v[k]))
				why = NULL;	/* read, or an error of its own */
			else if (stat(full, &st) == 0 && S_ISDIR(st.st_mode))
				why = "folders inside the policies folder are "
				    "not read";
			else
				why = "only files ending in .yaml or .yml are "
				    "policy files";
			if (why != NULL)
				buf_printf(&b, "%s:1:1: not read: %s; rename "
				    "it or move it out of %s\n", full, why,
				    paths[i]);
			free(full);
		}
		pol_strv_free(&names);
	}
	if (b.len == 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/*
 * Runs both passes over texts[i] named p->files.v[i]. A NULL text was
 * unreadable (already reported).
 */
static struct policy *
load_all(struct load *l, char **texts, size_t *lens, char **errors)
{
	struct pol_file	*files;
	size_t		 i, n = l->p->files.n;

	files = xcalloc(n + 1, sizeof *files);
	for (i = 0; i < n; i++) {
		files[i].name = l->p->files.v[i];
		if (texts[i] != NULL)
			load_text(l, &files[i], texts[i], lens[i]);
	}
	for (i = 0; i < n; i++) {
		l->f = &files[i];
		if (files[i].users != NULL)
			load_users(l, files[i].users);
	}
	for (i = 0; i < n; i++) {
		l->f = &files[i];
		if (files[i].rules != NULL)
			load_rules(l, files[i].rules);
	}
	for (i = 0; i < n; i++) {
		if (files[i].loaded)
			yaml_document_delete(&files[i].doc);
		free(files[i].seen);
	}
	free(files);

	if (l->nerrors > 0) {
		*errors = buf_steal(&l->errs);
		policy_free(l->p);
		return NULL;
	}
	buf_release(&l->errs);
	*errors = NULL;
	return l->p;
}

struct policy *
policy_load(const char *const *paths, size_t npaths, char **errors)
{
	struct load	 l;
	struct pol_strv	 files = { NULL, 0, NULL };
	char		**texts, *cause;
	size_t		*lens, i;
	struct policy	*p;

	memset(&l, 0, sizeof l);
	l.p = xcalloc(1, sizeof *l.p);
	buf_init(&l.errs, 0);
	if (npaths == 0)
		lerr_at(&l, "(policy)", 1, 1, "no policy files given");
	for (i = 0; i < npaths; i++)
		expand_path(&l, paths[i], &files);
	l.p->files = files;
	texts = xcalloc(files.n + 1, sizeof *texts);
	lens = xcalloc(files.n + 1, sizeof *lens);
	for (i = 0; i < files.n; i++) {
		cause = NULL;
		texts[i] = read_file(files.v[i], MAX_FILE, &lens[i], &cause);
		if (texts[i] == NULL) {
			lerr_at(&l, files.v[i], 1, 1, "%s",
			    cause != NULL ? cause : "cannot read");
			free(cause);
		}
	}
	p = load_all(&l, texts, lens, errors);
	for (i = 0; i < files.n; i++)
		free(texts[i]);
	free(texts);
	free(lens);
	return p;
}

struct policy *
policy_load_string(const char *name, const char *yaml, char **errors)
{
	struct load	 l;
	char		*text;
	size_t		 len;

	memset(&l, 0, sizeof l);
	l.p = xcalloc(1, sizeof *l.p);
	buf_init(&l.errs, 0);
	strv_add(&l.p->files, name != NULL ? name : "(string)");
	len = strlen(yaml);
	if (len > MAX_FILE) {
		lerr_at(&l, l.p->files.v[0], 1, 1, "policy is larger than "
		    "%d bytes", MAX_FILE);
		text = NULL;
	} else
		text = (char *)yaml;
	return load_all(&l, &text, &len, errors);
}

void
policy_free(struct policy *p)
{
	size_t	 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nroles; i++) {
		free(p->roles[i].name);
		pol_strv_free(&p->roles[i].request);
		pol_strv_free(&p->roles[i].approve);
	}
	free(p->roles);
	for (i = 0; i < p->nusers; i++) {
		free(p->users[i].name);
		pol_strv_free(&p->users[i].identities);
		free(p->users[i].roles.v);
	}
	free(p->users);
	for (i = 0; i < p->nwindows; i++) {
		free(p->windows[i].name);
		free(p->windows[i].tz);
	}
	free(p->windows);
	for (i = 0; i < p->nrules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	pol_strv_free(&p->files);
	free(p);
}
