/*
 * util.h - small helpers every part uses: allocation that aborts on
 * failure, a growable byte buffer with a hard cap, range-checked number
 * parsing, clocks, hashing and escaping.
 */
#ifndef PVEBOT_UTIL_H
#define PVEBOT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#define PVEBOT_VERSION "0.1.0"

/* Allocation: failure aborts with a message; callers never check NULL. */
void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));

/*
 * Set *cause to a newly allocated message (if cause is not NULL) and
 * return -1, so error paths read `return set_cause(cause, "...", ...);`.
 */
int set_cause(char **cause, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Growable buffer. `cap_limit` (0 = none) bounds how large it may grow:
 * appends past it fail with -1 and set `truncated`, which is how every
 * buffer filled from outside stays bounded.
 */
struct buf {
	char	*data;		/* always NUL-terminated when non-NULL */
	size_t	 len;
	size_t	 size;
	size_t	 limit;
	int	 truncated;
};
void	buf_init(struct buf *, size_t limit);
int	buf_append(struct buf *, const void *, size_t);
int	buf_puts(struct buf *, const char *);
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	buf_reset(struct buf *);
char	*buf_steal(struct buf *);	/* caller frees; buffer is reset */
void	buf_release(struct buf *);
const char *buf_cstr(const struct buf *);	/* "" when empty */

/*
 * Range-checked integer parsing in the manner of OpenBSD strtonum(3):
 * returns the value, or 0 with *errstr set to "invalid", "too small" or
 * "too large".
 */
long long strtonum(const char *, long long, long long, const char **);

/* "90s", "15m", "2h", "7d", "1d12h"; a bare number is seconds. */
int	parse_duration(const char *, int64_t *seconds, char **cause);
/* Writes "1h30m" style; returns buf. */
char	*format_duration(int64_t seconds, char *buf, size_t len);

int64_t	now_ms(void);		/* monotonic clock, milliseconds */
int64_t	wall_now(void);		/* UNIX time, seconds */
int64_t	wall_now_ms(void);
double	thread_cpu_ms(void);
void	sleep_ms(int64_t);
/*
 * Time zones (tz.c): local time of UNIX time t in time zone tz
 * ("Europe/Berlin"; NULL or "" means UTC), read from the zoneinfo files,
 * never through the environment, so any thread may call these at any
 * time. Each zone is read once and kept. -1 for an unknown zone.
 */
struct tm;
int	tz_localtime(int64_t t, const char *tz, struct tm *out);
/* UNIX time of local date/time in tz (tm_isdst ignored); -1 on error. */
int64_t	tz_mktime(const struct tm *local, const char *tz);
/*
 * Checks a zone name from a config or policy file: letters, digits, '_',
 * '+', '-' and '/' only, naming a zone file that parses. Loads the zone,
 * so later conversions read no file. -1 with *cause saying what is wrong.
 */
int	tz_check(const char *tz, char **cause);

/* SHA-256 of data as 64 lowercase hex characters plus NUL. */
void	sha256_hex(const void *, size_t, char out[65]);
/* HMAC-SHA256 of data under key, as 64 lowercase hex characters plus NUL. */
void	hmac_sha256_hex(const void *key, size_t keylen, const void *data,
	    size_t len, char out[65]);
/* Random bytes from the kernel, as lowercase hex (2*n chars + NUL). */
void	random_hex(char *out, size_t nbytes);
uint64_t random_u64(void);

/* Escapes &, <, >, " for HTML; caller frees. */
char	*html_escape(const char *);
/* Valid UTF-8 without NUL and without C0 controls other than \t. */
int	utf8_valid_text(const char *, size_t);

/*
 * Reads a whole regular file of at most `limit` bytes (a FIFO, device or
 * folder is refused, never waited on); caller frees.
 */
char	*read_file(const char *path, size_t limit, size_t *len, char **cause);

/* String helpers. */
void	strv_free(char **, size_t n);	/* n strings, then the array */
int	str_has_prefix(const char *, const char *);
int	glob_match(const char *pattern, const char *str);	/* '*' and '?' */
int	glob_match_case(const char *pattern, const char *str, int nocase);
char	*str_trim(char *);
/*
 * Edits (insert, delete, replace, swap of neighbours) that turn a into b,
 * exactly; limit+1 when it is more than limit or a string is longer than
 * EDIT_DISTANCE_MAX: what "did you mean" suggestions are made from.
 */
#define EDIT_DISTANCE_MAX 256
size_t	edit_distance(const char *a, const char *b, size_t limit);

#endif
