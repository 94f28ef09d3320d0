/*
 * jscan.h - a strict streaming JSON reader (util/jscan.c) for large
 * replies from outside, read once into compact records: it walks the
 * text in place, builds no tree and allocates nothing. The caller pulls
 * one value at a time and skips the ones it does not need.
 *
 * The grammar is RFC 8259's exactly: no comments, no trailing commas, no
 * NaN or leading zeros, no control characters in strings, UTF-8 checked
 * (no overlong forms, no surrogates), escapes checked (\u surrogate
 * pairs must pair). Nesting is capped at JSCAN_DEPTH_MAX, a decoded
 * string at the caller's buffer, a number at JSCAN_NUMBER_MAX bytes. The
 * first error stops the scan: every later call fails too, and
 * jscan_error() tells what and at which byte, as one sentence.
 */
#ifndef PVEBOT_JSCAN_H
#define PVEBOT_JSCAN_H

#include <stddef.h>
#include <stdint.h>

#define JSCAN_DEPTH_MAX		64
#define JSCAN_NUMBER_MAX	64
#define JSCAN_ERROR_MAX		128

enum jscan_type {
	JSCAN_BAD = -1,		/* an error, or no value where one must be */
	JSCAN_OBJECT,
	JSCAN_ARRAY,
	JSCAN_STRING,
	JSCAN_NUMBER,
	JSCAN_TRUE,
	JSCAN_FALSE,
	JSCAN_NULL
};

struct jscan {
	const char	*start, *p, *end;
	int		 depth;
	int		 fresh;		/* just opened: no comma yet */
	int		 failed;
	char		 error[JSCAN_ERROR_MAX];
};

void		 jscan_init(struct jscan *, const char *text, size_t len);
/* The type of the next value, not consumed (white space is). */
enum jscan_type	 jscan_peek(struct jscan *);

/*
 * An object: jscan_object(), then for each member jscan_key() (1: a key
 * was read, its value comes next and must be consumed; 0: the object
 * ended; -1: error). A key that does not fit keysize is given as "" and
 * its value must still be consumed.
 */
int		 jscan_object(struct jscan *);
int		 jscan_key(struct jscan *, char *key, size_t keysize);
/* An array: jscan_array(), then jscan_next() before each element (1:
 * one follows; 0: the array ended; -1: error). */
int		 jscan_array(struct jscan *);
int		 jscan_next(struct jscan *);

/* A string decoded into out (NUL-terminated); longer than outsize - 1
 * bytes, or holding \u0000, is an error. *len may be NULL. */
int		 jscan_string(struct jscan *, char *out, size_t outsize,
		    size_t *len);
/* A number as a double, and as an integer: exact for an integer (one
 * outside int64_t is an error), truncated for a real within +-9e18, else
 * 0. Either pointer may be NULL. */
int		 jscan_number(struct jscan *, double *, int64_t *);
/* Any one value, checked as thoroughly as if it were read. */
int		 jscan_skip(struct jscan *);
/* Nothing but white space may follow the top value. */
int		 jscan_end(struct jscan *);

/* Makes the scan fail with a caller's reason ("data is not a list"). */
int		 jscan_fail(struct jscan *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* "byte 1234: expected ',' or '}'", or NULL while there is no error. */
const char	*jscan_error(const struct jscan *);

#endif
