/*
 * fuzz_ssh_parse.c - libFuzzer target for the parsers of what SSH-backed
 * commands print (src/exec/ssh_parse.c): `pvecm status`, `apt list
 * --upgradable`, nvidia-smi CSV, `lvs --reportformat json` and
 * `systemctl status`. The first input byte picks the parser (and, for
 * lvs, the retention limits); the rest is the remote output, NULs and
 * all (the runner hands parsers a NUL-terminated string, so the text
 * ends at the first NUL as it would there).
 *
 * Beyond "no crash, no leak, no UB": a parser returns 0 with a result or
 * -1 with a one-line cause; summaries and formats are built from every
 * result; retention never removes a safety-* snapshot, never names one
 * twice, and keeps within the limits it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec_ssh.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_cause(int rc, char *cause)
{
	if (rc != 0 && rc != -1)
		abort();
	if (rc == -1 && (cause == NULL || strchr(cause, '\n') != NULL))
		abort();
	if (rc == 0 && cause != NULL)
		abort();
	free(cause);
}

static void
one_pvecm(const char *text)
{
	struct pvecm_status	 st;
	char			*cause = NULL, *s;
	int			 rc;

	rc = pvecm_parse(text, &st, &cause);
	check_cause(rc, cause);
	if (rc == 0) {
		s = pvecm_summary(&st);
		if (s == NULL || strchr(s, '\n') != NULL)
			abort();
		free(s);
	}
	pvecm_release(&st);
}

static void
one_apt(const char *text, size_t max_names)
{
	struct apt_updates	 up;
	char			*cause = NULL, *s;
	size_t			 i;
	int			 rc;

	rc = apt_parse(text, &up, &cause);
	check_cause(rc, cause);
	if (rc == 0) {
		for (i = 0; i < up.n; i++) {
			if (up.v[i].name == NULL || up.v[i].version == NULL ||
			    up.v[i].suite == NULL)
				abort();
		}
		s = apt_summary(&up, max_names);
		if (s == NULL)
			abort();
		free(s);
	}
	apt_release(&up);
}

static void
one_gpu(const char *text)
{
	struct gpu_list	 gl;
	char		*cause = NULL, *s;
	size_t		 i;
	int		 rc;

	rc = gpu_parse(text, &gl, &cause);
	check_cause(rc, cause);
	if (rc == 0) {
		for (i = 0; i < gl.n; i++) {
			if (gl.v[i].name == NULL || gl.v[i].temp_c < -1 ||
			    gl.v[i].util_pct < -1 || gl.v[i].util_pct > 100 ||
			    gl.v[i].mem_used_mib < -1 ||
			    gl.v[i].mem_total_mib < -1)
				abort();
		}
		s = gpu_format(&gl);
		if (s == NULL)
			abort();
		free(s);
	}
	gpu_release(&gl);
}

static void
one_lvs(const char *text, uint8_t limits)
{
	struct lv_snapshots	 ls;
	char			*cause = NULL, *s;
	size_t			*rm, n, i, j, kept = 0, max_count;
	int64_t			 max_age, now = 1795149000;
	int			 rc;

	rc = lvs_parse(text, &ls, &cause);
	check_cause(rc, cause);
	if (rc != 0) {
		lvs_release(&ls);
		return;
	}
	for (i = 0; i < ls.n; i++) {
		if (ls.v[i].name == NULL || ls.v[i].origin == NULL ||
		    *ls.v[i].origin == '\0' ||
		    (i > 0 && ls.v[i].time < ls.v[i - 1].time))
			abort();
	}
	s = lvs_format(&ls);
	if (s == NULL)
		abort();
	free(s);
	max_count = limits & 7;
	max_age = (limits >> 3) == 0 ? 0 : (int64_t)(limits >> 3) * 86400 *
	    30;
	rm = xcalloc(ls.n + 1, sizeof *rm);
	n = lvs_retention(&ls, max_count, max_age, now, rm);
	if (n > ls.n)
		abort();
	for (i = 0; i < n; i++) {
		if (rm[i] >= ls.n ||
		    strncmp(ls.v[rm[i]].name, "safety-", 7) == 0)
			abort();
		for (j = 0; j < i; j++) {
			if (rm[j] == rm[i])
				abort();
		}
	}
	for (i = 0; i < ls.n; i++) {
		if (strncmp(ls.v[i].name, "safety-", 7) != 0)
			kept++;
	}
	kept -= n;
	if (max_count != 0 && kept > max_count)
		abort();
	free(rm);
	lvs_release(&ls);
}

static void
one_systemctl(const char *text)
{
	char	*s;

	s = systemctl_summary("pveproxy.service", text);
	if (s != NULL && strchr(s, '\n') != NULL)
		abort();
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*text;

	if (size == 0 || size > 256 * 1024)
		return 0;
	text = xmalloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 5) {
	case 0:
		one_pvecm(text);
		break;
	case 1:
		one_apt(text, data[0] / 5 % 8);
		break;
	case 2:
		one_gpu(text);
		break;
	case 3:
		one_lvs(text, data[0] / 5);
		break;
	default:
		one_systemctl(text);
		break;
	}
	free(text);
	return 0;
}
