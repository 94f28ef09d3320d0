/*
 * fake_alertmanager.h - a fake Alertmanager API (v2) on 127.0.0.1 for
 * tests: POST /api/v2/silences validated against Alertmanager's OpenAPI
 * (definitions postableSilence, silence, matchers, matcher) and the
 * checks Alertmanager makes beyond it, GET /api/v2/silences listing what
 * it accepted. Faults on demand.
 */
#ifndef PVEBOT_FAKE_ALERTMANAGER_H
#define PVEBOT_FAKE_ALERTMANAGER_H

#include <stddef.h>

#include <jansson.h>

struct fake_am;

/* Starts on a free port; `bearer` (NULL: none) is the token it wants. */
struct fake_am	*fake_am_start(const char *bearer);
void		 fake_am_stop(struct fake_am *);
/* "http://127.0.0.1:PORT" (static storage in the fake). */
const char	*fake_am_url(const struct fake_am *);
/* The next `count` POSTs of a silence answer `status` (500, 400...). */
void		 fake_am_fail(struct fake_am *, int status, int count);
/* POSTs to /api/v2/silences received, accepted or not. */
size_t		 fake_am_posts(struct fake_am *);
/* Silences accepted. */
size_t		 fake_am_nsilences(struct fake_am *);
/* Accepted silence i as posted, with "id" added (caller decrefs). */
json_t		*fake_am_silence(struct fake_am *, size_t i);
/* Why the last refused POST was refused; "" when none was. Copy it. */
const char	*fake_am_last_refusal(struct fake_am *);
/* Waits until n POSTs came; 0 when they did. */
int		 fake_am_wait_posts(struct fake_am *, size_t n, int timeout_ms);

/*
 * The checks of a silence, shared with the unit test: 0 when `body` is a
 * postableSilence Alertmanager accepts at UNIX time `now`, else -1 with
 * *why (static text or allocated into why_buf).
 */
int		 fake_am_check_silence(const char *body, long long now,
		    char *why_buf, size_t len);

#endif
