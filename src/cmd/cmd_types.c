/*
 * cmd_types.c - the argument types: what a VMID, a node name, a snapshot
 * name, a storage id, a duration, a task UPID or a silence matcher may
 * look like.
 *
 * Every rule is a whitelist of characters and a length cap, so a value
 * that passes cannot carry shell or URL syntax (';', '$', '`', '/', ' ',
 * quotes) except the free-text types (reason, command), which never reach
 * an SSH argv (the loader refuses that) and travel as form values only.
 * No value except a free-text one may begin with '-', so none can be
 * read as an option by a remote program.
 */
#include <sys/types.h>

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "util.h"

#define VMID_MIN	100
#define VMID_MAX	999999999LL
#define NAME_MAX_LEN	63

static const char *arg_type_names[] = {
	[ARG_GUEST] = "guest",
	[ARG_NODE] = "node",
	[ARG_SNAPSHOT] = "snapshot",
	[ARG_STORAGE] = "storage",
	[ARG_DURATION] = "duration",
	[ARG_INT] = "int",
	[ARG_ENUM] = "enum",
	[ARG_WORD] = "word",
	[ARG_REASON] = "reason",
	[ARG_UPID] = "upid",
	[ARG_MATCHER] = "matcher",
	[ARG_VMID] = "vmid",
	[ARG_COMMAND] = "command",
};

const char *
cmd_arg_type_name(enum arg_type t)
{
	if ((size_t)t >= nitems(arg_type_names) || arg_type_names[t] == NULL)
		return "unknown";
	return arg_type_names[t];
}

/*
 * Values are echoed in error messages; the whole line has already passed
 * utf8_valid_text, but keep the echo short so one reply stays one line.
 */
static const char *
shown(const char *v, char *buf, size_t len)
{
	size_t	 n = strlen(v);

	if (n < 48)
		return v;
	/* Cut at a character boundary. */
	n = 40;
	while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
		n--;
	snprintf(buf, len, "%.*s...", (int)n, v);
	return buf;
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return 0;
	}
	return 1;
}

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_hex(char c)
{
	return isxdigit((unsigned char)c);
}

/* One DNS label: [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?, n chars. */
static int
dns_label(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return 0;
	for (i = 0; i < n; i++) {
		if (!is_alnum(s[i]) && s[i] != '-')
			return 0;
	}
	return 1;
}

static int
validate_vmid(const char *v, const char *what, char **cause)
{
	const char	*errstr;
	char		 b[64];

	if (!all_digits(v))
		return set_cause(cause, "'%s' is not a VMID: use a number "
		    "from 100 to 999999999", shown(v, b, sizeof b));
	if (v[0] == '0')
		return set_cause(cause, "%s '%s' must not start with 0", what,
		    shown(v, b, sizeof b));
	strtonum(v, VMID_MIN, VMID_MAX, &errstr);
	if (errstr != NULL)
		return set_cause(cause, "%s %s is out of range: VMIDs are "
		    "100 to 999999999", what, shown(v, b, sizeof b));
	return 0;
}

static int
validate_guest(const char *v, char **cause)
{
	const char	*p, *dot;
	size_t		 n = strlen(v);
	char		 b[64];

	if (all_digits(v))
		return validate_vmid(v, "VMID", cause);
	if (n > NAME_MAX_LEN)
		return set_cause(cause, "guest name '%s' is too long (at most "
		    "63 characters)", shown(v, b, sizeof b));
	for (p = v;; p = dot + 1) {
		dot = strchr(p, '.');
		if (!dns_label(p, dot != NULL ? (size_t)(dot - p) : strlen(p)))
			return set_cause(cause, "'%s' is not a guest: use a "
			    "VMID (100-999999999) or a guest name (letters, "
			    "digits, '-' and '.')", shown(v, b, sizeof b));
		if (dot == NULL)
			break;
	}
	return 0;
}

static int
validate_node(const char *v, char **cause)
{
	size_t	 n = strlen(v);
	char	 b[64];

	if (n > NAME_MAX_LEN)
		return set_cause(cause, "node name '%s' is too long (at most "
		    "63 characters)", shown(v, b, sizeof b));
	if (!dns_label(v, n))
		return set_cause(cause, "'%s' is not a node name: use "
		    "letters, digits and '-', starting and ending with a "
		    "letter or digit", shown(v, b, sizeof b));
	return 0;
}

static int
validate_snapshot(const char *v, char **cause)
{
	size_t	 i, n = strlen(v);
	char	 b[64];

	if (!is_alpha(v[0]))
		return set_cause(cause, "snapshot name '%s' must start with "
		    "a letter", shown(v, b, sizeof b));
	for (i = 0; i < n; i++) {
		if (!is_alnum(v[i]) && v[i] != '_' && v[i] != '-')
			return set_cause(cause, "snapshot name '%s' may hold "
			    "only letters, digits, '_' and '-'",
			    shown(v, b, sizeof b));
	}
	/* Proxmox (pve-configid) needs two characters at least. */
	if (n < 2 || n > 40)
		return set_cause(cause, "snapshot name '%s' must be 2 to 40 "
		    "characters long", shown(v, b, sizeof b));
	if (strcasecmp(v, "current") == 0)
		return set_cause(cause, "'current' is reserved by Proxmox "
		    "and is not a snapshot name");
	return 0;
}

/* pve-storage-id: ^[a-z][a-z0-9\-_.]*[a-z0-9]$, case-insensitive. */
static int
validate_storage(const char *v, char **cause)
{
	size_t	 i, n = strlen(v);
	char	 b[64];

	if (n > 64)
		return set_cause(cause, "storage id '%s' is too long (at most "
		    "64 characters)", shown(v, b, sizeof b));
	if (n < 2 || !is_alpha(v[0]) || !is_alnum(v[n - 1]))
		goto bad;
	for (i = 0; i < n; i++) {
		if (!is_alnum(v[i]) && v[i] != '-' && v[i] != '_' &&
		    v[i] != '.')
			goto bad;
	}
	return 0;
bad:
	return set_cause(cause, "'%s' is not a storage id: it starts with a "
	    "letter, ends with a letter or digit, and holds letters, digits, "
	    "'-', '_' and '.'", shown(v, b, sizeof b));
}

static int
validate_duration(const char *v, char **cause)
{
	int64_t	 secs;
	char	 b[64];

	/* A bare number would be seconds: too easy to misread ("2"). */
	if (!isdigit((unsigned char)v[0]) ||
	    isdigit((unsigned char)v[strlen(v) - 1]) ||
	    parse_duration(v, &secs, NULL) != 0 || secs <= 0)
		return set_cause(cause, "'%s' is not a duration: use e.g. "
		    "90s, 15m, 2h or 7d", shown(v, b, sizeof b));
	return 0;
}

static int
validate_int(const struct cmd_arg *a, const char *v, char **cause)
{
	const char	*errstr, *p = v;
	char		 b[64];

	if (*p == '-')
		p++;
	if (!all_digits(p))
		return set_cause(cause, "'%s' is not a whole number",
		    shown(v, b, sizeof b));
	strtonum(v, a->min, a->max, &errstr);
	if (errstr != NULL)
		return set_cause(cause, "%s %s is out of range (%lld to %lld)",
		    a->name, shown(v, b, sizeof b), a->min, a->max);
	return 0;
}

static int
validate_enum(const struct cmd_arg *a, const char *v, char **cause)
{
	struct buf	 list;
	size_t		 i;
	char		 b[64];
	int		 rc;

	for (i = 0; i < a->nenums; i++) {
		if (strcasecmp(a->enums[i], v) == 0)
			return 0;
	}
	buf_init(&list, 1024);
	for (i = 0; i < a->nenums; i++)
		buf_printf(&list, "%s%s", i ? ", " : "", a->enums[i]);
	rc = set_cause(cause, "'%s' is not a valid %s: choose one of %s",
	    shown(v, b, sizeof b), a->name, buf_cstr(&list));
	buf_release(&list);
	return rc;
}

static int
validate_word(const struct cmd_arg *a, const char *v, char **cause)
{
	char	 b[64];

	if (v[0] == '-')
		return set_cause(cause, "%s '%s' must not start with '-'",
		    a->name, shown(v, b, sizeof b));
	if (a->regex != NULL &&
	    regexec((const regex_t *)a->regex, v, 0, NULL, 0) != 0)
		return set_cause(cause, "'%s' is not a valid %s%s%s",
		    shown(v, b, sizeof b), a->name,
		    a->help != NULL ? ": " : "",
		    a->help != NULL ? a->help : "");
	return 0;
}

static size_t
utf8_chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

static int
validate_text(const struct cmd_arg *a, const char *v, size_t cap,
    char **cause)
{
	size_t	 n = strlen(v);

	if (!utf8_valid_text(v, n))
		return set_cause(cause, "%s holds control characters or "
		    "invalid UTF-8", a->name);
	/* Bidirectional overrides make a reply read other than it is. */
	if (strstr(v, "\xe2\x80\xaa") || strstr(v, "\xe2\x80\xab") ||
	    strstr(v, "\xe2\x80\xac") || strstr(v, "\xe2\x80\xad") ||
	    strstr(v, "\xe2\x80\xae") || strstr(v, "\xe2\x81\xa6") ||
	    strstr(v, "\xe2\x81\xa7") || strstr(v, "\xe2\x81\xa8") ||
	    strstr(v, "\xe2\x81\xa9"))
		return set_cause(cause, "%s holds a text-direction override "
		    "character", a->name);
	if (utf8_chars(v) > cap)
		return set_cause(cause, "%s is too long (%zu characters; at "
		    "most %zu)", a->name, utf8_chars(v), cap);
	return 0;
}

/* UPID:node:pid:pstart:starttime:type:id:user@realm[!token]: */
static int
validate_upid(const char *v, char **cause)
{
	const char	*f[9], *p;
	size_t		 len[9], i, k, nf = 0;
	char		 b[64];

	if (strlen(v) > 256 || strncmp(v, "UPID:", 5) != 0)
		goto bad;
	p = v + 5;
	while (nf < nitems(f)) {
		const char *c = strchr(p, ':');

		if (c == NULL)
			break;
		f[nf] = p;
		len[nf++] = (size_t)(c - p);
		p = c + 1;
	}
	if (nf != 7 || *p != '\0')
		goto bad;
	if (len[0] > NAME_MAX_LEN || !dns_label(f[0], len[0]))
		goto bad;
	for (i = 1; i <= 3; i++) {
		/* pid and start time 8 hex digits, pstart 8 or 9. */
		if (len[i] < 8 || len[i] > (i == 2 ? 9u : 8u))
			goto bad;
		for (k = 0; k < len[i]; k++) {
			if (!is_hex(f[i][k]))
				goto bad;
		}
	}
	if (len[4] == 0)
		goto bad;
	for (k = 0; k < len[4]; k++) {
		if (!is_alnum(f[4][k]) && f[4][k] != '_' && f[4][k] != '-' &&
		    f[4][k] != '.')
			goto bad;
	}
	for (k = 0; k < len[5]; k++) {
		if (!is_alnum(f[5][k]) && strchr("_-.@!", f[5][k]) == NULL)
			goto bad;
	}
	if (len[6] < 3 || memchr(f[6], '@', len[6]) == NULL || f[6][0] == '@')
		goto bad;
	for (k = 0; k < len[6]; k++) {
		if (!is_alnum(f[6][k]) && strchr("_-.@!+", f[6][k]) == NULL)
			goto bad;
	}
	return 0;
bad:
	return set_cause(cause, "'%s' is not a task id: expected "
	    "UPID:node:pid:pstart:starttime:type:id:user@realm:",
	    shown(v, b, sizeof b));
}

/*
 * Matcher values: alert ids are numbers; names may be globs ('*', '?')
 * over the characters Proxmox allows in node, guest, storage and rule
 * names, so no value can carry anything else.
 */
static int
matcher_value_ok(const char *key, const char *val, size_t n)
{
	size_t	 i;
	char	 tmp[80];

	if (n == 0 || n > 64 || n >= sizeof tmp)
		return 0;
	memcpy(tmp, val, n);
	tmp[n] = '\0';
	if (strcmp(key, "alert") == 0) {
		for (i = 0; i < n; i++) {
			if (tmp[i] < '0' || tmp[i] > '9')
				return 0;
		}
		return n <= 18;
	}
	if (strcmp(key, "severity") == 0)
		return strcasecmp(tmp, "info") == 0 ||
		    strcasecmp(tmp, "warning") == 0 ||
		    strcasecmp(tmp, "critical") == 0;
	if (strcmp(key, "guest") == 0 && strspn(tmp, "0123456789") == n)
		return validate_guest(tmp, NULL) == 0;	/* a VMID in range */
	if (!is_alnum(tmp[0]) && tmp[0] != '*' && tmp[0] != '?')
		return 0;
	for (i = 0; i < n; i++) {
		if (!is_alnum(tmp[i]) && strchr("_-.:*?", tmp[i]) == NULL)
			return 0;
	}
	return 1;
}

/*
 * rule=NAME,node=N,guest=VMID|NAME,storage=S,target=T,alert=ID,
 * severity=info|warning|critical; names may be globs.
 */
static int
validate_matcher(const char *v, char **cause)
{
	static const char	*keys[] = { "rule", "node", "guest",
				    "severity", "alert", "target", "storage" };
	const char		*p = v, *eq, *end;
	unsigned		 seen = 0;
	size_t			 i;
	char			 b[64];

	if (strlen(v) > 256)
		return set_cause(cause, "matcher '%s' is too long",
		    shown(v, b, sizeof b));
	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL)
			goto bad;
		for (i = 0; i < nitems(keys); i++) {
			if ((size_t)(eq - p) == strlen(keys[i]) &&
			    strncmp(p, keys[i], (size_t)(eq - p)) == 0)
				break;
		}
		if (i == nitems(keys))
			goto bad;
		if (seen & (1u << i))
			return set_cause(cause, "matcher '%s' names %s twice",
			    shown(v, b, sizeof b), keys[i]);
		seen |= 1u << i;
		if (!matcher_value_ok(keys[i], eq + 1, (size_t)(end - eq - 1)))
			return set_cause(cause, "matcher '%s': '%.*s' is not a "
			    "valid %s", shown(v, b, sizeof b),
			    (int)(end - eq - 1 > 40 ? 40 : end - eq - 1),
			    eq + 1, keys[i]);
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return 0;
bad:
	return set_cause(cause, "'%s' is not a matcher: use rule=NAME, "
	    "node=NODE, guest=VMID or severity=info|warning|critical, "
	    "comma-separated", shown(v, b, sizeof b));
}

int
cmd_validate_arg(const struct cmd_arg *a, const char *v, char **cause)
{
	if (v == NULL || *v == '\0')
		return set_cause(cause, "%s is empty", a->name);
	if (a->type != ARG_REASON && a->type != ARG_COMMAND &&
	    strlen(v) > 256)
		return set_cause(cause, "%s is too long", a->name);
	switch (a->type) {
	case ARG_GUEST:
		return validate_guest(v, cause);
	case ARG_VMID:
		return validate_vmid(v, "VMID", cause);
	case ARG_NODE:
		return validate_node(v, cause);
	case ARG_SNAPSHOT:
		return validate_snapshot(v, cause);
	case ARG_STORAGE:
		return validate_storage(v, cause);
	case ARG_DURATION:
		return validate_duration(v, cause);
	case ARG_INT:
		return validate_int(a, v, cause);
	case ARG_ENUM:
		return validate_enum(a, v, cause);
	case ARG_WORD:
		return validate_word(a, v, cause);
	case ARG_REASON:
		return validate_text(a, v, CMD_REASON_MAX, cause);
	case ARG_COMMAND:
		return validate_text(a, v, CMD_LINE_MAX, cause);
	case ARG_UPID:
		return validate_upid(v, cause);
	case ARG_MATCHER:
		return validate_matcher(v, cause);
	}
	return set_cause(cause, "%s has an unknown type", a->name);
}
