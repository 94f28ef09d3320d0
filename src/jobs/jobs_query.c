/*
 * jobs_query.c - the reads of the jobs table that other parts make (the
 * worker's cancel check, the count of jobs still to run), declared at
 * the end of jobs.h. Each is one statement; none writes.
 */
#include <stddef.h>
#include <stdint.h>

#include "../store/db.h"
#include "../store/db_util.h"
#include "jobs.h"
#include "store.h"

int
jobs_cancel_requested(struct store *s, int64_t id)
{
	struct db_stmt	*st;
	int		 yes = 0;

	st = db_prepare(s, "SELECT cancel_requested FROM jobs WHERE id = ?1");
	if (st == NULL)
		return 0;
	db_bind_int(st, 1, id);
	if (db_step(st) == DB_ROW)
		yes = db_int(st, 0) != 0;
	db_finish(s, st);
	return yes;
}

int
jobs_count_active(struct store *s)
{
	return (int)db_count(s, db_prepare(s, "SELECT COUNT(*) FROM jobs "
	    "WHERE state IN ('resolving', 'queued', 'running')"));
}
