/*
 * pve_task.c - Proxmox tasks: UPIDs, task status and log, stopping a task,
 * finding a task again after a crash, and reading a percentage out of the
 * progress lines that vzdump, migrations and disk copies write.
 *
 * A UPID names its node, so every call here goes to the node that runs
 * the task; nothing needs to remember where a task was started.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exec_proxmox.h"
#include "util.h"

/* Parses minlen..maxlen hex digits and a ':'; returns what follows. */
static const char *
hex_field(const char *p, size_t minlen, size_t maxlen, int64_t *value)
{
	size_t		 n = 0;
	int64_t		 v = 0;

	while (isxdigit((unsigned char)p[n]) && n <= maxlen) {
		v = v * 16 + (isdigit((unsigned char)p[n]) ? p[n] - '0' :
		    tolower((unsigned char)p[n]) - 'a' + 10);
		n++;
	}
	if (n < minlen || n > maxlen || p[n] != ':')
		return NULL;
	*value = v;
	return p + n + 1;
}

/* A field up to the next ':' without whitespace; NULL if none. */
static const char *
text_field(const char *p, int may_be_empty, char **out)
{
	const char	*e = strchr(p, ':');
	const char	*q;

	if (e == NULL || (!may_be_empty && e == p))
		return NULL;
	for (q = p; q < e; q++) {
		if (isspace((unsigned char)*q) || (unsigned char)*q < 0x20)
			return NULL;
	}
	*out = xstrndup(p, e - p);
	return e + 1;
}

void
pve_upid_release(struct pve_upid *u)
{
	if (u == NULL)
		return;
	free(u->node);
	free(u->type);
	free(u->id);
	free(u->user);
	memset(u, 0, sizeof *u);
}

int
pve_upid_parse(const char *upid, struct pve_upid *u)
{
	const char	*p, *q;

	memset(u, 0, sizeof *u);
	if (upid == NULL || !str_has_prefix(upid, "UPID:") ||
	    strlen(upid) > 512)
		return -1;
	p = upid + strlen("UPID:");
	if ((p = text_field(p, 0, &u->node)) == NULL)
		goto bad;
	for (q = u->node; *q != '\0'; q++) {
		if (!isalnum((unsigned char)*q) && *q != '-')
			goto bad;
	}
	if ((p = hex_field(p, 8, 8, &u->pid)) == NULL ||
	    (p = hex_field(p, 8, 9, &u->pstart)) == NULL ||
	    (p = hex_field(p, 8, 8, &u->starttime)) == NULL ||
	    (p = text_field(p, 0, &u->type)) == NULL ||
	    (p = text_field(p, 1, &u->id)) == NULL ||
	    (p = text_field(p, 0, &u->user)) == NULL || *p != '\0')
		goto bad;
	return 0;
bad:
	pve_upid_release(u);
	return -1;
}

char *
pve_upid_node(const char *upid)
{
	struct pve_upid	 u;
	char		*node;

	if (pve_upid_parse(upid, &u) != 0)
		return NULL;
	node = u.node;
	u.node = NULL;
	pve_upid_release(&u);
	return node;
}

/* "/nodes/NODE/tasks/UPID" + suffix, or NULL with *cause. */
static char *
task_path(const char *upid, const char *suffix, char **cause)
{
	char	*node, *path;

	if ((node = pve_upid_node(upid)) == NULL) {
		set_cause(cause, "'%.80s' is not a Proxmox task id (UPID:...)",
		    upid != NULL ? upid : "");
		return NULL;
	}
	path = xasprintf("/nodes/%s/tasks/%s%s", node, upid, suffix);
	free(node);
	return path;
}

void
pve_task_status_release(struct pve_task_status *ts)
{
	if (ts == NULL)
		return;
	free(ts->exitstatus);
	memset(ts, 0, sizeof *ts);
}

int
pve_task_status(struct pve *pve, const char *upid,
    struct pve_task_status *ts, char **cause)
{
	json_t		*data;
	const char	*status, *exitstatus;
	char		*path;
	int		 rc;

	memset(ts, 0, sizeof *ts);
	if ((path = task_path(upid, "/status", cause)) == NULL)
		return PVE_PERMANENT;
	rc = pve_request(pve, "GET", path, NULL, 0, &data, cause);
	free(path);
	if (rc != PVE_OK)
		return rc;
	status = json_string_value(json_object_get(data, "status"));
	if (status == NULL) {
		json_decref(data);
		set_cause(cause, "Proxmox sent a task status without status");
		return PVE_TEMPORARY;
	}
	ts->running = strcmp(status, "running") == 0;
	exitstatus = json_string_value(json_object_get(data, "exitstatus"));
	if (!ts->running)
		ts->exitstatus = xstrdup(exitstatus != NULL ? exitstatus :
		    "unknown");
	json_decref(data);
	return PVE_OK;
}

int
pve_task_log(struct pve *pve, const char *upid, int start, json_t **lines,
    char **cause)
{
	char			 startbuf[16];
	struct pve_param	 p[] = {
		{ "start", startbuf },
		{ "limit", "500" }
	};
	char			*path;
	int			 rc;

	*lines = NULL;
	if ((path = task_path(upid, "/log", cause)) == NULL)
		return PVE_PERMANENT;
	snprintf(startbuf, sizeof startbuf, "%d", start < 0 ? 0 : start);
	rc = pve_request(pve, "GET", path, p, nitems(p), lines, cause);
	free(path);
	if (rc == PVE_OK && !json_is_array(*lines)) {
		json_decref(*lines);
		*lines = NULL;
		set_cause(cause, "Proxmox sent a task log that is not a list");
		return PVE_TEMPORARY;
	}
	/*
	 * An empty log reads as one placeholder line (PVE::Tools::
	 * dump_logfile adds {"n":1,"t":"no content"} for the web UI): it
	 * is not a line of the task, and counting it would skip the first
	 * real one.
	 */
	if (rc == PVE_OK && json_array_size(*lines) == 1) {
		json_t		*l = json_array_get(*lines, 0);
		const char	*t = json_string_value(json_object_get(l, "t"));

		if (json_integer_value(json_object_get(l, "n")) == 1 &&
		    t != NULL && strcmp(t, "no content") == 0)
			json_array_clear(*lines);
	}
	return rc;
}

int
pve_task_stop(struct pve *pve, const char *upid, char **cause)
{
	char	*path;
	int	 rc;

	if ((path = task_path(upid, "", cause)) == NULL)
		return PVE_PERMANENT;
	rc = pve_request(pve, "DELETE", path, NULL, 0, NULL, cause);
	free(path);
	return rc;
}

int
pve_task_candidates(struct pve *pve, const char *node, const char *type,
    int vmid, const char *user, int64_t since, char ***upids, size_t *n,
    char **cause)
{
	char			 vmidbuf[16], sincebuf[24];
	struct pve_param	 p[] = {
		{ "typefilter", type },
		{ "vmid", vmidbuf },
		{ "userfilter", user },
		{ "since", sincebuf },
		{ "source", "all" },
		{ "limit", "100" }
	};
	json_t			*data, *t;
	struct pve_upid		 u;
	const char		*s;
	char			*path, id[16];
	size_t			 i, k;
	int64_t			*starts = NULL;
	int			 rc;

	*upids = NULL;
	*n = 0;
	snprintf(vmidbuf, sizeof vmidbuf, "%d", vmid);
	snprintf(id, sizeof id, "%d", vmid);
	snprintf(sincebuf, sizeof sincebuf, "%lld", (long long)since);
	path = xasprintf("/nodes/%s/tasks", node);
	rc = pve_request(pve, "GET", path, p, nitems(p), &data, cause);
	free(path);
	if (rc != PVE_OK)
		return rc;
	json_array_foreach(data, i, t) {
		s = json_string_value(json_object_get(t, "upid"));
		if (s == NULL || pve_upid_parse(s, &u) != 0)
			continue;
		/* Filtered again here: the server's filters are a help. */
		if ((type == NULL || strcmp(u.type, type) == 0) &&
		    (vmid <= 0 || strcmp(u.id, id) == 0) &&
		    (user == NULL || strcmp(u.user, user) == 0) &&
		    u.starttime >= since) {
			/* Oldest first. */
			for (k = *n; k > 0 && starts[k - 1] > u.starttime; k--)
				;
			*upids = xreallocarray(*upids, *n + 1,
			    sizeof **upids);
			starts = xreallocarray(starts, *n + 1, sizeof *starts);
			memmove(&(*upids)[k + 1], &(*upids)[k],
			    (*n - k) * sizeof **upids);
			memmove(&starts[k + 1], &starts[k],
			    (*n - k) * sizeof *starts);
			(*upids)[k] = xstrdup(s);
			starts[k] = u.starttime;
			(*n)++;
		}
		pve_upid_release(&u);
	}
	free(starts);
	json_decref(data);
	return PVE_OK;
}

int
pve_task_find(struct pve *pve, const char *node, const char *type, int vmid,
    const char *user, int64_t since, char **upid, char **cause)
{
	char	**v;
	size_t	  n;
	int	  rc;

	*upid = NULL;
	rc = pve_task_candidates(pve, node, type, vmid, user, since, &v, &n,
	    cause);
	if (rc != PVE_OK)
		return rc;
	if (n > 0) {
		*upid = v[n - 1];
		v[n - 1] = NULL;
	}
	strv_free(v, n);
	return PVE_OK;
}

char *
pve_task_final_line(struct pve *pve, const char *upid, char **cause)
{
	json_t		*lines, *l;
	char		*last = NULL;
	size_t		 i, got;
	int		 start = 0, page;

	for (page = 0; page < 40; page++) {
		if (pve_task_log(pve, upid, start, &lines, cause) != PVE_OK) {
			free(last);
			return NULL;
		}
		got = json_array_size(lines);
		json_array_foreach(lines, i, l) {
			const char	*t = json_string_value(
			    json_object_get(l, "t"));

			/* An empty log's placeholder is not a line. */
			if (t == NULL || (got == 1 &&
			    strcmp(t, "no content") == 0))
				continue;
			free(last);
			last = xstrdup(t);
		}
		json_decref(lines);
		if (got < 500)
			break;
		start += (int)got;
	}
	if (last == NULL || !str_has_prefix(last, "TASK ")) {
		free(last);
		set_cause(cause, "the task log has no final line");
		return NULL;
	}
	return last;
}

/*
 * Progress lines.
 */

/* Parses "12", "12.5"; returns the end or NULL. */
static const char *
parse_number(const char *p, double *v)
{
	char	*end;

	if (!isdigit((unsigned char)*p))
		return NULL;
	*v = strtod(p, &end);
	return end == p ? NULL : end;
}

/* "1.2 GiB" -> bytes; returns the end or NULL. */
static const char *
parse_size(const char *p, double *bytes)
{
	static const char	*units[] = { "B", "KiB", "MiB", "GiB", "TiB",
				    "PiB" };
	double			 v, mul = 1;
	size_t			 i, len;

	if ((p = parse_number(p, &v)) == NULL)
		return NULL;
	while (*p == ' ')
		p++;
	for (i = 0; i < nitems(units); i++, mul *= 1024) {
		len = strlen(units[i]);
		if (strncmp(p, units[i], len) == 0 &&
		    !isalpha((unsigned char)p[len])) {
			*bytes = v * mul;
			return p + len;
		}
	}
	/* A bare byte count. */
	*bytes = v;
	return p;
}

static int
clamp_percent(double v)
{
	if (v != v || v < 0)
		return -1;
	return v > 100 ? 100 : (int)v;
}

/* vzdump: "INFO:  45% (4.5 GiB of 10.0 GiB) in 30s, ..." and the older
 * "INFO: status: 45% (4831838208/10737418240), sparse 0% ...". */
static int
vzdump_percent(const char *line)
{
	const char	*p;
	double		 v;

	if ((p = strstr(line, "INFO:")) == NULL)
		return -1;
	p += strlen("INFO:");
	while (*p == ' ')
		p++;
	if (str_has_prefix(p, "status:")) {
		p += strlen("status:");
		while (*p == ' ')
			p++;
	}
	if ((p = parse_number(p, &v)) == NULL || *p != '%')
		return -1;
	return clamp_percent(v);
}

/* "transferred 1.2 GiB of 4.0 GiB" with an optional "(3.12%)". */
static int
transferred_percent(const char *line)
{
	const char	*p, *e;
	double		 done, total, v;

	if ((p = strstr(line, "transferred ")) == NULL)
		return -1;
	p += strlen("transferred ");
	if ((p = parse_size(p, &done)) == NULL || !str_has_prefix(p, " of "))
		return -1;
	p += strlen(" of ");
	if ((p = parse_size(p, &total)) == NULL)
		return -1;
	while (*p == ' ')
		p++;
	if (*p == '(' && (e = parse_number(p + 1, &v)) != NULL && *e == '%')
		return clamp_percent(v);
	if (total <= 0)
		return -1;
	return clamp_percent(done * 100 / total);
}

/* "migration status: active (transferred 123, remaining 456), total 789)" */
static int
migration_status_percent(const char *line)
{
	const char	*p;
	double		 done, total;

	if ((p = strstr(line, "migration status: active (transferred ")) ==
	    NULL)
		return -1;
	p += strlen("migration status: active (transferred ");
	if (parse_number(p, &done) == NULL)
		return -1;
	if ((p = strstr(p, "total ")) == NULL ||
	    parse_number(p + strlen("total "), &total) == NULL || total <= 0)
		return -1;
	return clamp_percent(done * 100 / total);
}

/* qmrestore of a vma archive: "progress 45% (read 4831838208 bytes, ...)" */
static int
restore_percent(const char *line)
{
	const char	*p;
	double		 v;

	if (!str_has_prefix(line, "progress "))
		return -1;
	p = line + strlen("progress ");
	if ((p = parse_number(p, &v)) == NULL || *p != '%')
		return -1;
	return clamp_percent(v);
}

int
pve_progress_percent(const char *line)
{
	int	 v;

	if (line == NULL)
		return -1;
	if ((v = vzdump_percent(line)) >= 0)
		return v;
	if ((v = restore_percent(line)) >= 0)
		return v;
	if ((v = migration_status_percent(line)) >= 0)
		return v;
	return transferred_percent(line);
}
