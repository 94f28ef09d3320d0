/*
 * test_webhooks.c - pvebot's HTTP endpoint end to end (issue 18): the
 * daemon's parts built and started in this process as `pvebot run` does
 * (conf_load, app_create, app_start), chatting with the fake Telegram,
 * the Proxmox simulator for its cluster, a fake Alertmanager that checks
 * silences against Alertmanager's OpenAPI, and a heartbeat receiver, all
 * on loopback, with real SQLite.
 *
 * Notifications are sent exactly as Proxmox's webhook target sends them
 * with the body template of docs/notifications.md: rendered like its
 * Handlebars helpers ({{json x}} is serde_json's compact text), POSTed
 * chunked with the headers its HTTP client (ureq under
 * proxmox-sync-http-client) writes. The tests read what a user would
 * check: the chat message and its buttons, the HTTP status the sender
 * got, the rows in the database and the audit log, the silence
 * Alertmanager received, /metrics through promtool, /healthz and the
 * pings while the router is wedged.
 *
 * People: alice telegram:1001 admin, carol telegram:1003 viewer. Chat
 * -100200 takes alerts.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "app.h"
#include "conf.h"
#include "fakes/fake_alertmanager.h"
#include "fakes/fake_telegram.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "sim.h"
#include "store.h"
#include "t.h"
#include "t_db.h"
#include "util.h"

#define TOKEN		"555000111:AAFhookSECRETtokenVALUE_abcdefghijk"
#define BOT		"pvebot_test"
#define BOT_ID		900003
#define GROUP		-100200
#define ALICE		1001
#define CAROL		1003
#define PVE_TOKEN	"pve-hook-Secret-4f1c2b9a"
#define AM_TOKEN	"am-hook-Secret-77aa31"
#define AM_API_TOKEN	"am-api-Secret-0b9e55"
#define SIM_SECRET_ENV	"PVEBOT_HOOKS_PVE_SECRET"
#define BEAT_PATH	"/ping/6f0c1d7e-2b54-4c1a-9a3e-hb"
#define MAX_BEATS	512

/* The body template docs/notifications.md gives for the webhook. */
#define PVE_TEMPLATE	"{\"title\": {{json title}}, \"message\": " \
	"{{json message}}, \"severity\": {{json severity}}, \"timestamp\": " \
	"{{timestamp}}, \"fields\": {{json fields}}}"

struct env {
	struct fake_telegram	*tg;
	struct fake_am		*am;
	struct sim		*sim;
	struct conf		*conf;
	struct app		*app;
	char			*db;
	int			 port;
	char			*cert_pem;	/* HTTPS: what to trust */
	/* The heartbeat's receiver. */
	struct httpd		*beat;
	pthread_mutex_t		 beat_lock;
	int64_t			 beats[MAX_BEATS];	/* now_ms() */
	size_t			 nbeats;
};

static const char *users_yaml =
    "users:\n"
    "  alice:\n"
    "    identities: [telegram:1001]\n"
    "    roles: [admin]\n"
    "  carol:\n"
    "    identities: [telegram:1003]\n"
    "    roles: [viewer]\n";

/* ---- the heartbeat receiver ---- */

static void
beat_handler(void *arg, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct env	*e = arg;

	if (strcmp(req->method, "GET") != 0 || strcmp(req->path, BEAT_PATH) !=
	    0) {
		resp->status = 404;
		return;
	}
	pthread_mutex_lock(&e->beat_lock);
	if (e->nbeats < MAX_BEATS)
		e->beats[e->nbeats++] = now_ms();
	pthread_mutex_unlock(&e->beat_lock);
	buf_puts(&resp->body, "OK");
}

static size_t
beats(struct env *e)
{
	size_t	 n;

	pthread_mutex_lock(&e->beat_lock);
	n = e->nbeats;
	pthread_mutex_unlock(&e->beat_lock);
	return n;
}

/* ---- the environment ---- */

/* A program's path from $PATH (caller frees); NULL when it has none. */
static char *
which(const char *name)
{
	const char	*path = getenv("PATH");
	char		*copy, *p, *dir, *cand;

	if (strchr(name, '/') != NULL)
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	copy = p = xstrdup(path != NULL ? path : "/usr/bin:/bin");
	while ((dir = strsep(&p, ":")) != NULL) {
		cand = xasprintf("%s/%s", *dir != '\0' ? dir : ".", name);
		if (access(cand, X_OK) == 0) {
			free(copy);
			return cand;
		}
		free(cand);
	}
	free(copy);
	return NULL;
}

/*
 * A self-signed certificate and key made with openssl(1), as an
 * operator would; 0 when both files were written.
 */
static int
make_cert(const char *cert, const char *key)
{
	char	*argv[] = { NULL, "req", "-x509", "-newkey",
		    "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
		    "subjectAltName=IP:127.0.0.1", "-keyout", (char *)key,
		    "-out", (char *)cert, NULL };
	int	 rc;

	if ((argv[0] = which("openssl")) == NULL) {
		t_fail(__FILE__, __LINE__, "openssl(1) is not installed");
		return -1;
	}
	rc = t_spawn(argv, NULL, NULL, NULL, 30000);
	free(argv[0]);
	return rc == 0 ? 0 : -1;
}

/*
 * Starts everything with `extra` appended to bot.conf; tls: the
 * listener serves HTTPS with a certificate from files; heartbeat: the
 * heartbeat pings the receiver every second.
 */
static struct env *
env_new(const char *extra, int tls, int heartbeat)
{
	struct env		*e = xcalloc(1, sizeof *e);
	struct sim_opts		 so;
	struct httpd_opts	 ho;
	char			 secret[33], cwd[PATH_MAX], *text, *policy;
	char			*cause = NULL, *errors = NULL, *tls_conf = NULL;
	char			*beat_conf = NULL, *path, *dbconf;

	pthread_mutex_init(&e->beat_lock, NULL);
	random_hex(secret, 16);
	setenv(SIM_SECRET_ENV, secret, 1);
	log_add_secret(secret);
	memset(&so, 0, sizeof so);
	so.tls = 1;
	so.secret = secret;
	so.task_ms = 300;
	e->sim = sim_start(&so, &cause);
	T_OK(e->sim != NULL);
	free(cause);
	cause = NULL;
	e->tg = fake_telegram_start(TOKEN, BOT, BOT_ID);
	e->am = fake_am_start(AM_API_TOKEN);
	T_OK(e->tg != NULL && e->am != NULL);

	T_OK(getcwd(cwd, sizeof cwd) != NULL);
	path = t_path("policies");
	mkdir(path, 0755);
	free(path);
	policy = t_slurp("policies/default.yaml");
	T_OK(policy != NULL);
	t_write("policies/default.yaml", policy != NULL ? policy : "", 0644);
	free(policy);
	t_write("policies/users.yaml", users_yaml, 0644);
	t_write("telegram.token", TOKEN "\n", 0600);
	t_write("pve-hook.token", PVE_TOKEN "\n", 0600);
	t_write("am-hook.token", AM_TOKEN "\n", 0600);
	t_write("am-api.token", AM_API_TOKEN "\n", 0600);
	if (tls) {
		char	*cert = t_path("tls.crt"), *key = t_path("tls.key");

		T_EQ_INT(make_cert(cert, key), 0);
		chmod(key, 0600);
		e->cert_pem = t_slurp(cert);
		tls_conf = xasprintf("  tls:\n    cert_file: %s\n"
		    "    key_file: %s\n", cert, key);
		free(cert);
		free(key);
	}
	if (heartbeat) {
		memset(&ho, 0, sizeof ho);
		ho.handler = beat_handler;
		ho.arg = e;
		ho.name = "heartbeat_receiver";
		e->beat = httpd_start(&ho, &cause);
		T_OK(e->beat != NULL);
		free(cause);
		cause = NULL;
		text = xasprintf("http://127.0.0.1:%d" BEAT_PATH "\n",
		    e->beat != NULL ? httpd_port(e->beat) : 9);
		t_write("heartbeat.url", text, 0600);
		free(text);
		path = t_path("heartbeat.url");
		beat_conf = xasprintf("heartbeat:\n  url_file: %s\n"
		    "  interval: 1s\n  timeout: 2s\n", path);
		free(path);
	}
	dbconf = t_db_conf("pvebot.db", &e->db);
	text = xasprintf(
	    "%s"
	    "commands: %s/commands\n"
	    "policies: %s/policies\n"
	    "log_level: info\n"
	    "chat:\n"
	    "  bot_name: " BOT "\n"
	    "  telegram:\n"
	    "    api_url: %s\n"
	    "    token_file: %s/telegram.token\n"
	    "    poll_timeout: 2s\n"
	    "    chats:\n"
	    "      - id: \"-100200\"\n"
	    "        alerts: true\n"
	    "    users: [\"1001\"]\n"
	    "proxmox:\n"
	    "  urls: [\"https://127.0.0.1:%d/api2/json\"]\n"
	    "  token_id: pvebot@pve!bot\n"
	    "  secret_env: " SIM_SECRET_ENV "\n"
	    "  fingerprint: \"%s\"\n"
	    "  task_poll_ms: 100\n"
	    "workers:\n"
	    "  edit_interval: 1s\n"
	    "monitor:\n"
	    "  enabled: false\n"
	    "digest:\n"
	    "  enabled: false\n"
	    "http:\n"
	    "  listen: 127.0.0.1:0\n"
	    "  timeout: 5s\n"
	    "%s"
	    "  proxmox:\n"
	    "    token_file: %s/pve-hook.token\n"
	    "    max_body: 65536\n"
	    "  alertmanager:\n"
	    "    token_file: %s/am-hook.token\n"
	    "    url: %s/\n"
	    "    api_token_file: %s/am-api.token\n"
	    "    timeout: 5s\n"
	    "%s%s",
	    dbconf, cwd, t_tmpdir(), fake_telegram_url(e->tg), t_tmpdir(),
	    e->sim != NULL ? sim_port(e->sim) : 0,
	    e->sim != NULL ? sim_fingerprint(e->sim) : "",
	    tls_conf != NULL ? tls_conf : "", t_tmpdir(), t_tmpdir(),
	    fake_am_url(e->am), t_tmpdir(), beat_conf != NULL ? beat_conf :
	    "", extra != NULL ? extra : "");
	path = xstrdup(t_write("bot.conf", text, 0600));
	free(text);
	free(dbconf);
	free(tls_conf);
	free(beat_conf);
	if ((e->conf = conf_load(path, &errors)) == NULL) {
		t_fail(__FILE__, __LINE__, "conf: %s", errors);
		free(errors);
		free(path);
		return e;
	}
	free(path);
	if ((e->app = app_create(e->conf, -1, -1, &cause)) == NULL ||
	    app_start(e->app, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "pvebot did not start: %s", cause);
		free(cause);
		return e;
	}
	e->port = http_port(e->app->http);
	T_OK(e->port > 0);
	return e;
}

static void
env_free(struct env *e)
{
	if (t_case_failed && e->tg != NULL) {
		char	*d = fake_telegram_dump(e->tg);

		printf("  telegram calls:\n%s", d);
		free(d);
	}
	app_free(e->app);
	conf_free(e->conf);
	fake_telegram_stop(e->tg);
	fake_am_stop(e->am);
	sim_stop(e->sim);
	httpd_stop(e->beat);
	pthread_mutex_destroy(&e->beat_lock);
	free(e->cert_pem);
	free(e->db);
	free(e);
}

/* ---- what Proxmox sends ---- */

/* {{json x}}: serde_json's compact text of the value. */
static char *
hb_json(json_t *v)
{
	char	*s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
		    JSON_SORT_KEYS);

	json_decref(v);
	return s;
}

/* The body the documented template renders for a notification. */
static char *
pve_body(const char *title, const char *message, const char *severity,
    long long ts, json_t *fields)
{
	struct buf	 b;
	const char	*p = PVE_TEMPLATE, *open;
	char		*v;

	buf_init(&b, 0);
	while ((open = strstr(p, "{{")) != NULL) {
		buf_append(&b, p, (size_t)(open - p));
		if (str_has_prefix(open, "{{json title}}"))
			v = hb_json(json_string(title));
		else if (str_has_prefix(open, "{{json message}}"))
			v = hb_json(json_string(message));
		else if (str_has_prefix(open, "{{json severity}}"))
			v = hb_json(json_string(severity));
		else if (str_has_prefix(open, "{{json fields}}"))
			v = hb_json(json_incref(fields));
		else
			v = xasprintf("%lld", ts);
		buf_puts(&b, v);
		free(v);
		p = strstr(open, "}}") + 2;
	}
	buf_puts(&b, p);
	json_decref(fields);
	return buf_steal(&b);
}

/* One exchange on a fresh connection; the status, -1 when none came. */
static int
raw_exchange(int port, const char *data, size_t len, char **reply)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { 10, 0 };
	struct buf		 b;
	char			 chunk[4096], *end, *cl;
	size_t			 off = 0, want = 0;
	ssize_t			 n;
	int			 fd, status = -1;

	*reply = NULL;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		close(fd);
		return -1;
	}
	while (off < len) {
		if ((n = send(fd, data + off, len - off, MSG_NOSIGNAL)) <= 0)
			break;
		off += (size_t)n;
	}
	buf_init(&b, 8 << 20);
	for (;;) {
		if ((n = recv(fd, chunk, sizeof chunk, 0)) <= 0)
			break;
		buf_append(&b, chunk, (size_t)n);
		if ((end = strstr(buf_cstr(&b), "\r\n\r\n")) == NULL)
			continue;
		if (want == 0) {
			cl = strcasestr(buf_cstr(&b), "Content-Length:");
			want = (size_t)(end + 4 - b.data) + (cl != NULL &&
			    cl < end ? strtoul(cl + 15, NULL, 10) : 0);
		}
		if (b.len >= want)
			break;
	}
	close(fd);
	if (sscanf(buf_cstr(&b), "HTTP/1.1 %d", &status) != 1)
		status = -1;
	*reply = buf_steal(&b);
	return status;
}

/*
 * POSTs body as Proxmox's webhook target does: its HTTP client writes
 * the request line, Host, Accept, the User-Agent proxmox_http sets, the
 * target's headers (names lowercased by the http crate), then
 * Transfer-Encoding: chunked, since it hands the body over as a reader,
 * and sends the body in chunks of 8 KiB with lowercase hex sizes.
 */
static int
post_pve(struct env *e, const char *token, const char *body, char **reply)
{
	struct buf	 b;
	size_t		 len = strlen(body), off, n;
	int		 status;

	buf_init(&b, 0);
	buf_printf(&b, "POST /hooks/proxmox HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\n"
	    "Accept: */*\r\n"
	    "User-Agent: proxmox-sync-http-client/0.1\r\n"
	    "authorization: Bearer %s\r\n"
	    "content-type: application/json\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", e->port, token);
	for (off = 0; off < len; off += n) {
		n = len - off > 8192 ? 8192 : len - off;
		buf_printf(&b, "%zx\r\n", n);
		buf_append(&b, body + off, n);
		buf_puts(&b, "\r\n");
	}
	buf_puts(&b, "0\r\n\r\n");
	status = raw_exchange(e->port, b.data, b.len, reply);
	buf_release(&b);
	return status;
}

static size_t
collect(char *p, size_t size, size_t nmemb, void *arg)
{
	buf_append(arg, p, size * nmemb);
	return size * nmemb;
}

/* GET or POST (body not NULL) with curl; the status, body in *out. */
static long
http_do(struct env *e, const char *path, const char *token,
    const char *body, char **out)
{
	struct curl_slist	*h = NULL;
	struct curl_blob	 ca;
	struct buf		 b;
	CURL			*c = curl_easy_init();
	char			*url, *auth = NULL;
	long			 status = 0;

	buf_init(&b, 8 << 20);
	url = xasprintf("%s://127.0.0.1:%d%s", e->cert_pem != NULL ? "https" :
	    "http", e->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (e->cert_pem != NULL) {
		ca.data = e->cert_pem;
		ca.len = strlen(e->cert_pem);
		ca.flags = CURL_BLOB_COPY;
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	}
	if (token != NULL) {
		auth = xasprintf("Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (body != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
	free(auth);
	*out = buf_steal(&b);
	return status;
}

/* ---- what the chat and the database show ---- */

static long long
wait_text(struct env *e, const char *needle, int timeout_ms)
{
	int64_t		 until = now_ms() + timeout_ms;
	long long	 id;

	while ((id = fake_telegram_find(e->tg, GROUP, needle)) == -1 &&
	    now_ms() < until)
		sleep_ms(50);
	return id;
}

/* Waits until message id's visible text contains needle; 0 when so. */
static int
wait_message(struct env *e, long long id, const char *needle,
    int timeout_ms)
{
	int64_t	 until = now_ms() + timeout_ms;
	char	*text;
	int	 found = 0;

	while (!found && now_ms() < until) {
		text = fake_telegram_message_text(e->tg, GROUP, id);
		found = text != NULL && strstr(text, needle) != NULL;
		free(text);
		if (!found)
			sleep_ms(50);
	}
	return found ? 0 : -1;
}

/* Successful sendMessage calls to the group whose text has needle. */
static int
sends_with(struct env *e, const char *needle)
{
	size_t	 n = fake_telegram_ncalls(e->tg, "sendMessage"), i;
	int	 count = 0;

	for (i = 0; i < n; i++) {
		json_t		*p;
		const char	*html;
		char		*plain = NULL, *err = NULL;
		size_t		 units;
		int		 status = 0;

		p = fake_telegram_call(e->tg, "sendMessage", i, NULL, &status);
		html = json_string_value(json_object_get(p, "text"));
		if (status == 200 && html != NULL && fake_telegram_parse_html(
		    html, &plain, &units, &err) == 0 && strstr(plain,
		    needle) != NULL)
			count++;
		free(plain);
		free(err);
		json_decref(p);
	}
	return count;
}

static long long
db_int(struct env *e, const char *sql)
{
	int64_t	 v = -1;

	if (t_db_query_ints(e->db, sql, NULL, NULL, &v, 1) != 1)
		v = -1;
	return v;
}

/*
 * Another connection that begins a write transaction and keeps it: the
 * write lock on SQLite, the lock every pvebot write takes on PostgreSQL.
 * It waits its turn for the lock as another process would. NULL when it
 * could not (a check failed).
 */
static struct store *
hold_database(struct env *e)
{
	struct store	*s;
	char		*cause = NULL;

	s = store_open(e->db, &cause);
	T_OK(s != NULL);
	free(cause);
	if (s == NULL)
		return NULL;
	store_set_wait(s, 30000);
	T_EQ_INT(store_begin(s), 0);
	return s;
}

static void
release_database(struct store *s)
{
	if (s == NULL)
		return;
	store_rollback(s);
	store_close(s);
}

/* Waits until a query gives `want`; 0 when it did. */
static int
wait_db(struct env *e, const char *sql, long long want, int timeout_ms)
{
	int64_t	 until = now_ms() + timeout_ms;

	while (db_int(e, sql) != want && now_ms() < until)
		sleep_ms(50);
	return db_int(e, sql) == want ? 0 : -1;
}

/* A button's callback data in a message's keyboard, by its prefix. */
static char *
button(struct env *e, long long msg, const char *prefix)
{
	char		*markup = fake_telegram_message_markup(e->tg, GROUP, msg);
	json_t		*kb = json_loads(markup != NULL ? markup : "", 0, NULL);
	json_t		*row, *b;
	size_t		 i, j;
	char		*found = NULL;

	json_array_foreach(json_object_get(kb, "inline_keyboard"), i, row) {
		json_array_foreach(row, j, b) {
			const char	*d = json_string_value(json_object_get(b,
					    "callback_data"));

			if (found == NULL && d != NULL && str_has_prefix(d,
			    prefix))
				found = xstrdup(d);
		}
	}
	json_decref(kb);
	free(markup);
	return found;
}

static char *
press(struct env *e, long long user, long long msg, const char *data)
{
	char		 qid[32];
	char		*ans;
	int64_t		 until = now_ms() + 15000;

	fake_telegram_press(e->tg, GROUP, user, msg, data, qid);
	while ((ans = fake_telegram_answer(e->tg, qid)) == NULL &&
	    now_ms() < until)
		sleep_ms(50);
	return ans;
}

/* ---- notifications as Proxmox sends them ---- */

/* The plain-text task table proxmox-notify renders (column + 4). */
static const char *vzdump_failed_message =
    "job errors\n"
    "Details\n"
    "=======\n"
    "VMID    Name    Status    Time    Size        Filename"
    "                                                            \n"
    "100     web     ok        12s     1.20 GiB    /var/lib/vz/dump/"
    "vzdump-qemu-100-2026_12_04-02_00_00.vma.zst    \n"
    "101     db      err       3s      0 B         "
    "                                                                \n"
    "102     mail    err       1s      0 B         "
    "                                                                \n"
    "\n"
    "Total running time: 16s\n"
    "Total size: 1.20 GiB\n"
    "\n"
    "Logs\n"
    "====\n"
    "100: 2026-12-04 02:00:00 INFO: Starting Backup of VM 100 (qemu)\n"
    "101: 2026-12-04 02:00:12 ERROR: Backup of VM 101 failed - no space "
    "left on device\n"
    "102: 2026-12-04 02:00:15 ERROR: Backup of VM 102 failed - no space "
    "left on device\n";

static char *
vzdump_failed(long long ts)
{
	return pve_body("vzdump backup status (pve1.example.org): backup "
	    "failed", vzdump_failed_message, "error", ts, json_pack(
	    "{s:s,s:s,s:s}", "hostname", "pve1", "job-id",
	    "backup-6e1b4d7a-5c1f", "type", "vzdump"));
}

static void
test_pve_backup_failure_is_one_message_with_buttons(void)
{
	struct env	*e = env_new(NULL, 0, 0);
	char		*body = vzdump_failed(1764813616), *reply = NULL;
	char		*ack, *sil, *text;
	long long	 msg, outbox;
	int64_t		 alerts = metric_get(M_WEBHOOK_EVENTS, "proxmox",
			    "alert");
	int64_t		 dups = metric_get(M_WEBHOOK_EVENTS, "proxmox",
			    "duplicate");

	T_EQ_INT(post_pve(e, PVE_TOKEN, body, &reply), 200);
	T_CONTAINS(reply, "\"state\":\"alert\"");
	free(reply);
	/* Stored before the 2xx: the row is there when the reply came. */
	T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM hook_events WHERE type = "
	    "'vzdump' AND hostname = 'pve1' AND state = 'alert'"), 1);
	msg = wait_text(e, "backup failed for 101 (db), 102 (mail)", 15000);
	T_OK(msg != -1);
	text = fake_telegram_message_text(e->tg, GROUP, msg);
	T_CONTAINS(text, "pve1");
	T_NOT_CONTAINS(text, "100 (web)");
	free(text);
	ack = button(e, msg, "ack:e");
	sil = button(e, msg, "sil:e");
	T_OK(ack != NULL && sil != NULL);
	T_CONTAINS(sil, ":1h");
	free(ack);
	free(sil);
	T_EQ_INT(metric_get(M_WEBHOOK_EVENTS, "proxmox", "alert"), alerts + 1);

	/* The same request again: dropped, nothing new in the chat. */
	outbox = db_int(e, "SELECT COUNT(*) FROM outbox");
	T_EQ_INT(post_pve(e, PVE_TOKEN, body, &reply), 200);
	T_CONTAINS(reply, "\"duplicate\":true");
	free(reply);
	T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM hook_events"), 1);
	T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM outbox"), outbox);
	T_EQ_INT(metric_get(M_WEBHOOK_EVENTS, "proxmox", "duplicate"),
	    dups + 1);
	T_EQ_INT(sends_with(e, "backup failed for 101"), 1);
	free(body);

	/* The next run of the job succeeds: the alert says it is closed. */
	body = pve_body("vzdump backup status (pve1.example.org): backup "
	    "successful", "Details\n=======\nVMID    Name    Status\n100     "
	    "web     ok\n", "info", 1764900016, json_pack("{s:s,s:s,s:s}",
	    "hostname", "pve1", "job-id", "backup-6e1b4d7a-5c1f", "type",
	    "vzdump"));
	T_EQ_INT(post_pve(e, PVE_TOKEN, body, &reply), 200);
	T_CONTAINS(reply, "\"state\":\"resolved\"");
	free(reply);
	free(body);
	T_EQ_INT(wait_message(e, msg, "succeeded again", 15000), 0);
	T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM hook_events WHERE state = "
	    "'resolved'"), 1);
	env_free(e);
}

static void
test_pbs_verification_failure_names_the_snapshots(void)
{
	struct env	*e = env_new(NULL, 0, 0);
	char		*body, *reply = NULL, *ack;
	long long	 msg;

	body = pve_body("Verify Datastore 'store1' failed",
	    "\nJob ID:    v-3f2a1b9c-11aa\nDatastore: store1\n\n"
	    "Verification failed on these snapshots/groups:\n\n"
	    "  vm/101/2026-12-03T02:00:03Z\n"
	    "  ct/104/2026-12-03T02:10:44Z\n"
	    "  vm/101/2026-12-02T02:00:05Z\n\n"
	    "Please visit the web interface for further details:\n\n"
	    "<https://pbs1.example.org:8007/#pbsServerAdministration:tasks>\n",
	    "error", 1764813900, json_pack("{s:s,s:s,s:s,s:s}", "datastore",
	    "store1", "hostname", "pbs1", "job-id", "v-3f2a1b9c-11aa", "type",
	    "verification"));
	T_EQ_INT(post_pve(e, PVE_TOKEN, body, &reply), 200);
	free(reply);
	msg = wait_text(e, "verification failed on datastore store1: vm/101, "
	    "ct/104", 15000);
	T_OK(msg != -1);
	ack = button(e, msg, "ack:e");
	T_OK(ack != NULL);
	/* Ack: the message says who, the buttons stay for the silence. */
	if (ack != NULL) {
		char	*ans = press(e, ALICE, msg, ack);

		T_CONTAINS(ans, "acked");
		free(ans);
		T_EQ_INT(wait_message(e, msg, "acked by telegram:1001", 15000),
		    0);
		T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM audit WHERE event = "
		    "'alert.ack' AND actor = 'telegram:1001'"), 1);
	}
	free(ack);
	T_EQ_INT(post_pve(e, PVE_TOKEN, body, &reply), 200);
	T_CONTAINS(reply, "duplicate");
	free(reply);
	free(body);
	env_free(e);
}

/* Silence on a notification: the next failure of the job is held and
 * shows in the digest, as does what was never an alert. */
static void
test_pve_silence_holds_the_next_failure(void)
{
	struct env	*e = env_new(NULL, 0, 0);
	char		*body = vzdump_failed(1764813616), *reply = NULL;
	char		*sil, *ans, *digest;
	struct store	*s;
	struct buf	 b;
	long long	 msg;

	T_EQ_INT(post_pve(e, PVE_TOKEN, body, &reply), 200);
	free(reply);
	free(body);
	msg = wait_text(e, "backup failed for 101", 15000);
	T_OK(msg != -1);
	sil = xstrdup("sil:e1:4h");
	ans = press(e, ALICE, msg, sil);
	T_CONTAINS(ans, "silenced");
	free(ans);
	free(sil);
	T_EQ_INT(wait_message(e, msg, "silenced by telegram:1001", 15000), 0);
	T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM silences WHERE matcher = "
	    "'rule=proxmox.vzdump,target=pve1/backup-6e1b4d7a-5c1f'"), 1);
	/* The next night's failure of the same job: held. */
	body = vzdump_failed(1764813616 + 3600);
	T_EQ_INT(post_pve(e, PVE_TOKEN, body, &reply), 200);
	T_CONTAINS(reply, "\"state\":\"silenced\"");
	free(reply);
	free(body);
	T_EQ_INT(sends_with(e, "backup failed for 101"), 1);
	/* Updates available: info, a line of the digest. */
	body = pve_body("New software packages available (pve1.lan)",
	    "The following updates are available:\n\n  pve-manager: 8.3.0 "
	    "-> 8.3.1\n", "info", 1764813700, json_pack("{s:s,s:s}",
	    "hostname", "pve1", "type", "package-updates"));
	T_EQ_INT(post_pve(e, PVE_TOKEN, body, &reply), 200);
	T_CONTAINS(reply, "\"state\":\"digest\"");
	free(reply);
	free(body);
	s = store_open(e->db, &ans);
	T_OK(s != NULL);
	buf_init(&b, 0);
	if (s != NULL)
		http_digest(&b, s, wall_now());
	digest = buf_steal(&b);
	T_CONTAINS(digest, "Notifications 24h:\n");
	T_CONTAINS(digest, "pve1: updates available\n");
	T_CONTAINS(digest, "pve1: backup failed for 101 (db), 102 (mail) "
	    "(silenced)\n");
	T_CONTAINS(digest, "Notifications posted as alerts 24h: 1");
	free(digest);
	store_close(s);
	env_free(e);
}

static void
test_wrong_secret_gets_401_and_an_audit_row(void)
{
	struct env	*e = env_new(NULL, 0, 0);
	char		*body = vzdump_failed(1764813616), *reply = NULL;

	T_EQ_INT(post_pve(e, "pve-hook-Secret-4f1c2b9b", body, &reply), 401);
	T_CONTAINS(reply, "WWW-Authenticate: Bearer");
	T_NOT_CONTAINS(reply, PVE_TOKEN);
	free(reply);
	T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM audit WHERE event = "
	    "'http.refused' AND detail LIKE '%/hooks/proxmox%status=401%'"),
	    1);
	T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM hook_events"), 0);
	T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM outbox"), 0);
	/* A token that fits still goes in. */
	T_EQ_INT(post_pve(e, PVE_TOKEN, body, &reply), 200);
	free(reply);
	free(body);
	env_free(e);
}

static void
test_oversize_body_gets_413(void)
{
	struct env	*e = env_new(NULL, 0, 0);
	char		*big, *body, *reply = NULL;
	size_t		 i;

	/* Over the route's 64 KiB, under the listener's cap. */
	big = xmalloc(100 * 1024 + 1);
	for (i = 0; i < 100 * 1024; i++)
		big[i] = (char)('a' + i % 26);
	big[i] = '\0';
	body = pve_body("vzdump backup status (pve1): backup failed", big,
	    "error", 1764813616, json_pack("{s:s,s:s}", "hostname", "pve1",
	    "type", "vzdump"));
	T_EQ_INT(post_pve(e, PVE_TOKEN, body, &reply), 413);
	free(reply);
	free(body);
	free(big);
	/* Over the listener's cap (1 MiB): refused while it arrives. */
	big = xmalloc(2 * 1024 * 1024 + 1);
	memset(big, 'x', 2 * 1024 * 1024);
	big[2 * 1024 * 1024] = '\0';
	T_EQ_INT(post_pve(e, PVE_TOKEN, big, &reply), 413);
	free(reply);
	free(big);
	T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM hook_events"), 0);
	env_free(e);
}

static void
test_database_refusing_the_write_gets_503_and_no_2xx(void)
{
	struct env	*e = env_new(NULL, 0, 0);
	char		*body = vzdump_failed(1764813616), *reply = NULL;
	struct store	*db;

	/*
	 * Another process holds the write lock (a backup, an admin). It
	 * waits its turn for the lock as such a process would: pvebot
	 * itself writes now and then (the outbox, the poller's offset).
	 */
	db = hold_database(e);
	T_EQ_INT(post_pve(e, PVE_TOKEN, body, &reply), 503);
	T_CONTAINS(reply, "database refused the write");
	free(reply);
	release_database(db);
	T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM hook_events"), 0);
	T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM outbox"), 0);
	/* Nothing of it remains, so the same request is new, not a repeat. */
	T_EQ_INT(post_pve(e, PVE_TOKEN, body, &reply), 200);
	T_CONTAINS(reply, "\"state\":\"alert\"");
	free(reply);
	free(body);
	env_free(e);
}

/* ---- Alertmanager ---- */

static char *
am_payload(const char *status1, const char *status2)
{
	json_t	*o;
	char	*s;
	int	 firing = strcmp(status1, "firing") == 0 ||
		    strcmp(status2, "firing") == 0;

	o = json_pack("{s:s,s:s,s:s,s:[{s:s,s:{s:s,s:s,s:s,s:s},s:{s:s},"
	    "s:s,s:s,s:s,s:s},{s:s,s:{s:s,s:s,s:s,s:s},s:{s:s},s:s,s:s,s:s,"
	    "s:s}],s:{s:s},s:{s:s,s:s},s:{},s:s,s:s,s:i}",
	    "version", "4", "groupKey", "{}/{severity=\"critical\"}:"
	    "{alertname=\"DiskFull\"}", "receiver", "pvebot",
	    "alerts",
	    "status", status1, "labels", "alertname", "DiskFull", "instance",
	    "node1:9100", "mountpoint", "/", "severity", "critical",
	    "annotations", "summary", "Disk / on node1 is 96% full",
	    "startsAt", "2026-12-04T10:00:00.000Z", "endsAt",
	    strcmp(status1, "firing") == 0 ? "0001-01-01T00:00:00Z" :
	    "2026-12-04T11:00:00.000Z", "generatorURL",
	    "http://prometheus:9090/graph", "fingerprint", "a1b2c3d4e5f60718",
	    "status", status2, "labels", "alertname", "DiskFull", "instance",
	    "node2:9100", "mountpoint", "/var", "severity", "critical",
	    "annotations", "summary", "Disk /var on node2 is 97% full",
	    "startsAt", "2026-12-04T10:01:00.000Z", "endsAt",
	    strcmp(status2, "firing") == 0 ? "0001-01-01T00:00:00Z" :
	    "2026-12-04T11:00:00.000Z", "generatorURL",
	    "http://prometheus:9090/graph", "fingerprint", "0718a1b2c3d4e5f6",
	    "groupLabels", "alertname", "DiskFull", "commonLabels",
	    "alertname", "DiskFull", "severity", "critical",
	    "commonAnnotations", "externalURL", "http://alertmanager:9093",
	    "status", firing ? "firing" : "resolved", "truncatedAlerts", 0);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void
test_alertmanager_firing_then_resolved_edits_one_message(void)
{
	struct env	*e = env_new(NULL, 0, 0);
	char		*body, *reply = NULL;
	long long	 msg, version;

	body = am_payload("firing", "firing");
	T_EQ_INT(http_do(e, "/hooks/alertmanager", AM_TOKEN, body, &reply),
	    200);
	T_CONTAINS(reply, "\"firing\":2");
	free(reply);
	msg = wait_text(e, "2 firing: DiskFull", 15000);
	T_OK(msg != -1);
	/* Alertmanager repeats the group: nothing changes. */
	version = db_int(e, "SELECT MAX(version) FROM outbox");
	T_EQ_INT(http_do(e, "/hooks/alertmanager", AM_TOKEN, body, &reply),
	    200);
	free(reply);
	free(body);
	T_EQ_INT(db_int(e, "SELECT MAX(version) FROM outbox"), version);
	/* One resolves, then both: the same message is edited. */
	body = am_payload("resolved", "firing");
	T_EQ_INT(http_do(e, "/hooks/alertmanager", AM_TOKEN, body, &reply),
	    200);
	free(reply);
	free(body);
	T_EQ_INT(wait_message(e, msg, "1 firing", 15000), 0);
	body = am_payload("resolved", "resolved");
	T_EQ_INT(http_do(e, "/hooks/alertmanager", AM_TOKEN, body, &reply),
	    200);
	T_CONTAINS(reply, "\"firing\":0");
	free(reply);
	free(body);
	T_EQ_INT(wait_message(e, msg, "resolved: DiskFull", 15000), 0);
	reply = fake_telegram_message_markup(e->tg, GROUP, msg);
	T_NOT_CONTAINS(reply, "sil:");
	free(reply);
	T_EQ_INT(sends_with(e, "DiskFull"), 1);
	T_OK(fake_telegram_ncalls(e->tg, "editMessageText") >= 2);
	/* A wrong token is refused here too. */
	body = am_payload("firing", "firing");
	T_EQ_INT(http_do(e, "/hooks/alertmanager", "nope", body, &reply),
	    401);
	free(reply);
	free(body);
	env_free(e);
}

static void
test_silence_button_creates_the_silence_in_alertmanager(void)
{
	struct env	*e = env_new(NULL, 0, 0);
	char		*body, *reply = NULL, *sil, *ans, *id_line;
	const char	*comment, *id;
	json_t		*s, *m;
	long long	 msg, start, end;
	size_t		 i;
	int		 alertname = 0, instance = 0;

	body = am_payload("firing", "resolved");
	T_EQ_INT(http_do(e, "/hooks/alertmanager", AM_TOKEN, body, &reply),
	    200);
	free(reply);
	free(body);
	msg = wait_text(e, "1 firing: DiskFull", 15000);
	T_OK(msg != -1);
	sil = button(e, msg, "sil:m");
	T_OK(sil != NULL && strstr(sil, ":4h") == NULL);
	free(sil);
	/* The 4h button, found by its text in the keyboard. */
	reply = fake_telegram_message_markup(e->tg, GROUP, msg);
	T_CONTAINS(reply, ":4h\"");
	free(reply);
	sil = xasprintf("sil:m1:4h");

	/* A viewer may not silence: nothing reaches Alertmanager. */
	ans = press(e, CAROL, msg, sil);
	T_CONTAINS(ans, "may not");
	free(ans);

	ans = press(e, ALICE, msg, sil);
	T_CONTAINS(ans, "asking Alertmanager");
	free(ans);
	T_EQ_INT(fake_am_wait_posts(e->am, 1, 15000), 0);
	T_EQ_INT(fake_am_nsilences(e->am), 1);
	T_EQ_STR(fake_am_last_refusal(e->am), "");
	s = fake_am_silence(e->am, 0);
	T_EQ_STR(json_string_value(json_object_get(s, "createdBy")),
	    "telegram:1001");
	comment = json_string_value(json_object_get(s, "comment"));
	T_CONTAINS(comment, "telegram:1001");
	T_CONTAINS(comment, "4h");
	json_array_foreach(json_object_get(s, "matchers"), i, m) {
		T_OK(json_is_false(json_object_get(m, "isRegex")));
		if (strcmp(json_string_value(json_object_get(m, "name")),
		    "alertname") == 0)
			alertname = strcmp(json_string_value(json_object_get(m,
			    "value")), "DiskFull") == 0;
		if (strcmp(json_string_value(json_object_get(m, "name")),
		    "instance") == 0)
			instance = strcmp(json_string_value(json_object_get(m,
			    "value")), "node1:9100") == 0;
	}
	/* The firing alert's labels: node1's, not the resolved node2's. */
	T_OK(alertname && instance);
	T_EQ_INT(json_array_size(json_object_get(s, "matchers")), 4);
	start = (long long)wall_now();
	end = start;
	{
		struct tm	 tm;
		const char	*st = json_string_value(json_object_get(s,
				    "startsAt"));
		const char	*en = json_string_value(json_object_get(s,
				    "endsAt"));

		memset(&tm, 0, sizeof tm);
		T_OK(st != NULL && strptime(st, "%Y-%m-%dT%H:%M:%S", &tm) !=
		    NULL);
		start = (long long)timegm(&tm);
		memset(&tm, 0, sizeof tm);
		T_OK(en != NULL && strptime(en, "%Y-%m-%dT%H:%M:%S", &tm) !=
		    NULL);
		end = (long long)timegm(&tm);
	}
	T_OK(end - start > 4 * 3600 - 120 && end - start <= 4 * 3600);
	id = json_string_value(json_object_get(s, "id"));
	T_OK(id != NULL);
	/* The chat shows the silence's id. */
	id_line = xasprintf("silence %s", id != NULL ? id : "?");
	T_EQ_INT(wait_message(e, msg, id_line, 15000), 0);
	free(id_line);
	T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM audit WHERE event = "
	    "'silence.create' AND actor = 'telegram:1001'"), 1);
	json_decref(s);

	/* Alertmanager down for a moment: tried again, then created. */
	fake_am_fail(e->am, 503, 1);
	ans = press(e, ALICE, msg, "sil:m1:1h");
	T_CONTAINS(ans, "asking Alertmanager");
	free(ans);
	T_EQ_INT(fake_am_wait_posts(e->am, 3, 20000), 0);
	T_EQ_INT(fake_am_nsilences(e->am), 2);
	T_EQ_INT(wait_db(e, "SELECT COUNT(*) FROM am_silences WHERE state = "
	    "'done'", 2, 15000), 0);
	/* Refused for good: the message says so. */
	fake_am_fail(e->am, 400, 1);
	ans = press(e, ALICE, msg, "sil:m1:24h");
	free(ans);
	T_EQ_INT(wait_message(e, msg, "did not silence", 15000), 0);
	T_EQ_INT(db_int(e, "SELECT COUNT(*) FROM am_silences WHERE state = "
	    "'failed'"), 1);
	free(sil);
	env_free(e);
}

/* ---- /metrics ---- */

/* The value of one sample line ("name{labels} value"), or -1. */
static double
sample(const char *page, const char *series)
{
	const char	*p = page;
	size_t		 len = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == page || p[-1] == '\n') && p[len] == ' ')
			return strtod(p + len + 1, NULL);
		p += len;
	}
	return -1;
}

/* promtool check metrics on the page: its exit status (0: valid). */
static int
promtool_ok(const char *page, char **out)
{
	const char	*tool = getenv("PROMTOOL");
	char		*argv[] = { NULL, "check", "metrics", NULL };
	char		*err = NULL;
	int		 rc;

	*out = NULL;
	if ((argv[0] = which(tool != NULL ? tool : "promtool")) == NULL) {
		t_fail(__FILE__, __LINE__, "promtool is not installed: "
		    "Debian's prometheus package has it (.ci/run installs "
		    "it); PROMTOOL=PATH names another");
		return -1;
	}
	rc = t_spawn(argv, page, out, &err, 60000);
	if (rc != 0)
		printf("  promtool: %s%s\n", *out != NULL ? *out : "",
		    err != NULL ? err : "");
	free(argv[0]);
	free(err);
	return rc;
}

static void
test_metrics_pass_promtool_and_move(void)
{
	struct env	*e = env_new(NULL, 0, 0);
	char		*page = NULL, *after = NULL, *out = NULL, *body, *reply;
	double		 allowed, alerts, commits, http200, pve;

	T_EQ_INT(http_do(e, "/metrics", NULL, NULL, &page), 200);
	T_EQ_INT(promtool_ok(page, &out), 0);
	free(out);
	allowed = sample(page, "pvebot_commands_total{result=\"allowed\"}");
	alerts = sample(page, "pvebot_alerts_firing{source=\"proxmox\","
	    "severity=\"critical\"}");
	commits = sample(page, "pvebot_sqlite_commit_duration_seconds_count");
	http200 = sample(page, "pvebot_http_requests_total{route=\"proxmox\","
	    "code=\"200\"}");
	pve = sample(page, "pvebot_proxmox_request_duration_seconds_count");
	T_OK(allowed >= 0 && commits >= 0);
	T_EQ_INT((long long)alerts, 0);
	T_CONTAINS(page, "pvebot_build_info{version=\"" PVEBOT_VERSION
	    "\"} 1");
	T_CONTAINS(page, "pvebot_outbox_depth{connector=\"telegram\"}");
	/* pvebot read the guest list at start. */
	T_OK(pve >= 1);

	/* A scenario: a command in the chat, a failed backup. */
	fake_telegram_inject_message(e->tg, GROUP, ALICE, "/status@" BOT, 0);
	T_OK(wait_text(e, "homelab", 15000) != -1);
	body = vzdump_failed(1764813616);
	T_EQ_INT(post_pve(e, PVE_TOKEN, body, &reply), 200);
	free(reply);
	free(body);
	T_OK(wait_text(e, "backup failed for 101", 15000) != -1);

	T_EQ_INT(http_do(e, "/metrics", NULL, NULL, &after), 200);
	T_EQ_INT(promtool_ok(after, &out), 0);
	free(out);
	T_OK(sample(after, "pvebot_commands_total{result=\"allowed\"}") >=
	    allowed + 1);
	T_EQ_INT((long long)sample(after, "pvebot_alerts_firing{source="
	    "\"proxmox\",severity=\"critical\"}"), 1);
	T_OK(sample(after, "pvebot_sqlite_commit_duration_seconds_count") >
	    commits);
	T_OK(sample(after, "pvebot_http_requests_total{route=\"proxmox\","
	    "code=\"200\"}") >= (http200 < 0 ? 0 : http200) + 1);
	T_OK(sample(after, "pvebot_webhook_events_total{source=\"proxmox\","
	    "result=\"alert\"}") >= 1);
	T_EQ_INT((long long)sample(after, "pvebot_connector_up{platform="
	    "\"telegram\"}"), 1);
	T_OK(sample(after, "pvebot_connector_last_poll_success_timestamp_"
	    "seconds{platform=\"telegram\"}") > 1.7e9);
	T_CONTAINS(after, "pvebot_jobs{kind=");
	free(page);
	free(after);
	env_free(e);
}

/* ---- /healthz and the heartbeat ---- */

/*
 * The router is held for HEALTH_WEDGE_MS; /healthz says 503 once its
 * loop is older than HTTP_ROUTER_MAX_AGE_MS (5 s), so there is a window
 * of some seconds in which every health check fails. In it no ping may
 * arrive but the one that was already on its way when the test saw the
 * 503 (the heartbeat checks, then pings; one at a time). Unchecked, a
 * ping a second would put about four in it. No gap between pings is
 * timed: a loaded machine may delay any of them.
 */
#define HEALTH_WEDGE_MS	10000

static void
test_healthz_and_heartbeat_follow_the_router(void)
{
	struct env	*e = env_new(NULL, 1, 1);
	char		*body = NULL;
	int64_t		 until, wedge_from, wedge_end, seen_503 = 0;
	int64_t		 back_at = 0, withheld;
	size_t		 n, i, before, in_window = 0;
	long		 status = 0;

	/* HTTPS with the certificate from files; healthy: ok, pings. */
	T_EQ_INT(http_do(e, "/healthz", NULL, NULL, &body), 200);
	T_EQ_STR(body, "ok\n");
	free(body);
	body = NULL;
	until = now_ms() + 15000;
	while (beats(e) < 4 && now_ms() < until)
		sleep_ms(50);
	T_OK(beats(e) >= 4);
	withheld = metric_get(M_HEARTBEAT, "withheld", NULL);

	/* The router cannot turn before wedge_end. */
	wedge_from = now_ms();
	app_wedge_router(e->app, HEALTH_WEDGE_MS);
	wedge_end = wedge_from + HEALTH_WEDGE_MS;
	until = now_ms() + HEALTH_WEDGE_MS + 5000;
	while (now_ms() < until) {
		free(body);
		body = NULL;
		if ((status = http_do(e, "/healthz", NULL, NULL, &body)) ==
		    503) {
			seen_503 = now_ms();
			break;
		}
		sleep_ms(100);
	}
	T_EQ_INT(status, 503);
	T_CONTAINS(body, "router");
	free(body);
	body = NULL;
	before = beats(e);
	/* Healthy again once the wedge is over, and the pings come back. */
	until = now_ms() + HEALTH_WEDGE_MS + 10000;
	while (now_ms() < until) {
		free(body);
		body = NULL;
		if (http_do(e, "/healthz", NULL, NULL, &body) == 200) {
			back_at = now_ms();
			break;
		}
		sleep_ms(100);
	}
	free(body);
	T_OK(back_at >= wedge_end);
	until = now_ms() + 15000;
	while (beats(e) < before + 3 && now_ms() < until)
		sleep_ms(50);
	T_OK(beats(e) >= before + 3);
	T_OK(metric_get(M_HEARTBEAT, "withheld", NULL) > withheld);

	/* The pings that arrived while every health check failed. */
	pthread_mutex_lock(&e->beat_lock);
	n = e->nbeats;
	for (i = 0; i < n; i++)
		if (seen_503 != 0 && e->beats[i] > seen_503 &&
		    e->beats[i] < wedge_end)
			in_window++;
	pthread_mutex_unlock(&e->beat_lock);
	if (in_window > 1)
		printf("  %zu pings in the %lld ms after /healthz said 503\n",
		    in_window, (long long)(wedge_end - seen_503));
	T_OK(in_window <= 1);
	env_free(e);
}

/*
 * Another process holds the write lock past the health check's wait:
 * /healthz says so (503 naming the database), and is healthy again once
 * the lock is let go. Both are waited for, never timed: the answer is
 * reused for a second and the check waits HTTP_DB_WAIT_MS for the lock.
 * The 503 is where it is said: a check that finds the database locked
 * logs no "begin failed" line (nothing else writes meanwhile, and every
 * other connection waits longer than the lock is held).
 */
static void
test_healthz_names_a_database_that_takes_no_write(void)
{
	struct env	*e = env_new(NULL, 0, 0);
	char		*body = NULL, *path, *logs;
	struct store	*db;
	int64_t		 until;
	long		 status = 0;
	int		 fd, saved;

	T_EQ_INT(http_do(e, "/healthz", NULL, NULL, &body), 200);
	free(body);
	body = NULL;
	db = hold_database(e);
	fflush(stderr);
	path = t_path("stderr.log");
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	T_OK(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	until = now_ms() + 20000;
	while (now_ms() < until) {
		free(body);
		body = NULL;
		if ((status = http_do(e, "/healthz", NULL, NULL, &body)) ==
		    503)
			break;
		sleep_ms(100);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	T_EQ_INT(status, 503);
	T_EQ_STR(body, "database: database is locked\n");
	logs = t_slurp(path);
	T_OK(logs != NULL);
	T_NOT_CONTAINS(logs, "begin failed");
	free(logs);
	free(path);
	release_database(db);
	until = now_ms() + 20000;
	while (now_ms() < until) {
		free(body);
		body = NULL;
		if ((status = http_do(e, "/healthz", NULL, NULL, &body)) ==
		    200)
			break;
		sleep_ms(100);
	}
	T_EQ_INT(status, 200);
	T_EQ_STR(body, "ok\n");
	free(body);
	env_free(e);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T_RUN(test_pve_backup_failure_is_one_message_with_buttons);
	T_RUN(test_pbs_verification_failure_names_the_snapshots);
	T_RUN(test_pve_silence_holds_the_next_failure);
	T_RUN(test_wrong_secret_gets_401_and_an_audit_row);
	T_RUN(test_oversize_body_gets_413);
	T_RUN(test_database_refusing_the_write_gets_503_and_no_2xx);
	T_RUN(test_alertmanager_firing_then_resolved_edits_one_message);
	T_RUN(test_silence_button_creates_the_silence_in_alertmanager);
	T_RUN(test_metrics_pass_promtool_and_move);
	T_RUN(test_healthz_and_heartbeat_follow_the_router);
	T_RUN(test_healthz_names_a_database_that_takes_no_write);
	return t_summary();
}
