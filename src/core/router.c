/*
 * router.c - the one path every chat event takes: stale check, parse,
 * resolve, policy decision, job, reply.
 *
 * Connectors hand events to router_submit(); one router thread handles
 * them in order. The work an event produces (a job, an approval, a
 * silence) is written in ONE SQLite transaction together with the audit
 * rows and the connector's offset, so a crash either keeps all of it or
 * none, and the platform redelivers what was not kept: nothing is lost,
 * nothing runs twice. Chat replies go out after the commit.
 *
 * Commands that only touch pvebot's own state (help, whoami, explain,
 * jobs, approve, deny, cancel, alerts, silence) are answered here; the
 * rest become jobs for the workers, reads included, so a slow Proxmox
 * never stalls the router. A timer expires approvals that nobody
 * decided in time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "builtin.h"
#include "chat.h"
#include "cmd.h"
#include "conf.h"
#include "core_int.h"
#include "jobs.h"
#include "log.h"
#include "monitor.h"
#include "policy.h"
#include "request.h"
#include "store.h"
#include "util.h"

#define ROUTER_QUEUE_MAX	4096

struct router {
	struct app		*app;
	pthread_t		 thread;
	int			 started;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	pthread_cond_t		 idle;
	struct chat_event	*queue[ROUTER_QUEUE_MAX];
	size_t			 head, len;
	int			 busy;
	int			 stop;
	struct store		*store;
};

/* A chat operation to run after the transaction commits. */
struct deferred {
	char		*connector;
	char		*room;
	char		*ref;		/* NULL: send a new message */
	char		*title;
	char		*text;
	int		 approval_buttons;	/* job id and nonce below */
	int64_t		 job_id;
	char		*nonce;
};

struct route {
	struct app		*app;
	struct store		*store;
	struct chat_event	*ev;
	struct connector	*conn;
	char			 room[512];	/* connector:room */
	int64_t			 now;
	struct deferred		 later[8];
	size_t			 nlater;
	int64_t			 held_job;	/* queued; runs after the edits */
};

static void
defer(struct route *rt, const char *connector, const char *room,
    const char *ref, const char *title, const char *text)
{
	struct deferred	*d;

	if (rt->nlater == nitems(rt->later))
		return;
	d = &rt->later[rt->nlater++];
	memset(d, 0, sizeof *d);
	d->connector = xstrdup(connector);
	d->room = xstrdup(room);
	d->ref = ref != NULL ? xstrdup(ref) : NULL;
	d->title = title != NULL ? xstrdup(title) : NULL;
	d->text = xstrdup(text != NULL ? text : "");
}

static void
free_deferred(struct deferred *d)
{
	free(d->connector);
	free(d->room);
	free(d->ref);
	free(d->title);
	free(d->text);
	free(d->nonce);
}

/* The transaction did not commit: nothing it promised is shown. */
static void
drop_deferred(struct route *rt)
{
	size_t	 i;

	for (i = 0; i < rt->nlater; i++)
		free_deferred(&rt->later[i]);
	rt->nlater = 0;
	rt->held_job = 0;
}

static void
run_deferred(struct route *rt)
{
	size_t	 i;

	for (i = 0; i < rt->nlater; i++) {
		struct deferred		*d = &rt->later[i];
		struct connector	*c = app_connector(rt->app, d->connector);
		struct chat_msg		 m = { .title = d->title,
		    .text = d->text };
		struct chat_button	 b[2];
		char			 ap[80], dn[80];

		if (d->approval_buttons) {
			snprintf(ap, sizeof ap, "ap:%" PRId64 ":%s", d->job_id,
			    d->nonce);
			snprintf(dn, sizeof dn, "dn:%" PRId64 ":%s", d->job_id,
			    d->nonce);
			b[0] = (struct chat_button){ "Approve", ap,
			    "\xe2\x9c\x85", CHAT_BUTTON_SUCCESS };
			b[1] = (struct chat_button){ "Deny", dn,
			    "\xe2\x9d\x8c", CHAT_BUTTON_DANGER };
			m.buttons = b;
			m.nbuttons = 2;
		}
		if (c != NULL)
			chat_deliver(c, d->room, d->ref, &m, NULL, 10000);
		free_deferred(d);
	}
	rt->nlater = 0;
}

/* Replies to the event; returns the new message's ref (caller frees). */
static char *
reply(struct route *rt, const char *title, const char *text)
{
	struct chat_msg	 m = { .title = title, .text = text };
	char		*ref = NULL, *cause = NULL;

	if (chat_reply(rt->conn, rt->ev, &m, &ref, &cause) != CHAT_OK) {
		log_warn("router", "reply failed connector=%s room=%s: %s",
		    rt->conn->ops->name, rt->ev->room,
		    cause != NULL ? cause : "?");
		free(cause);
		free(ref);
		return NULL;
	}
	return ref;
}

static void
reply_text(struct route *rt, const char *text)
{
	free(reply(rt, NULL, text));
}

/* Saves the event's offset; inside the caller's transaction if any. */
static void
save_offset(struct route *rt)
{
	if (rt->ev->offset_key != NULL && rt->ev->offset != NULL)
		store_offset_set(rt->store, rt->ev->offset_key, rt->ev->offset);
}

/* Offset and one audit row, alone in a transaction. */
static void
commit_note(struct route *rt, const char *event, const char *detail)
{
	if (store_begin(rt->store) != 0)
		return;
	if (event != NULL)
		audit_append(rt->store, rt->ev->user != NULL ? rt->ev->user :
		    "?", event, detail);
	save_offset(rt);
	store_commit(rt->store);
}

/* Chat text in an audit row: bounded and on one line. */
static char *
audit_text(const char *s)
{
	char	*t = xstrndup(s != NULL ? s : "", 300);
	char	*p;

	for (p = t; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	}
	return t;
}

static const char *
effect_word(enum policy_effect e)
{
	switch (e) {
	case POLICY_PROHIBIT:
		return "Prohibited";
	case POLICY_SELF_PROTECT:
		return "Refused (self-protection)";
	default:
		return "Refused";
	}
}

static json_t *
args_json(const struct cmd_call *call)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < call->def->nargs; i++)
		json_array_append_new(a, call->values[i] != NULL ?
		    json_string(call->values[i]) : json_null());
	return a;
}

/*
 * The job for a call the policy allowed or sent for approval. Runs inside
 * the caller's transaction.
 */
static int
insert_job(struct route *rt, const struct cmd_call *call,
    const struct request *req, const struct policy_decision *d,
    enum job_state state, struct job *j, char **cause)
{
	json_t	*args = args_json(call);
	char	*args_s = json_dumps(args, JSON_COMPACT);
	char	 nonce[33];
	int	 rc;

	json_decref(args);
	memset(j, 0, sizeof *j);
	j->state = state;
	j->command = call->canonical;
	j->cmd_name = call->def->name;
	j->action = (char *)req->preq.action;
	j->args = args_s;
	j->requester = rt->ev->user;
	j->connector = rt->ev->connector;
	j->room = rt->ev->room;
	j->rule = (char *)d->rule;
	j->reason = (char *)req->reason;
	j->heavy = call->def->heavy;
	if (req->have_guest) {
		j->target_vmid = req->guest.vmid;
		j->target_node = req->guest.node;
		j->target_type = req->guest.type;
		j->target_status = req->guest.status;
	}
	if (!call->mutating) {
		/* Reads never wait behind actions on the same guest. */
		j->target_vmid = 0;
		j->heavy = 0;
	}
	if (state == JOB_AWAITING_APPROVAL) {
		random_hex(nonce, 16);
		j->nonce = nonce;
		j->approvals_needed = d->approvals > 0 ? d->approvals : 1;
		j->approver_roles = (char *)d->approver_roles;
		j->self_approve = d->self_approve;
		j->expires_at = rt->now + (d->expiry > 0 ? d->expiry : 900);
	}
	j->snapshot_before = d->snapshot_before;
	rc = jobs_insert(rt->store, j, cause);
	/* Workers wait until the reply is out and its ref stored. */
	if (rc == 0)
		rc = store_exec(rt->store, call->mutating ? "UPDATE jobs SET "
		    "ready = 0 WHERE id = last_insert_rowid()" : "UPDATE jobs "
		    "SET kind = 'read', ready = 0 WHERE id = "
		    "last_insert_rowid()", cause);
	if (state == JOB_AWAITING_APPROVAL)
		j->nonce = xstrdup(nonce);
	else
		j->nonce = NULL;
	j->args = NULL;
	free(args_s);
	return rc;
}

static char *
guest_label(const struct request *req)
{
	if (!req->have_guest || req->guest.name == NULL)
		return xstrdup("");
	return xasprintf(" (%s on %s)", req->guest.name, req->guest.node);
}

/* Approval request: title, body, and Approve/Deny buttons. */
static char *
send_approval(struct route *rt, const struct job *j,
    const struct policy_decision *d, const struct request *req)
{
	struct chat_button	 b[2];
	struct chat_msg		 m;
	char			 ap[80], dn[80], exp[32], *title, *text;
	char			*ref = NULL, *cause = NULL, *label;
	int			 rc;

	snprintf(ap, sizeof ap, "ap:%" PRId64 ":%s", j->id, j->nonce);
	snprintf(dn, sizeof dn, "dn:%" PRId64 ":%s", j->id, j->nonce);
	b[0] = (struct chat_button){ "Approve", ap, "\xe2\x9c\x85",
	    CHAT_BUTTON_SUCCESS };
	b[1] = (struct chat_button){ "Deny", dn, "\xe2\x9d\x8c",
	    CHAT_BUTTON_DANGER };
	label = guest_label(req);
	title = xasprintf("Approval needed: job #%" PRId64, j->id);
	text = xasprintf("%s%s\nrequested by %s (%s)%s%s\nrule: %s%s%s%s\n"
	    "approvers: %s; %d approval%s needed; expires in %s",
	    j->command, label, d->person[0] ? d->person : rt->ev->user,
	    rt->ev->user, req->reason != NULL ? "\nreason: " : "",
	    req->reason != NULL ? req->reason : "", d->rule,
	    d->rule_name[0] ? " (" : "", d->rule_name,
	    d->rule_name[0] ? ")" : "", d->approver_roles,
	    j->approvals_needed, j->approvals_needed == 1 ? "" : "s",
	    format_duration(j->expires_at - rt->now, exp, sizeof exp));
	m = (struct chat_msg){ .title = title, .text = text, .buttons = b,
	    .nbuttons = 2 };
	rc = chat_reply(rt->conn, rt->ev, &m, &ref, &cause);
	if (rc != CHAT_OK) {
		log_warn("router", "approval request not delivered job=%"
		    PRId64 ": %s", j->id, cause != NULL ? cause : "?");
		free(ref);
		ref = NULL;
	}
	free(cause);
	free(title);
	free(text);
	free(label);
	return ref;
}

int
router_is_local_builtin(const char *name)
{
	const struct builtin	*b = builtin_find(name);

	return b != NULL && b->local != NULL;
}

static void
run_local_builtin(struct route *rt, const struct cmd_call *call,
    const struct policy_decision *d)
{
	const struct builtin	*b = builtin_find(call->def->builtin);
	struct buf		 out;
	char			*detail, *text;

	buf_init(&out, 256 << 10);
	buf_append(&out, "", 0);
	if (store_begin(rt->store) != 0) {
		reply_text(rt, "pvebot's database is busy; try again");
		buf_release(&out);
		return;
	}
	text = audit_text(call->canonical);
	detail = xasprintf("room=%s command=%s decision=allow rule=%s",
	    rt->room, text, d->rule);
	audit_append(rt->store, rt->ev->user, "command", detail);
	free(detail);
	free(text);
	if (b != NULL && b->local != NULL)
		b->local(rt, call, &out);
	save_offset(rt);
	if (store_commit(rt->store) != 0) {
		drop_deferred(rt);
		buf_reset(&out);
		buf_puts(&out, "pvebot could not save that; nothing was done");
	}
	if (out.len > 0)
		reply_text(rt, out.data);
	run_deferred(rt);
	buf_release(&out);
}

static void
route_call(struct route *rt, struct cmd_call *call)
{
	struct app		*app = rt->app;
	struct request		 req;
	struct policy_decision	 d;
	struct job		 j;
	char			*cause = NULL, *detail, *text, *ref, *title;
	char			*label;
	enum job_state		 state;

	if (request_prepare(app->pve, call, rt->ev->user, rt->room, rt->now,
	    &req, &cause) != 0) {
		text = audit_text(call->canonical);
		detail = xasprintf("room=%s command=%s error=%s", rt->room,
		    text, cause);
		commit_note(rt, "command.invalid", detail);
		reply_text(rt, cause);
		free(detail);
		free(text);
		free(cause);
		return;
	}
	policy_decide(app->policy, &req.preq, &d);
	text = audit_text(call->canonical);
	if (d.effect == POLICY_DENY || d.effect == POLICY_PROHIBIT ||
	    d.effect == POLICY_SELF_PROTECT) {
		char	*msg;

		detail = xasprintf("room=%s command=%s decision=%s rule=%s",
		    rt->room, text, policy_effect_name(d.effect), d.rule);
		commit_note(rt, "command.refused", detail);
		free(detail);
		msg = xasprintf("%s: %s (rule %s)", effect_word(d.effect),
		    d.why, d.rule);
		reply_text(rt, msg);
		free(msg);
		goto out;
	}
	if (d.effect == POLICY_REQUIRE_APPROVAL && d.reason_required &&
	    req.reason == NULL) {
		char	*msg = xasprintf("%s needs a reason: add it at the end "
		    "of the command (rule %s)", call->def->name, d.rule);

		detail = xasprintf("room=%s command=%s decision=need_reason "
		    "rule=%s", rt->room, text, d.rule);
		commit_note(rt, "command.refused", detail);
		free(detail);
		reply_text(rt, msg);
		free(msg);
		goto out;
	}
	if (d.effect == POLICY_ALLOW && call->def->exec == CMD_EXEC_BUILTIN &&
	    router_is_local_builtin(call->def->builtin)) {
		run_local_builtin(rt, call, &d);
		goto out;
	}
	state = d.effect == POLICY_ALLOW ? JOB_QUEUED : JOB_AWAITING_APPROVAL;
	if (store_begin(rt->store) != 0) {
		reply_text(rt, "pvebot's database is busy; try again");
		goto out;
	}
	if (insert_job(rt, call, &req, &d, state, &j, &cause) != 0) {
		store_rollback(rt->store);
		log_error("router", "job not stored: %s", cause);
		reply_text(rt, "pvebot could not store the job; nothing was "
		    "done");
		free(cause);
		goto out;
	}
	detail = xasprintf("room=%s job=%" PRId64 " command=%s decision=%s "
	    "rule=%s", rt->room, j.id, text, policy_effect_name(d.effect),
	    d.rule);
	audit_append(rt->store, rt->ev->user, "command", detail);
	free(detail);
	save_offset(rt);
	if (store_commit(rt->store) != 0) {
		reply_text(rt, "pvebot could not store the job; nothing was "
		    "done");
		free(j.nonce);
		goto out;
	}
	if (state == JOB_AWAITING_APPROVAL) {
		ref = send_approval(rt, &j, &d, &req);
		if (ref != NULL) {
			jobs_set_text(rt->store, j.id, "approval_ref", ref);
			jobs_set_text(rt->store, j.id, "msg_ref", ref);
		}
		jobs_set_int(rt->store, j.id, "ready", 1);
		free(ref);
		free(j.nonce);
		goto out;
	}
	label = guest_label(&req);
	title = xasprintf("Job #%" PRId64 ": %s%s", j.id, call->canonical,
	    label);
	ref = reply(rt, title, call->mutating ? "queued" : "working...");
	if (ref != NULL)
		jobs_set_text(rt->store, j.id, "msg_ref", ref);
	jobs_set_int(rt->store, j.id, "ready", 1);
	free(ref);
	free(title);
	free(label);
	if (app->workers != NULL)
		workers_kick(app->workers);
	free(j.nonce);
out:
	free(text);
	request_release(&req);
}

static void
route_message(struct route *rt)
{
	struct app		*app = rt->app;
	struct chat_event	*ev = rt->ev;
	struct cmd_parse_opts	 opts;
	struct cmd_call		 call;
	enum cmd_parse_result	 pr;
	char			*cause = NULL, *detail, *text;

	if (ev->text == NULL) {
		commit_note(rt, NULL, NULL);
		return;
	}
	if (chat_is_stale(app->conf, ev->sent_at, rt->now)) {
		char	 age[32], limit[32], *msg;

		format_duration(rt->now - ev->sent_at, age, sizeof age);
		format_duration(app->conf->chat.max_command_age, limit,
		    sizeof limit);
		text = audit_text(ev->text);
		detail = xasprintf("room=%s text=%s age=%s", rt->room, text,
		    age);
		commit_note(rt, "command.late", detail);
		msg = xasprintf("\"%s\" arrived late (sent %s ago; commands "
		    "older than %s are not run, e.g. after pvebot was down). "
		    "Nothing was done: send it again if you still want it.",
		    text, age, limit);
		reply_text(rt, msg);
		free(msg);
		free(detail);
		free(text);
		return;
	}
	memset(&opts, 0, sizeof opts);
	opts.bot_name = app->conf->chat.bot_name;
	opts.direct = ev->direct;
	opts.addressed = ev->addressed;
	opts.now = rt->now;
	pr = cmd_parse(app->catalogue, ev->text, &opts, &call, &cause);
	if (pr == CMD_PARSE_IGNORE) {
		commit_note(rt, NULL, NULL);
		return;
	}
	if (pr == CMD_PARSE_ERROR) {
		text = audit_text(ev->text);
		detail = xasprintf("room=%s text=%s error=%s", rt->room, text,
		    cause != NULL ? cause : "?");
		commit_note(rt, "command.invalid", detail);
		reply_text(rt, cause != NULL ? cause : "that is not a command");
		free(detail);
		free(text);
		free(cause);
		return;
	}
	route_call(rt, &call);
	cmd_call_release(&call);
}

/* ---- approvals ---- */

static void
approval_edit(struct route *rt, const struct job *j, const char *title,
    const char *text)
{
	const char	*ref = j->approval_ref != NULL ? j->approval_ref :
	    j->msg_ref;

	defer(rt, j->connector, j->room, ref, title, text);
}

/*
 * One approve or deny attempt, by button (nonce given) or by text.
 * Runs inside the router's transaction; refusals leave the job as it
 * was. Returns the sentence for the presser.
 */
static char *
decide(struct route *rt, int64_t id, const char *nonce, int deny,
    const char *reason)
{
	struct approval_state	 st;
	struct job		 j;
	enum approval_verdict	 v;
	char			**who = NULL, why[256], jroom[512], *detail;
	char			*cause = NULL, *title = NULL, *text = NULL;
	size_t			 n = 0;

	if (jobs_get(rt->store, id, &j) != 0) {
		detail = xasprintf("job=%" PRId64 " verdict=refused why=no "
		    "such job", id);
		audit_append(rt->store, rt->ev->user, "approval", detail);
		free(detail);
		return xasprintf("there is no job #%" PRId64, id);
	}
	jobs_approvers(rt->store, id, &who, &n);
	snprintf(jroom, sizeof jroom, "%s:%s", j.connector, j.room);
	memset(&st, 0, sizeof st);
	st.job_id = id;
	st.action = j.action;
	st.requester = j.requester;
	st.room = jroom;
	st.nonce = j.nonce;
	st.state = job_state_name(j.state);
	st.expires_at = j.expires_at;
	st.approvals_needed = j.approvals_needed;
	st.self_approve = j.self_approve;
	st.approver_roles = j.approver_roles != NULL ? j.approver_roles : "";
	st.approved_by = (const char *const *)who;
	st.napproved = n;
	v = policy_check_approval(rt->app->policy, &st, rt->ev->user, rt->room,
	    nonce, deny, rt->now, why, sizeof why);
	detail = xasprintf("job=%" PRId64 " verdict=%s via=%s why=%s", id,
	    approval_verdict_name(v), nonce != NULL ? "button" : "text", why);
	audit_append(rt->store, rt->ev->user, "approval", detail);
	free(detail);
	switch (v) {
	case APPROVAL_REFUSED:
		break;
	case APPROVAL_RECORDED:
		jobs_add_approval(rt->store, id, rt->ev->user, "approve");
		title = xasprintf("Approval needed: job #%" PRId64, id);
		text = xasprintf("%s\napproved by %s (%zu of %d); waiting for "
		    "another approver", j.command, rt->ev->user, n + 1,
		    j.approvals_needed);
		/* Keep the buttons: more approvers must press them. */
		break;
	case APPROVAL_COMPLETE:
		jobs_add_approval(rt->store, id, rt->ev->user, "approve");
		if (jobs_transition(rt->store, id, JOB_AWAITING_APPROVAL,
		    JOB_QUEUED, rt->ev->user, NULL, NULL, &cause) != 0) {
			snprintf(why, sizeof why, "%s", cause);
			free(cause);
			break;
		}
		title = xasprintf("Job #%" PRId64 ": %s", id, j.command);
		text = xasprintf("approved by %s; queued", rt->ev->user);
		/* Not claimable before "approved" is shown, or a fast job's
		 * progress edits could land first and be overwritten. */
		jobs_set_int(rt->store, id, "ready", 0);
		rt->held_job = id;
		break;
	case APPROVAL_DENIED:
		jobs_add_approval(rt->store, id, rt->ev->user, "deny");
		if (jobs_transition(rt->store, id, JOB_AWAITING_APPROVAL,
		    JOB_DENIED, rt->ev->user, NULL, reason, &cause) != 0) {
			snprintf(why, sizeof why, "%s", cause);
			free(cause);
			break;
		}
		title = xasprintf("Job #%" PRId64 ": %s", id, j.command);
		text = xasprintf("denied by %s%s%s", rt->ev->user,
		    reason != NULL ? ": " : "", reason != NULL ? reason : "");
		if (strcmp(rt->ev->user, j.requester) != 0) {
			char	*tell = xasprintf("%s: your job #%" PRId64
			    " (%s) was denied by %s%s%s", j.requester, id,
			    j.command, rt->ev->user, reason ? ": " : "",
			    reason ? reason : "");

			defer(rt, j.connector, j.room, NULL, NULL, tell);
			free(tell);
		}
		break;
	}
	if (title != NULL) {
		if (v == APPROVAL_RECORDED) {
			struct deferred	*d;

			approval_edit(rt, &j, title, text);
			d = &rt->later[rt->nlater - 1];
			d->approval_buttons = 1;
			d->job_id = id;
			d->nonce = xstrdup(j.nonce);
		} else
			approval_edit(rt, &j, title, text);
	}
	free(title);
	free(text);
	jobs_free_list(who, n);
	job_release(&j);
	return xstrdup(why);
}

static int64_t
arg_id(const struct cmd_call *call, const char *name)
{
	const char	*v = cmd_call_value(call, name), *errstr;

	if (v == NULL)
		return 0;
	return strtonum(v, 1, INT64_MAX, &errstr);
}

int
bi_approve(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	char	*why = decide(rt, arg_id(call, "id"), NULL, 0, NULL);

	buf_puts(out, why);
	free(why);
	return 0;
}

int
bi_deny(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	char	*why = decide(rt, arg_id(call, "id"), NULL, 1,
	    cmd_call_value(call, "reason"));

	buf_puts(out, why);
	free(why);
	return 0;
}

static void	route_call(struct route *, struct cmd_call *);

/*
 * The Roll back button of a job whose safety snapshot was taken: the
 * presser asks for `rollback VMID pvebot-ID`, which goes through the
 * policy like any other command.
 */
static void
roll_back_offer(struct route *rt, const char *id_s)
{
	struct cmd_parse_opts	 opts = { .direct = 1, .addressed = 1,
	    .now = rt->now };
	struct cmd_call		 call;
	struct job		 j;
	const char		*errstr;
	char			*line, *cause = NULL;
	int64_t			 id = strtonum(id_s, 1, INT64_MAX, &errstr);

	if (errstr != NULL || jobs_get(rt->store, id, &j) != 0) {
		chat_answer(rt->conn, rt->ev, "this button is not valid");
		commit_note(rt, "button", "verdict=refused why=bad roll back");
		return;
	}
	if (!j.snapshot_before || j.target_vmid == 0 ||
	    j.state != JOB_FAILED) {
		chat_answer(rt->conn, rt->ev, "that job has no safety "
		    "snapshot to go back to");
		commit_note(rt, "button", "verdict=refused why=no snapshot");
		job_release(&j);
		return;
	}
	line = xasprintf("rollback %lld pvebot-%lld", (long long)j.target_vmid,
	    (long long)j.id);
	job_release(&j);
	chat_answer(rt->conn, rt->ev, line);
	if (cmd_parse(rt->app->catalogue, line, &opts, &call, &cause) ==
	    CMD_PARSE_OK) {
		route_call(rt, &call);
		cmd_call_release(&call);
	} else {
		reply_text(rt, cause != NULL ? cause : "cannot roll back");
		commit_note(rt, NULL, NULL);
	}
	free(cause);
	free(line);
}

/* Alert buttons are the `ack` and `silence` commands: same action. */
static int
alert_allowed(struct route *rt)
{
	struct policy_request	 preq;
	struct policy_decision	 d;

	memset(&preq, 0, sizeof preq);
	preq.user = rt->ev->user;
	preq.action = "alert.silence";
	preq.room = rt->room;
	preq.now = rt->now;
	policy_decide(rt->app->policy, &preq, &d);
	return d.effect == POLICY_ALLOW;
}

static void
route_button(struct route *rt)
{
	const char	*data = rt->ev->button_data != NULL ?
	    rt->ev->button_data : "";
	char		*answer = NULL, *end;
	int64_t		 id;

	if (store_begin(rt->store) != 0) {
		chat_answer(rt->conn, rt->ev, "pvebot is busy; press again");
		return;
	}
	if (str_has_prefix(data, "ap:") || str_has_prefix(data, "dn:")) {
		id = strtoll(data + 3, &end, 10);
		if (id <= 0 || *end != ':' || strlen(end + 1) != 32) {
			audit_append(rt->store, rt->ev->user, "approval",
			    "verdict=refused why=malformed button");
			answer = xstrdup("this button is not valid (forged or "
			    "outdated)");
		} else
			answer = decide(rt, id, end + 1, data[0] == 'd', NULL);
	} else if ((str_has_prefix(data, "ack:") ||
	    str_has_prefix(data, "sil:")) && !alert_allowed(rt)) {
		audit_append(rt->store, rt->ev->user, "button",
		    "verdict=refused why=role may not silence alerts");
		answer = xstrdup("your role may not acknowledge or silence "
		    "alerts");
	} else if (monitor_button(rt->store, rt->ev->user, data, rt->now,
	    &answer)) {
		/* ack:ID or sil:ID:DUR, audited by the monitor. */
	} else if (str_has_prefix(data, "rb:")) {
		/* Decided outside this transaction, as a new command. */
		store_rollback(rt->store);
		roll_back_offer(rt, data + 3);
		return;
	} else {
		char	*t = audit_text(data), *detail;

		detail = xasprintf("unknown button data=%s", t);
		audit_append(rt->store, rt->ev->user, "button", detail);
		free(detail);
		free(t);
		answer = xstrdup("this button is not known to pvebot");
	}
	save_offset(rt);
	if (store_commit(rt->store) != 0) {
		drop_deferred(rt);
		free(answer);
		answer = xstrdup("pvebot could not save that; press again");
	}
	/* Answer first so the button stops spinning, then edit. */
	chat_answer(rt->conn, rt->ev, answer);
	free(answer);
}

/* ---- the simple builtins ---- */

int
bi_help(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	char	*cause = NULL;
	char	*text = cmd_help(rt->app->catalogue,
	    cmd_call_value(call, call->def->nargs > 0 ?
	    call->def->args[0].name : "command"), &cause);

	buf_puts(out, text != NULL ? text : cause);
	free(text);
	free(cause);
	return 0;
}

int
bi_whoami(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	char	*text = policy_whoami(rt->app->policy, rt->ev->user,
	    rt->ev->direct);

	buf_printf(out, "you are %s in room %s\n", rt->ev->user, rt->room);
	buf_puts(out, text);
	free(text);
	return 0;
}

char *
router_explain(struct app *app, const char *user, const char *room,
    const char *line, int64_t now)
{
	struct cmd_parse_opts	 opts = { .bot_name = NULL, .direct = 1,
	    .addressed = 1, .now = now };
	struct cmd_call		 call;
	struct request		 req;
	char			*cause = NULL, *text, *out;

	if (cmd_parse(app->catalogue, line, &opts, &call, &cause) !=
	    CMD_PARSE_OK) {
		out = xasprintf("cannot explain: %s", cause != NULL ? cause :
		    "not a command");
		free(cause);
		return out;
	}
	if (request_prepare(app->pve, &call, user, room, now, &req,
	    &cause) != 0) {
		out = xasprintf("cannot explain: %s", cause);
		free(cause);
		cmd_call_release(&call);
		return out;
	}
	text = policy_explain(app->policy, &req.preq);
	out = xasprintf("%s\n%s", call.canonical, text);
	free(text);
	request_release(&req);
	cmd_call_release(&call);
	return out;
}

int
bi_explain(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	const char	*line = cmd_call_value(call, "command");
	char		*text;

	if (line == NULL) {
		buf_puts(out, "usage: explain COMMAND...");
		return 0;
	}
	text = router_explain(rt->app, rt->ev->user, rt->room, line, rt->now);
	buf_puts(out, text);
	free(text);
	return 0;
}

int
bi_jobs(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	char	*text = jobs_format_list(rt->store, 15, NULL);

	buf_puts(out, text);
	free(text);
	return 0;
}

int
bi_job(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	int64_t	 id = arg_id(call, "id");
	char	*text = jobs_format_one(rt->store, id);

	if (text == NULL)
		buf_printf(out, "there is no job #%" PRId64, id);
	else
		buf_puts(out, text);
	free(text);
	return 0;
}

int
bi_cancel(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	int64_t		 id = arg_id(call, "id");
	struct job	 j;
	char		*cause = NULL;
	int		 may;

	if (jobs_get(rt->store, id, &j) != 0) {
		buf_printf(out, "there is no job #%" PRId64, id);
		return 0;
	}
	/* The requester, or anyone who could have approved it. */
	may = strcmp(j.requester, rt->ev->user) == 0 ||
	    policy_may_approve(rt->app->policy, rt->ev->user, j.action);
	if (!may) {
		buf_printf(out, "job #%" PRId64 " is not yours, and your role "
		    "may not approve %s, so you cannot cancel it", id,
		    j.action);
	} else if (j.state == JOB_QUEUED || j.state == JOB_AWAITING_APPROVAL) {
		if (jobs_transition(rt->store, id, j.state, JOB_CANCELLED,
		    rt->ev->user, NULL, "cancelled", &cause) != 0)
			buf_printf(out, "%s", cause);
		else {
			char	*title = xasprintf("Job #%" PRId64 ": %s", id,
			    j.command);
			char	*text = xasprintf("cancelled by %s",
			    rt->ev->user);

			buf_printf(out, "job #%" PRId64 " cancelled", id);
			if (j.msg_ref != NULL)
				defer(rt, j.connector, j.room, j.msg_ref, title,
				    text);
			free(title);
			free(text);
		}
	} else if (j.state == JOB_RUNNING) {
		jobs_set_int(rt->store, id, "cancel_requested", 1);
		buf_printf(out, "job #%" PRId64 " is running; stopping its "
		    "task", id);
	} else
		buf_printf(out, "job #%" PRId64 " is already %s", id,
		    job_state_name(j.state));
	free(cause);
	job_release(&j);
	return 0;
}

/* ---- alerts and silences (state shared with the monitor) ---- */

int
bi_alerts(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	sqlite3_stmt	*st;
	int		 n = 0;
	char		 since[32];

	st = store_prepare(rt->store, "SELECT id, rule, target, state, "
	    "severity, COALESCE(fired_at, pending_since, 0), acked_by, "
	    "summary FROM alerts WHERE state IN ('pending', 'firing', "
	    "'flapping') ORDER BY id");
	if (st != NULL) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			format_duration(rt->now - sqlite3_column_int64(st, 5),
			    since, sizeof since);
			buf_printf(out, "#%lld %s %s %s on %s for %s%s%s\n",
			    (long long)sqlite3_column_int64(st, 0),
			    sqlite3_column_text(st, 4),
			    sqlite3_column_text(st, 3),
			    sqlite3_column_text(st, 1),
			    sqlite3_column_text(st, 2), since,
			    sqlite3_column_type(st, 6) != SQLITE_NULL ?
			    ", acked by " : "",
			    sqlite3_column_type(st, 6) != SQLITE_NULL ?
			    (const char *)sqlite3_column_text(st, 6) : "");
			n++;
		}
		sqlite3_finalize(st);
	}
	if (n == 0)
		buf_puts(out, "no alerts firing\n");
	n = 0;
	st = store_prepare(rt->store, "SELECT id, matcher, ends_at, "
	    "created_by, COALESCE(reason, '') FROM silences WHERE ends_at > ?1"
	    " AND ended_by IS NULL ORDER BY id");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, rt->now);
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (n++ == 0)
				buf_puts(out, "silences:\n");
			format_duration(sqlite3_column_int64(st, 2) - rt->now,
			    since, sizeof since);
			buf_printf(out, "  silence %lld: %s for %s more, by %s"
			    "%s%s\n", (long long)sqlite3_column_int64(st, 0),
			    sqlite3_column_text(st, 1), since,
			    sqlite3_column_text(st, 3),
			    *sqlite3_column_text(st, 4) ? ": " : "",
			    sqlite3_column_text(st, 4));
		}
		sqlite3_finalize(st);
	}
	return 0;
}

struct announcement {
	struct route	*rt;
	const char	*text;
};

static void
announce_in(void *arg, struct connector *c, const char *room)
{
	struct announcement	*a = arg;

	defer(a->rt, c->ops->name, room, NULL, NULL, a->text);
}

/* Posts text to every alert room, after the transaction commits. */
static void
post_alert_rooms(struct route *rt, const char *text)
{
	struct announcement	 a = { rt, text };

	mon_alert_rooms(rt->app, announce_in, &a);
}

int
bi_silence(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	const char	*matcher = cmd_call_value(call, "matcher");
	const char	*dur = cmd_call_value(call, "duration");
	const char	*reason = cmd_call_value(call, "reason");
	sqlite3_stmt	*st;
	int64_t		 secs = 0;
	char		*cause = NULL, *notice = NULL, buf[32];

	if (matcher == NULL || dur == NULL ||
	    parse_duration(dur, &secs, &cause) != 0) {
		buf_printf(out, "%s", cause != NULL ? cause :
		    "usage: silence MATCHER DURATION [reason]");
		free(cause);
		return 0;
	}
	if (mon_silence_check(rt->app->conf->monitor.max_silence, matcher,
	    secs, rt->ev->user, reason, rt->now, &cause, &notice) != 0) {
		buf_puts(out, cause);
		free(cause);
		return 0;
	}
	st = store_prepare(rt->store, "INSERT INTO silences (matcher, "
	    "created_by, reason, starts_at, ends_at, created_at) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?4)");
	if (st == NULL) {
		free(notice);
		return -1;
	}
	sqlite3_bind_text(st, 1, matcher, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rt->ev->user, -1, SQLITE_STATIC);
	if (reason != NULL)
		sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int64(st, 4, rt->now);
	sqlite3_bind_int64(st, 5, rt->now + secs);
	if (sqlite3_step(st) == SQLITE_DONE) {
		int64_t	 id = sqlite3_last_insert_rowid(store_db(rt->store));
		char	*detail = xasprintf("silence=%" PRId64 " matcher=%s "
		    "for=%s", id, matcher, dur);

		audit_append(rt->store, rt->ev->user, "silence.create",
		    detail);
		free(detail);
		buf_printf(out, "silence %" PRId64 ": %s for %s", id, matcher,
		    format_duration(secs, buf, sizeof buf));
		if (notice != NULL) {
			post_alert_rooms(rt, notice);
			buf_puts(out, " (announced in the alert rooms)");
		}
	}
	sqlite3_finalize(st);
	free(notice);
	return 0;
}

int
bi_unsilence(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	int64_t		 id = arg_id(call, "id");
	sqlite3_stmt	*st;

	st = store_prepare(rt->store, "UPDATE silences SET ended_by = ?1, "
	    "ends_at = MIN(ends_at, ?2) WHERE id = ?3 AND ended_by IS NULL "
	    "AND ends_at > ?2");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, rt->ev->user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, rt->now);
	sqlite3_bind_int64(st, 3, id);
	sqlite3_step(st);
	sqlite3_finalize(st);
	if (sqlite3_changes(store_db(rt->store)) == 1) {
		char	*detail = xasprintf("silence=%" PRId64, id);

		audit_append(rt->store, rt->ev->user, "silence.end", detail);
		free(detail);
		buf_printf(out, "silence %" PRId64 " ended", id);
	} else
		buf_printf(out, "there is no active silence %" PRId64, id);
	return 0;
}

int
bi_ack(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	char	*data = xasprintf("ack:%" PRId64, arg_id(call, "id"));
	char	*answer = NULL;

	if (!monitor_button(rt->store, rt->ev->user, data, rt->now, &answer))
		buf_puts(out, "alerts are not available");
	else
		buf_puts(out, answer != NULL ? answer : "");
	free(answer);
	free(data);
	return 0;
}

/* ---- expiry ---- */

static void
expire_approvals(struct router *r)
{
	int64_t		*ids = NULL, now = wall_now();
	size_t		 n = 0, i;

	if (jobs_ids_expired(r->store, now, &ids, &n) != 0 || n == 0) {
		free(ids);
		return;
	}
	for (i = 0; i < n; i++) {
		struct job		 j;
		struct connector	*c;
		char			*title, *text, *tell;

		if (jobs_get(r->store, ids[i], &j) != 0)
			continue;
		if (jobs_transition(r->store, j.id, JOB_AWAITING_APPROVAL,
		    JOB_EXPIRED, "pvebot", NULL, "nobody approved in time",
		    NULL) == 0 && (c = app_connector(r->app, j.connector))
		    != NULL) {
			struct chat_msg	 m;

			title = xasprintf("Job #%" PRId64 ": %s", j.id,
			    j.command);
			text = xstrdup("expired: nobody approved it in time");
			m = (struct chat_msg){ .title = title, .text = text };
			chat_deliver(c, j.room, j.approval_ref, &m, NULL, 5000);
			tell = xasprintf("%s: your job #%" PRId64 " (%s) expired "
			    "without approval; nothing was done", j.requester,
			    j.id, j.command);
			m = (struct chat_msg){ .text = tell };
			chat_deliver(c, j.room, NULL, &m, NULL, 5000);
			free(title);
			free(text);
			free(tell);
		}
		job_release(&j);
	}
	free(ids);
}

/* ---- the thread ---- */

static void
route(struct router *r, struct chat_event *ev)
{
	struct route	 rt;

	memset(&rt, 0, sizeof rt);
	rt.app = r->app;
	rt.store = r->store;
	rt.ev = ev;
	rt.now = wall_now();
	rt.conn = app_connector(r->app, ev->connector);
	snprintf(rt.room, sizeof rt.room, "%s:%s", ev->connector,
	    ev->room != NULL ? ev->room : "");
	if (ev->kind == CHAT_EV_OFFSET || rt.conn == NULL ||
	    ev->user == NULL || ev->room == NULL) {
		commit_note(&rt, NULL, NULL);
		return;
	}
	if (ev->kind == CHAT_EV_NOTICE) {
		reply_text(&rt, ev->text != NULL ? ev->text : "");
		return;
	}
	pthread_rwlock_rdlock(&r->app->rules_lock);
	if (ev->kind == CHAT_EV_BUTTON)
		route_button(&rt);
	else
		route_message(&rt);
	pthread_rwlock_unlock(&r->app->rules_lock);
	run_deferred(&rt);
	if (rt.held_job != 0) {
		jobs_set_int(r->store, rt.held_job, "ready", 1);
		if (r->app->workers != NULL)
			workers_kick(r->app->workers);
	}
}

static void *
router_thread(void *arg)
{
	struct router	*r = arg;
	int64_t		 tick = r->app->tick_ms > 0 ? r->app->tick_ms : 1000;
	int64_t		 next_tick = now_ms() + tick;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct chat_event	*ev;

		while (r->len == 0 && !r->stop && now_ms() < next_tick) {
			struct timespec	 ts;
			int64_t		 wake = wall_now_ms() +
			    (next_tick - now_ms());

			ts.tv_sec = wake / 1000;
			ts.tv_nsec = (wake % 1000) * 1000000;
			pthread_cond_timedwait(&r->cond, &r->lock, &ts);
		}
		if (r->len == 0 && r->stop)
			break;
		if (r->len == 0) {
			r->busy = 1;
			pthread_mutex_unlock(&r->lock);
			expire_approvals(r);
			next_tick = now_ms() + tick;
			pthread_mutex_lock(&r->lock);
			r->busy = 0;
			pthread_cond_broadcast(&r->idle);
			continue;
		}
		ev = r->queue[r->head];
		r->head = (r->head + 1) % ROUTER_QUEUE_MAX;
		r->len--;
		r->busy = 1;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
		route(r, ev);
		chat_event_free(ev);
		pthread_mutex_lock(&r->lock);
		r->busy = 0;
		pthread_cond_broadcast(&r->idle);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

struct router *
router_create(struct app *app, char **cause)
{
	struct router	*r = xcalloc(1, sizeof *r);

	r->app = app;
	if ((r->store = store_open(app->conf->database, cause)) == NULL) {
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	pthread_cond_init(&r->idle, NULL);
	return r;
}

int
router_start(struct router *r, char **cause)
{
	if (pthread_create(&r->thread, NULL, router_thread, r) != 0)
		return set_cause(cause, "cannot start the router thread");
	r->started = 1;
	return 0;
}

void
router_submit(void *arg, struct chat_event *ev)
{
	struct router	*r = arg;

	pthread_mutex_lock(&r->lock);
	/* Back-pressure: a full queue makes the connector wait. */
	while (r->len == ROUTER_QUEUE_MAX && !r->stop)
		pthread_cond_wait(&r->cond, &r->lock);
	if (r->stop) {
		pthread_mutex_unlock(&r->lock);
		chat_event_free(ev);
		return;
	}
	r->queue[(r->head + r->len) % ROUTER_QUEUE_MAX] = ev;
	r->len++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void
router_drain(struct router *r)
{
	pthread_mutex_lock(&r->lock);
	while (r->len > 0 || r->busy)
		pthread_cond_wait(&r->idle, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

void
router_stop(struct router *r)
{
	if (r == NULL || !r->started)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	r->started = 0;
}

void
router_free(struct router *r)
{
	if (r == NULL)
		return;
	router_stop(r);
	while (r->len > 0) {
		chat_event_free(r->queue[r->head]);
		r->head = (r->head + 1) % ROUTER_QUEUE_MAX;
		r->len--;
	}
	store_close(r->store);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	pthread_cond_destroy(&r->idle);
	free(r);
}
