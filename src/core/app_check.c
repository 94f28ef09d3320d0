/*
 * app_check.c - what loading checks across files, on top of each file's
 * own checks: every `builtin:` and SSH `parser:` of the catalogue names a
 * handler pvebot has (builtin.c's and ssh_parse.c's tables), and every
 * action of the policy is an action of some command.
 *
 * `pvebot check` prints these errors, and the daemon refuses a catalogue
 * and policy that fail them at start and on SIGHUP: a name that nothing
 * implements would otherwise fail only when someone runs the command,
 * and a misspelt action in a prohibit rule would quietly allow what it
 * was written to stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "builtin.h"
#include "cmd.h"
#include "exec_ssh.h"
#include "policy.h"
#include "util.h"

#define SUGGEST_LIMIT	2

static const char *
near_builtin(const char *typo)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = SUGGEST_LIMIT + 1;

	for (i = 0; i < builtin_count(); i++) {
		d = edit_distance(typo, builtin_get(i)->name, SUGGEST_LIMIT);
		if (d < bestd) {
			bestd = d;
			best = builtin_get(i)->name;
		}
	}
	return best;
}

static const char *
near_parser(const char *typo)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = SUGGEST_LIMIT + 1;

	for (i = 0; i < ssh_output_count(); i++) {
		d = edit_distance(typo, ssh_output_get(i)->name,
		    SUGGEST_LIMIT);
		if (d < bestd) {
			bestd = d;
			best = ssh_output_get(i)->name;
		}
	}
	return best;
}

static void
names_of(struct buf *b, int parsers)
{
	size_t	 i, n = parsers ? ssh_output_count() : builtin_count();

	for (i = 0; i < n; i++)
		buf_printf(b, "%s%s", i > 0 ? ", " : "", parsers ?
		    ssh_output_get(i)->name : builtin_get(i)->name);
}

static void
check_handlers(const struct catalogue *cat, struct buf *b)
{
	const struct cmd_def	*d;
	const char		*near;
	size_t			 i;

	for (i = 0; i < catalogue_count(cat); i++) {
		d = catalogue_get(cat, i);
		if (d->builtin != NULL && builtin_find(d->builtin) == NULL) {
			buf_printf(b, "%s:%d:%d: builtin: '%s' is not a "
			    "built-in of pvebot", d->file, d->builtin_line,
			    d->builtin_column, d->builtin);
			if ((near = near_builtin(d->builtin)) != NULL)
				buf_printf(b, "; did you mean '%s'?", near);
			buf_puts(b, " (known: ");
			names_of(b, 0);
			buf_puts(b, ")\n");
		}
		if (d->exec == CMD_EXEC_SSH && d->ssh.parser != NULL &&
		    ssh_output_find(d->ssh.parser) == NULL) {
			buf_printf(b, "%s:%d:%d: parser: '%s' is not an output "
			    "parser of pvebot", d->file, d->parser_line,
			    d->parser_column, d->ssh.parser);
			if ((near = near_parser(d->ssh.parser)) != NULL)
				buf_printf(b, "; did you mean '%s'?", near);
			buf_puts(b, " (known: ");
			names_of(b, 1);
			buf_puts(b, ")\n");
		}
	}
}

/* Every action a command of the catalogue may ask the policy for. */
static const char **
catalogue_actions(const struct catalogue *cat, size_t *n)
{
	const struct cmd_def	 *d;
	const char		**v = NULL;
	size_t			  i, k;

	*n = 0;
	for (i = 0; i < catalogue_count(cat); i++) {
		d = catalogue_get(cat, i);
		v = xreallocarray(v, *n + d->nvariants + 1, sizeof *v);
		if (d->action != NULL)
			v[(*n)++] = d->action;
		for (k = 0; k < d->nvariants; k++) {
			if (d->variants[k].action != NULL)
				v[(*n)++] = d->variants[k].action;
		}
	}
	return v;
}

int
app_check_rules(const struct catalogue *cat, const struct policy *pol,
    char **errors)
{
	struct buf	  b;
	const char	**actions;
	char		 *perr = NULL;
	size_t		  n;

	*errors = NULL;
	buf_init(&b, 256 * 1024);
	if (cat != NULL)
		check_handlers(cat, &b);
	if (cat != NULL && pol != NULL) {
		actions = catalogue_actions(cat, &n);
		if (policy_check_actions(pol, actions, n, &perr) != 0)
			buf_puts(&b, perr);
		free(perr);
		free(actions);
	}
	if (b.len == 0) {
		buf_release(&b);
		return 0;
	}
	*errors = buf_steal(&b);
	return -1;
}
