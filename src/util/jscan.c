/*
 * jscan.c - a strict streaming JSON reader (see jscan.h).
 *
 * The text is read in place, left to right, once; nothing is allocated.
 * Each value is checked as it is consumed, so a reader that stops early
 * has checked what it read, and jscan_end() after the top value means the
 * whole text was JSON. After the first error every call returns failure
 * and the error stays the first one.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "jscan.h"

static int	string_in(struct jscan *, char *, size_t, size_t *, int);
static const unsigned char *plain_run(const unsigned char *,
		    const unsigned char *);

void
jscan_init(struct jscan *js, const char *text, size_t len)
{
	memset(js, 0, sizeof *js);
	js->start = js->p = text;
	js->end = text + len;
}

static int
vfail(struct jscan *js, const char *fmt, va_list ap)
{
	int	 n;

	if (js->failed)
		return -1;
	js->failed = 1;
	n = snprintf(js->error, sizeof js->error, "byte %zu: ",
	    (size_t)(js->p - js->start));
	if (n > 0 && (size_t)n < sizeof js->error)
		vsnprintf(js->error + n, sizeof js->error - n, fmt, ap);
	return -1;
}

int
jscan_fail(struct jscan *js, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfail(js, fmt, ap);
	va_end(ap);
	return -1;
}

const char *
jscan_error(const struct jscan *js)
{
	return js->failed ? js->error : NULL;
}

static inline void
space(struct jscan *js)
{
	/* Proxmox sends none: one comparison in the usual case. */
	if (js->p < js->end && (unsigned char)*js->p > ' ')
		return;
	while (js->p < js->end && (*js->p == ' ' || *js->p == '\t' ||
	    *js->p == '\n' || *js->p == '\r'))
		js->p++;
}

static int
literal(struct jscan *js, const char *word, size_t len)
{
	if ((size_t)(js->end - js->p) < len || memcmp(js->p, word, len) != 0)
		return jscan_fail(js, "expected a value");
	js->p += len;
	return 0;
}

enum jscan_type
jscan_peek(struct jscan *js)
{
	if (js->failed)
		return JSCAN_BAD;
	space(js);
	if (js->p == js->end) {
		jscan_fail(js, "the text ends where a value must be");
		return JSCAN_BAD;
	}
	switch (*js->p) {
	case '{':
		return JSCAN_OBJECT;
	case '[':
		return JSCAN_ARRAY;
	case '"':
		return JSCAN_STRING;
	case 't':
		return JSCAN_TRUE;
	case 'f':
		return JSCAN_FALSE;
	case 'n':
		return JSCAN_NULL;
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return JSCAN_NUMBER;
	}
	jscan_fail(js, "expected a value");
	return JSCAN_BAD;
}

static int
open_one(struct jscan *js, char c, const char *what)
{
	if (js->failed)
		return -1;
	space(js);
	if (js->p == js->end || *js->p != c)
		return jscan_fail(js, "expected %s", what);
	if (js->depth >= JSCAN_DEPTH_MAX)
		return jscan_fail(js, "nested deeper than %d", JSCAN_DEPTH_MAX);
	js->depth++;
	js->p++;
	/* The first member or element needs no comma. */
	js->fresh = 1;
	return 0;
}

int
jscan_object(struct jscan *js)
{
	return open_one(js, '{', "an object");
}

int
jscan_array(struct jscan *js)
{
	return open_one(js, '[', "a list");
}

/*
 * Before a member or an element: the closing bracket (0), or a comma
 * unless it is the first one (1).
 */
static int
next_of(struct jscan *js, char close)
{
	int	 fresh = js->fresh;

	if (js->failed)
		return -1;
	js->fresh = 0;
	space(js);
	if (js->p == js->end)
		return jscan_fail(js, "the text ends inside %s", close == '}' ?
		    "an object" : "a list");
	if (*js->p == close) {
		js->p++;
		js->depth--;
		return 0;
	}
	if (fresh)
		return 1;
	if (*js->p != ',')
		return jscan_fail(js, "expected ',' or '%c'", close);
	js->p++;
	space(js);
	return 1;
}

int
jscan_next(struct jscan *js)
{
	return next_of(js, ']');
}

int
jscan_key(struct jscan *js, char *key, size_t keysize)
{
	int	 rc;

	if ((rc = next_of(js, '}')) != 1)
		return rc;
	if (js->p == js->end || *js->p != '"')
		return jscan_fail(js, "expected a member name");
	if (keysize == 0)
		return jscan_fail(js, "no room for a member name");
	/* The usual name: plain ASCII, found with one look. */
	{
		const char	*q = (const char *)plain_run(
		    (const unsigned char *)js->p + 1,
		    (const unsigned char *)js->end);
		size_t		 len = (size_t)(q - js->p - 1);

		if (q < js->end && *q == '"' && len < keysize) {
			memcpy(key, js->p + 1, len);
			key[len] = '\0';
			js->p = q + 1;
		} else if (string_in(js, key, keysize, NULL, 1) != 0)
			return -1;
	}
	space(js);
	if (js->p == js->end || *js->p != ':')
		return jscan_fail(js, "expected ':' after a member name");
	js->p++;
	return 1;
}

static int
hex4(const char *p, unsigned *out)
{
	unsigned	 v = 0;
	int		 i;

	for (i = 0; i < 4; i++) {
		char	 c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* One UTF-8 sequence starting at p (its first byte >= 0x80): its length,
 * or 0 when it is not well formed. */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char	 c = *p;
	size_t		 n, i;
	unsigned	 cp;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static size_t
utf8_put(unsigned cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * The first byte at or after p that ends a plain run of a string: a
 * quote, a backslash, a control character or a byte of a multi-byte
 * UTF-8 sequence. Sixteen bytes at a time where SSE2 is there (every
 * x86-64): most of a Proxmox reply is member names and short strings.
 */
static const unsigned char *
plain_run(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
	const __m128i	 quote = _mm_set1_epi8('"');
	const __m128i	 backslash = _mm_set1_epi8('\\');
	const __m128i	 below_space = _mm_set1_epi8(0x20);

	while (end - p >= 16) {
		__m128i	 v = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* Signed: bytes from 0x80 up are below 0x20 too. */
		__m128i	 m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
		    _mm_cmpeq_epi8(v, backslash)), _mm_cmplt_epi8(v, below_space));
		int	 mask = _mm_movemask_epi8(m);

		if (mask != 0)
			return p + __builtin_ctz((unsigned)mask);
		p += 16;
	}
#endif
	while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80)
		p++;
	return p;
}

/*
 * The string at js->p, decoded into out when out is not NULL (at most
 * outsize - 1 bytes, then NUL), else only checked. A longer one is an
 * error, or with `cut` reads as "".
 */
static int
string_in(struct jscan *js, char *out, size_t outsize, size_t *lenp,
    int cut)
{
	char			*keep = out;
	const unsigned char	*p = (const unsigned char *)js->p + 1;
	const unsigned char	*end = (const unsigned char *)js->end;
	size_t			 len = 0, k;
	char			 tmp[4];
	unsigned		 cp, lo;

	for (;;) {
		const unsigned char	*run = p;

		/* The plain run, copied at once. */
		p = plain_run(p, end);
		if (p > run && out != NULL) {
			if ((size_t)(p - run) >= outsize - len) {
				if (!cut) {
					js->p = (const char *)run;
					return jscan_fail(js, "a string longer "
					    "than %zu bytes", outsize - 1);
				}
				out = NULL;
			} else
				memcpy(out + len, run, p - run);
		}
		len += p - run;
		if (p == end) {
			js->p = (const char *)p;
			return jscan_fail(js, "the text ends inside a string");
		}
		if (*p == '"')
			break;
		if (*p < 0x20) {
			js->p = (const char *)p;
			return jscan_fail(js, "a control character in a "
			    "string");
		}
		if (*p >= 0x80) {
			if ((k = utf8_len(p, end)) == 0) {
				js->p = (const char *)p;
				return jscan_fail(js, "a string that is not "
				    "UTF-8");
			}
			memcpy(tmp, p, k);
			p += k;
		} else {
			/* An escape. */
			if (end - p < 2) {
				js->p = (const char *)p;
				return jscan_fail(js, "the text ends inside a "
				    "string");
			}
			k = 1;
			switch (p[1]) {
			case '"':  tmp[0] = '"'; break;
			case '\\': tmp[0] = '\\'; break;
			case '/':  tmp[0] = '/'; break;
			case 'b':  tmp[0] = '\b'; break;
			case 'f':  tmp[0] = '\f'; break;
			case 'n':  tmp[0] = '\n'; break;
			case 'r':  tmp[0] = '\r'; break;
			case 't':  tmp[0] = '\t'; break;
			case 'u':
				if (end - p < 6 ||
				    hex4((const char *)p + 2, &cp) != 0) {
					js->p = (const char *)p;
					return jscan_fail(js, "a bad \\u "
					    "escape");
				}
				p += 4;
				if (cp >= 0xdc00 && cp <= 0xdfff) {
					js->p = (const char *)p;
					return jscan_fail(js, "a lone low "
					    "surrogate");
				}
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (end - p < 8 || p[2] != '\\' ||
					    p[3] != 'u' || hex4((const char *)
					    p + 4, &lo) != 0 || lo < 0xdc00 ||
					    lo > 0xdfff) {
						js->p = (const char *)p;
						return jscan_fail(js, "a high "
						    "surrogate without its "
						    "pair");
					}
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
					p += 6;
				}
				if (cp == 0) {
					js->p = (const char *)p;
					return jscan_fail(js, "\\u0000 in a "
					    "string");
				}
				k = utf8_put(cp, tmp);
				break;
			default:
				js->p = (const char *)p;
				return jscan_fail(js, "a bad escape");
			}
			p += 2;
		}
		if (out != NULL) {
			if (k >= outsize - len) {
				if (!cut) {
					js->p = (const char *)p;
					return jscan_fail(js, "a string longer "
					    "than %zu bytes", outsize - 1);
				}
				out = NULL;
			} else
				memcpy(out + len, tmp, k);
		}
		len += k;
	}
	if (out != NULL)
		out[len] = '\0';
	else if (keep != NULL) {
		keep[0] = '\0';
		len = 0;
	}
	if (lenp != NULL)
		*lenp = len;
	js->p = (const char *)p + 1;
	return 0;
}

int
jscan_string(struct jscan *js, char *out, size_t outsize, size_t *len)
{
	if (jscan_peek(js) != JSCAN_STRING)
		return jscan_fail(js, "expected a string");
	if (outsize == 0)
		return jscan_fail(js, "a string longer than 0 bytes");
	return string_in(js, out, outsize, len, 0);
}

int
jscan_number(struct jscan *js, double *dp, int64_t *ip)
{
	const char	*p, *q;
	char		 text[JSCAN_NUMBER_MAX + 1];
	double		 d;
	long long	 ll = 0;
	int		 integral = 1, ndigits = 0, nfrac = 0, exponent = 0;

	if (js->failed)
		return -1;
	space(js);
	if (js->p == js->end || (*js->p != '-' && (*js->p < '0' ||
	    *js->p > '9')))
		return jscan_fail(js, "expected a number");
	p = q = js->p;
	if (*q == '-')
		q++;
	if (q < js->end && *q == '0')
		q++;
	else if (q < js->end && *q >= '1' && *q <= '9') {
		/* Up to 18 digits are added up as they are read. */
		while (q < js->end && *q >= '0' && *q <= '9') {
			if (ndigits++ < 18)
				ll = ll * 10 + (*q - '0');
			q++;
		}
	} else
		return jscan_fail(js, "a number without digits");
	if (q < js->end && *q == '.') {
		integral = 0;
		q++;
		if (q == js->end || *q < '0' || *q > '9')
			return jscan_fail(js, "a number without digits after "
			    "'.'");
		/* The fraction's digits join the integer's while exact. */
		while (q < js->end && *q >= '0' && *q <= '9') {
			if (ndigits++ < 18) {
				ll = ll * 10 + (*q - '0');
				nfrac++;
			}
			q++;
		}
	}
	if (q < js->end && (*q == 'e' || *q == 'E')) {
		integral = 0;
		exponent = 1;
		q++;
		if (q < js->end && (*q == '+' || *q == '-'))
			q++;
		if (q == js->end || *q < '0' || *q > '9')
			return jscan_fail(js, "a number without an exponent");
		while (q < js->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < js->end && ((*q >= '0' && *q <= '9') || *q == '.'))
		return jscan_fail(js, "a number with a leading zero");
	if (q - p > JSCAN_NUMBER_MAX)
		return jscan_fail(js, "a number longer than %d bytes",
		    JSCAN_NUMBER_MAX);
	if (integral && ndigits <= 18) {
		if (*p == '-')
			ll = -ll;
		d = (double)ll;
	} else if (!exponent && ndigits <= 15 && nfrac <= 22) {
		/*
		 * "0.0312" and the like: digits and the power of ten are
		 * both exact doubles, so one division is rounded exactly
		 * as strtod would round.
		 */
		static const double	 pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4,
		    1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
		    1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

		d = (double)ll / pow10[nfrac];
		if (*p == '-')
			d = -d;
		ll = (long long)d;
	} else {
		memcpy(text, p, q - p);
		text[q - p] = '\0';
		if (integral) {
			errno = 0;
			ll = strtoll(text, NULL, 10);
			if (errno == ERANGE)
				return jscan_fail(js, "an integer out of "
				    "range");
			d = (double)ll;
		} else {
			d = strtod(text, NULL);
			if (!isfinite(d))
				return jscan_fail(js, "a number out of range");
			/* As an integer: truncated, when it fits. */
			ll = d > -9e18 && d < 9e18 ? (long long)d : 0;
		}
	}
	js->p = q;
	if (dp != NULL)
		*dp = d;
	if (ip != NULL)
		*ip = ll;
	return 0;
}

int
jscan_skip(struct jscan *js)
{
	int	 rc;

	switch (jscan_peek(js)) {
	case JSCAN_OBJECT:
		if (jscan_object(js) != 0)
			return -1;
		while ((rc = next_of(js, '}')) == 1) {
			if (js->p == js->end || *js->p != '"')
				return jscan_fail(js, "expected a member "
				    "name");
			if (string_in(js, NULL, 0, NULL, 0) != 0)
				return -1;
			space(js);
			if (js->p == js->end || *js->p != ':')
				return jscan_fail(js, "expected ':' after a "
				    "member name");
			js->p++;
			if (jscan_skip(js) != 0)
				return -1;
		}
		return rc;
	case JSCAN_ARRAY:
		if (jscan_array(js) != 0)
			return -1;
		while ((rc = jscan_next(js)) == 1) {
			if (jscan_skip(js) != 0)
				return -1;
		}
		return rc;
	case JSCAN_STRING:
		return string_in(js, NULL, 0, NULL, 0);
	case JSCAN_NUMBER:
		return jscan_number(js, NULL, NULL);
	case JSCAN_TRUE:
		return literal(js, "true", 4);
	case JSCAN_FALSE:
		return literal(js, "false", 5);
	case JSCAN_NULL:
		return literal(js, "null", 4);
	default:
		return -1;
	}
}

int
jscan_end(struct jscan *js)
{
	if (js->failed)
		return -1;
	space(js);
	if (js->p != js->end)
		return jscan_fail(js, "text after the end of the value");
	return 0;
}
