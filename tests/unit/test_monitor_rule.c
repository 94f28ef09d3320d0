/*
 * Unit tests for monitor_rule.c: the alert state machine driven with
 * injected time (for, hysteresis, repeat, ack, resolve, flapping), rule
 * selection and overrides, silence matchers, time windows, sparklines.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "monitor.h"
#include "t.h"
#include "util.h"

static struct alert_rule
cpu_rule(void)
{
	struct alert_rule	 r;

	memset(&r, 0, sizeof r);
	r.name = "node-cpu-high";
	r.metric = "node.cpu";
	r.op = ">";
	r.threshold = 90;
	r.clear = 80;
	r.has_clear = 1;
	r.for_s = 300;
	r.repeat = 3600;
	r.severity = "warning";
	r.flap_count = 4;
	r.flap_window = 1800;
	return r;
}

static void
row_release(struct alert_row *a)
{
	free(a->acked_by);
	a->acked_by = NULL;
}

static void
test_for_holds_back_a_spike(void)
{
	struct alert_rule	 r = cpu_rule();
	struct alert_row	 a;
	int64_t			 t = 1000000;

	memset(&a, 0, sizeof a);
	T_EQ_INT(alert_step(&a, 1, 95, t, &r), ALERT_NONE);
	T_EQ_INT(a.state, ALERT_PENDING);
	T_EQ_INT(alert_step(&a, 1, 97, t + 120, &r), ALERT_NONE);
	/* The spike ends before 5 minutes: back to inactive, no message. */
	T_EQ_INT(alert_step(&a, 1, 40, t + 240, &r), ALERT_NONE);
	T_EQ_INT(a.state, ALERT_INACTIVE);
	/* A load that stays: fires once 5 minutes have passed. */
	T_EQ_INT(alert_step(&a, 1, 95, t + 600, &r), ALERT_NONE);
	T_EQ_INT(alert_step(&a, 1, 95, t + 870, &r), ALERT_NONE);
	T_EQ_INT(alert_step(&a, 1, 95, t + 900, &r), ALERT_FIRE);
	T_EQ_INT(a.state, ALERT_FIRING);
	T_EQ_INT(a.fired_at, t + 900);
	T_EQ_INT(alert_step(&a, 1, 96, t + 930, &r), ALERT_NONE);
	row_release(&a);
}

static void
test_hysteresis_and_resolve(void)
{
	struct alert_rule	 r = cpu_rule();
	struct alert_row	 a;
	int64_t			 t = 1000000;
	int			 i, fires = 0;

	r.for_s = 0;
	memset(&a, 0, sizeof a);
	T_EQ_INT(alert_step(&a, 1, 91, t, &r), ALERT_FIRE);
	/* Oscillating around 90 (85..95) never resolves nor re-fires. */
	for (i = 1; i <= 20; i++) {
		enum alert_action act = alert_step(&a, 1, i % 2 ? 85 : 95,
		    t + 30 * i, &r);

		fires += act == ALERT_FIRE || act == ALERT_RESOLVE;
	}
	T_EQ_INT(fires, 0);
	T_EQ_INT(a.state, ALERT_FIRING);
	/* Below the clear level: resolved, once. */
	T_EQ_INT(alert_step(&a, 1, 79, t + 900, &r), ALERT_RESOLVE);
	T_EQ_INT(a.state, ALERT_RESOLVED);
	T_EQ_INT(a.resolved_at, t + 900);
	T_EQ_INT(alert_step(&a, 1, 70, t + 930, &r), ALERT_NONE);
	/* Without a clear level the threshold is the clear level (flap
	 * damping off: these flips come fast). */
	r.has_clear = 0;
	r.flap_count = 0;
	T_EQ_INT(alert_step(&a, 1, 91, t + 960, &r), ALERT_FIRE);
	T_EQ_INT(alert_step(&a, 1, 90, t + 990, &r), ALERT_RESOLVE);
	/* A target that is gone resolves a firing alert. */
	T_EQ_INT(alert_step(&a, 1, 99, t + 1020, &r), ALERT_FIRE);
	T_EQ_INT(alert_step(&a, 0, 0, t + 1050, &r), ALERT_RESOLVE);
	row_release(&a);
}

static void
test_repeat_and_ack(void)
{
	struct alert_rule	 r = cpu_rule();
	struct alert_row	 a;
	int64_t			 t = 1000000;

	r.for_s = 0;
	memset(&a, 0, sizeof a);
	T_EQ_INT(alert_step(&a, 1, 95, t, &r), ALERT_FIRE);
	T_EQ_INT(alert_step(&a, 1, 95, t + 1800, &r), ALERT_NONE);
	T_EQ_INT(alert_step(&a, 1, 95, t + 3599, &r), ALERT_NONE);
	T_EQ_INT(alert_step(&a, 1, 95, t + 3600, &r), ALERT_REPEAT);
	T_EQ_INT(alert_step(&a, 1, 95, t + 3630, &r), ALERT_NONE);
	T_EQ_INT(alert_step(&a, 1, 95, t + 7200, &r), ALERT_REPEAT);
	/* Acked: no more repeats until it resolves. */
	a.acked_by = xstrdup("console:alice");
	T_EQ_INT(alert_step(&a, 1, 95, t + 20000, &r), ALERT_NONE);
	T_EQ_INT(alert_step(&a, 1, 50, t + 20030, &r), ALERT_RESOLVE);
	T_OK(a.acked_by == NULL);
	/* The next incident repeats again. */
	T_EQ_INT(alert_step(&a, 1, 95, t + 30000, &r), ALERT_FIRE);
	T_EQ_INT(alert_step(&a, 1, 95, t + 33600, &r), ALERT_REPEAT);
	/* repeat 0: never. */
	r.repeat = 0;
	T_EQ_INT(alert_step(&a, 1, 95, t + 99999, &r), ALERT_NONE);
	row_release(&a);
}

static void
test_flapping(void)
{
	struct alert_rule	 r = cpu_rule();
	struct alert_row	 a;
	int64_t			 t = 1000000;
	int			 i, fire = 0, resolve = 0, flap = 0;

	r.for_s = 0;
	r.flap_count = 4;
	r.flap_window = 1800;
	memset(&a, 0, sizeof a);
	/* Up and down every minute: 4 flips pass, the 5th flaps. */
	for (i = 0; i < 12; i++) {
		enum alert_action act = alert_step(&a, 1, i % 2 ? 50 : 95,
		    t + 60 * i, &r);

		fire += act == ALERT_FIRE;
		resolve += act == ALERT_RESOLVE;
		flap += act == ALERT_FLAP;
	}
	T_EQ_INT(fire, 2);
	T_EQ_INT(resolve, 2);
	T_EQ_INT(flap, 1);
	T_EQ_INT(a.state, ALERT_FLAPPING);
	/* Calm (still high) for a whole window: settles as firing. */
	T_EQ_INT(alert_step(&a, 1, 95, t + 720, &r), ALERT_NONE);
	T_EQ_INT(alert_step(&a, 1, 95, t + 720 + 1000, &r), ALERT_NONE);
	T_EQ_INT(alert_step(&a, 1, 95, t + 720 + 1800, &r), ALERT_UNFLAP);
	T_EQ_INT(a.state, ALERT_FIRING);
	/* Flips spread wider than the window never flap. */
	memset(&a, 0, sizeof a);
	flap = 0;
	for (i = 0; i < 12; i++)
		flap += alert_step(&a, 1, i % 2 ? 50 : 95, t + 1000 * i,
		    &r) == ALERT_FLAP;
	T_EQ_INT(flap, 0);
	row_release(&a);
}

static void
test_select_and_override(void)
{
	const char		*sel[] = { "100-199", "tag:db" };
	struct conf_override	 ov[2];
	struct conf_rule	 cr;
	struct conf_monitor	 mc;
	struct alert_rule	 eff;
	struct mon_target	 web = { "guest", "pve1", 101, "web-01",
	    "web;prod" };
	struct mon_target	 db = { "guest", "pve1", 102, "db-01",
	    "db;prod" };
	struct mon_target	 win = { "guest", "pve2", 108, "win11", NULL };
	struct mon_target	 big = { "guest", "pve2", 300, "x", "db" };
	struct mon_target	 node = { "node", "pve1", 0, NULL, NULL };
	struct mon_target	 st = { "storage", "pve1", 0, "local", NULL };

	T_OK(mon_select_match("101", &web));
	T_OK(!mon_select_match("102", &web));
	T_OK(mon_select_match("100-199", &web));
	T_OK(!mon_select_match("200-299", &web));
	T_OK(mon_select_match("tag:prod", &web));
	T_OK(!mon_select_match("tag:pro", &web));
	T_OK(mon_select_match("name:web*", &web));
	T_OK(!mon_select_match("name:web*", &db));
	T_OK(mon_select_match("node:pve1", &web));
	T_OK(mon_select_match("node:*", &node));
	T_OK(!mon_select_match("node:pve2", &node));
	T_OK(mon_select_match("storage:loc*", &st));
	T_OK(!mon_select_match("storage:*", &node));
	T_OK(!mon_select_match("101", &node));
	T_OK(!mon_select_match("1x", &web));

	memset(&cr, 0, sizeof cr);
	memset(&mc, 0, sizeof mc);
	memset(ov, 0, sizeof ov);
	mc.flap_count = 4;
	mc.flap_window = 1800;
	cr.name = "guest-memory-high";
	cr.metric = "guest.memory";
	cr.select = (char **)sel;
	cr.nselect = 2;
	cr.op = ">";
	cr.threshold = 90;
	cr.clear = 85;
	cr.has_clear = 1;
	cr.severity = "warning";
	ov[0].target = "102";
	ov[0].threshold = 98;
	ov[0].has_threshold = 1;
	ov[0].clear = 96;
	ov[0].has_clear = 1;
	ov[1].target = "108";
	ov[1].exclude = 1;
	cr.overrides = ov;
	cr.noverrides = 2;
	T_EQ_INT(mon_rule_for(&cr, &mc, &web, &eff), 0);
	T_OK(eff.threshold == 90 && eff.clear == 85);
	T_EQ_INT(eff.flap_count, 4);
	T_EQ_INT(mon_rule_for(&cr, &mc, &db, &eff), 0);
	T_OK(eff.threshold == 98 && eff.clear == 96);
	T_EQ_INT(mon_rule_for(&cr, &mc, &win, &eff), -1);
	/* Outside 100-199 but tagged db: selected. */
	T_EQ_INT(mon_rule_for(&cr, &mc, &big, &eff), 0);
	T_EQ_INT(mon_rule_for(&cr, &mc, &node, &eff), -1);
}

static void
test_matchers(void)
{
	struct mon_labels	 l = { 12, 10, "node-cpu-high", "node:pve1",
	    "pve1", 0, NULL, "warning", NULL };
	struct mon_labels	 g = { 13, 13, "guest-memory-high",
	    "guest:101", "pve1", 101, NULL, "critical", "web-01" };

	T_EQ_INT(mon_matcher_match("rule=node-cpu-high", &l), 1);
	T_EQ_INT(mon_matcher_match("rule=node-cpu-high,node=pve1", &l), 1);
	T_EQ_INT(mon_matcher_match("rule=node-cpu-high,node=pve2", &l), 0);
	T_EQ_INT(mon_matcher_match("node=pve*", &l), 1);
	T_EQ_INT(mon_matcher_match("severity=warning", &g), 0);
	T_EQ_INT(mon_matcher_match("guest=101", &g), 1);
	T_EQ_INT(mon_matcher_match("guest=101", &l), 0);
	T_EQ_INT(mon_matcher_match("guest=web-*", &g), 1);
	T_EQ_INT(mon_matcher_match("guest=db-01", &g), 0);
	T_EQ_INT(mon_matcher_match("alert=12", &l), 1);
	/* The group's id (the message's buttons) matches its members. */
	T_EQ_INT(mon_matcher_match("alert=10", &l), 1);
	T_EQ_INT(mon_matcher_match("alert=1", &l), 0);
	T_EQ_INT(mon_matcher_match("target=node:pve1", &l), 1);
	T_EQ_INT(mon_matcher_match("colour=red", &l), -1);
	T_EQ_INT(mon_matcher_match("rule", &l), -1);
	T_EQ_INT(mon_matcher_match("", &l), -1);
}

static void
test_windows(void)
{
	struct conf_window	 night = { "*", "23:00", "07:00", "warning",
	    NULL };
	struct conf_window	 work = { "mon-fri", "09:00", "17:00", NULL,
	    NULL };
	struct conf_window	 wkend = { "sat,sun", "22:00", "02:00", NULL,
	    NULL };
	struct tm		 tm;

	memset(&tm, 0, sizeof tm);
	tm.tm_wday = 1;			/* Monday */
	tm.tm_hour = 23;
	tm.tm_min = 30;
	T_OK(mon_window_active(&night, &tm));
	tm.tm_hour = 6;
	tm.tm_min = 59;
	T_OK(mon_window_active(&night, &tm));
	tm.tm_hour = 7;
	tm.tm_min = 0;
	T_OK(!mon_window_active(&night, &tm));
	tm.tm_hour = 10;
	T_OK(mon_window_active(&work, &tm));
	tm.tm_wday = 6;			/* Saturday */
	T_OK(!mon_window_active(&work, &tm));
	tm.tm_hour = 23;
	T_OK(mon_window_active(&wkend, &tm));
	/* Monday 01:00 is part of Sunday night's window. */
	tm.tm_wday = 1;
	tm.tm_hour = 1;
	T_OK(mon_window_active(&wkend, &tm));
	tm.tm_wday = 2;
	T_OK(!mon_window_active(&wkend, &tm));
	T_EQ_INT(mon_severity_rank("critical"), 2);
	T_EQ_INT(mon_severity_rank("info"), 0);
}

static void
test_sparkline_and_bar(void)
{
	double	 v[] = { 0, 12.5, 25, 50, 100, -1, 99 };
	char	*s = mon_sparkline(v, 7, 0, 100), *b;

	T_EQ_STR(s, "▁▂▃▅█ █");
	free(s);
	b = mon_bar(31, 10);
	T_EQ_STR(b, "███░░░░░░░");
	free(b);
	b = mon_bar(140, 4);
	T_EQ_STR(b, "████");
	free(b);
}

/*
 * Issue 14 item 11: the rules for a new silence. Over the maximum is
 * refused with the maximum named; longer than a day, or a matcher that
 * silences everything, is announced; short and narrow is quiet.
 */
static void
test_silence_rules(void)
{
	char	*refusal = NULL, *notice = NULL;
	int64_t	 now = 1796400000;	/* 2026-12-04 16:00 UTC */

	T_EQ_INT(mon_silence_check(7 * 86400, "rule=*", 3650 * 86400,
	    "telegram:1", NULL, now, &refusal, &notice), -1);
	T_CONTAINS(refusal, "a silence may last at most 7d");
	T_CONTAINS(refusal, "monitor.max_silence");
	T_OK(notice == NULL);
	free(refusal);
	refusal = NULL;

	T_EQ_INT(mon_silence_check(7 * 86400, "rule=node-cpu-high",
	    7200, "telegram:1", NULL, now, &refusal, &notice), 0);
	T_OK(notice == NULL);

	T_EQ_INT(mon_silence_check(7 * 86400, "rule=node-cpu-high",
	    86400 + 60, "telegram:1", "disk swap", now, &refusal, &notice), 0);
	T_CONTAINS(notice, "telegram:1 silenced rule=node-cpu-high for 1d0h "
	    "(until 2026-12-05 16:01 UTC): disk swap");
	free(notice);
	notice = NULL;

	T_EQ_INT(mon_silence_check(7 * 86400, "rule=*,severity=**", 600,
	    "telegram:1", NULL, now, &refusal, &notice), 0);
	T_CONTAINS(notice, "telegram:1 silenced EVERY alert for 10m");
	T_CONTAINS(notice, "matcher rule=*,severity=**; no reason given");
	free(notice);
	notice = NULL;

	/* A narrow glob is not everything. */
	T_EQ_INT(mon_silence_check(7 * 86400, "rule=*,node=pve1", 600,
	    "telegram:1", NULL, now, &refusal, &notice), 0);
	T_OK(notice == NULL);
	T_OK(refusal == NULL);
}

int
main(void)
{
	T_RUN(test_for_holds_back_a_spike);
	T_RUN(test_hysteresis_and_resolve);
	T_RUN(test_repeat_and_ack);
	T_RUN(test_flapping);
	T_RUN(test_select_and_override);
	T_RUN(test_matchers);
	T_RUN(test_windows);
	T_RUN(test_sparkline_and_bar);
	T_RUN(test_silence_rules);
	return t_summary();
}
