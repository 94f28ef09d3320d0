/*
 * policy_check.c - the policy against the command catalogue: every action
 * a rule or a role names must be an action some command defines.
 *
 * A misspelt action (guest.snapshot.delet) is not a syntax error, so the
 * loader cannot see it; but it silently switches a rule off, and for a
 * prohibit rule that means the thing it was written to stop is allowed.
 * So an exact name that no command defines, or a pattern that matches
 * none, is an error with its file:line:column and, when one is close,
 * the name that was probably meant. The policy part knows nothing of the
 * catalogue: the caller passes the list of action names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"
#include "util.h"

#define SUGGEST_LIMIT	3	/* edits for "did you mean" */

static int
is_glob(const char *s)
{
	return strpbrk(s, "*?") != NULL;
}

/* The closest action to a typo within SUGGEST_LIMIT edits, or NULL. */
static const char *
closest(const char *typo, const char *const *actions, size_t n)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = SUGGEST_LIMIT + 1;

	for (i = 0; i < n; i++) {
		d = edit_distance(typo, actions[i], SUGGEST_LIMIT);
		if (d < bestd) {
			bestd = d;
			best = actions[i];
		}
	}
	return best;
}

static void
check_list(struct buf *b, int *nerrors, const struct pol_strv *list,
    const char *where, const char *const *actions, size_t nactions)
{
	const struct pol_loc	*loc;
	const char		*p, *near;
	size_t			 i, k;
	int			 hit;

	for (i = 0; i < list->n; i++) {
		p = list->v[i];
		for (hit = 0, k = 0; k < nactions && !hit; k++)
			hit = is_glob(p) ? glob_match(p, actions[k]) :
			    strcmp(p, actions[k]) == 0;
		if (hit)
			continue;
		loc = list->locs != NULL ? &list->locs[i] : NULL;
		buf_printf(b, "%s:%d:%d: ", loc != NULL ? loc->file :
		    "(policy)", loc != NULL ? loc->line : 1,
		    loc != NULL ? loc->column : 1);
		if (is_glob(p))
			buf_printf(b, "action pattern \"%s\" in %s matches no "
			    "action of any command", p, where);
		else
			buf_printf(b, "action \"%s\" in %s is not an action of "
			    "any command", p, where);
		if (!is_glob(p) &&
		    (near = closest(p, actions, nactions)) != NULL)
			buf_printf(b, "; did you mean \"%s\"?", near);
		buf_puts(b, "\n");
		(*nerrors)++;
	}
}

int
policy_check_actions(const struct policy *p, const char *const *actions,
    size_t nactions, char **errors)
{
	struct buf	 b;
	char		 where[160];
	size_t		 i;
	int		 nerrors = 0;

	*errors = NULL;
	buf_init(&b, 64 * 1024);
	for (i = 0; i < p->nroles; i++) {
		snprintf(where, sizeof where, "role %s (request)",
		    p->roles[i].name);
		check_list(&b, &nerrors, &p->roles[i].request, where, actions,
		    nactions);
		snprintf(where, sizeof where, "role %s (approve)",
		    p->roles[i].name);
		check_list(&b, &nerrors, &p->roles[i].approve, where, actions,
		    nactions);
	}
	for (i = 0; i < p->nrules; i++) {
		if (p->rules[i].name != NULL)
			snprintf(where, sizeof where, "rule %s",
			    p->rules[i].name);
		else
			snprintf(where, sizeof where, "the rule at line %d",
			    p->rules[i].loc.line);
		check_list(&b, &nerrors, &p->rules[i].actions, where, actions,
		    nactions);
	}
	if (nerrors == 0) {
		buf_release(&b);
		return 0;
	}
	*errors = buf_steal(&b);
	return -1;
}
