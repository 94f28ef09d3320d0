/*
 * store_pg.c - the PostgreSQL backend (store_pg.h): libpq, one
 * connection per store, statements prepared on first use and executed
 * with text parameters.
 *
 * Every write holds the advisory lock PG_WRITE_LOCK for its transaction
 * (pg_begin() takes it; a write outside a transaction gets one of its
 * own), so writers queue as they do on SQLite; the wait is bounded by
 * lock_timeout (store_set_wait()), and a wait that ran out is "busy".
 * The connection uses TCP keepalives and a user timeout so that a
 * server that vanished is noticed within seconds, not hours.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "log.h"
#include "store_pg.h"
#include "util.h"

struct pg_db {
	PGconn		*conn;
	unsigned	 next_name;
	char		 error[512];
	char		 sqlstate[6];
	int64_t		 changes;
	int64_t		 total;
	int64_t		 last_id;
	char		**id_tables;	/* tables with a serial id */
	size_t		 nid_tables;
};

#define PG_PARAMS_MAX	64

struct pg_stmt {
	struct pg_db	*db;
	char		 name[24];
	char		*sql;		/* with $N parameters */
	int		 nparams;
	Oid		*types;		/* text for a number never used */
	char		**values;
	int		 prepared;
	int		 write;		/* INSERT, UPDATE or DELETE */
	int		 returning_id;	/* RETURNING id added */
	int		 executed;
	PGresult	*res;
	int		 row;
	int		 nrows;
};

int
pg_is_url(const char *s)
{
	return s != NULL && (str_has_prefix(s, "postgresql://") ||
	    str_has_prefix(s, "postgres://"));
}

static void
set_error(struct pg_db *db, const PGresult *res)
{
	const char	*m, *code;
	size_t		 n;

	m = res != NULL ? PQresultErrorMessage(res) : "";
	if (m == NULL || *m == '\0')
		m = PQerrorMessage(db->conn);
	if (m != NULL && strncmp(m, "ERROR:  ", 8) == 0)
		m += 8;		/* libpq's severity prefix */
	snprintf(db->error, sizeof db->error, "%s", m != NULL ? m : "?");
	n = strlen(db->error);
	while (n > 0 && (db->error[n - 1] == '\n' || db->error[n - 1] == ' '))
		db->error[--n] = '\0';
	code = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	snprintf(db->sqlstate, sizeof db->sqlstate, "%s", code != NULL ? code :
	    "");
}

struct pg_db *
pg_open(const char *url, const char *password, char **cause)
{
	const char	*keys[] = { "dbname", "password", "application_name",
	    "connect_timeout", "keepalives", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "tcp_user_timeout",
	    NULL };
	const char	*vals[] = { url, password, "pvebot", "10", "1", "5",
	    "2", "3", "10000", NULL };
	PQconninfoOption *opts, *o;
	struct pg_db	*db;
	char		*err = NULL;

	/* A password in the URL would end up in logs and `ps`: refused. */
	if ((opts = PQconninfoParse(url, &err)) == NULL) {
		set_cause(cause, "database: not a valid PostgreSQL URL: %s",
		    err != NULL ? err : "?");
		PQfreemem(err);
		return NULL;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
		    *o->val != '\0') {
			PQconninfoFree(opts);
			set_cause(cause, "database: the URL holds a password; "
			    "put it in database_password_file instead");
			return NULL;
		}
	}
	PQconninfoFree(opts);
	if (password == NULL) {
		keys[1] = "application_name";	/* drop the pair */
		vals[1] = "pvebot";
	}
	db = xcalloc(1, sizeof *db);
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		set_cause(cause, "database: cannot connect: %s", db->conn !=
		    NULL ? PQerrorMessage(db->conn) : "out of memory");
		pg_close(db);
		return NULL;
	}
	if (pg_exec(db, "SET client_min_messages = warning; "
	    "SET lock_timeout = 10000", cause) != 0) {
		pg_close(db);
		return NULL;
	}
	return db;
}

void
pg_close(struct pg_db *db)
{
	size_t	 i;

	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	for (i = 0; i < db->nid_tables; i++)
		free(db->id_tables[i]);
	free(db->id_tables);
	free(db);
}

int
pg_exec(struct pg_db *db, const char *sql, char **cause)
{
	PGresult	*res = PQexec(db->conn, sql);
	int		 st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		set_error(db, res);
		PQclear(res);
		return set_cause(cause, "%s", db->error);
	}
	PQclear(res);
	return 0;
}

int
pg_learn_ids(struct pg_db *db, char **cause)
{
	PGresult	*res;
	int		 i, n;

	res = PQexec(db->conn, "SELECT table_name FROM "
	    "information_schema.columns WHERE table_schema = current_schema() "
	    "AND column_name = 'id' AND column_default LIKE 'nextval(%'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_error(db, res);
		PQclear(res);
		return set_cause(cause, "%s", db->error);
	}
	for (i = 0; i < (int)db->nid_tables; i++)
		free(db->id_tables[i]);
	n = PQntuples(res);
	db->id_tables = xreallocarray(db->id_tables, n + 1,
	    sizeof *db->id_tables);
	for (i = 0; i < n; i++)
		db->id_tables[i] = xstrdup(PQgetvalue(res, i, 0));
	db->nid_tables = n;
	PQclear(res);
	return 0;
}

/* Replaces every whole-word `from` in *s by `to`. */
static void
replace_word(char **s, const char *from, const char *to)
{
	struct buf	 b;
	const char	*p = *s, *q;
	size_t		 n = strlen(from);

	buf_init(&b, 0);
	while ((q = strstr(p, from)) != NULL) {
		int	 left = q == *s || !(isalnum((unsigned char)q[-1]) ||
		    q[-1] == '_');
		int	 right = !(isalnum((unsigned char)q[n]) || q[n] == '_');

		buf_append(&b, p, q - p);
		buf_append(&b, left && right ? to : from, left && right ?
		    strlen(to) : n);
		p = q + n;
	}
	buf_append(&b, p, strlen(p));
	free(*s);
	*s = buf_steal(&b);
}

/*
 * SQLite's append-only triggers on the audit table, as PostgreSQL
 * writes them: the same refusal, the same message.
 */
static const char sqlite_audit_triggers[] =
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN"
	"  SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN"
	"  SELECT RAISE(ABORT, 'the audit log is append-only'); END;";
static const char pg_audit_triggers[] =
	"CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql"
	"  AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW"
	"  EXECUTE FUNCTION audit_append_only();"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit FOR EACH ROW"
	"  EXECUTE FUNCTION audit_append_only();";

char *
pg_ddl(const char *sqlite_ddl)
{
	char	*s = xstrdup(sqlite_ddl), *t;

	if ((t = strstr(s, sqlite_audit_triggers)) != NULL) {
		char	*u = xasprintf("%.*s%s%s", (int)(t - s), s,
		    pg_audit_triggers, t + strlen(sqlite_audit_triggers));

		free(s);
		s = u;
	}
	replace_word(&s, "INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY");
	replace_word(&s, "INTEGER", "BIGINT");
	replace_word(&s, "REAL", "DOUBLE PRECISION");
	return s;
}

int
pg_begin(struct pg_db *db, char **cause)
{
	char	 sql[96];

	snprintf(sql, sizeof sql, "BEGIN; SELECT pg_advisory_xact_lock(%d)",
	    PG_WRITE_LOCK);
	if (pg_exec(db, sql, cause) != 0) {
		pg_rollback(db);
		return -1;
	}
	return 0;
}

int
pg_commit(struct pg_db *db, char **cause)
{
	PGresult	*res = PQexec(db->conn, "COMMIT");
	int		 ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	/* A commit of a failed transaction answers ROLLBACK. */
	if (ok && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		snprintf(db->error, sizeof db->error, "the transaction had "
		    "failed and was rolled back");
		ok = 0;
	} else if (!ok)
		set_error(db, res);
	PQclear(res);
	if (!ok)
		return set_cause(cause, "%s", db->error);
	return 0;
}

void
pg_rollback(struct pg_db *db)
{
	PQclear(PQexec(db->conn, "ROLLBACK"));
}

int
pg_in_tx(struct pg_db *db)
{
	return PQtransactionStatus(db->conn) != PQTRANS_IDLE;
}

int
pg_busy(struct pg_db *db)
{
	return strcmp(db->sqlstate, "55P03") == 0 ||
	    strcmp(db->sqlstate, "40001") == 0 ||
	    strcmp(db->sqlstate, "40P01") == 0;
}

void
pg_set_wait(struct pg_db *db, int ms)
{
	char	 sql[64];

	snprintf(sql, sizeof sql, "SET lock_timeout = %d", ms);
	if (pg_exec(db, sql, NULL) != 0)
		log_warn("store", "lock_timeout not set: %s", db->error);
}

/* The first word of the SQL, upper-cased, in out[8]. */
static void
first_word(const char *sql, char out[8])
{
	size_t	 n = 0;

	while (isspace((unsigned char)*sql))
		sql++;
	while (n < 7 && isalpha((unsigned char)sql[n])) {
		out[n] = toupper((unsigned char)sql[n]);
		n++;
	}
	out[n] = '\0';
}

/* The table of "INSERT INTO name ...", in out. */
static int
insert_table(const char *sql, char *out, size_t len)
{
	const char	*p = strstr(sql, "INTO");
	size_t		 n = 0;

	if (p == NULL)
		return -1;
	p += 4;
	while (isspace((unsigned char)*p))
		p++;
	while (n + 1 < len && (isalnum((unsigned char)p[n]) || p[n] == '_')) {
		out[n] = p[n];
		n++;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/*
 * ?N (and bare ?) outside quotes become $N; *max is the highest N.
 * SQLite's index hints (INDEXED BY name) go: PostgreSQL's planner picks.
 */
static char *
translate(const char *sql, int *max, unsigned char used[PG_PARAMS_MAX])
{
	struct buf	 b;
	const char	*p;
	int		 quote = 0, bare = 0, n;
	char		 num[16];

	*max = 0;
	memset(used, 0, PG_PARAMS_MAX);
	buf_init(&b, 0);
	for (p = sql; *p != '\0'; p++) {
		if (*p == '\'')
			quote = !quote;
		if (!quote && strncmp(p, "INDEXED BY ", 11) == 0) {
			p += 11;
			while (isalnum((unsigned char)p[1]) || p[1] == '_')
				p++;
			p++;	/* the space after the name stays */
			if (*p == '\0')
				break;
		}
		if (quote || *p != '?') {
			buf_append(&b, p, 1);
			continue;
		}
		if (isdigit((unsigned char)p[1])) {
			n = (int)strtol(p + 1, NULL, 10);
			while (isdigit((unsigned char)p[1]))
				p++;
		} else
			n = ++bare;
		if (n > *max)
			*max = n;
		if (n >= 1 && n <= PG_PARAMS_MAX)
			used[n - 1] = 1;
		snprintf(num, sizeof num, "$%d", n);
		buf_append(&b, num, strlen(num));
	}
	return buf_steal(&b);
}

struct pg_stmt *
pg_prepare(struct pg_db *db, const char *sql)
{
	struct pg_stmt	*ps = xcalloc(1, sizeof *ps);
	unsigned char	 used[PG_PARAMS_MAX];
	char		 w[8], table[64];
	size_t		 i;

	ps->db = db;
	ps->sql = translate(sql, &ps->nparams, used);
	ps->values = xcalloc(ps->nparams + 1, sizeof *ps->values);
	/*
	 * A number the statement skips (one variant of a statement binds
	 * ?4, the other does not use it) has no context to take its type
	 * from: it is text, as it would be for SQLite. The others, 0: from
	 * their context.
	 */
	ps->types = xcalloc(ps->nparams + 1, sizeof *ps->types);
	for (i = 0; i < (size_t)ps->nparams && i < PG_PARAMS_MAX; i++)
		ps->types[i] = used[i] ? 0 : 25;	/* TEXTOID */
	snprintf(ps->name, sizeof ps->name, "p%u", db->next_name++);
	first_word(sql, w);
	ps->write = strcmp(w, "INSERT") == 0 || strcmp(w, "UPDATE") == 0 ||
	    strcmp(w, "DELETE") == 0;
	if (strcmp(w, "INSERT") == 0 && strstr(sql, "RETURNING") == NULL &&
	    insert_table(sql, table, sizeof table) == 0) {
		for (i = 0; i < db->nid_tables; i++) {
			if (strcmp(db->id_tables[i], table) != 0)
				continue;
			char	*t = xasprintf("%s RETURNING id", ps->sql);

			free(ps->sql);
			ps->sql = t;
			ps->returning_id = 1;
			break;
		}
	}
	return ps;
}

void
pg_reset(struct pg_stmt *ps)
{
	int	 i;

	PQclear(ps->res);
	ps->res = NULL;
	ps->executed = 0;
	for (i = 0; i < ps->nparams; i++) {
		free(ps->values[i]);
		ps->values[i] = NULL;
	}
}

void
pg_stmt_free(struct pg_stmt *ps)
{
	char	 sql[48];

	if (ps == NULL)
		return;
	pg_reset(ps);
	if (ps->prepared) {
		snprintf(sql, sizeof sql, "DEALLOCATE %s", ps->name);
		/* Not inside a failed transaction: the name is freed with the
		 * connection otherwise. */
		if (PQtransactionStatus(ps->db->conn) == PQTRANS_IDLE)
			PQclear(PQexec(ps->db->conn, sql));
	}
	free(ps->values);
	free(ps->types);
	free(ps->sql);
	free(ps);
}

void
pg_bind(struct pg_stmt *ps, int i, const char *v)
{
	if (i < 1 || i > ps->nparams)
		return;
	free(ps->values[i - 1]);
	ps->values[i - 1] = v != NULL ? xstrdup(v) : NULL;
}

static int
run(struct pg_stmt *ps)
{
	struct pg_db	*db = ps->db;
	PGresult	*res;
	int		 own, st;

	if (!ps->prepared) {
		res = PQprepare(db->conn, ps->name, ps->sql, ps->nparams,
		    ps->types);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			set_error(db, res);
			PQclear(res);
			log_error("store", "prepare failed: %s sql=%s",
			    db->error, ps->sql);
			return DB_ERROR;
		}
		PQclear(res);
		ps->prepared = 1;
	}
	own = ps->write && !pg_in_tx(db);
	if (own && pg_begin(db, NULL) != 0)
		return DB_ERROR;
	res = PQexecPrepared(db->conn, ps->name, ps->nparams,
	    (const char * const *)ps->values, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		set_error(db, res);
		PQclear(res);
		if (own)
			pg_rollback(db);
		return DB_ERROR;
	}
	db->sqlstate[0] = '\0';
	if (ps->write) {
		db->changes = strtoll(PQcmdTuples(res), NULL, 10);
		db->total += db->changes;
	}
	if (ps->returning_id) {
		if (PQntuples(res) > 0)
			db->last_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		ps->nrows = 0;
	} else
		ps->nrows = PQntuples(res);
	ps->res = res;
	ps->row = -1;
	ps->executed = 1;
	if (own && pg_commit(db, NULL) != 0)
		return DB_ERROR;
	return 0;
}

int
pg_is_write(const struct pg_stmt *ps)
{
	return ps->write;
}

int
pg_executed(const struct pg_stmt *ps)
{
	return ps->executed;
}

int
pg_step(struct pg_stmt *ps)
{
	if (!ps->executed && run(ps) != 0)
		return DB_ERROR;
	if (ps->row + 1 < ps->nrows) {
		ps->row++;
		return DB_ROW;
	}
	ps->row = ps->nrows;
	return DB_DONE;
}

const char *
pg_value(struct pg_stmt *ps, int col)
{
	if (ps->res == NULL || ps->row < 0 || ps->row >= ps->nrows ||
	    col < 0 || col >= PQnfields(ps->res) ||
	    PQgetisnull(ps->res, ps->row, col))
		return NULL;
	return PQgetvalue(ps->res, ps->row, col);
}

int64_t
pg_changes(struct pg_db *db)
{
	return db->changes;
}

int64_t
pg_total_changes(struct pg_db *db)
{
	return db->total;
}

int64_t
pg_last_id(struct pg_db *db)
{
	return db->last_id;
}

const char *
pg_error(struct pg_db *db)
{
	return db->error;
}

int
pg_socket(struct pg_db *db)
{
	return PQsocket(db->conn);
}

int
pg_notifications(struct pg_db *db, void (*fn)(const char *, const char *,
    void *), void *arg)
{
	PGnotify	*n;

	if (PQconsumeInput(db->conn) == 0 ||
	    PQstatus(db->conn) != CONNECTION_OK) {
		set_error(db, NULL);
		return -1;
	}
	while ((n = PQnotifies(db->conn)) != NULL) {
		fn(n->relname, n->extra != NULL ? n->extra : "", arg);
		PQfreemem(n);
	}
	return 0;
}
