/*
 * outbox_json.c - the outbox's own JSON (see outbox_int.h).
 *
 * An outbox row's content and reply context are small flat JSON objects
 * that pvebot itself wrote. Building and reading them through a jansson
 * tree cost more than everything else the sender does with a row, so
 * the outbox writes them here, byte by byte, and reads them back with
 * a pull reader that knows only their shape: an object of strings,
 * booleans, integers and arrays of such objects. The writer's output is
 * plain JSON (any JSON reader takes it); the reader refuses whatever it
 * does not know (other types, nesting, a bad escape, trailing bytes),
 * and the caller then reads the row with jansson, so a row written by
 * an older pvebot, or edited by hand, reads as before.
 *
 * Strings: the writer escapes '"', '\' and the control characters, and
 * writes every byte sequence that is not UTF-8 as U+FFFD, so what it
 * writes is always valid JSON text (jansson refused such a string, and
 * the key went missing). The reader undoes every JSON escape, \uXXXX
 * with surrogate pairs included, and refuses an escaped NUL, a lone
 * surrogate and bytes that are not UTF-8, as jansson does.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outbox_int.h"
#include "util.h"

/* ---- writing ---- */

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

/* ---- reading ---- */

static void
skip_ws(struct oj_reader *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' ||
	    *r->p == '\r')
		r->p++;
}

static int
hex4(const char *p, unsigned int *out)
{
	unsigned int	 v = 0;
	int		 i;

	for (i = 0; i < 4; i++) {
		char	 c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned int)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void
put_utf8(struct buf *b, unsigned int cp)
{
	char	 u[4];

	if (cp < 0x80) {
		u[0] = (char)cp;
		buf_append(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		buf_append(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		buf_append(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		buf_append(b, u, 4);
	}
}

/* A string at r->p (after its '"'), into *out; -1 when it is not one. */
static int
read_string(struct oj_reader *r, char **out)
{
	const char	*p = r->p, *run;
	struct buf	 b;
	unsigned int	 cp, lo;

	*out = NULL;
	if (*p != '"')
		return -1;
	run = ++p;
	/* The common case: nothing escaped. */
	for (;;) {
		unsigned char	 c = (unsigned char)*p;
		size_t		 n;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			p++;
			continue;
		}
		if (c < 0x80)
			break;
		if ((n = utf8_len((const unsigned char *)p)) == 0)
			return -1;
		p += n;
	}
	if (*p == '"') {
		*out = xstrndup(run, (size_t)(p - run));
		r->p = p + 1;
		return 0;
	}
	buf_init(&b, 0);
	for (;;) {
		size_t	 n;

		if (*p == '"')
			break;
		if ((unsigned char)*p < 0x20)
			goto bad;	/* NUL (the end) or a raw control */
		if (*p != '\\') {
			if ((n = utf8_len((const unsigned char *)p)) == 0)
				goto bad;
			p += n;
			continue;
		}
		buf_append(&b, run, (size_t)(p - run));
		p++;
		switch (*p) {
		case '"': case '\\': case '/':
			buf_append(&b, p, 1);
			break;
		case 'b':
			buf_append(&b, "\b", 1);
			break;
		case 'f':
			buf_append(&b, "\f", 1);
			break;
		case 'n':
			buf_append(&b, "\n", 1);
			break;
		case 'r':
			buf_append(&b, "\r", 1);
			break;
		case 't':
			buf_append(&b, "\t", 1);
			break;
		case 'u':
			if (hex4(p + 1, &cp) != 0)
				goto bad;
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p[1] != '\\' || p[2] != 'u' ||
				    hex4(p + 3, &lo) != 0 || lo < 0xdc00 ||
				    lo > 0xdfff)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			} else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0)
				goto bad;
			put_utf8(&b, cp);
			break;
		default:
			goto bad;
		}
		run = ++p;
	}
	buf_append(&b, run, (size_t)(p - run));
	r->p = p + 1;
	*out = b.data != NULL ? buf_steal(&b) : xstrdup("");
	return 0;
bad:
	buf_release(&b);
	return -1;
}

int
oj_open(struct oj_reader *r, const char *text)
{
	r->p = text != NULL ? text : "";
	skip_ws(r);
	if (*r->p != '{')
		return -1;
	r->p++;
	r->first = 1;
	return 0;
}

int
oj_next(struct oj_reader *r, char **key)
{
	*key = NULL;
	skip_ws(r);
	if (*r->p == '}') {
		r->p++;
		r->first = 0;
		return 0;
	}
	if (!r->first) {
		if (*r->p != ',')
			return -1;
		r->p++;
		skip_ws(r);
	}
	r->first = 0;
	if (read_string(r, key) != 0)
		return -1;
	skip_ws(r);
	if (*r->p != ':') {
		free(*key);
		*key = NULL;
		return -1;
	}
	r->p++;
	skip_ws(r);
	return 1;
}

int
oj_value(struct oj_reader *r, struct oj_value *v)
{
	const char	*p = r->p;
	long long	 n = 0;
	int		 neg = 0, digits = 0;

	memset(v, 0, sizeof *v);
	if (*p == '"') {
		v->type = OJ_STRING;
		return read_string(r, &v->s);
	}
	if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
		v->type = OJ_BOOL;
		v->b = *p == 't';
		r->p = p + (v->b ? 4 : 5);
		return 0;
	}
	if (strncmp(p, "null", 4) == 0) {
		v->type = OJ_NULL;
		r->p = p + 4;
		return 0;
	}
	if (*p == '[') {
		v->type = OJ_ARRAY;
		r->p = p + 1;
		r->first = 1;
		return 0;
	}
	if (*p == '-') {
		neg = 1;
		p++;
	}
	/* Integers that fit in 18 digits; anything else goes to jansson. */
	while (*p >= '0' && *p <= '9' && digits < 18) {
		n = n * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || (*p >= '0' && *p <= '9') || *p == '.' ||
	    *p == 'e' || *p == 'E')
		return -1;
	v->type = OJ_INT;
	v->i = neg ? -n : n;
	r->p = p;
	return 0;
}

int
oj_element(struct oj_reader *r)
{
	skip_ws(r);
	if (*r->p == ']') {
		r->p++;
		r->first = 0;
		return 0;
	}
	if (!r->first) {
		if (*r->p != ',')
			return -1;
		r->p++;
		skip_ws(r);
	}
	if (*r->p != '{')
		return -1;
	r->p++;
	r->first = 1;
	return 1;
}

int
oj_finish(struct oj_reader *r)
{
	skip_ws(r);
	return *r->p == '\0' ? 0 : -1;
}
