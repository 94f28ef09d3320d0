/*
 * audit.c - the append-only, tamper-evident audit log.
 *
 * Each row stores a MAC over its own content and the previous row's: an
 * HMAC-SHA256 under the audit key ("hmac:" and 64 hex digits) once pvebot
 * has a key, plain SHA-256 (64 hex digits) for rows written before. So
 * editing a row breaks its MAC, deleting one breaks the link of the next,
 * inserting one breaks a link too, and recomputing the chain takes the
 * key. Triggers refuse UPDATE and DELETE; the chain is what catches
 * someone who drops them first. docs/security.md has the threat model.
 *
 * The key: one per database, registered for the process by the daemon
 * (audit_key_set) from the file bot.conf names, created at the first
 * start. Every connection to that database finds it there.
 *
 * The head: each connection keeps the newest row's id and MAC in memory,
 * so appending is one INSERT. Before it, inside the write transaction
 * (which no other connection can hold at the same time), PRAGMA
 * data_version says whether another connection committed since the head
 * was read; only then is the newest row read again. A rollback of this
 * connection forgets the head (audit_conn_rolled_back()), so a row that was
 * rolled back is never linked to.
 *
 * Deleting rows at the end leaves no broken link; checkpoints catch it.
 * A checkpoint (rows, newest id and MAC, time, and an HMAC over them) is
 * written to kv "audit_checkpoint" by an append at most once a minute per
 * connection, and by audit_checkpoint() at start, at stop and with the
 * digest, which also log it (and the digest shows it in chat). `audit
 * --verify` checks the chain against the stored checkpoint, and against
 * one copied from a log or a digest with --checkpoint ID:MAC.
 *
 * Unkeyed chains of older versions: at the first start with a key, the
 * daemon appends an "audit.keyed" row whose MAC covers the last unkeyed
 * one, which anchors every row before it; from there on every row is
 * keyed. A keyed row followed by an unkeyed one is a break.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
#define MAC_PREFIX	"hmac:"
#define HASH_MAX	80		/* "hmac:" + 64 hex + NUL, rounded */
#define CHECKPOINT_EVERY 60		/* seconds, per connection */
#define CHECKPOINT_KEY	"audit_checkpoint"
#define KEY_MIN		32		/* characters of key material */
#define ROWS_FROM	"SELECT id, at, actor, event, detail, prev_hash, " \
	"hash FROM audit WHERE id >= ?1 ORDER BY id"

/* What one connection knows of the chain. */
struct audit_conn {
	int		 loaded;	/* head_* valid as of `dv` */
	int64_t		 dv;
	int64_t		 head_id;
	char		 head_hash[HASH_MAX];
	int		 head_warned;
	char		*key;		/* NULL: no key for this database */
	size_t		 keylen;
	int64_t		 checkpoint_at;	/* this connection's last one */
};

/* ---- keys, per database, for the whole process ---- */

struct key_entry {
	char	*db;
	char	*key;
	size_t	 len;
};

static pthread_mutex_t	 keys_lock = PTHREAD_MUTEX_INITIALIZER;
static struct key_entry	*keys;
static size_t		 nkeys;

/*
 * The database's path as the kernel knows it, so any spelling matches:
 * its folder resolved, whether or not the file exists yet.
 */
static char *
db_identity(const char *path)
{
	char		*copy = xstrdup(path), *slash, *dir, *out;
	const char	*base;

	if ((slash = strrchr(copy, '/')) != NULL) {
		*slash = '\0';
		base = slash + 1;
		dir = realpath(*copy != '\0' ? copy : "/", NULL);
	} else {
		base = copy;
		dir = realpath(".", NULL);
	}
	out = dir != NULL ? xasprintf("%s/%s", strcmp(dir, "/") == 0 ? "" :
	    dir, base) : xstrdup(path);
	free(dir);
	free(copy);
	return out;
}

void
audit_key_set(const char *db_path, const char *key, size_t len)
{
	char	*db = db_identity(db_path);
	size_t	 i;

	pthread_mutex_lock(&keys_lock);
	for (i = 0; i < nkeys && strcmp(keys[i].db, db) != 0; i++)
		;
	if (i == nkeys) {
		keys = xreallocarray(keys, nkeys + 1, sizeof *keys);
		keys[nkeys++].db = db;
	} else {
		free(db);
		explicit_bzero(keys[i].key, keys[i].len);
		free(keys[i].key);
	}
	keys[i].key = xmalloc(len);
	memcpy(keys[i].key, key, len);
	keys[i].len = len;
	pthread_mutex_unlock(&keys_lock);
}

void
audit_key_clear(const char *db_path)
{
	char	*db = db_identity(db_path);
	size_t	 i;

	pthread_mutex_lock(&keys_lock);
	for (i = 0; i < nkeys; i++) {
		if (strcmp(keys[i].db, db) != 0)
			continue;
		explicit_bzero(keys[i].key, keys[i].len);
		free(keys[i].key);
		free(keys[i].db);
		keys[i] = keys[--nkeys];
		break;
	}
	if (nkeys == 0) {
		free(keys);
		keys = NULL;
	}
	pthread_mutex_unlock(&keys_lock);
	free(db);
}

/* A copy of the database's key, or NULL. */
static char *
key_lookup(const char *db_path, size_t *len)
{
	char	*db = db_identity(db_path), *key = NULL;
	size_t	 i;

	pthread_mutex_lock(&keys_lock);
	for (i = 0; i < nkeys; i++) {
		if (strcmp(keys[i].db, db) == 0) {
			key = xmalloc(keys[i].len);
			memcpy(key, keys[i].key, keys[i].len);
			*len = keys[i].len;
			break;
		}
	}
	pthread_mutex_unlock(&keys_lock);
	free(db);
	return key;
}

char *
audit_key_load(const char *path, int create, int *created, char **cause)
{
	char	 hex[65], *text, *key;
	int	 fd;

	if (created != NULL)
		*created = 0;
	if (create && access(path, F_OK) == -1 && errno == ENOENT) {
		/* Exclusive, never through a link, readable by us alone. */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd == -1 && errno != EEXIST) {
			set_cause(cause, "cannot create the audit key %s: %s",
			    path, strerror(errno));
			return NULL;
		}
		if (fd != -1) {
			random_hex(hex, 32);
			text = xasprintf("%s\n", hex);
			if (write(fd, text, strlen(text)) !=
			    (ssize_t)strlen(text) || fsync(fd) != 0) {
				set_cause(cause, "cannot write the audit key "
				    "%s: %s", path, strerror(errno));
				explicit_bzero(text, strlen(text));
				free(text);
				close(fd);
				unlink(path);
				return NULL;
			}
			explicit_bzero(text, strlen(text));
			explicit_bzero(hex, sizeof hex);
			free(text);
			close(fd);
			if (created != NULL)
				*created = 1;
		}
	}
	if ((key = conf_read_secret_file(path, cause)) == NULL)
		return NULL;
	if (strlen(key) < KEY_MIN) {
		set_cause(cause, "the audit key %s holds %zu characters; it "
		    "needs at least %d", path, strlen(key), KEY_MIN);
		explicit_bzero(key, strlen(key));
		free(key);
		return NULL;
	}
	log_add_secret(key);
	return key;
}

/* ---- MACs ---- */

static int
is_keyed(const char *stored)
{
	return stored != NULL && str_has_prefix(stored, MAC_PREFIX);
}

/*
 * Length-prefixed fields, so no two different rows hash alike. Keyed:
 * "hmac:" + HMAC-SHA256 under key; unkeyed (key NULL): SHA-256.
 */
static void
row_mac(const char *key, size_t keylen, int64_t id, int64_t at,
    const char *actor, const char *event, const char *detail,
    const char *prev, char out[HASH_MAX])
{
	struct buf	 b;
	char		 hex[65];

	buf_init(&b, 0);
	buf_printf(&b, "%" PRId64 "|%" PRId64 "|%zu:%s|%zu:%s|%zu:%s|%s", id,
	    at, strlen(actor), actor, strlen(event), event, strlen(detail),
	    detail, prev);
	if (key != NULL) {
		hmac_sha256_hex(key, keylen, b.data, b.len, hex);
		snprintf(out, HASH_MAX, "%s%s", MAC_PREFIX, hex);
	} else
		sha256_hex(b.data, b.len, out);
	buf_release(&b);
}

/* The MAC of the row `st` is on, columns (id, at, actor, event, detail,
 * prev_hash) from `col`, under the id `id`. */
static void
stmt_mac(struct db_stmt *st, const char *key, size_t keylen, int64_t id,
    char out[HASH_MAX])
{
	const char	*prev = db_text(st, 5);

	row_mac(key, keylen, id, db_int(st, 1),
	    db_text(st, 2),
	    db_text(st, 3),
	    db_text(st, 4),
	    prev != NULL ? prev : "", out);
}

/* ---- the connection's head ---- */

void
audit_conn_rolled_back(struct audit_conn *ac)
{
	if (ac != NULL)
		ac->loaded = 0;
}

void
audit_conn_free(struct audit_conn *ac)
{
	if (ac == NULL)
		return;
	if (ac->key != NULL) {
		explicit_bzero(ac->key, ac->keylen);
		free(ac->key);
	}
	free(ac);
}

static struct audit_conn *
conn(struct store *s)
{
	struct audit_conn	**slot = store_audit_slot(s);
	struct audit_conn	 *ac;

	if (*slot != NULL)
		return *slot;
	ac = xcalloc(1, sizeof *ac);
	ac->key = key_lookup(store_path(s), &ac->keylen);
	*slot = ac;
	return ac;
}

/*
 * Makes ac's head the newest row; inside a write transaction. Read again
 * only when another connection committed since it was last read, and
 * checked against its own MAC when it is.
 */
static int
head_current(struct store *s, struct audit_conn *ac)
{
	struct db_stmt	*newest;
	int64_t		 dv = 0;
	char		 mac[HASH_MAX];
	const char	*stored;
	int		 rc, known, versioned;

	/* No data version (PostgreSQL): the head is read every time. */
	versioned = db_data_version(s, &dv) == 0;
	if (versioned && ac->loaded && dv == ac->dv)
		return 0;
	if ((newest = db_prepare(s, "SELECT id, at, actor, event, detail, "
	    "prev_hash, hash FROM audit ORDER BY id DESC LIMIT 1")) == NULL)
		return -1;
	rc = db_step(newest);
	if (rc == DB_ROW) {
		int64_t	 id = db_int(newest, 0);

		stored = db_text(newest, 6);
		/*
		 * Another connection committed, but not to the audit log
		 * (the sender marking a message sent): the head this
		 * connection checked and wrote is still the newest row.
		 */
		known = ac->loaded && id == ac->head_id && stored != NULL &&
		    strcmp(stored, ac->head_hash) == 0;
		ac->head_id = id;
		snprintf(ac->head_hash, sizeof ac->head_hash, "%s",
		    stored != NULL ? stored : "");
		if (!known && (!is_keyed(stored) || ac->key != NULL)) {
			stmt_mac(newest, is_keyed(stored) ? ac->key : NULL,
			    ac->keylen, ac->head_id, mac);
			if ((stored == NULL || strcmp(mac, stored) != 0) &&
			    !ac->head_warned) {
				log_error("audit", "the newest audit row %"
				    PRId64 " does not match its MAC: the log "
				    "was changed; run pvebot audit --verify",
				    ac->head_id);
				ac->head_warned = 1;
			}
		}
	} else {
		ac->head_id = 0;
		snprintf(ac->head_hash, sizeof ac->head_hash, "%s",
		    AUDIT_GENESIS);
	}
	db_finish(s, newest);
	if (rc != DB_ROW && rc != DB_DONE)
		return -1;
	ac->loaded = versioned;
	ac->dv = dv;
	return 0;
}

static int
write_checkpoint(struct store *s, struct audit_conn *ac, int64_t now)
{
	char	*text, *value, mac[65];
	int	 rc;

	text = xasprintf("rows=%" PRId64 " id=%" PRId64 " hash=%s at=%" PRId64,
	    ac->head_id, ac->head_id, ac->head_hash, now);
	hmac_sha256_hex(ac->key, ac->keylen, text, strlen(text), mac);
	value = xasprintf("%s mac=%s", text, mac);
	rc = store_kv_set(s, CHECKPOINT_KEY, value);
	free(value);
	free(text);
	if (rc == 0)
		ac->checkpoint_at = now;
	return rc;
}

static int
append(struct store *s, struct audit_conn *ac, const char *actor,
    const char *event, const char *detail, int64_t at)
{
	struct db_stmt	*insert;
	char		 hash[HASH_MAX];
	int64_t		 id;
	int		 rc;

	if (head_current(s, ac) != 0)
		return -1;
	if (ac->key == NULL && is_keyed(ac->head_hash)) {
		log_error("audit", "audit row not written: the log is keyed "
		    "and this process has no audit key (event=%s)", event);
		return -1;
	}
	id = ac->head_id + 1;
	row_mac(ac->key, ac->keylen, id, at, actor, event, detail,
	    ac->head_hash, hash);
	if ((insert = db_prepare(s, "INSERT INTO audit (id, at, actor, "
	    "event, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7)")) == NULL)
		return -1;
	db_bind_int(insert, 1, id);
	db_bind_int(insert, 2, at);
	db_bind_text(insert, 3, actor);
	db_bind_text(insert, 4, event);
	db_bind_text(insert, 5, detail);
	db_bind_text(insert, 6, ac->head_hash);
	db_bind_text(insert, 7, hash);
	rc = db_step(insert);
	db_finish(s, insert);
	if (rc != DB_DONE) {
		log_error("audit", "append failed: %s",
		    db_error(s));
		return -1;
	}
	ac->head_id = id;
	snprintf(ac->head_hash, sizeof ac->head_hash, "%s", hash);
	if (ac->key != NULL && at - ac->checkpoint_at >= CHECKPOINT_EVERY &&
	    write_checkpoint(s, ac, at) != 0)
		log_warn("audit", "checkpoint not written at row %" PRId64, id);
	return 0;
}

int
audit_append(struct store *s, const char *actor, const char *event,
    const char *detail)
{
	struct audit_conn	*ac = conn(s);
	int			 own_tx = db_autocommit(s);

	if (ac == NULL)
		return -1;
	if (own_tx && store_begin(s) != 0)
		return -1;
	if (append(s, ac, actor, event, detail != NULL ? detail : "",
	    wall_now()) != 0) {
		if (own_tx)
			store_rollback(s);
		return -1;
	}
	if (own_tx && store_commit(s) != 0)
		return -1;
	return 0;
}

int
audit_checkpoint(struct store *s, struct audit_head *head, char **cause)
{
	struct audit_conn	*ac = conn(s);
	int			 own_tx = db_autocommit(s);

	memset(head, 0, sizeof *head);
	if (ac == NULL)
		return set_cause(cause, "cannot read the audit table");
	if (own_tx && store_begin(s) != 0)
		return set_cause(cause, "the database is busy");
	if (head_current(s, ac) != 0 || (ac->key != NULL &&
	    write_checkpoint(s, ac, wall_now()) != 0)) {
		if (own_tx)
			store_rollback(s);
		return set_cause(cause, "cannot write the audit checkpoint");
	}
	if (own_tx && store_commit(s) != 0)
		return set_cause(cause, "cannot write the audit checkpoint");
	head->rows = ac->head_id;
	head->id = ac->head_id;
	head->keyed = ac->key != NULL;
	snprintf(head->hash, sizeof head->hash, "%s", ac->head_hash);
	log_info("audit", "checkpoint rows=%" PRId64 " head=%" PRId64 ":%s%s",
	    head->rows, head->id, head->hash, head->keyed ? "" :
	    " (unkeyed: no audit key)");
	return 0;
}

int
audit_start(struct store *s, char **cause)
{
	struct audit_conn	*ac = conn(s);
	struct audit_head	 head;
	char			*report = NULL, *detail;
	int64_t			 rows, from = 0;
	int			 rc;

	if (ac == NULL)
		return set_cause(cause, "cannot read the audit table");
	/* The rows since the last checkpoint; all of them the first time. */
	if (ac->key != NULL) {
		struct audit_head	 cp;

		if (audit_stored_checkpoint(s, &cp) == 0)
			from = cp.id;
		if (audit_verify_from(s, from, &rows, &report) != 0)
			log_error("audit", "the audit log is broken: %s; "
			    "pvebot goes on writing it, and pvebot audit "
			    "--verify will keep reporting this", report);
		free(report);
	}
	if (store_begin(s) != 0)
		return set_cause(cause, "the database is busy");
	if ((rc = head_current(s, ac)) == 0 && ac->key != NULL &&
	    !is_keyed(ac->head_hash)) {
		if (ac->head_id == 0)
			detail = xstrdup("a new audit log: each row carries "
			    "an HMAC-SHA256 under the audit key");
		else
			detail = xasprintf("rows 1..%" PRId64 " were written "
			    "without a key (SHA-256); from this row on each "
			    "row carries an HMAC-SHA256 under the audit key",
			    ac->head_id);
		rc = append(s, ac, "pvebot", "audit.keyed", detail,
		    wall_now());
		free(detail);
		if (rc == 0)
			rc = store_exec(s, "DELETE FROM kv WHERE key = "
			    "'audit_head'", NULL);
		if (rc == 0)
			log_info("audit", "the audit log is keyed from row %"
			    PRId64 " on", ac->head_id);
	}
	if (rc != 0 || store_commit(s) != 0) {
		store_rollback(s);
		return set_cause(cause, "cannot start the audit log");
	}
	return audit_checkpoint(s, &head, cause);
}

/* ---- checkpoints read back ---- */

static const char *
field(const char *text, const char *name, char *out, size_t len)
{
	const char	*p = text;
	size_t		 n = strlen(name), v;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || p[-1] == ' ') && p[n] == '=') {
			v = strcspn(p + n + 1, " ");
			if (v == 0 || v >= len)
				return NULL;
			memcpy(out, p + n + 1, v);
			out[v] = '\0';
			return out;
		}
		p += n;
	}
	return NULL;
}

/*
 * The stored checkpoint, its MAC checked: 0; 1 when there is none; -1
 * when it does not hold (forged, or another key), *report set.
 */
static int
read_checkpoint(struct store *s, const char *key, size_t keylen,
    struct audit_head *cp, int64_t *at, char **report)
{
	char		*value = NULL, *mac_at, want[65], v[HASH_MAX];
	const char	*errstr;
	int		 rc = -1;

	memset(cp, 0, sizeof *cp);
	if (store_kv_get(s, CHECKPOINT_KEY, &value) != 0 || value == NULL) {
		free(value);
		return 1;
	}
	if ((mac_at = strstr(value, " mac=")) == NULL || key == NULL) {
		if (report != NULL)
			set_cause(report, "the audit checkpoint record is "
			    "malformed");
		goto out;
	}
	hmac_sha256_hex(key, keylen, value, (size_t)(mac_at - value), want);
	if (strcmp(mac_at + 5, want) != 0) {
		if (report != NULL)
			set_cause(report, "the audit checkpoint record was "
			    "not written by pvebot (its MAC does not match)");
		goto out;
	}
	errstr = "missing";
	if (field(value, "rows", v, sizeof v) != NULL)
		cp->rows = strtonum(v, 0, INT64_MAX, &errstr);
	if (errstr == NULL && field(value, "id", v, sizeof v) != NULL)
		cp->id = strtonum(v, 0, INT64_MAX, &errstr);
	else
		errstr = "missing";
	if (errstr == NULL && field(value, "at", v, sizeof v) != NULL)
		*at = strtonum(v, 0, INT64_MAX, &errstr);
	else
		errstr = "missing";
	if (errstr != NULL || field(value, "hash", cp->hash,
	    sizeof cp->hash) == NULL) {
		if (report != NULL)
			set_cause(report, "the audit checkpoint record is "
			    "malformed");
		goto out;
	}
	cp->keyed = 1;
	rc = 0;
out:
	free(value);
	return rc;
}

int
audit_stored_checkpoint(struct store *s, struct audit_head *cp)
{
	size_t	 keylen = 0;
	char	*key = key_lookup(store_path(s), &keylen);
	int64_t	 at = 0;
	int	 rc;

	rc = read_checkpoint(s, key, keylen, cp, &at, NULL);
	if (key != NULL) {
		explicit_bzero(key, keylen);
		free(key);
	}
	return rc == 0 ? 0 : -1;
}

/* ---- verification ---- */

/*
 * A row whose MAC matches under a smaller id was pushed down by rows
 * inserted before it; returns by how much (0 when it was edited).
 */
static int64_t
renumbered(struct db_stmt *st, const char *key, size_t keylen, int64_t id,
    const char *stored)
{
	char	 mac[HASH_MAX];
	int64_t	 k;

	if (stored == NULL)
		return 0;
	for (k = 1; k <= 16 && k < id; k++) {
		stmt_mac(st, key, keylen, id - k, mac);
		if (strcmp(mac, stored) == 0)
			return k;
	}
	return 0;
}

struct expect {
	const char	*what;		/* "the stored checkpoint of ..." */
	int64_t		 id, rows;	/* rows 0: not checked */
	char		 hash[HASH_MAX + 16]; /* a prefix of the MAC's hex */
	int		 seen;
};

/* 0 when row `id` is what e recorded; else -1 with *report (once). */
static int
expect_row(struct expect *e, int64_t id, int64_t n, const char *stored,
    char **report)
{
	const char	*hex;

	if (e->id == 0 || e->id != id)
		return 0;
	e->seen = 1;
	hex = is_keyed(stored) ? stored + strlen(MAC_PREFIX) : stored;
	if (strncmp(hex != NULL ? hex : "", e->hash, strlen(e->hash)) != 0) {
		set_cause(report, "audit row %" PRId64 " is not the row %s "
		    "recorded: the log was rewritten up to there", id,
		    e->what);
		return -1;
	}
	if (e->rows != 0 && e->rows != n) {
		set_cause(report, "%s counted %" PRId64 " rows up to row %"
		    PRId64 ", the log has %" PRId64, e->what, e->rows, id, n);
		return -1;
	}
	return 0;
}

/* The rows from id `from` on (all of them for 0). */
static int
verify(struct store *s, int64_t from, const char *given, int64_t *rows,
    char **report)
{
	struct db_stmt	*st;
	struct audit_head cp;
	struct expect	 ex[2];
	char		 prev[HASH_MAX], prev2[HASH_MAX], mac[HASH_MAX];
	char		*key, when[32], *cp_problem = NULL;
	size_t		 keylen = 0, i;
	int64_t		 prev_id = 0, n = 0, first_keyed = 0, cp_at = 0;
	int		 rc, bad = 0, have_cp;
	struct tm	 tm;

	*rows = 0;
	memset(ex, 0, sizeof ex);
	key = key_lookup(store_path(s), &keylen);
	snprintf(prev, sizeof prev, "%s", AUDIT_GENESIS);
	snprintf(prev2, sizeof prev2, "%s", AUDIT_GENESIS);

	have_cp = read_checkpoint(s, key, keylen, &cp, &cp_at, report);
	if (have_cp < 0) {
		bad = 1;
		goto out;
	}
	if (have_cp == 0) {
		time_t	 t = (time_t)cp_at;

		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
		ex[0].what = "the stored checkpoint";
		ex[0].id = cp.id;
		ex[0].rows = cp.rows;
		snprintf(ex[0].hash, sizeof ex[0].hash, "%s",
		    is_keyed(cp.hash) ? cp.hash + strlen(MAC_PREFIX) : cp.hash);
	}
	if (given != NULL) {
		const char	*colon = strchr(given, ':'), *errstr;
		char		*idtext;

		idtext = colon != NULL ? xstrndup(given,
		    (size_t)(colon - given)) : xstrdup(given);
		ex[1].id = strtonum(idtext, 1, INT64_MAX, &errstr);
		free(idtext);
		if (colon != NULL && str_has_prefix(colon + 1, MAC_PREFIX))
			colon += strlen(MAC_PREFIX);
		if (errstr != NULL || colon == NULL ||
		    strlen(colon + 1) < 16 || strlen(colon + 1) > 64 ||
		    strspn(colon + 1, "0123456789abcdef") !=
		    strlen(colon + 1)) {
			set_cause(report, "--checkpoint %s: expected ID:MAC "
			    "with at least 16 hex digits of the MAC, as the "
			    "log and the digest show it", given);
			bad = 1;
			goto out;
		}
		ex[1].what = "the checkpoint you gave";
		snprintf(ex[1].hash, sizeof ex[1].hash, "%s", colon + 1);
	}

	if ((st = db_prepare(s, ROWS_FROM)) == NULL) {
		set_cause(report, "cannot read the audit table");
		bad = 1;
		goto out;
	}
	/* Starting later: the row before is the link to check against. */
	if (from > 1) {
		db_bind_int(st, 1, from - 1);
		if (db_step(st) == DB_ROW) {
			prev_id = db_int(st, 0);
			n = prev_id;
			snprintf(prev, sizeof prev, "%s",
			    db_text(st, 6));
			if (is_keyed(prev))
				first_keyed = prev_id;
		}
		db_finish(s, st);
		if ((st = db_prepare(s, ROWS_FROM)) == NULL) {
			set_cause(report, "cannot read the audit table");
			bad = 1;
			goto out;
		}
		db_bind_int(st, 1, from);
	} else
		db_bind_int(st, 1, 0);
	while ((rc = db_step(st)) == DB_ROW) {
		int64_t		 id = db_int(st, 0);
		const char	*row_prev, *stored;
		int		 keyed;

		row_prev = db_text(st, 5);
		stored = db_text(st, 6);
		keyed = is_keyed(stored);
		if (first_keyed != 0 && !keyed) {
			set_cause(report, "audit row %" PRId64 " has no "
			    "keyed MAC though the rows before it do: it was "
			    "rewritten without the audit key", id);
			bad = 1;
			break;
		}
		if (keyed && key == NULL) {
			set_cause(report, "audit rows from %" PRId64 " on "
			    "carry keyed MACs and no audit key was found: "
			    "check audit.key_file in bot.conf", id);
			bad = 1;
			break;
		}
		if (keyed && first_keyed == 0)
			first_keyed = id;
		stmt_mac(st, keyed ? key : NULL, keylen, id, mac);
		if (stored == NULL || strcmp(mac, stored) != 0) {
			int64_t	 shift = renumbered(st, keyed ? key : NULL,
			    keylen, id, stored);

			if (shift > 0)
				set_cause(report, "audit row(s) %" PRId64
				    "..%" PRId64 " were inserted: row %" PRId64
				    " was row %" PRId64 " when it was written",
				    id - shift, id - 1, id, id - shift);
			else
				set_cause(report, "audit row %" PRId64 " was "
				    "edited or forged: its content does not "
				    "match its %s", id, keyed ? "MAC" : "hash");
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
		snprintf(prev, sizeof prev, "%s", mac);
		prev_id = id;
		n++;
		/* Said after the chain's own problems, which come first. */
		for (i = 0; i < nitems(ex) && cp_problem == NULL; i++)
			expect_row(&ex[i], id, n, stored, &cp_problem);
	}
	db_finish(s, st);
	*rows = n;
	if (bad)
		goto out;
	if (key != NULL && n > 0 && first_keyed == 0) {
		set_cause(report, "no audit row carries a keyed MAC although "
		    "there is an audit key: the log was written without it, "
		    "or rewritten");
		bad = 1;
	} else if (key != NULL && first_keyed != 0 && have_cp != 0) {
		set_cause(report, "the audit checkpoint record is missing: "
		    "pvebot writes one at every start, so it was deleted");
		bad = 1;
	} else if (cp_problem != NULL) {
		set_cause(report, "%s", cp_problem);
		bad = 1;
	} else {
		for (i = 0; i < nitems(ex) && !bad; i++) {
			if (ex[i].id == 0 || ex[i].seen || ex[i].id < from)
				continue;
			set_cause(report, "audit row(s) %" PRId64 "..%" PRId64
			    " were deleted: %s names row %" PRId64 " but the "
			    "log ends at row %" PRId64, prev_id + 1, ex[i].id,
			    ex[i].what, ex[i].id, prev_id);
			bad = 1;
		}
	}
	if (!bad && report != NULL) {
		if (first_keyed == 0)
			set_cause(report, "unkeyed: plain SHA-256, which anyone "
			    "who can write the database could recompute");
		else if (have_cp == 0)
			set_cause(report, "keyed (HMAC-SHA256) from row %"
			    PRId64 "; agrees with the checkpoint of %s at row %"
			    PRId64 "%s", first_keyed, when, cp.id,
			    given != NULL ? " and with the one given" : "");
		else
			set_cause(report, "keyed (HMAC-SHA256) from row %"
			    PRId64 "%s", first_keyed, given != NULL ?
			    "; agrees with the checkpoint given" : "");
	}
out:
	free(cp_problem);
	if (key != NULL) {
		explicit_bzero(key, keylen);
		free(key);
	}
	return bad ? -1 : 0;
}

int
audit_verify(struct store *s, const char *checkpoint, int64_t *rows,
    char **report)
{
	return verify(s, 0, checkpoint, rows, report);
}

int
audit_verify_from(struct store *s, int64_t from, int64_t *rows,
    char **report)
{
	return verify(s, from, NULL, rows, report);
}
