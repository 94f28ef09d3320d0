/*
 * test_sim.c - the Proxmox VE simulator over real HTTPS with libcurl:
 * authentication and privileges, the shapes of the replies, tasks that
 * run, log progress and take effect, locks, parameter checks with the
 * real API's messages, injected faults, the admin endpoints, the
 * `pvebot sim` command line and its fingerprint, and a check of every
 * endpoint and parameter against the official schema.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "sim.h"
#include "t.h"
#include "util.h"

#define SECRET	"5f0e6b1c-8d5e-4a57-9a0e-4d2f3c1b7a10"
#define AUTH	"Authorization: PVEAPIToken=pvebot@pve!bot=" SECRET

struct reply {
	long	 status;
	int	 rc;
	char	 reason[256];
	char	*body;
	json_t	*json;
};

static size_t
collect(char *p, size_t size, size_t nmemb, void *arg)
{
	buf_append(arg, p, size * nmemb);
	return (size * nmemb);
}

static size_t
header_line(char *p, size_t size, size_t nmemb, void *arg)
{
	struct reply	*r = arg;
	size_t		 n = size * nmemb, len;
	const char	*sp;

	if (n > 9 && strncmp(p, "HTTP/1.1 ", 9) == 0 &&
	    strncmp(p + 9, "100", 3) != 0) {
		sp = memchr(p + 9, ' ', n - 9);
		if (sp != NULL) {
			len = n - (size_t)(sp + 1 - p);
			while (len > 0 && (sp[len] == '\r' || sp[len] == '\n'))
				len--;
			if (len >= sizeof r->reason)
				len = sizeof r->reason - 1;
			memcpy(r->reason, sp + 1, len);
			r->reason[len] = '\0';
			/* Trim CR LF. */
			r->reason[strcspn(r->reason, "\r\n")] = '\0';
		}
	}
	return (n);
}

/*
 * One API call. params is form text (query for GET/DELETE, body for
 * POST/PUT). auth NULL = the default token, "" = no header.
 */
static void
call_full(struct sim *s, const char *method, const char *path,
    const char *params, const char *auth, struct reply *r)
{
	CURL			*c = curl_easy_init();
	struct curl_slist	*hl = NULL;
	struct curl_blob	 blob;
	struct buf		 out;
	char			*url;
	int			 query;

	memset(r, 0, sizeof *r);
	buf_init(&out, 8 << 20);
	query = strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0;
	if (str_has_prefix(path, "/_sim/"))
		url = xasprintf("https://127.0.0.1:%d%s%s%s", sim_port(s), path,
		    query && params != NULL ? "?" : "",
		    query && params != NULL ? params : "");
	else
		url = xasprintf("https://127.0.0.1:%d/api2/json%s%s%s",
		    sim_port(s), path, query && params != NULL ? "?" : "",
		    query && params != NULL ? params : "");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (!query && params != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, params);
	if (auth == NULL)
		hl = curl_slist_append(hl, AUTH);
	else if (*auth != '\0')
		hl = curl_slist_append(hl, auth);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	blob.data = (void *)sim_cert_pem(s);
	blob.len = strlen(sim_cert_pem(s));
	blob.flags = CURL_BLOB_COPY;
	curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = buf_steal(&out);
	r->json = json_loads(r->body, 0, NULL);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	free(url);
}

static void
call(struct sim *s, const char *method, const char *path, const char *params,
    struct reply *r)
{
	call_full(s, method, path, params, NULL, r);
}

static void
reply_free(struct reply *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof *r);
}

static json_t *
data(struct reply *r)
{
	return (json_object_get(r->json, "data"));
}

static const char *
errors_of(struct reply *r, const char *param)
{
	return (json_string_value(json_object_get(json_object_get(r->json,
	    "errors"), param)));
}

static struct sim *
start_sim(int task_ms, const char *scenario)
{
	struct sim_opts	 o;
	struct sim	*s;
	char		*cause = NULL;

	memset(&o, 0, sizeof o);
	o.tls = 1;
	o.secret = SECRET;
	o.task_ms = task_ms;
	o.scenario = scenario;
	s = sim_start(&o, &cause);
	if (s == NULL)
		t_fail(__FILE__, __LINE__, "sim_start: %s", cause);
	free(cause);
	return (s);
}

static void
admin(struct sim *s, const char *what, const char *json)
{
	char	*cause = NULL;

	if (sim_admin(s, what, json, &cause) != 0)
		t_fail(__FILE__, __LINE__, "sim_admin %s: %s", what, cause);
	free(cause);
}

/* Waits for a task to stop; returns its exitstatus (caller frees). */
static char *
wait_task(struct sim *s, const char *node, const char *upid, int timeout_ms)
{
	struct reply	 r;
	char		*path, *esc, *exitstatus = NULL;
	int64_t		 end = now_ms() + timeout_ms;
	CURL		*c = curl_easy_init();

	esc = curl_easy_escape(c, upid, 0);
	path = xasprintf("/nodes/%s/tasks/%s/status", node, esc);
	while (now_ms() < end) {
		call(s, "GET", path, NULL, &r);
		if (r.status == 200 && strcmp(json_string_value(
		    json_object_get(data(&r), "status")), "stopped") == 0) {
			exitstatus = xstrdup(json_string_value(
			    json_object_get(data(&r), "exitstatus")));
			reply_free(&r);
			break;
		}
		reply_free(&r);
		sleep_ms(50);
	}
	curl_free(esc);
	curl_easy_cleanup(c);
	free(path);
	return (exitstatus);
}

static json_t *
find_vmid(json_t *list, int vmid)
{
	size_t	 i;
	json_t	*o;

	json_array_foreach(list, i, o) {
		if (json_integer_value(json_object_get(o, "vmid")) == vmid)
			return (o);
	}
	return (NULL);
}

static json_t *
find_id(json_t *list, const char *id)
{
	size_t	 i;
	json_t	*o;

	json_array_foreach(list, i, o) {
		const char *v = json_string_value(json_object_get(o, "id"));
		if (v != NULL && strcmp(v, id) == 0)
			return (o);
	}
	return (NULL);
}

static int
count_calls(struct sim *s, const char *method, const char *path)
{
	struct reply	 r;
	size_t		 i;
	json_t		*o;
	int		 n = 0;

	call(s, "GET", "/_sim/calls", NULL, &r);
	json_array_foreach(r.json, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "method")),
		    method) == 0 && strcmp(json_string_value(
		    json_object_get(o, "path")), path) == 0)
			n++;
	}
	reply_free(&r);
	return (n);
}

static void
test_auth_401_403(void)
{
	struct sim	*s;
	struct reply	 r;
	const char	*scen;

	scen = t_write("scenario.json", "{\"tokens\":[{\"id\":"
	    "\"viewer@pve!ro\",\"secret\":\"ro-secret-1\",\"privs\":"
	    "[\"VM.Audit\",\"Sys.Audit\"]}]}", 0600);
	if ((s = start_sim(200, scen)) == NULL)
		return;
	call_full(s, "GET", "/nodes", NULL, "", &r);
	T_EQ_INT(r.status, 401);
	T_EQ_STR(r.reason, "No ticket");
	T_OK(json_is_null(data(&r)));
	reply_free(&r);
	call_full(s, "GET", "/nodes", NULL,
	    "Authorization: PVEAPIToken=pvebot@pve!bot=wrong", &r);
	T_EQ_INT(r.status, 401);
	T_EQ_STR(r.reason, "authentication failure");
	reply_free(&r);
	call(s, "GET", "/nodes", NULL, &r);
	T_EQ_INT(r.status, 200);
	T_EQ_INT(json_array_size(data(&r)), 3);
	reply_free(&r);

	call_full(s, "POST", "/nodes/pve1/qemu/101/status/start", NULL,
	    "Authorization: PVEAPIToken=viewer@pve!ro=ro-secret-1", &r);
	T_EQ_INT(r.status, 403);
	T_EQ_STR(r.reason, "Permission check failed (/vms/101, "
	    "VM.PowerMgmt)");
	reply_free(&r);
	call_full(s, "GET", "/nodes/pve1/qemu/101/status/current", NULL,
	    "Authorization: PVEAPIToken=viewer@pve!ro=ro-secret-1", &r);
	T_EQ_INT(r.status, 200);
	reply_free(&r);

	/* A privilege revoked at run time. */
	admin(s, "fault", "{\"token\":\"pvebot@pve!bot\",\"revoke\":"
	    "\"VM.Snapshot\"}");
	call(s, "POST", "/nodes/pve1/qemu/101/snapshot", "snapname=x1", &r);
	T_EQ_INT(r.status, 403);
	T_CONTAINS(json_string_value(json_object_get(r.json, "message")),
	    "Permission check failed (/vms/101, VM.Snapshot)");
	reply_free(&r);
	call(s, "GET", "/nodes/pve1/qemu/101/snapshot", NULL, &r);
	T_EQ_INT(r.status, 200);
	reply_free(&r);
	sim_stop(s);
}

static void
test_resources_shape(void)
{
	struct sim	*s = start_sim(200, NULL);
	struct reply	 r;
	json_t		*o;
	size_t		 i;
	int		 guests = 0, nodes = 0;

	if (s == NULL)
		return;
	call(s, "GET", "/cluster/resources", NULL, &r);
	T_EQ_INT(r.status, 200);
	o = find_vmid(data(&r), 101);
	T_OK(o != NULL);
	if (o != NULL) {
		T_EQ_STR(json_string_value(json_object_get(o, "id")),
		    "qemu/101");
		T_EQ_STR(json_string_value(json_object_get(o, "type")),
		    "qemu");
		T_EQ_STR(json_string_value(json_object_get(o, "name")),
		    "web-01");
		T_EQ_STR(json_string_value(json_object_get(o, "node")),
		    "pve1");
		T_EQ_STR(json_string_value(json_object_get(o, "status")),
		    "stopped");
		T_EQ_STR(json_string_value(json_object_get(o, "tags")),
		    "web;prod");
		T_EQ_INT(json_integer_value(json_object_get(o, "template")),
		    0);
		T_OK(json_integer_value(json_object_get(o, "maxmem")) > 0);
		T_OK(json_object_get(o, "lock") == NULL);
	}
	o = find_vmid(data(&r), 100);
	T_EQ_STR(json_string_value(json_object_get(o, "type")), "lxc");
	T_EQ_STR(json_string_value(json_object_get(o, "status")), "running");
	T_OK(json_integer_value(json_object_get(o, "uptime")) > 0);
	o = find_vmid(data(&r), 9000);
	T_EQ_INT(json_integer_value(json_object_get(o, "template")), 1);
	o = find_id(data(&r), "storage/pve2/nas-backup");
	T_EQ_INT(json_integer_value(json_object_get(o, "shared")), 1);
	T_EQ_STR(json_string_value(json_object_get(o, "plugintype")), "nfs");
	T_EQ_STR(json_string_value(json_object_get(o, "content")), "backup");
	o = find_id(data(&r), "node/pve3");
	T_EQ_STR(json_string_value(json_object_get(o, "status")), "online");
	reply_free(&r);

	call(s, "GET", "/cluster/resources", "type=vm", &r);
	json_array_foreach(data(&r), i, o) {
		const char *ty = json_string_value(json_object_get(o, "type"));
		guests += strcmp(ty, "qemu") == 0 || strcmp(ty, "lxc") == 0;
		nodes += strcmp(ty, "node") == 0;
	}
	T_EQ_INT(guests, 13);
	T_EQ_INT(nodes, 0);
	reply_free(&r);

	call(s, "GET", "/cluster/status", NULL, &r);
	o = find_id(data(&r), "cluster");
	T_EQ_INT(json_integer_value(json_object_get(o, "quorate")), 1);
	T_EQ_STR(json_string_value(json_object_get(o, "name")), "homelab");
	reply_free(&r);

	call(s, "GET", "/nodes/pve1/storage/nas-backup/content",
	    "content=backup&vmid=102", &r);
	T_EQ_INT(r.status, 200);
	T_EQ_INT(json_array_size(data(&r)), 2);
	o = json_array_get(data(&r), 0);
	T_OK(str_has_prefix(json_string_value(json_object_get(o, "volid")),
	    "nas-backup:backup/vzdump-qemu-102-"));
	T_EQ_STR(json_string_value(json_object_get(o, "format")), "vma.zst");
	reply_free(&r);

	call(s, "GET", "/nodes/pve1/qemu/101/snapshot", NULL, &r);
	T_EQ_INT(json_array_size(data(&r)), 3);	/* two and "current" */
	T_CONTAINS(r.body, "\"name\":\"pre-upgrade\"");
	T_CONTAINS(r.body, "\"name\":\"safety-1\"");
	reply_free(&r);

	/* A guest on another node is not found on this one. */
	call(s, "GET", "/nodes/pve2/qemu/101/status/current", NULL, &r);
	T_EQ_INT(r.status, 500);
	T_CONTAINS(r.reason, "does not exist");
	reply_free(&r);
	sim_stop(s);
}

static void
test_start_task_runs_and_takes_effect(void)
{
	struct sim	*s = start_sim(2000, NULL);
	struct reply	 r;
	char		*upid = NULL, *exitstatus, *path;
	CURL		*c;
	char		*esc;

	if (s == NULL)
		return;
	call(s, "POST", "/nodes/pve1/qemu/101/status/start", NULL, &r);
	T_EQ_INT(r.status, 200);
	if (json_is_string(data(&r)))
		upid = xstrdup(json_string_value(data(&r)));
	reply_free(&r);
	T_OK(upid != NULL);
	if (upid == NULL)
		goto out;
	T_OK(str_has_prefix(upid, "UPID:pve1:"));
	T_CONTAINS(upid, ":qmstart:101:pvebot@pve!bot:");

	c = curl_easy_init();
	esc = curl_easy_escape(c, upid, 0);
	path = xasprintf("/nodes/pve1/tasks/%s/status", esc);
	call(s, "GET", path, NULL, &r);
	T_EQ_STR(json_string_value(json_object_get(data(&r), "status")),
	    "running");
	T_EQ_STR(json_string_value(json_object_get(data(&r), "type")),
	    "qmstart");
	reply_free(&r);
	free(path);
	curl_free(esc);
	curl_easy_cleanup(c);
	/* The UPID unescaped in the path works too. */
	path = xasprintf("/nodes/pve1/tasks/%s/log", upid);
	call(s, "GET", path, NULL, &r);
	T_EQ_INT(r.status, 200);
	T_EQ_INT(json_integer_value(json_object_get(json_array_get(data(&r),
	    0), "n")), 1);
	reply_free(&r);
	free(path);

	/* Running tasks are "active", not "archive". */
	call(s, "GET", "/nodes/pve1/tasks", "source=active", &r);
	T_CONTAINS(r.body, upid);
	reply_free(&r);
	call(s, "GET", "/nodes/pve1/tasks", NULL, &r);
	T_NOT_CONTAINS(r.body, upid);
	reply_free(&r);

	exitstatus = wait_task(s, "pve1", upid, 5000);
	T_EQ_STR(exitstatus, "OK");
	free(exitstatus);
	call(s, "GET", "/nodes/pve1/qemu/101/status/current", NULL, &r);
	T_EQ_STR(json_string_value(json_object_get(data(&r), "status")),
	    "running");
	T_EQ_STR(json_string_value(json_object_get(data(&r), "qmpstatus")),
	    "running");
	reply_free(&r);
	call(s, "GET", "/nodes/pve1/tasks", "vmid=101&typefilter=qmstart"
	    "&userfilter=pvebot", &r);
	T_EQ_INT(json_array_size(data(&r)), 1);
	T_EQ_STR(json_string_value(json_object_get(json_array_get(data(&r), 0),
	    "status")), "OK");
	reply_free(&r);
	T_EQ_INT(count_calls(s, "POST", "/nodes/pve1/qemu/101/status/start"),
	    1);
out:
	free(upid);
	sim_stop(s);
}

static void
test_start_running_guest_fails_like_pve(void)
{
	struct sim	*s = start_sim(200, NULL);
	struct reply	 r;
	char		*exitstatus;

	if (s == NULL)
		return;
	/* qemu: a task that fails; lxc: refused at once. */
	call(s, "POST", "/nodes/pve1/qemu/102/status/start", NULL, &r);
	T_EQ_INT(r.status, 200);
	exitstatus = wait_task(s, "pve1", json_string_value(data(&r)), 5000);
	T_EQ_STR(exitstatus, "VM 102 already running");
	free(exitstatus);
	reply_free(&r);
	call(s, "POST", "/nodes/pve1/lxc/100/status/start", NULL, &r);
	T_EQ_INT(r.status, 500);
	T_EQ_STR(r.reason, "CT 100 already running");
	T_EQ_STR(json_string_value(json_object_get(r.json, "message")),
	    "CT 100 already running\n");
	reply_free(&r);
	call(s, "POST", "/nodes/pve1/qemu/9000/status/start", NULL, &r);
	T_EQ_INT(r.status, 500);
	T_CONTAINS(r.reason, "template");
	reply_free(&r);
	sim_stop(s);
}

static void
test_vzdump_progress_lock_and_volume(void)
{
	struct sim	*s = start_sim(2500, NULL);
	struct reply	 r;
	char		*upid, *esc, *path, *exitstatus;
	const char	*line, *pct;
	CURL		*c;
	size_t		 i;
	json_t		*o;
	int		 last = -1, distinct = 0, increasing = 1, v;
	int64_t		 end;

	if (s == NULL)
		return;
	call(s, "POST", "/nodes/pve1/vzdump", "vmid=102&mode=snapshot"
	    "&storage=nas-backup&compress=zstd", &r);
	T_EQ_INT(r.status, 200);
	upid = xstrdup(json_string_value(data(&r)) != NULL ?
	    json_string_value(data(&r)) : "");
	reply_free(&r);
	T_CONTAINS(upid, ":vzdump:102:pvebot@pve!bot:");

	/* The guest is locked while the backup runs. */
	call(s, "GET", "/nodes/pve1/qemu/102/status/current", NULL, &r);
	T_EQ_STR(json_string_value(json_object_get(data(&r), "lock")),
	    "backup");
	reply_free(&r);
	call(s, "POST", "/nodes/pve1/qemu/102/status/shutdown", NULL, &r);
	T_EQ_INT(r.status, 500);
	T_EQ_STR(r.reason, "VM is locked (backup)");
	reply_free(&r);

	c = curl_easy_init();
	esc = curl_easy_escape(c, upid, 0);
	path = xasprintf("/nodes/pve1/tasks/%s/log", esc);
	end = now_ms() + 8000;
	while (now_ms() < end) {
		call(s, "GET", path, "start=0&limit=500", &r);
		v = -1;
		json_array_foreach(data(&r), i, o) {
			line = json_string_value(json_object_get(o, "t"));
			if (str_has_prefix(line, "INFO: ") &&
			    (pct = strchr(line, '%')) != NULL &&
			    pct - line <= 9 && pct - line >= 7)
				v = atoi(line + 6);
		}
		if (v != -1 && v != last) {
			if (v < last)
				increasing = 0;
			last = v;
			distinct++;
		}
		if (strstr(r.body, "TASK OK") != NULL) {
			T_CONTAINS(r.body, "INFO: starting new backup job: "
			    "vzdump 102");
			T_CONTAINS(r.body, "INFO: 100% (");
			T_CONTAINS(r.body, "INFO: Finished Backup of VM 102 (");
			T_EQ_INT(json_integer_value(json_object_get(
			    json_array_get(data(&r), 0), "n")), 1);
			reply_free(&r);
			break;
		}
		reply_free(&r);
		sleep_ms(100);
	}
	T_OK(distinct >= 3);
	T_OK(increasing);
	T_EQ_INT(last, 100);
	exitstatus = wait_task(s, "pve1", upid, 3000);
	T_EQ_STR(exitstatus, "OK");
	free(exitstatus);

	call(s, "GET", "/nodes/pve1/qemu/102/status/current", NULL, &r);
	T_OK(json_object_get(data(&r), "lock") == NULL);
	reply_free(&r);
	call(s, "GET", "/nodes/pve2/storage/nas-backup/content", "vmid=102",
	    &r);
	T_EQ_INT(json_array_size(data(&r)), 3);
	reply_free(&r);
	free(path);
	curl_free(esc);
	curl_easy_cleanup(c);
	free(upid);
	sim_stop(s);
}

static void
test_parameter_errors_like_pve(void)
{
	struct sim	*s = start_sim(200, NULL);
	struct reply	 r;

	if (s == NULL)
		return;
	call(s, "POST", "/nodes/pve1/lxc/100/snapshot",
	    "snapname=before&vmstate=1", &r);
	T_EQ_INT(r.status, 400);
	T_EQ_STR(r.reason, "Parameter verification failed.");
	T_EQ_STR(errors_of(&r, "vmstate"), "property is not defined in "
	    "schema and the schema does not allow additional properties");
	T_OK(json_is_null(data(&r)));
	reply_free(&r);
	/* The same on qemu is fine. */
	call(s, "POST", "/nodes/pve1/qemu/102/snapshot",
	    "snapname=before&vmstate=1", &r);
	T_EQ_INT(r.status, 200);
	reply_free(&r);

	call(s, "POST", "/nodes/pve1/qemu/101/status/start", "bogus=1", &r);
	T_EQ_INT(r.status, 400);
	T_CONTAINS(errors_of(&r, "bogus"), "not defined in schema");
	reply_free(&r);
	call(s, "GET", "/nodes/pve1/tasks", "limit=abc", &r);
	T_EQ_STR(errors_of(&r, "limit"),
	    "type check ('integer') failed - got 'abc'");
	reply_free(&r);
	call(s, "POST", "/nodes/pve1/vzdump", "vmid=102&mode=fast", &r);
	T_EQ_STR(errors_of(&r, "mode"), "value 'fast' does not have a value "
	    "in the enumeration 'snapshot, suspend, stop'");
	reply_free(&r);
	call(s, "POST", "/nodes/pve1/qemu/101/snapshot", "snapname=a%20b",
	    &r);
	T_EQ_INT(r.status, 400);
	T_CONTAINS(errors_of(&r, "snapname"), "invalid format");
	reply_free(&r);
	call(s, "POST", "/nodes/pve1/qemu/101/snapshot", NULL, &r);
	T_EQ_STR(errors_of(&r, "snapname"),
	    "property is missing and it is not optional");
	reply_free(&r);
	call(s, "GET", "/nodes/pve1/qemu/abc/status/current", NULL, &r);
	T_EQ_INT(r.status, 400);
	T_EQ_STR(errors_of(&r, "vmid"),
	    "type check ('integer') failed - got 'abc'");
	reply_free(&r);
	call(s, "POST", "/nodes/pve1/qemu/101/status/start", "skiplock=maybe",
	    &r);
	T_EQ_STR(errors_of(&r, "skiplock"),
	    "type check ('boolean') failed - got 'maybe'");
	reply_free(&r);
	/* Proxmox's booleans are 1 and 0, nothing else. */
	call(s, "POST", "/nodes/pve1/qemu/102/snapshot",
	    "snapname=withram&vmstate=true", &r);
	T_EQ_INT(r.status, 400);
	T_EQ_STR(errors_of(&r, "vmstate"),
	    "type check ('boolean') failed - got 'true'");
	reply_free(&r);
	call(s, "POST", "/nodes/pve1/qemu/101/migrate",
	    "target=pve2&online=yes", &r);
	T_EQ_STR(errors_of(&r, "online"),
	    "type check ('boolean') failed - got 'yes'");
	reply_free(&r);
	call(s, "PUT", "/nodes/pve1/qemu/101/config", "onboot=on", &r);
	T_EQ_STR(errors_of(&r, "onboot"),
	    "type check ('boolean') failed - got 'on'");
	reply_free(&r);
	call(s, "GET", "/nodes/pve1/tasks", "errors=false", &r);
	T_EQ_STR(errors_of(&r, "errors"),
	    "type check ('boolean') failed - got 'false'");
	reply_free(&r);
	call(s, "GET", "/nodes/pve1/frobnicate", NULL, &r);
	T_EQ_INT(r.status, 501);
	reply_free(&r);
	/* Nothing of the refused calls changed the state. */
	call(s, "GET", "/nodes/pve1/qemu/101/status/current", NULL, &r);
	T_EQ_STR(json_string_value(json_object_get(data(&r), "status")),
	    "stopped");
	reply_free(&r);
	sim_stop(s);
}

static void
test_locked_guest_and_unlock(void)
{
	struct sim	*s = start_sim(200, NULL);
	struct reply	 r;

	if (s == NULL)
		return;
	admin(s, "guest", "{\"vmid\":104,\"lock\":\"backup\"}");
	call(s, "POST", "/nodes/pve2/qemu/104/status/start", NULL, &r);
	T_EQ_INT(r.status, 500);
	T_EQ_STR(r.reason, "VM is locked (backup)");
	T_EQ_STR(json_string_value(json_object_get(r.json, "message")),
	    "VM is locked (backup)\n");
	reply_free(&r);
	call(s, "PUT", "/nodes/pve2/qemu/104/config", "tags=media%3Bnew", &r);
	T_EQ_INT(r.status, 500);
	reply_free(&r);
	/*
	 * Like Proxmox, deleting the lock is refused while it is there:
	 * the config path checks the lock unless skiplock, which only
	 * root@pam may give; no API token can unlock.
	 */
	call(s, "PUT", "/nodes/pve2/qemu/104/config", "delete=lock", &r);
	T_EQ_INT(r.status, 500);
	T_EQ_STR(r.reason, "VM is locked (backup)");
	reply_free(&r);
	call(s, "PUT", "/nodes/pve2/qemu/104/config",
	    "delete=lock&skiplock=1", &r);
	T_EQ_INT(r.status, 403);
	T_EQ_STR(r.reason, "Permission check failed (option 'skiplock' is "
	    "only allowed for root@pam)");
	reply_free(&r);
	call(s, "GET", "/nodes/pve2/qemu/104/config", NULL, &r);
	T_EQ_STR(json_string_value(json_object_get(data(&r), "lock")),
	    "backup");
	T_EQ_STR(json_string_value(json_object_get(data(&r), "tags")),
	    "media");
	reply_free(&r);
	/* Once the lock is gone (qm unlock on the node), config works. */
	admin(s, "guest", "{\"vmid\":104,\"lock\":\"\"}");
	call(s, "PUT", "/nodes/pve2/qemu/104/config", "tags=media%3Bnew", &r);
	T_EQ_INT(r.status, 200);
	T_OK(json_is_null(data(&r)));
	reply_free(&r);
	call(s, "GET", "/nodes/pve2/qemu/104/config", NULL, &r);
	T_EQ_STR(json_string_value(json_object_get(data(&r), "tags")),
	    "media;new");
	T_OK(json_object_get(data(&r), "lock") == NULL);
	reply_free(&r);
	admin(s, "guest", "{\"vmid\":103,\"lock\":\"snapshot\"}");
	call(s, "POST", "/nodes/pve2/lxc/103/status/stop", NULL, &r);
	T_EQ_STR(r.reason, "CT is locked (snapshot)");
	reply_free(&r);
	/* The container path checks it always, before the digest. */
	call(s, "PUT", "/nodes/pve2/lxc/103/config",
	    "delete=lock&digest=0000", &r);
	T_EQ_INT(r.status, 500);
	T_EQ_STR(r.reason, "CT is locked (snapshot)");
	reply_free(&r);
	call(s, "PUT", "/nodes/pve2/lxc/103/config", "skiplock=1", &r);
	T_EQ_INT(r.status, 400);
	T_CONTAINS(errors_of(&r, "skiplock"), "not defined in schema");
	reply_free(&r);
	call(s, "GET", "/nodes/pve2/lxc/103/config", NULL, &r);
	T_EQ_STR(json_string_value(json_object_get(data(&r), "lock")),
	    "snapshot");
	reply_free(&r);
	sim_stop(s);
}

static void
test_faults(void)
{
	struct sim	*s = start_sim(200, NULL);
	struct reply	 r;
	char		*exitstatus;
	int64_t		 t0;
	json_t		*o;

	if (s == NULL)
		return;
	admin(s, "fault", "{\"kind\":\"error\",\"status\":500,\"message\":"
	    "\"boom\",\"match\":\"GET /cluster/resources\",\"count\":1}");
	call(s, "GET", "/cluster/resources", NULL, &r);
	T_EQ_INT(r.status, 500);
	T_EQ_STR(r.reason, "boom");
	reply_free(&r);
	call(s, "GET", "/cluster/resources", NULL, &r);
	T_EQ_INT(r.status, 200);
	reply_free(&r);

	admin(s, "fault", "{\"kind\":\"garbage\",\"count\":1}");
	call(s, "GET", "/nodes", NULL, &r);
	T_EQ_INT(r.status, 200);
	T_OK(r.json == NULL);
	reply_free(&r);

	admin(s, "fault", "{\"kind\":\"drop\",\"count\":1}");
	call(s, "GET", "/nodes", NULL, &r);
	T_EQ_INT(r.rc, CURLE_GOT_NOTHING);
	reply_free(&r);

	admin(s, "fault", "{\"kind\":\"slow\",\"delay_ms\":600,\"count\":1}");
	t0 = now_ms();
	call(s, "GET", "/nodes", NULL, &r);
	T_OK(now_ms() - t0 >= 550);
	T_EQ_INT(r.status, 200);
	reply_free(&r);

	admin(s, "fault", "{\"kind\":\"unauthorized\",\"count\":1}");
	call(s, "GET", "/nodes", NULL, &r);
	T_EQ_INT(r.status, 401);
	reply_free(&r);

	admin(s, "fault", "{\"node\":\"pve3\",\"online\":false}");
	call(s, "GET", "/nodes/pve3/status", NULL, &r);
	T_EQ_INT(r.status, 595);
	T_EQ_STR(r.reason, "no route to host");
	reply_free(&r);
	call(s, "GET", "/cluster/resources", NULL, &r);
	o = find_id(data(&r), "node/pve3");
	T_EQ_STR(json_string_value(json_object_get(o, "status")), "offline");
	o = find_vmid(data(&r), 106);
	T_EQ_STR(json_string_value(json_object_get(o, "status")), "unknown");
	reply_free(&r);
	call(s, "GET", "/cluster/status", NULL, &r);
	o = find_id(data(&r), "node/pve3");
	T_EQ_INT(json_integer_value(json_object_get(o, "online")), 0);
	reply_free(&r);

	admin(s, "fault", "{\"quorate\":false}");
	call(s, "GET", "/cluster/status", NULL, &r);
	o = find_id(data(&r), "cluster");
	T_EQ_INT(json_integer_value(json_object_get(o, "quorate")), 0);
	reply_free(&r);
	call(s, "POST", "/nodes/pve1/qemu/101/status/start", NULL, &r);
	T_EQ_INT(r.status, 500);
	T_EQ_STR(r.reason, "cluster not ready - no quorum?");
	reply_free(&r);
	admin(s, "fault", "{\"quorate\":true}");

	admin(s, "fault", "{\"fail_task\":\"qmstart\",\"message\":"
	    "\"start failed: QEMU exited with code 1\"}");
	call(s, "POST", "/nodes/pve1/qemu/101/status/start", NULL, &r);
	exitstatus = wait_task(s, "pve1", json_string_value(data(&r)), 5000);
	T_EQ_STR(exitstatus, "start failed: QEMU exited with code 1");
	free(exitstatus);
	reply_free(&r);
	call(s, "GET", "/nodes/pve1/qemu/101/status/current", NULL, &r);
	T_EQ_STR(json_string_value(json_object_get(data(&r), "status")),
	    "stopped");
	reply_free(&r);

	/* Bad admin input is refused and changes nothing. */
	call(s, "POST", "/_sim/fault", "{\"kind\":\"nonsense\"}", &r);
	T_EQ_INT(r.status, 400);
	reply_free(&r);
	call(s, "POST", "/_sim/fault", "{not json", &r);
	T_EQ_INT(r.status, 400);
	reply_free(&r);
	sim_stop(s);
}

static void
test_admin_guest_metrics_calls(void)
{
	struct sim	*s = start_sim(200, NULL);
	struct reply	 r;
	json_t		*o;

	if (s == NULL)
		return;
	call(s, "POST", "/_sim/guest", "{\"vmid\":104,\"status\":\"running\"}",
	    &r);
	T_EQ_INT(r.status, 200);
	reply_free(&r);
	call(s, "GET", "/nodes/pve2/qemu/104/status/current", NULL, &r);
	T_EQ_STR(json_string_value(json_object_get(data(&r), "status")),
	    "running");
	reply_free(&r);
	call(s, "POST", "/_sim/metrics", "[{\"node\":\"pve1\",\"cpu\":0.95},"
	    "{\"vmid\":102,\"mem\":8000000000}]", &r);
	T_EQ_INT(r.status, 200);
	reply_free(&r);
	call(s, "GET", "/cluster/resources", NULL, &r);
	o = find_id(data(&r), "node/pve1");
	T_OK(json_real_value(json_object_get(o, "cpu")) > 0.94);
	o = find_vmid(data(&r), 102);
	T_EQ_INT(json_integer_value(json_object_get(o, "mem")), 8000000000LL);
	reply_free(&r);

	call(s, "DELETE", "/_sim/calls", NULL, &r);
	reply_free(&r);
	call(s, "POST", "/nodes/pve1/qemu/101/status/stop", "timeout=5", &r);
	reply_free(&r);
	call(s, "GET", "/_sim/calls", NULL, &r);
	T_EQ_INT(json_array_size(r.json), 1);
	o = json_array_get(r.json, 0);
	T_EQ_STR(json_string_value(json_object_get(o, "method")), "POST");
	T_EQ_STR(json_string_value(json_object_get(o, "path")),
	    "/nodes/pve1/qemu/101/status/stop");
	T_EQ_STR(json_string_value(json_object_get(json_object_get(o,
	    "params"), "timeout")), "5");
	reply_free(&r);
	sim_stop(s);
}

static void
test_task_stop_migrate_clone(void)
{
	struct sim	*s = start_sim(3000, NULL);
	struct reply	 r;
	char		*upid, *esc, *path, *exitstatus;
	CURL		*c = curl_easy_init();

	if (s == NULL)
		return;
	call(s, "POST", "/nodes/pve1/vzdump", "vmid=101&storage=local", &r);
	upid = xstrdup(json_string_value(data(&r)) != NULL ?
	    json_string_value(data(&r)) : "");
	reply_free(&r);
	esc = curl_easy_escape(c, upid, 0);
	path = xasprintf("/nodes/pve1/tasks/%s", esc);
	call(s, "DELETE", path, NULL, &r);
	T_EQ_INT(r.status, 200);
	reply_free(&r);
	exitstatus = wait_task(s, "pve1", upid, 1000);
	T_EQ_STR(exitstatus, "interrupted by signal");
	free(exitstatus);
	call(s, "GET", "/nodes/pve1/qemu/101/status/current", NULL, &r);
	T_OK(json_object_get(data(&r), "lock") == NULL);
	reply_free(&r);
	free(path);
	curl_free(esc);
	free(upid);

	admin(s, "fault", "{\"task_ms\":300}");
	call(s, "POST", "/nodes/pve1/qemu/102/migrate", "target=pve2", &r);
	T_EQ_INT(r.status, 500);
	T_EQ_STR(r.reason, "can't migrate running VM without --online");
	reply_free(&r);
	call(s, "POST", "/nodes/pve1/qemu/102/migrate", "target=pve2&online=1",
	    &r);
	upid = xstrdup(json_string_value(data(&r)) != NULL ?
	    json_string_value(data(&r)) : "");
	reply_free(&r);
	T_CONTAINS(upid, ":qmigrate:102:");
	exitstatus = wait_task(s, "pve1", upid, 5000);
	T_EQ_STR(exitstatus, "OK");
	free(exitstatus);
	esc = curl_easy_escape(c, upid, 0);
	path = xasprintf("/nodes/pve1/tasks/%s/log", esc);
	call(s, "GET", path, "limit=100", &r);
	T_CONTAINS(r.body, "migration active, transferred");
	T_CONTAINS(r.body, "migration finished successfully");
	reply_free(&r);
	free(path);
	curl_free(esc);
	free(upid);
	call(s, "GET", "/nodes/pve2/qemu/102/status/current", NULL, &r);
	T_EQ_INT(r.status, 200);
	T_EQ_STR(json_string_value(json_object_get(data(&r), "status")),
	    "running");
	reply_free(&r);

	call(s, "POST", "/nodes/pve1/qemu/9000/clone", "newid=120&name=web-02",
	    &r);
	upid = xstrdup(json_string_value(data(&r)) != NULL ?
	    json_string_value(data(&r)) : "");
	reply_free(&r);
	exitstatus = wait_task(s, "pve1", upid, 5000);
	T_EQ_STR(exitstatus, "OK");
	free(exitstatus);
	free(upid);
	call(s, "GET", "/cluster/resources", "type=vm", &r);
	T_EQ_STR(json_string_value(json_object_get(find_vmid(data(&r), 120),
	    "name")), "web-02");
	reply_free(&r);

	call(s, "POST", "/nodes/pve1/qemu/101/snapshot/nope/rollback", NULL,
	    &r);
	exitstatus = wait_task(s, "pve1", json_string_value(data(&r)), 5000);
	T_EQ_STR(exitstatus, "snapshot 'nope' does not exist");
	free(exitstatus);
	reply_free(&r);
	curl_easy_cleanup(c);
	sim_stop(s);
}

static void
test_scenario_file(void)
{
	struct sim_opts	 o;
	struct sim	*s;
	struct reply	 r;
	const char	*scen;
	char		*cause = NULL, *path;

	scen = t_write("scen.json", "{\"fault\":[{\"node\":\"pve2\","
	    "\"online\":false},{\"kind\":\"error\",\"status\":503,"
	    "\"message\":\"busy\",\"match\":\"GET /version\"}],"
	    "\"guest\":[{\"vmid\":101,\"status\":\"running\","
	    "\"lock\":\"migrate\"}],\"metrics\":{\"storage\":"
	    "\"nas-backup\",\"disk\":123}}", 0600);
	if ((s = start_sim(200, scen)) == NULL)
		return;
	call(s, "GET", "/nodes/pve2/status", NULL, &r);
	T_EQ_INT(r.status, 595);
	reply_free(&r);
	call(s, "GET", "/version", NULL, &r);
	T_EQ_INT(r.status, 503);
	T_EQ_STR(r.reason, "busy");
	reply_free(&r);
	call(s, "GET", "/version", NULL, &r);
	T_EQ_INT(r.status, 503);	/* no count: until cleared */
	reply_free(&r);
	admin(s, "fault", "{\"clear\":true}");
	call(s, "GET", "/version", NULL, &r);
	T_EQ_INT(r.status, 200);
	T_EQ_STR(json_string_value(json_object_get(data(&r), "release")),
	    "9.1");
	reply_free(&r);
	call(s, "GET", "/cluster/resources", "type=vm", &r);
	T_EQ_STR(json_string_value(json_object_get(find_vmid(data(&r), 101),
	    "lock")), "migrate");
	T_EQ_STR(json_string_value(json_object_get(find_vmid(data(&r), 101),
	    "status")), "running");
	reply_free(&r);
	sim_stop(s);

	/* A broken scenario names the file and the place. */
	path = xstrdup(t_write("bad.json", "{\"fault\": [ {\"kind\": }\n",
	    0600));
	memset(&o, 0, sizeof o);
	o.secret = SECRET;
	o.scenario = path;
	s = sim_start(&o, &cause);
	T_OK(s == NULL);
	T_CONTAINS(cause, "bad.json:1:");
	free(cause);
	cause = NULL;
	t_write("bad.json", "{\"guest\":[{\"vmid\":4242}]}", 0600);
	s = sim_start(&o, &cause);
	T_OK(s == NULL);
	T_CONTAINS(cause, "unknown or missing vmid");
	free(cause);
	free(path);
}

/*
 * 10,000 guests spread over the nodes (--guests / generate_guests): the
 * list holds them all, once each, the homelab's among them; a generated
 * guest takes actions like any other; clones still find free slots.
 */
static void
test_scale_10000_guests(void)
{
	struct sim_opts	 o;
	struct sim	*s;
	struct reply	 r;
	char		*cause = NULL, *upid, *st, *scen, *gnode;
	const char	*node, *argv[] = { "sim", "--guests", "12", NULL };
	json_t		*v;
	size_t		 i;
	int		 per_node[3] = { 0, 0, 0 }, nguests = 0, running = 0;
	int		 lxc = 0, k, rc;
	unsigned char	*seen;
	int64_t		 t0, best = INT64_MAX;

	memset(&o, 0, sizeof o);
	o.tls = 1;
	o.secret = SECRET;
	o.task_ms = 100;
	o.guests = 10000;
	if ((s = sim_start(&o, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "sim_start: %s", cause);
		free(cause);
		return;
	}
	seen = xcalloc(20000, 1);
	for (k = 0; k < 3; k++) {
		t0 = now_ms();
		call(s, "GET", "/cluster/resources", NULL, &r);
		if (now_ms() - t0 < best)
			best = now_ms() - t0;
		if (k < 2)
			reply_free(&r);
	}
	T_EQ_INT(r.status, 200);
	json_array_foreach(data(&r), i, v) {
		const char	*type = json_string_value(json_object_get(v,
				    "type"));
		int		 vmid = (int)json_integer_value(
				    json_object_get(v, "vmid"));

		if (strcmp(type, "qemu") != 0 && strcmp(type, "lxc") != 0)
			continue;
		nguests++;
		lxc += strcmp(type, "lxc") == 0;
		running += strcmp(json_string_value(json_object_get(v,
		    "status")), "running") == 0;
		node = json_string_value(json_object_get(v, "node"));
		per_node[node[3] - '1']++;
		T_OK(vmid >= 100 && vmid < 20000 && !seen[vmid]);
		if (vmid >= 100 && vmid < 20000)
			seen[vmid] = 1;
	}
	T_EQ_INT(nguests, 10000);
	for (k = 0; k < 3; k++)
		T_OK(per_node[k] > 3000 && per_node[k] < 3700);
	T_OK(lxc > 3000 && lxc < 3700);
	T_OK(running > 4000 && running < 8000);
	T_EQ_STR(json_string_value(json_object_get(find_vmid(data(&r), 101),
	    "name")), "web-01");
	T_EQ_STR(json_string_value(json_object_get(find_vmid(data(&r), 12345),
	    "name")), "gen-12345");
	reply_free(&r);
	printf("# /cluster/resources at 10000 guests: %lld ms (best of 3, "
	    "sanitizer build)\n", (long long)best);

	/* A generated guest is a guest like any other. */
	call(s, "GET", "/cluster/resources", "type=vm", &r);
	v = find_vmid(data(&r), 19986);
	T_OK(v != NULL);
	gnode = xstrdup(v != NULL ? json_string_value(json_object_get(v,
	    "node")) : "pve1");
	st = xasprintf("/nodes/%s/%s/19986/status/%s", gnode,
	    json_string_value(json_object_get(v, "type")),
	    strcmp(json_string_value(json_object_get(v, "status")),
	    "running") == 0 ? "stop" : "start");
	reply_free(&r);
	call(s, "POST", st, NULL, &r);
	T_EQ_INT(r.status, 200);
	upid = xstrdup(json_string_value(data(&r)));
	reply_free(&r);
	free(st);
	st = wait_task(s, gnode, upid, 5000);
	T_EQ_STR(st, "OK");
	free(st);
	free(upid);
	free(gnode);
	call(s, "GET", "/cluster/resources", "type=vm", &r);
	T_EQ_INT((int)json_array_size(data(&r)), 10000);
	reply_free(&r);
	call(s, "POST", "/nodes/pve1/qemu/9000/clone", "newid=20001", &r);
	T_EQ_INT(r.status, 200);
	upid = xstrdup(json_string_value(data(&r)));
	reply_free(&r);
	st = wait_task(s, "pve1", upid, 5000);
	T_EQ_STR(st, "OK");
	free(st);
	free(upid);
	call(s, "GET", "/nodes/pve1/qemu/20001/status/current", NULL, &r);
	T_EQ_INT(r.status, 200);
	reply_free(&r);
	sim_stop(s);
	free(seen);

	/* The same from a scenario file. */
	scen = xstrdup(t_write("gen.json", "{\"generate_guests\":500}", 0600));
	if ((s = start_sim(100, scen)) != NULL) {
		call(s, "GET", "/cluster/resources", "type=vm", &r);
		T_EQ_INT((int)json_array_size(data(&r)), 500);
		reply_free(&r);
		sim_stop(s);
	}
	t_write("gen.json", "{\"generate_guests\":\"many\"}", 0600);
	o.guests = 0;
	o.scenario = scen;
	s = sim_start(&o, &cause);
	T_OK(s == NULL);
	T_CONTAINS(cause, "generate_guests");
	free(cause);
	free(scen);
	/* Fewer than the homelab's guests is refused with a reason. */
	rc = sim_main(3, (char **)argv);
	T_EQ_INT(rc, 2);
}

/* Local storages are per node; a shared one is one pool on all nodes. */
static void
test_storage_per_node(void)
{
	struct sim	*s = start_sim(100, NULL);
	struct reply	 r;
	json_t		*a;

	if (s == NULL)
		return;
	admin(s, "metrics", "[{\"storage\":\"local-lvm\",\"node\":\"pve2\","
	    "\"disk\":700000000000},{\"storage\":\"nas-backup\","
	    "\"disk\":1000}]");
	call(s, "GET", "/cluster/resources", "type=storage", &r);
	a = data(&r);
	T_EQ_INT((int)json_array_size(a), 9);
	T_EQ_INT(json_integer_value(json_object_get(find_id(a,
	    "storage/pve2/local-lvm"), "disk")), 700000000000LL);
	T_OK(json_integer_value(json_object_get(find_id(a,
	    "storage/pve1/local-lvm"), "disk")) != 700000000000LL);
	T_EQ_INT(json_integer_value(json_object_get(find_id(a,
	    "storage/pve3/nas-backup"), "disk")), 1000);
	T_EQ_INT(json_integer_value(json_object_get(find_id(a,
	    "storage/pve1/nas-backup"), "shared")), 1);
	reply_free(&r);
	sim_stop(s);
}

/* The fingerprint of the certificate a raw TLS client receives. */
static char *
fingerprint_seen(int port)
{
	struct sockaddr_in	 sin;
	SSL_CTX			*ctx = SSL_CTX_new(TLS_client_method());
	SSL			*ssl = SSL_new(ctx);
	X509			*x = NULL;
	unsigned char		 md[32];
	unsigned int		 mdlen = 0, i;
	struct buf		 b;
	int			 fd;

	buf_init(&b, 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0) {
		SSL_set_fd(ssl, fd);
		if (SSL_connect(ssl) == 1)
			x = SSL_get1_peer_certificate(ssl);
	}
	if (x != NULL && X509_digest(x, EVP_sha256(), md, &mdlen) == 1) {
		for (i = 0; i < mdlen; i++)
			buf_printf(&b, "%s%02X", i ? ":" : "", md[i]);
	}
	X509_free(x);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return (buf_steal(&b));
}

static void
test_sim_main_prints_fingerprint_clients_see(void)
{
	char	 line[512], *p, *fp_seen;
	int	 pipefd[2], status, port = 0;
	pid_t	 pid;
	ssize_t	 n;
	size_t	 len = 0;
	int64_t	 end;

	T_EQ_INT(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		char *argv[] = { "sim", "--port", "0", "--task-ms", "100",
		    "--secret-env", "TEST_SIM_SECRET", NULL };

		close(pipefd[0]);
		dup2(pipefd[1], STDOUT_FILENO);
		setenv("TEST_SIM_SECRET", SECRET, 1);
		_exit(sim_main(7, argv));
	}
	close(pipefd[1]);
	end = now_ms() + 5000;
	while (now_ms() < end && len < sizeof line - 1 &&
	    memchr(line, '\n', len) == NULL) {
		n = read(pipefd[0], line + len, sizeof line - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	line[len] = '\0';
	T_OK(str_has_prefix(line, "sim: listening port="));
	p = strstr(line, "port=");
	if (p != NULL)
		port = atoi(p + 5);
	p = strstr(line, "fingerprint=");
	T_OK(port > 0 && p != NULL);
	if (port > 0 && p != NULL) {
		p += strlen("fingerprint=");
		p[strcspn(p, "\n")] = '\0';
		fp_seen = fingerprint_seen(port);
		T_EQ_INT(strlen(p), 95);
		T_EQ_STR(fp_seen, p);
		free(fp_seen);
	}
	kill(pid, SIGTERM);
	T_EQ_INT(waitpid(pid, &status, 0), pid);
	T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(pipefd[0]);

	/* Without a secret it refuses to start. */
	{
		char *argv[] = { "sim", "--secret-env", "NO_SUCH_VAR_X", NULL };
		pid = fork();
		if (pid == 0) {
			int devnull = open("/dev/null", 1);
			dup2(devnull, STDERR_FILENO);
			_exit(sim_main(3, argv));
		}
		waitpid(pid, &status, 0);
		T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	}
}

/* Every (method, path, parameter) of the simulator in the schema. */
struct conform {
	json_t	*byroute;	/* "METHOD path" -> endpoint */
	int	 checked;
	int	 missing_required;
};

static void
conform_cb(void *arg, const char *method, const char *path,
    const char *param, const char *type, int optional, int in_path,
    const char *enumv)
{
	struct conform	*cf = arg;
	char		*key = xasprintf("%s %s", method, path);
	json_t		*ep = json_object_get(cf->byroute, key), *p, *e;
	const char	*stype, *k;
	char		*ev, *tok, *save;
	int		 sopt;

	if (ep == NULL) {
		t_fail(__FILE__, __LINE__, "%s is not in the schema", key);
		free(key);
		return;
	}
	if (param == NULL) {
		free(key);
		return;
	}
	p = json_object_get(json_object_get(ep, "params"), param);
	if (p == NULL) {
		/* net0, ipconfig0: the schema's net[n], ipconfig[n]. */
		size_t	 l = strlen(param);
		char	*stem;

		while (l > 0 && param[l - 1] >= '0' && param[l - 1] <= '9')
			l--;
		if (l < strlen(param)) {
			stem = xasprintf("%.*s[n]", (int)l, param);
			p = json_object_get(json_object_get(ep, "params"),
			    stem);
			free(stem);
		}
	}
	if (p == NULL) {
		t_fail(__FILE__, __LINE__, "%s: parameter %s is not in the "
		    "schema", key, param);
		free(key);
		return;
	}
	stype = json_string_value(json_object_get(p, "type"));
	if (stype == NULL || strcmp(stype, type) != 0)
		t_fail(__FILE__, __LINE__, "%s: %s is %s in the schema, %s "
		    "here", key, param, stype ? stype : "?", type);
	sopt = json_is_true(json_object_get(p, "optional")) ||
	    json_integer_value(json_object_get(p, "optional")) == 1;
	if (sopt != optional)
		t_fail(__FILE__, __LINE__, "%s: %s optional=%d in the schema, "
		    "%d here", key, param, sopt, optional);
	k = json_string_value(json_object_get(p, "in"));
	if ((k != NULL && strcmp(k, "path") == 0) != in_path)
		t_fail(__FILE__, __LINE__, "%s: %s in_path mismatch", key,
		    param);
	if (enumv != NULL) {
		e = json_object_get(p, "enum");
		ev = xstrdup(enumv);
		for (tok = strtok_r(ev, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			size_t	 i;
			json_t	*x;
			int	 found = 0;

			json_array_foreach(e, i, x) {
				if (json_is_string(x) &&
				    strcmp(json_string_value(x), tok) == 0)
					found = 1;
			}
			if (!found)
				t_fail(__FILE__, __LINE__, "%s: %s enum value "
				    "%s not in the schema", key, param, tok);
		}
		free(ev);
	}
	cf->checked++;
	free(key);
}

/* Required parameters of the schema the simulator does not take. */
static void
required_cb(void *arg, const char *method, const char *path,
    const char *param, const char *type, int optional, int in_path,
    const char *enumv)
{
	json_t	*seen = arg;
	char	*key = xasprintf("%s %s|%s", method, path, param ? param : "");

	json_object_set_new(seen, key, json_true());
	free(key);
}

/* The official schema: $PVE_API_SPEC, else ../shared (from the main
 * tree) or ../../shared (from a worktree in wt/). NULL if absent. */
static const char *
spec_path(void)
{
	static const char *const tries[] = {
	    "../shared/api-specs/proxmox-api.compact.json",
	    "../../shared/api-specs/proxmox-api.compact.json" };
	const char	*env = getenv("PVE_API_SPEC");
	size_t		 i;

	if (env != NULL)
		return (access(env, R_OK) == 0 ? env : NULL);
	for (i = 0; i < nitems(tries); i++) {
		if (access(tries[i], R_OK) == 0)
			return (tries[i]);
	}
	return (NULL);
}

static void
test_schema_conformance(void)
{
	const char	*spec = spec_path();
	struct conform	 cf;
	json_error_t	 err;
	json_t		*doc, *eps, *ep, *seen, *p;
	size_t		 i;
	const char	*pname, *rkey;
	char		*key;

	doc = json_load_file(spec, 0, &err);
	T_OK(doc != NULL);
	if (doc == NULL)
		return;
	memset(&cf, 0, sizeof cf);
	cf.byroute = json_object();
	eps = json_object_get(doc, "endpoints");
	json_array_foreach(eps, i, ep) {
		key = xasprintf("%s %s", json_string_value(json_object_get(ep,
		    "method")), json_string_value(json_object_get(ep, "path")));
		json_object_set(cf.byroute, key, ep);
		free(key);
	}
	T_OK(json_object_size(cf.byroute) > 600);
	sim_api_walk(conform_cb, &cf);
	T_OK(cf.checked > 100);

	/* Every parameter the schema requires, the simulator takes. */
	seen = json_object();
	sim_api_walk(required_cb, seen);
	json_object_foreach(cf.byroute, rkey, ep) {
		char	*rk;

		rk = xasprintf("%s|", rkey);
		if (json_object_get(seen, rk) == NULL) {
			int known = 0;
			const char *k2;
			json_t *v2;

			/* Is the endpoint one the simulator serves? */
			json_object_foreach(seen, k2, v2) {
				if (str_has_prefix(k2, rkey) &&
				    k2[strlen(rkey)] == '|')
					known = 1;
			}
			if (!known) {
				free(rk);
				continue;
			}
		}
		free(rk);
		json_object_foreach(json_object_get(ep, "params"), pname, p) {
			if (json_is_true(json_object_get(p, "optional")) ||
			    json_integer_value(json_object_get(p,
			    "optional")) == 1)
				continue;
			rk = xasprintf("%s|%s", rkey, pname);
			if (json_object_get(seen, rk) == NULL)
				t_fail(__FILE__, __LINE__, "%s: required "
				    "parameter %s not taken", rkey, pname);
			free(rk);
		}
	}
	json_decref(seen);
	json_decref(cf.byroute);
	json_decref(doc);
}


/* The status of node in /cluster/resources ("online"/"offline"). */
static char *
node_status(struct sim *s, const char *node)
{
	struct reply	 r;
	char		*id = xasprintf("node/%s", node), *st = NULL;
	json_t		*o;

	call(s, "GET", "/cluster/resources", "type=node", &r);
	if ((o = find_id(data(&r), id)) != NULL)
		st = xstrdup(json_string_value(json_object_get(o, "status")));
	reply_free(&r);
	free(id);
	return (st != NULL ? st : xstrdup("?"));
}

static char *
guest_status(struct sim *s, int vmid)
{
	struct reply	 r;
	char		*st = NULL;
	json_t		*o;

	call(s, "GET", "/cluster/resources", "type=vm", &r);
	if ((o = find_vmid(data(&r), vmid)) != NULL)
		st = xstrdup(json_string_value(json_object_get(o, "status")));
	reply_free(&r);
	return (st != NULL ? st : xstrdup("?"));
}

/* Waits until node's status is want; 1 when it got there. */
static int
wait_node(struct sim *s, const char *node, const char *want, int timeout_ms)
{
	int64_t	 end = now_ms() + timeout_ms;
	char	*st;
	int	 ok;

	for (;;) {
		st = node_status(s, node);
		ok = strcmp(st, want) == 0;
		free(st);
		if (ok || now_ms() > end)
			return (ok);
		sleep_ms(50);
	}
}

static void
test_node_shutdown_and_wake(void)
{
	struct sim	*s = start_sim(300, NULL);
	struct reply	 r;
	char		*st;

	if (s == NULL)
		return;
	/* command is required and one of reboot, shutdown. */
	call(s, "POST", "/nodes/pve3/status", NULL, &r);
	T_EQ_INT(r.status, 400);
	T_EQ_STR(errors_of(&r, "command"), "property is missing and it is "
	    "not optional");
	reply_free(&r);
	call(s, "POST", "/nodes/pve3/status", "command=halt", &r);
	T_EQ_INT(r.status, 400);
	T_OK(errors_of(&r, "command") != NULL);
	reply_free(&r);
	st = node_status(s, "pve3");
	T_EQ_STR(st, "online");
	free(st);

	/* Without Sys.PowerMgmt: 403, nothing happens. */
	admin(s, "fault", "{\"token\":\"pvebot@pve!bot\","
	    "\"revoke\":\"Sys.PowerMgmt\"}");
	call(s, "POST", "/nodes/pve3/status", "command=shutdown", &r);
	T_EQ_INT(r.status, 403);
	T_EQ_STR(r.reason, "Permission check failed (/nodes/pve3, "
	    "Sys.PowerMgmt)");
	reply_free(&r);
	call(s, "POST", "/nodes/pve3/wakeonlan", NULL, &r);
	T_EQ_INT(r.status, 403);
	reply_free(&r);
	admin(s, "fault", "{\"token\":\"pvebot@pve!bot\","
	    "\"grant\":\"Sys.PowerMgmt\"}");

	/* Shutdown answers null at once; the node goes a moment later,
	 * its guests with it. */
	call(s, "POST", "/nodes/pve3/status", "command=shutdown", &r);
	T_EQ_INT(r.status, 200);
	T_OK(json_is_null(data(&r)));
	reply_free(&r);
	T_OK(wait_node(s, "pve3", "offline", 5000));
	st = guest_status(s, 107);
	T_EQ_STR(st, "unknown");
	free(st);
	call(s, "GET", "/nodes/pve3/status", NULL, &r);
	T_EQ_INT(r.status, 595);
	reply_free(&r);

	/* Wake-on-LAN is sent by the answering node (pve1), never to
	 * itself, and works for an offline node. */
	call(s, "POST", "/nodes/pve1/wakeonlan", NULL, &r);
	T_EQ_INT(r.status, 500);
	T_EQ_STR(r.reason, "'pve1' is local node, cannot wake my self!");
	reply_free(&r);
	call(s, "POST", "/nodes/pve9/wakeonlan", NULL, &r);
	T_EQ_INT(r.status, 500);
	T_EQ_STR(r.reason, "no such cluster node 'pve9'");
	reply_free(&r);
	call(s, "POST", "/nodes/pve3/wakeonlan", NULL, &r);
	T_EQ_INT(r.status, 200);
	T_EQ_STR(json_string_value(data(&r)), "BC:24:11:AA:00:03");
	reply_free(&r);
	T_OK(wait_node(s, "pve3", "online", 5000));
	/* Guests with onboot=1 start at boot. */
	st = guest_status(s, 107);
	T_EQ_STR(st, "running");
	free(st);
	sim_stop(s);
}

/* The task's log as one string, lines joined by "\n". */
static char *
task_log(struct sim *s, const char *node, const char *upid)
{
	struct reply	 r;
	struct buf	 b;
	char		*path;
	size_t		 i;
	json_t		*o;
	CURL		*c = curl_easy_init();
	char		*esc = curl_easy_escape(c, upid, 0);

	path = xasprintf("/nodes/%s/tasks/%s/log", node, esc);
	call(s, "GET", path, "limit=1000", &r);
	buf_init(&b, 1 << 20);
	json_array_foreach(data(&r), i, o)
		buf_printf(&b, "%s\n", json_string_value(json_object_get(o,
		    "t")));
	reply_free(&r);
	free(path);
	curl_free(esc);
	curl_easy_cleanup(c);
	return (buf_steal(&b));
}

/* POSTs and waits for the task; the task's log (caller frees). */
static char *
run_task(struct sim *s, const char *node, const char *path,
    const char *params, const char *type)
{
	struct reply	 r;
	char		*upid = NULL, *exitstatus, *log = NULL;

	call(s, "POST", path, params, &r);
	T_EQ_INT(r.status, 200);
	if (json_is_string(data(&r)))
		upid = xstrdup(json_string_value(data(&r)));
	reply_free(&r);
	T_OK(upid != NULL);
	if (upid == NULL)
		return (xstrdup(""));
	{
		char	*want = xasprintf(":%s::pvebot@pve!bot:", type);

		T_CONTAINS(upid, want);
		free(want);
	}
	exitstatus = wait_task(s, node, upid, 5000);
	T_EQ_STR(exitstatus, "OK");
	free(exitstatus);
	log = task_log(s, node, upid);
	free(upid);
	return (log);
}

static void
test_startall_stopall_startup_order(void)
{
	struct sim	*s = start_sim(200, NULL);
	struct reply	 r;
	char		*log, *st, *a, *b;

	if (s == NULL)
		return;
	/* startup is checked as pve_parse_startup_order() does. */
	call(s, "PUT", "/nodes/pve3/qemu/106/config", "startup=sometime", &r);
	T_EQ_INT(r.status, 400);
	T_EQ_STR(errors_of(&r, "startup"), "invalid format - unable to "
	    "parse startup options");
	reply_free(&r);
	call(s, "PUT", "/nodes/pve3/qemu/106/config", "startup=order%3D2"
	    "%2Cdown%3D60", &r);
	T_EQ_INT(r.status, 200);
	reply_free(&r);
	call(s, "GET", "/nodes/pve3/qemu/106/config", NULL, &r);
	T_EQ_STR(json_string_value(json_object_get(data(&r), "startup")),
	    "order=2,down=60");
	reply_free(&r);
	admin(s, "guest", "{\"vmid\":107,\"startup\":\"order=1\"}");
	call(s, "POST", "/nodes/pve3/stopall", "vms=10x", &r);
	T_EQ_INT(r.status, 400);
	T_OK(errors_of(&r, "vms") != NULL);
	reply_free(&r);
	call(s, "POST", "/nodes/pve3/stopall", "timeout=9000", &r);
	T_EQ_INT(r.status, 400);
	reply_free(&r);

	/* stopall: reverse startup order (106 has 2, 107 has 1). */
	log = run_task(s, "pve3", "/nodes/pve3/stopall", NULL, "stopall");
	a = strstr(log, "Stopping VM 106 (timeout = 180 seconds)");
	b = strstr(log, "Stopping CT 107");
	T_OK(a != NULL && b != NULL && a < b);
	free(log);
	st = guest_status(s, 106);
	T_EQ_STR(st, "stopped");
	free(st);
	st = guest_status(s, 107);
	T_EQ_STR(st, "stopped");
	free(st);

	/* startall: only onboot=1 guests unless force; vms filters. */
	admin(s, "guest", "{\"vmid\":106,\"onboot\":false}");
	log = run_task(s, "pve3", "/nodes/pve3/startall", NULL, "startall");
	T_NOT_CONTAINS(log, "106");
	T_CONTAINS(log, "Starting CT 107");
	free(log);
	st = guest_status(s, 106);
	T_EQ_STR(st, "stopped");
	free(st);
	st = guest_status(s, 107);
	T_EQ_STR(st, "running");
	free(st);
	log = run_task(s, "pve3", "/nodes/pve3/startall", "force=1&vms=106",
	    "startall");
	T_CONTAINS(log, "Starting VM 106");
	free(log);
	st = guest_status(s, 106);
	T_EQ_STR(st, "running");
	free(st);
	sim_stop(s);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T_RUN(test_auth_401_403);
	T_RUN(test_resources_shape);
	T_RUN(test_start_task_runs_and_takes_effect);
	T_RUN(test_start_running_guest_fails_like_pve);
	T_RUN(test_vzdump_progress_lock_and_volume);
	T_RUN(test_parameter_errors_like_pve);
	T_RUN(test_locked_guest_and_unlock);
	T_RUN(test_faults);
	T_RUN(test_admin_guest_metrics_calls);
	T_RUN(test_task_stop_migrate_clone);
	T_RUN(test_scenario_file);
	T_RUN(test_sim_main_prints_fingerprint_clients_see);
	T_RUN(test_scale_10000_guests);
	T_RUN(test_storage_per_node);
	T_RUN(test_node_shutdown_and_wake);
	T_RUN(test_startall_stopall_startup_order);
	if (spec_path() != NULL)
		T_RUN(test_schema_conformance);
	else
		printf("SKIP test_schema_conformance: the official schema "
		    "was not found (set PVE_API_SPEC)\n");
	curl_global_cleanup();
	return (t_summary());
}
