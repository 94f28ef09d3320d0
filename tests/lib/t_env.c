/*
 * t_env.c - see t_env.h.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "fakes/fake_telegram.h"
#include "log.h"
#include "sim.h"
#include "t.h"
#include "t_db.h"
#include "t_env.h"
#include "util.h"

#define T_SECRET_ENV	"PVEBOT_T_ENV_PVE_SECRET"

static const char *t_env_users =
    "users:\n"
    "  alice:\n"
    "    identities: [telegram:1001, console:alice]\n"
    "    roles: [admin]\n"
    "  bob:\n"
    "    identities: [telegram:1002, console:bob]\n"
    "    roles: [operator]\n"
    "  carol:\n"
    "    identities: [telegram:1003, console:carol]\n"
    "    roles: [viewer]\n";

struct t_env *
t_env_new(const struct t_env_opts *o)
{
	struct t_env	*e = xcalloc(1, sizeof *e);
	struct sim_opts	 so;
	struct buf	 b;
	char		 secret[33], cwd[PATH_MAX], *text, *cause = NULL;
	char		*dbconf;
	const char	*token_path = NULL;

	random_hex(secret, 16);
	setenv(T_SECRET_ENV, secret, 1);
	log_add_secret(secret);
	log_add_secret(T_TG_TOKEN);
	memset(&so, 0, sizeof so);
	so.tls = 1;
	so.secret = secret;
	so.task_ms = o->task_ms > 0 ? o->task_ms : 400;
	if ((e->sim = sim_start(&so, &cause)) == NULL) {
		printf("sim_start: %s\n", cause);
		abort();
	}
	e->console = o->console;
	if (o->telegram) {
		e->tg_port = o->tg_port > 0 ? o->tg_port : t_free_port();
		if (!o->no_fake && t_env_start_fake(e) != 0)
			abort();
	}
	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	text = t_path("policies");
	mkdir(text, 0755);
	free(text);
	text = t_slurp("policies/default.yaml");
	if (text == NULL) {
		printf("run the tests from the source folder\n");
		abort();
	}
	t_write("policies/default.yaml", text, 0644);
	free(text);
	t_write("policies/users.yaml", t_env_users, 0644);
	if (o->telegram)
		token_path = t_write("telegram.token", T_TG_TOKEN "\n", 0600);
	dbconf = t_db_conf("pvebot.db", &e->db_path);

	buf_init(&b, 0);
	buf_printf(&b,
	    "%s"
	    "commands: %s/commands\n"
	    "policies: %s/policies\n"
	    "log_level: debug\n"
	    "chat:\n"
	    "  max_command_age: 5m\n"
	    "  bot_name: " T_TG_BOT "\n"
	    "  console:\n"
	    "    enabled: true\n"
	    "    user: %s\n",
	    dbconf, cwd, t_tmpdir(), o->console_user != NULL ?
	    o->console_user : "bob");
	if (o->telegram)
		buf_printf(&b,
		    "  telegram:\n"
		    "    enabled: true\n"
		    "    api_url: http://127.0.0.1:%d\n"
		    "    token_file: %s\n"
		    "    poll_timeout: 5s\n"
		    "    chats:\n"
		    "      - id: \"-100200\"\n"
		    "        alerts: true\n"
		    "    users: [\"1001\", \"1002\"]\n",
		    e->tg_port, token_path);
	buf_printf(&b,
	    "proxmox:\n"
	    "  urls: [\"https://127.0.0.1:%d/api2/json\"]\n"
	    "  token_id: pvebot@pve!bot\n"
	    "  secret_env: " T_SECRET_ENV "\n"
	    "  fingerprint: \"%s\"\n"
	    "  task_poll_ms: 200\n"
	    "workers:\n"
	    "  count: 2\n"
	    "  edit_interval: 1s\n"
	    "monitor:\n"
	    "  enabled: false\n"
	    "digest:\n"
	    "  enabled: false\n"
	    "%s",
	    sim_port(e->sim), sim_fingerprint(e->sim),
	    o->extra != NULL ? o->extra : "");
	e->conf_path = xstrdup(t_write("bot.conf", buf_cstr(&b), 0600));
	free(dbconf);
	buf_release(&b);
	return e;
}

int
t_env_start_fake(struct t_env *e)
{
	e->tg = fake_telegram_start_port(T_TG_TOKEN, T_TG_BOT, T_TG_BOT_ID,
	    e->tg_port);
	if (e->tg == NULL) {
		t_fail(__FILE__, __LINE__, "the fake Telegram cannot listen "
		    "on port %d", e->tg_port);
		return -1;
	}
	return 0;
}

int
t_env_start(struct t_env *e, const char *ready, int timeout_ms)
{
	char	*argv[] = { (char *)t_pvebot(), (char *)"run", (char *)"-c",
		    e->conf_path, NULL };
	char	*out;

	t_proc_start(&e->proc, argv, e->console);
	e->running = 1;
	e->out_seen = 0;
	if (t_proc_wait_for(&e->proc, ready != NULL ? ready :
	    "connector started", timeout_ms) == 0)
		return 0;
	out = t_proc_output(&e->proc);
	t_fail(__FILE__, __LINE__, "pvebot did not say \"%s\": %s",
	    ready != NULL ? ready : "connector started", out);
	free(out);
	/* Why: is it there, and what is it waiting in? */
	{
		char	 path[64], *stat, *wchan;

		snprintf(path, sizeof path, "/proc/%d/stat", e->proc.pid);
		stat = t_slurp(path);
		snprintf(path, sizeof path, "/proc/%d/wchan", e->proc.pid);
		wchan = t_slurp(path);
		printf("  pvebot pid %d: stat %s wchan %s\n", e->proc.pid,
		    stat != NULL ? stat : "(gone)", wchan != NULL ? wchan :
		    "(none)");
		free(stat);
		free(wchan);
	}
	return -1;
}

int
t_env_stop(struct t_env *e, int sig)
{
	int	 rc;

	if (!e->running)
		return -1;
	rc = t_proc_stop(&e->proc, sig, 20000);
	e->running = 0;
	return rc;
}

void
t_env_free(struct t_env *e)
{
	char	*out, *d;

	if (e == NULL)
		return;
	if (e->running) {
		T_EQ_INT(t_env_stop(e, SIGTERM), 0);
	}
	out = t_proc_output(&e->proc);
	T_NOT_CONTAINS(out, T_TG_TOKEN);
	T_NOT_CONTAINS(out, "AAFenvSECRET");
	if (t_case_failed) {
		if (e->tg != NULL) {
			d = fake_telegram_dump(e->tg);
			printf("  fake calls (tail):\n%s", strlen(d) > 8000 ?
			    d + strlen(d) - 8000 : d);
			free(d);
		}
		printf("  pvebot output (tail):\n%s\n", strlen(out) > 8000 ?
		    out + strlen(out) - 8000 : out);
	}
	free(out);
	fake_telegram_stop(e->tg);
	sim_stop(e->sim);
	free(e->conf_path);
	free(e->db_path);
	free(e);
}

void
t_env_type(struct t_env *e, const char *line)
{
	char	*l = xasprintf("%s\n", line);
	size_t	 len = strlen(l), off = 0;

	while (off < len) {
		ssize_t	 n = write(e->proc.in_fd, l + off, len - off);

		if (n <= 0) {
			t_fail(__FILE__, __LINE__, "cannot type on the "
			    "console");
			break;
		}
		off += (size_t)n;
	}
	free(l);
}

size_t
t_env_output_size(struct t_env *e)
{
	struct stat	 st;

	if (stat(e->proc.out_path, &st) != 0)
		return 0;
	return (size_t)st.st_size;
}

int64_t
t_env_wait_output(struct t_env *e, size_t from, const char *needle,
    int timeout_ms, size_t *end)
{
	int64_t		 deadline = now_ms() + timeout_ms;
	struct buf	 b;
	int		 fd;
	size_t		 off = from;
	char		 chunk[65536];

	if ((fd = open(e->proc.out_path, O_RDONLY)) == -1)
		return -1;
	buf_init(&b, 0);
	buf_append(&b, "", 0);
	for (;;) {
		ssize_t		 n;
		const char	*hit;

		while ((n = pread(fd, chunk, sizeof chunk, (off_t)off)) > 0) {
			buf_append(&b, chunk, (size_t)n);
			off += (size_t)n;
		}
		if ((hit = strstr(buf_cstr(&b), needle)) != NULL) {
			int64_t	 at = now_ms();

			if (end != NULL)
				*end = from + (size_t)(hit - b.data) +
				    strlen(needle);
			close(fd);
			buf_release(&b);
			return at;
		}
		if (now_ms() > deadline)
			break;
		sleep_ms(1);
	}
	close(fd);
	buf_release(&b);
	return -1;
}

long long
t_env_wait_bot(struct t_env *e, long long chat, const char *needle,
    int timeout_ms)
{
	int64_t		 deadline = now_ms() + timeout_ms;
	long long	 id;

	while ((id = fake_telegram_find(e->tg, chat, needle)) == -1 &&
	    now_ms() < deadline)
		sleep_ms(5);
	return id;
}

int64_t
t_env_sent_at(struct t_env *e, long long chat, const char *method,
    const char *needle)
{
	size_t	 n = fake_telegram_ncalls(e->tg, method), i;
	int64_t	 found = -1;

	for (i = 0; i < n && found < 0; i++) {
		json_t		*p;
		const char	*html;
		char		*plain = NULL, *err = NULL;
		size_t		 units;
		int64_t		 at = 0;
		int		 status = 0;

		p = fake_telegram_call(e->tg, method, i, &at, &status);
		html = json_string_value(json_object_get(p, "text"));
		if (status == 200 && html != NULL &&
		    json_integer_value(json_object_get(p, "chat_id")) ==
		    chat && fake_telegram_parse_html(html, &plain, &units,
		    &err) == 0 && strstr(plain, needle) != NULL)
			found = at;
		free(plain);
		free(err);
		json_decref(p);
	}
	return found;
}

int
t_db_ints(const char *path, const char *sql, const char *a1, const char *a2,
    int64_t *out, size_t max)
{
	return t_db_query_ints(path, sql, a1, a2, out, max);
}

int64_t
t_env_db_int(struct t_env *e, const char *sql, const char *arg)
{
	int64_t	 v;

	return t_db_ints(e->db_path, sql, arg, NULL, &v, 1) == 1 ? v : -1;
}

int64_t
t_env_jobs(struct t_env *e, const char *command)
{
	return t_env_db_int(e, "SELECT count(*) FROM jobs WHERE command = ?1",
	    command);
}

int
t_env_sim_fault(struct t_env *e, const char *json)
{
	char	*cause = NULL;
	int	 rc;

	if ((rc = sim_admin(e->sim, "fault", json, &cause)) != 0) {
		t_fail(__FILE__, __LINE__, "sim fault %s: %s", json, cause);
		free(cause);
	}
	return rc;
}

static size_t
collect(char *p, size_t size, size_t nmemb, void *arg)
{
	buf_append(arg, p, size * nmemb);
	return size * nmemb;
}

static json_t *
sim_request(struct t_env *e, const char *method)
{
	struct curl_blob	 ca;
	struct buf		 b;
	CURL			*curl = curl_easy_init();
	char			*url;
	json_t			*j;

	buf_init(&b, 16 << 20);
	buf_append(&b, "", 0);
	url = xasprintf("https://127.0.0.1:%d/_sim/calls", sim_port(e->sim));
	ca.data = (void *)sim_cert_pem(e->sim);
	ca.len = strlen(sim_cert_pem(e->sim));
	ca.flags = CURL_BLOB_COPY;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(curl) != CURLE_OK)
		t_fail(__FILE__, __LINE__, "%s /_sim/calls failed", method);
	curl_easy_cleanup(curl);
	free(url);
	j = json_loads(buf_cstr(&b), 0, NULL);
	buf_release(&b);
	return j;
}

json_t *
t_env_sim_calls(struct t_env *e)
{
	json_t	*j = sim_request(e, "GET");

	if (!json_is_array(j)) {
		json_decref(j);
		j = json_array();
	}
	return j;
}

void
t_env_sim_forget_calls(struct t_env *e)
{
	json_decref(sim_request(e, "DELETE"));
}

int
t_env_sim_count(struct t_env *e, const char *method, const char *part)
{
	json_t	*calls = t_env_sim_calls(e), *c;
	size_t	 i;
	int	 n = 0;

	json_array_foreach(calls, i, c) {
		const char	*m = json_string_value(json_object_get(c,
				    "method"));
		const char	*p = json_string_value(json_object_get(c,
				    "path"));

		if (m != NULL && p != NULL && strcmp(m, method) == 0 &&
		    strstr(p, part) != NULL)
			n++;
	}
	json_decref(calls);
	return n;
}
