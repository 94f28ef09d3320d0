/*
 * prov.c - pvebot's allocation table, prov_alloc (see store_prov.h).
 *
 * Every function is one statement in the caller's transaction. Values
 * compared without case (names, VMIDs) go through lower() on both sides:
 * they are ASCII, and lower() means the same in every backend.
 */
#include <stdlib.h>

#include "db.h"
#include "db_util.h"
#include "store.h"
#include "store_prov.h"
#include "util.h"

int
prov_row_live(struct store *s, const char *kind, const char *value,
    int nocase)
{
	struct db_stmt	*st;

	st = db_prepare(s, nocase ? "SELECT 1 FROM prov_alloc WHERE "
	    "kind = ?1 AND lower(value) = lower(?2) AND released_at IS NULL" :
	    "SELECT 1 FROM prov_alloc WHERE kind = ?1 AND value = ?2 AND "
	    "released_at IS NULL");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, kind);
	db_bind_text(st, 2, value);
	return db_exists(s, st);
}

int
prov_row_add(struct store *s, const char *kind, const char *value,
    const char *node, int64_t job_id, int vmid, char **cause)
{
	struct db_stmt	*st;

	st = db_prepare(s, "INSERT INTO prov_alloc (kind, value, node, "
	    "job_id, vmid, allocated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (st == NULL)
		return set_cause(cause, "cannot record the allocation");
	db_bind_text(st, 1, kind);
	db_bind_text(st, 2, value);
	db_bind_text(st, 3, node);
	db_bind_int(st, 4, job_id);
	db_bind_int(st, 5, vmid);
	db_bind_int(st, 6, wall_now());
	if (db_run(s, st) != 0)
		return set_cause(cause, "cannot record %s %s: %s", kind, value,
		    db_error(s));
	return 0;
}

static void
row_fill(struct db_stmt *st, void *elem)
{
	struct prov_row	*r = elem;

	r->vmid = (int)db_int(st, 0);
	r->kind = db_text_dup(st, 1);
	r->value = db_text_dup(st, 2);
	r->node = db_text_dup(st, 3);
}

int
prov_rows_of_job(struct store *s, int64_t job, struct prov_row **out,
    size_t *n)
{
	struct db_stmt	*st;
	int		 rc;

	*out = NULL;
	*n = 0;
	st = db_prepare(s, "SELECT vmid, kind, value, node FROM prov_alloc "
	    "WHERE job_id = ?1 AND released_at IS NULL ORDER BY vmid, id");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, job);
	*out = db_rows(s, st, sizeof **out, row_fill, n, &rc);
	return rc;
}

void
prov_rows_free(struct prov_row *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].kind);
		free(v[i].value);
		free(v[i].node);
	}
	free(v);
}

int
prov_job_holds(struct store *s, int64_t job)
{
	struct db_stmt	*st;

	st = db_prepare(s, "SELECT 1 FROM prov_alloc WHERE job_id = ?1 "
	    "AND released_at IS NULL LIMIT 1");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, job);
	return db_exists(s, st);
}

int64_t
prov_ips_held(struct store *s, const char *node)
{
	struct db_stmt	*st;

	st = db_prepare(s, "SELECT COUNT(*) FROM prov_alloc WHERE kind = "
	    "'ip' AND node = ?1 AND released_at IS NULL");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, node);
	return db_count(s, st);
}

int
prov_release_job(struct store *s, int64_t job_id)
{
	struct db_stmt	*st;

	st = db_prepare(s, "UPDATE prov_alloc SET released_at = ?2 WHERE "
	    "job_id = ?1 AND released_at IS NULL");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, job_id);
	db_bind_int(st, 2, wall_now());
	return db_run(s, st) == 0 ? (int)db_changes(s) : -1;
}

int
prov_release_target(struct store *s, int64_t job, int vmid)
{
	struct db_stmt	*st;

	st = db_prepare(s, "UPDATE prov_alloc SET released_at = ?3 WHERE "
	    "job_id = ?1 AND vmid = ?2 AND released_at IS NULL");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, job);
	db_bind_int(st, 2, vmid);
	db_bind_int(st, 3, wall_now());
	return db_run(s, st);
}

int
prov_release_value(struct store *s, const char *kind, const char *value)
{
	struct db_stmt	*st;

	st = db_prepare(s, "UPDATE prov_alloc SET released_at = ?3 WHERE "
	    "kind = ?1 AND value = ?2 AND released_at IS NULL");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, kind);
	db_bind_text(st, 2, value);
	db_bind_int(st, 3, wall_now());
	return db_run(s, st) == 0 ? (int)db_changes(s) : -1;
}

int
prov_sweep(struct store *s)
{
	struct db_stmt	*st;

	st = db_prepare(s, "UPDATE prov_alloc SET released_at = ?1 WHERE "
	    "released_at IS NULL AND job_id IN (SELECT id FROM jobs WHERE "
	    "state IN ('denied', 'expired', 'cancelled', 'refused', "
	    "'failed'))");
	if (st == NULL)
		return -1;
	db_bind_int(st, 1, wall_now());
	return db_run(s, st) == 0 ? (int)db_changes(s) : -1;
}
