/*
 * util.c - allocation, buffers, number and duration parsing, clocks,
 * hashing and text helpers shared by every part. Time zones are in tz.c.
 *
 * Allocation failure is not recoverable in a daemon of this size: the
 * x* family prints one line and aborts, so no caller checks for NULL.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util.h"

static void
oom(size_t n)
{
	fprintf(stderr, "pvebot: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
xrealloc(void *old, size_t n)
{
	void	*p = realloc(old, n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xreallocarray(void *old, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		oom(SIZE_MAX);
	return xrealloc(old, nmemb * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t	 len = strnlen(s, n);
	char	*p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char	*p;

	if (vasprintf(&p, fmt, ap) < 0)
		oom(0);
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

int
set_cause(char **cause, const char *fmt, ...)
{
	va_list	 ap;

	if (cause == NULL)
		return -1;
	free(*cause);
	va_start(ap, fmt);
	*cause = xvasprintf(fmt, ap);
	va_end(ap);
	return -1;
}

void
buf_init(struct buf *b, size_t limit)
{
	memset(b, 0, sizeof *b);
	b->limit = limit;
}

int
buf_append(struct buf *b, const void *data, size_t n)
{
	size_t	 want;

	if (b->limit != 0 && b->len + n > b->limit) {
		n = b->limit > b->len ? b->limit - b->len : 0;
		b->truncated = 1;
		if (n == 0)
			return -1;
		buf_append(b, data, n);
		return -1;
	}
	want = b->len + n + 1;
	if (want > b->size) {
		size_t	 size = b->size ? b->size : 64;

		while (size < want)
			size *= 2;
		b->data = xrealloc(b->data, size);
		b->size = size;
	}
	if (n != 0)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 rc;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	rc = buf_puts(b, s);
	free(s);
	return rc;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->truncated = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *
buf_steal(struct buf *b)
{
	char	*p = b->data != NULL ? b->data : xstrdup("");
	size_t	 limit = b->limit;

	buf_init(b, limit);
	return p;
}

void
buf_release(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	buf_init(b, b->limit);
}

const char *
buf_cstr(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

long long
strtonum(const char *s, long long min, long long max, const char **errstr)
{
	char		*end;
	long long	 v;

	*errstr = NULL;
	if (s == NULL || *s == '\0' || min > max || isspace((unsigned char)*s)) {
		*errstr = "invalid";
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0') {
		*errstr = "invalid";
		return 0;
	}
	if ((v == LLONG_MIN && errno == ERANGE) || v < min) {
		*errstr = "too small";
		return 0;
	}
	if ((v == LLONG_MAX && errno == ERANGE) || v > max) {
		*errstr = "too large";
		return 0;
	}
	return v;
}

int
parse_duration(const char *s, int64_t *seconds, char **cause)
{
	const char	*p = s;
	int64_t		 total = 0;
	int		 parts = 0;

	if (s == NULL || *s == '\0')
		return set_cause(cause, "empty duration");
	while (*p != '\0') {
		int64_t	 n = 0, unit;
		int	 digits = 0;

		while (isdigit((unsigned char)*p)) {
			if (n > 100000000)
				return set_cause(cause,
				    "duration '%s' is too long", s);
			n = n * 10 + (*p++ - '0');
			digits++;
		}
		if (digits == 0)
			goto bad;
		switch (*p) {
		case 's': unit = 1; p++; break;
		case 'm': unit = 60; p++; break;
		case 'h': unit = 3600; p++; break;
		case 'd': unit = 86400; p++; break;
		case 'w': unit = 604800; p++; break;
		case '\0':
			if (parts != 0)
				goto bad;
			unit = 1;
			break;
		default:
			goto bad;
		}
		total += n * unit;
		if (total > (int64_t)366 * 86400 * 10)
			return set_cause(cause, "duration '%s' is too long", s);
		parts++;
	}
	*seconds = total;
	return 0;
bad:
	return set_cause(cause, "'%s' is not a duration (expected e.g. 90s, "
	    "15m, 2h, 7d)", s);
}

char *
format_duration(int64_t secs, char *out, size_t len)
{
	int64_t	 d = secs / 86400, h = (secs % 86400) / 3600;
	int64_t	 m = (secs % 3600) / 60, s = secs % 60;

	if (secs < 0)
		secs = 0;
	if (d > 0)
		snprintf(out, len, "%lldd%lldh", (long long)d, (long long)h);
	else if (h > 0)
		snprintf(out, len, "%lldh%02lldm", (long long)h, (long long)m);
	else if (m > 0)
		snprintf(out, len, "%lldm%02llds", (long long)m, (long long)s);
	else
		snprintf(out, len, "%llds", (long long)s);
	return out;
}

int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
wall_now(void)
{
	return (int64_t)time(NULL);
}

/* CPU time of the calling thread, in milliseconds. */
double
thread_cpu_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

int64_t
wall_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sleep_ms(int64_t ms)
{
	struct timespec	 ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void
sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < mdlen && i < 32; i++) {
		out[i * 2] = hex[md[i] >> 4];
		out[i * 2 + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
}

/*
 * HMAC-SHA256 (RFC 2104) over a digest fetched once: OpenSSL 3's one-shot
 * HMAC() looks the algorithm up again on every call, which cost about
 * 70,000 instructions per audit row.
 */
static EVP_MD		*hmac_md;
static pthread_once_t	 hmac_once = PTHREAD_ONCE_INIT;

static void
hmac_md_fetch(void)
{
	hmac_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void
sha256_parts(EVP_MD_CTX *ctx, const void *a, size_t alen, const void *b,
    size_t blen, unsigned char out[32])
{
	unsigned int	 n = 0;

	if (EVP_DigestInit_ex(ctx, hmac_md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, a, alen) != 1 ||
	    (blen > 0 && EVP_DigestUpdate(ctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != 32) {
		fprintf(stderr, "pvebot: SHA-256 failed\n");
		abort();
	}
}

void
hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
    char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 k[64], pad[64], inner[32], md[32];
	EVP_MD_CTX	*ctx;
	size_t		 i;

	pthread_once(&hmac_once, hmac_md_fetch);
	if (hmac_md == NULL || (ctx = EVP_MD_CTX_new()) == NULL) {
		fprintf(stderr, "pvebot: HMAC-SHA256 failed\n");
		abort();
	}
	memset(k, 0, sizeof k);
	if (keylen > sizeof k)
		sha256_parts(ctx, key, keylen, NULL, 0, k);
	else if (keylen > 0)
		memcpy(k, key, keylen);
	for (i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_parts(ctx, pad, sizeof pad, data, len, inner);
	for (i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_parts(ctx, pad, sizeof pad, inner, sizeof inner, md);
	EVP_MD_CTX_free(ctx);
	explicit_bzero(k, sizeof k);
	explicit_bzero(pad, sizeof pad);
	for (i = 0; i < 32; i++) {
		out[i * 2] = hex[md[i] >> 4];
		out[i * 2 + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
}

static void
random_bytes(void *p, size_t n)
{
	unsigned char	*c = p;

	while (n > 0) {
		ssize_t	 r = getrandom(c, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "pvebot: getrandom failed\n");
			abort();
		}
		c += r;
		n -= (size_t)r;
	}
}

void
random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 b[64];
	size_t		 i;

	if (nbytes > sizeof b)
		nbytes = sizeof b;
	random_bytes(b, nbytes);
	for (i = 0; i < nbytes; i++) {
		out[i * 2] = hex[b[i] >> 4];
		out[i * 2 + 1] = hex[b[i] & 0xf];
	}
	out[nbytes * 2] = '\0';
}

uint64_t
random_u64(void)
{
	uint64_t	 v;

	random_bytes(&v, sizeof v);
	return v;
}

char *
html_escape(const char *s)
{
	struct buf	 b;

	buf_init(&b, 0);
	buf_append(&b, "", 0);
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': buf_puts(&b, "&amp;"); break;
		case '<': buf_puts(&b, "&lt;"); break;
		case '>': buf_puts(&b, "&gt;"); break;
		case '"': buf_puts(&b, "&quot;"); break;
		default: buf_append(&b, s, 1); break;
		}
	}
	return buf_steal(&b);
}

int
utf8_valid_text(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0;

	while (i < len) {
		unsigned char	 c = p[i];
		size_t		 n, k;
		uint32_t	 cp;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else
			return 0;
		if (i + n >= len)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		/* C1 controls are as unwelcome as C0 ones. */
		if (cp >= 0x80 && cp < 0xa0)
			return 0;
		i += n + 1;
	}
	return 1;
}

char *
read_file(const char *path, size_t limit, size_t *lenp, char **cause)
{
	struct buf	 b;
	struct stat	 st;
	char		 chunk[8192];
	ssize_t		 n;
	int		 fd;

	/* Non-blocking, so a FIFO in place of a file cannot hang us. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) ==
	    -1) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		set_cause(cause, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	buf_init(&b, limit);
	buf_append(&b, "", 0);
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_cause(cause, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (buf_append(&b, chunk, (size_t)n) != 0) {
			set_cause(cause, "%s: file is larger than %zu bytes",
			    path, limit);
			goto fail;
		}
	}
	close(fd);
	if (lenp != NULL)
		*lenp = b.len;
	return buf_steal(&b);
fail:
	close(fd);
	buf_release(&b);
	return NULL;
}

void
strv_free(char **v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
chars_equal(char a, char b, int nocase)
{
	if (nocase)
		return tolower((unsigned char)a) == tolower((unsigned char)b);
	return a == b;
}

int
glob_match_case(const char *p, const char *s, int nocase)
{
	const char	*star = NULL, *ss = NULL;

	while (*s != '\0') {
		if (*p == '?' || (*p != '*' && *p != '\0' &&
		    chars_equal(*p, *s, nocase))) {
			p++;
			s++;
		} else if (*p == '*') {
			star = p++;
			ss = s;
		} else if (star != NULL) {
			p = star + 1;
			s = ++ss;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

int
glob_match(const char *p, const char *s)
{
	return glob_match_case(p, s, 0);
}

size_t
edit_distance(const char *a, const char *b, size_t limit)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, v, best;
	size_t	*prev2, *prev, *cur, *t;

	if (la > EDIT_DISTANCE_MAX || lb > EDIT_DISTANCE_MAX)
		return limit + 1;
	if ((la > lb ? la - lb : lb - la) > limit)
		return limit + 1;
	prev2 = xcalloc(lb + 1, sizeof *prev2);
	prev = xcalloc(lb + 1, sizeof *prev);
	cur = xcalloc(lb + 1, sizeof *cur);
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		best = cur[0];
		for (j = 1; j <= lb; j++) {
			v = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			/* Two neighbours swapped count as one edit. */
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
			if (v < best)
				best = v;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
		if (best > limit)
			break;
	}
	v = i > la ? prev[lb] : limit + 1;
	free(prev2);
	free(prev);
	free(cur);
	return v > limit ? limit + 1 : v;
}

char *
str_trim(char *s)
{
	char	*end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}
