/*
 * cmd_parse.c - turns one chat line into a validated command call.
 *
 * Accepted forms: "/cmd@bot args" (Telegram), "/cmd args", "!cmd args",
 * and plain "cmd args" in a direct conversation or when the platform says
 * the message is for pvebot. Anything else is IGNORE: pvebot says nothing
 * to chat that is not meant for it, and a prefixed command it does not
 * know is only answered in a group when a close match exists (other bots
 * share the '/' and '!' prefixes).
 *
 * Once a message is for pvebot, a line over 4096 bytes, a NUL, a control
 * character or invalid UTF-8 is refused before any argument is looked at;
 * then every argument must pass its type (cmd_types.c). The first failure
 * is the reply, one line. The parser has no side effects: it reads the
 * catalogue and allocates only the call it returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cmd_int.h"
#include "util.h"

#define WORD_MAX	32

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

static const char *
skip_space(const char *p, const char *end)
{
	while (p < end && is_space(*p))
		p++;
	return p;
}

size_t
cmd_edit_distance(const char *a, const char *b, size_t limit)
{
	size_t	 la = strlen(a), lb = strlen(b), i;
	char	 na[WORD_MAX + 1], nb[WORD_MAX + 1];

	if (la > WORD_MAX || lb > WORD_MAX)
		return limit + 1;
	/* Compare as names compare: any case, '-' the same as '_'. */
	for (i = 0; i <= la; i++)
		na[i] = a[i] == '-' ? '_' : (char)tolower_ascii(a[i]);
	for (i = 0; i <= lb; i++)
		nb[i] = b[i] == '-' ? '_' : (char)tolower_ascii(b[i]);
	return edit_distance(na, nb, limit);
}

/* Case-insensitive prefix test with '-' equal to '_'. */
static int
name_prefix(const char *prefix, const char *name)
{
	for (; *prefix != '\0'; prefix++, name++) {
		char a = *prefix == '-' ? '_' : (char)tolower_ascii(*prefix);
		char b = *name == '-' ? '_' : (char)tolower_ascii(*name);

		if (*name == '\0' || a != b)
			return 0;
	}
	return 1;
}

const char *
catalogue_suggest(const struct catalogue *cat, const char *typo)
{
	const char	*best = NULL, *prefixed = NULL;
	size_t		 i, j, bestd, limit, n = strlen(typo);
	int		 nprefixed = 0;

	if (cat == NULL || n == 0 || n > WORD_MAX)
		return NULL;
	limit = n <= 4 ? 1 : 2;
	bestd = limit + 1;
	for (i = 0; i < cat->ncmds; i++) {
		const struct cmd_def *d = &cat->cmds[i];

		for (j = 0; j <= d->naliases; j++) {
			const char	*cand = j == 0 ? d->name :
			    d->aliases[j - 1];
			size_t		 dist;

			dist = cmd_edit_distance(typo, cand, limit);
			if (dist < bestd) {
				bestd = dist;
				best = cand;
			}
			if (n >= 3 && name_prefix(typo, cand) &&
			    (prefixed == NULL ||
			    strcmp(prefixed, d->name) != 0)) {
				prefixed = d->name;
				nprefixed++;
			}
		}
	}
	if (best != NULL)
		return best;
	return nprefixed == 1 ? prefixed : NULL;
}

/*
 * One token at p: a run of non-space bytes, or a quoted string ("..." or
 * '...') whose closing quote ends the token. *tok is allocated.
 */
static int
next_token(const char **pp, const char *end, char **tok, char **cause)
{
	const char	*p = *pp, *q;
	char		 quote;

	if (*p == '"' || *p == '\'') {
		quote = *p;
		q = memchr(p + 1, quote, (size_t)(end - p - 1));
		if (q == NULL)
			return set_cause(cause, "unterminated quote: a %s "
			    "quote (%c) is opened but never closed",
			    quote == '"' ? "double" : "single", quote);
		if (q + 1 < end && !is_space(q[1]))
			return set_cause(cause, "a closing quote (%c) must be "
			    "followed by a space", quote);
		*tok = xstrndup(p + 1, (size_t)(q - p - 1));
		*pp = q + 1;
		return 0;
	}
	for (q = p; q < end && !is_space(*q); q++)
		;
	*tok = xstrndup(p, (size_t)(q - p));
	*pp = q;
	return 0;
}

/*
 * The rest of the line, trimmed; one fully quoted string loses its quotes
 * (and the spaces inside them, so the value reads back the same).
 */
static char *
rest_of_line(const char *p, const char *end)
{
	size_t	 n;

	while (end > p && is_space(end[-1]))
		end--;
	n = (size_t)(end - p);
	if (n >= 2 && (*p == '"' || *p == '\'') && end[-1] == *p &&
	    memchr(p + 1, *p, n - 2) == NULL) {
		p++;
		end--;
		p = skip_space(p, end);
		while (end > p && is_space(end[-1]))
			end--;
		n = (size_t)(end - p);
	}
	return xstrndup(p, n);
}

static void
canonical_enum(const struct cmd_arg *a, char **v)
{
	size_t	 i;

	for (i = 0; i < a->nenums; i++) {
		if (strcasecmp(a->enums[i], *v) == 0) {
			free(*v);
			*v = xstrdup(a->enums[i]);
			return;
		}
	}
}

static char *
usage_error(const struct cmd_def *d, const char *what)
{
	return xasprintf("%s. Usage: %s", what, d->usage);
}

/*
 * "-- TEXT" or "because TEXT" once every required argument has its value:
 * the request's reason. Returns 1 when the token at p starts one (p then
 * points past the marker), 0 when it is an argument like any other.
 */
static int
reason_marker(const struct cmd_def *d, size_t ai, const char **pp,
    const char *end)
{
	const char	*p = *pp, *q;
	size_t		 k, n;

	for (k = ai; k < d->nargs; k++) {
		if (!d->args[k].optional || d->args[k].type == ARG_COMMAND)
			return 0;
	}
	for (q = p; q < end && !is_space(*q); q++)
		;
	n = (size_t)(q - p);
	if (!(n == 2 && strncmp(p, "--", 2) == 0) &&
	    !(n == 7 && strncasecmp(p, "because", 7) == 0))
		return 0;
	*pp = q;
	return 1;
}

/* The reason after a marker: into the command's reason argument if it
 * has one, else call->reason. */
static int
take_reason(const struct cmd_def *d, size_t ai, const char *p,
    const char *end, struct cmd_call *call, char **cause)
{
	static const struct cmd_arg	 reason_arg = { .name = "reason",
	    .type = ARG_REASON };
	const struct cmd_arg		*a = &reason_arg;
	char				*text;
	size_t				 k, slot = d->nargs;

	for (k = ai; k < d->nargs; k++) {
		if (d->args[k].type == ARG_REASON) {
			a = &d->args[k];
			slot = k;
		}
	}
	text = rest_of_line(skip_space(p, end), end);
	if (*text == '\0') {
		free(text);
		*cause = usage_error(d, "The reason after -- or because is "
		    "empty");
		return -1;
	}
	if (cmd_validate_arg(a, text, cause) != 0) {
		free(text);
		return -1;
	}
	if (slot < d->nargs)
		call->values[slot] = text;
	else
		call->reason = text;
	return 0;
}

/*
 * Fills call->values from the arguments at p. An optional argument whose
 * type does not fit the token is left out when a later argument takes it
 * ("backup 101 nas-backup" skips the mode). Once the required arguments
 * are there, "-- TEXT" or "because TEXT" ends the line with a reason.
 */
static int
parse_args(const struct cmd_def *d, const char *p, const char *end,
    struct cmd_call *call, char **cause)
{
	size_t	 ai = 0, k;
	char	*tok = NULL, *first_error;
	int	 placed;

	for (;;) {
		const char *start;

		p = skip_space(p, end);
		if (p == end)
			break;
		if (reason_marker(d, ai, &p, end)) {
			if (take_reason(d, ai, p, end, call, cause) != 0)
				return -1;
			p = end;
			break;
		}
		if (ai >= d->nargs)
			break;
		start = p;
		if (cmd_is_rest_type(d->args[ai].type)) {
			tok = rest_of_line(p, end);
			p = end;
		} else if (next_token(&p, end, &tok, cause) != 0)
			return -1;
		first_error = NULL;
		placed = 0;
		for (k = ai; k < d->nargs; k++) {
			const struct cmd_arg	*a = &d->args[k];
			char			*err = NULL;

			if (cmd_is_rest_type(a->type) && k != ai) {
				free(tok);
				tok = rest_of_line(start, end);
				p = end;
			}
			if (cmd_validate_arg(a, tok, &err) == 0) {
				placed = 1;
				break;
			}
			if (first_error == NULL)
				first_error = err;
			else
				free(err);
			if (!a->optional)
				break;
		}
		if (!placed) {
			free(tok);
			*cause = first_error;
			return -1;
		}
		free(first_error);
		if (d->args[k].type == ARG_ENUM)
			canonical_enum(&d->args[k], &tok);
		call->values[k] = tok;
		ai = k + 1;
	}
	p = skip_space(p, end);
	if (p != end) {
		*cause = usage_error(d, "Too many arguments");
		return -1;
	}
	for (k = 0; k < d->nargs; k++) {
		if (call->values[k] == NULL && !d->args[k].optional) {
			char	*what = xasprintf("Missing %s",
			    d->args[k].name);

			*cause = usage_error(d, what);
			free(what);
			return -1;
		}
	}
	return 0;
}

static void
fill_defaults(const struct cmd_def *d, const struct cmd_parse_opts *o,
    struct cmd_call *call)
{
	size_t	 k;

	for (k = 0; k < d->nargs; k++) {
		const struct cmd_arg *a = &d->args[k];

		if (call->values[k] != NULL)
			continue;
		if (a->def != NULL)
			call->values[k] = xstrdup(a->def);
		else if (a->def_now != NULL && o != NULL && o->now > 0) {
			char		 out[256];
			struct tm	 tm;
			time_t		 t = (time_t)o->now;

			gmtime_r(&t, &tm);
			if (strftime(out, sizeof out, a->def_now, &tm) > 0 &&
			    cmd_validate_arg(a, out, NULL) == 0)
				call->values[k] = xstrdup(out);
		}
	}
}

static void
effective_action(const struct cmd_def *d, struct cmd_call *call)
{
	const char	*v;
	size_t		 i;

	call->action = d->action;
	call->mutating = d->mutating;
	if (d->action_arg == NULL)
		return;
	v = cmd_call_value(call, d->action_arg);
	for (i = 0; v != NULL && i < d->nvariants; i++) {
		if (strcmp(d->variants[i].value, v) == 0) {
			call->action = d->variants[i].action;
			call->mutating = d->variants[i].mutating;
			return;
		}
	}
}

static int
word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/*
 * "@pvebot start 101" (a mention) or "pvebot: start 101" (how Matrix
 * clients address someone): returns where the command starts, or NULL.
 */
static const char *
mention(const char *p, const char *end, const char *bot)
{
	const char	*after;
	size_t		 n;
	int		 at;

	if (bot == NULL || (n = strlen(bot)) == 0)
		return NULL;
	at = p < end && *p == '@';
	if ((size_t)(end - p) < at + n || strncasecmp(p + at, bot, n) != 0)
		return NULL;
	after = p + at + n;
	if (after < end && (*after == ':' || *after == ','))
		after++;
	else if (!at)
		return NULL;	/* "pvebot start" is just talk */
	if (after < end && !is_space(*after))
		return NULL;	/* "@pvebotx", "pvebot:x" */
	return after;
}

/* Whole-message checks, once the message is known to be for pvebot. */
static int
hostile(const char *text, size_t len, char **cause)
{
	if (len > CMD_LINE_MAX)
		return set_cause(cause, "Message too long (%zu bytes; at most "
		    "%d).", len, CMD_LINE_MAX);
	if (memchr(text, '\0', len) != NULL)
		return set_cause(cause, "Message refused: it contains a NUL "
		    "byte.");
	if (!utf8_valid_text(text, len))
		return set_cause(cause, "Message refused: it contains control "
		    "characters or invalid UTF-8.");
	return 0;
}

static enum cmd_parse_result
parse(const struct catalogue *cat, const char *text, size_t len,
    const struct cmd_parse_opts *o, struct cmd_call *call, char **cause)
{
	const char		*p = text, *end, *w, *we, *at, *q;
	const struct cmd_def	*d;
	const char		*suggest;
	char			 word[WORD_MAX + 1];
	int			 prefixed = 0, for_us, named_us = 0, wordok;
	size_t			 wl, i;

	if (text == NULL)
		return CMD_PARSE_IGNORE;
	for_us = o != NULL && (o->direct || o->addressed);
	/* Clients add a final newline now and then; that one is harmless. */
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	end = text + len;

	p = skip_space(p, end);
	if (o != NULL && (q = mention(p, end, o->bot_name)) != NULL) {
		p = skip_space(q, end);
		for_us = named_us = 1;
	}
	if (p < end && (*p == '/' || *p == '!')) {
		prefixed = 1;
		p++;
	}
	w = p;
	while (p < end && !is_space(*p) && *p != '@')
		p++;
	we = p;
	if (p < end && *p == '@') {
		at = ++p;
		while (p < end && !is_space(*p))
			p++;
		if (!prefixed)
			we = p;		/* "a@b" is just a word */
		else if (o != NULL && o->bot_name != NULL) {
			if ((size_t)(p - at) != strlen(o->bot_name) ||
			    strncasecmp(at, o->bot_name,
			    (size_t)(p - at)) != 0)
				return CMD_PARSE_IGNORE;
			named_us = 1;
		} else
			named_us = 1;
	}
	if (!prefixed && !for_us)
		return CMD_PARSE_IGNORE;
	wl = (size_t)(we - w);
	if (wl == 0)
		return CMD_PARSE_IGNORE;
	for_us = for_us || named_us;
	if (for_us && hostile(text, len, cause) != 0)
		return CMD_PARSE_ERROR;

	wordok = wl <= WORD_MAX;
	for (i = 0; wordok && i < wl; i++)
		wordok = word_char(w[i]);
	d = NULL;
	if (wordok) {
		memcpy(word, w, wl);
		word[wl] = '\0';
		d = catalogue_find(cat, word);
	}
	if (d == NULL) {
		suggest = wordok ? catalogue_suggest(cat, word) : NULL;
		if (!for_us && suggest == NULL)
			return CMD_PARSE_IGNORE;
		if (!wordok)
			set_cause(cause, "unknown command. Send 'help' for the "
			    "list of commands.");
		else if (suggest != NULL)
			set_cause(cause, "unknown command '%s'. Did you mean "
			    "'%s'?", word, suggest);
		else
			set_cause(cause, "unknown command '%s'. Send 'help' "
			    "for the list of commands.", word);
		return CMD_PARSE_ERROR;
	}

	/* A known command in a group: now it is for pvebot. */
	if (!for_us && hostile(text, len, cause) != 0)
		return CMD_PARSE_ERROR;

	call->def = d;
	call->values = xcalloc(d->nargs + 1, sizeof *call->values);
	if (parse_args(d, p, end, call, cause) != 0) {
		cmd_call_release(call);
		return CMD_PARSE_ERROR;
	}
	fill_defaults(d, o, call);
	effective_action(d, call);
	call->canonical = cmd_format_line(d, call->values);
	if (call->reason != NULL) {
		struct buf	 b;

		/* Read back the same: the worker parses the job again. */
		buf_init(&b, 0);
		buf_printf(&b, "%s -- ", call->canonical);
		cmd_append_value(&b, call->reason, 1);
		free(call->canonical);
		call->canonical = buf_steal(&b);
	}
	return CMD_PARSE_OK;
}

enum cmd_parse_result
cmd_parse_len(const struct catalogue *cat, const char *text, size_t len,
    const struct cmd_parse_opts *o, struct cmd_call *call, char **cause)
{
	enum cmd_parse_result	 r;
	char			*why = NULL;

	memset(call, 0, sizeof *call);
	r = parse(cat, text, len, o, call, &why);
	if (r == CMD_PARSE_ERROR && why == NULL)
		why = xstrdup("That is not a command.");
	if (r != CMD_PARSE_ERROR) {
		free(why);
		why = NULL;
	}
	if (cause != NULL)
		*cause = why;
	else
		free(why);
	return r;
}

enum cmd_parse_result
cmd_parse(const struct catalogue *cat, const char *text,
    const struct cmd_parse_opts *o, struct cmd_call *call, char **cause)
{
	return cmd_parse_len(cat, text, text != NULL ? strlen(text) : 0, o,
	    call, cause);
}

void
cmd_call_release(struct cmd_call *call)
{
	size_t	 i;

	if (call == NULL)
		return;
	if (call->values != NULL && call->def != NULL) {
		for (i = 0; i < call->def->nargs; i++)
			free(call->values[i]);
	}
	free(call->values);
	free(call->canonical);
	free(call->reason);
	memset(call, 0, sizeof *call);
}

const char *
cmd_call_value(const struct cmd_call *call, const char *name)
{
	size_t	 i;

	if (call == NULL || call->def == NULL || call->values == NULL)
		return NULL;
	for (i = 0; i < call->def->nargs; i++) {
		if (strcmp(call->def->args[i].name, name) == 0)
			return call->values[i];
	}
	return NULL;
}

/* Quoted so that next_token() / rest_of_line() read back v itself. */
void
cmd_append_value(struct buf *b, const char *v, int rest)
{
	size_t	 n = strlen(v);
	int	 needs;

	if (rest)
		needs = n >= 2 && (v[0] == '"' || v[0] == '\'') &&
		    v[n - 1] == v[0] && memchr(v + 1, v[0], n - 2) == NULL;
	else
		needs = n == 0 || strpbrk(v, " \t") != NULL || v[0] == '"' ||
		    v[0] == '\'';
	if (!needs)
		buf_puts(b, v);
	else if (strchr(v, '"') == NULL)
		buf_printf(b, "\"%s\"", v);
	else if (strchr(v, '\'') == NULL)
		buf_printf(b, "'%s'", v);
	else
		buf_puts(b, v);
}

char *
cmd_format_line(const struct cmd_def *d, char *const *values)
{
	struct buf	 b;
	size_t		 i;
	int		 skipped = 0, rest;

	buf_init(&b, 0);
	buf_puts(&b, d->name);
	for (i = 0; values != NULL && i < d->nargs; i++) {
		if (values[i] == NULL) {
			skipped = 1;
			continue;
		}
		rest = cmd_is_rest_type(d->args[i].type);
		/*
		 * A reason after an omitted optional argument ("deny -- 5")
		 * keeps its "--", or it would read back as that argument.
		 */
		buf_puts(&b, rest && skipped ? " -- " : " ");
		cmd_append_value(&b, values[i], rest);
	}
	return buf_steal(&b);
}
