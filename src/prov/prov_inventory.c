/*
 * prov_inventory.c - the inventory: every guest of the cluster written
 * as one YAML file per node (`pvebot inventory export [DIR]`), and the
 * drift between the last export and the cluster now (`inventory` in
 * chat, one line of the digest).
 *
 * Guarantees:
 * - Stable: guests in VMID order, keys in one fixed order, lists sorted,
 *   no timestamp; an export of an unchanged cluster writes the same
 *   bytes, so a git diff of the folder shows only real changes.
 * - Whole or nothing per file: each file is written to a temporary name
 *   and renamed over the old one. A node that has no guests left keeps
 *   its file, with an empty list, so the diff shows them gone.
 * - Read only from Proxmox (the guest list and each guest's
 *   configuration, in a worker or the CLI, never the router); a
 *   configuration that cannot be read fails the export, which never
 *   writes a half-known inventory.
 * - The drift compares field by field and names each guest that was
 *   added, removed or changed, with the fields that changed.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "builtin.h"
#include "conf.h"
#include "cmd.h"
#include "exec_proxmox.h"
#include "prov.h"
#include "prov_int.h"
#include "util.h"

#define INV_FILE_MAX	(16 * 1024 * 1024)
#define INV_HEAD	"# pvebot inventory"
#define INV_MAX_FIELDS	16

struct field {
	const char	*key;
	char		*value;		/* YAML text of the value */
};

struct inv_guest {
	int		 vmid;
	char		*node;
	char		*name;
	struct field	 f[INV_MAX_FIELDS];
	size_t		 nf;
};

struct inv {
	struct inv_guest *g;
	size_t		  n;
};

static void
inv_free(struct inv *v)
{
	size_t	 i, k;

	for (i = 0; i < v->n; i++) {
		for (k = 0; k < v->g[i].nf; k++)
			free(v->g[i].f[k].value);
		free(v->g[i].node);
		free(v->g[i].name);
	}
	free(v->g);
	memset(v, 0, sizeof *v);
}

/* A YAML double-quoted scalar. */
static void
quote(struct buf *b, const char *s)
{
	buf_puts(b, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			buf_printf(b, "\\x%02x", (unsigned char)*s);
		else
			buf_append(b, s, 1);
	}
	buf_puts(b, "\"");
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
quoted_list(char **v, size_t n)
{
	struct buf	 b;
	size_t		 i;

	if (n > 0)
		qsort(v, n, sizeof *v, str_cmp);
	buf_init(&b, 1 << 20);
	buf_puts(&b, "[");
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		if (b.len > 1)
			buf_puts(&b, ", ");
		quote(&b, v[i]);
	}
	buf_puts(&b, "]");
	return buf_steal(&b);
}

static void
add(struct inv_guest *g, const char *key, char *value)
{
	g->f[g->nf].key = key;
	g->f[g->nf++].value = value;
}

static char *
quoted(const char *s)
{
	struct buf	 b;

	buf_init(&b, 1 << 20);
	quote(&b, s != NULL ? s : "");
	return buf_steal(&b);
}

static int
cfg_int(const json_t *cfg, const char *key, long long def)
{
	json_t		*v = json_object_get(cfg, key);
	const char	*errstr;
	long long	 x;

	if (json_is_integer(v))
		return (int)json_integer_value(v);
	if (json_is_string(v)) {
		x = strtonum(json_string_value(v), 0, 1 << 30, &errstr);
		if (errstr == NULL)
			return (int)x;
	}
	return (int)def;
}

static int
is_disk_key(const char *k, int lxc)
{
	static const char *const qm[] = { "scsi", "sata", "ide", "virtio",
		"efidisk", "tpmstate", NULL };
	size_t	 i, n;

	if (lxc)
		return strcmp(k, "rootfs") == 0 || (strncmp(k, "mp", 2) == 0 &&
		    isdigit((unsigned char)k[2]));
	for (i = 0; qm[i] != NULL; i++) {
		n = strlen(qm[i]);
		if (strncmp(k, qm[i], n) == 0 &&
		    isdigit((unsigned char)k[n]))
			return 1;
	}
	return 0;
}

/* One guest's fields, from the guest list and its configuration. */
static void
guest_fields(struct inv_guest *ig, const struct pve_guest *g,
    const json_t *cfg)
{
	struct prov_used	 u;
	const char		*key;
	json_t			*val;
	char			**v = NULL, ip[16];
	size_t			 n = 0, i;
	int			 lxc = strcmp(g->type, "lxc") == 0;

	ig->vmid = g->vmid;
	ig->node = xstrdup(g->node);
	ig->name = xstrdup(g->name != NULL ? g->name : "");
	add(ig, "name", quoted(ig->name));
	add(ig, "type", xstrdup(g->type));
	add(ig, "node", xstrdup(g->node));
	memset(&u, 0, sizeof u);
	prov_used_add_config(&u, cfg);
	for (i = 0; i < u.nips; i++) {
		prov_ip_format(u.ips[i], ip);
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = xstrdup(ip);
	}
	add(ig, "ips", quoted_list(v, n));
	strv_free(v, n);
	add(ig, "macs", quoted_list(u.macs, u.nmacs));
	prov_used_release(&u);
	add(ig, "cores", xasprintf("%d", cfg_int(cfg, "cores", 1) *
	    (lxc ? 1 : cfg_int(cfg, "sockets", 1))));
	add(ig, "memory", xasprintf("%d", cfg_int(cfg, "memory", 512)));
	v = NULL;
	n = 0;
	json_object_foreach((json_t *)cfg, key, val) {
		if (!json_is_string(val) || !is_disk_key(key, lxc) ||
		    strstr(json_string_value(val), "media=cdrom") != NULL)
			continue;
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = xasprintf("%s: %s", key, json_string_value(val));
	}
	add(ig, "disks", quoted_list(v, n));
	strv_free(v, n);
	v = NULL;
	n = 0;
	for (i = 0; i < g->ntags; i++) {
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = xstrdup(g->tags[i]);
	}
	add(ig, "tags", quoted_list(v, n));
	strv_free(v, n);
	if (lxc)
		add(ig, "privileged", xstrdup(cfg_int(cfg, "unprivileged", 0) ?
		    "false" : "true"));
	add(ig, "onboot", xstrdup(cfg_int(cfg, "onboot", 0) ? "true" :
	    "false"));
	add(ig, "template", xstrdup(g->is_template ? "true" : "false"));
}

static int
collect(struct pve *pve, struct inv *v, char **cause)
{
	struct prov_used	 u;
	struct pve_guest	*g = NULL;
	json_t			**cfgs = NULL;
	size_t			 n = 0, i;

	memset(v, 0, sizeof *v);
	memset(&u, 0, sizeof u);
	if (prov_read_used(pve, &u, &g, &n, &cfgs, cause) != 0) {
		prov_used_release(&u);
		return -1;
	}
	prov_used_release(&u);
	v->g = xcalloc(n + 1, sizeof *v->g);
	for (i = 0; i < n; i++)		/* pve_list_guests: VMID order */
		guest_fields(&v->g[v->n++], &g[i], cfgs[i]);
	prov_configs_free(cfgs, n);
	pve_guests_free(g, n);
	return 0;
}

/* The file of one node: its guests in VMID order. */
static char *
render_node(const struct inv *v, const char *node)
{
	struct buf	 b;
	size_t		 i, k, count = 0;

	buf_init(&b, INV_FILE_MAX);
	buf_printf(&b, INV_HEAD ": node %s (pvebot inventory export)\n"
	    "node: %s\nguests:", node, node);
	for (i = 0; i < v->n; i++) {
		if (strcmp(v->g[i].node, node) != 0)
			continue;
		buf_printf(&b, "\n  - id: %d", v->g[i].vmid);
		for (k = 0; k < v->g[i].nf; k++)
			buf_printf(&b, "\n    %s: %s", v->g[i].f[k].key,
			    v->g[i].f[k].value);
		count++;
	}
	buf_puts(&b, count == 0 ? " []\n" : "\n");
	return buf_steal(&b);
}

static int
write_atomic(const char *dir, const char *name, const char *text,
    char **cause)
{
	char	*path, *tmp;
	size_t	 len = strlen(text);
	ssize_t	 w;
	int	 fd, rc = -1;

	path = xasprintf("%s/%s", dir, name);
	tmp = xasprintf("%s/.%s.tmp", dir, name);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) ==
	    -1) {
		set_cause(cause, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	w = write(fd, text, len);
	if (w < 0 || (size_t)w != len || fsync(fd) != 0) {
		set_cause(cause, "%s: %s", tmp, w < 0 ? strerror(errno) :
		    "short write");
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(path);
	free(tmp);
	return rc;
}

/* Node names of the files an earlier export wrote in dir. */
static char **
exported_nodes(const char *dir, size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	char		**v = NULL, *path, *text, *cause = NULL;
	size_t		 len, l;

	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 6 ||
		    strcmp(de->d_name + l - 5, ".yaml") != 0)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		text = read_file(path, INV_FILE_MAX, &len, &cause);
		free(path);
		free(cause);
		cause = NULL;
		if (text != NULL && str_has_prefix(text, INV_HEAD)) {
			v = xreallocarray(v, *n + 1, sizeof *v);
			v[(*n)++] = xstrndup(de->d_name, l - 5);
		}
		free(text);
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof *v, str_cmp);
	return v;
}

static int
has_str(char **v, size_t n, const char *s)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (strcmp(v[i], s) == 0)
			return 1;
	}
	return 0;
}

/* Every node: those with guests now and those exported before. */
static char **
all_nodes(const struct inv *v, const char *dir, size_t *n)
{
	char	**nodes = exported_nodes(dir, n);
	size_t	  i;

	for (i = 0; i < v->n; i++) {
		if (has_str(nodes, *n, v->g[i].node))
			continue;
		nodes = xreallocarray(nodes, *n + 1, sizeof *nodes);
		nodes[(*n)++] = xstrdup(v->g[i].node);
	}
	if (*n > 0)
		qsort(nodes, *n, sizeof *nodes, str_cmp);
	return nodes;
}

int
prov_inventory_export(struct pve *pve, const char *dir, char **summary,
    char **cause)
{
	struct inv	 v;
	char		**nodes, *text, *name;
	size_t		 n, i;
	int		 rc = 0;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return set_cause(cause, "%s: %s", dir, strerror(errno));
	if (collect(pve, &v, cause) != 0)
		return -1;
	nodes = all_nodes(&v, dir, &n);
	for (i = 0; i < n && rc == 0; i++) {
		/* A node name is one DNS label (pve_guest_from_json). */
		if (strchr(nodes[i], '/') != NULL || nodes[i][0] == '.')
			continue;
		text = render_node(&v, nodes[i]);
		name = xasprintf("%s.yaml", nodes[i]);
		rc = write_atomic(dir, name, text, cause);
		free(name);
		free(text);
	}
	if (rc == 0)
		*summary = xasprintf("%zu guests in %zu files in %s", v.n, n,
		    dir);
	strv_free(nodes, n);
	inv_free(&v);
	return rc;
}

/* ---- drift ------------------------------------------------------- */

/*
 * Reads back what render_node() wrote: "  - id: N" starts a guest,
 * "    key: value" lines are its fields. Only our own format is read; a
 * file edited by hand shows as drift, which it is.
 */
static void
parse_export(const char *text, struct inv *v)
{
	const char	*p = text, *e, *colon, *errstr;
	struct inv_guest *cur = NULL;
	char		*line;
	size_t		 k;
	long long	 id;

	for (; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
		e = p + strcspn(p, "\n");
		line = xstrndup(p, (size_t)(e - p));
		if (str_has_prefix(line, "  - id: ")) {
			id = strtonum(line + 8, 1, 999999999, &errstr);
			cur = NULL;
			if (errstr == NULL) {
				v->g = xreallocarray(v->g, v->n + 1,
				    sizeof *v->g);
				cur = &v->g[v->n++];
				memset(cur, 0, sizeof *cur);
				cur->vmid = (int)id;
			}
		} else if (cur != NULL && str_has_prefix(line, "    ") &&
		    (colon = strstr(line + 4, ": ")) != NULL &&
		    cur->nf < INV_MAX_FIELDS) {
			static const char *const keys[] = { "name", "type",
				"node", "ips", "macs", "cores", "memory",
				"disks", "tags", "privileged", "onboot",
				"template", NULL };

			for (k = 0; keys[k] != NULL; k++) {
				if (strlen(keys[k]) == (size_t)(colon -
				    line - 4) && strncmp(line + 4, keys[k],
				    strlen(keys[k])) == 0)
					break;
			}
			if (keys[k] != NULL) {
				add(cur, keys[k], xstrdup(colon + 2));
				if (strcmp(keys[k], "name") == 0 ||
				    strcmp(keys[k], "node") == 0) {
					char	*s = xstrdup(colon + 2), *q;

					/* Unquote for the messages. */
					q = s;
					if (*q == '"') {
						q++;
						q[strcspn(q, "\"")] = '\0';
					}
					if (strcmp(keys[k], "name") == 0)
						cur->name = xstrdup(q);
					else
						cur->node = xstrdup(q);
					free(s);
				}
			}
		}
		free(line);
	}
}

static const struct inv_guest *
find_guest(const struct inv *v, int vmid)
{
	size_t	 i;

	for (i = 0; i < v->n; i++) {
		if (v->g[i].vmid == vmid)
			return &v->g[i];
	}
	return NULL;
}

static const char *
field_of(const struct inv_guest *g, const char *key)
{
	size_t	 i;

	for (i = 0; i < g->nf; i++) {
		if (strcmp(g->f[i].key, key) == 0)
			return g->f[i].value;
	}
	return NULL;
}

static int
read_export(const char *dir, struct inv *old, char **cause)
{
	char	**nodes, *path, *text;
	size_t	  n, i, len;

	memset(old, 0, sizeof *old);
	nodes = exported_nodes(dir, &n);
	if (n == 0) {
		strv_free(nodes, n);
		return set_cause(cause, "no inventory export in %s yet (run "
		    "`pvebot inventory export`)", dir);
	}
	for (i = 0; i < n; i++) {
		path = xasprintf("%s/%s.yaml", dir, nodes[i]);
		if ((text = read_file(path, INV_FILE_MAX, &len, cause)) ==
		    NULL) {
			free(path);
			strv_free(nodes, n);
			inv_free(old);
			return -1;
		}
		parse_export(text, old);
		free(text);
		free(path);
	}
	strv_free(nodes, n);
	return 0;
}

int
prov_inventory_drift(struct pve *pve, const char *dir, char **text,
    int *nchanged, char **cause)
{
	struct inv		 now, old;
	const struct inv_guest	*o, *g;
	struct buf		 b;
	const char		*a, *c;
	size_t			 i, k;
	int			 changed = 0, first;

	*text = NULL;
	if (read_export(dir, &old, cause) != 0)
		return -1;
	if (collect(pve, &now, cause) != 0) {
		inv_free(&old);
		return -1;
	}
	buf_init(&b, 1 << 20);
	for (i = 0; i < now.n; i++) {
		g = &now.g[i];
		if ((o = find_guest(&old, g->vmid)) == NULL) {
			buf_printf(&b, "\n  new: %d %s on %s", g->vmid,
			    g->name, g->node);
			changed++;
			continue;
		}
		first = 1;
		for (k = 0; k < g->nf; k++) {
			a = field_of(o, g->f[k].key);
			c = g->f[k].value;
			if (a != NULL && strcmp(a, c) == 0)
				continue;
			if (first)
				buf_printf(&b, "\n  changed: %d %s:", g->vmid,
				    g->name);
			buf_printf(&b, "%s %s %s -> %s", first ? "" : ";",
			    g->f[k].key, a != NULL ? a : "(none)", c);
			first = 0;
		}
		changed += !first;
	}
	for (i = 0; i < old.n; i++) {
		if (find_guest(&now, old.g[i].vmid) != NULL)
			continue;
		buf_printf(&b, "\n  gone: %d %s (was on %s)", old.g[i].vmid,
		    old.g[i].name != NULL ? old.g[i].name : "?",
		    old.g[i].node != NULL ? old.g[i].node : "?");
		changed++;
	}
	if (changed == 0)
		*text = xasprintf("inventory: no drift since the last export "
		    "(%zu guests, %s)", now.n, dir);
	else
		*text = xasprintf("inventory: %d guest%s differ%s from the last "
		    "export (%s):%s", changed, changed == 1 ? "" : "s",
		    changed == 1 ? "s" : "", dir, buf_cstr(&b));
	*nchanged = changed;
	buf_release(&b);
	inv_free(&now);
	inv_free(&old);
	return 0;
}

/* `inventory`: the drift, read by a worker. */
char *
prov_job_inventory(const struct builtin_env *env, const struct cmd_call *call,
    char **cause)
{
	const char	*dir = env->app->conf->inventory_dir;
	char		*text = NULL;
	int		 n;

	(void)call;
	if (dir == NULL) {
		set_cause(cause, "no inventory folder (bot.conf: inventory: "
		    "DIR, written by `pvebot inventory export`)");
		return NULL;
	}
	if (env->app->pve == NULL) {
		set_cause(cause, "no Proxmox endpoint is configured");
		return NULL;
	}
	if (prov_inventory_drift(env->app->pve, dir, &text, &n, cause) != 0)
		return NULL;
	return text;
}

void
prov_inventory_digest(struct buf *b, struct pve *pve, const char *dir)
{
	char	*text = NULL, *cause = NULL;
	int	 n = 0;

	if (pve == NULL || dir == NULL)
		return;
	if (prov_inventory_drift(pve, dir, &text, &n, &cause) != 0) {
		/* No export yet is not news; a failed read is. */
		if (cause != NULL && strstr(cause, "no inventory export") ==
		    NULL)
			buf_printf(b, "Inventory: cannot compare with the last "
			    "export: %s\n", cause);
	} else if (n > 0)
		buf_printf(b, "Inventory: %d guest%s changed since the last "
		    "export (`inventory` names them)\n", n, n == 1 ? "" : "s");
	free(text);
	free(cause);
}
