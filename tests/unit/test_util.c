/* Unit tests for util.c and log.c. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "t.h"
#include "util.h"

static void
test_strtonum(void)
{
	const char	*err;

	T_EQ_INT(strtonum("101", 100, 999999999, &err), 101);
	T_OK(err == NULL);
	strtonum("99", 100, 999999999, &err);
	T_EQ_STR(err, "too small");
	strtonum("1000000000", 100, 999999999, &err);
	T_EQ_STR(err, "too large");
	strtonum("10x", 0, 100, &err);
	T_EQ_STR(err, "invalid");
	strtonum("", 0, 100, &err);
	T_EQ_STR(err, "invalid");
	strtonum(" 5", 0, 100, &err);
	T_EQ_STR(err, "invalid");
}

static void
test_duration(void)
{
	int64_t	 s = 0;
	char	*cause = NULL, out[32];

	T_EQ_INT(parse_duration("90s", &s, &cause), 0);
	T_EQ_INT(s, 90);
	T_EQ_INT(parse_duration("15m", &s, &cause), 0);
	T_EQ_INT(s, 900);
	T_EQ_INT(parse_duration("2h", &s, &cause), 0);
	T_EQ_INT(s, 7200);
	T_EQ_INT(parse_duration("7d", &s, &cause), 0);
	T_EQ_INT(s, 604800);
	T_EQ_INT(parse_duration("1h30m", &s, &cause), 0);
	T_EQ_INT(s, 5400);
	T_EQ_INT(parse_duration("2x", &s, &cause), -1);
	T_CONTAINS(cause, "not a duration");
	T_EQ_INT(parse_duration("99999999999d", &s, &cause), -1);
	T_EQ_INT(parse_duration("m", &s, &cause), -1);
	free(cause);
	T_EQ_STR(format_duration(5400, out, sizeof out), "1h30m");
	T_EQ_STR(format_duration(42, out, sizeof out), "42s");
}

static void
test_buf_cap(void)
{
	struct buf	 b;

	buf_init(&b, 8);
	T_EQ_INT(buf_puts(&b, "12345"), 0);
	T_EQ_INT(buf_puts(&b, "67890"), -1);
	T_EQ_INT(b.len, 8);
	T_OK(b.truncated);
	T_EQ_STR(buf_cstr(&b), "12345678");
	buf_release(&b);
}

static void
test_utf8(void)
{
	T_OK(utf8_valid_text("start 101", 9));
	T_OK(utf8_valid_text("caf\xc3\xa9 \xe2\x9c\x85", 9));
	T_OK(!utf8_valid_text("a\xff", 2));
	T_OK(!utf8_valid_text("a\x01", 2));
	T_OK(!utf8_valid_text("a\0b", 3));
	T_OK(!utf8_valid_text("\xc0\xaf", 2));	/* overlong '/' */
	T_OK(!utf8_valid_text("\xe2\x9c", 2));	/* cut short */
	T_OK(!utf8_valid_text("\xed\xa0\x80", 3));	/* surrogate */
}

static void
test_glob_and_escape(void)
{
	char	*e;

	T_OK(glob_match("safety-*", "safety-1"));
	T_OK(!glob_match("safety-*", "pre-upgrade"));
	T_OK(glob_match("guest.*", "guest.snapshot.rollback"));
	T_OK(glob_match("*", ""));
	e = html_escape("<b>&\"x\"</b>");
	T_EQ_STR(e, "&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;");
	free(e);
}

static void
test_log_scrub(void)
{
	char	*s;

	log_add_secret("123456:ABCdefSECRET");
	s = log_scrub("GET /bot123456:ABCdefSECRET/getMe failed");
	T_EQ_STR(s, "GET /bot***/getMe failed");
	free(s);
}

static void
test_sha256(void)
{
	char	 h[65];

	sha256_hex("abc", 3, h);
	T_EQ_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than a block). */
static void
test_hmac_sha256(void)
{
	unsigned char	 k1[20], k6[131];
	char		 h[65];

	memset(k1, 0x0b, sizeof k1);
	hmac_sha256_hex(k1, sizeof k1, "Hi There", 8, h);
	T_EQ_STR(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, h);
	T_EQ_STR(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(k6, 0xaa, sizeof k6);
	hmac_sha256_hex(k6, sizeof k6, "Test Using Larger Than Block-Size Key "
	    "- Hash Key First", 54, h);
	T_EQ_STR(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

int
main(void)
{
	T_RUN(test_strtonum);
	T_RUN(test_duration);
	T_RUN(test_buf_cap);
	T_RUN(test_utf8);
	T_RUN(test_glob_and_escape);
	T_RUN(test_log_scrub);
	T_RUN(test_sha256);
	T_RUN(test_hmac_sha256);
	return t_summary();
}
