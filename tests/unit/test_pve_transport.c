/*
 * Transport tests for the Proxmox client over real HTTPS on loopback: a
 * scripted server (tests' httpd) answers with exact status lines and
 * bodies and records every request, so each test asserts what went over
 * the wire (token header, query, form body), which replies became which
 * one-line error, the TLS pin and CA checks, fail-over, and when a
 * request is (not) repeated.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "exec_proxmox.h"
#include "httpd.h"
#include "log.h"
#include "t.h"
#include "util.h"

#define SECRET	"8c1f7a52-3d4e-4b6a-9f0e-1a2b3c4d5e6f"

struct fake {
	pthread_mutex_t	 lock;
	int		 nreq;
	char		*method, *path, *query, *body, *auth, *ctype;
	/* The scripted reply. */
	int		 status;
	const char	*reason;
	const char	*reply;
	size_t		 big;		/* >0: a JSON body this large */
	int		 drop;
	int		 delay_ms;
};

static struct fake	 fk;

static void
fake_handler(void *arg, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct fake	*f = arg;
	const char	*h;
	char		*big;

	pthread_mutex_lock(&f->lock);
	f->nreq++;
	free(f->method);
	free(f->path);
	free(f->query);
	free(f->body);
	free(f->auth);
	free(f->ctype);
	f->method = xstrdup(req->method);
	f->path = xstrdup(req->raw_path);
	f->query = xstrdup(req->query);
	f->body = xstrdup(req->body);
	h = httpd_header(req, "Authorization");
	f->auth = h != NULL ? xstrdup(h) : NULL;
	h = httpd_header(req, "Content-Type");
	f->ctype = h != NULL ? xstrdup(h) : NULL;
	resp->status = f->status;
	resp->reason = f->reason;
	resp->drop = f->drop;
	resp->delay_ms = f->delay_ms;
	if (f->big > 0) {
		/* Made at once: a byte at a time took seconds under load. */
		big = xmalloc(f->big);
		memset(big, 'x', f->big);
		buf_puts(&resp->body, "{\"data\":\"");
		buf_append(&resp->body, big, f->big);
		buf_puts(&resp->body, "\"}");
		free(big);
	} else
		buf_puts(&resp->body, f->reply);
	pthread_mutex_unlock(&f->lock);
}

static void
fake_script(int status, const char *reason, const char *reply)
{
	pthread_mutex_lock(&fk.lock);
	fk.status = status;
	fk.reason = reason;
	fk.reply = reply;
	fk.big = 0;
	fk.drop = 0;
	fk.delay_ms = 0;
	fk.nreq = 0;
	pthread_mutex_unlock(&fk.lock);
}

static int
fake_count(void)
{
	int	n;

	pthread_mutex_lock(&fk.lock);
	n = fk.nreq;
	pthread_mutex_unlock(&fk.lock);
	return n;
}

static struct httpd *
fake_start(void)
{
	struct httpd_opts	 o;
	struct httpd		*h;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.tls = 1;
	o.handler = fake_handler;
	o.arg = &fk;
	o.name = "fakepve";
	h = httpd_start(&o, &cause);
	if (h == NULL)
		t_fail(__FILE__, __LINE__, "httpd_start: %s", cause);
	free(cause);
	fake_script(200, NULL, "{\"data\":null}");
	return h;
}

static void
fake_reset(void)
{
	free(fk.method);
	free(fk.path);
	free(fk.query);
	free(fk.body);
	free(fk.auth);
	free(fk.ctype);
	fk.method = fk.path = fk.query = fk.body = fk.auth = fk.ctype = NULL;
}

/* A client for `h` (and optionally a dead URL in front). */
struct client {
	char			*urls[2];
	struct conf_proxmox	 cf;
	struct pve		*pve;
};

static void
client_open(struct client *c, struct httpd *h, int dead_first,
    const char *pin, const char *ca_file)
{
	char	*cause = NULL;
	size_t	 n = 0;

	memset(c, 0, sizeof *c);
	if (dead_first)
		c->urls[n++] = xasprintf("https://127.0.0.1:%d/api2/json",
		    t_free_port());
	c->urls[n++] = xasprintf("https://127.0.0.1:%d/api2/json/",
	    httpd_port(h));
	c->cf.urls = c->urls;
	c->cf.nurls = n;
	c->cf.token_id = "pvebot@pve!bot";
	c->cf.secret = SECRET;
	c->cf.fingerprint = (char *)pin;
	c->cf.ca_file = (char *)ca_file;
	c->cf.connect_timeout = 2;
	c->cf.request_timeout = 2;
	c->pve = pve_create(&c->cf, &cause);
	if (c->pve == NULL)
		t_fail(__FILE__, __LINE__, "pve_create: %s", cause);
	free(cause);
}

static void
client_close(struct client *c)
{
	pve_free(c->pve);
	free(c->urls[0]);
	free(c->urls[1]);
}

static void
test_get_with_token_and_query(void)
{
	struct httpd		*h = fake_start();
	struct client		 c;
	struct pve_param	 p[] = { { "type", "vm" } };
	json_t			*data = NULL;
	char			*cause = NULL;

	client_open(&c, h, 0, httpd_fingerprint(h), NULL);
	fake_script(200, NULL, "{\"data\":[{\"vmid\":101,\"type\":\"qemu\"}]}");
	T_EQ_INT(pve_request(c.pve, "GET", "/cluster/resources", p, 1, &data,
	    &cause), PVE_OK);
	T_OK(cause == NULL);
	T_OK(json_is_array(data));
	T_EQ_INT(json_integer_value(json_object_get(json_array_get(data, 0),
	    "vmid")), 101);
	json_decref(data);
	T_EQ_STR(fk.method, "GET");
	T_EQ_STR(fk.path, "/api2/json/cluster/resources");
	T_EQ_STR(fk.query, "type=vm");
	T_EQ_STR(fk.auth, "PVEAPIToken=pvebot@pve!bot=" SECRET);
	T_EQ_INT(fake_count(), 1);
	client_close(&c);
	httpd_stop(h);
	fake_reset();
}

static void
test_post_put_delete_encoding(void)
{
	struct httpd		*h = fake_start();
	struct client		 c;
	struct pve_param	 snap[] = {
		{ "snapname", "pre-upgrade" },
		{ "description", "before apt full-upgrade & reboot" },
		{ "vmstate", "1" }
	};
	struct pve_param	 unlock[] = { { "delete", "lock" } };
	struct pve_param	 del[] = { { "force", "1" } };
	json_t			*data = NULL;
	char			*cause = NULL;

	client_open(&c, h, 0, httpd_fingerprint(h), NULL);
	fake_script(200, NULL, "{\"data\":\"UPID:pve1:00001234:00005678:"
	    "6560A1B2:qmsnapshot:101:pvebot@pve!bot:\"}");
	T_EQ_INT(pve_request(c.pve, "POST", "/nodes/pve1/qemu/101/snapshot",
	    snap, nitems(snap), &data, &cause), PVE_OK);
	T_CONTAINS(json_string_value(data), "qmsnapshot:101");
	json_decref(data);
	T_EQ_STR(fk.method, "POST");
	T_EQ_STR(fk.path, "/api2/json/nodes/pve1/qemu/101/snapshot");
	T_EQ_STR(fk.body, "snapname=pre-upgrade&description=before%20apt%20"
	    "full-upgrade%20%26%20reboot&vmstate=1");
	T_EQ_STR(fk.ctype, "application/x-www-form-urlencoded");
	T_EQ_STR(fk.query, "");

	fake_script(200, NULL, "{\"data\":null}");
	T_EQ_INT(pve_request(c.pve, "PUT", "/nodes/pve1/qemu/101/config",
	    unlock, 1, NULL, &cause), PVE_OK);
	T_EQ_STR(fk.method, "PUT");
	T_EQ_STR(fk.body, "delete=lock");

	T_EQ_INT(pve_request(c.pve, "DELETE", "/nodes/pve1/qemu/101/snapshot/"
	    "old", del, 1, NULL, &cause), PVE_OK);
	T_EQ_STR(fk.method, "DELETE");
	T_EQ_STR(fk.query, "force=1");
	T_EQ_STR(fk.body, "");

	/* A POST without parameters still sends a (empty) form. */
	T_EQ_INT(pve_request(c.pve, "POST", "/nodes/pve1/qemu/101/status/"
	    "start", NULL, 0, NULL, &cause), PVE_OK);
	T_EQ_STR(fk.body, "");
	T_EQ_STR(fk.path, "/api2/json/nodes/pve1/qemu/101/status/start");

	T_EQ_INT(pve_request(c.pve, "PATCH", "/x", NULL, 0, NULL, &cause),
	    PVE_PERMANENT);
	T_CONTAINS(cause, "unsupported HTTP method");
	free(cause);
	cause = NULL;
	T_EQ_INT(pve_request(c.pve, "GET", "/nodes/../../etc", NULL, 0, NULL,
	    &cause), PVE_PERMANENT);
	T_CONTAINS(cause, "invalid Proxmox API path");
	free(cause);
	client_close(&c);
	httpd_stop(h);
	fake_reset();
}

/* One scripted reply through the whole transport; returns the status. */
static int
one(struct client *c, const char *method, const char *path, int status,
    const char *reason, const char *reply, char **cause)
{
	free(*cause);
	*cause = NULL;
	fake_script(status, reason, reply);
	return pve_request(c->pve, method, path, NULL, 0, NULL, cause);
}

static void
test_error_lines(void)
{
	struct httpd	*h = fake_start();
	struct client	 c;
	char		*cause = NULL;

	client_open(&c, h, 0, httpd_fingerprint(h), NULL);
	T_EQ_INT(one(&c, "GET", "/cluster/resources", 401,
	    "authentication failure", "{\"data\":null}", &cause),
	    PVE_PERMANENT);
	T_EQ_STR(cause, "Proxmox rejected the API token (401): check token_id "
	    "and secret");
	T_EQ_INT(fake_count(), 1);

	T_EQ_INT(one(&c, "POST", "/nodes/pve1/qemu/101/status/start", 403,
	    "Permission check failed (/vms/101, VM.PowerMgmt)",
	    "{\"data\":null}", &cause), PVE_PERMANENT);
	T_EQ_STR(cause, "permission denied: token lacks VM.PowerMgmt on "
	    "/vms/101");

	T_EQ_INT(one(&c, "POST", "/nodes/pve1/qemu/102/status/shutdown", 500,
	    "VM is locked (backup)", "{\"data\":null}", &cause),
	    PVE_PERMANENT);
	T_EQ_STR(cause, "VM is locked (backup)");
	T_EQ_INT(fake_count(), 1);

	T_EQ_INT(one(&c, "POST", "/nodes/pve2/qemu/104/status/start", 595,
	    "Connection refused", "", &cause), PVE_TEMPORARY);
	T_EQ_STR(cause, "node pve2 unreachable (595 Connection refused)");
	T_EQ_INT(fake_count(), 1);

	T_EQ_INT(one(&c, "POST", "/nodes/pve1/lxc/100/snapshot", 400,
	    "Parameter verification failed.", "{\"data\":null,\"errors\":"
	    "{\"vmstate\":\"property is not defined in schema and the schema "
	    "does not allow additional properties\"}}", &cause),
	    PVE_PERMANENT);
	T_EQ_STR(cause, "bad parameter vmstate: property is not defined in "
	    "schema and the schema does not allow additional properties");

	T_EQ_INT(one(&c, "POST", "/nodes/pve1/qemu/101/status/start", 200,
	    NULL, "{\"data\": UPID", &cause), PVE_MAYBE);
	T_EQ_STR(cause, "Proxmox sent a reply that is not JSON");
	T_EQ_INT(fake_count(), 1);
	T_NOT_CONTAINS(cause, SECRET);
	free(cause);
	client_close(&c);
	httpd_stop(h);
	fake_reset();
}

static void
test_get_retried_post_not(void)
{
	struct httpd	*h = fake_start();
	struct client	 c;
	char		*cause = NULL;
	int64_t		 t0;

	client_open(&c, h, 0, httpd_fingerprint(h), NULL);
	/* A kept-alive connection from an earlier call: libcurl would
	 * silently resend on it when it dies without a reply. */
	T_EQ_INT(pve_request(c.pve, "GET", "/nodes", NULL, 0, NULL, &cause),
	    PVE_OK);
	/* The server takes the request and closes without a reply. */
	fake_script(200, NULL, "{\"data\":null}");
	fk.drop = 1;
	T_EQ_INT(pve_request(c.pve, "POST", "/nodes/pve1/qemu/101/status/"
	    "start", NULL, 0, NULL, &cause), PVE_MAYBE);
	T_CONTAINS(cause, "no complete reply from Proxmox at https://"
	    "127.0.0.1:");
	T_EQ_INT(fake_count(), 1);
	free(cause);
	cause = NULL;

	fake_script(200, NULL, "{\"data\":null}");
	fk.drop = 1;
	t0 = now_ms();
	T_EQ_INT(pve_request(c.pve, "GET", "/cluster/status", NULL, 0, NULL,
	    &cause), PVE_TEMPORARY);
	/* Three tries (libcurl adds one of its own when the first drop
	 * hits a kept-alive connection; harmless for a read). */
	T_OK(fake_count() >= 3 && fake_count() <= 4);
	/* With backoff between the tries (250 ms, then 500 ms). */
	T_OK(now_ms() - t0 >= 700);
	free(cause);
	cause = NULL;

	/* A gateway error is retried for a GET, not for a POST. */
	T_EQ_INT(one(&c, "GET", "/nodes", 503, "Service Unavailable", "",
	    &cause), PVE_TEMPORARY);
	T_EQ_INT(fake_count(), 3);
	T_EQ_INT(one(&c, "POST", "/nodes/pve1/vzdump", 503,
	    "Service Unavailable", "", &cause), PVE_MAYBE);
	T_EQ_INT(fake_count(), 1);

	/* A reply that comes too late: the POST is not sent again. */
	fake_script(200, NULL, "{\"data\":null}");
	fk.delay_ms = 3000;
	free(cause);
	cause = NULL;
	T_EQ_INT(pve_request(c.pve, "POST", "/nodes/pve1/qemu/101/status/"
	    "stop", NULL, 0, NULL, &cause), PVE_MAYBE);
	T_CONTAINS(cause, "no complete reply");
	T_EQ_INT(fake_count(), 1);
	free(cause);
	client_close(&c);
	httpd_stop(h);
	fake_reset();
}

static void
test_failover_from_dead_url(void)
{
	struct httpd	*h = fake_start();
	struct client	 c;
	char		*cause = NULL, *url, *want;

	client_open(&c, h, 1, httpd_fingerprint(h), NULL);
	/* The first URL refuses connections: the POST never reached it, so
	 * it goes to the next URL, once. */
	fake_script(200, NULL, "{\"data\":\"UPID:pve1:00001234:00005678:"
	    "6560A1B2:qmstart:101:pvebot@pve!bot:\"}");
	T_EQ_INT(pve_request(c.pve, "POST", "/nodes/pve1/qemu/101/status/"
	    "start", NULL, 0, NULL, &cause), PVE_OK);
	T_OK(cause == NULL);
	T_EQ_INT(fake_count(), 1);
	url = pve_current_url(c.pve);
	want = xasprintf("https://127.0.0.1:%d/api2/json", httpd_port(h));
	T_EQ_STR(url, want);
	free(url);
	free(want);
	T_EQ_INT(pve_request(c.pve, "GET", "/nodes", NULL, 0, NULL, &cause),
	    PVE_OK);
	T_EQ_INT(fake_count(), 2);
	client_close(&c);

	/* Only dead URLs: temporary, naming the URL. */
	memset(&c, 0, sizeof c);
	c.urls[0] = xasprintf("https://127.0.0.1:%d/api2/json", t_free_port());
	c.cf.urls = c.urls;
	c.cf.nurls = 1;
	c.cf.token_id = "pvebot@pve!bot";
	c.cf.secret = SECRET;
	c.pve = pve_create(&c.cf, &cause);
	T_EQ_INT(pve_request(c.pve, "POST", "/nodes/pve1/qemu/101/status/"
	    "start", NULL, 0, NULL, &cause), PVE_TEMPORARY);
	T_CONTAINS(cause, "cannot reach Proxmox at https://127.0.0.1:");
	free(cause);
	client_close(&c);
	httpd_stop(h);
	fake_reset();
}

/* A socket that accepts TCP (the kernel's backlog) but never speaks. */
static int
mute_listener(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
test_failover_from_mute_url(void)
{
	struct httpd	*h = fake_start();
	struct client	 c;
	char		*cause = NULL;
	int		 fd, port = 0;
	int64_t		 t0;

	if ((fd = mute_listener(&port)) < 0) {
		t_fail(__FILE__, __LINE__, "cannot listen");
		httpd_stop(h);
		return;
	}
	client_open(&c, h, 1, httpd_fingerprint(h), NULL);
	pve_free(c.pve);
	free(c.urls[0]);
	c.urls[0] = xasprintf("https://127.0.0.1:%d/api2/json", port);
	c.cf.connect_timeout = 1;
	c.pve = pve_create(&c.cf, &cause);
	/* The TLS handshake never completes: the request was never sent,
	 * so even a POST moves on to the next URL after connect_timeout. */
	fake_script(200, NULL, "{\"data\":\"UPID:pve1:00001234:00005678:"
	    "6560A1B2:qmstart:101:pvebot@pve!bot:\"}");
	t0 = now_ms();
	T_EQ_INT(pve_request(c.pve, "POST", "/nodes/pve1/qemu/101/status/"
	    "start", NULL, 0, NULL, &cause), PVE_OK);
	T_OK(cause == NULL);
	T_EQ_INT(fake_count(), 1);
	T_OK(now_ms() - t0 >= 900 && now_ms() - t0 < 5000);
	free(cause);
	close(fd);
	client_close(&c);
	httpd_stop(h);
	fake_reset();
}

static void
test_tls_pin_mismatch(void)
{
	struct httpd	*h = fake_start();
	struct client	 c;
	char		*cause = NULL, *want;
	const char	*wrong = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:"
			    "99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";

	client_open(&c, h, 0, wrong, NULL);
	T_EQ_INT(pve_request(c.pve, "GET", "/nodes", NULL, 0, NULL, &cause),
	    PVE_PERMANENT);
	want = xasprintf("TLS fingerprint mismatch for https://127.0.0.1:%d/"
	    "api2/json: expected %s, got %s", httpd_port(h), wrong,
	    httpd_fingerprint(h));
	T_EQ_STR(cause, want);
	free(want);
	/* The token never went to the impostor. */
	T_EQ_INT(fake_count(), 0);
	free(cause);
	cause = NULL;
	T_EQ_INT(pve_request(c.pve, "POST", "/nodes/pve1/qemu/101/status/"
	    "start", NULL, 0, NULL, &cause), PVE_PERMANENT);
	T_CONTAINS(cause, "TLS fingerprint mismatch");
	T_EQ_INT(fake_count(), 0);
	free(cause);
	client_close(&c);

	/* A lower-case pin without colons is the same pin. */
	{
		char	pin[96], *p, *q;

		for (p = (char *)httpd_fingerprint(h), q = pin; *p; p++)
			if (*p != ':')
				*q++ = (char)(*p >= 'A' && *p <= 'F' ?
				    *p + 32 : *p);
		*q = '\0';
		client_open(&c, h, 0, pin, NULL);
		cause = NULL;
		T_EQ_INT(pve_request(c.pve, "GET", "/nodes", NULL, 0, NULL,
		    &cause), PVE_OK);
		T_EQ_INT(fake_count(), 1);
		client_close(&c);
	}
	httpd_stop(h);
	fake_reset();
}

static void
test_tls_ca_file_and_system_store(void)
{
	struct httpd	*h = fake_start();
	struct client	 c;
	char		*cause = NULL;
	const char	*ca;

	ca = t_write("ca.pem", httpd_cert_pem(h), 0644);
	client_open(&c, h, 0, NULL, ca);
	T_EQ_INT(pve_request(c.pve, "GET", "/nodes", NULL, 0, NULL, &cause),
	    PVE_OK);
	T_OK(cause == NULL);
	T_EQ_INT(fake_count(), 1);
	client_close(&c);

	/* No pin, no CA file: the system store does not know this
	 * self-signed certificate, and nothing falls back to no checks. */
	client_open(&c, h, 0, NULL, NULL);
	T_EQ_INT(pve_request(c.pve, "GET", "/nodes", NULL, 0, NULL, &cause),
	    PVE_PERMANENT);
	T_CONTAINS(cause, "not trusted");
	T_EQ_INT(fake_count(), 1);
	free(cause);
	client_close(&c);
	httpd_stop(h);
	fake_reset();
}

static void
test_reply_cap(void)
{
	struct httpd	*h = fake_start();
	struct client	 c;
	char		*cause = NULL;
	json_t		*data = NULL;

	client_open(&c, h, 0, httpd_fingerprint(h), NULL);
	/*
	 * The cap is the point, not the clock: 8 MiB over TLS under ASan
	 * on a loaded machine can take longer than client_open's 2 s.
	 */
	pve_free(c.pve);
	c.cf.request_timeout = 60;
	c.pve = pve_create(&c.cf, &cause);
	T_OK(c.pve != NULL);
	free(cause);
	cause = NULL;
	fake_script(200, NULL, "");
	fk.big = PVE_REPLY_MAX + 10;
	T_EQ_INT(pve_request(c.pve, "POST", "/nodes/pve1/vzdump", NULL, 0,
	    &data, &cause), PVE_MAYBE);
	T_CONTAINS(cause, "larger than 8 MiB");
	T_OK(data == NULL);
	free(cause);
	client_close(&c);
	httpd_stop(h);
	fake_reset();
}

static void
test_secret_never_logged(void)
{
	struct httpd	*h = fake_start();
	struct client	 c;
	char		*cause = NULL, *logged;
	const char	*path;
	int		 saved, fd;

	path = t_write("stderr.log", "", 0600);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_TRUNC);
	dup2(fd, 2);
	close(fd);
	log_set_level(LOG_DEBUG);

	client_open(&c, h, 1, httpd_fingerprint(h), NULL);
	fake_script(200, NULL, "{\"data\":null}");
	pve_request(c.pve, "GET", "/nodes", NULL, 0, NULL, &cause);
	/* A server that echoes the token back in its error message. */
	fake_script(500, "bad token " SECRET, "{\"data\":null}");
	T_EQ_INT(pve_request(c.pve, "POST", "/nodes/pve1/vzdump", NULL, 0,
	    NULL, &cause), PVE_PERMANENT);
	T_NOT_CONTAINS(cause, SECRET);
	T_CONTAINS(cause, "bad token ***");
	free(cause);
	client_close(&c);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	log_set_level(LOG_INFO);
	logged = t_slurp(path);
	T_CONTAINS(logged, "part=exec_proxmox");
	T_CONTAINS(logged, "path=/nodes/pve1/vzdump");
	T_NOT_CONTAINS(logged, SECRET);
	free(logged);
	httpd_stop(h);
	fake_reset();
}

struct worker_arg {
	struct pve	*pve;
	int		 ok;
};

static void *
worker(void *arg)
{
	struct worker_arg	*w = arg;
	json_t			*data;
	char			*cause = NULL;
	int			 i;

	for (i = 0; i < 20; i++) {
		if (pve_request(w->pve, "GET", "/nodes", NULL, 0, &data,
		    &cause) == PVE_OK)
			w->ok++;
		json_decref(data);
		free(cause);
		cause = NULL;
	}
	return NULL;
}

static void
test_threads_share_one_client(void)
{
	struct httpd		*h = fake_start();
	struct client		 c;
	pthread_t		 th[4];
	struct worker_arg	 w[4];
	int			 i;

	client_open(&c, h, 0, httpd_fingerprint(h), NULL);
	fake_script(200, NULL, "{\"data\":[]}");
	for (i = 0; i < 4; i++) {
		w[i].pve = c.pve;
		w[i].ok = 0;
		pthread_create(&th[i], NULL, worker, &w[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		T_EQ_INT(w[i].ok, 20);
	}
	T_EQ_INT(fake_count(), 80);
	client_close(&c);
	httpd_stop(h);
	fake_reset();
}

int
main(void)
{
	pthread_mutex_init(&fk.lock, NULL);
	T_RUN(test_get_with_token_and_query);
	T_RUN(test_post_put_delete_encoding);
	T_RUN(test_error_lines);
	T_RUN(test_get_retried_post_not);
	T_RUN(test_failover_from_dead_url);
	T_RUN(test_failover_from_mute_url);
	T_RUN(test_tls_pin_mismatch);
	T_RUN(test_tls_ca_file_and_system_store);
	T_RUN(test_reply_cap);
	T_RUN(test_secret_never_logged);
	T_RUN(test_threads_share_one_client);
	return t_summary();
}
