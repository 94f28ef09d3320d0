/*
 * test_telegram_e2e.c - pvebot end to end through Telegram: `pvebot run`
 * as a child process, talking to the fake Bot API and to the Proxmox
 * simulator over loopback. Users type commands and press buttons in the
 * fake; the tests read what pvebot sent back, what it asked Proxmox to
 * do, and what it wrote in its log.
 *
 * People (policies/users.yaml written per test):
 *   alice telegram:1001 admin (may approve)
 *   bob   telegram:1002 operator
 *   carol telegram:1003 viewer
 * Chat -100200 is the configured group; 1001 and 1002 may also use
 * private chats.
 *
 * The daemon is bin/pvebot (or $PVEBOT). While app.c still references
 * the Telegram backend weakly, a pvebot linked from libpvebot.a lacks it
 * ("built without one of the enabled chat platforms"); then this binary
 * runs itself as the daemon instead (--pvebot-run CONFIG: the same
 * conf_load, app_create, app_start, app_run as `pvebot run`).
 */
#include <sys/stat.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "app.h"
#include "chat.h"
#include "conf.h"
#include "fakes/fake_telegram.h"
#include "log.h"
#include "sim.h"
#include "t.h"
#include "t_db.h"
#include "t_env.h"
#include "util.h"

#define TOKEN		"555000111:AAFe2eSECRETtokenVALUE_abcdefghijk"
#define BOT		"pvebot_test"
#define BOT_ID		900002
#define GROUP		-100200
#define ALICE		1001
#define BOB		1002
#define CAROL		1003
#define SECRET_ENV	"PVEBOT_E2E_PVE_SECRET"

struct e2e {
	struct fake_telegram	*fake;
	struct sim		*sim;
	struct t_proc		 proc;
	int			 running;
	char			*conf_path;
	char			*db_path;
};

static const char *users_yaml =
    "users:\n"
    "  alice:\n"
    "    identities: [telegram:1001]\n"
    "    roles: [admin]\n"
    "  bob:\n"
    "    identities: [telegram:1002, \"matrix:@bob:hs.test\"]\n"
    "    roles: [operator]\n"
    "  carol:\n"
    "    identities: [telegram:1003]\n"
    "    roles: [viewer]\n";

static char	 self_exe[PATH_MAX];
static int	 use_self = -1;	/* -1: not decided yet */

/* `pvebot run -c CONFIG` with this binary's copy of the code. */
static int
self_run(const char *path)
{
	struct conf	*c;
	struct app	*app;
	char		*errors = NULL, *cause = NULL;
	int		 rc = 0;

	if ((c = conf_load(path, &errors)) == NULL) {
		fputs(errors, stderr);
		free(errors);
		return 2;
	}
	if ((app = app_create(c, STDIN_FILENO, STDOUT_FILENO, &cause)) ==
	    NULL) {
		fprintf(stderr, "pvebot: %s\n", cause);
		free(cause);
		conf_free(c);
		return 2;
	}
	if (app_start(app, &cause) != 0) {
		fprintf(stderr, "pvebot: %s\n", cause);
		free(cause);
		rc = 1;
	} else
		rc = app_run(app) == 0 ? 0 : 1;
	app_free(app);
	conf_free(c);
	return rc;
}

/* Decides once whether $PVEBOT has the Telegram backend linked in. */
static void
pick_daemon(void)
{
	char	*argv[] = { (char *)t_pvebot(), (char *)"run", (char *)"-c",
		    NULL, NULL };
	char	*out = NULL, *conf, *token, *probe, cwd[PATH_MAX];

	if (use_self != -1)
		return;
	/*
	 * A config with a malformed token answers at once either way:
	 * "invalid format" from the backend, or "built without" from app.c.
	 */
	if (getcwd(cwd, sizeof cwd) == NULL)
		cwd[0] = '\0';
	token = xstrdup(t_write("probe.token", "not a token\n", 0600));
	conf = xasprintf("database: %s/probe.db\n"
	    "commands: %s/commands\npolicies: %s/policies\n"
	    "chat:\n  telegram:\n    enabled: true\n"
	    "    api_url: http://127.0.0.1:9\n"
	    "    token_file: %s\n", t_tmpdir(), cwd, t_tmpdir(), token);
	probe = xstrdup(t_write("probe.conf", conf, 0600));
	argv[3] = probe;
	t_spawn(argv, NULL, NULL, &out, 10000);
	use_self = out != NULL && strstr(out, "built without") != NULL;
	if (use_self)
		printf("  note: %s lacks the Telegram backend; running the "
		    "daemon from this test binary\n", argv[0]);
	else
		T_CONTAINS(out, "invalid format");
	free(out);
	free(conf);
	free(token);
	free(probe);
}

static void
e2e_start_pvebot(struct e2e *e)
{
	char	*argv[] = { (char *)t_pvebot(), (char *)"run", (char *)"-c",
		    e->conf_path, NULL };
	char	*self_argv[] = { self_exe, (char *)"--pvebot-run",
		    e->conf_path, NULL };

	pick_daemon();
	T_EQ_INT(t_proc_start(&e->proc, use_self ? self_argv : argv, 0), 0);
	e->running = 1;
	if (t_proc_wait_for(&e->proc, "connector started name=telegram",
	    20000) != 0) {
		char	*out = t_proc_output(&e->proc);

		t_fail(__FILE__, __LINE__, "pvebot did not start: %s",
		    out != NULL ? out : "");
		free(out);
	}
}

/* A simulator, a fake Telegram, a config with `token`; pvebot if start. */
static struct e2e *
e2e_new_with(const char *token, int start)
{
	struct e2e	*e = xcalloc(1, sizeof *e);
	struct sim_opts	 so;
	char		 secret[33], cwd[PATH_MAX], *policy, *text, *cause = NULL;
	char		*dbconf;
	const char	*token_path;

	random_hex(secret, 16);
	setenv(SECRET_ENV, secret, 1);
	log_add_secret(secret);
	memset(&so, 0, sizeof so);
	so.tls = 1;
	so.secret = secret;
	so.task_ms = 400;
	e->sim = sim_start(&so, &cause);
	T_OK(e->sim != NULL);
	free(cause);
	e->fake = fake_telegram_start(TOKEN, BOT, BOT_ID);
	T_OK(e->fake != NULL);

	T_OK(getcwd(cwd, sizeof cwd) != NULL);
	text = t_path("policies");
	mkdir(text, 0755);
	free(text);
	policy = t_slurp("policies/default.yaml");
	T_OK(policy != NULL);
	t_write("policies/default.yaml", policy != NULL ? policy : "", 0644);
	free(policy);
	t_write("policies/users.yaml", users_yaml, 0644);
	text = xasprintf("%s\n", token);
	token_path = t_write("telegram.token", text, 0600);
	free(text);
	dbconf = t_db_conf("pvebot.db", &e->db_path);
	text = xasprintf(
	    "%s"
	    "commands: %s/commands\n"
	    "policies: %s/policies\n"
	    "log_level: debug\n"
	    "chat:\n"
	    "  max_command_age: 5m\n"
	    "  bot_name: " BOT "\n"
	    "  telegram:\n"
	    "    enabled: true\n"
	    "    api_url: %s\n"
	    "    token_file: %s\n"
	    "    poll_timeout: 5s\n"
	    "    chats:\n"
	    "      - id: \"-100200\"\n"
	    "        alerts: true\n"
	    "    users: [\"1001\", \"1002\"]\n"
	    "proxmox:\n"
	    "  urls: [\"https://127.0.0.1:%d/api2/json\"]\n"
	    "  token_id: pvebot@pve!bot\n"
	    "  secret_env: " SECRET_ENV "\n"
	    "  fingerprint: \"%s\"\n"
	    "  task_poll_ms: 200\n"
	    "workers:\n"
	    "  count: 2\n"
	    "  edit_interval: 1s\n"
	    "monitor:\n"
	    "  enabled: false\n"
	    "digest:\n"
	    "  enabled: false\n",
	    dbconf, cwd, t_tmpdir(), fake_telegram_url(e->fake),
	    token_path, e->sim != NULL ? sim_port(e->sim) : 0,
	    e->sim != NULL ? sim_fingerprint(e->sim) : "");
	free(dbconf);
	e->conf_path = xstrdup(t_write("bot.conf", text, 0600));
	free(text);
	if (start)
		e2e_start_pvebot(e);
	return e;
}

static struct e2e *
e2e_new(void)
{
	return e2e_new_with(TOKEN, 1);
}

/* Checks pvebot's whole output for the token; returns the output. */
static char *
e2e_output(struct e2e *e)
{
	char	*out = t_proc_output(&e->proc);

	T_OK(out != NULL);
	T_NOT_CONTAINS(out, TOKEN);
	T_NOT_CONTAINS(out, "AAFe2eSECRET");
	return out;
}

static void
e2e_free(struct e2e *e)
{
	char	*out;

	if (e->running) {
		T_EQ_INT(t_proc_stop(&e->proc, SIGTERM, 10000), 0);
		e->running = 0;
	}
	out = e2e_output(e);
	if (t_case_failed) {
		char	*d = fake_telegram_dump(e->fake);

		printf("  fake calls:\n%s", d);
		printf("  pvebot output (tail):\n%s\n", out != NULL &&
		    strlen(out) > 6000 ? out + strlen(out) - 6000 : out);
		free(d);
	}
	free(out);
	fake_telegram_stop(e->fake);
	sim_stop(e->sim);
	free(e->conf_path);
	free(e->db_path);
	free(e);
}

/* ------------------------------------------------------------------ */
/* What the bot said, what Proxmox was asked, what the database holds   */

/* Waits for a bot message in chat containing needle; its id or -1. */
static long long
wait_bot_text(struct e2e *e, long long chat, const char *needle,
    int timeout_ms)
{
	int64_t		 deadline = now_ms() + timeout_ms;
	long long	 id;

	while ((id = fake_telegram_find(e->fake, chat, needle)) == -1 &&
	    now_ms() < deadline)
		sleep_ms(50);
	return id;
}

/* Successful calls of method to chat whose visible text has needle. */
static int
count_bot_text(struct e2e *e, long long chat, const char *method,
    const char *needle)
{
	size_t	 n = fake_telegram_ncalls(e->fake, method), i;
	int	 count = 0;

	for (i = 0; i < n; i++) {
		json_t		*p;
		const char	*html;
		char		*plain = NULL, *err = NULL;
		size_t		 units;
		int		 status = 0;

		p = fake_telegram_call(e->fake, method, i, NULL, &status);
		html = json_string_value(json_object_get(p, "text"));
		if (status == 200 && html != NULL &&
		    json_integer_value(json_object_get(p, "chat_id")) ==
		    chat && fake_telegram_parse_html(html, &plain, &units,
		    &err) == 0 && strstr(plain, needle) != NULL)
			count++;
		free(plain);
		free(err);
		json_decref(p);
	}
	return count;
}

static size_t
collect(char *p, size_t size, size_t nmemb, void *arg)
{
	buf_append(arg, p, size * nmemb);
	return size * nmemb;
}

/* Calls the simulator received that match "METHOD" and a path suffix. */
static int
sim_count(struct e2e *e, const char *method, const char *path_suffix)
{
	struct curl_blob	 ca;
	struct buf		 b;
	CURL			*curl = curl_easy_init();
	json_t			*calls, *c;
	char			*url;
	size_t			 i;
	int			 n = 0;

	buf_init(&b, 8 * 1024 * 1024);
	url = xasprintf("https://127.0.0.1:%d/_sim/calls", sim_port(e->sim));
	ca.data = (void *)sim_cert_pem(e->sim);
	ca.len = strlen(sim_cert_pem(e->sim));
	ca.flags = CURL_BLOB_COPY;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	T_EQ_INT(curl_easy_perform(curl), CURLE_OK);
	curl_easy_cleanup(curl);
	free(url);
	calls = json_loads(buf_cstr(&b), 0, NULL);
	buf_release(&b);
	T_OK(json_is_array(calls));
	json_array_foreach(calls, i, c) {
		const char	*m = json_string_value(json_object_get(c,
				    "method"));
		const char	*p = json_string_value(json_object_get(c,
				    "path"));
		size_t		 plen = p != NULL ? strlen(p) : 0;
		size_t		 slen = strlen(path_suffix);

		if (m != NULL && p != NULL && strcmp(m, method) == 0 &&
		    plen >= slen && strcmp(p + plen - slen, path_suffix) == 0)
			n++;
	}
	json_decref(calls);
	return n;
}

/* Jobs in the database for a canonical command text. */
static int
db_jobs(struct e2e *e, const char *command)
{
	int64_t	 v;

	return t_db_ints(e->db_path, "SELECT count(*) FROM jobs WHERE command = ?1", command, NULL, &v, 1) == 1 ? (int)v : -1;
}

/* Audit rows of `event` whose detail contains needle. */
static int
db_audit(struct e2e *e, const char *event, const char *needle)
{
	int64_t	 v;

	/* A substring's place: instr() in SQLite, strpos() in PostgreSQL. */
	return t_db_ints(e->db_path, t_db_pg() ?
	    "SELECT count(*) FROM audit WHERE event = ?1 AND "
	    "strpos(detail, ?2) > 0" :
	    "SELECT count(*) FROM audit WHERE event = ?1 AND "
	    "instr(detail, ?2) > 0", event, needle, &v, 1) == 1 ? (int)v : -1;
}

/* ------------------------------------------------------------------ */

static void
test_command_and_reply(void)
{
	struct e2e	*e = e2e_new();
	long long	 id;
	char		*text;

	/* whoami tells the identity pvebot sees. */
	fake_telegram_inject_message(e->fake, BOB, BOB, "whoami", 0);
	T_OK(wait_bot_text(e, BOB, "you are telegram:1002", 10000) != -1);

	/* A command runs, its message is edited as it progresses. */
	fake_telegram_inject_message(e->fake, BOB, BOB, "/start 101", 0);
	id = wait_bot_text(e, BOB, "succeeded", 20000);
	T_OK(id != -1);
	text = fake_telegram_message_text(e->fake, BOB, id);
	T_CONTAINS(text, "Job #1: start 101");
	free(text);
	/* One message, edited in place: never a second one for the job. */
	T_EQ_INT(count_bot_text(e, BOB, "sendMessage", "Job #1"), 1);
	T_EQ_INT(sim_count(e, "POST", "/qemu/101/status/start"), 1);
	T_EQ_INT(db_jobs(e, "start 101"), 1);

	/* A hostile argument comes back escaped, exactly as typed. */
	fake_telegram_inject_message(e->fake, BOB, BOB,
	    "start <b>&evil</b>", 0);
	id = wait_bot_text(e, BOB, "<b>&evil</b>", 10000);
	T_OK(id != -1);
	/* A hostile guest name from the API is shown as text, not markup. */
	{
		char	*cause = NULL;

		T_EQ_INT(sim_admin(e->sim, "guest", "{\"vmid\":104,"
		    "\"name\":\"<i>x</i>&amp;\"}", &cause), 0);
		free(cause);
	}
	fake_telegram_inject_message(e->fake, BOB, BOB, "/guest 104", 0);
	id = wait_bot_text(e, BOB, "<i>x</i>&amp;", 10000);
	T_OK(id != -1);
	/* Every message pvebot sent was valid for Telegram. */
	{
		size_t	 n = fake_telegram_ncalls(e->fake, "sendMessage"), i;

		for (i = 0; i < n; i++) {
			int	 status = 0;

			json_decref(fake_telegram_call(e->fake, "sendMessage",
			    i, NULL, &status));
			T_EQ_INT(status, 200);
		}
	}
	e2e_free(e);
}

/*
 * Issue 14 item 13: whoami in the group shows only the Telegram identity;
 * in a private chat, every network's.
 */
static void
test_whoami_shared_room(void)
{
	struct e2e	*e = e2e_new();
	long long	 id;
	char		*text;

	fake_telegram_inject_message(e->fake, GROUP, BOB, "/whoami", 0);
	id = wait_bot_text(e, GROUP, "you are telegram:1002", 10000);
	T_OK(id != -1);
	text = fake_telegram_message_text(e->fake, GROUP, id);
	T_CONTAINS(text, "identities: telegram:1002 (1 on other networks: "
	    "ask in a private chat)");
	T_NOT_CONTAINS(text, "matrix:");
	free(text);
	fake_telegram_inject_message(e->fake, BOB, BOB, "whoami", 0);
	id = wait_bot_text(e, BOB, "you are telegram:1002", 10000);
	T_OK(id != -1);
	text = fake_telegram_message_text(e->fake, BOB, id);
	T_CONTAINS(text, "identities: telegram:1002, matrix:@bob:hs.test");
	free(text);
	e2e_free(e);
}

/* Presses a button as user on message msg; returns the answer (free). */
static char *
press(struct e2e *e, long long user, long long msg, const char *data)
{
	char		 qid[32], *ans = NULL;
	int64_t		 deadline;

	fake_telegram_press(e->fake, GROUP, user, msg, data, qid);
	deadline = now_ms() + 10000;
	while ((ans = fake_telegram_answer(e->fake, qid)) == NULL &&
	    now_ms() < deadline)
		sleep_ms(50);
	return ans;
}

static void
test_approval_by_button(void)
{
	struct e2e	*e = e2e_new();
	long long	 msg;
	json_t		*kb;
	const char	*approve = NULL;
	char		*markup, *ans, *forged, *text;

	fake_telegram_inject_message(e->fake, GROUP, BOB,
	    "/rollback@" BOT " 101 pre-upgrade", 0);
	msg = wait_bot_text(e, GROUP, "Approval needed", 15000);
	T_OK(msg != -1);
	markup = fake_telegram_message_markup(e->fake, GROUP, msg);
	kb = json_loads(markup != NULL ? markup : "", 0, NULL);
	approve = json_string_value(json_object_get(json_array_get(
	    json_array_get(json_object_get(kb, "inline_keyboard"), 0), 0),
	    "callback_data"));
	T_OK(approve != NULL && str_has_prefix(approve, "ap:"));
	if (approve == NULL)
		approve = "ap:1:00000000000000000000000000000000";
	T_CONTAINS(markup, "\"dn:");

	/* The requester may not approve their own request. */
	ans = press(e, BOB, msg, approve);
	T_OK(ans != NULL && *ans != '\0');
	T_NOT_CONTAINS(ans, "approved by");
	free(ans);
	/* Nor may a viewer. */
	ans = press(e, CAROL, msg, approve);
	T_OK(ans != NULL && *ans != '\0');
	T_NOT_CONTAINS(ans, "approved by");
	free(ans);
	/* A forged nonce is refused, even from an admin. */
	forged = xstrdup(approve);
	memset(strrchr(forged, ':') + 1, 'f', 32);
	ans = press(e, ALICE, msg, forged);
	T_OK(ans != NULL && *ans != '\0');
	T_NOT_CONTAINS(ans, "approved by");
	free(ans);
	free(forged);
	sleep_ms(500);
	T_EQ_INT(sim_count(e, "POST", "/snapshot/pre-upgrade/rollback"), 0);

	/* An admin approves: accepted, the buttons go, the job runs once. */
	ans = press(e, ALICE, msg, approve);
	T_CONTAINS(ans, "approved by");
	free(ans);
	T_OK(wait_bot_text(e, GROUP, "approved by alice", 15000) !=
	    -1);
	free(markup);
	markup = fake_telegram_message_markup(e->fake, GROUP, msg);
	T_EQ_STR(markup, "");
	/* Pressing again changes nothing. */
	ans = press(e, ALICE, msg, approve);
	T_OK(ans != NULL && *ans != '\0');
	T_NOT_CONTAINS(ans, "approved by");
	free(ans);
	T_OK(wait_bot_text(e, GROUP, "succeeded", 25000) != -1);
	T_EQ_INT(sim_count(e, "POST", "/snapshot/pre-upgrade/rollback"), 1);
	T_EQ_INT(db_jobs(e, "rollback 101 pre-upgrade"), 1);
	/* The approval message itself became the job's progress message. */
	text = fake_telegram_message_text(e->fake, GROUP, msg);
	T_CONTAINS(text, "succeeded");
	free(text);
	free(markup);
	json_decref(kb);
	e2e_free(e);
}

/*
 * Issue 14 items 14 and 18: a request made in a private chat goes to the
 * group where approvers are, bound there; the requester is told where,
 * and mentioned (notified) when it is decided; the request keeps who,
 * what and why through every update; `/approve` alone takes the only
 * pending request of the room.
 */
static void
test_private_request_asks_the_group(void)
{
	struct e2e	*e = e2e_new();
	long long	 ask, mine;
	char		*text, *markup;
	json_t		*kb, *p;
	const char	*approve;
	size_t		 i, n;
	int		 mentioned = 0;

	fake_telegram_inject_message(e->fake, BOB, BOB,
	    "rollback 101 pre-upgrade", 0);
	ask = wait_bot_text(e, GROUP, "Approval needed", 15000);
	T_OK(ask != -1);
	mine = wait_bot_text(e, BOB, "waits for approval by admin", 15000);
	T_OK(mine != -1);
	text = fake_telegram_message_text(e->fake, BOB, mine);
	T_CONTAINS(text, "the request is in telegram:-100200");
	free(text);
	text = fake_telegram_message_text(e->fake, GROUP, ask);
	T_CONTAINS(text, "requested by bob");
	T_NOT_CONTAINS(text, "telegram:1002");
	free(text);
	/* Approving from the private chat does not count: bound to the
	 * group. */
	markup = fake_telegram_message_markup(e->fake, GROUP, ask);
	kb = json_loads(markup != NULL ? markup : "", 0, NULL);
	approve = json_string_value(json_object_get(json_array_get(
	    json_array_get(json_object_get(kb, "inline_keyboard"), 0), 0),
	    "callback_data"));
	T_OK(approve != NULL);
	free(markup);
	/* Alice approves in the group, with the command alone. */
	fake_telegram_inject_message(e->fake, GROUP, ALICE, "/approve@" BOT,
	    0);
	T_OK(wait_bot_text(e, GROUP, "approved by alice; queued", 15000) !=
	    -1);
	/* The request in the group kept its context. */
	text = fake_telegram_message_text(e->fake, GROUP, ask);
	T_CONTAINS(text, "requested by bob");
	T_CONTAINS(text, "rollback 101 pre-upgrade");
	T_CONTAINS(text, "approved by alice; queued");
	free(text);
	/* Bob is told in his chat, mentioned so he is notified. */
	T_OK(wait_bot_text(e, BOB, "was approved by alice", 15000) != -1);
	n = fake_telegram_ncalls(e->fake, "sendMessage");
	for (i = 0; i < n; i++) {
		const char	*html;

		p = fake_telegram_call(e->fake, "sendMessage", i, NULL, NULL);
		html = json_string_value(json_object_get(p, "text"));
		if (html != NULL && strstr(html, "was approved by alice") !=
		    NULL && strstr(html, "tg://user?id=1002") != NULL)
			mentioned = 1;
		json_decref(p);
	}
	T_OK(mentioned);
	T_OK(wait_bot_text(e, BOB, "succeeded", 25000) != -1);
	T_EQ_INT(sim_count(e, "POST", "/snapshot/pre-upgrade/rollback"), 1);
	/* With nothing pending, /approve says so. */
	fake_telegram_inject_message(e->fake, GROUP, ALICE, "/approve@" BOT,
	    0);
	T_OK(wait_bot_text(e, GROUP, "nothing waits for approval in this "
	    "room", 15000) != -1);
	json_decref(kb);
	e2e_free(e);
}

static void
test_429_and_5xx_recovery(void)
{
	struct e2e	*e = e2e_new();
	int64_t		 t429 = 0, tok = 0;
	int		 status = 0, found429 = 0;
	size_t		 n, i;

	fake_telegram_fault(e->fake, "getUpdates", FAKE_TG_5XX, 502, 2);
	fake_telegram_fault(e->fake, "getUpdates", FAKE_TG_GARBAGE, 0, 1);
	fake_telegram_fault(e->fake, "sendMessage", FAKE_TG_429, 2, 1);
	fake_telegram_fault(e->fake, "editMessageText", FAKE_TG_5XX, 500, 1);
	fake_telegram_inject_message(e->fake, BOB, BOB, "start 101", 0);
	/* The command still runs and its final result still arrives. */
	T_OK(wait_bot_text(e, BOB, "succeeded", 30000) != -1);
	T_EQ_INT(sim_count(e, "POST", "/qemu/101/status/start"), 1);
	T_EQ_INT(db_jobs(e, "start 101"), 1);
	/* The 429's retry_after was waited out before the next send. */
	n = fake_telegram_ncalls(e->fake, "sendMessage");
	for (i = 0; i < n; i++) {
		json_decref(fake_telegram_call(e->fake, "sendMessage", i,
		    found429 ? &tok : &t429, &status));
		if (status == 429)
			found429 = 1;
		else if (found429)
			break;
	}
	T_OK(found429);
	T_OK(tok - t429 >= 1950);
	e2e_free(e);
}

static void
test_wrong_token_stops_with_a_clear_error(void)
{
	const char	*wrong = "555000111:AAFwrongWRONGwrongWRONG_abcdefghijk";
	struct e2e	*e = e2e_new_with(wrong, 0);
	char		*argv[] = { (char *)t_pvebot(), (char *)"run", (char *)"-c",
			    e->conf_path, NULL };
	char		*self_argv[] = { self_exe, (char *)"--pvebot-run",
			    e->conf_path, NULL };
	char		*err = NULL;
	int		 rc;

	pick_daemon();
	rc = t_spawn(use_self == 1 ? self_argv : argv, NULL, NULL, &err,
	    20000);
	T_EQ_INT(rc, 1);
	T_CONTAINS(err, "Telegram rejected the bot token (401 Unauthorized)");
	T_NOT_CONTAINS(err, wrong);
	T_NOT_CONTAINS(err, "AAFwrongWRONG");
	/* It gave up at once: one getMe, no polling. */
	T_EQ_INT(fake_telegram_ncalls(e->fake, "getMe"), 1);
	T_EQ_INT(fake_telegram_ncalls(e->fake, "getUpdates"), 0);
	free(err);
	e2e_free(e);
}

static void
test_stale_command_refused(void)
{
	struct e2e	*e = e2e_new();
	long long	 id;
	char		*text;

	fake_telegram_inject_message(e->fake, BOB, BOB, "start 101",
	    wall_now() - 600);
	id = wait_bot_text(e, BOB, "arrived late", 10000);
	T_OK(id != -1);
	text = fake_telegram_message_text(e->fake, BOB, id);
	T_CONTAINS(text, "start 101");
	free(text);
	sleep_ms(500);
	T_EQ_INT(sim_count(e, "POST", "/qemu/101/status/start"), 0);
	T_EQ_INT(db_jobs(e, "start 101"), 0);
	e2e_free(e);
}

static void
test_kill9_restart_loses_and_repeats_nothing(void)
{
	struct e2e	*e = e2e_new();
	long long	 before;

	fake_telegram_inject_message(e->fake, BOB, BOB, "guest 101", 0);
	T_OK(wait_bot_text(e, BOB, "guest 101", 10000) != -1);
	/* Killed while a command may be anywhere on its way. */
	fake_telegram_inject_message(e->fake, BOB, BOB, "guest 102", 0);
	sleep_ms(30);
	T_EQ_INT(t_proc_stop(&e->proc, SIGKILL, 5000), 128 + SIGKILL);
	e->running = 0;
	/* And one sent while pvebot is down. */
	fake_telegram_inject_message(e->fake, BOB, BOB, "guest 103", 0);
	before = fake_telegram_confirmed(e->fake);
	e2e_start_pvebot(e);
	T_OK(wait_bot_text(e, BOB, "guest 103", 15000) != -1);
	sleep_ms(1500);
	/*
	 * Each command became exactly one job. (A job whose announcement
	 * the kill cut off runs a little later by the router's design; its
	 * existence is what counts here.)
	 */
	T_EQ_INT(db_jobs(e, "guest 101"), 1);
	T_EQ_INT(db_jobs(e, "guest 102"), 1);
	T_EQ_INT(db_jobs(e, "guest 103"), 1);
	/* And "guest 101" was not answered again after the restart. */
	T_EQ_INT(count_bot_text(e, BOB, "sendMessage", "Job #1: guest 101"),
	    1);
	T_OK(fake_telegram_confirmed(e->fake) > before);
	e2e_free(e);
}

/*
 * Issue 14 item 13: known people typing commands in a chat pvebot does
 * not serve leave one audit row per chat and day (not one per message,
 * and none for strangers), and nothing runs there.
 */
static void
test_unserved_chat_audited_once(void)
{
	struct e2e	*e = e2e_new();

	fake_telegram_inject_message(e->fake, -100999, ALICE, "/start 101",
	    0);
	fake_telegram_inject_message(e->fake, -100999, BOB, "/status", 0);
	fake_telegram_inject_message(e->fake, -100999, ALICE, "/whoami", 0);
	fake_telegram_inject_message(e->fake, -100998, 1009, "/status", 0);
	/* The router takes events in order: once this is answered, those
	 * before it were handled. */
	fake_telegram_inject_message(e->fake, GROUP, BOB, "/whoami", 0);
	T_OK(wait_bot_text(e, GROUP, "you are bob", 10000) != -1);
	T_EQ_INT(db_audit(e, "chat.unserved", "room=telegram:-100999"), 1);
	T_EQ_INT(db_audit(e, "chat.unserved", "room=telegram:-100998"), 0);
	T_EQ_INT(sim_count(e, "POST", "/qemu/101/status/start"), 0);
	T_EQ_INT(db_jobs(e, "start 101"), 0);
	e2e_free(e);
}

/* Whether the i-th setMyCommands named `command`. */
static int
menu_has(struct e2e *e, size_t i, const char *command)
{
	json_t	*p = fake_telegram_call(e->fake, "setMyCommands", i, NULL,
		    NULL), *c;
	size_t	 k;
	int	 found = 0;

	json_array_foreach(json_object_get(p, "commands"), k, c) {
		if (strcmp(json_string_value(json_object_get(c, "command")) ?
		    json_string_value(json_object_get(c, "command")) : "",
		    command) == 0)
			found = 1;
	}
	json_decref(p);
	return found;
}

/*
 * Issue 17: SIGHUP reloads bot.conf (a user served in private chats, a
 * setting that needs a restart named), the catalogue (a new command, in
 * Telegram's menu again) and the policy (a new person, a new
 * prohibition) without a restart; a broken file keeps everything as it
 * was.
 */
static void
test_sighup_reloads_everything(void)
{
	struct e2e	*e = e2e_new_with(TOKEN, 0);
	char		*conf, *next, *dir, *policy, *pnext, *out;
	long long	 id;

	dir = t_path("local-commands");
	mkdir(dir, 0755);
	conf = t_slurp(e->conf_path);
	next = t_swap(conf, "policies: ", "local_commands: LOCAL\n"
	    "policies: ");
	free(conf);
	conf = t_swap(next, "LOCAL", dir);
	free(next);
	t_write("bot.conf", conf, 0600);
	e2e_start_pvebot(e);
	T_OK(fake_telegram_wait_calls(e->fake, "setMyCommands", 1,
	    10000) == 0);
	T_OK(!menu_has(e, 0, "fleet"));

	/* The changes: bot.conf, a new command, the policy. */
	next = t_swap(conf, "users: [\"1001\", \"1002\"]",
	    "users: [\"1001\", \"1002\", \"1003\"]");
	free(conf);
	conf = t_swap(next, "count: 2", "count: 3");
	free(next);
	t_write("bot.conf", conf, 0600);
	t_write("local-commands/fleet.yaml",
	    "commands:\n"
	    "  - name: fleet\n"
	    "    summary: The nodes, by another name\n"
	    "    action: cluster.read\n"
	    "    builtin: nodes\n", 0644);
	t_write("policies/users.yaml", "users:\n"
	    "  alice:\n"
	    "    identities: [telegram:1001]\n"
	    "    roles: [admin]\n"
	    "  bob:\n"
	    "    identities: [telegram:1002]\n"
	    "    roles: [operator]\n"
	    "  carol:\n"
	    "    identities: [telegram:1003]\n"
	    "    roles: [viewer]\n"
	    "  dave:\n"
	    "    identities: [telegram:1004]\n"
	    "    roles: [operator]\n", 0644);
	policy = t_slurp("policies/default.yaml");
	pnext = t_swap(policy, "rules:\n", "rules:\n"
	    "  - name: freeze-101\n"
	    "    effect: prohibit\n"
	    "    why: 101 is frozen for the audit\n"
	    "    action: [guest.start]\n"
	    "    target:\n"
	    "      vmid: [101]\n");
	t_write("policies/default.yaml", pnext, 0644);
	T_EQ_INT(kill(e->proc.pid, SIGHUP), 0);
	T_EQ_INT(t_proc_wait_for(&e->proc, "policies reloaded", 10000), 0);
	T_EQ_INT(t_proc_wait_for(&e->proc, "workers.count", 1000), 0);

	/* The new command answers and is in the menu. */
	fake_telegram_inject_message(e->fake, GROUP, BOB, "/fleet", 0);
	T_OK(wait_bot_text(e, GROUP, "pve1", 10000) != -1);
	T_OK(fake_telegram_wait_calls(e->fake, "setMyCommands", 2,
	    15000) == 0);
	T_OK(menu_has(e, 1, "fleet"));
	/* A new person, a user now served in private, a new rule. */
	fake_telegram_inject_message(e->fake, GROUP, 1004, "/whoami", 0);
	T_OK(wait_bot_text(e, GROUP, "you are dave", 10000) != -1);
	fake_telegram_inject_message(e->fake, CAROL, CAROL, "whoami", 0);
	T_OK(wait_bot_text(e, CAROL, "you are carol", 10000) != -1);
	fake_telegram_inject_message(e->fake, GROUP, ALICE, "/start 101", 0);
	T_OK(wait_bot_text(e, GROUP, "frozen for the audit", 10000) != -1);
	T_EQ_INT(sim_count(e, "POST", "/qemu/101/status/start"), 0);

	/* A broken policy: the reload fails, everything stays. */
	t_write("policies/default.yaml", "rules: [\n", 0644);
	T_EQ_INT(kill(e->proc.pid, SIGHUP), 0);
	T_EQ_INT(t_proc_wait_for(&e->proc, "reload failed", 10000), 0);
	fake_telegram_inject_message(e->fake, GROUP, ALICE, "/start 101", 0);
	id = wait_bot_text(e, GROUP, "frozen for the audit", 10000);
	T_OK(id != -1);
	fake_telegram_inject_message(e->fake, CAROL, CAROL, "/fleet", 0);
	T_OK(wait_bot_text(e, CAROL, "pve1", 10000) != -1);
	T_EQ_INT(sim_count(e, "POST", "/qemu/101/status/start"), 0);
	out = e2e_output(e);
	T_NOT_CONTAINS(out, "ERROR: AddressSanitizer");
	free(out);
	free(policy);
	free(pnext);
	free(conf);
	free(dir);
	e2e_free(e);
}

int
main(int argc, char **argv)
{
	ssize_t	 n;

	if (argc == 3 && strcmp(argv[1], "--pvebot-run") == 0)
		return self_run(argv[2]);
	n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
	if (n <= 0)
		return 1;
	self_exe[n] = '\0';
	/* Links the backend in, whatever app.c's weak reference says. */
	{
		struct connector *(*volatile strong)(const struct chat_ctx *,
		    char **) = chat_telegram_create;

		(void)strong;
	}
	T_RUN(test_command_and_reply);
	T_RUN(test_whoami_shared_room);
	T_RUN(test_approval_by_button);
	T_RUN(test_private_request_asks_the_group);
	T_RUN(test_429_and_5xx_recovery);
	T_RUN(test_wrong_token_stops_with_a_clear_error);
	T_RUN(test_stale_command_refused);
	T_RUN(test_kill9_restart_loses_and_repeats_nothing);
	T_RUN(test_unserved_chat_audited_once);
	T_RUN(test_sighup_reloads_everything);
	return t_summary();
}
