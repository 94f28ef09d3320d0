/*
 * End-to-end through the whole daemon, in process: the fake Discord, the
 * Proxmox simulator (HTTPS, pinned), SQLite, the real catalogue and
 * policy, the router and the workers (app_create/app_start, as `pvebot
 * run` does). A prefix command and its reply, a slash command answered
 * by editing its deferred response, and an approval by button with the
 * four presses the router must refuse: the requester, a role that may
 * not approve, a forged nonce, and a second press after the decision.
 */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "app.h"
#include "chat.h"
#include "cmd.h"
#include "conf.h"
#include "fakes/fake_discord.h"
#include "log.h"
#include "sim.h"
#include "t.h"
#include "t_db.h"
#include "util.h"

#define CAROL	"700000000000000003"
#define PVE_SECRET "0b7a4f5e-1c2d-4e3f-9a8b-7c6d5e4f3a2b"

static const char *users_yaml =
    "users:\n"
    "  alice:\n"
    "    identities: [discord:" ALICE "]\n"
    "    roles: [admin]\n"
    "  bob:\n"
    "    identities: [discord:" BOB "]\n"
    "    roles: [operator]\n"
    "  carol:\n"
    "    identities: [discord:" CAROL "]\n"
    "    roles: [viewer]\n";

struct e2e {
	struct fake_discord	*fd;
	struct sim		*sim;
	struct conf		*conf;
	struct app		*app;
};

static int
e2e_start(struct e2e *e)
{
	struct sim_opts	 so;
	char		*cause = NULL, *errors = NULL, *text, *policy;
	char		*cwd = getcwd(NULL, 0), *db = NULL;
	char		*dbconf = t_db_conf("pvebot.db", &db);
	char		*pdir = t_path("policies");
	char		*ldir = t_path("local-commands");

	memset(e, 0, sizeof *e);
	/*
	 * Before any thread starts: libwebsockets' threads call mktime(),
	 * which reads TZ, and a concurrent setenv() crashed getenv().
	 */
	setenv("PVEBOT_TEST_DISCORD_TOKEN", TOKEN, 1);
	setenv("PVEBOT_TEST_PVE_SECRET", PVE_SECRET, 1);
	e->fd = fake_discord_start(TOKEN, 5000);
	memset(&so, 0, sizeof so);
	so.tls = 1;
	so.token_id = "pvebot@pve!bot";
	so.secret = PVE_SECRET;
	so.task_ms = 300;
	if ((e->sim = sim_start(&so, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "sim: %s", cause);
		goto fail;
	}
	mkdir(pdir, 0700);
	mkdir(ldir, 0700);
	policy = t_slurp("policies/default.yaml");
	T_OK(policy != NULL);
	t_write("policies/default.yaml", policy != NULL ? policy : "", 0600);
	t_write("policies/users.yaml", users_yaml, 0600);
	free(policy);
	text = xasprintf(
	    "%s"
	    "commands: %s/commands\n"
	    "local_commands: %s\n"
	    "policies: %s\n"
	    "log_level: info\n"
	    "chat:\n"
	    "  max_command_age: 5m\n"
	    "  discord:\n"
	    "    api_url: %s\n"
	    "    token_env: PVEBOT_TEST_DISCORD_TOKEN\n"
	    "    application_id: \"" FAKE_DISCORD_APP_ID "\"\n"
	    "    guilds: [\"" GUILD "\"]\n"
	    "    channels:\n"
	    "      - id: \"" CHAN "\"\n"
	    "    users: [\"" DMUSER "\"]\n"
	    "proxmox:\n"
	    "  urls: [\"https://127.0.0.1:%d/api2/json\"]\n"
	    "  token_id: pvebot@pve!bot\n"
	    "  secret_env: PVEBOT_TEST_PVE_SECRET\n"
	    "  fingerprint: \"%s\"\n"
	    "  task_poll_ms: 100\n"
	    "workers:\n"
	    "  count: 2\n"
	    "  edit_interval: 1s\n"
	    "monitor:\n"
	    "  enabled: false\n"
	    "digest:\n"
	    "  enabled: false\n", dbconf, cwd, ldir, pdir,
	    fake_discord_api_url(e->fd), sim_port(e->sim),
	    sim_fingerprint(e->sim));
	/* A file, so that a reload reads it again. */
	e->conf = conf_load(t_write("bot.conf", text, 0600), &errors);
	free(text);
	if (e->conf == NULL) {
		t_fail(__FILE__, __LINE__, "conf: %s", errors);
		goto fail;
	}
	if ((e->app = app_create(e->conf, -1, -1, &cause)) == NULL) {
		t_fail(__FILE__, __LINE__, "app: %s", cause);
		goto fail;
	}
	e->app->tick_ms = 100;
	if (app_start(e->app, &cause) != 0) {
		t_fail(__FILE__, __LINE__, "start: %s", cause);
		goto fail;
	}
	if (fake_discord_wait_live(e->fd, 1, 5000) != 0) {
		t_fail(__FILE__, __LINE__, "no gateway session");
		goto fail;
	}
	free(cwd);
	free(db);
	free(dbconf);
	free(pdir);
	free(ldir);
	return 0;
fail:
	free(cause);
	free(errors);
	free(cwd);
	free(db);
	free(dbconf);
	free(pdir);
	free(ldir);
	return -1;
}

static void
e2e_done(struct e2e *e)
{
	if (e->app != NULL) {
		app_stop(e->app);
		app_free(e->app);
	}
	conf_free(e->conf);
	if (e->sim != NULL)
		sim_stop(e->sim);
	fake_discord_stop(e->fd);
}

static size_t
sink(char *data, size_t size, size_t n, void *arg)
{
	return buf_append(arg, data, size * n) == 0 ? size * n : 0;
}

/* The content of the nth POST to a path, or NULL; caller frees. */
static char *
posted(struct e2e *e, const char *method, const char *path, int nth,
    int timeout_ms)
{
	struct fake_call	 c;
	json_t			*body;
	char			*s = NULL;

	if (fake_discord_wait_call(e->fd, method, path, nth, timeout_ms,
	    &c) != 0)
		return NULL;
	body = json_loads(c.body, 0, NULL);
	if (json_is_string(json_object_get(body, "content")))
		s = xstrdup(json_string_value(json_object_get(body,
		    "content")));
	json_decref(body);
	fake_call_release(&c);
	return s;
}

static void
test_prefix_command_reply(void)
{
	struct e2e	 e;
	char		*reply;

	if (e2e_start(&e) != 0)
		goto out;
	fake_discord_dispatch(e.fd, "MESSAGE_CREATE", fake_discord_message(
	    CHAN, GUILD, CAROL, 0, "!whoami"));
	reply = posted(&e, "POST", "/channels/" CHAN "/messages", 1, 5000);
	T_CONTAINS(reply, "discord:" CAROL);
	T_CONTAINS(reply, "viewer");
	free(reply);
	/* A channel pvebot does not serve gets nothing. */
	fake_discord_dispatch(e.fd, "MESSAGE_CREATE", fake_discord_message(
	    OTHER, GUILD, ALICE, 0, "!whoami"));
	fake_discord_dispatch(e.fd, "MESSAGE_CREATE", fake_discord_message(
	    CHAN, GUILD, ALICE, 0, "!status"));
	reply = posted(&e, "POST", "/channels/", 2, 5000);
	T_OK(reply != NULL);
	T_EQ_INT(fake_discord_count_calls(e.fd, "POST", "/channels/" OTHER),
	    0);
	free(reply);
out:
	e2e_done(&e);
}

static void
test_slash_command_reply(void)
{
	struct e2e	 e;
	char		*id = NULL, *reply, *path;
	int		 type = 0;
	int64_t		 delay = -1;
	json_t		*d;

	if (e2e_start(&e) != 0)
		goto out;
	/* The catalogue was registered for the guild at READY. */
	T_EQ_INT(fake_discord_wait_call(e.fd, "PUT", "/applications/"
	    FAKE_DISCORD_APP_ID "/guilds/" GUILD "/commands", 1, 3000, NULL),
	    0);
	d = fake_discord_slash(CHAN, GUILD, CAROL, "whoami", NULL);
	path = xasprintf("/webhooks/" FAKE_DISCORD_APP_ID "/%s/messages/"
	    "@original", json_string_value(json_object_get(d, "token")));
	fake_discord_interaction(e.fd, d, &id);
	reply = posted(&e, "PATCH", path, 1, 5000);
	T_CONTAINS(reply, "discord:" CAROL);
	T_EQ_INT(fake_discord_callback_of(e.fd, id, &type, &delay), 0);
	T_EQ_INT(type, 5);
	T_OK(delay < 3000);
	free(reply);
	free(path);
out:
	free(id);
	e2e_done(&e);
}

/* Presses a button as `user`; returns the ephemeral answer (free it). */
static char *
press(struct e2e *e, const char *user, const char *msg, const char *data,
    int nth_answer)
{
	fake_discord_interaction(e->fd, fake_discord_press(CHAN, GUILD, user,
	    msg, data), NULL);
	return posted(e, "POST", "/webhooks/" FAKE_DISCORD_APP_ID "/",
	    nth_answer, 5000);
}

/* How often the simulator saw a call whose path contains `needle`. */
static int
sim_count(struct e2e *e, const char *method, const char *needle)
{
	char		*url, *out = NULL;
	CURL		*curl;
	struct buf	 b;
	json_t		*calls, *c;
	size_t		 i;
	int		 n = 0;

	buf_init(&b, 4 * 1024 * 1024);
	url = xasprintf("https://127.0.0.1:%d/_sim/calls", sim_port(e->sim));
	curl = curl_easy_init();
	curl_easy_setopt(curl, CURLOPT_URL, url);
	/* Our own simulator on loopback, with its throwaway certificate. */
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
	if (curl_easy_perform(curl) != CURLE_OK)
		n = -1;
	curl_easy_cleanup(curl);
	free(url);
	calls = json_loads(buf_cstr(&b), 0, NULL);
	json_array_foreach(calls, i, c) {
		const char *m = json_string_value(json_object_get(c, "method"));
		const char *p = json_string_value(json_object_get(c, "path"));

		if (m != NULL && p != NULL && strcmp(m, method) == 0 &&
		    strstr(p, needle) != NULL)
			n++;
	}
	json_decref(calls);
	buf_release(&b);
	free(out);
	return n;
}

static void
test_approval_by_button(void)
{
	struct e2e	 e;
	struct fake_call c;
	json_t		*body = NULL, *reply = NULL, *buttons;
	const char	*ap = NULL, *msg = NULL;
	char		*forged = NULL, *answer, *stored, *edit_path;
	int64_t		 deadline;
	int		 runs = 0;

	if (e2e_start(&e) != 0)
		goto out;
	/* bob (operator) asks for a rollback: an admin must approve. */
	fake_discord_dispatch(e.fd, "MESSAGE_CREATE", fake_discord_message(
	    CHAN, GUILD, BOB, 0, "!rollback 101 pre-upgrade"));
	if (fake_discord_wait_call(e.fd, "POST", "/channels/" CHAN
	    "/messages", 1, 5000, &c) != 0) {
		t_fail(__FILE__, __LINE__, "no approval request");
		goto out;
	}
	body = json_loads(c.body, 0, NULL);
	reply = json_loads(c.reply, 0, NULL);
	fake_call_release(&c);
	buttons = json_object_get(json_array_get(json_object_get(body,
	    "components"), 0), "components");
	T_EQ_INT(json_array_size(buttons), 2);
	ap = json_string_value(json_object_get(json_array_get(buttons, 0),
	    "custom_id"));
	msg = json_string_value(json_object_get(reply, "id"));
	T_OK(ap != NULL && str_has_prefix(ap, "ap:"));
	T_OK(msg != NULL);
	if (ap == NULL || msg == NULL)
		goto out;
	T_EQ_INT(json_integer_value(json_object_get(json_array_get(buttons,
	    0), "style")), 3);
	T_EQ_INT(json_integer_value(json_object_get(json_array_get(buttons,
	    1), "style")), 4);
	T_OK(str_has_prefix(json_string_value(json_object_get(json_array_get(
	    buttons, 1), "custom_id")), "dn:"));
	forged = xstrdup(ap);
	forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == '0' ?
	    '1' : '0';

	/* 1. the requester */
	answer = press(&e, BOB, msg, ap, 1);
	T_CONTAINS(answer, "you requested this job");
	free(answer);
	/* 2. a role that may not approve */
	answer = press(&e, CAROL, msg, ap, 2);
	T_CONTAINS(answer, "may not");
	free(answer);
	/* 3. a forged nonce */
	answer = press(&e, ALICE, msg, forged, 3);
	T_CONTAINS(answer, "not valid");
	free(answer);
	T_EQ_INT(sim_count(&e, "POST", "/snapshot/pre-upgrade/rollback"), 0);
	/* 4. alice approves */
	answer = press(&e, ALICE, msg, ap, 4);
	T_CONTAINS(answer, "approved");
	free(answer);
	/* The request loses its buttons. */
	edit_path = xasprintf("/channels/" CHAN "/messages/%s", msg);
	T_EQ_INT(fake_discord_wait_call(e.fd, "PATCH", edit_path, 1, 5000,
	    NULL), 0);
	free(edit_path);
	deadline = now_ms() + 5000;
	while ((runs = sim_count(&e, "POST",
	    "/snapshot/pre-upgrade/rollback")) == 0 && now_ms() < deadline)
		sleep_ms(50);
	T_EQ_INT(runs, 1);
	/* 5. twice: the job is no longer waiting, nothing more runs */
	answer = press(&e, ALICE, msg, ap, 5);
	T_CONTAINS(answer, "not awaiting approval");
	free(answer);
	sleep_ms(300);
	T_EQ_INT(sim_count(&e, "POST", "/snapshot/pre-upgrade/rollback"), 1);
	stored = fake_discord_stored_message(e.fd, msg);
	T_CONTAINS(stored, "\"components\":[]");
	free(stored);
out:
	json_decref(body);
	json_decref(reply);
	free(forged);
	e2e_done(&e);
}

/* An approval asked for through a slash command: the buttons ride on
 * the interaction's response, and a press there decides it. */
static void
test_slash_approval(void)
{
	struct e2e		 e;
	struct fake_call	 orig;
	json_t			*d, *opts, *body = NULL, *reply = NULL;
	const char		*ap, *msg;
	char			*path, *answer;
	int64_t			 deadline;

	if (e2e_start(&e) != 0)
		goto out;
	opts = json_pack("[{s:s, s:i, s:s}, {s:s, s:i, s:s}]", "name",
	    "snapshot", "type", 3, "value", "pre-upgrade", "name", "guest",
	    "type", 3, "value", "101");
	d = fake_discord_slash(CHAN, GUILD, BOB, "rollback", opts);
	path = xasprintf("/webhooks/" FAKE_DISCORD_APP_ID "/%s/messages/"
	    "@original", json_string_value(json_object_get(d, "token")));
	fake_discord_interaction(e.fd, d, NULL);
	if (fake_discord_wait_call(e.fd, "PATCH", path, 1, 5000, &orig) != 0) {
		t_fail(__FILE__, __LINE__, "no response to the slash command");
		free(path);
		goto out;
	}
	free(path);
	body = json_loads(orig.body, 0, NULL);
	reply = json_loads(orig.reply, 0, NULL);
	fake_call_release(&orig);
	ap = json_string_value(json_object_get(json_array_get(
	    json_object_get(json_array_get(json_object_get(body,
	    "components"), 0), "components"), 0), "custom_id"));
	msg = json_string_value(json_object_get(reply, "id"));
	T_OK(ap != NULL && str_has_prefix(ap, "ap:"));
	T_OK(msg != NULL);
	if (ap == NULL || msg == NULL)
		goto out;
	answer = press(&e, ALICE, msg, ap, 1);
	T_CONTAINS(answer, "approved");
	free(answer);
	deadline = now_ms() + 5000;
	while (sim_count(&e, "POST", "/snapshot/pre-upgrade/rollback") == 0 &&
	    now_ms() < deadline)
		sleep_ms(50);
	T_EQ_INT(sim_count(&e, "POST", "/snapshot/pre-upgrade/rollback"), 1);
out:
	json_decref(body);
	json_decref(reply);
	e2e_done(&e);
}

/* A slash command that runs a job: the deferred response becomes the
 * job's message, edited in place as it progresses. */
static void
test_slash_job_progress(void)
{
	struct e2e		 e;
	struct fake_call	 orig, c;
	json_t			*d, *opts, *reply;
	char			*path, *mpath = NULL, *stored;
	int			 i, n;
	int64_t			 deadline;

	if (e2e_start(&e) != 0)
		goto out;
	opts = json_pack("[{s:s, s:i, s:s}]", "name", "guest", "type", 3,
	    "value", "104");
	d = fake_discord_slash(CHAN, GUILD, BOB, "start", opts);
	path = xasprintf("/webhooks/" FAKE_DISCORD_APP_ID "/%s/messages/"
	    "@original", json_string_value(json_object_get(d, "token")));
	fake_discord_interaction(e.fd, d, NULL);
	if (fake_discord_wait_call(e.fd, "PATCH", path, 1, 5000, &orig) != 0) {
		t_fail(__FILE__, __LINE__, "no response to the slash command");
		free(path);
		goto out;
	}
	T_EQ_INT(orig.status, 200);
	reply = json_loads(orig.reply, 0, NULL);
	mpath = xasprintf("/channels/" CHAN "/messages/%s",
	    json_string_value(json_object_get(reply, "id")));
	json_decref(reply);
	fake_call_release(&orig);
	free(path);
	/* Progress and the result edit that message, nothing new. */
	deadline = now_ms() + 8000;
	while (sim_count(&e, "POST", "/qemu/104/status/start") == 0 &&
	    now_ms() < deadline)
		sleep_ms(50);
	T_EQ_INT(sim_count(&e, "POST", "/qemu/104/status/start"), 1);
	T_EQ_INT(fake_discord_wait_call(e.fd, "PATCH", mpath, 1, 8000, NULL),
	    0);
	deadline = now_ms() + 8000;
	do {
		stored = fake_discord_stored_message(e.fd, mpath + strlen(
		    "/channels/" CHAN "/messages/"));
		n = stored != NULL && strstr(stored, "succeeded") != NULL;
		free(stored);
		if (!n)
			sleep_ms(50);
	} while (!n && now_ms() < deadline);
	n = fake_discord_count_calls(e.fd, "PATCH", mpath);
	T_OK(n >= 1);
	for (i = 1; i <= n; i++) {
		T_EQ_INT(fake_discord_wait_call(e.fd, "PATCH", mpath, i, 100,
		    &c), 0);
		T_EQ_INT(c.status, 200);
		fake_call_release(&c);
	}
	T_EQ_INT(fake_discord_count_calls(e.fd, "POST", "/channels/"), 0);
	stored = fake_discord_stored_message(e.fd, mpath + strlen(
	    "/channels/" CHAN "/messages/"));
	T_CONTAINS(stored, "**Job #1: start 104**");
	T_CONTAINS(stored, "succeeded");
	free(stored);
out:
	free(mpath);
	e2e_done(&e);
}

/*
 * Issue 17: a reload (what SIGHUP does) takes a new command and a new
 * channel: the slash commands are registered again with the new one, and
 * the channel is served at once; a second reload that changes nothing
 * registers nothing.
 */
static void
test_reload_registers_commands(void)
{
	struct e2e	 e;
	struct fake_call c;
	char		*conf = NULL, *next, *notes = NULL, *cause = NULL;
	char		*reply;
	const char	*at;
	int		 puts;

	if (e2e_start(&e) != 0)
		goto out;
	T_EQ_INT(fake_discord_wait_call(e.fd, "PUT", "/applications/", 1,
	    5000, &c), 0);
	T_OK(c.body != NULL && strstr(c.body, "\"fleet\"") == NULL);
	fake_call_release(&c);
	t_write("local-commands/fleet.yaml",
	    "commands:\n"
	    "  - name: fleet\n"
	    "    summary: The nodes, by another name\n"
	    "    action: cluster.read\n"
	    "    builtin: nodes\n", 0600);
	conf = t_slurp(e.conf->path);
	at = conf != NULL ? strstr(conf, "    users: [") : NULL;
	T_OK(at != NULL);
	if (at == NULL)
		goto out;
	next = xasprintf("%.*s      - id: \"" OTHER "\"\n%s", (int)(at - conf),
	    conf, at);
	t_write("bot.conf", next, 0600);
	free(next);
	T_EQ_INT(app_reload(e.app, &notes, &cause), 0);
	T_EQ_STR(notes, "");
	free(notes);
	notes = NULL;
	T_EQ_INT(fake_discord_wait_call(e.fd, "PUT", "/applications/", 2,
	    5000, &c), 0);
	T_OK(c.body != NULL && strstr(c.body, "\"fleet\"") != NULL);
	T_CONTAINS(c.path, "/guilds/" GUILD "/commands");
	fake_call_release(&c);
	fake_discord_dispatch(e.fd, "MESSAGE_CREATE", fake_discord_message(
	    OTHER, GUILD, ALICE, 0, "!fleet"));
	reply = posted(&e, "POST", "/channels/" OTHER "/messages", 1, 5000);
	T_CONTAINS(reply, "Job #1: fleet");
	free(reply);
	/* Nothing changed: no second registration of the same list. */
	puts = fake_discord_count_calls(e.fd, "PUT", "/applications/");
	T_EQ_INT(app_reload(e.app, &notes, &cause), 0);
	fake_discord_dispatch(e.fd, "MESSAGE_CREATE", fake_discord_message(
	    OTHER, GUILD, ALICE, 0, "!whoami"));
	reply = posted(&e, "POST", "/channels/" OTHER "/messages", 2, 5000);
	T_CONTAINS(reply, "alice");
	free(reply);
	T_EQ_INT(fake_discord_count_calls(e.fd, "PUT", "/applications/"),
	    puts);
	/* A retired rule set lives while a job holds it, no longer. */
	{
		const struct app_rules	*held = app_rules_hold(e.app);

		free(notes);
		notes = NULL;
		T_EQ_INT(app_reload(e.app, &notes, &cause), 0);
		T_EQ_INT((int)e.app->nretired, 1);
		T_OK(held != e.app->rules);
		T_OK(catalogue_find(held->catalogue, "fleet") != NULL);
		app_rules_drop(e.app, held);
		T_EQ_INT((int)e.app->nretired, 0);
	}
out:
	free(notes);
	free(cause);
	free(conf);
	e2e_done(&e);
}

int
main(void)
{
	log_set_level(LOG_WARN);
	T_RUN(test_prefix_command_reply);
	T_RUN(test_slash_command_reply);
	T_RUN(test_approval_by_button);
	T_RUN(test_slash_job_progress);
	T_RUN(test_slash_approval);
	T_RUN(test_reload_registers_commands);
	return t_summary();
}
