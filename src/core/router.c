/*
 * router.c - the one path every chat event takes: stale check, rate
 * limits, parse, guest lookup in memory, policy decision, job, reply.
 *
 * Connectors hand events to router_submit(); one router thread handles
 * them in order. It never touches the network: guests are resolved from
 * the in-memory guest index (a lookup the index cannot answer becomes a
 * job in state `resolving` that a worker finishes), and every reply,
 * approval request and edit is a row in the durable outbox that the
 * connector's sender delivers. All the work an event produces (a job,
 * an approval, a silence, the audit rows, the outgoing messages) is
 * written in ONE SQLite transaction together with the connector's
 * offset, so a crash keeps all of it or none, and the platform
 * redelivers what was not kept: nothing is lost, nothing runs twice.
 * The connector learns the offset is saved only after the commit. A
 * database that another process holds is waited for as long as it
 * takes; a transaction that fails for any other reason is tried a few
 * times, then given up (logged) so one bad event cannot stop the flow.
 *
 * Rate limits come first (after the stale check): a person and a room
 * have token buckets, an unknown person gets at most one answer per
 * room per window, and a refusal is answered and audited once per
 * window. Approvals by button are never throttled.
 *
 * Commands that only touch pvebot's own state (help, whoami, explain,
 * jobs, approve, deny, cancel, alerts, silence) are answered here; the
 * rest become jobs for the workers, reads included. A timer expires
 * approvals that nobody decided in time.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "builtin.h"
#include "chat.h"
#include "cmd.h"
#include "conf.h"
#include "guest_index.h"
#include "core_int.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "outbox.h"
#include "policy.h"
#include "prov.h"
#include "ratelimit.h"
#include "request.h"
#include "schedule.h"
#include "store.h"
#include "store_router.h"
#include "store_silences.h"
#include "util.h"

/* Back-pressure, not a drop: a full queue makes the connector wait. */
#define ROUTER_QUEUE_MAX	4096
/*
 * A transaction that fails is tried again this often, then given up. A
 * database that another process holds is waited for instead, however
 * long (see route()).
 */
#define ROUTER_COMMIT_TRIES	5

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
	_Atomic int64_t		 heartbeat_ms;	/* now_ms(), last turn */
	/* Owned by the router thread. */
	struct ratelimit	*per_user;
	struct ratelimit	*per_room;
	struct ratelimit	*strangers;	/* unknown people, per room */
	struct ratelimit	*unserved;	/* audit rows for unserved rooms */
};

/* One event being handled: everything it writes is one transaction. */
struct route {
	struct app		*app;
	struct router		*router;
	struct store		*store;
	const struct policy	*policy;
	const struct catalogue	*catalogue;
	struct chat_event	*ev;
	char			 room[512];	/* connector:room */
	int64_t			 now;
	int			 kick;		/* a job was queued */
};

/* ---- output: rows in the outbox, in the route's transaction ---- */

static int64_t
reply_msg(struct route *rt, const char *title, const char *text,
    const struct chat_button *buttons, size_t nbuttons, const char *label)
{
	struct chat_msg	 m = { .title = title, .text = text,
	    .buttons = buttons, .nbuttons = nbuttons };

	return outbox_reply(rt->store, rt->ev, &m, label);
}

static void
reply_text(struct route *rt, const char *text)
{
	reply_msg(rt, NULL, text, NULL, 0, NULL);
}

static void
answer(struct route *rt, const char *text)
{
	outbox_answer(rt->store, rt->ev, text);
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

static void
audit(struct route *rt, const char *event, const char *detail)
{
	audit_append(rt->store, rt->ev->user != NULL ? rt->ev->user : "?",
	    event, detail);
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

static char *
guest_label_of(const char *name, const char *node)
{
	if (name == NULL || *name == '\0')
		return xstrdup("");
	return xasprintf(" (%s on %s)", name, node != NULL ? node : "?");
}

/* ---- approval messages ---- */

static void
approval_buttons(const struct job *j, struct chat_button b[2],
    char ap[80], char dn[80])
{
	snprintf(ap, 80, "ap:%" PRId64 ":%s", j->id, j->nonce);
	snprintf(dn, 80, "dn:%" PRId64 ":%s", j->id, j->nonce);
	b[0] = (struct chat_button){ "Approve", ap, "\xe2\x9c\x85",
	    CHAT_BUTTON_SUCCESS };
	b[1] = (struct chat_button){ "Deny", dn, "\xe2\x9d\x8c",
	    CHAT_BUTTON_DANGER };
}

/*
 * The name a message shows for a person: the policy's name for them,
 * else the platform's display name, else the identity. The identity
 * itself is for the audit log.
 */
static const char *
who_name(const struct policy *pol, const char *identity, const char *display,
    char *buf, size_t len)
{
	if (pol != NULL && policy_person(pol, identity, buf, len) == 0 &&
	    *buf != '\0')
		return buf;
	if (display != NULL && *display != '\0')
		return display;
	return identity;
}

/* The command as typed, without a trailing " -- reason" shown apart. */
static char *
command_shown(const struct job *j)
{
	size_t	 cl = strlen(j->command), rl;

	if (j->reason != NULL && (rl = strlen(j->reason)) + 4 <= cl &&
	    strcmp(j->command + cl - rl, j->reason) == 0 &&
	    strncmp(j->command + cl - rl - 4, " -- ", 4) == 0)
		return xstrndup(j->command, cl - rl - 4);
	return xstrdup(j->command);
}

/*
 * The approval request of job j, whole, with `status` (may be NULL) as
 * its last line: every update keeps who asked, for what guest, by which
 * rule, who approved so far and how long it waits.
 */
static void
approval_text(struct store *s, const struct job *j, int64_t now,
    const char *status, char **title, char **text)
{
	struct buf	 b;
	char		 exp[32], *label, *cmd, *names, *plan;
	const char	*p;
	int		 have = 0;

	label = guest_label_of(j->target_name, j->target_node);
	cmd = command_shown(j);
	names = jobs_approver_names(s, j->id);
	for (p = names; *p != '\0'; p++)
		have += *p == ',';
	if (*names != '\0')
		have++;
	buf_init(&b, 64 << 10);
	buf_printf(&b, "%s%s\nrequested by %s", cmd, label,
	    j->display != NULL && *j->display ? j->display : j->requester);
	if (j->reason != NULL)
		buf_printf(&b, "\nreason: %s", j->reason);
	buf_printf(&b, "\nrule: %s\napprovers: %s; %d of %d approval%s",
	    j->rule != NULL ? j->rule : "?", j->approver_roles != NULL ?
	    j->approver_roles : "", have, j->approvals_needed,
	    j->approvals_needed == 1 ? "" : "s");
	if (have > 0)
		buf_printf(&b, " (by %s)", names);
	if (j->expires_at > now)
		buf_printf(&b, "; expires in %s", format_duration(j->expires_at -
		    now, exp, sizeof exp));
	else
		buf_puts(&b, "; expired");
	if (j->plan != NULL) {
		/* What it will do, read before the request (prune's list). */
		json_t		*pj = json_loads(j->plan, 0, NULL);
		const char	*pt = json_string_value(json_object_get(pj,
				    "text"));

		if (pt != NULL)
			buf_printf(&b, "\n%s", pt);
		json_decref(pj);
	}
	if ((plan = prov_plan_text(s, j->id)) != NULL)
		buf_printf(&b, "\n%s", plan);
	free(plan);
	if (status != NULL)
		buf_printf(&b, "\n%s", status);
	*title = xasprintf("Approval needed: job #%" PRId64, j->id);
	*text = buf_steal(&b);
	free(names);
	free(cmd);
	free(label);
}

/* A new message to the job's requester, who is mentioned (notified). */
static void
tell_requester(struct store *s, const struct job *j, const char *room_conn,
    const char *room, const char *text)
{
	struct chat_msg	 m = { .text = text, .mention = j->requester,
	    .mention_name = j->display };

	outbox_send(s, room_conn != NULL ? room_conn : j->connector,
	    room != NULL ? room : j->room, &m, NULL);
}

/* ---- admission: a resolved request becomes a job, or is refused ---- */

/*
 * What a request is admitted with. The router fills `ev` (replies go
 * under the event); a worker finishing a `resolving` job fills `job`
 * (its message is edited instead).
 */
struct admit {
	struct app		*app;
	struct store		*store;
	const struct cmd_call	*call;
	const struct request	*req;
	const struct chat_event	*ev;
	struct job		*job;
	const char		*user;
	const char		*display;
	const char		*connector;
	const char		*room;
	const char		*room_key;	/* connector:room */
	const struct guest_view	*view;		/* to validate against */
	const char		*site;		/* whose cluster: the job's */
	const struct policy	*policy;
	int			 direct;	/* asked in a private chat */
	char			 rule[256];	/* "file:line (name)" */
	char			 name[64];	/* the requester's name */
	int64_t			 now;
	int			 kick;		/* out: a job was queued */
	char			*expected;	/* owned: the guest's status
						 * the job expects */
};

/* A message for the request: a reply (router) or its job's message. */
static int64_t
admit_say(struct admit *a, const char *title, const char *text,
    const struct chat_button *b, size_t nb, const char *label)
{
	struct chat_msg	 m = { .title = title, .text = text, .buttons = b,
	    .nbuttons = nb };

	if (a->job != NULL && a->job->msg_id > 0) {
		outbox_edit(a->store, a->job->msg_id, &m);
		return a->job->msg_id;
	}
	if (a->ev != NULL)
		return outbox_reply(a->store, a->ev, &m, label);
	return outbox_send(a->store, a->connector, a->room, &m, label);
}

static void
admit_refuse(struct admit *a, const char *decision, const char *rule,
    const char *msg)
{
	char	*text = audit_text(a->call->canonical), *detail, *title;
	char	*cause = NULL;

	metric_inc(M_COMMANDS, "refused");
	if (a->job != NULL) {
		detail = xasprintf("room=%s job=%" PRId64 " command=%s "
		    "decision=%s rule=%s", a->room_key, a->job->id, text,
		    decision, rule);
		audit_append(a->store, a->user, "command.refused", detail);
		if (jobs_transition(a->store, a->job->id, JOB_RESOLVING,
		    JOB_REFUSED, "pvebot", NULL, msg, &cause) != 0) {
			log_warn("router", "job=%" PRId64 " not refused: %s",
			    a->job->id, cause);
			free(cause);
		}
		title = xasprintf("Job #%" PRId64 ": %s", a->job->id,
		    a->call->canonical);
		admit_say(a, title, msg, NULL, 0, NULL);
		free(title);
	} else {
		detail = xasprintf("room=%s command=%s decision=%s rule=%s",
		    a->room_key, text, decision, rule);
		audit_append(a->store, a->user, "command.refused", detail);
		admit_say(a, NULL, msg, NULL, 0, NULL);
	}
	free(detail);
	free(text);
}

/* Fills the job fields a decision and the resolved guest give. */
static void
admit_fill(struct admit *a, const struct policy_decision *d,
    struct job *j, char nonce[33])
{
	const struct request	*req = a->req;

	snprintf(a->rule, sizeof a->rule, "%s%s%s%s", d->rule,
	    d->rule_name[0] ? " (" : "", d->rule_name,
	    d->rule_name[0] ? ")" : "");
	j->rule = a->rule;
	j->reason = (char *)req->reason;
	j->heavy = a->call->def->heavy;
	if (req->have_guest) {
		j->target_vmid = req->guest.vmid;
		j->target_name = req->guest.name;
		j->target_node = req->guest.node;
		j->target_type = req->guest.type;
		/* After the requester's own earlier jobs on it, not now. */
		a->expected = jobs_expected_status(a->store, a->user,
		    req->guest.vmid, req->guest.status);
		j->target_status = a->expected;
	}
	if (!a->call->mutating) {
		/* Reads never wait behind actions on the same guest. */
		j->target_vmid = 0;
		j->heavy = 0;
	}
	if (d->effect == POLICY_REQUIRE_APPROVAL) {
		random_hex(nonce, 16);
		j->nonce = nonce;
		j->approvals_needed = d->approvals > 0 ? d->approvals : 1;
		j->approver_roles = (char *)d->approver_roles;
		j->self_approve = d->self_approve;
		j->expires_at = a->now + (d->expiry > 0 ? d->expiry : 900);
	}
	j->snapshot_before = d->snapshot_before;
}

/*
 * Where approvers are, for a request made in a private chat: a room
 * marked `approvals: true`, else one that takes alerts, on the request's
 * platform first, then on any other one that runs. 1 with the room when
 * it is not the request's own chat.
 */
static int
approval_room(struct admit *a, const char **conn, const char **room)
{
	const struct conf	*c = a->app->conf;
	struct {
		const char		*name;
		const struct conf_room	*rooms;
		size_t			 n;
	} plats[] = {
		{ "telegram", c->chat.telegram.chats, c->chat.telegram.nchats },
		{ "matrix", c->chat.matrix.rooms, c->chat.matrix.nrooms },
		{ "discord", c->chat.discord.channels,
		    c->chat.discord.nchannels },
	};
	size_t			 pass, k, p, i;

	for (pass = 0; pass < 2; pass++) {
		for (k = 0; k < 2; k++) {	/* own platform, then others */
			for (p = 0; p < nitems(plats); p++) {
				if ((strcmp(plats[p].name, a->connector) == 0)
				    != (k == 0) || app_connector(a->app,
				    plats[p].name) == NULL)
					continue;
				for (i = 0; i < plats[p].n; i++) {
					const struct conf_room	*r =
					    &plats[p].rooms[i];

					if (!(pass == 0 ? r->approvals :
					    r->alerts) || (strcmp(plats[p].name,
					    a->connector) == 0 &&
					    strcmp(r->id, a->room) == 0))
						continue;
					*conn = plats[p].name;
					*room = r->id;
					return 1;
				}
			}
		}
	}
	return 0;
}

/*
 * The running guests of node without the safe-shutdown tag, which a safe
 * shutdown refuses to touch: NULL when there are none, else the refusal
 * naming them (caller frees). The worker checks again when it runs.
 */
static char *
node_blockers(const struct guest_view *view, const char *node)
{
	const struct pve_guest	*g;
	struct buf		 b;
	size_t			 i, n = 0;
	char			*text;

	buf_init(&b, 8192);
	for (i = 0; i < guest_view_count(view); i++) {
		g = guest_view_at(view, i);
		if (strcmp(g->node, node) != 0 || g->status == NULL ||
		    (strcmp(g->status, "running") != 0 &&
		    strcmp(g->status, "paused") != 0) ||
		    pve_guest_has_tag(g, "safe-shutdown"))
			continue;
		buf_printf(&b, "%s%d %s", n++ > 0 ? ", " : "", g->vmid,
		    g->name);
	}
	text = n == 0 ? NULL : xasprintf("%zu running guest%s on %s lack%s "
	    "the safe-shutdown tag: %s; shut them down first, tag them, or "
	    "ask for `shutdown-node %s force`", n, n == 1 ? "" : "s", node,
	    n == 1 ? "s" : "", buf_cstr(&b), node);
	buf_release(&b);
	return text;
}

/*
 * What the cluster says of the request before anyone is asked to approve
 * it: the target node exists (and is not the guest's own for a
 * migration), a new VMID is free and would not be untouchable, a storage
 * exists where the guest is, an unlock has a lock to remove. Nothing is
 * said when the guest index does not know (the dispatch check still
 * runs). Returns NULL when fine, else why not (caller frees).
 */
static char *
admit_validate(struct admit *a)
{
	const struct cmd_call	*call = a->call;
	const struct request	*req = a->req;
	const struct pve_guest	*g;
	const char		*v, *node = req->have_guest ? req->guest.node :
	    NULL, *errstr;
	const char		*action = call->action != NULL ? call->action :
	    call->def->action;
	char			*text;
	size_t			 i;
	int			 online = 1;
	long long		 vmid;

	if (a->view == NULL || !call->mutating)
		return NULL;
	if (strcmp(call->action != NULL ? call->action : call->def->action,
	    "guest.unlock") == 0 && req->have_guest && req->guest.lock == NULL)
		return xasprintf("guest %d is not locked: there is nothing to "
		    "unlock", req->guest.vmid);
	for (i = 0; i < call->def->nargs; i++) {
		if ((v = call->values[i]) == NULL)
			continue;
		switch (call->def->args[i].type) {
		case ARG_NODE:
			switch (guest_view_node(a->view, v, &online)) {
			case 0:
				return xasprintf("there is no node %s in the "
				    "cluster", v);
			case 1:
				/* Waking is for a node that is off. */
				if (strcmp(action, "node.wake") == 0) {
					if (online)
						return xasprintf("node %s is "
						    "online: there is nothing "
						    "to wake", v);
					break;
				}
				if (!online)
					return xasprintf("node %s is offline",
					    v);
				break;
			default:
				break;
			}
			if (strcmp(action, "node.shutdown") == 0 &&
			    (text = node_blockers(a->view, v)) != NULL)
				return text;
			if (strcmp(call->def->name, "migrate") == 0 &&
			    node != NULL && strcmp(node, v) == 0)
				return xasprintf("guest %d is already on %s",
				    req->guest.vmid, v);
			break;
		case ARG_VMID:
			vmid = strtonum(v, 100, 999999999, &errstr);
			if (errstr != NULL)
				break;
			/* A forced restore overwrites that guest. */
			if ((g = guest_view_vmid(a->view, (int)vmid)) != NULL &&
			    strcmp(action, "backup.restore.force") == 0)
				break;
			if (g != NULL)
				return xasprintf("VMID %lld is in use by %s (%s "
				    "on %s)%s", vmid, g->name, g->type, g->node,
				    strcmp(action, "backup.restore") == 0 ?
				    "; add `force` to restore over it" : "");
			{
				/* A guest nobody could ever start is no use. */
				struct policy_target	 t = { .vmid = (int)vmid,
				    .node = node };
				struct policy_request	 pr = { .user = a->user,
				    .action = "guest.start", .mutating = 1,
				    .target = &t, .room = a->room_key,
				    .now = a->now };
				struct policy_decision	 d;

				policy_decide(a->policy, &pr, &d);
				if (d.effect == POLICY_PROHIBIT ||
				    d.effect == POLICY_SELF_PROTECT)
					return xasprintf("a guest with VMID %lld "
					    "could never be started from here "
					    "(rule %s: %s); choose another VMID",
					    vmid, d.rule, d.why);
			}
			break;
		case ARG_STORAGE:
			if (guest_view_storage(a->view, node, v) == 0)
				return xasprintf("there is no storage %s%s%s",
				    v, node != NULL ? " on node " : "",
				    node != NULL ? node : "");
			break;
		default:
			break;
		}
	}
	return NULL;
}

/*
 * Records the decision on a resolved request: a refusal, a queued job,
 * or a job awaiting approval with its request message. Runs inside the
 * caller's transaction; returns -1 when the store refused a write (the
 * caller rolls back).
 */
static int
admit_record(struct admit *a, const struct policy_decision *d)
{
	struct job		 j;
	struct chat_button	 b[2];
	char			 nonce[33], ap[80], dn[80], *cause = NULL;
	char			*title, *text, *msg, *label, *detail, *cmd;
	char			*args = NULL;
	json_t			*aj;
	enum job_state		 state;
	int			 rc = 0;

	if (d->effect == POLICY_DENY || d->effect == POLICY_PROHIBIT ||
	    d->effect == POLICY_SELF_PROTECT) {
		msg = xasprintf("%s: %s (rule %s)", effect_word(d->effect),
		    d->why, d->rule);
		admit_refuse(a, policy_effect_name(d->effect), d->rule, msg);
		free(msg);
		return 0;
	}
	if (d->effect == POLICY_REQUIRE_APPROVAL && d->reason_required &&
	    a->req->reason == NULL) {
		msg = xasprintf("%s needs a reason: add it at the end of the "
		    "command (rule %s)", a->call->def->name, d->rule);
		admit_refuse(a, "need_reason", d->rule, msg);
		free(msg);
		return 0;
	}
	if ((msg = admit_validate(a)) != NULL) {
		/* Impossible as asked: nobody is asked to approve it. */
		cmd = audit_text(a->call->canonical);
		detail = xasprintf("room=%s command=%s error=%s", a->room_key,
		    cmd, msg);
		audit_append(a->store, a->user, "command.invalid", detail);
		free(detail);
		free(cmd);
		if (a->job != NULL) {
			title = xasprintf("Job #%" PRId64 ": %s", a->job->id,
			    a->call->canonical);
			jobs_transition(a->store, a->job->id, JOB_RESOLVING,
			    JOB_FAILED, "pvebot", NULL, msg, NULL);
			admit_say(a, title, msg, NULL, 0, NULL);
			free(title);
		} else
			admit_say(a, NULL, msg, NULL, 0, NULL);
		free(msg);
		return 0;
	}
	state = d->effect == POLICY_ALLOW ? JOB_QUEUED : JOB_AWAITING_APPROVAL;
	cmd = audit_text(a->call->canonical);
	if (a->job != NULL) {
		struct job	*rj = a->job;
		struct job	 fill = *rj;

		admit_fill(a, d, &fill, nonce);
		if (jobs_set_decision(a->store, &fill) != 0 ||
		    jobs_transition(a->store, rj->id, JOB_RESOLVING, state,
		    "pvebot", NULL, NULL, &cause) != 0) {
			log_error("router", "job=%" PRId64 " not admitted: %s",
			    rj->id, cause != NULL ? cause : "?");
			free(cause);
			free(cmd);
			return -1;
		}
		j = fill;
		j.state = state;
	} else {
		memset(&j, 0, sizeof j);
		j.state = state;
		j.command = a->call->canonical;
		j.cmd_name = a->call->def->name;
		j.action = (char *)a->req->preq.action;
		j.requester = (char *)a->user;
		j.display = (char *)a->display;
		j.connector = (char *)a->connector;
		j.room = (char *)a->room;
		j.kind = a->call->mutating ? "action" : "read";
		j.site = (char *)a->site;
		aj = args_json(a->call);
		args = json_dumps(aj, JSON_COMPACT);
		json_decref(aj);
		j.args = args;
		admit_fill(a, d, &j, nonce);
		rc = jobs_insert(a->store, &j, &cause);
		j.args = NULL;
		free(args);
		if (rc != 0) {
			log_error("router", "job not stored: %s", cause);
			free(cause);
			free(cmd);
			return -1;
		}
	}
	detail = xasprintf("room=%s job=%" PRId64 " command=%s decision=%s "
	    "rule=%s", a->room_key, j.id, cmd, policy_effect_name(d->effect),
	    d->rule);
	audit_append(a->store, a->user, "command", detail);
	metric_inc(M_COMMANDS, state == JOB_AWAITING_APPROVAL ? "approval" :
	    "allowed");
	free(detail);
	free(cmd);
	label = xasprintf("job #%" PRId64, j.id);
	if (state == JOB_AWAITING_APPROVAL) {
		const char	*aconn = NULL, *aroom = NULL;

		approval_text(a->store, &j, a->now, NULL, &title, &text);
		approval_buttons(&j, b, ap, dn);
		if (a->direct && strcmp(a->connector, "console") != 0 &&
		    approval_room(a, &aconn, &aroom)) {
			/*
			 * Asked where the approvers are; the approval is
			 * bound to that room. The requester's own chat keeps
			 * the job's message, which says where it waits.
			 */
			struct chat_msg	 m = { .title = title, .text = text,
			    .buttons = b, .nbuttons = 2 };
			char		*where, *key;

			j.approval_msg_id = outbox_send(a->store, aconn, aroom,
			    &m, label);
			key = xasprintf("%s:%s", aconn, aroom);
			jobs_set_text(a->store, j.id, "approval_room", key);
			free(title);
			free(text);
			text = NULL;
			title = xasprintf("Job #%" PRId64 ": %s", j.id,
			    a->call->canonical);
			where = xasprintf("waits for approval by %s; the request "
			    "is in %s", j.approver_roles, key);
			j.msg_id = admit_say(a, title, where, NULL, 0, label);
			free(where);
			free(key);
		} else {
			j.approval_msg_id = admit_say(a, title, text, b, 2,
			    label);
			j.msg_id = j.approval_msg_id;
		}
		free(title);
		free(text);
	} else {
		char	*glabel = guest_label_of(j.target_name,
			    j.target_node);

		title = xasprintf("Job #%" PRId64 ": %s%s", j.id,
		    a->call->canonical, glabel);
		j.approval_msg_id = 0;
		j.msg_id = admit_say(a, title, a->call->mutating ? "queued" :
		    "working...", NULL, 0, label);
		free(title);
		free(glabel);
		a->kick = 1;
	}
	if (j.approval_msg_id > 0)
		jobs_set_int(a->store, j.id, "approval_msg_id",
		    j.approval_msg_id);
	if (j.msg_id <= 0 || jobs_set_int(a->store, j.id, "msg_id",
	    j.msg_id) != 0)
		rc = -1;
	free(label);
	return rc;
}

/*
 * A request the policy would let run or put to an approver, whose
 * built-in has a plan to read from Proxmox first (prune's dry run): it
 * becomes a resolving job, so the approver sees the plan. Anything the
 * router can refuse now (a reason missing, an impossible request) is
 * left to admit_record().
 */
static int
admit_needs_plan(struct admit *a, const struct policy_decision *d)
{
	char	*msg;

	if (a->call->def->exec != CMD_EXEC_BUILTIN ||
	    builtin_plan(a->call->def->builtin) == NULL)
		return 0;
	if (d->effect != POLICY_ALLOW && d->effect != POLICY_REQUIRE_APPROVAL)
		return 0;
	if (d->effect == POLICY_REQUIRE_APPROVAL && d->reason_required &&
	    a->req->reason == NULL)
		return 0;
	if ((msg = admit_validate(a)) != NULL) {
		free(msg);
		return 0;
	}
	return 1;
}

/*
 * A request whose guest the index could not look up, or whose plan a
 * worker reads first: a job in state `resolving` with its message; a
 * worker finishes it.
 */
static int
admit_later(struct admit *a)
{
	struct job	 j;
	char		*cause = NULL, *title, *text, *label, *detail, *cmd;
	const char	*guest = NULL;
	json_t		*aj;
	size_t		 i;
	int		 rc;

	for (i = 0; i < a->call->def->nargs; i++) {
		if (a->call->def->args[i].type == ARG_GUEST &&
		    a->call->values[i] != NULL) {
			guest = a->call->values[i];
			break;
		}
	}
	memset(&j, 0, sizeof j);
	j.state = JOB_RESOLVING;
	j.command = a->call->canonical;
	j.cmd_name = a->call->def->name;
	j.action = (char *)a->req->preq.action;
	j.requester = (char *)a->user;
	j.display = (char *)a->display;
	j.connector = (char *)a->connector;
	j.room = (char *)a->room;
	j.reason = (char *)a->req->reason;
	j.kind = a->call->mutating ? "action" : "read";
	j.site = (char *)a->site;
	aj = args_json(a->call);
	j.args = json_dumps(aj, JSON_COMPACT);
	json_decref(aj);
	rc = jobs_insert(a->store, &j, &cause);
	free(j.args);
	j.args = NULL;
	if (rc != 0) {
		log_error("router", "job not stored: %s", cause);
		free(cause);
		return -1;
	}
	cmd = audit_text(a->call->canonical);
	detail = xasprintf("room=%s job=%" PRId64 " command=%s "
	    "decision=lookup", a->room_key, j.id, cmd);
	audit_append(a->store, a->user, "command", detail);
	metric_inc(M_COMMANDS, "lookup");
	free(detail);
	free(cmd);
	title = xasprintf("Job #%" PRId64 ": %s", j.id, a->call->canonical);
	text = xasprintf("looking up %s in the cluster...",
	    guest != NULL ? guest : "the guest");
	label = xasprintf("job #%" PRId64, j.id);
	j.msg_id = admit_say(a, title, text, NULL, 0, label);
	free(title);
	free(text);
	free(label);
	a->kick = 1;
	return jobs_set_int(a->store, j.id, "msg_id", j.msg_id);
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
	text = audit_text(call->canonical);
	detail = xasprintf("room=%s command=%s decision=allow rule=%s",
	    rt->room, text, d->rule);
	audit(rt, "command", detail);
	metric_inc(M_COMMANDS, "allowed");
	free(detail);
	free(text);
	if (b != NULL && b->local != NULL)
		b->local(rt, call, &out);
	if (out.len > 0)
		reply_text(rt, out.data);
	buf_release(&out);
}

/*
 * A provisioning command (clone-to, replicate): a worker reserves what
 * it will create before the decision, so it goes the lookup's way.
 */
static int
needs_plan(const struct cmd_call *call)
{
	return call->def->exec == CMD_EXEC_BUILTIN &&
	    prov_has_plan(call->def->builtin);
}

static struct request_guests
guests_of(struct app *app, const struct guest_view *view)
{
	struct request_guests	 rg;

	rg.proxmox = app->pve != NULL;
	rg.view = view;
	rg.max_age_ms = app->conf->proxmox.index_max_age * 1000;
	return rg;
}

static int
route_call(struct route *rt, struct cmd_call *call)
{
	struct app		*app = rt->app;
	const char		*site = app_room_site(app, rt->ev->connector,
	    rt->ev->room);
	const struct guest_view	*view = NULL;
	struct request_guests	 rg;
	struct request		 req;
	struct policy_decision	 d;
	struct admit		 a;
	char			*cause = NULL, *detail, *text;
	int			 prep, rc = 0;

	/*
	 * A room of another site: its cluster is not the one this index
	 * knows (the same VMIDs may name other guests there), so its guests
	 * are looked up by a worker of that site.
	 */
	if (site == NULL || strcmp(site, app_site(app)) == 0)
		view = guest_index_get(app->guests);
	rg = guests_of(app, view);

	prep = request_prepare(&rg, call, rt->ev->user, rt->room, rt->now,
	    &req, &cause);
	if (prep == REQUEST_ERROR) {
		text = audit_text(call->canonical);
		detail = xasprintf("room=%s command=%s error=%s", rt->room,
		    text, cause);
		audit(rt, "command.invalid", detail);
		metric_inc(M_COMMANDS, "invalid");
		reply_text(rt, cause);
		free(detail);
		free(text);
		free(cause);
		guest_view_release(view);
		return 0;
	}
	memset(&a, 0, sizeof a);
	a.app = app;
	a.store = rt->store;
	a.call = call;
	a.req = &req;
	a.ev = rt->ev;
	a.user = rt->ev->user;
	a.display = who_name(rt->policy, rt->ev->user, rt->ev->display,
	    a.name, sizeof a.name);
	a.direct = rt->ev->direct;
	a.connector = rt->ev->connector;
	a.room = rt->ev->room;
	a.room_key = rt->room;
	a.view = view;
	a.site = site;
	a.policy = rt->policy;
	a.now = rt->now;
	if (prep == REQUEST_LOOKUP || needs_plan(call)) {
		/*
		 * Only a person the policy knows gets a lookup: anyone else
		 * is refused now, whatever the guest turns out to be.
		 */
		char	 who[64];
		int	 refused = 0;

		/* A plan only for what the policy may let run. */
		if (prep == REQUEST_OK) {
			policy_decide(rt->policy, &req.preq, &d);
			refused = d.effect != POLICY_ALLOW &&
			    d.effect != POLICY_REQUIRE_APPROVAL;
		}
		if (refused || policy_person(rt->policy, rt->ev->user, who,
		    sizeof who) != 0 || *who == '\0') {
			policy_decide(rt->policy, &req.preq, &d);
			rc = admit_record(&a, &d);
		} else
			rc = admit_later(&a);
		rt->kick |= a.kick;
		free(a.expected);
		request_release(&req);
		guest_view_release(view);
		return rc;
	}
	policy_decide(rt->policy, &req.preq, &d);
	if (d.effect == POLICY_ALLOW && call->def->exec == CMD_EXEC_BUILTIN &&
	    router_is_local_builtin(call->def->builtin))
		run_local_builtin(rt, call, &d);
	else if (admit_needs_plan(&a, &d)) {
		/* A worker reads the plan; the request shows it. */
		rc = admit_later(&a);
		rt->kick |= a.kick;
	} else {
		rc = admit_record(&a, &d);
		rt->kick |= a.kick;
	}
	free(a.expected);
	request_release(&req);
	guest_view_release(view);
	return rc;
}

/* Is the person someone the policy knows? */
static int
known_person(struct route *rt)
{
	char	 who[64];

	return policy_person(rt->policy, rt->ev->user, who, sizeof who) == 0 &&
	    *who != '\0';
}

/*
 * The rate limits, before any costly work. Returns 1 when the command
 * may go on; 0 when it is refused (answered and audited at most once per
 * window).
 */
static int
rate_ok(struct route *rt, const char *cmd_name)
{
	struct router	*r = rt->router;
	int64_t		 now = now_ms();
	int		 first = 0, ok;
	char		*msg, *detail, win[32];

	/* Approvers must be able to act: approve and deny are free. */
	if (cmd_name != NULL && (strcmp(cmd_name, "approve") == 0 ||
	    strcmp(cmd_name, "deny") == 0))
		return 1;
	format_duration(rt->app->conf->chat.rate_limit.window, win,
	    sizeof win);
	if (!known_person(rt)) {
		/* One answer per room per window for people nobody knows. */
		if (ratelimit_take(r->strangers, rt->room, now, &first))
			return 1;
		if (first) {
			detail = xasprintf("room=%s limit=unknown_person "
			    "window=%s", rt->room, win);
			audit(rt, "ratelimit", detail);
			free(detail);
		}
		return 0;
	}
	ok = ratelimit_take(r->per_user, rt->ev->user, now, &first);
	if (ok && !(ok = ratelimit_take(r->per_room, rt->room, now, &first))) {
		if (first) {
			detail = xasprintf("room=%s limit=room window=%s",
			    rt->room, win);
			audit(rt, "ratelimit", detail);
			free(detail);
			msg = xasprintf("Too many commands in this room: "
			    "at most %d per %s. Commands are ignored until "
			    "then.", rt->app->conf->chat.rate_limit.per_room,
			    win);
			reply_text(rt, msg);
			free(msg);
		}
		return 0;
	}
	if (!ok && first) {
		detail = xasprintf("room=%s limit=user window=%s", rt->room,
		    win);
		audit(rt, "ratelimit", detail);
		free(detail);
		msg = xasprintf("Too many commands: at most %d per %s (%d at "
		    "once). Further commands are ignored for now; nothing "
		    "of them runs.", rt->app->conf->chat.rate_limit.per_user,
		    win, rt->app->conf->chat.rate_limit.user_burst);
		reply_text(rt, msg);
		free(msg);
	}
	return ok;
}

static int
route_message(struct route *rt)
{
	struct app		*app = rt->app;
	struct chat_event	*ev = rt->ev;
	struct cmd_parse_opts	 opts;
	struct cmd_call		 call;
	enum cmd_parse_result	 pr;
	char			*cause = NULL, *detail, *text;
	int			 rc;

	if (ev->text == NULL)
		return 0;
	if (chat_is_stale(app->conf, ev->sent_at, rt->now)) {
		char	 age[32], limit[32], *msg;

		format_duration(rt->now - ev->sent_at, age, sizeof age);
		format_duration(app->conf->chat.max_command_age, limit,
		    sizeof limit);
		text = audit_text(ev->text);
		detail = xasprintf("room=%s text=%s age=%s", rt->room, text,
		    age);
		audit(rt, "command.late", detail);
		metric_inc(M_COMMANDS, "late");
		msg = xasprintf("\"%s\" arrived late (sent %s ago; commands "
		    "older than %s are not run, e.g. after pvebot was down). "
		    "Nothing was done: send it again if you still want it.",
		    text, age, limit);
		reply_text(rt, msg);
		free(msg);
		free(detail);
		free(text);
		return 0;
	}
	memset(&opts, 0, sizeof opts);
	opts.bot_name = app->conf->chat.bot_name;
	opts.direct = ev->direct;
	opts.addressed = ev->addressed;
	opts.now = rt->now;
	pr = cmd_parse(rt->catalogue, ev->text, &opts, &call, &cause);
	if (pr == CMD_PARSE_IGNORE)
		return 0;
	if (!rate_ok(rt, pr == CMD_PARSE_OK ? call.def->name : NULL)) {
		metric_inc(M_COMMANDS, "rate_limited");
		if (pr == CMD_PARSE_OK)
			cmd_call_release(&call);
		free(cause);
		return 0;
	}
	if (pr == CMD_PARSE_ERROR) {
		text = audit_text(ev->text);
		detail = xasprintf("room=%s text=%s error=%s", rt->room, text,
		    cause != NULL ? cause : "?");
		audit(rt, "command.invalid", detail);
		metric_inc(M_COMMANDS, "invalid");
		reply_text(rt, cause != NULL ? cause : "that is not a command");
		free(detail);
		free(text);
		free(cause);
		return 0;
	}
	rc = route_call(rt, &call);
	cmd_call_release(&call);
	return rc;
}

/* ---- approvals ---- */

static void
job_edit(struct route *rt, const struct job *j, int64_t msg_id,
    const char *title, const char *text, const struct chat_button *b,
    size_t nb)
{
	struct chat_msg	 m = { .title = title, .text = text, .buttons = b,
	    .nbuttons = nb };

	if (msg_id > 0)
		outbox_edit(rt->store, msg_id, &m);
	else
		outbox_send(rt->store, j->connector, j->room, &m, NULL);
}

/*
 * One approve or deny attempt, by button (nonce given) or by text.
 * Runs inside the router's transaction; refusals leave the job as it
 * was. The approval request keeps its whole context through every
 * update; the requester is told (mentioned) when it is decided. Returns
 * the sentence for the presser.
 */
static char *
decide(struct route *rt, int64_t id, const char *nonce, int deny,
    const char *reason)
{
	struct approval_state	 st;
	struct job		 j;
	enum approval_verdict	 v;
	struct chat_button	 b[2];
	char			**who = NULL, why[256], jroom[512], *detail;
	char			*cause = NULL, *title = NULL, *text = NULL;
	char			*status = NULL, *names, *tell, ap[80], dn[80];
	char			 nbuf[64];
	const char		*me;
	size_t			 n = 0;
	int64_t			 ask_id;

	if (jobs_get(rt->store, id, &j) != 0) {
		detail = xasprintf("job=%" PRId64 " verdict=refused why=no "
		    "such job", id);
		audit(rt, "approval", detail);
		free(detail);
		return xasprintf("there is no job #%" PRId64, id);
	}
	ask_id = j.approval_msg_id > 0 ? j.approval_msg_id : j.msg_id;
	me = who_name(rt->policy, rt->ev->user, rt->ev->display, nbuf,
	    sizeof nbuf);
	jobs_approvers(rt->store, id, &who, &n);
	/* Bound to the room the request was posted in. */
	if (j.approval_room != NULL)
		snprintf(jroom, sizeof jroom, "%s", j.approval_room);
	else
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
	v = policy_check_approval(rt->policy, &st, rt->ev->user, rt->room,
	    nonce, deny, rt->now, why, sizeof why);
	detail = xasprintf("job=%" PRId64 " verdict=%s via=%s why=%s", id,
	    approval_verdict_name(v), nonce != NULL ? "button" : "text", why);
	audit(rt, "approval", detail);
	metric_inc(M_APPROVALS, approval_verdict_name(v));
	free(detail);
	switch (v) {
	case APPROVAL_REFUSED:
		break;
	case APPROVAL_RECORDED:
		jobs_add_approval(rt->store, id, rt->ev->user, me, "approve");
		status = xasprintf("approved by %s; waiting for another "
		    "approver", me);
		approval_text(rt->store, &j, rt->now, status, &title, &text);
		/* Keep the buttons: more approvers must press them. */
		approval_buttons(&j, b, ap, dn);
		job_edit(rt, &j, ask_id, title, text, b, 2);
		break;
	case APPROVAL_COMPLETE:
		jobs_add_approval(rt->store, id, rt->ev->user, me, "approve");
		if (jobs_transition(rt->store, id, JOB_AWAITING_APPROVAL,
		    JOB_QUEUED, rt->ev->user, NULL, NULL, &cause) != 0) {
			snprintf(why, sizeof why, "%s", cause);
			free(cause);
			break;
		}
		names = jobs_approver_names(rt->store, id);
		status = xasprintf("approved by %s; queued", names);
		if (ask_id != j.msg_id && j.msg_id > 0) {
			/* The request elsewhere keeps its context... */
			approval_text(rt->store, &j, rt->now, status, &title,
			    &text);
			job_edit(rt, &j, ask_id, title, text, NULL, 0);
			free(title);
			free(text);
		}
		/* ...the job's own message goes on with its progress. */
		title = xasprintf("Job #%" PRId64 ": %s", id, j.command);
		text = xstrdup(status);
		job_edit(rt, &j, j.msg_id > 0 ? j.msg_id : ask_id, title, text,
		    NULL, 0);
		if (strcmp(rt->ev->user, j.requester) != 0) {
			tell = xasprintf("your job #%" PRId64 " (%s) was "
			    "approved by %s; it runs now", id, j.command,
			    names);
			tell_requester(rt->store, &j, NULL, NULL, tell);
			free(tell);
		}
		free(names);
		rt->kick = 1;
		break;
	case APPROVAL_DENIED:
		jobs_add_approval(rt->store, id, rt->ev->user, me, "deny");
		if (jobs_transition(rt->store, id, JOB_AWAITING_APPROVAL,
		    JOB_DENIED, rt->ev->user, NULL, reason, &cause) != 0) {
			snprintf(why, sizeof why, "%s", cause);
			free(cause);
			break;
		}
		status = xasprintf("denied by %s%s%s", me, reason != NULL ?
		    ": " : "", reason != NULL ? reason : "");
		approval_text(rt->store, &j, rt->now, status, &title, &text);
		job_edit(rt, &j, ask_id, title, text, NULL, 0);
		if (ask_id != j.msg_id && j.msg_id > 0) {
			free(title);
			free(text);
			title = xasprintf("Job #%" PRId64 ": %s", id,
			    j.command);
			text = xstrdup(status);
			job_edit(rt, &j, j.msg_id, title, text, NULL, 0);
		}
		if (strcmp(rt->ev->user, j.requester) != 0) {
			tell = xasprintf("your job #%" PRId64 " (%s) was %s",
			    id, j.command, status);
			tell_requester(rt->store, &j, NULL, NULL, tell);
			free(tell);
		}
		break;
	}
	free(status);
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

/*
 * `approve` / `deny` without a number: the one job awaiting approval in
 * this room. 0 (and *out says why) when there is none or several.
 */
static int64_t
only_pending_here(struct route *rt, struct buf *out)
{
	int64_t	*ids = NULL, id = 0;
	size_t	 n = 0, i;

	jobs_awaiting_in_room(rt->store, rt->ev->connector, rt->ev->room,
	    &ids, &n);
	if (n == 1)
		id = ids[0];
	else if (n == 0)
		buf_puts(out, "nothing waits for approval in this room");
	else {
		buf_puts(out, "several jobs wait for approval here:");
		for (i = 0; i < n; i++)
			buf_printf(out, " #%" PRId64, ids[i]);
		buf_puts(out, "; say which, e.g. approve N");
	}
	free(ids);
	return id;
}

int
bi_approve(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	int64_t	 id = arg_id(call, "id");
	char	*why;

	if (id == 0 && (id = only_pending_here(rt, out)) == 0)
		return 0;
	why = decide(rt, id, NULL, 0, NULL);
	buf_puts(out, why);
	free(why);
	return 0;
}

int
bi_deny(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	int64_t	 id = arg_id(call, "id");
	char	*why;

	if (id == 0 && (id = only_pending_here(rt, out)) == 0)
		return 0;
	why = decide(rt, id, NULL, 1, cmd_call_value(call, "reason"));
	buf_puts(out, why);
	free(why);
	return 0;
}

/*
 * The Roll back button of a job whose safety snapshot was taken: the
 * presser asks for `rollback VMID pvebot-ID`, which goes through the
 * policy like any other command.
 */
static int
roll_back_offer(struct route *rt, const char *id_s)
{
	struct cmd_parse_opts	 opts = { .direct = 1, .addressed = 1,
	    .now = rt->now };
	struct cmd_call		 call;
	struct job		 j;
	const char		*errstr;
	char			*line, *cause = NULL;
	int64_t			 id = strtonum(id_s, 1, INT64_MAX, &errstr);
	int			 rc = 0;

	if (errstr != NULL || jobs_get(rt->store, id, &j) != 0) {
		answer(rt, "this button is not valid");
		audit(rt, "button", "verdict=refused why=bad roll back");
		return 0;
	}
	if (!j.snapshot_before || j.target_vmid == 0 ||
	    j.state != JOB_FAILED) {
		answer(rt, "that job has no safety snapshot to go back to");
		audit(rt, "button", "verdict=refused why=no snapshot");
		job_release(&j);
		return 0;
	}
	line = xasprintf("rollback %lld pvebot-%lld", (long long)j.target_vmid,
	    (long long)j.id);
	job_release(&j);
	answer(rt, line);
	if (cmd_parse(rt->catalogue, line, &opts, &call, &cause) ==
	    CMD_PARSE_OK) {
		rc = route_call(rt, &call);
		cmd_call_release(&call);
	} else
		reply_text(rt, cause != NULL ? cause : "cannot roll back");
	free(cause);
	free(line);
	return rc;
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
	policy_decide(rt->policy, &preq, &d);
	return d.effect == POLICY_ALLOW;
}

static int
route_button(struct route *rt)
{
	const char	*data = rt->ev->button_data != NULL ?
	    rt->ev->button_data : "";
	char		*ans = NULL, *end;
	int64_t		 id;

	if (str_has_prefix(data, "ap:") || str_has_prefix(data, "dn:")) {
		id = strtoll(data + 3, &end, 10);
		if (id <= 0 || *end != ':' || strlen(end + 1) != 32) {
			audit(rt, "approval", "verdict=refused why=malformed "
			    "button");
			ans = xstrdup("this button is not valid (forged or "
			    "outdated)");
		} else
			ans = decide(rt, id, end + 1, data[0] == 'd', NULL);
	} else if ((str_has_prefix(data, "ack:") ||
	    str_has_prefix(data, "sil:")) && !alert_allowed(rt)) {
		audit(rt, "button", "verdict=refused why=role may not silence "
		    "alerts");
		ans = xstrdup("your role may not acknowledge or silence "
		    "alerts");
	} else if (monitor_button(rt->store, rt->ev->user, data, rt->now,
	    &ans)) {
		/* ack:ID or sil:ID:DUR, audited by the monitor. */
	} else if (str_has_prefix(data, "rb:"))
		return roll_back_offer(rt, data + 3);
	else {
		char	*t = audit_text(data), *detail;

		detail = xasprintf("unknown button data=%s", t);
		audit(rt, "button", detail);
		free(detail);
		free(t);
		ans = xstrdup("this button is not known to pvebot");
	}
	answer(rt, ans);
	free(ans);
	return 0;
}

/* An update the connector could not handle: audited, maybe answered. */
static int
route_skipped(struct route *rt)
{
	char	*t = audit_text(rt->ev->text);

	audit(rt, "chat.skipped", t);
	free(t);
	if (rt->ev->answer != NULL && rt->ev->room != NULL)
		reply_text(rt, rt->ev->answer);
	return 0;
}

/* ---- the simple builtins ---- */

int
bi_help(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	char	*cause = NULL;
	char	*text = cmd_help(rt->catalogue,
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
	char	*text = policy_whoami(rt->policy, rt->ev->user,
	    rt->ev->direct);

	buf_printf(out, "you are %s in room %s\n", rt->ev->user, rt->room);
	buf_puts(out, text);
	free(text);
	if (rt->app->leader != NULL)	/* read-only once started */
		buf_printf(out, "%spvebot instance %s (site %s), the leader, "
		    "epoch %lld\n", out->len > 0 && out->data[out->len - 1] !=
		    '\n' ? "\n" : "", rt->app->instance,
		    rt->app->conf->instance.site, (long long)rt->app->epoch);
	return 0;
}

static char *
explain_with(struct app *app, const struct catalogue *cat,
    const struct policy *pol, const struct guest_view *view,
    const char *user, const char *room, const char *line, int64_t now)
{
	struct cmd_parse_opts	 opts = { .bot_name = NULL, .direct = 1,
	    .addressed = 1, .now = now };
	struct request_guests	 rg = guests_of(app, view);
	struct cmd_call		 call;
	struct request		 req;
	char			*cause = NULL, *text, *out;
	int			 prep;

	if (cmd_parse(cat, line, &opts, &call, &cause) != CMD_PARSE_OK) {
		out = xasprintf("cannot explain: %s", cause != NULL ? cause :
		    "not a command");
		free(cause);
		return out;
	}
	rg.max_age_ms = 0;	/* an explanation may use an older list */
	prep = request_prepare(&rg, &call, user, room, now, &req, &cause);
	if (prep == REQUEST_ERROR) {
		out = xasprintf("cannot explain: %s", cause);
		free(cause);
		cmd_call_release(&call);
		return out;
	}
	text = policy_explain(pol, &req.preq);
	out = xasprintf("%s\n%s%s", call.canonical, prep == REQUEST_LOOKUP ?
	    "(the guest list is not known yet: rules that depend on the "
	    "guest are not applied)\n" : "", text);
	free(text);
	request_release(&req);
	cmd_call_release(&call);
	return out;
}

char *
router_explain(struct app *app, const char *user, const char *room,
    const char *line, int64_t now)
{
	const struct guest_view	*view = guest_index_get(app->guests);
	char			*out;

	out = explain_with(app, app->catalogue, app->policy, view, user, room,
	    line, now);
	guest_view_release(view);
	return out;
}

int
bi_explain(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	const struct guest_view	*view;
	const char		*line = cmd_call_value(call, "command");
	char			*text;

	if (line == NULL) {
		buf_puts(out, "usage: explain COMMAND...");
		return 0;
	}
	view = guest_index_get(rt->app->guests);
	text = explain_with(rt->app, rt->catalogue, rt->policy, view,
	    rt->ev->user, rt->room, line, rt->now);
	guest_view_release(view);
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
	    policy_may_approve(rt->policy, rt->ev->user, j.action);
	if (!may) {
		buf_printf(out, "job #%" PRId64 " is not yours, and your role "
		    "may not approve %s, so you cannot cancel it", id,
		    j.action);
	} else if (j.state == JOB_QUEUED || j.state == JOB_AWAITING_APPROVAL ||
	    j.state == JOB_RESOLVING) {
		if (jobs_transition(rt->store, id, j.state, JOB_CANCELLED,
		    rt->ev->user, NULL, "cancelled", &cause) != 0)
			buf_printf(out, "%s", cause);
		else {
			char	*title = xasprintf("Job #%" PRId64 ": %s", id,
			    j.command);
			char	*text = xasprintf("cancelled by %s",
			    rt->ev->user);

			buf_printf(out, "job #%" PRId64 " cancelled", id);
			if (j.msg_id > 0)
				job_edit(rt, &j, j.msg_id, title, text, NULL,
				    0);
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
	struct router_alert	*al;
	struct silence_row	*si;
	size_t			 n, i;
	char			 since[32];

	router_alerts_open(rt->store, &al, &n);
	for (i = 0; i < n; i++) {
		format_duration(rt->now - al[i].since, since, sizeof since);
		buf_printf(out, "#%lld %s %s %s on %s for %s%s%s\n",
		    (long long)al[i].id, al[i].severity, al[i].state,
		    al[i].rule, al[i].target, since,
		    al[i].acked_by != NULL ? ", acked by " : "",
		    al[i].acked_by != NULL ? al[i].acked_by : "");
	}
	if (n == 0)
		buf_puts(out, "no alerts firing\n");
	router_alerts_free(al, n);
	silences_open(rt->store, rt->now, &si, &n);
	for (i = 0; i < n; i++) {
		if (i == 0)
			buf_puts(out, "silences:\n");
		format_duration(si[i].ends_at - rt->now, since, sizeof since);
		buf_printf(out, "  silence %lld: %s for %s more, by %s%s%s\n",
		    (long long)si[i].id, si[i].matcher, since,
		    si[i].created_by, *si[i].reason ? ": " : "",
		    si[i].reason);
	}
	silence_rows_free(si, n);
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
	struct chat_msg		 m = { .text = a->text };

	outbox_send(a->rt->store, c->ops->name, room, &m, NULL);
}

/* Posts text to every alert room, in the route's transaction. */
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
	int64_t		 secs = 0, id;
	char		*cause = NULL, *notice = NULL, *detail, buf[32];

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
	if (silence_add(rt->store, matcher, rt->ev->user, reason,
	    rt->now, rt->now + secs, &id) != 0) {
		free(notice);
		return -1;
	}
	detail = xasprintf("silence=%" PRId64 " matcher=%s for=%s", id,
	    matcher, dur);
	audit(rt, "silence.create", detail);
	free(detail);
	buf_printf(out, "silence %" PRId64 ": %s for %s", id, matcher,
	    format_duration(secs, buf, sizeof buf));
	if (notice != NULL) {
		post_alert_rooms(rt, notice);
		buf_puts(out, " (announced in the alert rooms)");
	}
	free(notice);
	return 0;
}

int
bi_unsilence(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	int64_t		 id = arg_id(call, "id");
	int		 rc;

	if ((rc = silence_end(rt->store, id, rt->ev->user,
	    rt->now)) < 0)
		return -1;
	if (rc == 1) {
		char	*detail = xasprintf("silence=%" PRId64, id);

		audit(rt, "silence.end", detail);
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
	char	*ans = NULL;

	if (!monitor_button(rt->store, rt->ev->user, data, rt->now, &ans))
		buf_puts(out, "alerts are not available");
	else
		buf_puts(out, ans != NULL ? ans : "");
	free(ans);
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
		struct job	 j;
		struct chat_msg	 m;
		char		*title, *text, *tell;
		int64_t		 ask_id;

		if (store_begin(r->store) != 0)
			break;
		if (jobs_get(r->store, ids[i], &j) != 0) {
			store_rollback(r->store);
			continue;
		}
		ask_id = j.approval_msg_id > 0 ? j.approval_msg_id : j.msg_id;
		if (jobs_transition(r->store, j.id, JOB_AWAITING_APPROVAL,
		    JOB_EXPIRED, "pvebot", NULL, "nobody approved in time",
		    NULL) == 0) {
			metric_inc(M_APPROVALS, "expired");
			approval_text(r->store, &j, now, "expired: nobody "
			    "approved it in time", &title, &text);
			m = (struct chat_msg){ .title = title, .text = text };
			if (ask_id > 0)
				outbox_edit(r->store, ask_id, &m);
			free(title);
			free(text);
			if (j.msg_id > 0 && j.msg_id != ask_id) {
				title = xasprintf("Job #%" PRId64 ": %s", j.id,
				    j.command);
				m = (struct chat_msg){ .title = title, .text =
				    "expired: nobody approved it in time" };
				outbox_edit(r->store, j.msg_id, &m);
				free(title);
			}
			tell = xasprintf("your job #%" PRId64 " (%s) expired "
			    "without approval; nothing was done", j.id,
			    j.command);
			tell_requester(r->store, &j, NULL, NULL, tell);
			free(tell);
		}
		if (store_commit(r->store) != 0)
			log_error("router", "expiry of job=%" PRId64 " not "
			    "saved", j.id);
		job_release(&j);
	}
	free(ids);
}

/* ---- the thread ---- */

/* Saves the event's offset; inside the route's transaction. */
static int
save_offset(struct route *rt)
{
	if (rt->ev->offset_key == NULL || rt->ev->offset == NULL)
		return 0;
	return store_offset_set(rt->store, rt->ev->offset_key, rt->ev->offset);
}

/* Handles the event inside the open transaction; -1 rolls back. */
static int
route_in_tx(struct route *rt)
{
	struct chat_event	*ev = rt->ev;

	int			 first;
	char			*detail;

	switch (ev->kind) {
	case CHAT_EV_OFFSET:
		return 0;
	case CHAT_EV_SKIPPED:
		return route_skipped(rt);
	case CHAT_EV_NOTICE:
		if (ev->room != NULL)
			reply_text(rt, ev->text != NULL ? ev->text : "");
		return 0;
	case CHAT_EV_UNSERVED:
		if (ev->user != NULL && ev->room != NULL && known_person(rt) &&
		    ratelimit_take(rt->router->unserved, rt->room, now_ms(),
		    &first)) {
			detail = xasprintf("room=%s not served (not in "
			    "bot.conf): the message was ignored", rt->room);
			audit(rt, "chat.unserved", detail);
			free(detail);
		}
		/* A hint (whoami): one per room and window, whoever asks. */
		if (ev->answer != NULL && ev->room != NULL &&
		    ratelimit_take(rt->router->strangers, rt->room, now_ms(),
		    &first))
			reply_text(rt, ev->answer);
		return 0;
	default:
		break;
	}
	if (ev->user == NULL || ev->room == NULL ||
	    app_connector(rt->app, ev->connector) == NULL)
		return 0;
	if (ev->kind == CHAT_EV_BUTTON)
		return route_button(rt);
	return route_message(rt);
}

static void
route(struct router *r, struct chat_event *ev)
{
	struct route	 rt;
	int		 tries, ok = 0;

	for (tries = 0; tries < ROUTER_COMMIT_TRIES && !ok; tries++) {
		if (tries > 0)
			sleep_ms(chat_backoff_ms(tries - 1, 200, 5000));
		memset(&rt, 0, sizeof rt);
		rt.app = r->app;
		rt.router = r;
		rt.store = r->store;
		rt.ev = ev;
		rt.now = wall_now();
		snprintf(rt.room, sizeof rt.room, "%s:%s", ev->connector,
		    ev->room != NULL ? ev->room : "");
		if (store_begin(r->store) != 0) {
			/*
			 * Someone else holds the database (a long manual
			 * transaction, a backup tool): wait as long as it
			 * takes. Giving up would tell the connector the
			 * event is dealt with, and Telegram would be told to
			 * forget an update that was never saved.
			 */
			if (store_busy(r->store) &&
			    !atomic_load(&r->app->stopping)) {
				if (tries == 0)
					log_warn("router", "database busy, "
					    "waiting connector=%s offset=%s",
					    ev->connector, ev->offset != NULL ?
					    ev->offset : "-");
				tries = 0;
			}
			continue;
		}
		pthread_rwlock_rdlock(&r->app->rules_lock);
		rt.policy = r->app->policy;
		rt.catalogue = r->app->catalogue;
		if (route_in_tx(&rt) != 0 || save_offset(&rt) != 0) {
			pthread_rwlock_unlock(&r->app->rules_lock);
			store_rollback(r->store);
			continue;
		}
		pthread_rwlock_unlock(&r->app->rules_lock);
		ok = store_commit(r->store) == 0;
	}
	if (!ok)
		log_error("router", "event not saved after %d tries "
		    "connector=%s room=%s offset=%s: the database refuses "
		    "writes", ROUTER_COMMIT_TRIES, ev->connector,
		    ev->room != NULL ? ev->room : "-",
		    ev->offset != NULL ? ev->offset : "-");
	if (ev->saved != NULL)
		ev->saved(ev->saved_arg, ev->offset, ok);
	if (ok && rt.kick && r->app->workers != NULL)
		workers_kick(r->app->workers);
}

static void *
router_thread(void *arg)
{
	struct router	*r = arg;
	int64_t		 tick = r->app->tick_ms > 0 ? r->app->tick_ms : 1000;
	int64_t		 next_tick = now_ms() + tick, events = 0;
	double		 events_cpu = 0, before;

	/* Seen in top -H and /proc/PID/task/TID/comm (make bench). */
	pthread_setname_np(pthread_self(), "pvebot-router");
	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct chat_event	*ev;

		atomic_store(&r->heartbeat_ms, now_ms());
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
			app_router_hold(r->app);	/* a test's wedge */
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
		before = thread_cpu_ms();
		route(r, ev);
		chat_event_free(ev);
		events_cpu += thread_cpu_ms() - before;
		events++;
		pthread_mutex_lock(&r->lock);
		r->busy = 0;
		pthread_cond_broadcast(&r->idle);
	}
	pthread_mutex_unlock(&r->lock);
	/* What the router's own clock spent on events (make bench). */
	log_info("router", "stopped events=%lld events_cpu_ms=%.3f",
	    (long long)events, events_cpu);
	return NULL;
}

struct router *
router_create(struct app *app, char **cause)
{
	struct router			*r = xcalloc(1, sizeof *r);
	const struct conf_rate_limit	*rl = &app->conf->chat.rate_limit;
	int64_t				 win = rl->window > 0 ?
	    rl->window * 1000 : 30000;

	r->app = app;
	if ((r->store = store_open(app->conf->database, cause)) == NULL) {
		free(r);
		return NULL;
	}
	r->per_user = ratelimit_create(rl->per_user > 0 ? rl->per_user : 10,
	    win, rl->user_burst > 0 ? rl->user_burst : 5);
	r->per_room = ratelimit_create(rl->per_room > 0 ? rl->per_room : 30,
	    win, rl->room_burst > 0 ? rl->room_burst : 15);
	r->strangers = ratelimit_create(1, win, 1);
	r->unserved = ratelimit_create(1, 86400 * 1000, 1);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	pthread_cond_init(&r->idle, NULL);
	atomic_init(&r->heartbeat_ms, now_ms());
	return r;
}

int
router_start(struct router *r, char **cause)
{
	atomic_store(&r->heartbeat_ms, now_ms());
	if (pthread_create(&r->thread, NULL, router_thread, r) != 0)
		return set_cause(cause, "cannot start the router thread");
	r->started = 1;
	return 0;
}

int64_t
router_heartbeat(struct router *r)
{
	return atomic_load(&r->heartbeat_ms);
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
		if (ev->saved != NULL)
			ev->saved(ev->saved_arg, ev->offset, 0);
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
		struct chat_event	*ev = r->queue[r->head];

		if (ev->saved != NULL)
			ev->saved(ev->saved_arg, ev->offset, 0);
		chat_event_free(ev);
		r->head = (r->head + 1) % ROUTER_QUEUE_MAX;
		r->len--;
	}
	ratelimit_free(r->per_user);
	ratelimit_free(r->per_room);
	ratelimit_free(r->strangers);
	ratelimit_free(r->unserved);
	store_close(r->store);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	pthread_cond_destroy(&r->idle);
	free(r);
}

/* ---- resolving jobs: the worker's half of admission ---- */

int
router_resolve_job(struct app *app, struct store *s, struct job *j,
    const struct catalogue *cat, const struct policy *pol,
    const struct guest_view *view, const char *lookup_error)
{
	struct cmd_parse_opts	 opts = { .bot_name = NULL, .direct = 1,
	    .addressed = 1, .now = j->created_at };
	struct request_guests	 rg = guests_of(app, view);
	struct cmd_call		 call;
	struct request		 req;
	struct policy_decision	 d;
	struct admit		 a;
	char			*cause = NULL, room[512], *msg;
	int			 prep, rc;

	rg.max_age_ms = 0;
	snprintf(room, sizeof room, "%s:%s", j->connector, j->room);
	memset(&a, 0, sizeof a);
	a.app = app;
	a.store = s;
	a.job = j;
	a.user = j->requester;
	a.display = j->display;
	a.connector = j->connector;
	a.room = j->room;
	a.room_key = room;
	a.view = view;
	a.site = j->site;
	a.policy = pol;
	a.now = wall_now();
	if (cmd_parse(cat, j->command, &opts, &call, &cause) != CMD_PARSE_OK) {
		msg = xasprintf("the command no longer parses (the catalogue "
		    "changed?): %s", cause != NULL ? cause : "");
		free(cause);
		rc = jobs_transition(s, j->id, JOB_RESOLVING, JOB_FAILED,
		    "pvebot", NULL, msg, NULL);
		free(msg);
		return rc;
	}
	a.call = &call;
	if (lookup_error != NULL)
		prep = REQUEST_LOOKUP;
	else
		prep = request_prepare(&rg, &call, j->requester, room, a.now,
		    &req, &cause);
	if (prep != REQUEST_OK) {
		struct chat_msg	 m;
		char		*title;

		msg = prep == REQUEST_ERROR ? xstrdup(cause) : xasprintf(
		    "cannot look up the guest: %s; nothing was done",
		    lookup_error != NULL ? lookup_error : "no guest list");
		free(cause);
		rc = jobs_transition(s, j->id, JOB_RESOLVING, JOB_FAILED,
		    "pvebot", NULL, msg, NULL);
		title = xasprintf("Job #%" PRId64 ": %s", j->id, j->command);
		m = (struct chat_msg){ .title = title, .text = msg };
		if (j->msg_id > 0)
			outbox_edit(s, j->msg_id, &m);
		free(title);
		free(msg);
		cmd_call_release(&call);
		return rc;
	}
	a.req = &req;
	policy_decide(pol, &req.preq, &d);
	rc = admit_record(&a, &d);
	free(a.expected);
	request_release(&req);
	cmd_call_release(&call);
	return rc;
}

/* ---- consent at dispatch: the policy asked again ---- */

static int
approvals_still_count(struct store *s, const struct policy *pol,
    const struct job *j, const struct policy_decision *d)
{
	char	**who = NULL;
	size_t	  n = 0, i;
	int	  ok = 0;

	jobs_approvers(s, j->id, &who, &n);
	for (i = 0; i < n; i++)
		ok += policy_approver_counts(pol, who[i], d->approver_roles,
		    j->action);
	jobs_free_list(who, n);
	return ok;
}

int
router_consent(struct app *app, struct store *s, const struct policy *pol,
    const struct job *j, const struct cmd_call *call,
    const struct guest_view *view, char **why)
{
	struct request_guests	 rg = guests_of(app, view);
	struct request		 req;
	struct policy_decision	 d;
	char			 room[512], *cause = NULL;
	int			 prep, rc = 0, need, have;

	rg.max_age_ms = 0;
	snprintf(room, sizeof room, "%s:%s", j->connector, j->room);
	prep = request_prepare(&rg, call, j->requester, room, wall_now(), &req,
	    &cause);
	if (prep == REQUEST_ERROR) {
		set_cause(why, "%s", cause);
		free(cause);
		return -1;
	}
	if (prep == REQUEST_LOOKUP) {
		request_release(&req);
		return set_cause(why, "the guest cannot be looked up now");
	}
	policy_decide(pol, &req.preq, &d);
	switch (d.effect) {
	case POLICY_DENY:
	case POLICY_PROHIBIT:
	case POLICY_SELF_PROTECT:
		rc = set_cause(why, "the policy now says %s: %s (rule %s)",
		    policy_effect_name(d.effect), d.why, d.rule);
		break;
	case POLICY_REQUIRE_APPROVAL:
		need = d.approvals > 0 ? d.approvals : 1;
		have = j->approvals_needed > 0 ? approvals_still_count(s, pol,
		    j, &d) : 0;
		if (j->approvals_needed == 0)
			rc = set_cause(why, "it now needs approval (rule %s): "
			    "send it again to ask for it", d.rule);
		else if (have < need)
			rc = set_cause(why, "the rules changed since it was "
			    "approved: it now needs %d approval%s by %s (rule "
			    "%s) and %d of those it had count", need, need == 1 ?
			    "" : "s", d.approver_roles, d.rule, have);
		else if (d.reason_required && req.reason == NULL)
			rc = set_cause(why, "it now needs a reason (rule %s)",
			    d.rule);
		break;
	default:
		break;
	}
	request_release(&req);
	return rc;
}

/* `schedules`: each schedule with its next and last run. */
int
bi_schedules(struct route *rt, const struct cmd_call *call, struct buf *out)
{
	schedules_format(rt->app->schedules, rt->store, rt->now, out);
	return 0;
}
