/*
 * sim.c - the Proxmox VE simulator's server: lifecycle, the request path
 * (faults, authentication, routing, parameter checks, quorum, handler,
 * reply in the API's envelope), the /_sim/ admin endpoints, scenario
 * files and the `pvebot sim` command line. See include/sim.h for what a
 * client sees.
 *
 * Every request takes the one state lock for its whole handling, after
 * advancing the tasks (sim_tick), so replies are consistent snapshots.
 * Delays (slow replies) are carried out by httpd after the lock is
 * released, so a slow reply never holds up other clients.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "sim_int.h"
#include "util.h"

#define SIM_DEFAULT_TOKEN	"pvebot@pve!bot"
#define SIM_DEFAULT_TASK_MS	1500
#define SIM_MAX_SCENARIO	(1024 * 1024)
#define API_PREFIX		"/api2/json"

static void
reply_json(struct httpd_resp *resp, json_t *o)
{
	char	*s = json_dumps(o, JSON_COMPACT);

	buf_puts(&resp->body, s);
	free(s);
}

/* The envelope of an error: {"data":null,"message":"...\n"}. */
static void
reply_error(struct httpd_resp *resp, int status, const char *message,
    json_t *errors)
{
	json_t	*o = json_object();
	char	*m;

	json_object_set_new(o, "data", json_null());
	if (errors != NULL)
		json_object_set(o, "errors", errors);
	if (message != NULL && status != 401) {
		m = xasprintf("%s\n", message);
		json_object_set_new(o, "message", json_string(m));
		free(m);
	}
	resp->status = status;
	reply_json(resp, o);
	json_decref(o);
}

/*
 * httpd takes the reason phrase as a pointer that must outlive the
 * handler; keep it in thread-local storage (one per connection thread).
 */
static _Thread_local char reason_tls[256];

static void
set_reason(struct httpd_resp *resp, const char *reason)
{
	size_t	i;

	snprintf(reason_tls, sizeof reason_tls, "%s", reason);
	for (i = 0; reason_tls[i] != '\0'; i++) {
		if ((unsigned char)reason_tls[i] < 0x20)
			reason_tls[i] = ' ';
	}
	resp->reason = reason_tls;
}

static void
record_call(struct sim *s, const char *method, const char *path,
    const struct httpd_kv *kv, size_t n, int status)
{
	json_t	*o, *p;
	size_t	 i;

	if (json_array_size(s->calls) >= SIM_MAX_CALLS)
		json_array_remove(s->calls, 0);
	p = json_object();
	for (i = 0; i < n; i++)
		json_object_set_new(p, kv[i].key, json_string(kv[i].value));
	o = json_pack("{sssssosi}", "method", method, "path", path, "params",
	    p, "status", status);
	json_array_append_new(s->calls, o);
}

/* The token in the Authorization header, or NULL (and *why). */
static const struct sim_token *
authenticate(struct sim *s, const struct httpd_req *req, const char **why)
{
	const char	*h = httpd_header(req, "Authorization");
	const char	*bang, *eq;
	size_t		 idlen;
	int		 i;

	if (h == NULL || !str_has_prefix(h, "PVEAPIToken=")) {
		*why = "No ticket";
		return (NULL);
	}
	h += strlen("PVEAPIToken=");
	bang = strchr(h, '!');
	eq = bang != NULL ? strchr(bang, '=') : NULL;
	*why = "authentication failure";
	if (eq == NULL)
		return (NULL);
	idlen = (size_t)(eq - h);
	for (i = 0; i < s->ntokens; i++) {
		if (strlen(s->tokens[i].id) == idlen &&
		    strncmp(s->tokens[i].id, h, idlen) == 0 &&
		    strcmp(s->tokens[i].secret, eq + 1) == 0)
			return (&s->tokens[i]);
	}
	return (NULL);
}

/* The first fault matching "METHOD /path", used up by one call. */
static int
fault_take(struct sim *s, const char *method, const char *path,
    struct sim_fault *out)
{
	char	*line;
	int	 i, hit;

	line = xasprintf("%s %s", method, path);
	for (i = 0; i < s->nfaults; i++) {
		hit = glob_match(s->faults[i].match, line);
		if (!hit)
			continue;
		*out = s->faults[i];
		if (s->faults[i].count > 0 && --s->faults[i].count == 0) {
			memmove(&s->faults[i], &s->faults[i + 1],
			    (size_t)(s->nfaults - i - 1) * sizeof *s->faults);
			s->nfaults--;
		}
		free(line);
		return (1);
	}
	free(line);
	return (0);
}

static void
api_request(struct sim *s, const struct httpd_req *req,
    struct httpd_resp *resp)
{
	const char		*path = req->path + strlen(API_PREFIX);
	const struct sim_route	*route;
	const struct sim_token	*tok;
	struct sim_call		 call;
	struct sim_reply	 r;
	struct sim_fault	 f;
	struct sim_fault	 lost = { .kind = SIM_FAULT_SLOW };
	struct httpd_kv		*q = NULL, *b = NULL;
	size_t			 nq = 0, nb = 0, i;
	const char		*why, *ct;
	struct sim_node		*n;
	json_t			*o, *errors;
	int			 known, write;
	char			*msg;

	memset(&call, 0, sizeof call);
	memset(&r, 0, sizeof r);
	if (*path == '\0')
		path = "/";

	/* Parameters: the query, plus the form body of POST and PUT. */
	if (httpd_parse_form(req->query, strlen(req->query), &q, &nq) != 0) {
		reply_error(resp, 400, "malformed query string", NULL);
		set_reason(resp, "malformed query string");
		record_call(s, req->method, path, NULL, 0, 400);
		return;
	}
	ct = httpd_header(req, "Content-Type");
	if (req->body_len > 0 && ct != NULL &&
	    strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		httpd_kv_free(q, nq);
		reply_error(resp, 415, "unsupported content type", NULL);
		set_reason(resp, "unsupported content type");
		record_call(s, req->method, path, NULL, 0, 415);
		return;
	}
	if (req->body_len > 0 &&
	    httpd_parse_form(req->body, req->body_len, &b, &nb) != 0) {
		httpd_kv_free(q, nq);
		reply_error(resp, 400, "malformed form body", NULL);
		set_reason(resp, "malformed form body");
		record_call(s, req->method, path, NULL, 0, 400);
		return;
	}
	call.params = xreallocarray(NULL, nq + nb + 1, sizeof *call.params);
	for (i = 0; i < nq; i++)
		call.params[call.nparams++] = q[i];
	for (i = 0; i < nb; i++)
		call.params[call.nparams++] = b[i];
	free(q);
	free(b);
	call.sim = s;
	call.method = req->method;

	/* Injected faults come first: they model the network and proxy. */
	if (fault_take(s, req->method, path, &f)) {
		switch (f.kind) {
		case SIM_FAULT_DROP:
			resp->drop = 1;
			record_call(s, req->method, path, call.params,
			    call.nparams, 0);
			goto out;
		case SIM_FAULT_GARBAGE:
			resp->status = 200;
			buf_puts(&resp->body, "{\"data\":[{\"vmid\":10");
			buf_puts(&resp->body, "<html>502 Bad Gateway</html>");
			record_call(s, req->method, path, call.params,
			    call.nparams, 200);
			goto out;
		case SIM_FAULT_ERROR:
			reply_error(resp, f.status, f.message, NULL);
			set_reason(resp, f.message);
			record_call(s, req->method, path, call.params,
			    call.nparams, f.status);
			goto out;
		case SIM_FAULT_UNAUTHORIZED:
			reply_error(resp, 401, NULL, NULL);
			set_reason(resp, "authentication failure");
			record_call(s, req->method, path, call.params,
			    call.nparams, 401);
			goto out;
		case SIM_FAULT_SLOW:
			resp->delay_ms = f.delay_ms;
			break;
		case SIM_FAULT_LOST:
			/* Proxmox does it; its answer never arrives. */
			lost = f;
			break;
		}
	}

	if ((tok = authenticate(s, req, &why)) == NULL) {
		reply_error(resp, 401, NULL, NULL);
		set_reason(resp, why);
		record_call(s, req->method, path, call.params, call.nparams,
		    401);
		goto out;
	}
	call.token = tok;
	call.token_user = tok->id;

	route = sim_route_match(req->method, path, &call, &known);
	if (route == NULL) {
		msg = xasprintf("Method '%s %s' not implemented", req->method,
		    path);
		reply_error(resp, 501, msg, NULL);
		set_reason(resp, msg);
		free(msg);
		record_call(s, req->method, path, call.params, call.nparams,
		    501);
		goto out;
	}
	if (call.node[0] != '\0' && !sim_route_local(route) &&
	    (n = sim_node_find(s, call.node)) != NULL && !n->online) {
		reply_error(resp, 595, "no route to host", NULL);
		set_reason(resp, "no route to host");
		record_call(s, req->method, path, call.params, call.nparams,
		    595);
		goto out;
	}
	errors = json_object();
	if (sim_check_params(route, &call, errors) > 0) {
		reply_error(resp, 400, "Parameter verification failed.",
		    errors);
		set_reason(resp, "Parameter verification failed.");
		json_decref(errors);
		record_call(s, req->method, path, call.params, call.nparams,
		    400);
		goto out;
	}
	json_decref(errors);
	write = strcmp(req->method, "GET") != 0;
	if (write && !s->quorate) {
		reply_error(resp, 500, "cluster not ready - no quorum?", NULL);
		set_reason(resp, "cluster not ready - no quorum?");
		record_call(s, req->method, path, call.params, call.nparams,
		    500);
		goto out;
	}

	r.status = 200;
	route->fn(&call, &r);
	if (r.status == 200 && r.raw != NULL) {
		buf_puts(&resp->body, "{\"data\":");
		buf_puts(&resp->body, r.raw);
		buf_puts(&resp->body, "}");
	} else if (r.status == 200) {
		o = json_object();
		json_object_set_new(o, "data", r.data != NULL ? r.data :
		    json_null());
		r.data = NULL;
		if (r.extra != NULL)
			json_object_update(o, r.extra);
		reply_json(resp, o);
		json_decref(o);
	} else if (r.errors != NULL) {
		reply_error(resp, r.status, "Parameter verification failed.",
		    r.errors);
		set_reason(resp, "Parameter verification failed.");
	} else {
		reply_error(resp, r.status, r.message, NULL);
		set_reason(resp, r.message != NULL ? r.message : "error");
	}
	record_call(s, req->method, path, call.params, call.nparams,
	    resp->status);
	log_debug("sim", "call method=%s path=%s status=%d", req->method,
	    path, resp->status);
	if (lost.kind == SIM_FAULT_LOST) {
		buf_reset(&resp->body);
		if (lost.status == 0)
			resp->drop = 1;
		else {
			reply_error(resp, lost.status, lost.message, NULL);
			set_reason(resp, lost.message);
		}
	}
	json_decref(r.data);
	json_decref(r.errors);
	json_decref(r.extra);
	free(r.message);
	free(r.raw);
out:
	httpd_kv_free(call.params, call.nparams);
}

/* Admin: one object of POST /_sim/fault. */
static int
admin_fault_one(struct sim *s, json_t *o, char **cause)
{
	const char	*kind, *v;
	struct sim_fault *f;
	struct sim_node	*n;
	struct sim_token *tok = NULL;
	json_t		*j;
	int		 i;

	if (!json_is_object(o))
		return (set_cause(cause, "fault: expected an object"));
	if (json_is_true(json_object_get(o, "clear"))) {
		s->nfaults = 0;
		s->ntaskfails = 0;
	}
	if ((j = json_object_get(o, "task_ms")) != NULL) {
		if (!json_is_integer(j) || json_integer_value(j) < 0 ||
		    json_integer_value(j) > 3600000)
			return (set_cause(cause, "fault: bad task_ms"));
		s->task_ms = (int)json_integer_value(j);
	}
	if ((j = json_object_get(o, "quorate")) != NULL)
		s->quorate = json_is_true(j);
	if ((v = json_string_value(json_object_get(o, "node"))) != NULL) {
		if ((n = sim_node_find(s, v)) == NULL)
			return (set_cause(cause, "fault: no node %s", v));
		n->online = json_is_true(json_object_get(o, "online"));
	}
	if ((v = json_string_value(json_object_get(o, "token"))) != NULL) {
		for (i = 0; i < s->ntokens; i++) {
			if (strcmp(s->tokens[i].id, v) == 0)
				tok = &s->tokens[i];
		}
		if (tok == NULL)
			return (set_cause(cause, "fault: no token %s", v));
		if ((v = json_string_value(json_object_get(o, "revoke"))) !=
		    NULL) {
			if (tok->all) {
				/* Expand "every privilege" into a list. */
				static const char *const privs[] = {
				    "Sys.Audit", "Sys.Modify", "Sys.PowerMgmt",
				    "VM.Audit", "VM.PowerMgmt", "VM.Snapshot",
				    "VM.Snapshot.Rollback", "VM.Backup",
				    "VM.Migrate", "VM.Clone", "VM.Allocate",
				    "VM.Config.Options", "Datastore.Audit",
				    "Datastore.AllocateSpace" };
				tok->all = 0;
				tok->nprivs = 0;
				for (i = 0; i < (int)nitems(privs); i++)
					snprintf(tok->privs[tok->nprivs++],
					    sizeof tok->privs[0], "%s",
					    privs[i]);
			}
			for (i = 0; i < tok->nprivs; i++) {
				if (strcmp(tok->privs[i], v) == 0) {
					memmove(tok->privs[i],
					    tok->privs[i + 1],
					    (size_t)(tok->nprivs - i - 1) *
					    sizeof tok->privs[0]);
					tok->nprivs--;
					break;
				}
			}
		}
		if ((v = json_string_value(json_object_get(o, "grant"))) !=
		    NULL && !sim_token_has(tok, v) &&
		    tok->nprivs < SIM_MAX_PRIVS)
			snprintf(tok->privs[tok->nprivs++],
			    sizeof tok->privs[0], "%s", v);
	}
	if ((v = json_string_value(json_object_get(o, "fail_task"))) != NULL) {
		if (s->ntaskfails >= SIM_MAX_TASKFAILS)
			return (set_cause(cause, "fault: too many task "
			    "failures queued"));
		snprintf(s->taskfails[s->ntaskfails].type,
		    sizeof s->taskfails[0].type, "%s", v);
		v = json_string_value(json_object_get(o, "message"));
		snprintf(s->taskfails[s->ntaskfails].message,
		    sizeof s->taskfails[0].message, "%s",
		    v != NULL ? v : "command failed");
		s->ntaskfails++;
	}
	if ((kind = json_string_value(json_object_get(o, "kind"))) != NULL) {
		if (s->nfaults >= SIM_MAX_FAULTS)
			return (set_cause(cause, "fault: too many faults"));
		f = &s->faults[s->nfaults];
		memset(f, 0, sizeof *f);
		if (strcmp(kind, "error") == 0)
			f->kind = SIM_FAULT_ERROR;
		else if (strcmp(kind, "garbage") == 0)
			f->kind = SIM_FAULT_GARBAGE;
		else if (strcmp(kind, "drop") == 0)
			f->kind = SIM_FAULT_DROP;
		else if (strcmp(kind, "slow") == 0)
			f->kind = SIM_FAULT_SLOW;
		else if (strcmp(kind, "unauthorized") == 0)
			f->kind = SIM_FAULT_UNAUTHORIZED;
		else if (strcmp(kind, "lost") == 0)
			f->kind = SIM_FAULT_LOST;
		else
			return (set_cause(cause, "fault: unknown kind %s",
			    kind));
		v = json_string_value(json_object_get(o, "match"));
		snprintf(f->match, sizeof f->match, "%s", v != NULL ? v : "*");
		j = json_object_get(o, "status");
		f->status = json_is_integer(j) ? (int)json_integer_value(j) :
		    f->kind == SIM_FAULT_LOST ? 0 : 500;
		if ((f->status < 100 && !(f->kind == SIM_FAULT_LOST &&
		    f->status == 0)) || f->status > 999)
			return (set_cause(cause, "fault: bad status"));
		v = json_string_value(json_object_get(o, "message"));
		snprintf(f->message, sizeof f->message, "%s", v != NULL ? v :
		    "Internal Server Error");
		j = json_object_get(o, "delay_ms");
		f->delay_ms = json_is_integer(j) ?
		    (int)json_integer_value(j) : 2000;
		if (f->delay_ms < 0 || f->delay_ms > 600000)
			return (set_cause(cause, "fault: bad delay_ms"));
		j = json_object_get(o, "count");
		f->count = json_is_integer(j) ? (int)json_integer_value(j) : 0;
		s->nfaults++;
	}
	return (0);
}

static int
admin_guest_one(struct sim *s, json_t *o, char **cause)
{
	struct sim_guest	*g;
	const char		*v;
	json_t			*j;

	j = json_object_get(o, "vmid");
	if (!json_is_integer(j) ||
	    (g = sim_guest_find(s, (int)json_integer_value(j))) == NULL)
		return (set_cause(cause, "guest: unknown or missing vmid"));
	if ((v = json_string_value(json_object_get(o, "status"))) != NULL) {
		if (strcmp(v, "running") != 0 && strcmp(v, "stopped") != 0)
			return (set_cause(cause, "guest: bad status %s", v));
		g->running = strcmp(v, "running") == 0;
		g->paused = 0;
		if (g->running) {
			g->started = wall_now();
			if (g->mem == 0)
				g->mem = g->maxmem / 3;
		} else
			g->cpu = 0, g->mem = 0;
	}
	if ((v = json_string_value(json_object_get(o, "lock"))) != NULL)
		snprintf(g->lock, sizeof g->lock, "%s", v);
	if ((v = json_string_value(json_object_get(o, "node"))) != NULL) {
		if (sim_node_find(s, v) == NULL)
			return (set_cause(cause, "guest: no node %s", v));
		snprintf(g->node, sizeof g->node, "%s", v);
	}
	if ((v = json_string_value(json_object_get(o, "tags"))) != NULL)
		snprintf(g->tags, sizeof g->tags, "%s", v);
	if ((v = json_string_value(json_object_get(o, "name"))) != NULL)
		snprintf(g->name, sizeof g->name, "%s", v);
	if ((j = json_object_get(o, "onboot")) != NULL)
		g->onboot = json_is_true(j);
	if ((v = json_string_value(json_object_get(o, "startup"))) != NULL) {
		if (sim_startup_parse(v, NULL, NULL) != 0 ||
		    strlen(v) >= sizeof g->startup)
			return (set_cause(cause, "guest: bad startup %s", v));
		snprintf(g->startup, sizeof g->startup, "%s", v);
	}
	return (0);
}

/*
 * A snapshot as if taken at `snaptime` (tests of retention need old
 * ones): {"vmid":101,"name":"auto-1","snaptime":N[,"description":".."]};
 * its parent is the guest's newest snapshot, as Proxmox chains them.
 */
static const struct sim_param snapname_param = { .name = "snapname",
	.type = PT_STR, .fmt = F_CONFIGID, .maxlen = 40 };

static int
admin_snapshot_one(struct sim *s, json_t *o, char **cause)
{
	struct sim_guest	*g;
	struct sim_snap		*sn;
	const char		*name, *desc;
	char			*why = NULL;
	json_t			*j;
	int			 i;

	j = json_object_get(o, "vmid");
	if (!json_is_integer(j) ||
	    (g = sim_guest_find(s, (int)json_integer_value(j))) == NULL)
		return (set_cause(cause, "snapshot: unknown or missing vmid"));
	name = json_string_value(json_object_get(o, "name"));
	if (name == NULL || strlen(name) >= sizeof sn->name ||
	    strcmp(name, "current") == 0)
		return (set_cause(cause, "snapshot: bad name"));
	if (sim_check_value(&snapname_param, name, &why) != 0) {
		set_cause(cause, "snapshot: %s", why);
		free(why);
		return (-1);
	}
	for (i = 0; i < g->nsnaps; i++) {
		if (strcmp(g->snaps[i].name, name) == 0)
			return (set_cause(cause, "snapshot: %s exists", name));
	}
	j = json_object_get(o, "snaptime");
	if (!json_is_integer(j) || json_integer_value(j) <= 0)
		return (set_cause(cause, "snapshot: bad snaptime"));
	if (sim_snap_add(g, &sn) != 0)
		return (set_cause(cause, "snapshot: too many"));
	snprintf(sn->name, sizeof sn->name, "%s", name);
	sn->snaptime = json_integer_value(j);
	if ((desc = json_string_value(json_object_get(o, "description"))) !=
	    NULL)
		snprintf(sn->description, sizeof sn->description, "%s", desc);
	if (g->nsnaps > 1)
		snprintf(sn->parent, sizeof sn->parent, "%s",
		    g->snaps[g->nsnaps - 2].name);
	return (0);
}

static void
metric_set(json_t *o, const char *key, double *d, int64_t *i)
{
	json_t	*j = json_object_get(o, key);

	if (j == NULL || !json_is_number(j))
		return;
	if (d != NULL)
		*d = json_number_value(j);
	if (i != NULL)
		*i = (int64_t)json_number_value(j);
}

static int
admin_metrics_one(struct sim *s, json_t *o, char **cause)
{
	struct sim_node		*n;
	struct sim_guest	*g;
	struct sim_storage	*st;
	const char		*v;
	json_t			*j;

	if ((v = json_string_value(json_object_get(o, "node"))) != NULL &&
	    json_object_get(o, "vmid") == NULL &&
	    json_object_get(o, "storage") == NULL) {
		if ((n = sim_node_find(s, v)) == NULL)
			return (set_cause(cause, "metrics: no node %s", v));
		metric_set(o, "cpu", &n->cpu, NULL);
		metric_set(o, "mem", NULL, &n->mem);
		metric_set(o, "maxmem", NULL, &n->maxmem);
		metric_set(o, "disk", NULL, &n->disk);
		metric_set(o, "maxdisk", NULL, &n->maxdisk);
		return (0);
	}
	if ((j = json_object_get(o, "vmid")) != NULL) {
		if (!json_is_integer(j) || (g = sim_guest_find(s,
		    (int)json_integer_value(j))) == NULL)
			return (set_cause(cause, "metrics: unknown vmid"));
		metric_set(o, "cpu", &g->cpu, NULL);
		metric_set(o, "mem", NULL, &g->mem);
		metric_set(o, "maxmem", NULL, &g->maxmem);
		metric_set(o, "disk", NULL, &g->disk);
		metric_set(o, "maxdisk", NULL, &g->maxdisk);
		return (0);
	}
	if ((v = json_string_value(json_object_get(o, "storage"))) != NULL) {
		int64_t	 used = -1;
		int	 ni = -1;

		if ((st = sim_storage_find(s, v)) == NULL)
			return (set_cause(cause, "metrics: no storage %s", v));
		if ((v = json_string_value(json_object_get(o, "node"))) !=
		    NULL && (ni = sim_node_index(s, v)) < 0)
			return (set_cause(cause, "metrics: no node %s", v));
		metric_set(o, "maxdisk", NULL, &st->maxdisk);
		metric_set(o, "disk", NULL, &used);
		if (used >= 0)
			sim_storage_set_used(st, ni, used);
		return (0);
	}
	return (set_cause(cause, "metrics: need node, vmid or storage"));
}

static int
token_add(struct sim *s, const char *id, const char *secret, json_t *privs,
    char **cause)
{
	struct sim_token	*t;
	size_t			 i;
	const char		*p;

	if (s->ntokens >= SIM_MAX_TOKENS)
		return (set_cause(cause, "too many tokens"));
	if (strchr(id, '!') == NULL || strchr(id, '@') == NULL ||
	    strlen(id) >= sizeof t->id || strlen(secret) >= sizeof t->secret ||
	    *secret == '\0')
		return (set_cause(cause, "bad token id or secret for %s", id));
	t = &s->tokens[s->ntokens];
	memset(t, 0, sizeof *t);
	snprintf(t->id, sizeof t->id, "%s", id);
	snprintf(t->secret, sizeof t->secret, "%s", secret);
	if (privs == NULL)
		t->all = 1;
	else {
		for (i = 0; i < json_array_size(privs) &&
		    t->nprivs < SIM_MAX_PRIVS; i++) {
			p = json_string_value(json_array_get(privs, i));
			if (p == NULL)
				return (set_cause(cause, "bad privilege"));
			if (strcmp(p, "*") == 0)
				t->all = 1;
			snprintf(t->privs[t->nprivs++], sizeof t->privs[0],
			    "%s", p);
		}
	}
	log_add_secret(t->secret);
	s->ntokens++;
	return (0);
}

/* Applies one object or an array of them; state lock held. */
static int
admin_apply(struct sim *s, const char *what, json_t *j, char **cause)
{
	int	(*fn)(struct sim *, json_t *, char **);
	size_t	 i;

	if (strcmp(what, "fault") == 0)
		fn = admin_fault_one;
	else if (strcmp(what, "guest") == 0)
		fn = admin_guest_one;
	else if (strcmp(what, "metrics") == 0)
		fn = admin_metrics_one;
	else if (strcmp(what, "snapshot") == 0)
		fn = admin_snapshot_one;
	else if (strcmp(what, "health") == 0)
		fn = sim_health_admin;
	else if (strcmp(what, "backup") == 0)
		fn = sim_backup_admin;
	else if (strcmp(what, "prov") == 0)
		fn = sim_prov_admin;
	else
		return (set_cause(cause, "unknown admin request %s", what));
	if (json_is_array(j)) {
		for (i = 0; i < json_array_size(j); i++) {
			if (fn(s, json_array_get(j, i), cause) != 0)
				return (-1);
		}
		return (0);
	}
	return (fn(s, j, cause));
}

int
sim_admin(struct sim *s, const char *what, const char *text, char **cause)
{
	json_error_t	 err;
	json_t		*j;
	int		 rc;

	j = json_loads(text, 0, &err);
	if (j == NULL)
		return (set_cause(cause, "%s: bad JSON: %s", what, err.text));
	pthread_mutex_lock(&s->lock);
	sim_tick(s);
	rc = admin_apply(s, what, j, cause);
	pthread_mutex_unlock(&s->lock);
	json_decref(j);
	return (rc);
}

static json_t *
state_json(struct sim *s)
{
	json_t	*o = json_object(), *a;
	int	 i;

	a = json_array();
	for (i = 0; i < s->nguests; i++)
		json_array_append_new(a, json_pack("{sisssssisssb}", "vmid",
		    s->guests[i].vmid, "name", s->guests[i].name, "node",
		    s->guests[i].node, "running", s->guests[i].running, "lock",
		    s->guests[i].lock, "lxc", s->guests[i].lxc));
	json_object_set_new(o, "guests", a);
	a = json_array();
	for (i = 0; i < s->ntasks; i++)
		json_array_append_new(a, json_pack("{sssbss}", "upid",
		    s->tasks[i]->upid, "running", s->tasks[i]->running,
		    "exitstatus", s->tasks[i]->exitstatus != NULL ?
		    s->tasks[i]->exitstatus : ""));
	json_object_set_new(o, "tasks", a);
	json_object_set_new(o, "quorate", json_boolean(s->quorate));
	return (o);
}

static void
admin_request(struct sim *s, const struct httpd_req *req,
    struct httpd_resp *resp)
{
	const char	*what = req->path + strlen("/_sim/");
	json_error_t	 err;
	json_t		*j, *o;
	char		*cause = NULL;

	if (strcmp(what, "calls") == 0 && strcmp(req->method, "GET") == 0) {
		reply_json(resp, s->calls);
		return;
	}
	if (strcmp(what, "calls") == 0 && strcmp(req->method, "DELETE") == 0) {
		json_array_clear(s->calls);
		buf_puts(&resp->body, "{}");
		return;
	}
	if (strcmp(what, "stats") == 0 && strcmp(req->method, "GET") == 0) {
		/* Connections: the TLS handshakes clients cost it. */
		buf_printf(&resp->body, "{\"connections\":%llu}",
		    httpd_accepted(s->httpd));
		return;
	}
	if (strcmp(what, "state") == 0 && strcmp(req->method, "GET") == 0) {
		o = state_json(s);
		reply_json(resp, o);
		json_decref(o);
		return;
	}
	if (strcmp(req->method, "POST") != 0 || (strcmp(what, "fault") != 0 &&
	    strcmp(what, "guest") != 0 && strcmp(what, "metrics") != 0 &&
	    strcmp(what, "health") != 0 && strcmp(what, "backup") != 0 &&
	    strcmp(what, "prov") != 0)) {
		resp->status = 404;
		buf_puts(&resp->body, "{\"error\":\"no such admin endpoint\"}");
		return;
	}
	j = json_loadb(req->body, req->body_len, 0, &err);
	if (j == NULL) {
		resp->status = 400;
		o = json_pack("{ss}", "error", err.text);
		reply_json(resp, o);
		json_decref(o);
		return;
	}
	if (admin_apply(s, what, j, &cause) != 0) {
		resp->status = 400;
		o = json_pack("{ss}", "error", cause);
		reply_json(resp, o);
		json_decref(o);
		free(cause);
	} else
		buf_puts(&resp->body, "{\"ok\":true}");
	json_decref(j);
}

static void
sim_handler(void *arg, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct sim	*s = arg;

	pthread_mutex_lock(&s->lock);
	sim_tick(s);
	if (str_has_prefix(req->path, "/_sim/"))
		admin_request(s, req, resp);
	else if (strcmp(req->path, API_PREFIX) == 0 ||
	    str_has_prefix(req->path, API_PREFIX "/"))
		api_request(s, req, resp);
	else {
		resp->status = 501;
		set_reason(resp, "Not Implemented");
		buf_puts(&resp->body, "{\"data\":null}");
	}
	pthread_mutex_unlock(&s->lock);
}

static int
load_scenario(struct sim *s, const char *path, char **cause)
{
	json_error_t	 err;
	json_t		*j, *a, *t;
	char		*text, *why = NULL;
	size_t		 len, i;
	int		 rc = -1;
	static const char *const keys[] = { "fault", "guest", "metrics",
	    "health" };

	if ((text = read_file(path, SIM_MAX_SCENARIO, &len, cause)) == NULL)
		return (-1);
	j = json_loadb(text, len, 0, &err);
	free(text);
	if (j == NULL)
		return (set_cause(cause, "%s:%d:%d: %s", path, err.line,
		    err.column, err.text));
	if (!json_is_object(j)) {
		set_cause(cause, "%s: expected a JSON object", path);
		goto out;
	}
	a = json_object_get(j, "tokens");
	for (i = 0; i < json_array_size(a); i++) {
		t = json_array_get(a, i);
		if (!json_is_string(json_object_get(t, "id")) ||
		    !json_is_string(json_object_get(t, "secret"))) {
			set_cause(cause, "%s: tokens[%zu] needs id and secret",
			    path, i);
			goto out;
		}
		if (token_add(s, json_string_value(json_object_get(t, "id")),
		    json_string_value(json_object_get(t, "secret")),
		    json_object_get(t, "privs"), &why) != 0)
			goto bad;
	}
	if ((a = json_object_get(j, "generate_guests")) != NULL &&
	    (!json_is_integer(a) || sim_guests_generate(s,
	    (int)json_integer_value(a), &why) != 0)) {
		if (why == NULL)
			why = xstrdup("generate_guests: expected a number");
		goto bad;
	}
	for (i = 0; i < nitems(keys); i++) {
		if ((a = json_object_get(j, keys[i])) != NULL &&
		    admin_apply(s, keys[i], a, &why) != 0)
			goto bad;
	}
	rc = 0;
	goto out;
bad:
	set_cause(cause, "%s: %s", path, why);
	free(why);
out:
	json_decref(j);
	return (rc);
}

struct sim *
sim_start(const struct sim_opts *opts, char **cause)
{
	struct sim		*s;
	struct httpd_opts	 ho;

	s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	s->task_ms = opts->task_ms > 0 ? opts->task_ms : SIM_DEFAULT_TASK_MS;
	s->calls = json_array();
	sim_state_init(s);
	if (opts->guests > 0 &&
	    sim_guests_generate(s, opts->guests, cause) != 0)
		goto fail;
	if (opts->secret != NULL && token_add(s, opts->token_id != NULL ?
	    opts->token_id : SIM_DEFAULT_TOKEN, opts->secret, NULL,
	    cause) != 0)
		goto fail;
	if (opts->scenario != NULL &&
	    load_scenario(s, opts->scenario, cause) != 0)
		goto fail;

	memset(&ho, 0, sizeof ho);
	ho.port = opts->port;
	ho.tls = opts->tls;
	ho.handler = sim_handler;
	ho.arg = s;
	ho.name = "sim";
	if ((s->httpd = httpd_start(&ho, cause)) == NULL)
		goto fail;
	log_info("sim", "listening port=%d tls=%d", httpd_port(s->httpd),
	    opts->tls);
	return (s);
fail:
	sim_stop(s);
	return (NULL);
}

void
sim_stop(struct sim *s)
{
	if (s == NULL)
		return;
	httpd_stop(s->httpd);
	sim_state_free(s);
	json_decref(s->calls);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int
sim_port(const struct sim *s)
{
	return (httpd_port(s->httpd));
}

unsigned long long
sim_connections(struct sim *s)
{
	return (httpd_accepted(s->httpd));
}

const char *
sim_fingerprint(const struct sim *s)
{
	return (httpd_fingerprint(s->httpd));
}

const char *
sim_cert_pem(const struct sim *s)
{
	return (httpd_cert_pem(s->httpd));
}

static void
sim_usage(void)
{
	fprintf(stderr, "usage: pvebot sim [--port N] [--token-id ID] "
	    "[--secret-env NAME] [--task-ms N] [--scenario FILE] "
	    "[--guests N] [--no-tls]\n");
}

int
sim_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "token-id", required_argument, NULL, 't' },
		{ "secret-env", required_argument, NULL, 'e' },
		{ "task-ms", required_argument, NULL, 'm' },
		{ "scenario", required_argument, NULL, 's' },
		{ "guests", required_argument, NULL, 'g' },
		{ "no-tls", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim_opts	 o;
	struct sim	*s;
	const char	*errstr, *env = "PVEBOT_SIM_SECRET";
	char		*cause = NULL;
	sigset_t	 set;
	int		 ch, sig;

	memset(&o, 0, sizeof o);
	o.tls = 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			o.port = (int)strtonum(optarg, 0, 65535, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "sim: --port %s: %s\n", optarg,
				    errstr);
				return (2);
			}
			break;
		case 't':
			o.token_id = optarg;
			break;
		case 'e':
			env = optarg;
			break;
		case 'm':
			o.task_ms = (int)strtonum(optarg, 1, 3600000, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "sim: --task-ms %s: %s\n",
				    optarg, errstr);
				return (2);
			}
			break;
		case 's':
			o.scenario = optarg;
			break;
		case 'g':
			o.guests = (int)strtonum(optarg, 13, 100000, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "sim: --guests %s: %s (from "
				    "13, the homelab's guests, to 100000)\n",
				    optarg, errstr);
				return (2);
			}
			break;
		case 'n':
			o.tls = 0;
			break;
		default:
			sim_usage();
			return (2);
		}
	}
	o.secret = getenv(env);
	if (o.secret == NULL || *o.secret == '\0') {
		fprintf(stderr, "sim: the token secret must be in the "
		    "environment variable %s\n", env);
		return (2);
	}
	log_add_secret(o.secret);

	/* Every thread inherits this mask; the main thread waits below. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((s = sim_start(&o, &cause)) == NULL) {
		fprintf(stderr, "sim: %s\n", cause);
		free(cause);
		return (1);
	}
	printf("sim: listening port=%d fingerprint=%s\n", sim_port(s),
	    sim_fingerprint(s) != NULL ? sim_fingerprint(s) : "none");
	fflush(stdout);
	while (sigwait(&set, &sig) != 0 || (sig != SIGINT && sig != SIGTERM))
		;
	log_info("sim", "stopping signal=%d connections=%llu", sig,
	    sim_connections(s));
	sim_stop(s);
	return (0);
}
