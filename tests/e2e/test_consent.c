/*
 * test_consent.c - issue 14's promises that hold when something changes
 * between a request and its run, with `pvebot run` on the console and
 * the Proxmox simulator:
 *
 *   - an approval given after a reload made the action prohibited does
 *     not run it: the policy is asked again at dispatch;
 *   - an approval given after the guest became pvebot's own (tagged
 *     pvebot-self) does not run it;
 *   - a person's own earlier job on a guest is not an outside change: the
 *     expected state is what that job leaves;
 *   - an outcome that cannot be written is not reported until it is.
 */
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "sim.h"
#include "t.h"
#include "t_sim.h"
#include "util.h"

/* Issue 14 item 1: a reload prohibits it before the approval comes. */
static void
test_reload_between_request_and_approval(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *state, *path;

	t_sim_start(&e, 300, 0, NULL, NULL);
	t_sim_daemon(&e, &p);
	t_type(&p, "backup 107\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	/* Someone decides backups of 107 are not to be made from chat. */
	path = xasprintf("%s/zz-no-backup-107.yaml", e.pols);
	t_write(path, "rules:\n  - name: no-backup-107\n    effect: prohibit\n"
	    "    why: 107 is backed up by its own tool\n"
	    "    action: backup.create\n    target:\n      vmid: [\"107\"]\n",
	    0600);
	free(path);
	kill(p.pid, SIGHUP);
	T_EQ_INT(t_proc_wait_for(&p, "reloaded", 10000), 0);
	t_type(&p, "/as alice\napprove 1\n");
	T_EQ_INT(t_proc_wait_for(&p, "refused when it was about to run",
	    15000), 0);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	state = t_job_text(e.db, 1, "state");
	T_EQ_STR(state, "refused");
	T_CONTAINS(out, "the policy now says prohibit");
	T_CONTAINS(out, "107 is backed up by its own tool");
	/* The requester and the approver are told. */
	T_CONTAINS(out, "@bob");
	T_CONTAINS(out, "your job #1 (backup 107");
	T_CONTAINS(out, "approved by alice");
	T_EQ_INT(t_sim_count_calls(&e, "POST", "*/vzdump"), 0);
	free(state);
	free(out);
	t_sim_stop(&e);
}

/* Issue 14 item 2: the guest becomes pvebot's own before the approval. */
static void
test_guest_tagged_self_before_approval(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *state;

	t_sim_start(&e, 300, 0, NULL, NULL);
	t_sim_daemon(&e, &p);
	t_type(&p, "migrate 106 pve1\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	t_sim_admin(&e, "guest", "{\"vmid\":106,\"tags\":\"pvebot-self\"}");
	t_type(&p, "/as alice\napprove 1\n");
	T_EQ_INT(t_proc_wait_for(&p, "refused when it was about to run",
	    15000), 0);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	state = t_job_text(e.db, 1, "state");
	T_EQ_STR(state, "refused");
	T_CONTAINS(out, "self_protect");
	T_EQ_INT(t_sim_count_calls(&e, "POST", "*/migrate"), 0);
	free(state);
	free(out);
	t_sim_stop(&e);
}

/* Issue 14 item 15: my own earlier job is not an outside change. */
static void
test_own_earlier_job_is_expected(void)
{
	struct t_sim	 e;
	char		*argv[5], *out = NULL, *err = NULL, *s1, *s2;

	t_sim_start(&e, 300, 0, NULL, NULL);
	argv[0] = (char *)t_pvebot();
	argv[1] = "run";
	argv[2] = "-c";
	argv[3] = e.conf;
	argv[4] = NULL;
	T_EQ_INT(t_spawn(argv, "start 101\nsnapshot 101 after-start\n", &out,
	    &err, 60000), 0);
	s1 = t_job_text(e.db, 1, "state");
	s2 = t_job_text(e.db, 2, "state");
	T_EQ_STR(s1, "succeeded");
	T_EQ_STR(s2, "succeeded");
	T_NOT_CONTAINS(out, "changed from");
	T_EQ_INT(t_sim_count_calls(&e, "POST", "*/qemu/101/snapshot"), 1);
	free(s1);
	free(s2);
	free(out);
	free(err);
	t_sim_stop(&e);
}

/*
 * Issue 14 item 9: the disk is full when the task ends. The outcome is
 * written again until it can be (loudly in the log), the chat says it
 * only then, and the next job on that guest waits for it.
 */
static void
test_outcome_written_before_it_is_told(void)
{
	struct t_sim	 e;
	char		*argv[5], *out = NULL, *err = NULL, *s;

	t_sim_start(&e, 300, 0, NULL, NULL);
	argv[0] = (char *)t_pvebot();
	argv[1] = "run";
	argv[2] = "-c";
	argv[3] = e.conf;
	argv[4] = NULL;
	setenv("PVEBOT_FAIL_AT", "worker.finish:3", 1);
	T_EQ_INT(t_spawn(argv, "start 101\nstop 101\n", &out, &err, 60000),
	    0);
	unsetenv("PVEBOT_FAIL_AT");
	/* Three refused writes, each said in the log. */
	T_EQ_INT(t_count(err, "could not be saved"), 3);
	T_CONTAINS(out, "recorded late: the database refused writes");
	s = t_job_text(e.db, 1, "state");
	T_EQ_STR(s, "succeeded");
	free(s);
	/* The stop ran after the start was recorded, and found it running. */
	s = t_job_text(e.db, 2, "state");
	T_EQ_STR(s, "succeeded");
	free(s);
	T_EQ_INT(t_sim_count_calls(&e, "POST", "*/qemu/101/status/start"), 1);
	free(out);
	free(err);
	t_sim_stop(&e);
}

/*
 * Issue 14 item 16: requests that cannot work are answered at once,
 * before anyone is asked to approve them.
 */
static void
test_impossible_requests_refused_before_approval(void)
{
	struct t_sim	 e;
	char		*argv[5], *out = NULL, *err = NULL, *n;

	t_sim_start(&e, 300, 0, NULL, NULL);
	argv[0] = (char *)t_pvebot();
	argv[1] = "run";
	argv[2] = "-c";
	argv[3] = e.conf;
	argv[4] = NULL;
	T_EQ_INT(t_spawn(argv,
	    "migrate 101 pve9\n"
	    "migrate 101 pve1\n"
	    "clone 9000 102 copy\n"
	    "clone 9000 9500 copy\n"
	    "backup 102 snapshot nosuch\n"
	    "unlock 101\n", &out, &err, 60000), 0);
	T_CONTAINS(out, "there is no node pve9 in the cluster");
	T_CONTAINS(out, "guest 101 is already on pve1");
	T_CONTAINS(out, "VMID 102 is in use by db-01");
	T_CONTAINS(out, "a guest with VMID 9500 could never be started");
	T_CONTAINS(out, "there is no storage nosuch on node pve1");
	T_CONTAINS(out, "guest 101 is not locked");
	/* No job, and so no approval request, for any of them. */
	T_NOT_CONTAINS(out, "Approval needed");
	n = t_job_text(e.db, 1, "id");
	T_OK(n == NULL);
	free(n);
	free(out);
	free(err);
	t_sim_stop(&e);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T_RUN(test_reload_between_request_and_approval);
	T_RUN(test_guest_tagged_self_before_approval);
	T_RUN(test_own_earlier_job_is_expected);
	T_RUN(test_outcome_written_before_it_is_told);
	T_RUN(test_impossible_requests_refused_before_approval);
	curl_global_cleanup();
	return t_summary();
}
