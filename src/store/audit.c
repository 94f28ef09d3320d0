/*
 * audit.c - the append-only, tamper-evident audit log.
 *
 * Each row stores SHA-256 over its own content and the previous row's
 * hash, so editing a row breaks its hash, deleting one breaks the link
 * of the next, and inserting one breaks a link too. The newest row's id
 * and hash are also kept in kv ("audit_head") in the same transaction,
 * which catches a deleted tail. Triggers refuse UPDATE and DELETE; the
 * chain is what catches someone who drops them first.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "util.h"

#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* Length-prefixed fields, so no two different rows hash alike. */
static void
row_hash(int64_t id, int64_t at, const char *actor, const char *event,
    const char *detail, const char *prev, char out[65])
{
	struct buf	 b;

	buf_init(&b, 0);
	buf_printf(&b, "%" PRId64 "|%" PRId64 "|%zu:%s|%zu:%s|%zu:%s|%s", id,
	    at, strlen(actor), actor, strlen(event), event, strlen(detail),
	    detail, prev);
	sha256_hex(b.data, b.len, out);
	buf_release(&b);
}

int
audit_append(struct store *s, const char *actor, const char *event,
    const char *detail)
{
	sqlite3		*db = store_db(s);
	sqlite3_stmt	*st;
	char		 prev[65], hash[65], *head;
	int64_t		 id = 1, at = wall_now();
	int		 rc, own_tx = sqlite3_get_autocommit(db);

	if (detail == NULL)
		detail = "";
	if (own_tx && store_begin(s) != 0)
		return -1;
	snprintf(prev, sizeof prev, "%s", AUDIT_GENESIS);
	if ((st = store_prepare(s, "SELECT id, hash FROM audit "
	    "ORDER BY id DESC LIMIT 1")) == NULL)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0) + 1;
		snprintf(prev, sizeof prev, "%s",
		    (const char *)sqlite3_column_text(st, 1));
	}
	store_finish(s, st);
	row_hash(id, at, actor, event, detail, prev, hash);
	if ((st = store_prepare(s, "INSERT INTO audit (id, at, actor, event, "
	    "detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"))
	    == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, prev, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_finish(s, st);
	if (rc != SQLITE_DONE) {
		log_error("audit", "append failed: %s", sqlite3_errmsg(db));
		goto fail;
	}
	head = xasprintf("%" PRId64 ":%s", id, hash);
	rc = store_kv_set(s, "audit_head", head);
	free(head);
	if (rc != 0)
		goto fail;
	if (own_tx && store_commit(s) != 0)
		return -1;
	return 0;
fail:
	if (own_tx)
		store_rollback(s);
	return -1;
}

/*
 * A row whose hash matches under a smaller id was pushed down by rows
 * inserted before it; returns by how much (0 when it was edited).
 */
static int64_t
renumbered(sqlite3_stmt *st, int64_t id, const char *stored)
{
	char	 hash[65];
	int64_t	 k;

	if (stored == NULL)
		return 0;
	for (k = 1; k <= 16 && k < id; k++) {
		row_hash(id - k, sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4),
		    (const char *)sqlite3_column_text(st, 5), hash);
		if (strcmp(hash, stored) == 0)
			return k;
	}
	return 0;
}

int
audit_verify(struct store *s, int64_t *rows, char **report)
{
	sqlite3_stmt	*st;
	char		 prev[65], prev2[65], hash[65], *head = NULL;
	int64_t		 prev_id = 0, n = 0;
	int		 rc, bad = 0;

	*rows = 0;
	snprintf(prev, sizeof prev, "%s", AUDIT_GENESIS);
	snprintf(prev2, sizeof prev2, "%s", AUDIT_GENESIS);
	if ((st = store_prepare(s, "SELECT id, at, actor, event, detail, "
	    "prev_hash, hash FROM audit ORDER BY id")) == NULL)
		return set_cause(report, "cannot read the audit table");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t		 id = sqlite3_column_int64(st, 0);
		const char	*row_prev, *row_hash_s;

		row_prev = (const char *)sqlite3_column_text(st, 5);
		row_hash_s = (const char *)sqlite3_column_text(st, 6);
		row_hash(id, sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4),
		    row_prev != NULL ? row_prev : "", hash);
		if (row_hash_s == NULL || strcmp(hash, row_hash_s) != 0) {
			int64_t	 shift = renumbered(st, id, row_hash_s);

			if (shift > 0)
				set_cause(report, "audit row(s) %" PRId64
				    "..%" PRId64 " were inserted: row %" PRId64
				    " was row %" PRId64 " when it was written",
				    id - shift, id - 1, id, id - shift);
			else
				set_cause(report, "audit row %" PRId64 " was "
				    "edited: its content does not match its "
				    "hash", id);
			bad = 1;
			break;
		}
		if (row_prev == NULL || strcmp(row_prev, prev) != 0) {
			if (id != prev_id + 1)
				set_cause(report, "audit row(s) %" PRId64
				    "..%" PRId64 " were deleted: row %" PRId64
				    " does not follow row %" PRId64,
				    prev_id + 1, id - 1, id, prev_id);
			else if (prev_id > 0 && strcmp(row_prev, prev2) == 0)
				set_cause(report, "audit row %" PRId64 " was "
				    "inserted: row %" PRId64 " links to row %"
				    PRId64 " before it", prev_id, id,
				    prev_id - 1);
			else
				set_cause(report, "audit row %" PRId64 " was "
				    "inserted or rewritten: it does not link "
				    "to row %" PRId64, id, prev_id);
			bad = 1;
			break;
		}
		snprintf(prev2, sizeof prev2, "%s", prev);
		snprintf(prev, sizeof prev, "%s", hash);
		prev_id = id;
		n++;
	}
	store_finish(s, st);
	*rows = n;
	if (bad)
		return -1;
	if (store_kv_get(s, "audit_head", &head) == 0 && head != NULL) {
		char	*expect = xasprintf("%" PRId64 ":%s", prev_id, prev);

		if (strcmp(head, expect) != 0) {
			long long	 head_id = strtoll(head, NULL, 10);

			if (head_id < prev_id)
				set_cause(report, "audit row(s) %lld..%" PRId64
				    " were inserted after the last row pvebot "
				    "wrote (%lld)", head_id + 1, prev_id,
				    head_id);
			else
				set_cause(report, "audit row(s) %" PRId64
				    "..%lld were deleted: the log ends at row %"
				    PRId64 " but pvebot wrote up to row %lld",
				    prev_id + 1, head_id, prev_id, head_id);
			bad = 1;
		}
		free(expect);
	} else if (prev_id > 0) {
		set_cause(report, "the audit head record is missing");
		bad = 1;
	}
	free(head);
	return bad ? -1 : 0;
}
