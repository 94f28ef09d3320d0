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

void
fault_init(void)
{
	const char	*v = getenv("PVEBOT_CRASH_AT"), *colon, *errstr;
	size_t		 len;

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

void
fault_point(const char *name)
{
	if (!fault_armed || strcmp(name, fault_name) != 0)
		return;
	if (atomic_fetch_add(&fault_seen, 1) + 1 == fault_nth)
		_exit(137);
}
