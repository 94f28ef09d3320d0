/*
 * fuzz_tz.c - libFuzzer target for the TZif reader (src/util/tz.c).
 * Zone files come from the system's tzdata, but a reader of binary
 * formats is checked like any other: the first input byte says whether
 * the rest is a whole file, or the POSIX TZ string of the footer of an
 * otherwise empty version 2 file (so the rule parser is reached at once).
 *
 * Beyond "no crash, no leak, no UB": a zone that parses gives, for any
 * instant, a broken-down time whose fields are in range and whose
 * offset is within 26 hours of UTC, and mktime of that local time
 * succeeds and lands within three days of the instant (two offsets of
 * up to 26 hours each apart).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tz.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* TZif2 with no transitions and one UTC type, twice, then the footer. */
static void
empty_v2(struct buf *b)
{
	static const unsigned char	 head[] = {
		'T', 'Z', 'i', 'f', '2', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0,
		0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
		0, 0, 0, 1,  0, 0, 0, 4
	};
	static const unsigned char	 block[] = { 0, 0, 0, 0, 0, 0,
		'U', 'T', 'C', 0 };

	buf_append(b, head, sizeof head);
	buf_append(b, block, sizeof block);
	buf_append(b, head, sizeof head);
	buf_append(b, block, sizeof block);
}

static void
check_instant(const struct tz_zone *z, int64_t t)
{
	struct tm	 tm;
	int64_t		 back;

	if (tz_zone_localtime(z, t, &tm) != 0)
		return;
	if (tm.tm_sec < 0 || tm.tm_sec > 59 || tm.tm_min < 0 ||
	    tm.tm_min > 59 || tm.tm_hour < 0 || tm.tm_hour > 23 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11 || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_yday < 0 || tm.tm_yday > 365 || tm.tm_zone == NULL ||
	    tm.tm_gmtoff < -26 * 3600 || tm.tm_gmtoff > 26 * 3600 ||
	    (tm.tm_isdst != 0 && tm.tm_isdst != 1))
		abort();
	/* Near the end of the range, local time may lie past it. */
	if (t <= -((int64_t)1 << 55) + 2 * 86400 ||
	    t >= ((int64_t)1 << 55) - 2 * 86400)
		return;
	if (tz_zone_mktime(z, &tm, &back) != 0)
		abort();
	if (back < t - 3 * 86400 || back > t + 3 * 86400)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t	 fixed[] = {
		INT64_MIN, -((int64_t)1 << 55), -2208988800, -1, 0,
		1711846800, 1729990800, 2147483647, 4102444800,
		((int64_t)1 << 55) - 1, INT64_MAX
	};
	struct tz_zone		*z;
	struct buf		 b;
	char			*cause = NULL;
	size_t			 i;
	int64_t			 t;

	if (size == 0 || size > TZ_FILE_MAX)
		return 0;
	buf_init(&b, 0);
	if (data[0] & 1) {
		empty_v2(&b);
		buf_puts(&b, "\n");
		buf_append(&b, data + 1, size - 1);
		buf_puts(&b, "\n");
	} else
		buf_append(&b, data + 1, size - 1);
	z = tz_zone_parse(b.data, b.len, &cause);
	if (z == NULL) {
		if (cause == NULL || strchr(cause, '\n') != NULL)
			abort();
		free(cause);
		buf_release(&b);
		return 0;
	}
	if (cause != NULL)
		abort();
	for (i = 0; i < nitems(fixed); i++)
		check_instant(z, fixed[i]);
	/* Instants from the input's last bytes, around each year. */
	for (i = 0; i + 8 <= size && i < 64; i += 8) {
		memcpy(&t, data + size - 8 - i, 8);
		check_instant(z, t % ((int64_t)1 << 40));
	}
	tz_zone_free(z);
	buf_release(&b);
	return 0;
}
