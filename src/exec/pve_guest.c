/*
 * pve_guest.c - guests as the cluster sees them: the /cluster/resources
 * list, and the resolution of what a user typed (a VMID or a name) to one
 * guest with its node and type, so no command has to ask for either.
 *
 * A name that matches several guests is never guessed: the answer lists
 * the matches and asks for the VMID. A node in the list that is not a
 * node name reads as "?", so it never shapes a request path or a message.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "exec_proxmox.h"
#include "jsonx.h"
#include "pve_resources.h"
#include "util.h"

void
pve_guest_release(struct pve_guest *g)
{
	size_t	i;

	if (g == NULL)
		return;
	free(g->name);
	free(g->node);
	free(g->type);
	free(g->status);
	free(g->lock);
	free(g->pool);
	for (i = 0; i < g->ntags; i++)
		free(g->tags[i]);
	free(g->tags);
	memset(g, 0, sizeof *g);
}

void
pve_guests_free(struct pve_guest *g, size_t n)
{
	size_t	i;

	if (g == NULL)
		return;
	for (i = 0; i < n; i++)
		pve_guest_release(&g[i]);
	free(g);
}

static char *
json_strdup(const json_t *obj, const char *key)
{
	const json_t	*v = json_object_get(obj, key);

	if (json_is_string(v) && *json_string_value(v) != '\0')
		return xstrdup(json_string_value(v));
	return NULL;
}

int
pve_node_name_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	}
	return 1;
}

/* Proxmox separates tags with ';' (older releases: ',' or spaces). */
static void
split_tags(struct pve_guest *g, const char *tags)
{
	char	*copy, *word, *save = NULL;

	if (tags == NULL)
		return;
	copy = xstrdup(tags);
	for (word = strtok_r(copy, ";, ", &save); word != NULL;
	    word = strtok_r(NULL, ";, ", &save)) {
		g->tags = xreallocarray(g->tags, g->ntags + 1,
		    sizeof *g->tags);
		g->tags[g->ntags++] = xstrdup(word);
	}
	free(copy);
}

int
pve_guest_from_json(const json_t *o, struct pve_guest *g)
{
	const json_t	*type, *cpu;
	const char	*t;
	int64_t		 vmid;

	memset(g, 0, sizeof *g);
	type = json_object_get(o, "type");
	if (!json_is_string(type))
		return -1;
	t = json_string_value(type);
	if (strcmp(t, "qemu") != 0 && strcmp(t, "lxc") != 0)
		return -1;
	vmid = jx_int(o, "vmid");
	if (vmid <= 0 || vmid > 999999999)
		return -1;
	g->vmid = (int)vmid;
	g->type = xstrdup(t);
	g->name = json_strdup(o, "name");
	if (g->name == NULL)
		g->name = xasprintf("%d", g->vmid);
	g->node = json_strdup(o, "node");
	if (g->node != NULL && !pve_node_name_ok(g->node)) {
		free(g->node);
		g->node = NULL;
	}
	if (g->node == NULL)
		g->node = xstrdup("?");
	g->status = json_strdup(o, "status");
	if (g->status == NULL)
		g->status = xstrdup("unknown");
	g->lock = json_strdup(o, "lock");
	g->pool = json_strdup(o, "pool");
	split_tags(g, json_string_value(json_object_get(o, "tags")));
	g->is_template = jx_int(o, "template") != 0;
	cpu = json_object_get(o, "cpu");
	g->cpu = json_is_number(cpu) ? json_number_value(cpu) : 0;
	g->maxcpu = (int)jx_int(o, "maxcpu");
	g->mem = jx_int(o, "mem");
	g->maxmem = jx_int(o, "maxmem");
	g->disk = jx_int(o, "disk");
	g->maxdisk = jx_int(o, "maxdisk");
	g->uptime = jx_int(o, "uptime");
	return 0;
}

static char *
res_strdup(const char *s)
{
	return s != NULL && *s != '\0' ? xstrdup(s) : NULL;
}

int
pve_guest_from_res(const struct pve_res *r, struct pve_guest *g)
{
	memset(g, 0, sizeof *g);
	if (!pve_res_is_guest(r) || r->vmid <= 0)
		return -1;
	g->vmid = r->vmid;
	g->type = xstrdup(r->type == PVE_RES_QEMU ? "qemu" : "lxc");
	g->name = res_strdup(r->name);
	if (g->name == NULL)
		g->name = xasprintf("%d", g->vmid);
	g->node = r->node != NULL && pve_node_name_ok(r->node) ?
	    xstrdup(r->node) : xstrdup("?");
	g->status = res_strdup(r->status);
	if (g->status == NULL)
		g->status = xstrdup("unknown");
	g->lock = res_strdup(r->lock);
	g->pool = res_strdup(r->pool);
	split_tags(g, r->tags);
	g->is_template = r->is_template;
	g->cpu = r->cpu;
	g->maxcpu = (int)r->maxcpu;
	g->mem = r->mem;
	g->maxmem = r->maxmem;
	g->disk = r->disk;
	g->maxdisk = r->maxdisk;
	g->uptime = r->uptime;
	return 0;
}

static int
cmp_vmid(const void *a, const void *b)
{
	const struct pve_guest	*x = a, *y = b;

	return (x->vmid > y->vmid) - (x->vmid < y->vmid);
}

int
pve_list_guests(struct pve *pve, struct pve_guest **out, size_t *nout,
    char **cause)
{
	struct pve_resources	 rs;
	struct pve_guest	*g;
	size_t			 n = 0, i;
	int			 rc;

	*out = NULL;
	*nout = 0;
	/* The records, not a tree: at 10,000 guests the reply is 3 MB. */
	memset(&rs, 0, sizeof rs);
	if ((rc = pve_resources_read(pve, "vm", &rs, cause)) != PVE_OK)
		return rc;
	g = xcalloc(rs.n + 1, sizeof *g);
	for (i = 0; i < rs.n; i++) {
		if (pve_guest_from_res(&rs.v[i], &g[n]) == 0)
			n++;
	}
	pve_resources_release(&rs);
	qsort(g, n, sizeof *g, cmp_vmid);
	pve_observe_guests(pve, g, n);
	*out = g;
	*nout = n;
	return PVE_OK;
}

void
pve_guest_copy(struct pve_guest *dst, const struct pve_guest *src)
{
	size_t	i;

	*dst = *src;
	dst->name = src->name != NULL ? xstrdup(src->name) : NULL;
	dst->node = src->node != NULL ? xstrdup(src->node) : NULL;
	dst->type = src->type != NULL ? xstrdup(src->type) : NULL;
	dst->status = src->status != NULL ? xstrdup(src->status) : NULL;
	dst->lock = src->lock != NULL ? xstrdup(src->lock) : NULL;
	dst->pool = src->pool != NULL ? xstrdup(src->pool) : NULL;
	dst->tags = src->ntags ? xcalloc(src->ntags, sizeof *dst->tags) :
	    NULL;
	for (i = 0; i < src->ntags; i++)
		dst->tags[i] = xstrdup(src->tags[i]);
}

static int
name_matches(const char *name, const char *ref, size_t pass)
{
	return (pass == 0 ? strcmp(name, ref) : strcasecmp(name, ref)) == 0;
}

int
pve_resolve_guest(struct pve *pve, const char *ref, struct pve_guest *out,
    char **cause)
{
	struct pve_guest	*g;
	struct buf		 b;
	size_t			 n, i, nmatch = 0, first = 0, pass;
	const char		*errstr;
	long long		 vmid = 0;
	int			 rc, numeric = 0;

	memset(out, 0, sizeof *out);
	if (ref == NULL || *ref == '\0' || strlen(ref) > 128) {
		set_cause(cause, "no guest given");
		return PVE_PERMANENT;
	}
	if (strspn(ref, "0123456789") == strlen(ref)) {
		vmid = strtonum(ref, 1, 999999999, &errstr);
		if (errstr != NULL) {
			set_cause(cause, "%.20s is not a VMID (100-999999999)",
			    ref);
			return PVE_PERMANENT;
		}
		numeric = 1;
	}
	rc = pve_list_guests(pve, &g, &n, cause);
	if (rc != PVE_OK)
		return rc;

	if (numeric) {
		for (i = 0; i < n; i++) {
			if (g[i].vmid == vmid) {
				pve_guest_copy(out, &g[i]);
				pve_guests_free(g, n);
				return PVE_OK;
			}
		}
		pve_guests_free(g, n);
		set_cause(cause, "no guest %lld in the cluster", vmid);
		return PVE_PERMANENT;
	}

	/* Exact names first; a case-insensitive match only if none. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			if (!name_matches(g[i].name, ref, pass))
				continue;
			if (nmatch++ == 0)
				first = i;
		}
		if (nmatch > 0)
			break;
	}
	if (nmatch == 1) {
		pve_guest_copy(out, &g[first]);
		pve_guests_free(g, n);
		return PVE_OK;
	}
	if (nmatch == 0) {
		pve_guests_free(g, n);
		set_cause(cause, "no guest named '%s' in the cluster", ref);
		return PVE_PERMANENT;
	}
	buf_init(&b, 0);
	buf_printf(&b, "name '%s' matches ", ref);
	nmatch = 0;
	for (i = 0; i < n; i++) {
		if (!name_matches(g[i].name, ref, pass))
			continue;
		buf_printf(&b, "%s%d (%s on %s)", nmatch++ ? ", " : "",
		    g[i].vmid, g[i].type, g[i].node);
	}
	buf_puts(&b, ": use the VMID");
	pve_guests_free(g, n);
	if (cause != NULL)
		*cause = buf_steal(&b);
	else
		buf_release(&b);
	return PVE_PERMANENT;
}

char *
pve_guest_path(const struct pve_guest *g, const char *suffix)
{
	return xasprintf("/nodes/%s/%s/%d%s", g->node, g->type, g->vmid,
	    suffix != NULL ? suffix : "");
}

int
pve_guest_has_tag(const struct pve_guest *g, const char *tag)
{
	size_t	i;

	for (i = 0; i < g->ntags; i++) {
		if (strcasecmp(g->tags[i], tag) == 0)
			return 1;
	}
	return 0;
}
