/*
 * Time zones without the environment (src/util/tz.c): known local times
 * around daylight-saving changes (Europe/Berlin, America/New_York,
 * Australia/Lord_Howe with its 30-minute shift, Asia/Kathmandu at
 * +05:45, UTC), policy windows and monitor quiet hours evaluated by four
 * threads while a fifth rewrites the environment, zone names from config
 * and policy files, and malformed zone files.
 *
 * The threaded case takes its expected answers from the C library,
 * computed before any thread starts (setenv("TZ") is fine while the
 * test is single-threaded); pvebot itself must not touch TZ at all.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "monitor.h"
#include "policy.h"
#include "t.h"
#include "tz.h"
#include "util.h"

extern char **environ;

/* "2024-03-31 03:00:00 CEST +7200 dst=1 wday=0" */
static char *
describe(const struct tm *tm)
{
	return xasprintf("%04d-%02d-%02d %02d:%02d:%02d %s %+ld dst=%d "
	    "wday=%d yday=%d", tm->tm_year + 1900, tm->tm_mon + 1,
	    tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec,
	    tm->tm_zone != NULL ? tm->tm_zone : "(null)", tm->tm_gmtoff,
	    tm->tm_isdst, tm->tm_wday, tm->tm_yday);
}

/* ---- known answers (checked with `TZ=zone date -d @t`) ------------- */

static void
test_known_answers(void)
{
	static const struct {
		const char	*zone;
		int64_t		 t;
		const char	*want;
	} cases[] = {
		/* Berlin: clocks forward 02:00 -> 03:00, back 03:00 -> 02:00 */
		{ "Europe/Berlin", 1711846799,
		  "2024-03-31 01:59:59 CET +3600 dst=0 wday=0 yday=90" },
		{ "Europe/Berlin", 1711846800,
		  "2024-03-31 03:00:00 CEST +7200 dst=1 wday=0 yday=90" },
		{ "Europe/Berlin", 1729990799,
		  "2024-10-27 02:59:59 CEST +7200 dst=1 wday=0 yday=300" },
		{ "Europe/Berlin", 1729990800,
		  "2024-10-27 02:00:00 CET +3600 dst=0 wday=0 yday=300" },
		/* past the file's last transition: the footer's rule */
		{ "Europe/Berlin", 2540289600,
		  "2050-07-01 14:00:00 CEST +7200 dst=1 wday=5 yday=181" },
		{ "America/New_York", 1710053999,
		  "2024-03-10 01:59:59 EST -18000 dst=0 wday=0 yday=69" },
		{ "America/New_York", 1710054000,
		  "2024-03-10 03:00:00 EDT -14400 dst=1 wday=0 yday=69" },
		{ "America/New_York", 1730613599,
		  "2024-11-03 01:59:59 EDT -14400 dst=1 wday=0 yday=307" },
		{ "America/New_York", 1730613600,
		  "2024-11-03 01:00:00 EST -18000 dst=0 wday=0 yday=307" },
		{ "America/New_York", 4102441200,
		  "2099-12-31 18:00:00 EST -18000 dst=0 wday=4 yday=364" },
		/* Lord Howe moves its clocks by 30 minutes, in April back */
		{ "Australia/Lord_Howe", 1712415599,
		  "2024-04-07 01:59:59 +11 +39600 dst=1 wday=0 yday=97" },
		{ "Australia/Lord_Howe", 1712415600,
		  "2024-04-07 01:30:00 +1030 +37800 dst=0 wday=0 yday=97" },
		{ "Australia/Lord_Howe", 1728142199,
		  "2024-10-06 01:59:59 +1030 +37800 dst=0 wday=0 yday=279" },
		{ "Australia/Lord_Howe", 1728142200,
		  "2024-10-06 02:30:00 +11 +39600 dst=1 wday=0 yday=279" },
		{ "Australia/Lord_Howe", 2366841600,
		  "2045-01-01 11:00:00 +11 +39600 dst=1 wday=0 yday=0" },
		/* Kathmandu: +05:30 until 1986, +05:45 since */
		{ "Asia/Kathmandu", 486432000,
		  "1985-06-01 05:30:00 +0530 +19800 dst=0 wday=6 yday=151" },
		{ "Asia/Kathmandu", 504921600,
		  "1986-01-01 05:45:00 +0545 +20700 dst=0 wday=3 yday=0" },
		{ "Asia/Kathmandu", 1717200000,
		  "2024-06-01 05:45:00 +0545 +20700 dst=0 wday=6 yday=152" },
		{ "UTC", 1717245296,
		  "2024-06-01 12:34:56 UTC +0 dst=0 wday=6 yday=152" },
		{ NULL, -1,
		  "1969-12-31 23:59:59 UTC +0 dst=0 wday=3 yday=364" },
	};
	struct tm	 tm;
	char		*got;
	size_t		 i;

	for (i = 0; i < nitems(cases); i++) {
		memset(&tm, 0, sizeof tm);
		if (tz_localtime(cases[i].t, cases[i].zone, &tm) != 0) {
			t_fail(__FILE__, __LINE__, "%s: tz_localtime failed",
			    cases[i].zone);
			continue;
		}
		got = describe(&tm);
		if (strcmp(got, cases[i].want) != 0)
			t_fail(__FILE__, __LINE__, "%s @%lld: got \"%s\", "
			    "expected \"%s\"", cases[i].zone ? cases[i].zone :
			    "(null)", (long long)cases[i].t, got,
			    cases[i].want);
		free(got);
	}
}

static void
test_mktime(void)
{
	static const struct {
		const char	*zone;
		int		 y, mo, d, h, mi;
		int64_t		 want;
	} cases[] = {
		{ "Europe/Berlin", 2024, 7, 1, 8, 0, 1719813600 },
		{ "Europe/Berlin", 2024, 1, 15, 8, 0, 1705302000 },
		/* 02:30 never happens on 2024-03-31: read as 03:30 CEST */
		{ "Europe/Berlin", 2024, 3, 31, 2, 30, 1711848600 },
		/* 02:30 happens twice on 2024-10-27: the first (CEST) */
		{ "Europe/Berlin", 2024, 10, 27, 2, 30, 1729989000 },
		{ "America/New_York", 2024, 11, 3, 1, 30, 1730611800 },
		{ "Australia/Lord_Howe", 2024, 10, 6, 2, 15, 1728143100 },
		{ "Australia/Lord_Howe", 2024, 4, 7, 1, 45, 1712414700 },
		{ "Asia/Kathmandu", 2024, 6, 1, 8, 0, 1717208100 },
		{ "UTC", 2024, 2, 29, 23, 59, 1709251140 },
		/* out-of-range fields carry over, as mktime(3) does */
		{ "Europe/Berlin", 2024, 13, 1, 8, 0, 1735714800 },
		{ "Europe/Berlin", 2024, 3, 0, 32, 0, 1709276400 },
	};
	struct tm	 tm;
	size_t		 i;

	for (i = 0; i < nitems(cases); i++) {
		memset(&tm, 0, sizeof tm);
		tm.tm_year = cases[i].y - 1900;
		tm.tm_mon = cases[i].mo - 1;
		tm.tm_mday = cases[i].d;
		tm.tm_hour = cases[i].h;
		tm.tm_min = cases[i].mi;
		tm.tm_isdst = 1;	/* ignored */
		if (tz_mktime(&tm, cases[i].zone) != cases[i].want)
			t_fail(__FILE__, __LINE__, "%s %d-%d-%d %d:%02d: got "
			    "%lld, expected %lld", cases[i].zone, cases[i].y,
			    cases[i].mo, cases[i].d, cases[i].h, cases[i].mi,
			    (long long)tz_mktime(&tm, cases[i].zone),
			    (long long)cases[i].want);
	}
	memset(&tm, 0, sizeof tm);
	tm.tm_year = 2000000000;
	T_EQ_INT(tz_mktime(&tm, "UTC"), -1);
	T_EQ_INT(tz_mktime(&tm, "Mars/Olympus"), -1);
	T_EQ_INT(tz_localtime((int64_t)1 << 60, "UTC", &tm), -1);
}

/* ---- four threads and a noisy environment --------------------------- */

#define NZONES		5
#define NWORKERS	4
#define ROUNDS		6

static const char *const zones[NZONES] = {
	"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
	"Asia/Kathmandu", "UTC"
};

/* What the C library says for one instant in one zone. */
struct expect {
	int64_t		 t;
	struct tm	 tm;
	char		 zone[16];	/* tm.tm_zone's text */
	int		 in_window;	/* policy window sun,mon 01:30-03:00 */
	int		 quiet;		/* quiet hours mon-fri 22:00-07:00 */
};

struct zone_case {
	struct expect	*v;
	size_t		 n;
};

static struct zone_case	 zcases[NZONES];
static struct policy	*window_policy;
static struct conf_window quiet_window = { "mon-fri", "22:00", "07:00",
				    NULL, NULL };
static pthread_barrier_t start_line;
static volatile int	 workers_done;

struct worker_result {
	int		 id;
	long		 checked;
	long		 wrong;
	char		 first[512];
};

struct noise_result {
	long		 rounds;
	long		 tz_changed;
	long		 noise_wrong;
};

/* One rule per zone: zone k's user may start guests in window wk. */
static struct policy *
make_window_policy(void)
{
	struct buf	 b;
	struct policy	*p;
	char		*errors = NULL;
	int		 k;

	buf_init(&b, 0);
	buf_puts(&b, "windows:\n");
	for (k = 0; k < NZONES; k++)
		buf_printf(&b, "  w%d:\n    days: [sun, mon]\n    from: \"01:30\"\n"
		    "    to: \"03:00\"\n    tz: %s\n", k, zones[k]);
	buf_puts(&b, "roles:\n");
	for (k = 0; k < NZONES; k++)
		buf_printf(&b, "  r%d:\n    request: [guest.start]\n", k);
	buf_puts(&b, "users:\n");
	for (k = 0; k < NZONES; k++)
		buf_printf(&b, "  u%d:\n    identities: [console:u%d]\n"
		    "    roles: [r%d]\n", k, k, k);
	buf_puts(&b, "rules:\n");
	for (k = 0; k < NZONES; k++)
		buf_printf(&b, "  - name: start-in-w%d\n    effect: allow\n"
		    "    role: r%d\n    action: guest.start\n"
		    "    during: w%d\n", k, k, k);
	p = policy_load_string("windows.yaml", buf_cstr(&b), &errors);
	if (p == NULL)
		t_fail(__FILE__, __LINE__, "policy: %s", errors);
	free(errors);
	buf_release(&b);
	return p;
}

static void
add_time(struct zone_case *zc, int64_t t)
{
	struct expect	*e;
	time_t		 tt = (time_t)t;
	int		 m;

	zc->v = xreallocarray(zc->v, zc->n + 1, sizeof *zc->v);
	e = &zc->v[zc->n++];
	memset(e, 0, sizeof *e);
	e->t = t;
	localtime_r(&tt, &e->tm);
	snprintf(e->zone, sizeof e->zone, "%s", e->tm.tm_zone);
	e->tm.tm_zone = NULL;
	m = e->tm.tm_hour * 60 + e->tm.tm_min;
	e->in_window = m >= 90 && m < 180 && e->tm.tm_wday <= 1;
	e->quiet = mon_window_active(&quiet_window, &e->tm);
}

/*
 * Expected answers from the C library, while no other thread runs:
 * every minute for three hours either side of each change of offset in
 * 2024, and a spread of instants from 1950 to 2100.
 */
static void
compute_expected(void)
{
	int64_t		 t, from = 1704067200, to = 1735689600, u;
	long		 prev = 0;
	time_t		 tt;
	struct tm	 tm;
	int		 k;

	for (k = 0; k < NZONES; k++) {
		setenv("TZ", zones[k], 1);
		tzset();
		for (t = from; t < to; t += 900) {
			tt = (time_t)t;
			localtime_r(&tt, &tm);
			if (t != from && tm.tm_gmtoff != prev) {
				for (u = t - 3 * 3600; u < t + 3 * 3600;
				    u += 60)
					add_time(&zcases[k], u);
			}
			prev = tm.tm_gmtoff;
		}
		for (t = -631152000; t < 4102444800; t += 7776000 + 3677)
			add_time(&zcases[k], t);
	}
	/* The threads must not need it; set something else. */
	setenv("TZ", "Pacific/Chatham", 1);
	tzset();
}

static void
check_one(struct worker_result *r, const char *zone, int k,
    const struct expect *e)
{
	struct policy_request	 req;
	struct policy_decision	 d;
	struct tm		 tm;
	char			 user[32];
	char			*got = NULL, *want = NULL;
	int64_t			 back;
	int			 ok = 1, quiet;

	r->checked++;
	memset(&tm, 0, sizeof tm);
	if (tz_localtime(e->t, zone, &tm) != 0 ||
	    tm.tm_year != e->tm.tm_year || tm.tm_mon != e->tm.tm_mon ||
	    tm.tm_mday != e->tm.tm_mday || tm.tm_hour != e->tm.tm_hour ||
	    tm.tm_min != e->tm.tm_min || tm.tm_sec != e->tm.tm_sec ||
	    tm.tm_wday != e->tm.tm_wday || tm.tm_yday != e->tm.tm_yday ||
	    tm.tm_isdst != e->tm.tm_isdst ||
	    tm.tm_gmtoff != e->tm.tm_gmtoff || tm.tm_zone == NULL ||
	    strcmp(tm.tm_zone, e->zone) != 0)
		ok = 0;
	/* The monitor's quiet hours: local time, then the window. */
	quiet = mon_window_active(&quiet_window, &tm);
	if (quiet != e->quiet)
		ok = 0;
	/* A policy window in the same zone. */
	snprintf(user, sizeof user, "console:u%d", k);
	memset(&req, 0, sizeof req);
	req.user = user;
	req.action = "guest.start";
	req.mutating = 1;
	req.room = "console:main";
	req.now = e->t;
	policy_decide(window_policy, &req, &d);
	if ((d.effect == POLICY_ALLOW) != e->in_window)
		ok = 0;
	/* Back from local time: the same instant, or the earlier of two. */
	back = tz_mktime(&tm, zone);
	if (back != e->t && !(back < e->t && back >= e->t - 3600 &&
	    tz_localtime(back, zone, &tm) == 0 &&
	    tm.tm_hour == e->tm.tm_hour && tm.tm_min == e->tm.tm_min))
		ok = 0;
	if (ok)
		return;
	if (r->wrong++ == 0) {
		struct tm	 w = e->tm;

		w.tm_zone = e->zone;
		memset(&tm, 0, sizeof tm);
		tz_localtime(e->t, zone, &tm);
		got = describe(&tm);
		want = describe(&w);
		snprintf(r->first, sizeof r->first, "%s @%lld: got \"%s\" "
		    "quiet=%d window=%d back=%lld, expected \"%s\" quiet=%d "
		    "window=%d", zone, (long long)e->t, got, quiet,
		    d.effect == POLICY_ALLOW, (long long)back, want, e->quiet,
		    e->in_window);
		free(got);
		free(want);
	}
}

static void *
worker(void *arg)
{
	struct worker_result	*r = arg;
	size_t			 i;
	int			 round, j, k;

	pthread_barrier_wait(&start_line);
	for (round = 0; round < ROUNDS; round++) {
		/* Each thread starts at its own zone, so zones overlap. */
		for (j = 0; j < NZONES; j++) {
			k = (r->id + j) % NZONES;
			for (i = 0; i < zcases[k].n; i++)
				check_one(r, zones[k], k, &zcases[k].v[i]);
		}
	}
	return NULL;
}

/*
 * Rewrites the environment as fast as it can: unrelated variables come
 * and go (so the environ array is reallocated), and TZ must keep the
 * value the test gave it.
 */
static void *
noise(void *arg)
{
	struct noise_result	*r = arg;
	char			 name[32], value[64];
	const char		*v;
	int			 i;

	pthread_barrier_wait(&start_line);
	while (!__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE)) {
		for (i = 0; i < 24; i++) {
			snprintf(name, sizeof name, "PVEBOT_TZ_NOISE_%d", i);
			snprintf(value, sizeof value, "%ld-%d", r->rounds, i);
			setenv(name, value, 1);
			v = getenv(name);
			if (v == NULL || strcmp(v, value) != 0)
				r->noise_wrong++;
			v = getenv("TZ");
			if (v == NULL || strcmp(v, "Pacific/Chatham") != 0)
				r->tz_changed++;
		}
		for (i = 0; i < 24; i++) {
			snprintf(name, sizeof name, "PVEBOT_TZ_NOISE_%d", i);
			unsetenv(name);
		}
		r->rounds++;
	}
	return NULL;
}

static void
test_threads_and_environment(void)
{
	pthread_t		 th[NWORKERS], nt;
	struct worker_result	 res[NWORKERS];
	struct noise_result	 nr;
	size_t			 total = 0;
	int			 i;

	compute_expected();
	for (i = 0; i < NZONES; i++)
		total += zcases[i].n;
	/* Transitions found: 2 each in Berlin, New York and Lord Howe. */
	T_OK(total > 6 * 360);
	if ((window_policy = make_window_policy()) == NULL)
		return;
	memset(res, 0, sizeof res);
	memset(&nr, 0, sizeof nr);
	pthread_barrier_init(&start_line, NULL, NWORKERS + 1);
	if (pthread_create(&nt, NULL, noise, &nr) != 0)
		abort();
	for (i = 0; i < NWORKERS; i++) {
		res[i].id = i;
		if (pthread_create(&th[i], NULL, worker, &res[i]) != 0)
			abort();
	}
	for (i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	__atomic_store_n(&workers_done, 1, __ATOMIC_RELEASE);
	pthread_join(nt, NULL);
	pthread_barrier_destroy(&start_line);

	for (i = 0; i < NWORKERS; i++) {
		T_EQ_INT(res[i].checked, (long)total * ROUNDS);
		if (res[i].wrong != 0)
			t_fail(__FILE__, __LINE__, "thread %d: %ld of %ld "
			    "wrong, first: %s", i, res[i].wrong,
			    res[i].checked, res[i].first);
	}
	T_OK(nr.rounds > 0);
	T_EQ_INT(nr.noise_wrong, 0);
	/* Time zone conversion never touched the environment. */
	T_EQ_INT(nr.tz_changed, 0);
	printf("# %zu instants x %d rounds x %d threads, %ld environment "
	    "rounds meanwhile\n", total, ROUNDS, NWORKERS, nr.rounds);
	policy_free(window_policy);
	window_policy = NULL;
	for (i = 0; i < NZONES; i++) {
		free(zcases[i].v);
		memset(&zcases[i], 0, sizeof zcases[i]);
	}
}

/* ---- zone names ------------------------------------------------------ */

static void
test_names(void)
{
	static const char *const good[] = {
		"UTC", "Europe/Berlin", "Etc/GMT+5", "Etc/GMT-14",
		"America/Argentina/Buenos_Aires", "America/Port-au-Prince",
		"", NULL
	};
	static const struct {
		const char	*name;
		const char	*why;
	} bad[] = {
		{ "../etc/passwd", "is not a time zone name" },
		{ "Europe/../../etc/passwd", "is not a time zone name" },
		{ "/etc/localtime", "is not a time zone name" },
		{ "/usr/share/zoneinfo/UTC", "is not a time zone name" },
		{ "Europe//Berlin", "is not a time zone name" },
		{ "Europe/Berlin/", "is not a time zone name" },
		{ "Europe/Berlin ", "is not a time zone name" },
		{ "Europe/Berlin\n", "is not a time zone name" },
		{ "Europe/Berlin;rm", "is not a time zone name" },
		{ "zone.tab", "is not a time zone name" },
		{ "Mars/Olympus", "unknown time zone 'Mars/Olympus'" },
		{ "Europe", "'Europe' is a region, not a time zone" },
		{ "leapseconds", "not a TZif file" },
	};
	struct tm	 tm;
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < nitems(good); i++) {
		if (tz_check(good[i], &cause) != 0)
			t_fail(__FILE__, __LINE__, "%s refused: %s", good[i],
			    cause);
		free(cause);
		cause = NULL;
	}
	for (i = 0; i < nitems(bad); i++) {
		if (tz_check(bad[i].name, &cause) == 0)
			t_fail(__FILE__, __LINE__, "'%s' accepted",
			    bad[i].name);
		else
			T_CONTAINS(cause, bad[i].why);
		free(cause);
		cause = NULL;
		T_EQ_INT(tz_localtime(0, bad[i].name, &tm), -1);
	}
	/* Leap-second zones, where tzdata ships them. */
	if (access(TZ_DIR "/right/UTC", R_OK) == 0) {
		T_EQ_INT(tz_check("right/UTC", &cause), -1);
		T_CONTAINS(cause, "leap seconds");
		free(cause);
	}
}

/* ---- zone files built here ------------------------------------------- */

static void
put32(struct buf *b, uint32_t v)
{
	unsigned char	 p[4] = { v >> 24, v >> 16, v >> 8, v };

	buf_append(b, p, 4);
}

static void
put64(struct buf *b, int64_t v)
{
	put32(b, (uint32_t)((uint64_t)v >> 32));
	put32(b, (uint32_t)v);
}

/*
 * A version 2 file: an empty version 1 block, then the 64-bit block
 * with the given transitions, types ("utoff,isdst" over "LMT\0STD\0")
 * and footer.
 */
static void
tzif_build(struct buf *b, const int64_t *times, const uint8_t *idx,
    size_t ntimes, const int32_t *utoffs, size_t ntypes,
    const char *footer, uint32_t leapcnt)
{
	static const char	 chars[] = "AAA\0BBB";
	size_t			 i;
	int			 pass;

	buf_init(b, 0);
	for (pass = 0; pass < 2; pass++) {
		buf_append(b, "TZif2", 5);
		buf_append(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15);
		put32(b, 0);			/* isutcnt */
		put32(b, 0);			/* isstdcnt */
		put32(b, pass == 0 ? 0 : leapcnt);
		put32(b, pass == 0 ? 0 : (uint32_t)ntimes);
		put32(b, pass == 0 ? 1 : (uint32_t)ntypes);
		put32(b, sizeof chars);
		if (pass == 0) {
			put32(b, 0);
			buf_append(b, "\0\0", 2);
			buf_append(b, chars, sizeof chars);
			continue;
		}
		for (i = 0; i < ntimes; i++)
			put64(b, times[i]);
		buf_append(b, idx, ntimes);
		for (i = 0; i < ntypes; i++) {
			unsigned char	 d[2] = { utoffs[i] > 0 &&
			    i > 0 ? 1 : 0, i > 0 ? 4 : 0 };

			put32(b, (uint32_t)utoffs[i]);
			buf_append(b, d, 2);
		}
		buf_append(b, chars, sizeof chars);
		for (i = 0; i < leapcnt; i++) {
			put64(b, 78796800);
			put32(b, 1);
		}
	}
	if (footer != NULL)
		buf_printf(b, "\n%s\n", footer);
}

/* Local time of t in a zone parsed from b, as "HH:MM dst=N ABBR". */
static char *
local_of(const struct buf *b, int64_t t)
{
	struct tz_zone	*z;
	struct tm	 tm;
	char		*cause = NULL, *s;

	if ((z = tz_zone_parse(b->data, b->len, &cause)) == NULL) {
		s = xasprintf("refused: %s", cause);
		free(cause);
		return s;
	}
	if (tz_zone_localtime(z, t, &tm) != 0)
		s = xstrdup("no time");
	else
		s = xasprintf("%04d-%02d-%02d %02d:%02d dst=%d %s",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_isdst, tm.tm_zone);
	tz_zone_free(z);
	return s;
}

static void
test_footer_rules(void)
{
	static const int32_t	 zero[] = { 0 };
	static const struct {
		const char	*footer;
		int64_t		 t;
		const char	*want;
	} cases[] = {
		/* Only a footer: every instant follows its rule. */
		{ "EST5EDT,M3.2.0,M11.1.0", 1710053999,
		  "2024-03-10 01:59 dst=0 EST" },
		{ "EST5EDT,M3.2.0,M11.1.0", 1710054000,
		  "2024-03-10 03:00 dst=1 EDT" },
		/* No rule: the US one, as tzcode assumes */
		{ "EST5EDT", 1730613600, "2024-11-03 01:00 dst=0 EST" },
		/* Summer time all year, as tzfile(5) reads this string */
		{ "EST5EDT4,0/0,J365/25", 1704067200,
		  "2023-12-31 20:00 dst=1 EDT" },
		{ "EST5EDT4,0/0,J365/25", 1719835200,
		  "2024-07-01 08:00 dst=1 EDT" },
		/* Negative times of change (America/Nuuk, 2023 on) */
		{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 1711846799,
		  "2024-03-30 22:59 dst=0 -02" },
		{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 1711846800,
		  "2024-03-31 00:00 dst=1 -01" },
		/* Southern hemisphere, 30-minute shift (Lord Howe) */
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 1728142200,
		  "2024-10-06 02:30 dst=1 +11" },
		{ "<+0545>-5:45", 1717200000, "2024-06-01 05:45 dst=0 +0545" },
		/* n days count February 29 */
		{ "AAA0BBB,59/0,300/0", 1709164799,
		  "2024-02-28 23:59 dst=0 AAA" },
		{ "AAA0BBB,59/0,300/0", 1709164800,
		  "2024-02-29 01:00 dst=1 BBB" },
	};
	static const char *const broken[] = {
		"CET", "CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0",
		"CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0",
		"CET-25", "CET-1:60", "<>-1", "<CET-1", "CE-1",
		"CET-1CEST,J0,J365", "CET-1CEST,366,1", "CET-1CEST,M3.5.0/168,"
		"M10.5.0", "CET-1CEST,M3.5.0,M10.5.0x", "CET-1CEST,,",
		"CET-1 ", "<ABCDEFGHIJKLMNOPQ>1",
	};
	struct buf	 b;
	char		*got;
	size_t		 i;

	for (i = 0; i < nitems(cases); i++) {
		tzif_build(&b, NULL, NULL, 0, zero, 1, cases[i].footer, 0);
		got = local_of(&b, cases[i].t);
		if (strcmp(got, cases[i].want) != 0)
			t_fail(__FILE__, __LINE__, "%s @%lld: got \"%s\", "
			    "expected \"%s\"", cases[i].footer,
			    (long long)cases[i].t, got, cases[i].want);
		free(got);
		buf_release(&b);
	}
	for (i = 0; i < nitems(broken); i++) {
		tzif_build(&b, NULL, NULL, 0, zero, 1, broken[i], 0);
		got = local_of(&b, 0);
		if (strncmp(got, "refused: ", 9) != 0 ||
		    strstr(got, "POSIX TZ") == NULL)
			t_fail(__FILE__, __LINE__, "footer \"%s\": %s",
			    broken[i], got);
		free(got);
		buf_release(&b);
	}
}

static void
test_malformed_files(void)
{
	static const int32_t	 two[] = { 3600, 7200 };
	static const int64_t	 ordered[] = { 1000, 2000 };
	static const int64_t	 unordered[] = { 2000, 1000 };
	static const uint8_t	 idx[] = { 1, 0 };
	static const uint8_t	 badidx[] = { 1, 2 };
	static const int32_t	 far[] = { 0, 27 * 3600 };
	struct buf		 b;
	char			*got;
	size_t			 cut;

	/* A good one first, so the failures below are the edits' doing. */
	tzif_build(&b, ordered, idx, 2, two, 2, "AAA-1", 0);
	got = local_of(&b, 1500);
	T_EQ_STR(got, "1970-01-01 02:25 dst=1 BBB");
	free(got);
	got = local_of(&b, 500);
	T_EQ_STR(got, "1970-01-01 01:08 dst=0 AAA");
	free(got);
	/* Every truncation is refused, none is read past its end. */
	for (cut = 0; cut < b.len; cut++) {
		struct buf	 c;

		buf_init(&c, 0);
		buf_append(&c, b.data, cut);
		got = local_of(&c, 0);
		if (strncmp(got, "refused: ", 9) != 0)
			t_fail(__FILE__, __LINE__, "cut at %zu: %s", cut,
			    got);
		free(got);
		buf_release(&c);
	}
	buf_release(&b);

	tzif_build(&b, unordered, idx, 2, two, 2, "AAA-1", 0);
	got = local_of(&b, 0);
	T_CONTAINS(got, "not in order");
	free(got);
	buf_release(&b);
	tzif_build(&b, ordered, badidx, 2, two, 2, "AAA-1", 0);
	got = local_of(&b, 0);
	T_CONTAINS(got, "unknown type");
	free(got);
	buf_release(&b);
	tzif_build(&b, ordered, idx, 2, far, 2, "AAA-1", 0);
	got = local_of(&b, 0);
	T_CONTAINS(got, "type out of range");
	free(got);
	buf_release(&b);
	tzif_build(&b, ordered, idx, 2, two, 2, "AAA-1", 1);
	got = local_of(&b, 0);
	T_CONTAINS(got, "leap seconds");
	free(got);
	buf_release(&b);
	tzif_build(&b, ordered, idx, 2, two, 2, NULL, 0);
	got = local_of(&b, 0);
	T_CONTAINS(got, "footer is missing");
	free(got);
	buf_release(&b);
	buf_init(&b, 0);
	buf_puts(&b, "TZif9");
	got = local_of(&b, 0);
	T_CONTAINS(got, "not a TZif file");
	free(got);
	buf_release(&b);
}

int
main(void)
{
	T_RUN(test_known_answers);
	T_RUN(test_mktime);
	T_RUN(test_threads_and_environment);
	T_RUN(test_names);
	T_RUN(test_footer_rules);
	T_RUN(test_malformed_files);
	return t_summary();
}
