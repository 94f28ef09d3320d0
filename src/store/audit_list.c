/*
 * audit_list.c - the newest rows of the audit log, for `pvebot audit`
 * (see store_audit.h). One statement; times come back as integers and
 * the caller formats them.
 */
#include <stdlib.h>

#include "db.h"
#include "db_util.h"
#include "store.h"
#include "store_audit.h"
#include "util.h"

static void
audit_fill(struct db_stmt *st, void *elem)
{
	struct audit_row	*r = elem;

	r->id = db_int(st, 0);
	r->at = db_int(st, 1);
	r->actor = db_text_dup(st, 2);
	r->event = db_text_dup(st, 3);
	r->detail = db_text_dup(st, 4);
}

int
audit_recent(struct store *s, int64_t limit, struct audit_row **out,
    size_t *n)
{
	struct db_stmt	*st;
	int		 rc;

	*out = NULL;
	*n = 0;
	st = db_prepare(s, "SELECT id, at, actor, event, detail FROM (SELECT "
	    "id, at, actor, event, detail FROM audit ORDER BY id DESC LIMIT "
	    "?1) newest ORDER BY id");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, limit);
	*out = db_rows(s, st, sizeof **out, audit_fill, n, &rc);
	return rc;
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
