/*
 * cmd_help.c - what the catalogue says about itself: `help`, `help CMD`,
 * and the command lists that Telegram (setMyCommands) and Discord
 * (application commands) want.
 *
 * Everything here is generated from the catalogue, so a command dropped
 * into commands/ shows up in help and in the platform menus without code.
 * Exports respect the platforms' limits: Telegram command names are
 * [a-z0-9_]{1,32} ('-' becomes '_', which cmd_parse accepts back) with
 * 1-256 character descriptions, at most 100 commands; Discord names are
 * 1-32 characters, descriptions 1-100, at most 25 options and 25 choices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_int.h"
#include "util.h"

#define TELEGRAM_MAX_COMMANDS	100
#define DISCORD_MAX_COMMANDS	100
#define DISCORD_DESC_MAX	100

/* One short line per command, grouped by file: it must read on a phone. */
static void
overview(const struct catalogue *cat, struct buf *b)
{
	const char	*group = NULL;
	size_t		 i;

	buf_puts(b, "Commands (help COMMAND for details):\n");
	for (i = 0; i < cat->ncmds; i++) {
		const struct cmd_def *d = &cat->cmds[i];

		if (group == NULL || strcmp(group, d->group) != 0) {
			group = d->group;
			buf_printf(b, "\n%s:\n", group);
		}
		buf_printf(b, "  %s - %s\n", d->usage, d->summary);
	}
}

static const char *
arg_help(const struct cmd_arg *a)
{
	if (a->help != NULL)
		return a->help;
	switch (a->type) {
	case ARG_GUEST:
		return "VMID or guest name";
	case ARG_VMID:
		return "VMID (100-999999999)";
	case ARG_NODE:
		return "node name";
	case ARG_SNAPSHOT:
		return "snapshot name";
	case ARG_STORAGE:
		return "storage id";
	case ARG_DURATION:
		return "duration like 90s, 15m, 2h, 7d";
	case ARG_INT:
		return "number";
	case ARG_ENUM:
		return "one of the listed values";
	case ARG_WORD:
		return "word";
	case ARG_REASON:
		return "free text (200 characters at most)";
	case ARG_UPID:
		return "task id (UPID:...)";
	case ARG_MATCHER:
		return "rule=R,node=N,guest=G,severity=S";
	case ARG_COMMAND:
		return "a command line";
	}
	return "value";
}

static void
detail(const struct cmd_def *d, struct buf *b)
{
	size_t	 i, j;

	buf_printf(b, "%s - %s\n", d->name, d->summary);
	buf_printf(b, "usage: %s\n", d->usage);
	if (d->naliases > 0) {
		buf_puts(b, "aliases:");
		for (i = 0; i < d->naliases; i++)
			buf_printf(b, "%s %s", i ? "," : "", d->aliases[i]);
		buf_puts(b, "\n");
	}
	if (d->nargs > 0) {
		buf_puts(b, "arguments:\n");
		for (i = 0; i < d->nargs; i++) {
			const struct cmd_arg *a = &d->args[i];

			buf_printf(b, "  %s: %s", a->name, arg_help(a));
			if (a->type == ARG_INT)
				buf_printf(b, " (%lld to %lld)", a->min,
				    a->max);
			if (a->type == ARG_ENUM) {
				buf_puts(b, " (");
				for (j = 0; j < a->nenums; j++)
					buf_printf(b, "%s%s", j ? ", " : "",
					    a->enums[j]);
				buf_puts(b, ")");
			}
			if (a->optional)
				buf_puts(b, ", optional");
			if (a->def != NULL)
				buf_printf(b, ", default %s", a->def);
			buf_puts(b, "\n");
		}
	}
	if (d->help != NULL) {
		size_t n = strlen(d->help);

		buf_printf(b, "\n%s", d->help);
		if (n > 0 && d->help[n - 1] != '\n')
			buf_puts(b, "\n");
	}
}

char *
cmd_help(const struct catalogue *cat, const char *name, char **cause)
{
	const struct cmd_def	*d;
	const char		*s;
	struct buf		 b;

	buf_init(&b, 0);
	if (name == NULL || *name == '\0') {
		overview(cat, &b);
		return buf_steal(&b);
	}
	if (*name == '/' || *name == '!')
		name++;
	d = catalogue_find(cat, name);
	if (d == NULL) {
		buf_release(&b);
		s = catalogue_suggest(cat, name);
		if (s != NULL)
			set_cause(cause, "unknown command '%s'. Did you mean "
			    "'%s'?", name, s);
		else
			set_cause(cause, "unknown command '%s'. Send 'help' "
			    "for the list of commands.", name);
		return NULL;
	}
	detail(d, &b);
	return buf_steal(&b);
}

/* Text cut to max characters (not bytes), with "..." when cut. */
static char *
cut(const char *s, size_t max)
{
	size_t	 i, chars = 0, keep = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (chars == max - 3)
			keep = i;
		chars++;
	}
	if (chars <= max)
		return xstrdup(s);
	return xasprintf("%.*s...", (int)keep, s);
}

json_t *
cmd_export_telegram(const struct catalogue *cat)
{
	json_t	*arr = json_array();
	size_t	 i, k;

	for (i = 0; i < cat->ncmds && json_array_size(arr) <
	    TELEGRAM_MAX_COMMANDS; i++) {
		const struct cmd_def	*d = &cat->cmds[i];
		char			*name = xstrdup(d->name), *desc;

		for (k = 0; name[k] != '\0'; k++) {
			if (name[k] == '-')
				name[k] = '_';
		}
		desc = cut(d->summary, 256);
		json_array_append_new(arr, json_pack("{s:s, s:s}",
		    "command", name, "description", desc));
		free(name);
		free(desc);
	}
	return arr;
}

static json_t *
discord_option(const struct cmd_arg *a)
{
	json_t	*o, *choices;
	char	*desc = cut(arg_help(a), DISCORD_DESC_MAX);
	size_t	 i;

	o = json_pack("{s:s, s:s, s:b}", "name", a->name, "description", desc,
	    "required", !a->optional);
	free(desc);
	switch (a->type) {
	case ARG_INT:
		json_object_set_new(o, "type", json_integer(4));
		json_object_set_new(o, "min_value", json_integer(a->min));
		json_object_set_new(o, "max_value", json_integer(a->max));
		break;
	case ARG_ENUM:
		json_object_set_new(o, "type", json_integer(3));
		choices = json_array();
		for (i = 0; i < a->nenums; i++)
			json_array_append_new(choices, json_pack("{s:s, s:s}",
			    "name", a->enums[i], "value", a->enums[i]));
		json_object_set_new(o, "choices", choices);
		break;
	case ARG_REASON:
		json_object_set_new(o, "type", json_integer(3));
		json_object_set_new(o, "max_length",
		    json_integer(CMD_REASON_MAX));
		break;
	case ARG_COMMAND:
		json_object_set_new(o, "type", json_integer(3));
		json_object_set_new(o, "max_length", json_integer(1000));
		break;
	case ARG_GUEST:
	case ARG_NODE:
	case ARG_STORAGE:
	case ARG_SNAPSHOT:
		json_object_set_new(o, "type", json_integer(3));
		json_object_set_new(o, "max_length", json_integer(
		    a->type == ARG_STORAGE ? 64 : a->type == ARG_SNAPSHOT ?
		    40 : 63));
		break;
	default:
		json_object_set_new(o, "type", json_integer(3));
		json_object_set_new(o, "max_length", json_integer(256));
		break;
	}
	return o;
}

json_t *
cmd_export_discord(const struct catalogue *cat)
{
	json_t	*arr = json_array(), *c, *opts;
	size_t	 i, k;

	for (i = 0; i < cat->ncmds && json_array_size(arr) <
	    DISCORD_MAX_COMMANDS; i++) {
		const struct cmd_def	*d = &cat->cmds[i];
		char			*desc = cut(d->summary,
					    DISCORD_DESC_MAX);

		c = json_pack("{s:s, s:i, s:s}", "name", d->name, "type", 1,
		    "description", desc);
		free(desc);
		opts = json_array();
		for (k = 0; k < d->nargs && k < 25; k++)
			json_array_append_new(opts,
			    discord_option(&d->args[k]));
		json_object_set_new(c, "options", opts);
		json_array_append_new(arr, c);
	}
	return arr;
}
