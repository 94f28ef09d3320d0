/*
 * guest_index.c - the guests of the cluster in memory (guest_index.h).
 *
 * A view is built once (sorted by VMID, and a second order by name) and
 * never changed; it is freed when the last holder releases it. The index
 * itself is a pointer to the current view under a mutex held only to
 * take or swap a reference: lookups run on the caller's view without any
 * lock, so the router's cost per guest command is two binary searches.
 *
 * A view built from /cluster/resources records (the monitor's cycle)
 * costs a few allocations whatever the number of guests, and keeps the
 * previous view's order by name when no guest's name or VMID changed.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pthread.h>

#include "exec_proxmox.h"
#include "guest_index.h"
#include "pve_resources.h"
#include "util.h"

#define SUGGEST_MAX	3

struct guest_view {
	atomic_int		 refs;
	uint64_t		 version;
	int64_t			 born_ms;	/* monotonic */
	struct pve_guest	*guests;	/* by VMID */
	size_t			 n;
	size_t			*by_name;	/* indexes, by name */
	/* From records (publish_resources): the guests' strings and tag
	 * lists live in these two blocks, not in one malloc each. */
	char			*strings;
	char			**tagv;
	int			 have_cluster;	/* nodes, storages known */
	char			**nodes;
	int			*online;
	size_t			 nnodes;
	char			**st_node, **st_id;
	size_t			 nstorages;
};

struct guest_index {
	pthread_mutex_t		 lock;
	struct guest_view	*view;
	uint64_t		 version;
};

static void
view_free(struct guest_view *v)
{
	size_t	 i;

	if (v->strings == NULL) {
		for (i = 0; i < v->n; i++)
			pve_guest_release(&v->guests[i]);
	}
	free(v->strings);
	free(v->tagv);
	free(v->guests);
	free(v->by_name);
	strv_free(v->nodes, v->nnodes);
	free(v->online);
	strv_free(v->st_node, v->nstorages);
	strv_free(v->st_id, v->nstorages);
	free(v);
}

void
guest_view_release(const struct guest_view *cv)
{
	struct guest_view	*v = (struct guest_view *)cv;

	if (v != NULL && atomic_fetch_sub(&v->refs, 1) == 1)
		view_free(v);
}

struct guest_index *
guest_index_create(void)
{
	struct guest_index	*gi = xcalloc(1, sizeof *gi);

	pthread_mutex_init(&gi->lock, NULL);
	return gi;
}

void
guest_index_free(struct guest_index *gi)
{
	if (gi == NULL)
		return;
	guest_view_release(gi->view);
	pthread_mutex_destroy(&gi->lock);
	free(gi);
}

static int
cmp_vmid(const void *a, const void *b)
{
	const struct pve_guest	*x = a, *y = b;

	return (x->vmid > y->vmid) - (x->vmid < y->vmid);
}

/* qsort has no context argument: the view being sorted, per thread. */
static _Thread_local const struct guest_view *sorting;

static int
name_order(const char *a, const char *b)
{
	int	 c = strcasecmp(a, b);

	return c != 0 ? c : strcmp(a, b);
}

static int
cmp_name(const void *a, const void *b)
{
	const struct pve_guest	*x = &sorting->guests[*(const size_t *)a];
	const struct pve_guest	*y = &sorting->guests[*(const size_t *)b];
	int			 c = name_order(x->name, y->name);

	return c != 0 ? c : (x->vmid > y->vmid) - (x->vmid < y->vmid);
}

static void
copy_cluster(struct guest_view *v, const struct guest_view *from,
    const struct index_node *nodes, size_t nn,
    const struct index_storage *sts, size_t ns)
{
	size_t	 i;

	if (from != NULL && nodes == NULL) {
		if (!from->have_cluster)
			return;
		v->have_cluster = 1;
		v->nnodes = from->nnodes;
		v->nodes = xcalloc(v->nnodes + 1, sizeof *v->nodes);
		v->online = xcalloc(v->nnodes + 1, sizeof *v->online);
		for (i = 0; i < v->nnodes; i++) {
			v->nodes[i] = xstrdup(from->nodes[i]);
			v->online[i] = from->online[i];
		}
		v->nstorages = from->nstorages;
		v->st_node = xcalloc(v->nstorages + 1, sizeof *v->st_node);
		v->st_id = xcalloc(v->nstorages + 1, sizeof *v->st_id);
		for (i = 0; i < v->nstorages; i++) {
			v->st_node[i] = xstrdup(from->st_node[i]);
			v->st_id[i] = xstrdup(from->st_id[i]);
		}
		return;
	}
	if (nodes == NULL)
		return;
	v->have_cluster = 1;
	v->nnodes = nn;
	v->nodes = xcalloc(nn + 1, sizeof *v->nodes);
	v->online = xcalloc(nn + 1, sizeof *v->online);
	for (i = 0; i < nn; i++) {
		v->nodes[i] = xstrdup(nodes[i].name);
		v->online[i] = nodes[i].online;
	}
	v->nstorages = ns;
	v->st_node = xcalloc(ns + 1, sizeof *v->st_node);
	v->st_id = xcalloc(ns + 1, sizeof *v->st_id);
	for (i = 0; i < ns; i++) {
		v->st_node[i] = xstrdup(sts[i].node);
		v->st_id[i] = xstrdup(sts[i].id);
	}
}

/* Fills v->by_name (allocated, v->n entries): the guests by name. */
static void
sort_by_name(struct guest_view *v)
{
	size_t	 i;

	for (i = 0; i < v->n; i++)
		v->by_name[i] = i;
	sorting = v;
	qsort(v->by_name, v->n, sizeof *v->by_name, cmp_name);
	sorting = NULL;
}

/* Makes v the index's view (with the cluster's nodes and storages). */
static void
install(struct guest_index *gi, struct guest_view *v,
    const struct index_node *nodes, size_t nn,
    const struct index_storage *sts, size_t ns)
{
	struct guest_view	*old;

	pthread_mutex_lock(&gi->lock);
	copy_cluster(v, gi->view, nodes, nn, sts, ns);
	v->version = ++gi->version;
	old = gi->view;
	gi->view = v;
	pthread_mutex_unlock(&gi->lock);
	guest_view_release(old);
}

static void
publish(struct guest_index *gi, const struct pve_guest *g, size_t n,
    const struct index_node *nodes, size_t nn,
    const struct index_storage *sts, size_t ns)
{
	struct guest_view	*v = xcalloc(1, sizeof *v);
	size_t			 i;

	atomic_init(&v->refs, 1);
	v->born_ms = now_ms();
	v->guests = xcalloc(n + 1, sizeof *v->guests);
	for (i = 0; i < n; i++) {
		pve_guest_copy(&v->guests[i], &g[i]);
		if (v->guests[i].name == NULL)
			v->guests[i].name = xstrdup("");
	}
	v->n = n;
	qsort(v->guests, n, sizeof *v->guests, cmp_vmid);
	v->by_name = xcalloc(n + 1, sizeof *v->by_name);
	sort_by_name(v);
	install(gi, v, nodes, nn, sts, ns);
}

/* Copies s into the block at *at; the copy. */
static char *
put(char *block, size_t *at, const char *s)
{
	char	*p = block + *at;
	size_t	 len = strlen(s) + 1;

	memcpy(p, s, len);
	*at += len;
	return p;
}

static int
tag_sep(char c)
{
	return c == ';' || c == ',' || c == ' ';
}

/* Same guests by VMID and name, in the same order. */
static int
same_names(const struct guest_view *a, const struct guest_view *b)
{
	size_t	 i;

	if (a == NULL || a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++) {
		if (a->guests[i].vmid != b->guests[i].vmid ||
		    strcmp(a->guests[i].name, b->guests[i].name) != 0)
			return 0;
	}
	return 1;
}

/* The view of a list of records (pve_guest_from_res's rules). */
static struct guest_view *
view_of_resources(const struct pve_resources *rs)
{
	struct guest_view	*v = xcalloc(1, sizeof *v);
	size_t			 k, size = 1, ntags = 0, at = 0, t = 0, len;
	char			 num[16];

	for (k = 0; k < rs->nguests; k++) {
		const struct pve_res	*r = &rs->v[rs->by_vmid[k]];

		size += (r->name != NULL ? strlen(r->name) : 0) + 12;
		size += (r->node != NULL ? strlen(r->node) : 0) + 2;
		size += (r->status != NULL ? strlen(r->status) : 0) + 8;
		size += 5;
		size += (r->lock != NULL ? strlen(r->lock) : 0) + 1;
		size += (r->pool != NULL ? strlen(r->pool) : 0) + 1;
		if (r->tags != NULL) {
			len = strlen(r->tags);
			size += len + 1;
			/* Words are at least one byte and a separator. */
			ntags += len / 2 + 1;
		}
	}
	v->strings = xmalloc(size);
	v->tagv = xcalloc(ntags + 1, sizeof *v->tagv);
	v->guests = xcalloc(rs->nguests + 1, sizeof *v->guests);
	for (k = 0; k < rs->nguests; k++) {
		const struct pve_res	*r = &rs->v[rs->by_vmid[k]];
		struct pve_guest	*g = &v->guests[k];
		const char		*p;

		g->vmid = r->vmid;
		g->type = put(v->strings, &at, r->type == PVE_RES_QEMU ?
		    "qemu" : "lxc");
		if (r->name != NULL && *r->name != '\0')
			g->name = put(v->strings, &at, r->name);
		else {
			snprintf(num, sizeof num, "%d", r->vmid);
			g->name = put(v->strings, &at, num);
		}
		g->node = put(v->strings, &at, r->node != NULL &&
		    pve_node_name_ok(r->node) ? r->node : "?");
		g->status = put(v->strings, &at, r->status != NULL &&
		    *r->status != '\0' ? r->status : "unknown");
		if (r->lock != NULL && *r->lock != '\0')
			g->lock = put(v->strings, &at, r->lock);
		if (r->pool != NULL && *r->pool != '\0')
			g->pool = put(v->strings, &at, r->pool);
		/* Split as pve_guest.c splits: on ';', ',' and spaces. */
		for (p = r->tags; p != NULL && *p != '\0'; ) {
			const char	*w;

			while (*p != '\0' && tag_sep(*p))
				p++;
			for (w = p; *p != '\0' && !tag_sep(*p); p++)
				;
			if (p == w)
				continue;
			if (g->ntags == 0)
				g->tags = &v->tagv[t];
			v->tagv[t] = v->strings + at;
			memcpy(v->tagv[t], w, (size_t)(p - w));
			v->tagv[t][p - w] = '\0';
			at += (size_t)(p - w) + 1;
			t++;
			g->ntags++;
		}
		g->is_template = r->is_template;
		g->cpu = r->cpu;
		g->maxcpu = (int)r->maxcpu;
		g->mem = r->mem;
		g->maxmem = r->maxmem;
		g->disk = r->disk;
		g->maxdisk = r->maxdisk;
		g->uptime = r->uptime;
	}
	v->n = rs->nguests;
	return v;
}

void
guest_index_publish_resources(struct guest_index *gi,
    const struct pve_resources *rs)
{
	struct guest_view	*v = view_of_resources(rs), *old;
	struct index_node	*nodes;
	struct index_storage	*sts;
	size_t			 i, nn = 0, ns = 0;

	atomic_init(&v->refs, 1);
	v->born_ms = now_ms();
	v->by_name = xcalloc(v->n + 1, sizeof *v->by_name);
	nodes = xcalloc(rs->n + 1, sizeof *nodes);
	sts = xcalloc(rs->n + 1, sizeof *sts);
	for (i = 0; i < rs->n; i++) {
		const struct pve_res	*r = &rs->v[i];

		if (r->type == PVE_RES_NODE && r->node != NULL) {
			nodes[nn].name = r->node;
			nodes[nn++].online = r->status != NULL &&
			    strcmp(r->status, "online") == 0;
		} else if (r->type == PVE_RES_STORAGE && r->node != NULL &&
		    r->storage != NULL) {
			sts[ns].node = r->node;
			sts[ns++].id = r->storage;
		}
	}
	pthread_mutex_lock(&gi->lock);
	old = gi->view;
	if (old != NULL)
		atomic_fetch_add(&old->refs, 1);
	pthread_mutex_unlock(&gi->lock);
	/* Unchanged names: the previous order by name holds. */
	if (same_names(old, v))
		memcpy(v->by_name, old->by_name, v->n * sizeof *v->by_name);
	else
		sort_by_name(v);
	guest_view_release(old);
	install(gi, v, nodes, nn, sts, ns);
	free(nodes);
	free(sts);
}

void
guest_index_publish(struct guest_index *gi, const struct pve_guest *g,
    size_t n)
{
	publish(gi, g, n, NULL, 0, NULL, 0);
}

void
guest_index_publish_cluster(struct guest_index *gi,
    const struct pve_guest *g, size_t n, const struct index_node *nodes,
    size_t nn, const struct index_storage *sts, size_t ns)
{
	static const struct index_node	 none;

	publish(gi, g, n, nodes != NULL ? nodes : &none, nn, sts, ns);
}

int
guest_view_node(const struct guest_view *v, const char *name, int *online)
{
	size_t	 i;

	if (v == NULL || !v->have_cluster)
		return -1;
	for (i = 0; i < v->nnodes; i++) {
		if (strcmp(v->nodes[i], name) == 0) {
			if (online != NULL)
				*online = v->online[i];
			return 1;
		}
	}
	return 0;
}

int
guest_view_storage(const struct guest_view *v, const char *node,
    const char *id)
{
	size_t	 i;

	if (v == NULL || !v->have_cluster)
		return -1;
	for (i = 0; i < v->nstorages; i++) {
		if (strcmp(v->st_id[i], id) == 0 && (node == NULL ||
		    strcmp(v->st_node[i], node) == 0))
			return 1;
	}
	return 0;
}

const struct guest_view *
guest_index_get(struct guest_index *gi)
{
	struct guest_view	*v;

	if (gi == NULL)
		return NULL;
	pthread_mutex_lock(&gi->lock);
	if ((v = gi->view) != NULL)
		atomic_fetch_add(&v->refs, 1);
	pthread_mutex_unlock(&gi->lock);
	return v;
}

uint64_t
guest_view_version(const struct guest_view *v)
{
	return v->version;
}

int64_t
guest_view_age_ms(const struct guest_view *v)
{
	return now_ms() - v->born_ms;
}

size_t
guest_view_count(const struct guest_view *v)
{
	return v->n;
}

const struct pve_guest *
guest_view_at(const struct guest_view *v, size_t i)
{
	return i < v->n ? &v->guests[i] : NULL;
}

const struct pve_guest *
guest_view_vmid(const struct guest_view *v, int vmid)
{
	size_t	 lo = 0, hi = v->n;

	while (lo < hi) {
		size_t	 mid = lo + (hi - lo) / 2;

		if (v->guests[mid].vmid == vmid)
			return &v->guests[mid];
		if (v->guests[mid].vmid < vmid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The first position in by_name whose name is not below ref, ignoring
 * case. */
static size_t
name_lower_bound(const struct guest_view *v, const char *ref)
{
	size_t	 lo = 0, hi = v->n;

	while (lo < hi) {
		size_t	 mid = lo + (hi - lo) / 2;

		if (strcasecmp(v->guests[v->by_name[mid]].name, ref) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Levenshtein distance of two short strings, case folded, capped. */
static size_t
distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j;
	size_t	 row[65], prev, tmp;

	if (la > 64 || lb > 64)
		return 64;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t	 cost = tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 1]) ? 0 : 1;

			tmp = row[j];
			row[j] = prev + cost;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

/* " Did you mean web1 (101), web2 (102)?" or "" (caller frees). */
static char *
suggest(const struct guest_view *v, const char *ref)
{
	const struct pve_guest	*best[SUGGEST_MAX];
	size_t			 bestd[SUGGEST_MAX], nbest = 0, i, k;
	size_t			 limit = strlen(ref) / 3 + 1;
	struct buf		 b;

	for (i = 0; i < v->n; i++) {
		const struct pve_guest	*g = &v->guests[i];
		size_t			 d;

		if (*g->name == '\0')
			continue;
		d = strncasecmp(g->name, ref, strlen(ref)) == 0 ? 1 :
		    distance(g->name, ref);
		if (d > limit)
			continue;
		for (k = nbest; k > 0 && bestd[k - 1] > d; k--)
			;
		if (k >= SUGGEST_MAX)
			continue;
		if (nbest < SUGGEST_MAX)
			nbest++;
		memmove(&best[k + 1], &best[k], (nbest - 1 - k) * sizeof *best);
		memmove(&bestd[k + 1], &bestd[k], (nbest - 1 - k) *
		    sizeof *bestd);
		best[k] = g;
		bestd[k] = d;
	}
	buf_init(&b, 0);
	buf_append(&b, "", 0);
	for (i = 0; i < nbest; i++)
		buf_printf(&b, "%s%s (%d)", i == 0 ? ". Did you mean " : ", ",
		    best[i]->name, best[i]->vmid);
	if (nbest > 0)
		buf_puts(&b, "?");
	return buf_steal(&b);
}

int
guest_view_resolve(const struct guest_view *v, const char *ref,
    struct pve_guest *out, char **cause)
{
	const struct pve_guest	*g;
	const char		*errstr;
	size_t			 at, i, nexact = 0, nfold = 0, exact = 0;
	struct buf		 b;
	long long		 vmid;
	char			*hint;

	memset(out, 0, sizeof *out);
	if (ref == NULL || *ref == '\0' || strlen(ref) > 128)
		return set_cause(cause, "no guest given");
	if (strspn(ref, "0123456789") == strlen(ref)) {
		vmid = strtonum(ref, 1, 999999999, &errstr);
		if (errstr != NULL)
			return set_cause(cause, "%.20s is not a VMID "
			    "(100-999999999)", ref);
		if ((g = guest_view_vmid(v, (int)vmid)) == NULL)
			return set_cause(cause, "no guest %lld in the cluster",
			    vmid);
		pve_guest_copy(out, g);
		return 0;
	}
	at = name_lower_bound(v, ref);
	for (i = at; i < v->n; i++) {
		g = &v->guests[v->by_name[i]];
		if (strcasecmp(g->name, ref) != 0)
			break;
		nfold++;
		if (strcmp(g->name, ref) == 0 && nexact++ == 0)
			exact = i;
	}
	if (nexact == 1 || (nexact == 0 && nfold == 1)) {
		pve_guest_copy(out, &v->guests[v->by_name[nexact == 1 ? exact :
		    at]]);
		return 0;
	}
	if (nfold == 0) {
		hint = suggest(v, ref);
		set_cause(cause, "no guest named '%s' in the cluster%s", ref,
		    hint);
		free(hint);
		return -1;
	}
	buf_init(&b, 0);
	buf_printf(&b, "name '%s' matches ", ref);
	nfold = 0;
	for (i = at; i < v->n; i++) {
		g = &v->guests[v->by_name[i]];
		if (strcasecmp(g->name, ref) != 0)
			break;
		if (nexact > 0 && strcmp(g->name, ref) != 0)
			continue;
		buf_printf(&b, "%s%d (%s on %s)", nfold++ ? ", " : "", g->vmid,
		    g->type, g->node);
	}
	buf_puts(&b, ": use the VMID");
	if (cause != NULL)
		*cause = buf_steal(&b);
	else
		buf_release(&b);
	return -1;
}
