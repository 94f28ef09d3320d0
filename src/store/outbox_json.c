/*
 * outbox_json.c - the outbox's own JSON (see outbox_int.h).
 *
 * An outbox row's content and reply context are small flat JSON objects.
 * Building them as a jansson tree and dumping it cost more than the
 * rest of writing the row, so the outbox writes them here, byte by
 * byte; outbox.c reads them back with the strict scanner (jscan.h).
 *
 * Strings: '"', '\' and the control characters are escaped, and every
 * byte sequence that is not UTF-8 is written as U+FFFD, so the output is
 * always valid JSON text (jansson refused such a string, and the key
 * went missing with it).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outbox_int.h"
#include "util.h"

/* Length of the UTF-8 sequence at s (1 to 4), or 0 when it is not one. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned int	 c = s[0], cp;
	size_t		 n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static void
put_string(struct buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s, *run = p;
	static const char	 hex[] = "0123456789abcdef";
	char			 esc[6];
	size_t			 n;

	buf_append(b, "\"", 1);
	while (*p != '\0') {
		if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
			p++;
			continue;
		}
		if (*p >= 0x80 && (n = utf8_len(p)) > 0) {
			p += n;
			continue;
		}
		buf_append(b, run, (size_t)(p - run));
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			buf_append(b, esc, 2);
		} else if (*p == '\n')
			buf_append(b, "\\n", 2);
		else if (*p == '\t')
			buf_append(b, "\\t", 2);
		else if (*p == '\r')
			buf_append(b, "\\r", 2);
		else if (*p < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xf];
			buf_append(b, esc, 6);
		} else
			buf_append(b, "\\ufffd", 6);	/* not UTF-8 */
		run = ++p;
	}
	buf_append(b, run, (size_t)(p - run));
	buf_append(b, "\"", 1);
}

void
oj_begin(struct buf *b, size_t limit)
{
	buf_init(b, limit);
	buf_append(b, "{", 1);
}

static void
put_key(struct buf *b, const char *key)
{
	if (b->len > 1 && b->data[b->len - 1] != '{' &&
	    b->data[b->len - 1] != '[')
		buf_append(b, ",", 1);
	put_string(b, key);
	buf_append(b, ":", 1);
}

void
oj_str(struct buf *b, const char *key, const char *value)
{
	put_key(b, key);
	put_string(b, value);
}

void
oj_true(struct buf *b, const char *key)
{
	put_key(b, key);
	buf_append(b, "true", 4);
}

void
oj_int(struct buf *b, const char *key, long long value)
{
	put_key(b, key);
	buf_printf(b, "%lld", value);
}

void
oj_array(struct buf *b, const char *key)
{
	put_key(b, key);
	buf_append(b, "[", 1);
}

void
oj_item(struct buf *b)
{
	if (b->data[b->len - 1] != '[')
		buf_append(b, ",", 1);
	buf_append(b, "{", 1);
}

void
oj_close(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

char *
oj_end(struct buf *b)
{
	buf_append(b, "}", 1);
	if (b->truncated) {
		/* Over the cap: not JSON any more; the caller's caps are
		 * below it, so this is a bug, and the row reads as empty. */
		log_error("outbox", "a row's content is over %zu bytes; "
		    "written empty", b->limit);
		buf_release(b);
		return xstrdup("{}");
	}
	return buf_steal(b);
}
