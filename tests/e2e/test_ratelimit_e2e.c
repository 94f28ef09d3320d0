/*
 * test_ratelimit_e2e.c - one person cannot flood pvebot (issue 12):
 * 1,000 commands typed on the console of `pvebot run` by one operator,
 * with the default limits of bot.conf (10 commands per 30 s per person,
 * 5 at once). At most that budget becomes jobs, the person is told once
 * per window and the audit log has one rate-limit row per window, not
 * one per command; another person in the same room is not held back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "t_env.h"
#include "util.h"

#define COMMANDS	1000
#define PER_WINDOW	10	/* the defaults of chat.rate_limit */
#define BURST		5
#define WINDOW_MS	30000

static int
count_of(const char *hay, const char *needle)
{
	const char	*p = hay;
	int		 n = 0;

	while (p != NULL && (p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static void
test_thousand_commands_from_one_person(void)
{
	struct t_env_opts	 o = { .console = 1, .console_user = "bob" };
	struct t_env		*e = t_env_new(&o);
	char			*argv[] = { (char *)t_pvebot(), (char *)"run",
				    (char *)"-c", e->conf_path, NULL };
	struct buf		 script;
	char			*out = NULL, *err = NULL;
	int64_t			 t0, elapsed, jobs, budget, audits, windows;
	int			 i, rc, notices;

	buf_init(&script, 0);
	for (i = 0; i < COMMANDS; i++)
		buf_puts(&script, "guest 101\n");
	/* Someone else, in the same room, right after. */
	buf_puts(&script, "/as alice\nguest 102\n");
	t0 = now_ms();
	rc = t_spawn(argv, buf_cstr(&script), &out, &err, 300000);
	elapsed = now_ms() - t0;
	T_EQ_INT(rc, 0);

	/* The burst, and what refilled while the commands came in. */
	budget = BURST + (PER_WINDOW * elapsed) / WINDOW_MS + 1;
	windows = 1 + elapsed / WINDOW_MS;
	jobs = t_env_jobs(e, "guest 101");
	notices = count_of(out, "Too many commands");
	audits = t_env_db_int(e, "SELECT count(*) FROM audit WHERE event = "
	    "'ratelimit'", NULL);
	printf("  note: %d commands in %lldms: %lld jobs (budget %lld), %d "
	    "notices, %lld rate-limit audit rows\n", COMMANDS,
	    (long long)elapsed, (long long)jobs, (long long)budget, notices,
	    (long long)audits);
	T_OK(jobs >= BURST);
	T_OK(jobs <= budget);
	T_OK(notices >= 1 && notices <= windows);
	T_EQ_INT(audits, notices);
	/* alice was not held back by bob's flood. */
	T_EQ_INT(t_env_jobs(e, "guest 102"), 1);
	if (t_case_failed)
		printf("  stderr (tail): %s\n", err != NULL && strlen(err) >
		    4000 ? err + strlen(err) - 4000 : err);
	free(out);
	free(err);
	buf_release(&script);
	t_env_free(e);
}

int
main(void)
{
	T_RUN(test_thousand_commands_from_one_person);
	return t_summary();
}
