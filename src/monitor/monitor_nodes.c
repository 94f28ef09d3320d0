/*
 * monitor_nodes.c - what each node says about its upkeep, through the
 * API:
 *
 * - Certificates (monitor.certificates.interval):
 *   /nodes/{node}/certificates/info; days left until `notafter` are
 *   measured every cycle from the last read.
 * - Updates and kernels (monitor.updates.interval): pending packages
 *   from /nodes/{node}/apt/update (Sys.Modify on /nodes/{node}); the
 *   running kernel (RunningKernel of proxmox-ve) and the newest
 *   installed one (the proxmox-kernel-X-pve packages) from
 *   /nodes/{node}/apt/versions (Sys.Audit). A reboot is required when
 *   an installed kernel is newer than the running one.
 * - Security updates: the API does not say which updates are security
 *   fixes, but Debian's changelog does (the newest entry was uploaded to
 *   "trixie-security"). Each pending package version's changelog is read
 *   once (/nodes/{node}/apt/changelog) and remembered; at most
 *   CHANGELOGS_PER_CYCLE per cycle, so a node with 80 pending updates
 *   costs a few requests per cycle for a few minutes, then none. The
 *   security count is measured once every pending version was looked at.
 * - Replication (monitor.replication.interval): /nodes/{node}/replication
 *   lists the jobs whose guest runs there, with fail_count, error and
 *   last_sync.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "conf.h"
#include "exec_proxmox.h"
#include "jsonx.h"
#include "log.h"
#include "monitor_int.h"
#include "util.h"

#define CHANGELOGS_PER_CYCLE	4

static void
certs_free(struct mon_node *n)
{
	size_t	 i;

	for (i = 0; i < n->ncerts; i++) {
		free(n->certs[i].file);
		free(n->certs[i].subject);
	}
	free(n->certs);
	n->certs = NULL;
	n->ncerts = 0;
}

static void
pkgs_free(struct mon_node *n)
{
	size_t	 i;

	for (i = 0; i < n->npkgs; i++) {
		free(n->pkgs[i].name);
		free(n->pkgs[i].version);
	}
	free(n->pkgs);
	n->pkgs = NULL;
	n->npkgs = 0;
}

static void
repl_free(struct mon_node *n)
{
	size_t	 i;

	for (i = 0; i < n->nrepl; i++) {
		free(n->repl[i].id);
		free(n->repl[i].target);
		free(n->repl[i].error);
	}
	free(n->repl);
	n->repl = NULL;
	n->nrepl = 0;
}

void
mon_nodeinfo_release(struct mon_node *n)
{
	certs_free(n);
	pkgs_free(n);
	repl_free(n);
	free(n->running);
	free(n->installed);
	n->running = n->installed = NULL;
}

/* GET on a node's path; NULL (and the read marked failed) on error. */
static json_t *
node_get(struct monitor *m, struct mon_node *n, struct mon_read *r,
    const char *what, const char *suffix, int64_t now, int want_array)
{
	json_t	*data = NULL;
	char	*path = xasprintf("/nodes/%s/%s", n->name, suffix);
	char	*cause = NULL;

	if (pve_request(m->app->pve, "GET", path, NULL, 0, &data, &cause) !=
	    PVE_OK || (want_array && !json_is_array(data))) {
		mon_read_done(r, 0, now, what, n->name, cause != NULL ? cause :
		    "not a list");
		free(cause);
		free(path);
		json_decref(data);
		return NULL;
	}
	free(path);
	return data;
}

/* "CN=pve1.example.org" of "/OU=.../CN=pve1.example.org". */
static char *
subject_cn(const char *subject)
{
	const char	*cn = subject != NULL ? strstr(subject, "CN=") : NULL;
	size_t		 len;

	if (cn == NULL)
		return xstrdup(subject != NULL ? subject : "");
	len = strcspn(cn, "/,");
	return xstrndup(cn, len);
}

void
mon_poll_certs(struct monitor *m, struct mon_node *n, int64_t now)
{
	json_t		*data, *o;
	size_t		 i;

	if ((data = node_get(m, n, &n->certs_read, "certificates",
	    "certificates/info", now, 1)) == NULL)
		return;
	certs_free(n);
	n->certs = xreallocarray(NULL, json_array_size(data) + 1,
	    sizeof *n->certs);
	json_array_foreach(data, i, o) {
		const char	*file = jx_str(o, "filename", NULL);

		if (file == NULL || !json_is_integer(json_object_get(o,
		    "notafter")))
			continue;
		n->certs[n->ncerts].file = xstrdup(file);
		n->certs[n->ncerts].subject = subject_cn(jx_str(o, "subject",
		    NULL));
		n->certs[n->ncerts].notafter = jx_int(o, "notafter");
		n->ncerts++;
	}
	json_decref(data);
	mon_read_done(&n->certs_read, 1, now, "certificates", n->name, NULL);
}

/*
 * Compares kernel releases ("6.17.4-1-pve") number by number; > 0 when
 * a is newer.
 */
static int
release_cmp(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0') {
		unsigned long	 x = 0, y = 0;

		while (*a != '\0' && !isdigit((unsigned char)*a))
			a++;
		while (*b != '\0' && !isdigit((unsigned char)*b))
			b++;
		for (; isdigit((unsigned char)*a) && x < 100000000; a++)
			x = x * 10 + (unsigned long)(*a - '0');
		for (; isdigit((unsigned char)*b) && y < 100000000; b++)
			y = y * 10 + (unsigned long)(*b - '0');
		if (x != y)
			return x > y ? 1 : -1;
	}
	return 0;
}

/* "6.17.4-1-pve" of "proxmox-kernel-6.17.4-1-pve-signed"; NULL for the
 * meta-packages ("proxmox-kernel-6.17"). */
static char *
kernel_release(const char *pkg)
{
	const char	*p, *end;

	if (str_has_prefix(pkg, "proxmox-kernel-"))
		p = pkg + strlen("proxmox-kernel-");
	else if (str_has_prefix(pkg, "pve-kernel-"))
		p = pkg + strlen("pve-kernel-");
	else
		return NULL;
	if ((end = strstr(p, "-pve")) == NULL || !isdigit((unsigned char)*p))
		return NULL;
	return xstrndup(p, (size_t)(end - p) + 4);
}

static void
poll_kernels(struct monitor *m, struct mon_node *n, int64_t now)
{
	json_t		*data, *o;
	char		*newest = NULL, *rel;
	const char	*running = NULL;
	size_t		 i;

	if ((data = node_get(m, n, &n->kernel_read, "kernels",
	    "apt/versions", now, 1)) == NULL)
		return;
	json_array_foreach(data, i, o) {
		const char	*pkg = jx_str(o, "Package", "");
		const char	*state = jx_str(o, "CurrentState", "Installed");

		if (strcmp(pkg, "proxmox-ve") == 0)
			running = jx_str(o, "RunningKernel", NULL);
		if (strcmp(state, "Installed") != 0 ||
		    (rel = kernel_release(pkg)) == NULL)
			continue;
		if (newest == NULL || release_cmp(rel, newest) > 0) {
			free(newest);
			newest = rel;
		} else
			free(rel);
	}
	free(n->running);
	free(n->installed);
	n->running = running != NULL ? xstrdup(running) : NULL;
	n->installed = newest;
	json_decref(data);
	if (n->running == NULL) {
		mon_read_done(&n->kernel_read, 0, now, "kernels", n->name,
		    "no RunningKernel in apt/versions");
		return;
	}
	mon_read_done(&n->kernel_read, 1, now, "kernels", n->name, NULL);
}

void
mon_poll_updates(struct monitor *m, struct mon_node *n, int64_t now)
{
	json_t		*data, *o;
	size_t		 i;

	poll_kernels(m, n, now);
	if ((data = node_get(m, n, &n->updates_read, "updates", "apt/update",
	    now, 1)) == NULL)
		return;
	pkgs_free(n);
	n->pkgs = xreallocarray(NULL, json_array_size(data) + 1,
	    sizeof *n->pkgs);
	json_array_foreach(data, i, o) {
		const char	*name = jx_str(o, "Package", NULL);
		const char	*ver = jx_str(o, "Version", NULL);

		if (name == NULL || ver == NULL)
			continue;
		n->pkgs[n->npkgs].name = xstrdup(name);
		n->pkgs[n->npkgs].version = xstrdup(ver);
		n->npkgs++;
	}
	json_decref(data);
	mon_read_done(&n->updates_read, 1, now, "updates", n->name, NULL);
}

static struct mon_changelog *
changelog_find(struct mon_health *h, const char *name, const char *version)
{
	size_t	 i, len = strlen(name);

	for (i = 0; i < h->nchangelogs; i++) {
		const char	*k = h->changelogs[i].key;

		if (strncmp(k, name, len) == 0 && k[len] == '=' &&
		    strcmp(k + len + 1, version) == 0)
			return &h->changelogs[i];
	}
	return NULL;
}

/*
 * Whether the newest changelog entry was uploaded to a security suite:
 * its first line is "openssl (3.5.4-1~deb13u2) trixie-security;
 * urgency=high".
 */
static int
changelog_security(const char *text)
{
	const char	*close = text != NULL ? strchr(text, ')') : NULL;
	const char	*nl = text != NULL ? strchr(text, '\n') : NULL;
	const char	*semi;

	if (close == NULL || (nl != NULL && close > nl))
		return 0;
	semi = strchr(close, ';');
	if (semi == NULL || (nl != NULL && semi > nl))
		return 0;
	for (; close < semi; close++) {
		if (strncmp(close, "-security", 9) == 0)
			return 1;
	}
	return 0;
}

/* Reads a few changelogs of pending versions not yet looked at. */
void
mon_classify_updates(struct monitor *m)
{
	struct mon_health	*h = &m->health;
	size_t			 i, k;
	int			 budget = CHANGELOGS_PER_CYCLE;

	for (i = 0; i < h->nnodes && budget > 0; i++) {
		struct mon_node	*n = &h->nodes[i];

		if (!n->online || !n->updates_read.ok)
			continue;
		for (k = 0; k < n->npkgs && budget > 0; k++) {
			struct pve_param	 p[] = {
			    { "name", n->pkgs[k].name },
			    { "version", n->pkgs[k].version } };
			json_t			*data = NULL;
			char			*path, *cause = NULL;
			struct mon_changelog	*c;

			if (changelog_find(h, n->pkgs[k].name,
			    n->pkgs[k].version) != NULL)
				continue;
			budget--;
			h->changelogs = xreallocarray(h->changelogs,
			    h->nchangelogs + 1, sizeof *h->changelogs);
			c = &h->changelogs[h->nchangelogs++];
			c->key = xasprintf("%s=%s", n->pkgs[k].name,
			    n->pkgs[k].version);
			path = xasprintf("/nodes/%s/apt/changelog", n->name);
			if (pve_request(m->app->pve, "GET", path, p, 2, &data,
			    &cause) != PVE_OK || !json_is_string(data)) {
				log_info("monitor", "no changelog node=%s "
				    "package=%s: %s", n->name, c->key,
				    cause != NULL ? cause : "not text");
				c->security = -1;
			} else
				c->security = changelog_security(
				    json_string_value(data));
			free(cause);
			free(path);
			json_decref(data);
		}
	}
}

void
mon_poll_replication(struct monitor *m, struct mon_node *n, int64_t now)
{
	json_t		*data, *o;
	size_t		 i;

	if ((data = node_get(m, n, &n->repl_read, "replication",
	    "replication", now, 1)) == NULL)
		return;
	repl_free(n);
	n->repl = xreallocarray(NULL, json_array_size(data) + 1,
	    sizeof *n->repl);
	json_array_foreach(data, i, o) {
		const char	*id = jx_str(o, "id", NULL);
		struct mon_repl	*r;

		if (id == NULL)
			continue;
		r = &n->repl[n->nrepl++];
		memset(r, 0, sizeof *r);
		r->id = xstrdup(id);
		r->target = xstrdup(jx_str(o, "target", "?"));
		r->error = jx_str(o, "error", NULL) != NULL ?
		    xstrdup(jx_str(o, "error", NULL)) : NULL;
		r->guest = (int)jx_num(o, "guest");
		r->fail_count = (int)jx_num(o, "fail_count");
		r->disabled = jx_num(o, "disable") != 0;
		r->last_sync = jx_int(o, "last_sync");
	}
	json_decref(data);
	mon_read_done(&n->repl_read, 1, now, "replication", n->name, NULL);
}

/* Security count, or -1 while a pending version was not looked at. */
static int
security_count(struct monitor *m, const struct mon_node *n, int *unread)
{
	size_t			 k;
	int			 count = 0;
	struct mon_changelog	*c;

	*unread = 0;
	for (k = 0; k < n->npkgs; k++) {
		c = changelog_find(&m->health, n->pkgs[k].name,
		    n->pkgs[k].version);
		if (c == NULL)
			return -1;
		if (c->security < 0)
			(*unread)++;
		count += c->security > 0;
	}
	return count;
}

static struct mon_sample *
node_sample(struct mon_samples *s, const struct mon_node *n,
    const char *metric, double v)
{
	char			*target = xasprintf("node:%s", n->name);
	struct mon_sample	*x = mon_sample_named(s, metric, "node", target,
	    n->name, NULL, v);

	free(target);
	return x;
}

/* "9 days", "1 day". */
static char *
days_text(char *buf, size_t len, int64_t days)
{
	snprintf(buf, len, "%lld day%s", (long long)days, days == 1 ? "" :
	    "s");
	return buf;
}

static void
samples_certs(const struct mon_node *n, int64_t now, struct mon_samples *s)
{
	struct mon_sample	*x;
	char			*target;
	size_t			 i;

	for (i = 0; n->certs_read.ok && i < n->ncerts; i++) {
		const struct mon_cert	*c = &n->certs[i];
		int64_t			 left = c->notafter - now;
		int64_t			 days = (llabs(left) + 43200) / 86400;
		char			 d[32];

		target = xasprintf("cert:%s/%s", n->name, c->file);
		x = mon_sample_named(s, "cert.days_left", "cert", target,
		    n->name, c->file, (double)left / 86400.0);
		free(target);
		if (left < 0)
			x->summary = xasprintf("%s: certificate %s (%s) "
			    "expired %s ago", n->name, c->file, c->subject,
			    days >= 1 ? days_text(d, sizeof d, days) :
			    format_duration(-left, d, sizeof d));
		else
			x->summary = xasprintf("%s: certificate %s (%s) "
			    "expires in %s", n->name, c->file, c->subject,
			    days >= 1 ? days_text(d, sizeof d, days) :
			    format_duration(left, d, sizeof d));
	}
}

static void
samples_updates(struct monitor *m, const struct mon_node *n,
    struct mon_samples *s)
{
	struct mon_sample	*x;
	int			 sec, unread;

	if (n->updates_read.ok) {
		sec = security_count(m, n, &unread);
		x = node_sample(s, n, "node.updates", (double)n->npkgs);
		x->summary = xasprintf("%s: %zu update%s pending", n->name,
		    n->npkgs, n->npkgs == 1 ? "" : "s");
		if (sec >= 0) {
			x = node_sample(s, n, "node.security_updates", sec);
			x->summary = xasprintf("%s: %d security update%s "
			    "pending (of %zu)%s", n->name, sec, sec == 1 ? "" :
			    "s", n->npkgs, unread > 0 ? ", some changelogs "
			    "unreadable" : "");
		}
	}
	if (n->kernel_read.ok) {
		int	 reboot = n->installed != NULL &&
		    release_cmp(n->installed, n->running) > 0;

		x = node_sample(s, n, "node.reboot_required", reboot);
		x->summary = reboot ? xasprintf("%s: reboot required (kernel "
		    "%s installed, %s running)", n->name, n->installed,
		    n->running) : xasprintf("%s: running the newest kernel "
		    "(%s)", n->name, n->running);
	}
}

static void
samples_replication(const struct mon_node *n, int64_t now,
    const struct pve_resources *resources, struct mon_samples *s)
{
	struct mon_sample	*x;
	char			*target, *who, d[32];
	size_t			 i;

	for (i = 0; n->repl_read.ok && i < n->nrepl; i++) {
		const struct mon_repl	*r = &n->repl[i];
		const struct pve_res	*g = pve_resources_guest(resources,
		    r->guest);

		target = xasprintf("replication:%s", r->id);
		who = xasprintf("replication %s of %s (%d) %s->%s", r->id,
		    g != NULL ? RES_NAME(g) : "?", r->guest,
		    n->name, r->target);
		x = mon_sample_named(s, "replication.failed", "replication",
		    target, n->name, r->id, r->fail_count);
		x->vmid = r->guest;
		x->summary = r->fail_count > 0 ? xasprintf("%s failed %d "
		    "time%s: %s", who, r->fail_count, r->fail_count == 1 ? "" :
		    "s", r->error != NULL ? r->error : "no reason given") :
		    xasprintf("%s syncs again", who);
		if (r->last_sync > 0 && !r->disabled) {
			int64_t	 lag = now > r->last_sync ? now - r->last_sync :
			    0;

			x = mon_sample_named(s, "replication.lag",
			    "replication", target, n->name, r->id,
			    (double)(lag / 60));
			x->vmid = r->guest;
			x->summary = xasprintf("%s: last sync %s ago", who,
			    format_duration(lag, d, sizeof d));
		}
		free(who);
		free(target);
	}
}

void
mon_samples_nodeinfo(struct monitor *m, struct mon_node *n, int64_t now,
    const struct pve_resources *resources, struct mon_samples *s)
{
	samples_certs(n, now, s);
	samples_updates(m, n, s);
	samples_replication(n, now, resources, s);
}

json_t *
mon_snapshot_nodeinfo(struct monitor *m, const struct mon_node *n)
{
	json_t	*o = json_object(), *a;
	size_t	 i;
	int	 sec, unread;

	if (n->certs_read.at > 0) {
		a = json_array();
		for (i = 0; i < n->ncerts; i++)
			json_array_append_new(a, json_pack("{sssssI}", "file",
			    n->certs[i].file, "subject", n->certs[i].subject,
			    "notafter", (json_int_t)n->certs[i].notafter));
		json_object_set_new(o, "certs", a);
		json_object_set_new(o, "certs_ok",
		    json_boolean(n->certs_read.ok));
	}
	if (n->updates_read.at > 0) {
		sec = n->updates_read.ok ? security_count(m, n, &unread) : -1;
		json_object_set_new(o, "updates", json_pack("{sbsisi}", "ok",
		    n->updates_read.ok, "count", (int)n->npkgs, "security",
		    sec));
	}
	if (n->kernel_read.at > 0 && n->kernel_read.ok)
		json_object_set_new(o, "kernel", json_pack("{ssss}", "running",
		    n->running, "installed", n->installed != NULL ?
		    n->installed : n->running));
	if (n->repl_read.at > 0) {
		a = json_array();
		for (i = 0; i < n->nrepl; i++)
			json_array_append_new(a, json_pack("{sssisI}", "id",
			    n->repl[i].id, "fail_count", n->repl[i].fail_count,
			    "last_sync", (json_int_t)n->repl[i].last_sync));
		json_object_set_new(o, "replication", a);
	}
	return o;
}
