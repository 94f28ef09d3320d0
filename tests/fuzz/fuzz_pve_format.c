/*
 * fuzz_pve_format.c - libFuzzer target for every reader of Proxmox
 * replies behind the client: the read commands' formatters
 * (src/exec/pve_format.c), the guest list and name resolution
 * (src/exec/pve_guest.c), task status, log, lookup and stop
 * (src/exec/pve_task.c), all through pve_request() with a replay client
 * (pve_create_replay), so each reply takes the same path from status
 * line and body to the formatter as one from the network.
 *
 * Input, in text so seeds read like a conversation:
 *
 *	guest web-01            the operation and its argument
 *	200 OK                  status line of the first reply
 *	{"data":[...]}          its body
 *	%%                      a line that separates replies
 *	500 VM is locked        the next reply, and so on
 *
 * Requests past the last reply never reach a server. Beyond "no crash,
 * no leak, no UB": an operation gives text or one line of cause, never
 * both or neither.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exec_proxmox.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct script {
	const char	*p;	/* the next reply */
	const char	*end;
};

/* Hands out the next reply of the script. */
static int
replay(void *arg, const char *method, const char *path, long *status,
    char *reason, size_t reasonlen, struct buf *body)
{
	struct script	*sc = arg;
	const char	*p = sc->p, *nl, *stop, *sep;
	size_t		 n;

	(void)method;
	(void)path;
	if (p == NULL || p >= sc->end)
		return -1;
	sep = NULL;
	for (stop = p; stop + 3 <= sc->end; stop++) {
		if (memcmp(stop, "%%\n", 3) == 0 && (stop == p ||
		    stop[-1] == '\n')) {
			sep = stop;
			break;
		}
	}
	stop = sep != NULL ? sep : sc->end;
	sc->p = sep != NULL ? sep + 3 : sc->end;
	nl = memchr(p, '\n', (size_t)(stop - p));
	if (nl == NULL)
		nl = stop;
	*status = 0;
	while (p < nl && *p >= '0' && *p <= '9' && *status < 10000)
		*status = *status * 10 + (*p++ - '0');
	if (p < nl && *p == ' ')
		p++;
	n = (size_t)(nl - p) < reasonlen - 1 ? (size_t)(nl - p) :
	    reasonlen - 1;
	memcpy(reason, p, n);
	reason[n] = '\0';
	p = nl < stop ? nl + 1 : stop;
	buf_append(body, p, (size_t)(stop - p));
	return 0;
}

static void
check(char *text, char *cause)
{
	if ((text == NULL) == (cause == NULL))
		abort();
	if (cause != NULL && (*cause == '\0' || strchr(cause, '\n') != NULL))
		abort();
	free(text);
	free(cause);
}

static void
run(struct pve *pve, const char *op, const char *arg)
{
	struct pve_guest	 g, *gl;
	struct pve_task_status	 ts;
	json_t			*lines;
	char			*cause = NULL, *text = NULL, *upid = NULL;
	size_t			 n, i;
	int			 rc;

	if (strcmp(op, "status") == 0)
		text = pve_format_status(pve, &cause);
	else if (strcmp(op, "nodes") == 0)
		text = pve_format_nodes(pve, &cause);
	else if (strcmp(op, "guests") == 0)
		text = pve_format_guests(pve, &cause);
	else if (strcmp(op, "guest") == 0)
		text = pve_format_guest(pve, arg, &cause);
	else if (strcmp(op, "snapshots") == 0)
		text = pve_format_snapshots(pve, arg, &cause);
	else if (strcmp(op, "backups") == 0)
		text = pve_format_backups(pve, arg, &cause);
	else if (strcmp(op, "tasks") == 0)
		text = pve_format_tasks(pve, *arg ? arg : NULL, &cause);
	else if (strcmp(op, "task") == 0)
		text = pve_format_task(pve, arg, &cause);
	else if (strcmp(op, "resolve") == 0) {
		rc = pve_resolve_guest(pve, arg, &g, &cause);
		if (rc == PVE_OK) {
			if (g.name == NULL || g.node == NULL || g.vmid < 1)
				abort();
			text = pve_guest_path(&g, "/status/current");
			pve_guest_release(&g);
		}
	} else if (strcmp(op, "list") == 0) {
		if (pve_list_guests(pve, &gl, &n, &cause) == PVE_OK) {
			for (i = 1; i < n; i++) {
				if (gl[i].vmid < gl[i - 1].vmid)
					abort();
			}
			pve_guests_free(gl, n);
			text = xstrdup("ok");
		}
	} else if (strcmp(op, "task-status") == 0) {
		if (pve_task_status(pve, arg, &ts, &cause) == PVE_OK) {
			if (!ts.running && ts.exitstatus == NULL)
				abort();
			pve_task_status_release(&ts);
			text = xstrdup("ok");
		}
	} else if (strcmp(op, "task-log") == 0) {
		if (pve_task_log(pve, arg, 0, &lines, &cause) == PVE_OK) {
			if (!json_is_array(lines))
				abort();
			json_decref(lines);
			text = xstrdup("ok");
		}
	} else if (strcmp(op, "task-find") == 0) {
		if (pve_task_find(pve, "pve1", "vzdump", 101, "root@pam",
		    1700000000, &upid, &cause) == PVE_OK) {
			char	*node = upid != NULL ? pve_upid_node(upid) :
				    NULL;

			if (upid != NULL && node == NULL)
				abort();
			free(node);
			free(upid);
			text = xstrdup("ok");
		}
	} else if (strcmp(op, "task-stop") == 0) {
		if (pve_task_stop(pve, arg, &cause) == PVE_OK)
			text = xstrdup("ok");
	} else if (strcmp(op, "post") == 0) {
		struct pve_param	 p[] = { { "snapname", arg } };

		if (pve_request(pve, "POST", "/nodes/pve1/qemu/101/snapshot",
		    p, 1, NULL, &cause) == PVE_OK)
			text = xstrdup("ok");
	} else
		return;
	check(text, cause);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script	 sc;
	struct pve	*pve;
	const char	*nl, *sp;
	char		*first, *op, *arg;

	if (size > 1024 * 1024)
		return 0;
	nl = memchr(data, '\n', size);
	if (nl == NULL)
		return 0;
	/* The text ends at a NUL, as a C string would. */
	first = xstrndup((const char *)data, (size_t)(nl - (const char *)data));
	sp = strchr(first, ' ');
	op = xstrndup(first, sp != NULL ? (size_t)(sp - first) : strlen(first));
	arg = xstrdup(sp != NULL ? sp + 1 : "");
	sc.p = nl + 1;
	sc.end = (const char *)data + size;
	pve = pve_create_replay(replay, &sc);
	run(pve, op, arg);
	pve_free(pve);
	free(arg);
	free(op);
	free(first);
	return 0;
}
