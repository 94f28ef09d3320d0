/*
 * test_matrix_e2e.c - pvebot end to end on Matrix: `pvebot run` as a
 * child process against the fake homeserver and the Proxmox simulator
 * (both in this process, on loopback), real SQLite. People type in the
 * room and react to messages; the tests read what pvebot posted, exactly
 * as a user of Element would see it: replies, approvals by reaction and
 * by text, refusals answered in the room, progress edits (m.replace),
 * and a kill -9 with nothing lost or repeated.
 *
 * The daemon is bin/pvebot. While app.c refers to chat_matrix_create only
 * weakly, a pvebot linked from libpvebot.a has no Matrix ("built without
 * one of the enabled chat platforms"); then this binary runs itself as
 * the daemon instead (`test_matrix_e2e run -c FILE`: conf_load,
 * app_create, app_start, app_run - what `pvebot run` does), so the same
 * library code is exercised in a separate process that kill -9 can hit.
 */
#include <sys/stat.h>

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
#include "fakes/fake_matrix.h"
#include "sim.h"
#include "t.h"
#include "t_db.h"
#include "t_store.h"
#include "util.h"

#define BOT	"@pvebot:hs.test"
#define TOKEN	"syt_cHZlYm90_E2eSecretToken_abcdef0123"
#define ALICE	"@alice:hs.test"	/* admin */
#define BOB	"@bob:hs.test"		/* operator */
#define CAROL	"@carol:hs.test"	/* viewer */
#define DAN	"@dan:hs.test"		/* admin */
#define OPS	"!ops:hs.test"
#define CHECK	"\xe2\x9c\x85"		/* ✅ */
#define CROSS	"\xe2\x9d\x8c"		/* ❌ */

static const char *users_yaml =
    "users:\n"
    "  alice:\n"
    "    identities: [\"matrix:" ALICE "\"]\n"
    "    roles: [admin]\n"
    "  dan:\n"
    "    identities: [\"matrix:" DAN "\"]\n"
    "    roles: [admin]\n"
    "  bob:\n"
    "    identities: [\"matrix:" BOB "\"]\n"
    "    roles: [operator]\n"
    "  carol:\n"
    "    identities: [\"matrix:" CAROL "\"]\n"
    "    roles: [viewer]\n";

static const char *conf_template =
    "%s"
    "commands: %s/commands\n"
    "policies: %s/policies\n"
    "log_level: debug\n"
    "chat:\n"
    "  max_command_age: 5m\n"
    "  matrix:\n"
    "    homeserver: %s\n"
    "    user_id: \"" BOT "\"\n"
    "    token_env: PVEBOT_E2E_MATRIX_TOKEN\n"
    "    sync_timeout: 5s\n"
    "    rooms:\n"
    "      - id: \"" OPS "\"\n"
    "proxmox:\n"
    "  urls: [\"https://127.0.0.1:%d/api2/json\"]\n"
    "  token_id: pvebot@pve!bot\n"
    "  secret_env: PVEBOT_E2E_PVE_SECRET\n"
    "  fingerprint: \"%s\"\n"
    "  task_poll_ms: 250\n"
    "workers:\n"
    "  count: 2\n"
    "  edit_interval: 1s\n"
    "monitor:\n"
    "  enabled: false\n"
    "digest:\n"
    "  enabled: false\n";

struct e2e {
	struct fake_matrix	*fm;
	struct sim		*sim;
	char			*conf;
	char			*db;	/* path or URL (t_db.h) */
	struct t_proc		 proc;
	int			 running;
};

/* The fake, the simulator, policies (with `expiry`) and bot.conf. */
static struct e2e *
e2e_new(const char *expiry)
{
	struct e2e		*e = xcalloc(1, sizeof *e);
	struct sim_opts		 so;
	char			*cause = NULL, secret[33], cwd[1024];
	char			*policy, *pdir, *p, *text, *dbconf;
	const char		*dir = t_tmpdir();
	size_t			 len;

	random_hex(secret, 16);
	setenv("PVEBOT_E2E_PVE_SECRET", secret, 1);
	setenv("PVEBOT_E2E_MATRIX_TOKEN", TOKEN, 1);
	memset(&so, 0, sizeof so);
	so.tls = 1;
	so.token_id = "pvebot@pve!bot";
	so.secret = secret;
	so.task_ms = 600;
	if ((e->sim = sim_start(&so, &cause)) == NULL)
		t_fail(__FILE__, __LINE__, "sim: %s", cause);
	free(cause);

	e->fm = fake_matrix_start("hs.test", BOT, TOKEN);
	fake_matrix_room(e->fm, OPS, "#ops:hs.test", ALICE);
	fake_matrix_join(e->fm, OPS, BOT);
	fake_matrix_join(e->fm, OPS, BOB);
	fake_matrix_join(e->fm, OPS, CAROL);
	fake_matrix_join(e->fm, OPS, DAN);

	if (getcwd(cwd, sizeof cwd) == NULL)
		abort();
	pdir = xasprintf("%s/policies", dir);
	mkdir(pdir, 0700);
	policy = read_file("policies/default.yaml", 1 << 20, &len, &cause);
	T_OK(policy != NULL);
	while (expiry != NULL && policy != NULL &&
	    (p = strstr(policy, "expiry: 15m")) != NULL) {
		char	*np = xasprintf("%.*sexpiry: %s%s", (int)(p - policy),
		    policy, expiry, p + strlen("expiry: 15m"));

		free(policy);
		policy = np;
	}
	t_write("policies/default.yaml", policy != NULL ? policy : "", 0600);
	t_write("policies/users.yaml", users_yaml, 0600);
	free(policy);
	free(pdir);
	free(cause);

	dbconf = t_db_conf("pvebot.db", &e->db);
	text = xasprintf(conf_template, dbconf, cwd, dir,
	    fake_matrix_url(e->fm), e->sim != NULL ? sim_port(e->sim) : 0,
	    e->sim != NULL ? sim_fingerprint(e->sim) : "");
	e->conf = xstrdup(t_write("bot.conf", text, 0600));
	free(text);
	free(dbconf);
	return e;
}

/* Stops pvebot; what it logged never holds the access token. */
static void
e2e_kill(struct e2e *e, int sig)
{
	char	*logs;

	if (!e->running)
		return;
	t_proc_stop(&e->proc, sig, 10000);
	e->running = 0;
	logs = t_proc_output(&e->proc);
	T_OK(logs != NULL && strstr(logs, "part=matrix") != NULL);
	T_NOT_CONTAINS(logs, TOKEN);
	T_NOT_CONTAINS(logs, "E2eSecretToken");
	/* Under SAN=1 a clean stop must also be a clean exit. */
	T_NOT_CONTAINS(logs, "Sanitizer");
	T_NOT_CONTAINS(logs, "runtime error");
	free(logs);
}

static char	 self_exe[1024];
static int	 use_self;

/* The Matrix offset pvebot's router saved, or "" (caller frees). */
static char *
saved_offset(struct e2e *e)
{
	char	*v = t_db_query_text(e->db, "SELECT value FROM offsets WHERE "
	    "key = 'matrix'");

	return v != NULL ? v : xstrdup("");
}

/*
 * Waits until pvebot long-polls with everything seen and its router has
 * saved that position: seen is not saved (the router commits the offset
 * after the connector moved on), and a kill in between makes the next
 * start a first start, which acts on nothing sent meanwhile.
 */
static int
e2e_settled(struct e2e *e, int timeout_ms)
{
	int64_t	 deadline = now_ms() + timeout_ms;
	char	 since[32], *saved;
	int	 same;

	for (;;) {
		if (fake_matrix_wait_idle(e->fm, (int)(deadline -
		    now_ms() > 0 ? deadline - now_ms() : 0)) != 0)
			return -1;
		saved = saved_offset(e);
		same = fake_matrix_idle_since(e->fm, since, sizeof since) ==
		    0 && strcmp(saved, since) == 0;
		free(saved);
		if (same)
			return 0;
		if (now_ms() >= deadline)
			return -1;
		sleep_ms(20);
	}
}

/* Runs pvebot and waits until it long-polls with everything seen and
 * saved. */
static int
e2e_run(struct e2e *e)
{
	char	*argv[] = { (char *)t_pvebot(), "run", "-c", e->conf, NULL };
	char	*out;
	int	 without, started, syncs;
	int64_t	 deadline;

	if (use_self)
		argv[0] = self_exe;
	syncs = fake_matrix_requests(e->fm, "GET", "/_matrix/client/v3/sync");
	if (t_proc_start(&e->proc, argv, 0) != 0)
		return -1;
	e->running = 1;
	deadline = now_ms() + 15000;
	for (;;) {
		out = t_proc_output(&e->proc);
		started = out != NULL && strstr(out,
		    "connector started name=matrix") != NULL;
		without = out != NULL && strstr(out, "built without") != NULL;
		free(out);
		/* Its own first sync, not a poll the last one left behind. */
		if (started && fake_matrix_requests(e->fm, "GET",
		    "/_matrix/client/v3/sync") > syncs)
			break;
		if (without && !use_self) {
			t_proc_stop(&e->proc, SIGKILL, 10000);
			e->running = 0;
			use_self = 1;
			return e2e_run(e);
		}
		if (without || now_ms() >= deadline)
			return -1;
		sleep_ms(50);
	}
	return e2e_settled(e, 15000);
}

/* Everything pvebot printed so far; caller frees. */
static char *
e2e_logs(struct e2e *e)
{
	return t_proc_output(&e->proc);
}

static void
e2e_free(struct e2e *e)
{
	char	*logs;

	e2e_kill(e, SIGTERM);
	logs = e2e_logs(e);
	if (t_case_failed && logs != NULL)
		fprintf(stderr, "---- pvebot output ----\n%s\n", logs);
	if (t_case_failed) {
		json_t	*evs = fake_matrix_events(e->fm, OPS, NULL, NULL);
		char	*dump = json_dumps(evs, JSON_INDENT(1));

		fprintf(stderr, "---- room ----\n%s\n", dump);
		free(dump);
		json_decref(evs);
	}
	free(logs);
	T_EQ_INT(fake_matrix_token_in_query(e->fm), 0);
	fake_matrix_stop(e->fm);
	sim_stop(e->sim);
	free(e->conf);
	free(e->db);
	free(e);
}

/* The text a reader sees: the newest content of an event. */
static const char *
shown_body(json_t *ev)
{
	json_t	*c = json_object_get(ev, "content");
	json_t	*nc = json_object_get(c, "m.new_content");

	return json_string_value(json_object_get(nc != NULL ? nc : c,
	    "body"));
}

/* Bot messages (edits included) whose body contains `needle`. */
static int
count_bot(struct e2e *e, const char *needle)
{
	json_t	*evs = fake_matrix_events(e->fm, OPS, BOT, "m.room.message");
	json_t	*ev;
	size_t	 i;
	int	 n = 0;

	json_array_foreach(evs, i, ev) {
		const char	*b = shown_body(ev);

		if (b != NULL && strstr(b, needle) != NULL)
			n++;
	}
	json_decref(evs);
	return n;
}

/* Bot messages that are not edits (m.replace) and contain `needle`. */
static int
count_bot_new(struct e2e *e, const char *needle)
{
	json_t	*evs = fake_matrix_events(e->fm, OPS, BOT, "m.room.message");
	json_t	*ev, *rel;
	size_t	 i;
	int	 n = 0;

	json_array_foreach(evs, i, ev) {
		const char	*b = shown_body(ev);

		rel = json_object_get(json_object_get(ev, "content"),
		    "m.relates_to");
		if (b != NULL && strstr(b, needle) != NULL &&
		    !json_is_string(json_object_get(rel, "rel_type")))
			n++;
	}
	json_decref(evs);
	return n;
}

/* Waits for a bot message containing needle; returns a copy or NULL. */
static json_t *
wait_bot(struct e2e *e, const char *needle, int timeout_ms)
{
	int64_t	 deadline = now_ms() + timeout_ms;

	for (;;) {
		json_t	*evs = fake_matrix_events(e->fm, OPS, BOT,
		    "m.room.message");
		json_t	*ev, *found = NULL;
		size_t	 i;

		json_array_foreach(evs, i, ev) {
			const char	*b = shown_body(ev);

			if (b != NULL && strstr(b, needle) != NULL) {
				found = json_incref(ev);
				break;
			}
		}
		json_decref(evs);
		if (found != NULL || now_ms() >= deadline)
			return found;
		sleep_ms(50);
	}
}

static const char *
event_id(json_t *ev)
{
	return json_string_value(json_object_get(ev, "event_id"));
}

/* Messages that are not edits of another. */
static int
originals(json_t *evs)
{
	json_t	*ev;
	size_t	 i;
	int	 n = 0;

	json_array_foreach(evs, i, ev) {
		if (json_object_get(json_object_get(ev, "content"),
		    "m.new_content") == NULL)
			n++;
	}
	return n;
}

/* Original (not edit) bot messages whose body contains needle. */
static int
originals_matching(struct e2e *e, const char *needle)
{
	json_t	*evs = fake_matrix_events(e->fm, OPS, BOT, "m.room.message");
	json_t	*ev;
	size_t	 i;
	int	 n = 0;

	json_array_foreach(evs, i, ev) {
		json_t		*c = json_object_get(ev, "content");
		const char	*b = json_string_value(json_object_get(c,
		    "body"));

		if (json_object_get(c, "m.new_content") == NULL &&
		    b != NULL && strstr(b, needle) != NULL)
			n++;
	}
	json_decref(evs);
	return n;
}

static const char *
reply_to(json_t *ev)
{
	return json_string_value(json_object_get(json_object_get(
	    json_object_get(json_object_get(ev, "content"), "m.relates_to"),
	    "m.in_reply_to"), "event_id"));
}

static void
test_command_and_reply(void)
{
	struct e2e	*e = e2e_new(NULL);
	json_t		*ev, *all;
	char		*id;
	int		 n;

	/* History from before pvebot's first start is not executed. */
	free(fake_matrix_say(e->fm, OPS, ALICE, "!start 104"));
	T_EQ_INT(e2e_run(e), 0);
	id = fake_matrix_say(e->fm, OPS, CAROL, "!status");
	ev = wait_bot(e, "Cluster homelab: quorate", 15000);
	T_OK(ev != NULL);
	json_decref(ev);
	/* The answer is a notice in reply to the command. */
	all = fake_matrix_events(e->fm, OPS, BOT, "m.room.message");
	ev = json_array_get(all, 0);
	T_EQ_STR(json_string_value(json_object_get(json_object_get(ev,
	    "content"), "msgtype")), "m.notice");
	T_EQ_STR(reply_to(ev), id);
	n = originals(all);
	json_decref(all);
	free(id);
	/* Chat that is not for pvebot gets no answer. */
	free(fake_matrix_say(e->fm, OPS, BOB, "lunch at noon?"));
	T_EQ_INT(fake_matrix_wait_idle(e->fm, 10000), 0);
	sleep_ms(500);
	all = fake_matrix_events(e->fm, OPS, BOT, "m.room.message");
	T_EQ_INT(originals(all), n);
	T_EQ_INT(n, 1);
	json_decref(all);
	T_EQ_INT(originals_matching(e, "start 104"), 0);
	e2e_free(e);
}

/* Bob asks for a rollback; returns the approval message (caller decrefs). */
static json_t *
ask_rollback(struct e2e *e)
{
	json_t	*ev;

	free(fake_matrix_say(e->fm, OPS, BOB, "!rollback 101 pre-upgrade"));
	ev = wait_bot(e, "Approval needed: job #1", 15000);
	T_OK(ev != NULL);
	if (ev == NULL)
		return NULL;
	/* pvebot offers the choices as its own reactions. */
	T_EQ_INT(fake_matrix_wait_events(e->fm, OPS, BOT, "m.reaction", 2,
	    5000), 2);
	return ev;
}

static void
test_approval_by_reaction(void)
{
	struct e2e	*e = e2e_new(NULL);
	json_t		*ap, *done, *evs, *ev;
	size_t		 i;
	int		 replaced = 0;

	T_EQ_INT(e2e_run(e), 0);
	ap = ask_rollback(e);
	if (ap != NULL) {
		free(fake_matrix_react(e->fm, OPS, ALICE, event_id(ap),
		    CHECK));
		done = wait_bot(e, ALICE ": job 1 approved by alice", 10000);
		T_OK(done != NULL);
		if (done != NULL)
			T_EQ_STR(reply_to(done), event_id(ap));
		json_decref(done);
		/* Who approved stays on the job's message to the end. */
		done = wait_bot(e, "approved by alice", 10000);
		T_OK(done != NULL);
		json_decref(done);
		done = wait_bot(e, "succeeded", 20000);
		T_OK(done != NULL);
		json_decref(done);
		/* The approval message itself was edited. */
		evs = fake_matrix_events(e->fm, OPS, BOT, "m.room.message");
		json_array_foreach(evs, i, ev) {
			json_t	*rel = json_object_get(json_object_get(ev,
			    "content"), "m.relates_to");
			const char *b = shown_body(ev);

			if (json_equal(json_object_get(rel, "event_id"),
			    json_object_get(ap, "event_id")) &&
			    strcmp(json_string_value(json_object_get(rel,
			    "rel_type")), "m.replace") == 0 && b != NULL &&
			    strstr(b, "approved by alice") != NULL)
				replaced++;
		}
		json_decref(evs);
		T_OK(replaced >= 1);
	}
	json_decref(ap);
	e2e_free(e);
}

static void
test_approval_by_text(void)
{
	struct e2e	*e = e2e_new(NULL);
	json_t		*ap, *done;

	T_EQ_INT(e2e_run(e), 0);
	ap = ask_rollback(e);
	free(fake_matrix_say(e->fm, OPS, ALICE, "!approve 1"));
	done = wait_bot(e, "job 1 approved by alice", 10000);
	T_OK(done != NULL);
	json_decref(done);
	done = wait_bot(e, "approved by alice", 10000);
	T_OK(done != NULL);
	json_decref(done);
	done = wait_bot(e, "succeeded", 20000);
	T_OK(done != NULL);
	T_CONTAINS(shown_body(done), "approved by alice");
	/* The approval message is edited in place, never posted again. */
	T_OK(count_bot(e, "approved by alice") >= 1);
	T_EQ_INT(count_bot_new(e, "approved by alice; queued"), 0);
	/* The requester is told in a message of its own, mentioned. */
	T_EQ_INT(count_bot_new(e, "was approved by alice"), 1);
	json_decref(done);
	json_decref(ap);
	e2e_free(e);
}

static void
test_refused_reactions(void)
{
	struct e2e	*e = e2e_new(NULL);
	json_t		*ap, *ev;

	T_EQ_INT(e2e_run(e), 0);
	ap = ask_rollback(e);
	if (ap == NULL) {
		e2e_free(e);
		return;
	}
	/* The requester cannot approve their own job. */
	free(fake_matrix_react(e->fm, OPS, BOB, event_id(ap), CHECK));
	ev = wait_bot(e, BOB ": you requested this job", 10000);
	T_OK(ev != NULL);
	if (ev != NULL)
		T_EQ_STR(reply_to(ev), event_id(ap));
	json_decref(ev);
	/* A viewer may not approve. */
	free(fake_matrix_react(e->fm, OPS, CAROL, event_id(ap), CHECK));
	ev = wait_bot(e, CAROL ": your role viewer may not approve", 10000);
	T_OK(ev != NULL);
	json_decref(ev);
	/* Approved once; a second approver's press changes nothing. */
	free(fake_matrix_react(e->fm, OPS, ALICE, event_id(ap), CHECK));
	ev = wait_bot(e, "approved by alice", 10000);
	T_OK(ev != NULL);
	json_decref(ev);
	free(fake_matrix_react(e->fm, OPS, DAN, event_id(ap), CROSS));
	ev = wait_bot(e, DAN ": job 1 is ", 10000);
	T_OK(ev != NULL);
	if (ev != NULL) {
		T_CONTAINS(shown_body(ev), "not awaiting approval");
		T_EQ_STR(reply_to(ev), event_id(ap));
	}
	json_decref(ev);
	T_EQ_INT(count_bot(e, "denied by"), 0);
	/*
	 * The approval was recorded once: one telling, and at most one
	 * "queued" edit (the outbox delivers a message's newest content, so
	 * on a busy machine the worker's "running" may replace it unseen).
	 */
	ev = wait_bot(e, "was approved by alice", 10000);
	T_OK(ev != NULL);
	json_decref(ev);
	T_EQ_INT(count_bot(e, "was approved by alice"), 1);
	T_OK(count_bot(e, "approved by alice; queued") <= 1);
	json_decref(ap);
	e2e_free(e);
}

/* Moves the job's expiry into the past, as fifteen minutes would. */
static void
expire_job(struct e2e *e, int64_t id)
{
	char	*sql;

	sql = xasprintf("UPDATE jobs SET expires_at = %lld WHERE id = %lld",
	    (long long)wall_now() - 1, (long long)id);
	T_EQ_INT(t_store_exec(e->db, sql, NULL, NULL), 1);
	free(sql);
}

static void
test_expired_reaction(void)
{
	struct e2e	*e = e2e_new(NULL);
	json_t		*ap, *ev;

	T_EQ_INT(e2e_run(e), 0);
	ap = ask_rollback(e);
	if (ap != NULL) {
		expire_job(e, 1);
		free(fake_matrix_react(e->fm, OPS, ALICE, event_id(ap),
		    CHECK));
		ev = wait_bot(e, ALICE ": ", 10000);
		T_OK(ev != NULL);
		if (ev != NULL) {
			T_CONTAINS(shown_body(ev), "expired");
			T_EQ_STR(reply_to(ev), event_id(ap));
		}
		json_decref(ev);
		T_EQ_INT(count_bot(e, "approved by"), 0);
	}
	json_decref(ap);
	e2e_free(e);
}

static void
test_progress_edits(void)
{
	struct e2e	*e = e2e_new(NULL);
	json_t		*first, *evs, *ev;
	size_t		 i;
	int		 edits = 0, final = 0;

	T_EQ_INT(e2e_run(e), 0);
	free(fake_matrix_say(e->fm, OPS, ALICE, "!start 101"));
	first = wait_bot(e, "Job #1: start 101", 15000);
	T_OK(first != NULL);
	ev = wait_bot(e, "succeeded", 20000);
	T_OK(ev != NULL);
	json_decref(ev);
	evs = fake_matrix_events(e->fm, OPS, BOT, "m.room.message");
	json_array_foreach(evs, i, ev) {
		json_t		*c = json_object_get(ev, "content");
		json_t		*rel = json_object_get(c, "m.relates_to");
		const char	*rt = json_string_value(json_object_get(rel,
		    "rel_type"));

		if (rt == NULL || strcmp(rt, "m.replace") != 0)
			continue;
		edits++;
		T_EQ_STR(json_string_value(json_object_get(rel, "event_id")),
		    event_id(first));
		T_OK(json_object_get(c, "m.new_content") != NULL);
		T_OK(str_has_prefix(json_string_value(json_object_get(c,
		    "body")), "* "));
		if (strstr(shown_body(ev), "succeeded") != NULL)
			final++;
	}
	json_decref(evs);
	T_OK(edits >= 1);
	T_EQ_INT(final, 1);
	json_decref(first);
	e2e_free(e);
}

static void
test_kill9_nothing_lost_or_repeated(void)
{
	struct e2e	*e = e2e_new(NULL);
	json_t		*ev;

	T_EQ_INT(e2e_run(e), 0);
	e2e_kill(e, SIGKILL);
	/* Sent while pvebot is down: both are served after the restart. */
	free(fake_matrix_say(e->fm, OPS, ALICE, "!start 101"));
	free(fake_matrix_say(e->fm, OPS, ALICE, "!start 104"));
	T_EQ_INT(e2e_run(e), 0);
	ev = wait_bot(e, "Job #1: start 101", 15000);
	T_OK(ev != NULL);
	json_decref(ev);
	ev = wait_bot(e, "Job #2: start 104", 15000);
	T_OK(ev != NULL);
	json_decref(ev);
	T_EQ_INT(e2e_settled(e, 10000), 0);
	e2e_kill(e, SIGKILL);

	/* A new command while down; then nothing old runs again. */
	free(fake_matrix_say(e->fm, OPS, CAROL, "!status"));
	T_EQ_INT(e2e_run(e), 0);
	ev = wait_bot(e, "Cluster homelab", 15000);
	T_OK(ev != NULL);
	json_decref(ev);
	T_EQ_INT(fake_matrix_wait_idle(e->fm, 10000), 0);
	sleep_ms(1500);
	T_EQ_INT(count_bot(e, "Cluster homelab"), 1);
	/* Each job's first message was posted once (edits aside). */
	{
		json_t	*evs = fake_matrix_events(e->fm, OPS, BOT,
		    "m.room.message");
		size_t	 i;
		int	 j1 = 0, j2 = 0;

		json_array_foreach(evs, i, ev) {
			json_t	*c = json_object_get(ev, "content");

			if (json_object_get(c, "m.new_content") != NULL)
				continue;
			if (strstr(shown_body(ev), "Job #1: start 101"))
				j1++;
			if (strstr(shown_body(ev), "Job #2: start 104"))
				j2++;
		}
		json_decref(evs);
		T_EQ_INT(j1, 1);
		T_EQ_INT(j2, 1);
		T_EQ_INT(originals_matching(e, "start 10"), 2);
	}
	e2e_free(e);
}

/* Replaces the first `from` in the bot.conf with `to`. */
static void
conf_edit(struct e2e *e, const char *from, const char *to)
{
	char	*text, *nt;
	size_t	 len;

	text = read_file(e->conf, 1 << 20, &len, NULL);
	nt = t_swap(text, from, to);
	t_write("bot.conf", nt, 0600);
	free(nt);
	free(text);
}

/*
 * Every button of an alert can be pressed by reaction: pvebot reacts
 * with one distinct key per button (the homeserver refuses a key twice,
 * M_DUPLICATE_ANNOTATION), and each key a user picks does what its
 * button says - Ack, Silence 1h, 4h and 24h.
 */
static void
test_alert_buttons_by_reaction(void)
{
	static const char *const keys[] = { "\xf0\x9f\x91\x8d",
	    "\xf0\x9f\x95\x90", "\xf0\x9f\x95\x93",
	    "\xf0\x9f\x93\x86" };
	static const char *const answers[] = { "acked #1",
	    "silenced #1 for 1h00m", "silenced #1 for 4h00m",
	    "silenced #1 for 1d0h" };
	struct e2e	*e = e2e_new(NULL);
	json_t		*alert = NULL, *evs, *ev, *done;
	const char	*key;
	size_t		 i, k;
	char		*cause = NULL;

	conf_edit(e, "monitor:\n  enabled: false\n",
	    "monitor:\n  enabled: true\n  interval: 1s\n");
	conf_edit(e, "      - id: \"" OPS "\"\n",
	    "      - id: \"" OPS "\"\n        alerts: true\n");
	T_EQ_INT(sim_admin(e->sim, "fault", "{\"node\":\"pve3\","
	    "\"online\":false}", &cause), 0);
	free(cause);
	T_EQ_INT(e2e_run(e), 0);
	alert = wait_bot(e, "node-offline", 20000);
	T_OK(alert != NULL);
	if (alert == NULL)
		goto out;
	T_CONTAINS(shown_body(alert), "React with \xf0\x9f\x91\x8d Ack, "
	    "\xf0\x9f\x95\x90 Silence 1h, \xf0\x9f\x95\x93 Silence 4h, "
	    "\xf0\x9f\x93\x86 Silence 24h.");
	/* All four of pvebot's own reactions were taken. */
	T_OK(fake_matrix_wait_events(e->fm, OPS, BOT, "m.reaction", 4,
	    10000) >= 4);
	evs = fake_matrix_events(e->fm, OPS, BOT, "m.reaction");
	for (k = 0; k < nitems(keys); k++) {
		int	 n = 0;

		json_array_foreach(evs, i, ev) {
			json_t	*rel = json_object_get(json_object_get(ev,
			    "content"), "m.relates_to");

			key = json_string_value(json_object_get(rel, "key"));
			if (key != NULL && strcmp(key, keys[k]) == 0 &&
			    strcmp(json_string_value(json_object_get(rel,
			    "event_id")), event_id(alert)) == 0)
				n++;
		}
		T_EQ_INT(n, 1);
	}
	json_decref(evs);
	T_EQ_INT(count_bot(e, "M_DUPLICATE_ANNOTATION"), 0);
	/* Each key does its own button's work. */
	for (k = 0; k < nitems(keys); k++) {
		free(fake_matrix_react(e->fm, OPS, ALICE, event_id(alert),
		    keys[k]));
		done = wait_bot(e, answers[k], 15000);
		if (done == NULL)
			t_fail(__FILE__, __LINE__, "no answer '%s' to %s",
			    answers[k], keys[k]);
		json_decref(done);
	}
	{
		char	*logs = e2e_logs(e);

		T_NOT_CONTAINS(logs, "reacting to own message failed");
		free(logs);
	}
out:
	json_decref(alert);
	e2e_free(e);
}

#define RUN(fn) do {							\
	if (getenv("T_ONLY") == NULL || strcmp(getenv("T_ONLY"), #fn) == 0) \
		T_RUN(fn);						\
} while (0)

/* `run -c FILE`: the daemon, as `pvebot run` runs it. */
static int
self_run(const char *path)
{
	struct connector	*(*volatile matrix)(const struct chat_ctx *,
				    char **) = chat_matrix_create;
	struct conf		*c;
	struct app		*app;
	char			*errors = NULL, *cause = NULL;
	int			 rc;

	if (matrix == NULL)
		return 1;
	if ((c = conf_load(path, &errors)) == NULL) {
		fputs(errors, stderr);
		free(errors);
		return 2;
	}
	if ((app = app_create(c, -1, -1, &cause)) == NULL) {
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

int
main(int argc, char **argv)
{
	ssize_t	 n;

	if (argc == 4 && strcmp(argv[1], "run") == 0 &&
	    strcmp(argv[2], "-c") == 0)
		return self_run(argv[3]);
	if ((n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1)) <= 0)
		abort();
	self_exe[n] = '\0';
	curl_global_init(CURL_GLOBAL_DEFAULT);
	RUN(test_command_and_reply);
	RUN(test_approval_by_reaction);
	RUN(test_alert_buttons_by_reaction);
	RUN(test_approval_by_text);
	RUN(test_refused_reactions);
	RUN(test_expired_reaction);
	RUN(test_progress_edits);
	RUN(test_kill9_nothing_lost_or_repeated);
	curl_global_cleanup();
	return t_summary();
}
