/*
 * tz.c - time zones without the environment: local times computed from
 * the TZif files of /usr/share/zoneinfo (RFC 8536), read by us.
 *
 * Guarantees:
 * - Nothing here writes the environment or uses the C library's zone
 *   functions (tzset, localtime, mktime): a conversion reads only a zone
 *   parsed from its file, so it never races with a thread that reads the
 *   environment (libcurl's threads do) and never changes what another
 *   thread sees.
 * - A zone name is ASCII letters, digits, '_', '+', '-' and '/', with no
 *   leading, trailing or doubled '/'. Without '.', it cannot climb out of
 *   TZ_DIR; it must name a regular file there that parses.
 * - Each zone is read and parsed once and kept for the life of the
 *   process in a small table (one entry per zone name in use). The
 *   table's mutex covers lookup and insertion only; a parsed zone never
 *   changes, so conversions run in parallel without a lock. Files are
 *   read outside the lock.
 * - Every count and offset in a file is checked before use: a malformed
 *   file is refused with a reason, never half-used. Times past the last
 *   transition follow the POSIX TZ string of the file's footer.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tz.h"
#include "util.h"

#define TZ_NAME_MAX	255	/* longest zone name accepted */
#define TZ_TIMES_MAX	10000	/* transitions in one file */
#define TZ_TYPES_MAX	256	/* local time types (indices are bytes) */
#define TZ_CHARS_MAX	512	/* bytes of abbreviations */
#define TZ_FOOTER_MAX	256	/* bytes of the POSIX TZ string */
#define TZ_ABBR_MAX	16	/* a POSIX TZ string's abbreviations */
#define TZ_UTOFF_MAX	(26 * 3600)	/* |offset| of a local time type */
#define TZ_POSIX_HOURS	24	/* |offset| hours in a TZ string */
#define TZ_RULE_HOURS	167	/* |time of change| hours (RFC 8536) */
/* |UNIX time| handled: the year of ±2^55 s still fits tm_year. */
#define TZ_T_LIMIT	((int64_t)1 << 55)

struct tz_type {
	int32_t		 utoff;		/* seconds east of UTC */
	int		 isdst;
	const char	*abbr;		/* into the zone */
};

/* When a POSIX TZ string's change happens: Jn, n or Mm.w.d, then /time. */
enum tz_rule_kind {
	RULE_JULIAN,		/* Jn: day 1-365, February 29 never counted */
	RULE_DAY,		/* n: day 0-365, February 29 counted */
	RULE_MONTH		/* Mm.w.d: weekday d of week w of month m */
};

struct tz_rule {
	enum tz_rule_kind kind;
	int		 day;		/* Jn, n; for M the weekday 0-6 */
	int		 week;		/* M: 1-5, 5 meaning the last */
	int		 month;		/* M: 1-12 */
	int32_t		 secs;		/* local time of the change */
};

struct tz_posix {
	int		 present;
	int		 has_dst;
	struct tz_type	 std, dst;
	char		 std_abbr[TZ_ABBR_MAX + 1];
	char		 dst_abbr[TZ_ABBR_MAX + 1];
	struct tz_rule	 start, end;
};

struct tz_zone {
	int64_t		*times;		/* strictly ascending */
	uint8_t		*idx;		/* type of each transition */
	size_t		 ntimes;
	struct tz_type	*types;
	size_t		 ntypes;
	char		*chars;		/* abbreviations, NUL-terminated */
	struct tz_posix	 posix;
};

static struct tz_type	 utc_type = { 0, 0, "UTC" };
static const struct tz_zone tz_utc = { NULL, NULL, 0, &utc_type, 1, NULL,
				    { 0 } };

/* ---- calendar arithmetic (proleptic Gregorian, 64-bit) ---- */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t	 q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t
floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return days[m - 1] + (m == 2 && is_leap(y));
}

/* Days since 1970-01-01 of y-m-d (m 1-12; d may run past the month). */
static int64_t
days_from_civil(int64_t y, int m, int64_t d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	 era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* ---- the POSIX TZ string of the footer ---- */

/* "CET" or "<+0545>"; returns the end or NULL. */
static const char *
posix_name(const char *p, char *out)
{
	size_t	 n = 0;

	if (*p == '<') {
		for (p++; *p != '>'; p++) {
			if (!((*p >= 'A' && *p <= 'Z') ||
			    (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '+' ||
			    *p == '-') || n == TZ_ABBR_MAX)
				return NULL;
			out[n++] = *p;
		}
		p++;
	} else {
		for (; (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z');
		    p++) {
			if (n == TZ_ABBR_MAX)
				return NULL;
			out[n++] = *p;
		}
	}
	if (n < 3)
		return NULL;
	out[n] = '\0';
	return p;
}

/* Up to `max` digits as a number no larger than hi; returns the end. */
static const char *
posix_number(const char *p, int max, int hi, int *v)
{
	int	 n = 0;

	*v = 0;
	while (*p >= '0' && *p <= '9' && n < max) {
		*v = *v * 10 + (*p++ - '0');
		n++;
	}
	if (n == 0 || *v > hi || (*p >= '0' && *p <= '9'))
		return NULL;
	return p;
}

/* [+-]hh[:mm[:ss]] with |hh| <= hours; returns the end or NULL. */
static const char *
posix_hms(const char *p, int hours, int32_t *secs)
{
	int	 sign = 1, h, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if ((p = posix_number(p, 3, hours, &h)) == NULL)
		return NULL;
	if (*p == ':') {
		if ((p = posix_number(p + 1, 2, 59, &m)) == NULL)
			return NULL;
		if (*p == ':' && (p = posix_number(p + 1, 2, 59, &s)) == NULL)
			return NULL;
	}
	*secs = sign * (h * 3600 + m * 60 + s);
	return p;
}

/* Jn, n or Mm.w.d, then an optional /time (default 02:00). */
static const char *
posix_rule(const char *p, struct tz_rule *r)
{
	memset(r, 0, sizeof *r);
	if (*p == 'J') {
		r->kind = RULE_JULIAN;
		if ((p = posix_number(p + 1, 3, 365, &r->day)) == NULL ||
		    r->day < 1)
			return NULL;
	} else if (*p == 'M') {
		r->kind = RULE_MONTH;
		if ((p = posix_number(p + 1, 2, 12, &r->month)) == NULL ||
		    r->month < 1 || *p != '.' ||
		    (p = posix_number(p + 1, 1, 5, &r->week)) == NULL ||
		    r->week < 1 || *p != '.' ||
		    (p = posix_number(p + 1, 1, 6, &r->day)) == NULL)
			return NULL;
	} else {
		r->kind = RULE_DAY;
		if ((p = posix_number(p, 3, 365, &r->day)) == NULL)
			return NULL;
	}
	r->secs = 2 * 3600;
	if (*p == '/')
		p = posix_hms(p + 1, TZ_RULE_HOURS, &r->secs);
	return p;
}

/* "CET-1CEST,M3.5.0,M10.5.0/3" (std offset [dst [offset] [,start,end]]). */
static int
posix_parse(const char *s, struct tz_posix *tp)
{
	const char	*p = s;
	int32_t		 secs;

	memset(tp, 0, sizeof *tp);
	if ((p = posix_name(p, tp->std_abbr)) == NULL ||
	    (p = posix_hms(p, TZ_POSIX_HOURS, &secs)) == NULL)
		return -1;
	/* POSIX counts hours west of Greenwich, TZif east. */
	tp->std.utoff = -secs;
	tp->std.abbr = tp->std_abbr;
	tp->present = 1;
	if (*p == '\0')
		return 0;
	if ((p = posix_name(p, tp->dst_abbr)) == NULL)
		return -1;
	tp->has_dst = 1;
	tp->dst.isdst = 1;
	tp->dst.abbr = tp->dst_abbr;
	tp->dst.utoff = tp->std.utoff + 3600;
	if (*p != ',' && *p != '\0') {
		if ((p = posix_hms(p, TZ_POSIX_HOURS, &secs)) == NULL)
			return -1;
		tp->dst.utoff = -secs;
	}
	if (*p == '\0') {
		/* No rule: the United States' since 2007, as tzcode does. */
		posix_rule("M3.2.0", &tp->start);
		posix_rule("M11.1.0", &tp->end);
		return 0;
	}
	if (*p != ',' || (p = posix_rule(p + 1, &tp->start)) == NULL ||
	    *p != ',' || (p = posix_rule(p + 1, &tp->end)) == NULL ||
	    *p != '\0')
		return -1;
	return 0;
}

/* Days since the epoch of the day a rule names in year y. */
static int64_t
rule_day(const struct tz_rule *r, int64_t y)
{
	int64_t	 first, d;

	switch (r->kind) {
	case RULE_JULIAN:
		return days_from_civil(y, 1, 1) + r->day - 1 +
		    (is_leap(y) && r->day >= 60);
	case RULE_DAY:
		return days_from_civil(y, 1, 1) + r->day;
	case RULE_MONTH:
	default:
		first = days_from_civil(y, r->month, 1);
		/* 1970-01-01 was a Thursday (4). */
		d = first + floor_mod(r->day - floor_mod(first + 4, 7), 7) +
		    7 * (r->week - 1);
		while (d >= first + month_days(y, r->month))
			d -= 7;
		return d;
	}
}

/*
 * The type a TZ string gives t: whichever change (to summer time or
 * back) came last, looking at the year around t and its neighbours, so
 * southern zones and changes near New Year come out right.
 */
static const struct tz_type *
posix_type(const struct tz_posix *tp, int64_t t)
{
	int64_t	 y, at, best = 0;
	int	 k, found = 0, isdst = 0;
	int64_t	 yy, dd;
	int	 mm, d;

	if (!tp->has_dst)
		return &tp->std;
	civil_from_days(floor_div(t + tp->std.utoff, 86400), &yy, &mm, &d);
	for (y = yy - 1; y <= yy + 1; y++) {
		for (k = 0; k < 2; k++) {
			dd = rule_day(k == 0 ? &tp->start : &tp->end, y);
			/* Start is given in standard time, end in summer. */
			at = dd * 86400 + (k == 0 ? tp->start.secs -
			    tp->std.utoff : tp->end.secs - tp->dst.utoff);
			if (at <= t && (!found || at >= best)) {
				best = at;
				isdst = k == 0;
				found = 1;
			}
		}
	}
	return isdst ? &tp->dst : &tp->std;
}

/* ---- TZif ---- */

struct reader {
	const unsigned char	*p;
	size_t			 left;
};

static const unsigned char *
take(struct reader *r, size_t n)
{
	const unsigned char	*p = r->p;

	if (n > r->left)
		return NULL;
	r->p += n;
	r->left -= n;
	return p;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

struct tzif_header {
	int		 version;	/* 0 for version 1, else 2, 3, 4... */
	uint32_t	 isutcnt, isstdcnt, leapcnt, timecnt, typecnt;
	uint32_t	 charcnt;
};

static int
header_read(struct reader *r, struct tzif_header *h, char **cause)
{
	const unsigned char	*p;

	if ((p = take(r, 44)) == NULL || memcmp(p, "TZif", 4) != 0)
		return set_cause(cause, "not a TZif file");
	if (p[4] == 0)
		h->version = 0;
	else if (p[4] >= '2' && p[4] <= '9')
		h->version = p[4] - '0';
	else
		return set_cause(cause, "unknown TZif version");
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	return 0;
}

/* Bytes of the data block that follows a header; 0 if it cannot be. */
static uint64_t
block_size(const struct tzif_header *h, size_t tsize)
{
	return (uint64_t)h->timecnt * tsize + h->timecnt +
	    (uint64_t)h->typecnt * 6 + h->charcnt +
	    (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static int
block_read(struct reader *r, const struct tzif_header *h, size_t tsize,
    struct tz_zone *z, char **cause)
{
	const unsigned char	*p;
	size_t			 i;
	uint32_t		 desig;

	if (h->leapcnt != 0)
		return set_cause(cause, "the zone counts leap seconds "
		    "(\"right/\" zones are not supported)");
	if (h->typecnt == 0 || h->typecnt > TZ_TYPES_MAX ||
	    h->timecnt > TZ_TIMES_MAX || h->charcnt == 0 ||
	    h->charcnt > TZ_CHARS_MAX ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt) ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt))
		return set_cause(cause, "TZif counts out of range");
	if (block_size(h, tsize) > r->left)
		return set_cause(cause, "TZif file is truncated");

	z->ntimes = h->timecnt;
	z->times = xcalloc(z->ntimes + 1, sizeof *z->times);
	z->idx = xcalloc(z->ntimes + 1, sizeof *z->idx);
	p = take(r, (size_t)h->timecnt * tsize);
	for (i = 0; i < z->ntimes; i++) {
		z->times[i] = tsize == 8 ? (int64_t)be64(p + i * 8) :
		    (int64_t)(int32_t)be32(p + i * 4);
		if (i > 0 && z->times[i] <= z->times[i - 1])
			return set_cause(cause, "TZif transitions are not "
			    "in order");
	}
	p = take(r, h->timecnt);
	for (i = 0; i < z->ntimes; i++) {
		if (p[i] >= h->typecnt)
			return set_cause(cause, "TZif transition names an "
			    "unknown type");
		z->idx[i] = p[i];
	}
	z->ntypes = h->typecnt;
	z->types = xcalloc(z->ntypes, sizeof *z->types);
	/* The abbreviations come after the types; one NUL added. */
	z->chars = xcalloc(1, h->charcnt + 1);
	memcpy(z->chars, r->p + (size_t)h->typecnt * 6, h->charcnt);
	p = take(r, (size_t)h->typecnt * 6);
	for (i = 0; i < z->ntypes; i++, p += 6) {
		z->types[i].utoff = (int32_t)be32(p);
		z->types[i].isdst = p[4];
		desig = p[5];
		if (z->types[i].utoff < -TZ_UTOFF_MAX ||
		    z->types[i].utoff > TZ_UTOFF_MAX || p[4] > 1 ||
		    desig >= h->charcnt)
			return set_cause(cause, "TZif type out of range");
		z->types[i].abbr = z->chars + desig;
	}
	take(r, h->charcnt);
	take(r, h->isstdcnt);
	take(r, h->isutcnt);
	return 0;
}

/* "\nTZ string\n" after the version 2+ data. */
static int
footer_read(struct reader *r, struct tz_zone *z, char **cause)
{
	const unsigned char	*p, *nl;
	char			 s[TZ_FOOTER_MAX + 1];
	size_t			 n;

	if ((p = take(r, 1)) == NULL || *p != '\n')
		return set_cause(cause, "TZif footer is missing");
	nl = memchr(r->p, '\n', r->left);
	if (nl == NULL)
		return set_cause(cause, "TZif footer is not terminated");
	n = (size_t)(nl - r->p);
	if (n > TZ_FOOTER_MAX || memchr(r->p, '\0', n) != NULL)
		return set_cause(cause, "TZif footer is not a TZ string");
	memcpy(s, r->p, n);
	s[n] = '\0';
	if (n > 0 && posix_parse(s, &z->posix) != 0)
		return set_cause(cause, "TZif footer '%s' is not a POSIX TZ "
		    "string", s);
	return 0;
}

void
tz_zone_free(struct tz_zone *z)
{
	if (z == NULL)
		return;
	free(z->times);
	free(z->idx);
	free(z->types);
	free(z->chars);
	free(z);
}

struct tz_zone *
tz_zone_parse(const void *data, size_t len, char **cause)
{
	struct reader		 r = { data, len };
	struct tzif_header	 h;
	struct tz_zone		*z;
	uint64_t		 skip;

	if (data == NULL || header_read(&r, &h, cause) != 0)
		return NULL;
	z = xcalloc(1, sizeof *z);
	if (h.version >= 2) {
		/* The 32-bit block only serves old readers: skip it. */
		skip = block_size(&h, 4);
		if (skip > r.left) {
			set_cause(cause, "TZif file is truncated");
			goto fail;
		}
		take(&r, (size_t)skip);
		if (header_read(&r, &h, cause) != 0 || h.version < 2) {
			set_cause(cause, "TZif second header is missing");
			goto fail;
		}
		if (block_read(&r, &h, 8, z, cause) != 0 ||
		    footer_read(&r, z, cause) != 0)
			goto fail;
	} else if (block_read(&r, &h, 4, z, cause) != 0)
		goto fail;
	return z;
fail:
	tz_zone_free(z);
	return NULL;
}

/* ---- conversions ---- */

static const struct tz_type *
type_at(const struct tz_zone *z, int64_t t)
{
	size_t	 lo, hi, mid;

	if (z->ntimes == 0)
		return z->posix.present ? posix_type(&z->posix, t) :
		    &z->types[0];
	/* Before the first transition: the first type (RFC 8536 3.2). */
	if (t < z->times[0])
		return &z->types[0];
	if (t > z->times[z->ntimes - 1] && z->posix.present)
		return posix_type(&z->posix, t);
	lo = 0;
	hi = z->ntimes;
	/* The last transition at or before t. */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (z->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return &z->types[z->idx[lo]];
}

int
tz_zone_localtime(const struct tz_zone *z, int64_t t, struct tm *out)
{
	const struct tz_type	*ty;
	int64_t			 local, days, secs, y;
	int			 m, d;

	if (z == NULL || t <= -TZ_T_LIMIT || t >= TZ_T_LIMIT)
		return -1;
	ty = type_at(z, t);
	local = t + ty->utoff;
	days = floor_div(local, 86400);
	secs = local - days * 86400;
	civil_from_days(days, &y, &m, &d);
	memset(out, 0, sizeof *out);
	out->tm_year = (int)(y - 1900);
	out->tm_mon = m - 1;
	out->tm_mday = d;
	out->tm_hour = (int)(secs / 3600);
	out->tm_min = (int)(secs % 3600 / 60);
	out->tm_sec = (int)(secs % 60);
	out->tm_wday = (int)floor_mod(days + 4, 7);
	out->tm_yday = (int)(days - days_from_civil(y, 1, 1));
	out->tm_isdst = ty->isdst;
	out->tm_gmtoff = ty->utoff;
	out->tm_zone = ty->abbr;
	return 0;
}

/* Every offset the zone knows, to try as the one in force. */
static int32_t
offset_candidate(const struct tz_zone *z, size_t i)
{
	if (i < z->ntypes)
		return z->types[i].utoff;
	return i == z->ntypes ? z->posix.std.utoff : z->posix.dst.utoff;
}

int
tz_zone_mktime(const struct tz_zone *z, const struct tm *local, int64_t *t)
{
	const struct tz_type	*ty;
	int64_t			 y, mon, l, cand, best = 0, gap = 0;
	size_t			 i, n;
	int			 found = 0, gapped = 0;
	int32_t			 o;

	if (z == NULL)
		return -1;
	y = (int64_t)local->tm_year + 1900 + floor_div(local->tm_mon, 12);
	mon = floor_mod(local->tm_mon, 12);
	l = days_from_civil(y, (int)mon + 1, 1) + (int64_t)local->tm_mday - 1;
	l = l * 86400 + (int64_t)local->tm_hour * 3600 +
	    (int64_t)local->tm_min * 60 + local->tm_sec;
	if (l <= -TZ_T_LIMIT || l >= TZ_T_LIMIT)
		return -1;
	n = z->ntypes + (z->posix.present ? 2 : 0);
	for (i = 0; i < n; i++) {
		o = offset_candidate(z, i);
		cand = l - o;
		ty = type_at(z, cand);
		if (ty->utoff == o) {
			/* Clocks went back: the earlier of the two. */
			if (!found || cand < best)
				best = cand;
			found = 1;
		} else if (ty->utoff < o) {
			/* Skipped: read with the offset before the jump. */
			cand = l - ty->utoff;
			if (!gapped || cand < gap)
				gap = cand;
			gapped = 1;
		}
	}
	if (found)
		*t = best;
	else if (gapped)
		*t = gap;
	else
		*t = l - type_at(z, l)->utoff;
	return 0;
}

/* ---- zones by name ---- */

struct tz_cached {
	char			*name;
	const struct tz_zone	*zone;
	struct tz_cached	*next;
};

static pthread_mutex_t	 tz_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz_cached	*tz_cache;

static const struct tz_zone *
cache_find(const char *name)
{
	struct tz_cached	*c;

	for (c = tz_cache; c != NULL; c = c->next) {
		if (strcmp(c->name, name) == 0)
			return c->zone;
	}
	return NULL;
}

static int
name_valid(const char *name, char **cause)
{
	size_t		 len = strlen(name);
	const char	*p;

	for (p = name; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '+' ||
		    *p == '-' || *p == '/'))
			break;
	}
	if (*p != '\0' || len > TZ_NAME_MAX || name[0] == '/' ||
	    name[len - 1] == '/' || strstr(name, "//") != NULL)
		return set_cause(cause, "'%.64s%s' is not a time zone name "
		    "(letters, digits, '_', '+', '-' and '/' between words, "
		    "such as Europe/Berlin or UTC)", name,
		    len > 64 ? "..." : "");
	return 0;
}

static struct tz_zone *
zone_load(const char *name, char **cause)
{
	struct stat	 st;
	struct tz_zone	*z;
	char		*path, *data, *why = NULL;
	size_t		 len;

	path = xasprintf("%s/%s", TZ_DIR, name);
	if (stat(path, &st) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			set_cause(cause, "unknown time zone '%s' (no %s; "
			    "expected a name such as Europe/Berlin or UTC)",
			    name, path);
		else
			set_cause(cause, "time zone '%s': %s: %s", name, path,
			    strerror(errno));
		free(path);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		set_cause(cause, "'%s' is a region, not a time zone (pick one "
		    "of %s, such as Europe/Berlin)", name, path);
		free(path);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		set_cause(cause, "time zone '%s': %s is not a file", name,
		    path);
		free(path);
		return NULL;
	}
	if ((data = read_file(path, TZ_FILE_MAX, &len, &why)) == NULL) {
		set_cause(cause, "time zone '%s': %s", name, why);
		free(why);
		free(path);
		return NULL;
	}
	if ((z = tz_zone_parse(data, len, &why)) == NULL) {
		set_cause(cause, "time zone '%s': %s: %s", name, path, why);
		free(why);
	}
	free(data);
	free(path);
	return z;
}

/* The zone of a name, loaded on first use; NULL and *cause if none. */
static const struct tz_zone *
zone_get(const char *name, char **cause)
{
	const struct tz_zone	*z;
	struct tz_zone		*loaded;
	struct tz_cached	*c;
	char			*why = NULL;

	if (name == NULL || *name == '\0')
		return &tz_utc;
	pthread_mutex_lock(&tz_lock);
	z = cache_find(name);
	pthread_mutex_unlock(&tz_lock);
	if (z != NULL)
		return z;
	if (name_valid(name, cause) != 0)
		return NULL;
	/* Read outside the lock: conversions of other zones go on. */
	if ((loaded = zone_load(name, &why)) == NULL) {
		if (strcmp(name, "UTC") != 0) {
			if (cause != NULL) {
				free(*cause);
				*cause = why;
			} else
				free(why);
			return NULL;
		}
		/* A system without tzdata still knows UTC. */
		free(why);
	}
	pthread_mutex_lock(&tz_lock);
	if ((z = cache_find(name)) != NULL)
		tz_zone_free(loaded);	/* another thread was first */
	else {
		c = xcalloc(1, sizeof *c);
		c->name = xstrdup(name);
		c->zone = loaded != NULL ? loaded : &tz_utc;
		c->next = tz_cache;
		tz_cache = c;
		z = c->zone;
	}
	pthread_mutex_unlock(&tz_lock);
	return z;
}

int
tz_check(const char *tz, char **cause)
{
	return zone_get(tz, cause) != NULL ? 0 : -1;
}

int
tz_localtime(int64_t t, const char *tz, struct tm *out)
{
	const struct tz_zone	*z;

	if ((z = zone_get(tz, NULL)) == NULL)
		return -1;
	return tz_zone_localtime(z, t, out);
}

int64_t
tz_mktime(const struct tm *local, const char *tz)
{
	const struct tz_zone	*z;
	int64_t			 t;

	if ((z = zone_get(tz, NULL)) == NULL ||
	    tz_zone_mktime(z, local, &t) != 0)
		return -1;
	return t;
}
