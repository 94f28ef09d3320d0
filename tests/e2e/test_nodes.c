/*
 * test_nodes.c - issue 20's node power commands with `pvebot run` on the
 * console and the Proxmox simulator:
 *
 *   - shutdown-node refuses while a running guest of the node lacks the
 *     safe-shutdown tag, and names it; the worker checks again at run
 *     time;
 *   - with only tagged guests it shuts them down one at a time in
 *     reverse startup order, then the node;
 *   - it is refused on the node pvebot runs on (self-protection);
 *   - wake, start-all and stop-all go through the bulk endpoints;
 *   - a backup to a storage without the guest's disk size plus the
 *     margin free is refused with the figures;
 *   - a crash in the middle of a safe shutdown does not carry on with
 *     it after the restart.
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

/*
 * Types line until pvebot's answer holds `ok`. pvebot's guest index
 * follows the cluster by a refresh (index_max_age), so an answer with
 * `lag` (a node it still thinks offline) is asked again. 0 when ok came.
 */
static int
type_until(struct t_proc *p, const char *line, const char *ok,
    const char *lag, int timeout_ms)
{
	int64_t	 end = now_ms() + timeout_ms;
	char	*out;
	int	 before, got, lagged;

	for (;;) {
		out = t_proc_output(p);
		before = t_count(out, lag);
		free(out);
		t_type(p, line);
		for (;;) {
			out = t_proc_output(p);
			got = strstr(out, ok) != NULL;
			lagged = t_count(out, lag) > before;
			free(out);
			if (got)
				return 0;
			if (lagged || now_ms() > end)
				break;
			sleep_ms(50);
		}
		if (now_ms() > end)
			return -1;
		sleep_ms(200);
	}
}

/* A running guest without the tag blocks it, named, before approval. */
static void
test_shutdown_node_refuses_untagged(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *posts;

	t_sim_start(&e, 200, 0, "  index_max_age: 2s\n", NULL);
	t_sim_admin(&e, "guest", "{\"vmid\":107,\"tags\":\"prod;safe-shutdown\"}");
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nshutdown-node pve3\n");
	T_EQ_INT(t_proc_wait_for(&p, "lacks the safe-shutdown tag", 15000),
	    0);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "1 running guest on pve3 lacks the safe-shutdown tag: "
	    "106 k8s-node-1");
	T_NOT_CONTAINS(out, "Approval needed");
	posts = t_sim_calls_of(e.sim, "POST");
	T_NOT_CONTAINS(posts, "/status/shutdown");
	T_NOT_CONTAINS(posts, "/nodes/pve3/status ");
	free(posts);
	free(out);
	t_sim_stop(&e);
}

/*
 * The tag goes away between the request and the run: the worker looks
 * again and refuses, naming the guest; nothing is shut down.
 */
static void
test_shutdown_node_checks_again_at_run(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *posts, *state;

	t_sim_start(&e, 200, 0, "  index_max_age: 2s\n", NULL);
	t_sim_admin(&e, "guest", "{\"vmid\":106,\"tags\":\"k8s;safe-shutdown\"}");
	t_sim_admin(&e, "guest", "{\"vmid\":107,\"tags\":\"prod;safe-shutdown\"}");
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nshutdown-node pve3\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	t_sim_admin(&e, "guest", "{\"vmid\":106,\"tags\":\"k8s\"}");
	t_type(&p, "approve 1\n");
	T_EQ_INT(t_proc_wait_for(&p, "refused: 1 running guest", 15000), 0);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "lacks the safe-shutdown tag: 106 k8s-node-1");
	state = t_job_text(e.db, 1, "state");
	T_EQ_STR(state, "refused");
	free(state);
	posts = t_sim_calls_of(e.sim, "POST");
	T_NOT_CONTAINS(posts, "/status/shutdown");
	T_NOT_CONTAINS(posts, "/nodes/pve3/status ");
	free(posts);
	free(out);
	t_sim_stop(&e);
}

/* Tagged guests go in reverse startup order, each waited for, then the
 * node; the node goes offline. */
static void
test_shutdown_node_in_order(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *posts, *a, *b, *n, *state;

	t_sim_start(&e, 200, 0, "  index_max_age: 2s\n", NULL);
	t_sim_admin(&e, "guest", "{\"vmid\":106,\"tags\":\"k8s;safe-shutdown\","
	    "\"startup\":\"order=2,down=30\"}");
	t_sim_admin(&e, "guest", "{\"vmid\":107,\"tags\":\"prod;safe-shutdown\","
	    "\"startup\":\"order=1\"}");
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nshutdown-node pve3\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	t_type(&p, "approve 1\n");
	T_EQ_INT(t_proc_wait_for(&p, "shutdown sent", 20000), 0);
	T_OK(t_sim_wait_status(&e, "node/pve3", "offline", 10000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "shut down in order: 106 k8s-node-1, 107 nextcloud");
	state = t_job_text(e.db, 1, "state");
	T_EQ_STR(state, "succeeded");
	free(state);
	posts = t_sim_calls_of(e.sim, "POST");
	/* 106 (order 2) with its down=30, then 107 (order 1, default
	 * 180 s), then the node. */
	a = strstr(posts, "/nodes/pve3/qemu/106/status/shutdown "
	    "{\"timeout\":\"30\"}");
	b = strstr(posts, "/nodes/pve3/lxc/107/status/shutdown "
	    "{\"timeout\":\"180\"}");
	n = strstr(posts, "/nodes/pve3/status {\"command\":\"shutdown\"}");
	T_OK(a != NULL && b != NULL && n != NULL);
	T_OK(a < b && b < n);
	free(posts);
	free(out);
	t_sim_stop(&e);
}

/* A guest that does not stop ends it there: the node stays up. */
static void
test_shutdown_node_stops_at_a_failed_guest(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *posts, *state;

	t_sim_start(&e, 200, 0, "  index_max_age: 2s\n", NULL);
	t_sim_admin(&e, "guest", "{\"vmid\":106,\"tags\":\"k8s;safe-shutdown\"}");
	t_sim_admin(&e, "guest", "{\"vmid\":107,\"tags\":\"prod;safe-shutdown\"}");
	t_sim_admin(&e, "fault", "{\"fail_task\":\"vzshutdown\",\"message\":"
	    "\"shutdown timeout - container did not stop\"}");
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nshutdown-node pve3\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	t_type(&p, "approve 1\n");
	T_EQ_INT(t_proc_wait_for(&p, "the node was not shut down", 20000),
	    0);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	/* Without orders: VMID descending, so 107 first, and it fails. */
	T_CONTAINS(out, "guest 107 nextcloud did not shut down: shutdown "
	    "timeout - container did not stop");
	state = t_job_text(e.db, 1, "state");
	T_EQ_STR(state, "failed");
	free(state);
	posts = t_sim_calls_of(e.sim, "POST");
	T_NOT_CONTAINS(posts, "/qemu/106/status/shutdown");
	T_NOT_CONTAINS(posts, "/nodes/pve3/status ");
	free(posts);
	state = t_sim_resource_status(&e, "node/pve3");
	T_EQ_STR(state, "online");
	free(state);
	free(out);
	t_sim_stop(&e);
}

/* pvebot's own node: refused by self-protection even when tagged. */
static void
test_shutdown_node_refused_on_own_node(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *posts;

	t_sim_start(&e, 200, 0, "  index_max_age: 2s\n", NULL);
	t_sim_admin(&e, "guest", "{\"vmid\":100,\"tags\":\"pvebot-self;"
	    "safe-shutdown\"}");
	t_sim_admin(&e, "guest", "{\"vmid\":102,\"tags\":\"db;safe-shutdown\"}");
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nshutdown-node pve1 force\nstop-all pve1\n"
	    "stop-all pve1 102\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	/* Both whole-node requests are refused; a stop-all that leaves
	 * pvebot's guests alone is not. */
	T_EQ_INT(t_count(out, "Refused (self-protection)"), 2);
	T_CONTAINS(out, "Approval needed");
	T_CONTAINS(out, "stop-all pve1 102");
	posts = t_sim_calls_of(e.sim, "POST");
	T_NOT_CONTAINS(posts, "/nodes/pve1/status");
	T_NOT_CONTAINS(posts, "stopall");
	free(posts);
	free(out);
	t_sim_stop(&e);
}

/* wake an offline node, stop-all with a filter, start-all. */
static void
test_wake_stop_all_start_all(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *posts, *st;

	t_sim_start(&e, 200, 0, "  index_max_age: 2s\n", NULL);
	t_sim_admin(&e, "fault", "{\"node\":\"pve3\",\"online\":false}");
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nwake pve2\n");
	T_EQ_INT(t_proc_wait_for(&p, "there is nothing to wake", 15000), 0);
	t_type(&p, "wake pve3\n");
	T_OK(t_sim_wait_job(&e, 1, "succeeded", 15000));
	T_OK(t_sim_wait_status(&e, "node/pve3", "online", 10000));
	T_OK(t_sim_wait_status(&e, "lxc/107", "running", 10000));
	T_EQ_INT(type_until(&p, "stop-all pve3 107\n", "[approve 2]",
	    "node pve3 is offline", 15000), 0);
	t_type(&p, "approve 2\n");
	T_OK(t_sim_wait_job(&e, 2, "succeeded", 15000));
	st = t_sim_resource_status(&e, "lxc/107");
	T_EQ_STR(st, "stopped");
	free(st);
	st = t_sim_resource_status(&e, "qemu/106");
	T_EQ_STR(st, "running");
	free(st);
	t_type(&p, "start-all pve3\n");
	T_OK(t_sim_wait_job(&e, 3, "succeeded", 15000));
	st = t_sim_resource_status(&e, "lxc/107");
	T_EQ_STR(st, "running");
	free(st);
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	posts = t_sim_calls_of(e.sim, "POST");
	T_CONTAINS(posts, "/nodes/pve3/wakeonlan {}");
	T_CONTAINS(posts, "/nodes/pve3/stopall {\"vms\":\"107\"}");
	T_CONTAINS(posts, "/nodes/pve3/startall {}");
	T_NOT_CONTAINS(posts, "/nodes/pve2/wakeonlan");
	if (t_case_failed)
		printf("pvebot said:\n%s\n", out);
	free(posts);
	free(out);
	t_sim_stop(&e);
}

/* Free space before a backup: refused with the figures, then fine. */
static void
test_backup_needs_free_space(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *posts;

	t_sim_start(&e, 200, 0, "  index_max_age: 2s\n", NULL);
	/* nas-backup: 200 GiB free; 107 has 200 GiB of disk + 50 margin. */
	t_sim_admin(&e, "metrics", "{\"storage\":\"nas-backup\","
	    "\"disk\":4080218931200,\"maxdisk\":4294967296000}");
	t_sim_daemon(&e, &p);
	t_type(&p, "/as alice\nbackup 107 snapshot nas-backup\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	t_type(&p, "approve 1\n");
	T_OK(t_sim_wait_job(&e, 1, "refused", 15000));
	/* Space is made; the same backup goes ahead. */
	t_sim_admin(&e, "metrics", "{\"storage\":\"nas-backup\","
	    "\"disk\":1342177280000}");
	t_type(&p, "backup 107 snapshot nas-backup\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 2]", 15000), 0);
	t_type(&p, "approve 2\n");
	T_OK(t_sim_wait_job(&e, 2, "succeeded", 15000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "refused: not enough free space on nas-backup (node "
	    "pve3): 200.0 GiB free, guest 107 nextcloud has 200.0 GiB of disk "
	    "and the margin is 50 GiB (250.0 GiB needed); nothing was done");
	posts = t_sim_calls_of(e.sim, "POST");
	T_EQ_INT(strstr(posts, "/vzdump") != NULL, 1);
	/* Only the second one reached Proxmox. */
	T_OK(strstr(strstr(posts, "/vzdump") + 1, "/vzdump") == NULL);
	free(posts);
	free(out);
	t_sim_stop(&e);
}

/* Killed right after the first guest's shutdown was sent: the restart
 * follows that task and stops there; the rest is not sent. */
static void
test_shutdown_node_crash_does_not_carry_on(void)
{
	struct t_sim	 e;
	struct t_proc	 p;
	char		*out, *posts, *state;
	int64_t		 end;

	t_sim_start(&e, 200, 0, "  index_max_age: 2s\n", NULL);
	t_sim_admin(&e, "guest", "{\"vmid\":106,\"tags\":\"k8s;safe-shutdown\","
	    "\"startup\":\"order=2\"}");
	t_sim_admin(&e, "guest", "{\"vmid\":107,\"tags\":\"prod;safe-shutdown\","
	    "\"startup\":\"order=1\"}");
	setenv("PVEBOT_CRASH_AT", "step.sent:1", 1);
	t_sim_daemon(&e, &p);
	unsetenv("PVEBOT_CRASH_AT");
	t_type(&p, "/as alice\nshutdown-node pve3\n");
	T_EQ_INT(t_proc_wait_for(&p, "[approve 1]", 15000), 0);
	t_type(&p, "approve 1\n");
	/* It dies once the first shutdown is sent. */
	end = now_ms() + 15000;
	for (;;) {
		posts = t_sim_calls_of(e.sim, "POST");
		if (strstr(posts, "/qemu/106/status/shutdown") != NULL ||
		    now_ms() > end)
			break;
		free(posts);
		sleep_ms(50);
	}
	free(posts);
	t_proc_stop(&p, SIGTERM, 10000);
	t_sim_daemon(&e, &p);
	T_OK(t_sim_wait_job(&e, 1, "interrupted", 20000));
	t_proc_stop(&p, SIGTERM, 10000);
	out = t_proc_output(&p);
	T_CONTAINS(out, "pvebot stopped after the step \"shutdown 106\" of "
	    "this job; the steps after it were not sent");
	state = t_sim_resource_status(&e, "qemu/106");
	T_EQ_STR(state, "stopped");
	free(state);
	state = t_sim_resource_status(&e, "lxc/107");
	T_EQ_STR(state, "running");
	free(state);
	posts = t_sim_calls_of(e.sim, "POST");
	T_NOT_CONTAINS(posts, "/lxc/107/status/shutdown");
	T_NOT_CONTAINS(posts, "/nodes/pve3/status ");
	free(posts);
	free(out);
	t_sim_stop(&e);
}

int
main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	T_RUN(test_shutdown_node_refuses_untagged);
	T_RUN(test_shutdown_node_checks_again_at_run);
	T_RUN(test_shutdown_node_in_order);
	T_RUN(test_shutdown_node_stops_at_a_failed_guest);
	T_RUN(test_shutdown_node_refused_on_own_node);
	T_RUN(test_wake_stop_all_start_all);
	T_RUN(test_backup_needs_free_space);
	T_RUN(test_shutdown_node_crash_does_not_carry_on);
	curl_global_cleanup();
	return t_summary();
}
