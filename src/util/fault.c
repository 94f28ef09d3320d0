/*
 * fault.c - crash points (fault.h).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"
#include "util.h"

static char		 fault_name[64];
static long long	 fault_nth;
static atomic_llong	 fault_seen;
static int		 fault_armed;
static char		 fail_name[64];
static atomic_llong	 fail_left;

/* NAME[:N] into name (size 64) and *n; -1 when malformed. */
static int
parse_spec(const char *v, char *name, long long *n)
{
	const char	*colon, *errstr;
	size_t		 len;

	colon = strchr(v, ':');
	len = colon != NULL ? (size_t)(colon - v) : strlen(v);
	if (len == 0 || len >= 64)
		return -1;
	memcpy(name, v, len);
	name[len] = '\0';
	*n = 1;
	if (colon != NULL) {
		*n = strtonum(colon + 1, 1, 1000000, &errstr);
		if (errstr != NULL)
			return -1;
	}
	return 0;
}

void
fault_init(void)
{
	const char	*v = getenv("PVEBOT_CRASH_AT"), *colon, *errstr;
	size_t		 len;
	long long	 n;
	const char	*f = getenv("PVEBOT_FAIL_AT");

	if (f != NULL && *f != '\0' && parse_spec(f, fail_name, &n) == 0) {
		atomic_store(&fail_left, n);
		log_warn("fault", "write failure armed name=%s count=%lld",
		    fail_name, n);
	}

	if (v == NULL || *v == '\0')
		return;
	colon = strchr(v, ':');
	len = colon != NULL ? (size_t)(colon - v) : strlen(v);
	if (len == 0 || len >= sizeof fault_name)
		return;
	memcpy(fault_name, v, len);
	fault_name[len] = '\0';
	fault_nth = 1;
	if (colon != NULL) {
		fault_nth = strtonum(colon + 1, 1, 1000000, &errstr);
		if (errstr != NULL)
			return;
	}
	fault_armed = 1;
	log_warn("fault", "crash point armed name=%s nth=%lld", fault_name,
	    fault_nth);
}

int
fault_fail(const char *name)
{
	if (fail_name[0] == '\0' || strcmp(name, fail_name) != 0)
		return 0;
	return atomic_fetch_sub(&fail_left, 1) > 0;
}

void
fault_point(const char *name)
{
	if (!fault_armed || strcmp(name, fault_name) != 0)
		return;
	if (atomic_fetch_add(&fault_seen, 1) + 1 == fault_nth)
		_exit(137);
}
