/*
 * t_db.c - see t_db.h. Each PostgreSQL database is named after the
 * process and a counter, so parallel tests never share one; all are
 * dropped (WITH (FORCE): connections of a crashed test do not keep one
 * alive) at exit.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "db.h"
#include "store.h"
#include "t.h"
#include "t_db.h"
#include "util.h"

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static char		*password;
static char		**made;
static size_t		 nmade;

int
t_db_pg(void)
{
	const char	*u = getenv("PVEBOT_TEST_DB");

	return u != NULL && (str_has_prefix(u, "postgresql://") ||
	    str_has_prefix(u, "postgres://"));
}

static const char *
server_password(void)
{
	const char	*f = getenv("PVEBOT_TEST_DB_PASSWORD_FILE");
	FILE		*fp;
	char		 line[256];

	if (password != NULL || f == NULL || (fp = fopen(f, "r")) == NULL)
		return password;
	if (fgets(line, sizeof line, fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		password = xstrdup(line);
	}
	fclose(fp);
	return password;
}

static PGconn *
admin(void)
{
	const char	*keys[] = { "dbname", "password", NULL };
	const char	*vals[] = { getenv("PVEBOT_TEST_DB"), server_password(),
	    NULL };
	PGconn		*c = PQconnectdbParams(keys, vals, 1);

	if (PQstatus(c) != CONNECTION_OK) {
		printf("t_db: cannot connect to the test server: %s\n",
		    PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

static void
drop_all(void)
{
	PGconn	*c;
	size_t	 i;
	char	*sql;

	if (nmade == 0 || (c = admin()) == NULL)
		return;
	for (i = 0; i < nmade; i++) {
		sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)",
		    made[i]);
		PQclear(PQexec(c, sql));
		free(sql);
		free(made[i]);
	}
	free(made);
	made = NULL;
	nmade = 0;
	PQfinish(c);
}

/* The server URL with its database name replaced by `db`. */
static char *
url_with_db(const char *url, const char *db)
{
	const char	*host = strstr(url, "://"), *slash;

	host += 3;
	slash = strchr(host, '/');
	if (slash == NULL)
		return xasprintf("%s/%s", url, db);
	return xasprintf("%.*s/%s", (int)(slash - url), url, db);
}

char *
t_db_new(const char *name)
{
	static unsigned	 counter;
	PGresult	*res;
	PGconn		*c;
	char		 db[64], *sql, *url;
	size_t		 i, n;

	if (!t_db_pg())
		return t_path(name);
	pthread_mutex_lock(&lock);
	n = (size_t)snprintf(db, sizeof db, "t_%ld_%u_", (long)getpid(),
	    counter++);
	for (i = 0; name[i] != '\0' && n + 1 < sizeof db && n < 48; i++)
		db[n++] = isalnum((unsigned char)name[i]) ?
		    tolower((unsigned char)name[i]) : '_';
	db[n] = '\0';
	if ((c = admin()) == NULL) {
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	sql = xasprintf("CREATE DATABASE %s", db);
	res = PQexec(c, sql);
	free(sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		printf("t_db: CREATE DATABASE %s: %s\n", db,
		    PQresultErrorMessage(res));
		PQclear(res);
		PQfinish(c);
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	PQclear(res);
	PQfinish(c);
	if (nmade == 0)
		atexit(drop_all);
	made = xreallocarray(made, nmade + 1, sizeof *made);
	made[nmade++] = xstrdup(db);
	url = url_with_db(getenv("PVEBOT_TEST_DB"), db);
	store_set_password(url, server_password());
	pthread_mutex_unlock(&lock);
	return url;
}

char *
t_db_conf(const char *name, char **path)
{
	char	*key;
	char	*text;

	if ((*path = t_db_new(name)) == NULL)
		*path = xstrdup("postgresql://pvebot@127.0.0.1:1/no-database");
	if (!t_db_pg())
		return xasprintf("database: %s\n", *path);
	key = t_path("audit.key");
	text = xasprintf("database: %s\n"
	    "database_password_file: %s\n"
	    "audit:\n"
	    "  key_file: %s\n", *path,
	    getenv("PVEBOT_TEST_DB_PASSWORD_FILE") != NULL ?
	    getenv("PVEBOT_TEST_DB_PASSWORD_FILE") : "/nonexistent", key);
	free(key);
	return text;
}

int
t_db_query_ints(const char *path, const char *sql, const char *a1,
    const char *a2, int64_t *out, size_t max)
{
	struct store	*s;
	struct db_stmt	*st;
	char		*cause = NULL;
	int		 n = -1;

	if ((s = store_open(path, &cause)) == NULL) {
		free(cause);
		return -1;
	}
	if ((st = db_prepare(s, sql)) != NULL) {
		if (a1 != NULL)
			db_bind_text(st, 1, a1);
		if (a2 != NULL)
			db_bind_text(st, 2, a2);
		n = 0;
		while ((size_t)n < max && db_step(st) == DB_ROW)
			out[n++] = db_int(st, 0);
		db_finish(s, st);
	}
	store_close(s);
	return n;
}

char *
t_db_query_text(const char *path, const char *sql)
{
	struct store	*s;
	struct db_stmt	*st;
	char		*cause = NULL, *v = NULL;

	if ((s = store_open(path, &cause)) == NULL) {
		free(cause);
		return NULL;
	}
	if ((st = db_prepare(s, sql)) != NULL) {
		if (db_step(st) == DB_ROW)
			v = db_text_dup(st, 0);
		db_finish(s, st);
	}
	store_close(s);
	return v;
}

/* Drops the connections holding advisory lock (classid, objid) in the
 * database at path. */
static int
cut_lock(const char *path, int64_t classid, int64_t objid)
{
	const char	*db = strrchr(path, '/'), *params[3];
	char		 k1[24], k2[24];
	PGconn		*c;
	PGresult	*res;
	int		 n = -1;

	if (!t_db_pg() || db == NULL || (c = admin()) == NULL)
		return -1;
	snprintf(k1, sizeof k1, "%lld", (long long)classid);
	snprintf(k2, sizeof k2, "%lld", (long long)objid);
	params[0] = db + 1;
	params[1] = k1;
	params[2] = k2;
	res = PQexecParams(c, "SELECT pg_terminate_backend(l.pid) FROM "
	    "pg_locks l JOIN pg_database d ON d.oid = l.database WHERE "
	    "l.locktype = 'advisory' AND l.classid::bigint = $2::bigint AND "
	    "l.objid::bigint = $3::bigint AND l.granted AND d.datname = $1",
	    3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		n = PQntuples(res);
	else
		printf("t_db: cut a connection: %s\n",
		    PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(c);
	return n;
}

int
t_db_cut_leader(const char *path)
{
	return cut_lock(path, 0, 7231947);
}

int
t_db_cut_instance(const char *path, int64_t gen)
{
	return cut_lock(path, 7231948, gen);
}
