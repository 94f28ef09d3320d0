/*
 * Unit tests for the pure half of the Proxmox client (pve_reply.c): how a
 * request is written and how every kind of reply becomes data or one
 * human line, plus the checks pve_create() makes on the configuration,
 * and the replay client the fuzz targets use (pve_create_replay): its
 * replies take the network's path through retries and reading.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "exec_proxmox.h"
#include "log.h"
#include "t.h"
#include "util.h"

static void
test_form_encode(void)
{
	struct pve_param	 p[] = {
		{ "snapname", "pre upgrade" },
		{ "description", "a&b=c ü/+" },
		{ "vmstate", "1" },
		{ "skipped", NULL },
		{ "delete", "lock" }
	};
	char			*s;

	s = pve_form_encode(p, nitems(p));
	T_EQ_STR(s, "snapname=pre%20upgrade&description=a%26b%3Dc%20%C3%BC"
	    "%2F%2B&vmstate=1&delete=lock");
	free(s);
	s = pve_form_encode(NULL, 0);
	T_EQ_STR(s, "");
	free(s);
}

static void
test_path_encode(void)
{
	char	*s;

	s = pve_path_encode("/nodes/pve1/tasks/UPID:pve1:0000ABCD:00001234:"
	    "65F0A1B2:vzdump:102:pvebot@pve!bot:/status");
	T_EQ_STR(s, "/nodes/pve1/tasks/UPID:pve1:0000ABCD:00001234:"
	    "65F0A1B2:vzdump:102:pvebot@pve!bot:/status");
	free(s);
	s = pve_path_encode("/nodes/pve1/storage/local/content/x?y#z%");
	T_EQ_STR(s, "/nodes/pve1/storage/local/content/x%3Fy%23z%25");
	free(s);
	T_OK(pve_path_encode("nodes/pve1") == NULL);
	T_OK(pve_path_encode("/nodes/../access") == NULL);
	T_OK(pve_path_encode("/nodes/pve1/..") == NULL);
	T_OK(pve_path_encode("/nodes//x") == NULL);
	T_OK(pve_path_encode("/nodes/pve 1") == NULL);
	T_OK(pve_path_encode("/nodes/pve1\n") == NULL);
	T_OK(pve_path_encode(NULL) == NULL);
}

static int
parse(long status, const char *reason, const char *body, const char *path,
    int idempotent, json_t **data, char **cause)
{
	free(*cause);
	*cause = NULL;
	return pve_reply_parse(status, reason, body, body ? strlen(body) : 0,
	    path, idempotent, data, cause);
}

static void
test_reply_ok(void)
{
	json_t	*data = NULL;
	char	*cause = NULL;

	T_EQ_INT(parse(200, "OK", "{\"data\":\"UPID:pve1:0000ABCD:00001234:"
	    "65F0A1B2:qmstart:101:pvebot@pve!bot:\"}", "/nodes/pve1/qemu/101/"
	    "status/start", 0, &data, &cause), PVE_OK);
	T_OK(json_is_string(data));
	T_CONTAINS(json_string_value(data), "qmstart:101");
	json_decref(data);

	T_EQ_INT(parse(200, "OK", "{\"data\":null}", "/x", 0, &data, &cause),
	    PVE_OK);
	T_OK(json_is_null(data));
	json_decref(data);

	T_EQ_INT(parse(200, "OK", "{}", "/x", 1, &data, &cause), PVE_OK);
	T_OK(json_is_null(data));
	json_decref(data);
	T_OK(cause == NULL);
}

static void
test_reply_errors(void)
{
	json_t	*data = NULL;
	char	*cause = NULL;

	T_EQ_INT(parse(401, "authentication failure", "{\"data\":null}",
	    "/cluster/resources", 1, &data, &cause), PVE_PERMANENT);
	T_EQ_STR(cause, "Proxmox rejected the API token (401): check "
	    "token_id and secret");
	T_OK(data == NULL);

	T_EQ_INT(parse(403, "Permission check failed (/vms/101, "
	    "VM.PowerMgmt)", "{\"data\":null}", "/nodes/pve1/qemu/101/status/"
	    "start", 0, &data, &cause), PVE_PERMANENT);
	T_EQ_STR(cause, "permission denied: token lacks VM.PowerMgmt on "
	    "/vms/101");

	/* The message may come in the body instead of the status line. */
	T_EQ_INT(parse(403, "Forbidden", "{\"data\":null,\"message\":"
	    "\"Permission check failed (/storage/nas-backup, "
	    "Datastore.AllocateSpace)\\n\"}", "/nodes/pve1/vzdump", 0, &data,
	    &cause), PVE_PERMANENT);
	T_EQ_STR(cause, "permission denied: token lacks "
	    "Datastore.AllocateSpace on /storage/nas-backup");

	T_EQ_INT(parse(403, "Permission check failed (/vms/101, "
	    "VM.Config.Disk|VM.Config.CPU)", "", "/x", 0, &data, &cause),
	    PVE_PERMANENT);
	T_EQ_STR(cause, "permission denied: token lacks VM.Config.Disk or "
	    "VM.Config.CPU on /vms/101");

	T_EQ_INT(parse(403, "Permission check failed (user != root@pam)",
	    "", "/x", 0, &data, &cause), PVE_PERMANENT);
	T_EQ_STR(cause, "permission denied: user != root@pam");

	T_EQ_INT(parse(500, "VM is locked (backup)", "{\"data\":null}",
	    "/nodes/pve1/qemu/102/status/stop", 0, &data, &cause),
	    PVE_PERMANENT);
	T_EQ_STR(cause, "VM is locked (backup)");

	T_EQ_INT(parse(500, "Internal Server Error", "{\"data\":null,"
	    "\"message\":\"VM 101 already running\\n\"}", "/x", 0, &data,
	    &cause), PVE_PERMANENT);
	T_EQ_STR(cause, "VM 101 already running");

	T_EQ_INT(parse(595, "No route to host", "", "/nodes/pve2/qemu/104/"
	    "status/start", 0, &data, &cause), PVE_TEMPORARY);
	T_EQ_STR(cause, "node pve2 unreachable (595 No route to host)");

	T_EQ_INT(parse(596, "Broken pipe", "", "/nodes/pve3/status", 1, &data,
	    &cause), PVE_TEMPORARY);
	T_EQ_STR(cause, "node pve3 unreachable (596 Broken pipe)");

	T_EQ_INT(parse(400, "Parameter verification failed.",
	    "{\"errors\":{\"vmstate\":\"property is not defined in schema and "
	    "the schema does not allow additional properties\\n\"},"
	    "\"data\":null}", "/nodes/pve1/lxc/100/snapshot", 0, &data,
	    &cause), PVE_PERMANENT);
	T_EQ_STR(cause, "bad parameter vmstate: property is not defined in "
	    "schema and the schema does not allow additional properties");

	T_EQ_INT(parse(503, "Service Unavailable", "", "/x", 1, &data,
	    &cause), PVE_TEMPORARY);
	T_CONTAINS(cause, "503");
	T_EQ_INT(parse(503, "Service Unavailable", "", "/x", 0, &data,
	    &cause), PVE_MAYBE);
	free(cause);
}

static void
test_reply_garbage(void)
{
	json_t	*data = NULL;
	char	*cause = NULL;

	T_EQ_INT(parse(200, "OK", "<html>oops</html>", "/cluster/resources",
	    1, &data, &cause), PVE_TEMPORARY);
	T_EQ_STR(cause, "Proxmox sent a reply that is not JSON");
	T_OK(data == NULL);
	/* A POST that got garbage may have run: not to be retried. */
	T_EQ_INT(parse(200, "OK", "{\"data\":", "/nodes/pve1/qemu/101/status/"
	    "start", 0, &data, &cause), PVE_MAYBE);
	T_EQ_STR(cause, "Proxmox sent a reply that is not JSON");
	T_EQ_INT(parse(200, "OK", "[1,2]", "/x", 1, &data, &cause),
	    PVE_TEMPORARY);
	T_EQ_INT(parse(200, "OK", "", "/x", 1, &data, &cause), PVE_TEMPORARY);
	/* Control characters from the server never reach chat. */
	T_EQ_INT(parse(500, "bad\033[31m\r\nthing", "not json", "/x", 0,
	    &data, &cause), PVE_PERMANENT);
	T_EQ_STR(cause, "bad [31m thing");
	/* Parameter names from the server are one line too (found by
	 * fuzz_pve_reply), and a flood of them is cut short. */
	T_EQ_INT(parse(400, "Parameter verification failed.",
	    "{\"errors\":{\"snap\\nname\":\"bad\\r\\nvalue\","
	    "\"a\":\"x\",\"b\":\"x\",\"c\":\"x\",\"d\":\"x\","
	    "\"e\":\"x\",\"f\":\"x\"}}", "/x", 0, &data, &cause),
	    PVE_PERMANENT);
	T_OK(strchr(cause, '\n') == NULL && strchr(cause, '\r') == NULL);
	T_EQ_STR(cause, "bad parameter snap name: bad value; bad parameter "
	    "a: x; bad parameter b: x; bad parameter c: x; bad parameter d: "
	    "x; and 2 more");
	free(cause);
}

static void
test_fingerprint(void)
{
	unsigned char	 d[32];
	char		 out[96];
	size_t		 i;
	const char	*want = "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:"
			    "0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:"
			    "FF";

	for (i = 0; i < 32; i++)
		d[i] = (unsigned char)i;
	d[31] = 0xff;
	pve_fingerprint_format(d, out);
	T_EQ_STR(out, want);
	T_EQ_INT(pve_fingerprint_normalize("00:01:02:03:04:05:06:07:08:09:0a:"
	    "0b:0c:0d:0e:0f:10:11:12:13:14:15:16:17:18:19:1a:1b:1c:1d:1e:ff",
	    out), 0);
	T_EQ_STR(out, want);
	T_EQ_INT(pve_fingerprint_normalize("000102030405060708090A0B0C0D0E0F"
	    "101112131415161718191A1B1C1D1EFF", out), 0);
	T_EQ_STR(out, want);
	/* 31 pairs, 33 pairs, odd digits, not hex. */
	T_EQ_INT(pve_fingerprint_normalize("00:01:02:03:04:05:06:07:08:09:0A:"
	    "0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E",
	    out), -1);
	T_EQ_INT(pve_fingerprint_normalize("00:01:02:03:04:05:06:07:08:09:0A:"
	    "0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:FF:"
	    "00", out), -1);
	T_EQ_INT(pve_fingerprint_normalize("0:01", out), -1);
	T_EQ_INT(pve_fingerprint_normalize("ZZ", out), -1);
	T_EQ_INT(pve_fingerprint_normalize("", out), -1);
}

static void
test_create_checks(void)
{
	char			*urls[] = { "https://127.0.0.1:8006/api2/json" };
	char			*bad_urls[] = { "http://127.0.0.1:8006/api2/json" };
	struct conf_proxmox	 cf;
	struct pve		*pve;
	char			*cause = NULL, *scrubbed;

	memset(&cf, 0, sizeof cf);
	cf.urls = urls;
	cf.nurls = 1;
	cf.token_id = "pvebot@pve!bot";
	cf.secret = "5f2d1c9e-0b7a-4f4e-9d61-2a1b3c4d5e6f";

	pve = pve_create(&cf, &cause);
	T_OK(pve != NULL);
	T_OK(cause == NULL);
	/* The secret is registered with the logger. */
	scrubbed = log_scrub("token 5f2d1c9e-0b7a-4f4e-9d61-2a1b3c4d5e6f");
	T_EQ_STR(scrubbed, "token ***");
	free(scrubbed);
	pve_free(pve);

	cf.nurls = 0;
	T_OK(pve_create(&cf, &cause) == NULL);
	T_CONTAINS(cause, "no urls");
	free(cause);
	cause = NULL;

	cf.nurls = 1;
	cf.urls = bad_urls;
	T_OK(pve_create(&cf, &cause) == NULL);
	T_CONTAINS(cause, "not an https URL");
	free(cause);
	cause = NULL;

	cf.urls = urls;
	cf.token_id = "pvebot@pve";
	T_OK(pve_create(&cf, &cause) == NULL);
	T_CONTAINS(cause, "user@realm!tokenid");
	free(cause);
	cause = NULL;

	cf.token_id = "pvebot@pve!bot";
	cf.fingerprint = "AA:BB";
	T_OK(pve_create(&cf, &cause) == NULL);
	T_CONTAINS(cause, "not a SHA-256 fingerprint");
	T_NOT_CONTAINS(cause, "5f2d1c9e");
	free(cause);
	cause = NULL;

	/* Without a client every call says why instead of crashing. */
	T_EQ_INT(pve_request(NULL, "GET", "/nodes", NULL, 0, NULL, &cause),
	    PVE_PERMANENT);
	T_CONTAINS(cause, "Proxmox is not configured");
	free(cause);
	cause = NULL;

	cf.fingerprint = NULL;
	cf.ca_file = "/nonexistent/ca.pem";
	T_OK(pve_create(&cf, &cause) == NULL);
	T_CONTAINS(cause, "cannot read /nonexistent/ca.pem");
	free(cause);
}

static void
test_guest_from_json(void)
{
	struct pve_guest	 g;
	json_t			*j;
	char			*path;

	j = json_loads("{\"id\":\"qemu/101\",\"vmid\":101,\"type\":"
	    "\"qemu\",\"name\":\"web-01\",\"node\":\"pve1\",\"status\":"
	    "\"running\",\"tags\":\"web;prod\",\"lock\":\"backup\","
	    "\"cpu\":0.25,\"maxcpu\":4,\"mem\":1073741824,\"maxmem\":"
	    "4294967296,\"uptime\":3600,\"template\":0}", 0, NULL);
	T_EQ_INT(pve_guest_from_json(j, &g), 0);
	T_EQ_INT(g.vmid, 101);
	T_EQ_STR(g.name, "web-01");
	T_EQ_STR(g.lock, "backup");
	T_OK(g.pool == NULL);
	T_EQ_INT(g.ntags, 2);
	T_OK(pve_guest_has_tag(&g, "PROD"));
	T_OK(!pve_guest_has_tag(&g, "db"));
	T_EQ_INT(g.mem, 1073741824);
	T_EQ_INT(g.is_template, 0);
	path = pve_guest_path(&g, "/status/start");
	T_EQ_STR(path, "/nodes/pve1/qemu/101/status/start");
	free(path);
	pve_guest_release(&g);
	json_decref(j);

	/* Odd but survivable shapes: numbers as strings, huge reals, old
	 * tag separators, no name. */
	j = json_loads("{\"vmid\":\"105\",\"type\":\"lxc\",\"node\":"
	    "\"pve2\",\"mem\":1e300,\"maxmem\":\"x\",\"tags\":"
	    "\"a, b c\",\"template\":1}", 0, NULL);
	T_EQ_INT(pve_guest_from_json(j, &g), 0);
	T_EQ_INT(g.vmid, 105);
	T_EQ_STR(g.name, "105");
	T_EQ_STR(g.status, "unknown");
	T_EQ_INT(g.mem, 0);
	T_EQ_INT(g.maxmem, 0);
	T_EQ_INT(g.ntags, 3);
	T_OK(g.is_template);
	pve_guest_release(&g);
	json_decref(j);

	/* Not guests: a storage, a node, a bad VMID. */
	j = json_loads("[{\"type\":\"storage\",\"storage\":\"local\"},"
	    "{\"type\":\"node\",\"node\":\"pve1\"},{\"type\":\"qemu\","
	    "\"vmid\":0},{\"type\":\"qemu\",\"vmid\":1000000000},"
	    "{\"vmid\":101}]", 0, NULL);
	for (size_t i = 0; i < json_array_size(j); i++)
		T_EQ_INT(pve_guest_from_json(json_array_get(j, i), &g), -1);
	json_decref(j);
	pve_guest_release(NULL);
}

/* A node that is not a node name never reaches a path or a message. */
static void
test_guest_odd_nodes(void)
{
	static const char *const bad[] = {
		"pve1/lxc/200", "pve\\n2", "-pve", "pve-", "pve 1", "pve.lan",
		"..", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	};
	struct pve_guest	 g;
	json_t			*j;
	char			*text;
	size_t			 i;

	for (i = 0; i < nitems(bad); i++) {
		text = xasprintf("{\"vmid\":101,\"type\":\"qemu\",\"node\":"
		    "\"%s\"}", bad[i]);
		j = json_loads(text, 0, NULL);
		T_OK(j != NULL);
		T_EQ_INT(pve_guest_from_json(j, &g), 0);
		T_EQ_STR(g.node, "?");
		pve_guest_release(&g);
		json_decref(j);
		free(text);
	}
	j = json_loads("{\"vmid\":101,\"type\":\"qemu\",\"node\":"
	    "\"pve-2\"}", 0, NULL);
	T_EQ_INT(pve_guest_from_json(j, &g), 0);
	T_EQ_STR(g.node, "pve-2");
	pve_guest_release(&g);
	json_decref(j);
}

/* ---- the replay client ---- */

struct scripted {
	const char	*reply[8];	/* "STATUS reason\nbody"; NULL: not sent */
	size_t		 n, next;
	char		 seen[8][160];	/* "METHOD path" of each request */
};

static int
scripted_reply(void *arg, const char *method, const char *path,
    long *status, char *reason, size_t reasonlen, struct buf *body)
{
	struct scripted	*sc = arg;
	const char	*r, *nl, *sp;
	size_t		 k = sc->next++;

	if (k < nitems(sc->seen))
		snprintf(sc->seen[k], sizeof sc->seen[k], "%s %s", method,
		    path);
	if (k >= sc->n || (r = sc->reply[k]) == NULL)
		return -1;
	*status = strtol(r, NULL, 10);
	sp = strchr(r, ' ');
	nl = strchr(r, '\n');
	snprintf(reason, reasonlen, "%.*s", (int)(nl - sp - 1), sp + 1);
	buf_puts(body, nl + 1);
	return 0;
}

static void
test_replay_client(void)
{
	struct scripted		 sc;
	struct pve		*pve;
	struct pve_guest	*gl, g;
	size_t			 n;
	char			*cause = NULL;

	/* A GET is tried again after a 502, at once. */
	memset(&sc, 0, sizeof sc);
	sc.reply[0] = "502 Bad Gateway\n";
	sc.reply[1] = "200 OK\n{\"data\":[{\"vmid\":101,\"type\":\"qemu\","
	    "\"node\":\"pve1\",\"name\":\"web\"}]}";
	sc.n = 2;
	pve = pve_create_replay(scripted_reply, &sc);
	T_EQ_INT(pve_list_guests(pve, &gl, &n, &cause), PVE_OK);
	T_EQ_INT(n, 1);
	pve_guests_free(gl, n);
	T_EQ_INT(sc.next, 2);
	T_EQ_STR(sc.seen[1], "GET /cluster/resources?type=vm");
	pve_free(pve);

	/* A POST that got an answer is never sent again; a proxy's 502
	 * leaves it unknown whether it ran. */
	memset(&sc, 0, sizeof sc);
	sc.reply[0] = "502 Bad Gateway\n";
	sc.reply[1] = "200 OK\n{\"data\":null}";
	sc.n = 2;
	pve = pve_create_replay(scripted_reply, &sc);
	T_EQ_INT(pve_request(pve, "POST", "/nodes/pve1/qemu/101/status/start",
	    NULL, 0, NULL, &cause), PVE_MAYBE);
	T_EQ_STR(cause, "Proxmox is unavailable (502 Bad Gateway)");
	T_EQ_INT(sc.next, 1);
	free(cause);
	cause = NULL;
	pve_free(pve);

	/* One that never reached a server is tried three times. */
	memset(&sc, 0, sizeof sc);
	pve = pve_create_replay(scripted_reply, &sc);
	T_EQ_INT(pve_request(pve, "POST", "/nodes/pve1/qemu/101/status/start",
	    NULL, 0, NULL, &cause), PVE_TEMPORARY);
	T_EQ_STR(cause, "cannot reach Proxmox at replay:");
	T_EQ_INT(sc.next, 3);
	free(cause);
	cause = NULL;
	pve_free(pve);

	/*
	 * An ambiguous name is answered in one line even when a node in
	 * the reply is not a node name (found by fuzz_pve_format).
	 */
	memset(&sc, 0, sizeof sc);
	sc.reply[0] = "200 OK\n{\"data\":[{\"vmid\":200,\"type\":\"lxc\","
	    "\"node\":\"pve\\n2\",\"name\":\"dns\"},{\"vmid\":201,"
	    "\"type\":\"qemu\",\"node\":\"pve1\",\"name\":\"dns\"}]}";
	sc.n = 1;
	pve = pve_create_replay(scripted_reply, &sc);
	T_EQ_INT(pve_resolve_guest(pve, "dns", &g, &cause), PVE_PERMANENT);
	T_EQ_STR(cause, "name 'dns' matches 200 (lxc on ?), 201 (qemu on "
	    "pve1): use the VMID");
	free(cause);
	pve_free(pve);
}

int
main(void)
{
	T_RUN(test_form_encode);
	T_RUN(test_path_encode);
	T_RUN(test_reply_ok);
	T_RUN(test_reply_errors);
	T_RUN(test_reply_garbage);
	T_RUN(test_fingerprint);
	T_RUN(test_create_checks);
	T_RUN(test_guest_from_json);
	T_RUN(test_guest_odd_nodes);
	T_RUN(test_replay_client);
	return t_summary();
}
