/*
 * test_check.c - the checks that span the catalogue and the policy
 * (core/check.c) and the tables they rely on: the one table of built-in
 * commands (builtin.c) and the one of SSH output parsers (ssh_parse.c).
 * The shipped commands and policies pass; a name nothing implements, and
 * an action no command defines, are errors with file:line:column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "builtin.h"
#include "cmd.h"
#include "exec_ssh.h"
#include "policy.h"
#include "t.h"
#include "util.h"

static void
test_shipped_pass(void)
{
	const char	*paths[] = { "policies" };
	struct catalogue *cat;
	struct policy	*pol;
	char		*errors = NULL;
	size_t		 i;

	cat = catalogue_load("commands", &errors);
	T_OK(cat != NULL);
	free(errors);
	pol = policy_load(paths, 1, &errors);
	T_OK(pol != NULL);
	free(errors);
	errors = NULL;
	T_EQ_INT(app_check_rules(cat, pol, &errors), 0);
	T_OK(errors == NULL);
	free(errors);
	/* Every built-in the catalogue names has exactly one handler. */
	for (i = 0; cat != NULL && i < catalogue_count(cat); i++) {
		const struct cmd_def	*d = catalogue_get(cat, i);
		const struct builtin	*b;

		if (d->exec != CMD_EXEC_BUILTIN)
			continue;
		b = builtin_find(d->builtin);
		T_OK(b != NULL);
		if (b != NULL)
			T_EQ_INT((b->local != NULL) + (b->job != NULL) +
			    (b->op != NULL), 1);
	}
	policy_free(pol);
	catalogue_free(cat);
}

static void
test_unknown_names_refused(void)
{
	struct catalogue	*cat;
	char			*errors = NULL, *cause = NULL;
	const char		*text =
	    "commands:\n"
	    "  - name: stat\n"
	    "    summary: status with a typo\n"
	    "    action: cluster.read\n"
	    "    builtin: statu\n"
	    "  - name: lv\n"
	    "    summary: a parser with a typo\n"
	    "    action: host.snapshot.read\n"
	    "    mutating: false\n"
	    "    args: [{name: node, type: node}]\n"
	    "    ssh: {host: node, argv: [lvs], parser: lvs_jsn}\n"
	    "  - name: nothing\n"
	    "    summary: far from anything\n"
	    "    action: cluster.read\n"
	    "    builtin: qqqqqqqqqq\n";

	cat = catalogue_load_string("x.yaml", text, strlen(text), &errors);
	T_OK(cat != NULL);
	free(errors);
	errors = NULL;
	T_EQ_INT(app_check_rules(cat, NULL, &errors), -1);
	T_CONTAINS(errors, "x.yaml:5:14: builtin: 'statu' is not a built-in "
	    "of pvebot; did you mean 'status'? (known: help, whoami,");
	T_CONTAINS(errors, "x.yaml:11:44: parser: 'lvs_jsn' is not an output "
	    "parser of pvebot; did you mean 'lvs_json'? (known: text, ");
	T_CONTAINS(errors, "x.yaml:15:14: builtin: 'qqqqqqqqqq' is not a "
	    "built-in of pvebot (known: ");
	free(errors);
	catalogue_free(cat);
	/* The worker formats through the same table. */
	T_OK(ssh_output_format("lvs_jsn", "{}", &cause) == NULL);
	T_CONTAINS(cause, "unknown output parser 'lvs_jsn'");
	free(cause);
	cause = ssh_output_format(NULL, "", NULL);
	T_EQ_STR(cause, "(no output)");
	free(cause);
}

int
main(void)
{
	T_RUN(test_shipped_pass);
	T_RUN(test_unknown_names_refused);
	return t_summary();
}
