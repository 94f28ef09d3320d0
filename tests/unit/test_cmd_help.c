/*
 * test_cmd_help.c - help text and the platform exports, checked against
 * the rules the platforms enforce (Telegram BotCommand, Discord
 * application command options), so registration cannot be refused.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "t.h"
#include "util.h"

static struct catalogue *
shipped(void)
{
	struct catalogue	*cat;
	char			*errors = NULL;

	cat = catalogue_load("commands", &errors);
	if (cat == NULL)
		t_fail(__FILE__, __LINE__, "load: %s", errors);
	free(errors);
	return cat;
}

static size_t
utf8_len(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void
help_overview(void)
{
	struct catalogue	*cat = shipped();
	char			*text, *cause = NULL;
	size_t			 i;

	if (cat == NULL)
		return;
	text = cmd_help(cat, NULL, &cause);
	T_OK(text != NULL);
	for (i = 0; i < catalogue_count(cat); i++) {
		const struct cmd_def	*d = catalogue_get(cat, i);
		char			*line;

		line = xasprintf("  %s - %s\n", d->usage, d->summary);
		T_CONTAINS(text, line);
		free(line);
	}
	T_CONTAINS(text, "\nsnapshots:\n");
	T_CONTAINS(text, "  rollback GUEST SNAPSHOT - Roll a guest back");
	free(text);
	catalogue_free(cat);
}

static void
help_one_command(void)
{
	struct catalogue	*cat = shipped();
	char			*text, *cause = NULL;

	if (cat == NULL)
		return;
	text = cmd_help(cat, "Backup", &cause);
	T_CONTAINS(text, "backup - Back a guest up now");
	T_CONTAINS(text, "usage: backup GUEST [snapshot|suspend|stop] "
	    "[STORAGE]\n");
	T_CONTAINS(text, "aliases: vzdump\n");
	T_CONTAINS(text, "  mode: backup mode (snapshot, suspend, stop), "
	    "optional, default snapshot\n");
	T_CONTAINS(text, "  storage: storage to write to");
	T_CONTAINS(text, "backup 101 stop nas-backup");
	free(text);

	/* An alias and the '/' prefix find the command too. */
	text = cmd_help(cat, "/revert", &cause);
	T_CONTAINS(text, "usage: rollback GUEST SNAPSHOT\n");
	free(text);

	text = cmd_help(cat, "job", &cause);
	T_CONTAINS(text, "  id: job number (1 to 9007199254740991)\n");
	free(text);

	T_OK(cmd_help(cat, "rolback", &cause) == NULL);
	T_EQ_STR(cause, "unknown command 'rolback'. Did you mean 'rollback'?");
	free(cause);
	cause = NULL;
	T_OK(cmd_help(cat, "frobnicate", &cause) == NULL);
	T_CONTAINS(cause, "unknown command 'frobnicate'. Send 'help'");
	free(cause);
	catalogue_free(cat);
}

static void
telegram_export(void)
{
	struct catalogue	*cat = shipped();
	json_t			*arr, *item;
	regex_t			 re;
	size_t			 i;
	int			 found_dash = 0;

	if (cat == NULL)
		return;
	regcomp(&re, "^[a-z0-9_]{1,32}$", REG_EXTENDED | REG_NOSUB);
	arr = cmd_export_telegram(cat);
	T_OK(json_is_array(arr));
	T_EQ_INT(json_array_size(arr), catalogue_count(cat));
	T_OK(json_array_size(arr) <= 100);
	json_array_foreach(arr, i, item) {
		const char *c = json_string_value(json_object_get(item,
		    "command"));
		const char *d = json_string_value(json_object_get(item,
		    "description"));

		T_EQ_INT(json_object_size(item), 2);
		T_OK(c != NULL && regexec(&re, c, 0, NULL, 0) == 0);
		T_OK(d != NULL && utf8_len(d) >= 1 && utf8_len(d) <= 256);
		if (c != NULL && strcmp(c, "hostsnap_remove") == 0)
			found_dash = 1;
		/* Every exported name comes back to its command. */
		T_OK(c != NULL && catalogue_find(cat, c) ==
		    catalogue_get(cat, i));
	}
	T_OK(found_dash);
	json_decref(arr);
	regfree(&re);
	catalogue_free(cat);
}

static void
check_discord_option(json_t *o, int *seen_optional)
{
	json_t		*choices;
	const char	*name, *desc;
	json_int_t	 type;
	int		 required;

	name = json_string_value(json_object_get(o, "name"));
	desc = json_string_value(json_object_get(o, "description"));
	type = json_integer_value(json_object_get(o, "type"));
	required = json_is_true(json_object_get(o, "required"));
	T_OK(name != NULL && strlen(name) >= 1 && strlen(name) <= 32);
	T_OK(desc != NULL && utf8_len(desc) >= 1 && utf8_len(desc) <= 100);
	T_OK(type == 3 || type == 4);
	/* Discord refuses a required option after an optional one. */
	if (required)
		T_OK(!*seen_optional);
	else
		*seen_optional = 1;
	choices = json_object_get(o, "choices");
	if (choices != NULL) {
		T_OK(json_array_size(choices) >= 1 &&
		    json_array_size(choices) <= 25);
		T_EQ_INT(type, 3);
	}
	if (type == 4) {
		T_OK(json_is_integer(json_object_get(o, "min_value")));
		T_OK(json_integer_value(json_object_get(o, "max_value")) <=
		    9007199254740991LL);
	}
}

static void
discord_export(void)
{
	struct catalogue	*cat = shipped();
	json_t			*arr, *cmd, *opts, *o;
	size_t			 i, k;

	if (cat == NULL)
		return;
	arr = cmd_export_discord(cat);
	T_OK(json_is_array(arr));
	T_EQ_INT(json_array_size(arr), catalogue_count(cat));
	json_array_foreach(arr, i, cmd) {
		const char	*name = json_string_value(json_object_get(cmd,
				    "name"));
		const char	*desc = json_string_value(json_object_get(cmd,
				    "description"));
		int		 seen_optional = 0;

		T_OK(name != NULL && strlen(name) <= 32);
		T_OK(desc != NULL && utf8_len(desc) >= 1 &&
		    utf8_len(desc) <= 100);
		T_EQ_INT(json_integer_value(json_object_get(cmd, "type")), 1);
		opts = json_object_get(cmd, "options");
		T_OK(json_is_array(opts) && json_array_size(opts) <= 25);
		T_EQ_INT(json_array_size(opts), catalogue_get(cat, i)->nargs);
		json_array_foreach(opts, k, o)
			check_discord_option(o, &seen_optional);
	}

	/* Spot checks: what a Discord user sees for backup and job. */
	cmd = json_array_get(arr, 0);
	for (i = 0; i < json_array_size(arr); i++) {
		cmd = json_array_get(arr, i);
		if (strcmp(json_string_value(json_object_get(cmd, "name")),
		    "backup") == 0)
			break;
	}
	opts = json_object_get(cmd, "options");
	o = json_array_get(opts, 1);
	T_EQ_STR(json_string_value(json_object_get(o, "name")), "mode");
	T_EQ_INT(json_array_size(json_object_get(o, "choices")), 3);
	T_OK(json_is_false(json_object_get(o, "required")));
	o = json_array_get(opts, 0);
	T_OK(json_is_true(json_object_get(o, "required")));
	T_EQ_INT(json_integer_value(json_object_get(o, "type")), 3);
	json_decref(arr);
	catalogue_free(cat);
}

/* 100 characters (200 bytes) is the limit, and it is kept whole. */
static void
summary_limits(void)
{
	struct catalogue	*cat;
	char			*errors = NULL, *y;
	json_t			*arr;
	char			 summary[256];
	size_t			 i;

	for (i = 0; i < 100; i++)
		memcpy(summary + 2 * i, "\xc3\xa4", 2);
	summary[200] = '\0';
	y = xasprintf("commands:\n  - name: a-b\n    summary: %s\n"
	    "    action: x.read\n    builtin: ab\n", summary);
	cat = catalogue_load_string("long.yaml", y, strlen(y), &errors);
	free(y);
	T_OK(cat != NULL);
	if (cat == NULL) {
		printf("%s", errors);
		free(errors);
		return;
	}
	arr = cmd_export_discord(cat);
	T_EQ_STR(json_string_value(json_object_get(json_array_get(arr, 0),
	    "description")), summary);
	json_decref(arr);
	arr = cmd_export_telegram(cat);
	T_EQ_STR(json_string_value(json_object_get(json_array_get(arr, 0),
	    "command")), "a_b");
	json_decref(arr);
	catalogue_free(cat);

	y = xasprintf("commands:\n  - name: a-b\n    summary: %sx\n"
	    "    action: x.read\n    builtin: ab\n", summary);
	T_OK(catalogue_load_string("long.yaml", y, strlen(y), &errors) ==
	    NULL);
	T_CONTAINS(errors, "long.yaml:3:14: summary: one line of 1 to 100 "
	    "characters");
	free(errors);
	free(y);
}

int
main(void)
{
	T_RUN(help_overview);
	T_RUN(help_one_command);
	T_RUN(telegram_export);
	T_RUN(discord_export);
	T_RUN(summary_limits);
	return t_summary();
}
