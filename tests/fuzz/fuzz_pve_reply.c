/*
 * fuzz_pve_reply.c - libFuzzer target for the pure half of the Proxmox
 * client: a reply's envelope and error mapping (pve_reply_parse in
 * src/exec/pve_reply.c), then what readers take out of its data: guests
 * from /cluster/resources entries (pve_guest_from_json), UPIDs and the
 * progress percentages of task log lines (src/exec/pve_task.c), and the
 * lenient member readers (jx_*).
 *
 * Input: the first byte holds flags (bit 0: the request was a GET; bits
 * 1-2: which path it went to), then a status line "NNN reason" and the
 * body. Beyond "no crash, no leak, no UB": a 2xx with a JSON object
 * gives PVE_OK and data, anything else one line of cause and no data
 * (PVE_MAYBE only for a POST answered by a non-JSON 2xx or a 502-504);
 * every guest read has a VMID in range, a known type and all its names;
 * a percentage is -1 or 0..100; a UPID that parses names its node.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exec_proxmox.h"
#include "jsonx.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const paths[] = {
	"/cluster/resources", "/nodes/pve2/qemu/101/status/start",
	"/nodes/pve1/tasks/UPID:pve1:00001234:00abcdef:6740a1b2:vzdump:101:"
	    "root@pam:/status", "/nodes/"
};

static void
check_string(const char *s)
{
	struct pve_upid	 u;
	char		*node;
	int		 p;

	p = pve_progress_percent(s);
	if (p < -1 || p > 100)
		abort();
	if (pve_upid_parse(s, &u) == 0) {
		if (u.node == NULL || u.type == NULL || u.id == NULL ||
		    u.user == NULL || *u.node == '\0' || u.pid < 0 ||
		    u.starttime < 0)
			abort();
		node = pve_upid_node(s);
		if (node == NULL || strcmp(node, u.node) != 0)
			abort();
		free(node);
		pve_upid_release(&u);
	} else if (pve_upid_node(s) != NULL)
		abort();
}

static void
check_guest(const json_t *v)
{
	struct pve_guest	 g;
	char			*path;
	size_t			 i;

	if (pve_guest_from_json(v, &g) != 0)
		return;
	if (g.vmid < 1 || g.vmid > 999999999 || g.name == NULL ||
	    g.node == NULL || g.status == NULL || g.type == NULL ||
	    (strcmp(g.type, "qemu") != 0 && strcmp(g.type, "lxc") != 0))
		abort();
	for (i = 0; i < g.ntags; i++) {
		if (*g.tags[i] == '\0' || strpbrk(g.tags[i], ";, ") != NULL ||
		    !pve_guest_has_tag(&g, g.tags[i]))
			abort();
	}
	path = pve_guest_path(&g, "/status/current");
	free(path);
	pve_guest_release(&g);
}

/* Reads everything a reader might, a few levels down. */
static void
walk(const json_t *v, int depth)
{
	const char	*key;
	json_t		*m;
	size_t		 i;
	double		 d;

	if (depth > 4)
		return;
	if (json_is_string(v))
		check_string(json_string_value(v));
	else if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			check_guest(m);
			walk(m, depth + 1);
		}
	} else if (json_is_object(v)) {
		check_guest(v);
		json_object_foreach((json_t *)v, key, m) {
			(void)jx_int(v, key);
			d = jx_num(v, key);
			if (!isfinite(d))
				abort();
			(void)jx_str(v, key, NULL);
			walk(m, depth + 1);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p, *end, *nl, *body;
	char		*reason, *cause = NULL, *text;
	json_t		*out = NULL;
	long		 status = 0;
	size_t		 blen;
	int		 rc, idempotent;

	if (size == 0 || size > 1024 * 1024)
		return 0;
	idempotent = data[0] & 1;
	p = (const char *)data + 1;
	end = (const char *)data + size;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)
		nl = end;
	while (p < nl && *p >= '0' && *p <= '9' && status < 10000)
		status = status * 10 + (*p++ - '0');
	if (p < nl && *p == ' ')
		p++;
	reason = xstrndup(p, (size_t)(nl - p));
	body = nl < end ? nl + 1 : end;
	blen = (size_t)(end - body);

	rc = pve_reply_parse(status, reason, body, blen,
	    paths[(data[0] >> 1) & 3], idempotent, &out, &cause);
	if (rc == PVE_OK) {
		if (out == NULL || cause != NULL || status < 200 ||
		    status > 299)
			abort();
		walk(out, 0);
	} else {
		if ((rc != PVE_TEMPORARY && rc != PVE_PERMANENT &&
		    rc != PVE_MAYBE) ||
		    out != NULL || cause == NULL || *cause == '\0' ||
		    strchr(cause, '\n') != NULL)
			abort();
		/*
		 * "Maybe it ran" only after a POST whose reply says nothing
		 * sure: a 2xx that is not JSON, or a proxy's 502-504.
		 */
		if (rc == PVE_MAYBE && (idempotent ||
		    !((status >= 200 && status <= 299) ||
		    (status >= 502 && status <= 504))))
			abort();
		/* Only a read may be tried again after a reply. */
		if (rc == PVE_TEMPORARY && !idempotent && status != 595 &&
		    status != 596)
			abort();
	}
	json_decref(out);
	free(cause);
	free(reason);

	/* The body as one log line, as the task readers see them. */
	text = xstrndup(body, blen);
	check_string(text);
	free(text);
	return 0;
}
