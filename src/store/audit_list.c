/*
 * audit_list.c - the newest rows of the audit log, for `pvebot audit`
 * (see store_audit.h). One statement; times come back as integers and
 * the caller formats them.
 */
#include <stdlib.h>

#include "db.h"
#include "store.h"
#include "store_audit.h"
#include "util.h"

int
audit_recent(struct store *s, int64_t limit, struct audit_row **out,
    size_t *n)
{
	struct db_stmt		*st;
	struct audit_row	*v = NULL;
	size_t			 nv = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	st = db_prepare(s, "SELECT id, at, actor, event, detail FROM (SELECT "
	    "id, at, actor, event, detail FROM audit ORDER BY id DESC LIMIT "
	    "?1) newest ORDER BY id");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, limit);
	while ((rc = db_step(st)) == DB_ROW) {
		v = xreallocarray(v, nv + 1, sizeof *v);
		v[nv].id = db_int(st, 0);
		v[nv].at = db_int(st, 1);
		v[nv].actor = db_text_dup(st, 2);
		v[nv].event = db_text_dup(st, 3);
		v[nv].detail = db_text_dup(st, 4);
		nv++;
	}
	db_finish(s, st);
	*out = v;
	*n = nv;
	return rc == DB_DONE ? 0 : -1;
}

void
audit_rows_free(struct audit_row *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].actor);
		free(v[i].event);
		free(v[i].detail);
	}
	free(v);
}
