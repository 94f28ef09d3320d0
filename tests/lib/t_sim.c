/*
 * t_sim.c - pvebot on the console against the in-process simulator
 * (t_sim.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>


#include "t_db.h"
#include "t_sim.h"
#include "util.h"

#define T_SIM_SECRET	"0b5c4f52-6d0a-4c4e-9b0e-3d2f3a9d7c11"

void
t_sim_start(struct t_sim *e, int task_ms, int flags, const char *proxmox,
    const char *workers)
{
	struct sim_opts	 so = { .tls = 1, .token_id = "pvebot@pve!bot",
	    .secret = T_SIM_SECRET, .task_ms = task_ms };
	char		*cause = NULL, *text, *sched = NULL, cwd[512], *cmd;
	char		*dbconf;

	setenv("T_PVE_SECRET", so.secret, 1);
	memset(e, 0, sizeof *e);
	if ((e->sim = sim_start(&so, &cause)) == NULL) {
		printf("sim_start: %s\n", cause);
		abort();
	}
	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	/* The default policy, in a folder the test may change. */
	e->pols = t_path("pols");
	cmd = xasprintf("mkdir -p %s && cp %s/policies/*.yaml %s/", e->pols,
	    cwd, e->pols);
	if (system(cmd) != 0)
		abort();
	free(cmd);
	dbconf = t_db_conf("pvebot.db", &e->db);
	e->sched = t_path("schedules.yaml");
	if (flags & T_SIM_SCHEDULES)
		sched = xasprintf("schedules: %s\n", e->sched);
	text = xasprintf(
	    "%s"
	    "commands: %s/commands\n"
	    "policies: %s\n"
	    "%s"
	    "chat:\n"
	    "  console: {user: bob}\n"
	    "  rate_limit: {user_burst: 100, per_user: 100}\n"
	    "proxmox:\n"
	    "  urls: [\"https://127.0.0.1:%d/api2/json\"]\n"
	    "  token_id: pvebot@pve!bot\n"
	    "  secret_env: T_PVE_SECRET\n"
	    "  fingerprint: \"%s\"\n"
	    "  task_poll_ms: 100\n"
	    "%s"
	    "workers:\n"
	    "  count: 2\n"
	    "  edit_interval: 0s\n"
	    "%s"
	    "monitor: {enabled: false}\n", dbconf, cwd, e->pols,
	    sched != NULL ? sched : "", sim_port(e->sim),
	    sim_fingerprint(e->sim), proxmox != NULL ? proxmox : "",
	    workers != NULL ? workers : "");
	e->conf = xstrdup(t_write("bot.conf", text, 0600));
	free(text);
	free(sched);
	free(dbconf);
}

void
t_sim_stop(struct t_sim *e)
{
	sim_stop(e->sim);
	free(e->conf);
	free(e->db);
	free(e->pols);
	free(e->sched);
}

void
t_sim_admin(struct t_sim *e, const char *what, const char *json)
{
	char	*cause = NULL;

	if (sim_admin(e->sim, what, json, &cause) != 0) {
		printf("sim_admin %s %s: %s\n", what, json, cause);
		t_case_failed++;
	}
	free(cause);
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

int
t_sim_count_calls(struct t_sim *e, const char *method, const char *path_glob)
{
	CURL			*c = curl_easy_init();
	struct curl_blob	 ca = { (void *)sim_cert_pem(e->sim),
	    strlen(sim_cert_pem(e->sim)), CURL_BLOB_COPY };
	struct buf		 b;
	char			*url;
	json_t			*calls, *v;
	size_t			 i;
	int			 n = 0;

	buf_init(&b, 16 << 20);
	buf_append(&b, "", 0);
	url = xasprintf("https://127.0.0.1:%d/_sim/calls", sim_port(e->sim));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	free(url);
	calls = json_loads(buf_cstr(&b), 0, NULL);
	buf_release(&b);
	json_array_foreach(calls, i, v) {
		const char	*m = json_string_value(json_object_get(v,
		    "method"));
		const char	*p = json_string_value(json_object_get(v,
		    "path"));

		if (m != NULL && p != NULL && strcmp(m, method) == 0 &&
		    glob_match(path_glob, p))
			n++;
	}
	json_decref(calls);
	return n;
}

/* The simulator's calls of method, as "path params" lines, in order. */
char *
t_sim_calls_of(struct sim *sim, const char *method)
{
	CURL			*c = curl_easy_init();
	struct curl_blob	 ca = { (void *)sim_cert_pem(sim),
	    strlen(sim_cert_pem(sim)), CURL_BLOB_COPY };
	struct buf		 b, out;
	char			*url, *ps;
	json_t			*calls, *v;
	size_t			 i;

	buf_init(&b, 16 << 20);
	buf_append(&b, "", 0);
	url = xasprintf("https://127.0.0.1:%d/_sim/calls", sim_port(sim));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	free(url);
	calls = json_loads(buf_cstr(&b), 0, NULL);
	buf_release(&b);
	buf_init(&out, 1 << 20);
	buf_puts(&out, "");
	json_array_foreach(calls, i, v) {
		const char	*m = json_string_value(json_object_get(v,
		    "method"));

		if (m == NULL || strcmp(m, method) != 0)
			continue;
		ps = json_dumps(json_object_get(v, "params"), JSON_COMPACT |
		    JSON_SORT_KEYS);
		buf_printf(&out, "%s %s\n", json_string_value(
		    json_object_get(v, "path")), ps != NULL ? ps : "");
		free(ps);
	}
	json_decref(calls);
	return buf_steal(&out);
}

/* The status of a node or guest in /cluster/resources, by its id. */
char *
t_sim_resource_status(struct t_sim *e, const char *id)
{
	CURL			*c = curl_easy_init();
	struct curl_blob	 ca = { (void *)sim_cert_pem(e->sim),
	    strlen(sim_cert_pem(e->sim)), CURL_BLOB_COPY };
	struct curl_slist	*hl = NULL;
	struct buf		 b;
	char			*url, *auth, *st = NULL;
	json_t			*doc, *v;
	size_t			 i;

	buf_init(&b, 16 << 20);
	buf_append(&b, "", 0);
	url = xasprintf("https://127.0.0.1:%d/api2/json/cluster/resources",
	    sim_port(e->sim));
	auth = xasprintf("Authorization: PVEAPIToken=pvebot@pve!bot=%s",
	    getenv("T_PVE_SECRET"));
	hl = curl_slist_append(hl, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_slist_free_all(hl);
	free(url);
	free(auth);
	doc = json_loads(buf_cstr(&b), 0, NULL);
	buf_release(&b);
	json_array_foreach(json_object_get(doc, "data"), i, v) {
		const char *k = json_string_value(json_object_get(v, "id"));

		if (k != NULL && strcmp(k, id) == 0)
			st = xstrdup(json_string_value(json_object_get(v,
			    "status")));
	}
	json_decref(doc);
	return st != NULL ? st : xstrdup("?");
}

int
t_sim_wait_status(struct t_sim *e, const char *id, const char *want,
    int timeout_ms)
{
	int64_t	 end = now_ms() + timeout_ms;
	char	*st;
	int	 ok;

	for (;;) {
		st = t_sim_resource_status(e, id);
		ok = strcmp(st, want) == 0;
		free(st);
		if (ok || now_ms() > end)
			return ok;
		sleep_ms(50);
	}
}

/* Waits until job id is in state want; 1 when it got there. */
int
t_sim_wait_job(struct t_sim *e, int id, const char *want, int timeout_ms)
{
	int64_t	 end = now_ms() + timeout_ms;
	char	*st;
	int	 ok;

	for (;;) {
		st = t_job_text(e->db, id, "state");
		ok = st != NULL && strcmp(st, want) == 0;
		free(st);
		if (ok || now_ms() > end)
			return ok;
		sleep_ms(50);
	}
}

char *
t_job_text(const char *db, int id, const char *col)
{
	char	*sql = xasprintf("SELECT %s FROM jobs WHERE id = %d", col, id);
	char	*v = t_db_query_text(db, sql);

	free(sql);
	return v;
}

void
t_sim_daemon(struct t_sim *e, struct t_proc *p)
{
	char	*argv[] = { (char *)t_pvebot(), "run", "-c", e->conf, NULL };

	t_proc_start(p, argv, 1);
	T_EQ_INT(t_proc_wait_for(p, "connector started", 15000), 0);
}

void
t_type(struct t_proc *p, const char *line)
{
	size_t	 len = strlen(line);

	T_OK(write(p->in_fd, line, len) == (ssize_t)len);
}

int
t_count(const char *hay, const char *needle)
{
	int	 n = 0;

	while (hay != NULL && (hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}
