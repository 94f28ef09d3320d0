/*
 * prov_conf.c - the provisioning conventions file (see prov.h and
 * docs/provisioning.md): load, check, and the names its pattern makes.
 *
 *   name: "pve-{node}-{type}-{seq:02d}"
 *   mac_prefix: "02:00:00"
 *   bridge: vmbr0
 *   nameserver: "10.0.0.53"
 *   searchdomain: lab.example
 *   nodes:
 *     - node: pve1
 *       subnet: 10.1.0.0/24
 *       gateway: 10.1.0.1
 *       vm_range: 10.1.0.100-10.1.0.149
 *       ct_range: 10.1.0.150-10.1.0.199
 *       bridge: vmbr1            (optional)
 *
 * Guarantees: a file that loads has no range outside its subnet (nor on
 * the subnet's network or broadcast address), no two ranges that share
 * an address (the VM and container ranges of one node, or any range of
 * two nodes), no gateway inside a range, a MAC prefix that is locally
 * administered unicast (bit 1 of the first octet set, bit 0 clear), and
 * a name pattern made of letters, digits, '-' and known placeholders
 * that holds {seq} or {vmid} (else every name would be the same). Every
 * problem is reported, each as file:line:column, and loading goes on past
 * the first one.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "prov.h"
#include "util.h"

#define PROV_FILE_MAX	(256 * 1024)

struct pload {
	const char	*file;
	yaml_document_t	*doc;
	struct buf	 errors;
	int		 nerrors;
};

static void
pl_err(struct pload *l, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
pl_err(struct pload *l, const yaml_node_t *n, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	buf_printf(&l->errors, "%s:%zu:%zu: %s\n", l->file,
	    n != NULL ? n->start_mark.line + 1 : 1,
	    n != NULL ? n->start_mark.column + 1 : 1, msg);
	l->nerrors++;
	free(msg);
}

static const char *
pl_scalar(struct pload *l, const yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE) {
		pl_err(l, n, "%s: expected a single value", what);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

int
prov_ip_parse(const char *s, uint32_t *ip)
{
	struct in_addr	 a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*ip = ntohl(a.s_addr);
	return 0;
}

void
prov_ip_format(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
	    (ip >> 8) & 0xff, ip & 0xff);
}

static uint32_t
prefix_mask(int prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* "10.1.0.0/24", the network address itself. */
static int
parse_subnet(const char *s, uint32_t *net, int *prefix, char **cause)
{
	const char	*slash = strchr(s, '/'), *errstr;
	char		*addr;
	long long	 p;
	int		 rc;

	if (slash == NULL)
		return set_cause(cause, "'%s' is not a subnet (expected "
		    "A.B.C.D/N)", s);
	addr = xstrndup(s, (size_t)(slash - s));
	rc = prov_ip_parse(addr, net);
	free(addr);
	if (rc != 0)
		return set_cause(cause, "'%s': not an IPv4 address before "
		    "the /", s);
	p = strtonum(slash + 1, 8, 30, &errstr);
	if (errstr != NULL)
		return set_cause(cause, "'%s': prefix length is %s (8 to 30)",
		    s, errstr);
	*prefix = (int)p;
	if ((*net & ~prefix_mask(*prefix)) != 0)
		return set_cause(cause, "'%s' has host bits set; the subnet "
		    "is written with its network address", s);
	return 0;
}

/* "10.1.0.100-10.1.0.149" (spaces around '-' allowed). */
static int
parse_range(const char *s, struct prov_range *r, char **cause)
{
	const char	*dash = strchr(s, '-');
	char		*a, *b;
	int		 rc;

	/* str_trim() trims in place and returns a pointer inside. */

	if (dash == NULL)
		return set_cause(cause, "'%s' is not a range (expected "
		    "FIRST-LAST)", s);
	a = xstrndup(s, (size_t)(dash - s));
	b = xstrdup(dash + 1);
	rc = prov_ip_parse(str_trim(a), &r->lo) == 0 &&
	    prov_ip_parse(str_trim(b), &r->hi) == 0;
	free(a);
	free(b);
	if (!rc)
		return set_cause(cause, "'%s': both ends must be IPv4 "
		    "addresses", s);
	if (r->lo > r->hi)
		return set_cause(cause, "'%s': the first address is after "
		    "the last", s);
	return 0;
}

/* "02:00:00", 1 to 5 octets. */
static int
parse_mac_prefix(const char *s, uint8_t out[5], size_t *n, char **cause)
{
	const char	*p = s;
	unsigned	 v;
	int		 i;

	*n = 0;
	for (;;) {
		v = 0;
		for (i = 0; i < 2; i++) {
			if (!isxdigit((unsigned char)p[i]))
				return set_cause(cause, "'%s' is not a MAC "
				    "prefix (hex octets joined by ':', e.g. "
				    "02:00:00)", s);
			v = v * 16 + (unsigned)(isdigit((unsigned char)p[i]) ?
			    p[i] - '0' : (tolower((unsigned char)p[i]) - 'a' +
			    10));
		}
		if (*n == 5)
			return set_cause(cause, "'%s': a prefix has at most 5 "
			    "octets (a MAC has 6)", s);
		out[(*n)++] = (uint8_t)v;
		p += 2;
		if (*p == '\0')
			break;
		if (*p != ':')
			return set_cause(cause, "'%s' is not a MAC prefix "
			    "(hex octets joined by ':', e.g. 02:00:00)", s);
		p++;
	}
	if (out[0] & 0x01)
		return set_cause(cause, "'%s' is a multicast prefix (bit 0 of "
		    "the first octet is set); guests need unicast, e.g. "
		    "02:00:00", s);
	if (!(out[0] & 0x02))
		return set_cause(cause, "'%s' is not locally administered (bit "
		    "1 of the first octet is clear) and could collide with a "
		    "vendor's addresses; use e.g. 02:00:00", s);
	return 0;
}

/*
 * Walks a pattern: calls fn for each literal run and placeholder. For a
 * check only, fn is NULL and *cause says what is wrong.
 */
static int
pattern_walk(const char *pat, struct buf *out, const char *node,
    const char *type, int seq, int vmid, int *has_unique, char **cause)
{
	const char	*p = pat, *e, *errstr;
	char		 name[32];
	size_t		 n;
	long long	 width;

	if (has_unique != NULL)
		*has_unique = 0;
	while (*p != '\0') {
		if (*p != '{') {
			if (!isalnum((unsigned char)*p) && *p != '-')
				return set_cause(cause, "'%c' cannot be part of "
				    "a guest name (letters, digits and '-')",
				    *p);
			if (out != NULL)
				buf_append(out, p, 1);
			p++;
			continue;
		}
		if ((e = strchr(p, '}')) == NULL)
			return set_cause(cause, "'{' without a closing '}'");
		n = (size_t)(e - p - 1);
		if (n == 0 || n >= sizeof name)
			return set_cause(cause, "empty or overlong "
			    "placeholder");
		memcpy(name, p + 1, n);
		name[n] = '\0';
		p = e + 1;
		if (strcmp(name, "node") == 0) {
			if (out != NULL)
				buf_puts(out, node);
		} else if (strcmp(name, "type") == 0) {
			if (out != NULL)
				buf_puts(out, type);
		} else if (strcmp(name, "vmid") == 0) {
			if (has_unique != NULL)
				*has_unique = 1;
			if (out != NULL)
				buf_printf(out, "%d", vmid);
		} else if (strcmp(name, "seq") == 0 ||
		    (strncmp(name, "seq:0", 5) == 0 && n == 7 &&
		    name[6] == 'd')) {
			width = 1;
			if (n == 7) {
				char	 w[2] = { name[5], '\0' };

				width = strtonum(w, 1, 9, &errstr);
				if (errstr != NULL)
					return set_cause(cause, "{%s}: the "
					    "width is 1 to 9 ({seq:02d})",
					    name);
			}
			if (has_unique != NULL)
				*has_unique = 1;
			if (out != NULL)
				buf_printf(out, "%0*d", (int)width, seq);
		} else
			return set_cause(cause, "unknown placeholder {%s} "
			    "(known: {node}, {type}, {seq}, {seq:0Nd}, "
			    "{vmid})", name);
	}
	return 0;
}

char *
prov_name_format(const char *pattern, const char *node, const char *type,
    int seq, int vmid)
{
	struct buf	 b;
	char		*cause = NULL;

	buf_init(&b, 4096);
	buf_puts(&b, "");
	if (pattern_walk(pattern, &b, node, type, seq, vmid, NULL,
	    &cause) != 0) {
		free(cause);	/* checked at load */
		buf_reset(&b);
		buf_puts(&b, "");
	}
	return buf_steal(&b);
}

static int
ranges_overlap(const struct prov_range *a, const struct prov_range *b)
{
	return a->lo <= b->hi && b->lo <= a->hi;
}

static void
range_text(const struct prov_range *r, char *out, size_t len)
{
	char	 a[16], b[16];

	prov_ip_format(r->lo, a);
	prov_ip_format(r->hi, b);
	snprintf(out, len, "%s-%s", a, b);
}

static void
load_range(struct pload *l, yaml_node_t *v, const char *key,
    struct prov_range *r, int *have)
{
	const char	*s;
	char		*cause = NULL;

	if ((s = pl_scalar(l, v, key)) == NULL)
		return;
	r->line = (int)v->start_mark.line + 1;
	r->column = (int)v->start_mark.column + 1;
	if (parse_range(s, r, &cause) != 0) {
		pl_err(l, v, "%s: %s", key, cause);
		free(cause);
		return;
	}
	*have = 1;
}

/* A range must sit inside the subnet, off its network and broadcast. */
static void
check_in_subnet(struct pload *l, const struct prov_node *pn,
    const struct prov_range *r, const char *key)
{
	uint32_t	 mask = prefix_mask(pn->prefix);
	uint32_t	 bcast = pn->net | ~mask;
	char		 rt[40], net[16];

	if ((r->lo & mask) == pn->net && (r->hi & mask) == pn->net &&
	    r->lo != pn->net && r->hi != bcast)
		return;
	range_text(r, rt, sizeof rt);
	prov_ip_format(pn->net, net);
	buf_printf(&l->errors, "%s:%d:%d: node %s: %s %s is not inside its "
	    "subnet %s/%d (network and broadcast addresses excluded)\n",
	    l->file, r->line, r->column, pn->node, key, rt, net, pn->prefix);
	l->nerrors++;
}

static void
load_node(struct pload *l, yaml_node_t *item, struct prov_conf *pc)
{
	struct prov_node	 pn;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v, *gw_node = NULL;
	const char		*key, *s;
	char			*cause = NULL, gw[16];
	int			 have_subnet = 0, have_gw = 0, have_vm = 0,
				 have_ct = 0, before = l->nerrors;

	memset(&pn, 0, sizeof pn);
	pn.line = (int)item->start_mark.line + 1;
	pn.column = (int)item->start_mark.column + 1;
	if (item->type != YAML_MAPPING_NODE) {
		pl_err(l, item, "nodes: each entry is a mapping (node, subnet, "
		    "gateway, vm_range, ct_range)");
		return;
	}
	for (p = item->data.mapping.pairs.start;
	    p < item->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(l->doc, p->key);
		v = yaml_document_get_node(l->doc, p->value);
		if ((key = pl_scalar(l, k, "key")) == NULL)
			continue;
		if (strcmp(key, "node") == 0) {
			if ((s = pl_scalar(l, v, key)) != NULL) {
				free(pn.node);
				pn.node = xstrdup(s);
			}
		} else if (strcmp(key, "subnet") == 0) {
			if ((s = pl_scalar(l, v, key)) == NULL)
				continue;
			if (parse_subnet(s, &pn.net, &pn.prefix, &cause) != 0) {
				pl_err(l, v, "subnet: %s", cause);
				free(cause);
				cause = NULL;
			} else
				have_subnet = 1;
		} else if (strcmp(key, "gateway") == 0) {
			if ((s = pl_scalar(l, v, key)) == NULL)
				continue;
			gw_node = v;
			if (prov_ip_parse(s, &pn.gateway) != 0)
				pl_err(l, v, "gateway: '%s' is not an IPv4 "
				    "address", s);
			else
				have_gw = 1;
		} else if (strcmp(key, "vm_range") == 0)
			load_range(l, v, key, &pn.vm, &have_vm);
		else if (strcmp(key, "ct_range") == 0)
			load_range(l, v, key, &pn.ct, &have_ct);
		else if (strcmp(key, "bridge") == 0) {
			if ((s = pl_scalar(l, v, key)) != NULL) {
				free(pn.bridge);
				pn.bridge = xstrdup(s);
			}
		} else
			pl_err(l, k, "unknown key '%s' in a node (node, subnet, "
			    "gateway, vm_range, ct_range, bridge)", key);
	}
	if (pn.node == NULL)
		pl_err(l, item, "nodes: an entry without 'node'");
	if (!have_subnet && l->nerrors == before)
		pl_err(l, item, "node %s: 'subnet' is required",
		    pn.node != NULL ? pn.node : "?");
	if (!have_gw && l->nerrors == before)
		pl_err(l, item, "node %s: 'gateway' is required",
		    pn.node != NULL ? pn.node : "?");
	if (!have_vm && !have_ct && l->nerrors == before)
		pl_err(l, item, "node %s: give vm_range, ct_range or both",
		    pn.node != NULL ? pn.node : "?");
	if (l->nerrors == before) {
		if (have_vm)
			check_in_subnet(l, &pn, &pn.vm, "vm_range");
		if (have_ct)
			check_in_subnet(l, &pn, &pn.ct, "ct_range");
		if (have_vm && have_ct && ranges_overlap(&pn.vm, &pn.ct)) {
			buf_printf(&l->errors, "%s:%d:%d: node %s: ct_range "
			    "overlaps vm_range (line %d)\n", l->file,
			    pn.ct.line, pn.ct.column, pn.node, pn.vm.line);
			l->nerrors++;
		}
		if ((pn.gateway & prefix_mask(pn.prefix)) != pn.net) {
			prov_ip_format(pn.gateway, gw);
			pl_err(l, gw_node, "node %s: gateway %s is not inside "
			    "the subnet", pn.node, gw);
		}
		if ((have_vm && pn.gateway >= pn.vm.lo && pn.gateway <=
		    pn.vm.hi) || (have_ct && pn.gateway >= pn.ct.lo &&
		    pn.gateway <= pn.ct.hi)) {
			prov_ip_format(pn.gateway, gw);
			pl_err(l, gw_node, "node %s: gateway %s is inside a "
			    "range that guests are given addresses from",
			    pn.node, gw);
		}
	}
	if (!have_vm)
		pn.vm.lo = 1, pn.vm.hi = 0;	/* empty */
	if (!have_ct)
		pn.ct.lo = 1, pn.ct.hi = 0;
	pc->nodes = xreallocarray(pc->nodes, pc->nnodes + 1,
	    sizeof *pc->nodes);
	pc->nodes[pc->nnodes++] = pn;
}

static int
range_empty(const struct prov_range *r)
{
	return r->lo > r->hi;
}

/* Ranges of two nodes must not share an address; nor a node twice. */
static void
check_nodes(struct pload *l, struct prov_conf *pc)
{
	const struct prov_range	*ri[2], *rj[2];
	struct prov_node	*a, *b;
	size_t			 i, j, x, y;
	char			 ta[40], tb[40];

	for (i = 0; i < pc->nnodes; i++) {
		a = &pc->nodes[i];
		for (j = 0; j < i; j++) {
			b = &pc->nodes[j];
			if (a->node != NULL && b->node != NULL &&
			    strcmp(a->node, b->node) == 0) {
				buf_printf(&l->errors, "%s:%d:%d: node %s is "
				    "given twice (first at line %d)\n",
				    l->file, a->line, a->column, a->node,
				    b->line);
				l->nerrors++;
				continue;
			}
			ri[0] = &a->vm;
			ri[1] = &a->ct;
			rj[0] = &b->vm;
			rj[1] = &b->ct;
			for (x = 0; x < 2; x++) {
				for (y = 0; y < 2; y++) {
					if (range_empty(ri[x]) ||
					    range_empty(rj[y]) ||
					    !ranges_overlap(ri[x], rj[y]))
						continue;
					range_text(ri[x], ta, sizeof ta);
					range_text(rj[y], tb, sizeof tb);
					buf_printf(&l->errors, "%s:%d:%d: node "
					    "%s: %s %s overlaps node %s's %s "
					    "%s (line %d)\n", l->file,
					    ri[x]->line, ri[x]->column,
					    a->node, x == 0 ? "vm_range" :
					    "ct_range", ta, b->node, y == 0 ?
					    "vm_range" : "ct_range", tb,
					    rj[y]->line);
					l->nerrors++;
				}
			}
		}
	}
}

static void
set_str(struct pload *l, yaml_node_t *v, const char *key, char **out)
{
	const char	*s;

	if ((s = pl_scalar(l, v, key)) == NULL)
		return;
	free(*out);
	*out = xstrdup(s);
}

struct prov_conf *
prov_conf_load_string(const char *name, const char *text, size_t len,
    char **errors)
{
	struct prov_conf	*pc;
	struct pload		 l;
	yaml_parser_t		 parser;
	yaml_document_t		 doc;
	yaml_node_t		*root, *k, *v, *pattern_node = NULL;
	yaml_node_pair_t	*p;
	yaml_node_item_t	*it;
	const char		*key, *s;
	char			*cause = NULL;
	int			 unique, have_nodes = 0;

	*errors = NULL;
	pc = xcalloc(1, sizeof *pc);
	pc->file = xstrdup(name);
	memset(&l, 0, sizeof l);
	l.file = name;
	buf_init(&l.errors, 1 << 20);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    len);
	if (!yaml_parser_load(&parser, &doc)) {
		buf_printf(&l.errors, "%s:%zu:%zu: YAML syntax error: %s\n",
		    name, parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1, parser.problem != NULL ?
		    parser.problem : "?");
		yaml_parser_delete(&parser);
		goto fail;
	}
	yaml_parser_delete(&parser);
	l.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		pl_err(&l, root, "expected a mapping (name, mac_prefix, "
		    "nodes, ...)");
		yaml_document_delete(&doc);
		goto fail;
	}
	for (p = root->data.mapping.pairs.start;
	    p < root->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(&doc, p->key);
		v = yaml_document_get_node(&doc, p->value);
		if ((key = pl_scalar(&l, k, "key")) == NULL)
			continue;
		if (strcmp(key, "name") == 0) {
			pattern_node = v;
			set_str(&l, v, key, &pc->name_pattern);
		} else if (strcmp(key, "mac_prefix") == 0) {
			if ((s = pl_scalar(&l, v, key)) == NULL)
				continue;
			if (parse_mac_prefix(s, pc->mac_prefix,
			    &pc->mac_prefix_len, &cause) != 0) {
				pl_err(&l, v, "mac_prefix: %s", cause);
				free(cause);
				cause = NULL;
			}
		} else if (strcmp(key, "bridge") == 0)
			set_str(&l, v, key, &pc->bridge);
		else if (strcmp(key, "nameserver") == 0)
			set_str(&l, v, key, &pc->nameserver);
		else if (strcmp(key, "searchdomain") == 0)
			set_str(&l, v, key, &pc->searchdomain);
		else if (strcmp(key, "nodes") == 0) {
			have_nodes = 1;
			if (v->type != YAML_SEQUENCE_NODE) {
				pl_err(&l, v, "nodes: expected a list");
				continue;
			}
			for (it = v->data.sequence.items.start;
			    it < v->data.sequence.items.top; it++)
				load_node(&l, yaml_document_get_node(&doc,
				    *it), pc);
		} else
			pl_err(&l, k, "unknown key '%s' (name, mac_prefix, "
			    "bridge, nameserver, searchdomain, nodes)", key);
	}
	if (pc->name_pattern == NULL)
		pc->name_pattern = xstrdup("pve-{node}-{type}-{seq:02d}");
	else if (pattern_walk(pc->name_pattern, NULL, NULL, NULL, 0, 0,
	    &unique, &cause) != 0) {
		pl_err(&l, pattern_node, "name: %s", cause);
		free(cause);
		cause = NULL;
	} else if (!unique)
		pl_err(&l, pattern_node, "name: the pattern needs {seq} or "
		    "{vmid}, or every guest would get the same name");
	if (pc->mac_prefix_len == 0 && l.nerrors == 0) {
		pc->mac_prefix[0] = 0x02;
		pc->mac_prefix_len = 3;	/* 02:00:00 */
	}
	if (pc->bridge == NULL)
		pc->bridge = xstrdup("vmbr0");
	if (!have_nodes)
		pl_err(&l, root, "nodes: at least one node with its subnet "
		    "and ranges is required");
	check_nodes(&l, pc);
	yaml_document_delete(&doc);
	if (l.nerrors > 0)
		goto fail;
	buf_release(&l.errors);
	return pc;
fail:
	*errors = buf_steal(&l.errors);
	prov_conf_free(pc);
	return NULL;
}

struct prov_conf *
prov_conf_load(const char *path, char **errors)
{
	struct prov_conf	*pc;
	char			*text, *cause = NULL;
	size_t			 len;

	if ((text = read_file(path, PROV_FILE_MAX, &len, &cause)) == NULL) {
		*errors = xasprintf("%s:1:1: %s\n", path, cause);
		free(cause);
		return NULL;
	}
	pc = prov_conf_load_string(path, text, len, errors);
	free(text);
	return pc;
}

void
prov_conf_free(struct prov_conf *pc)
{
	size_t	 i;

	if (pc == NULL)
		return;
	for (i = 0; i < pc->nnodes; i++) {
		free(pc->nodes[i].node);
		free(pc->nodes[i].bridge);
	}
	free(pc->nodes);
	free(pc->name_pattern);
	free(pc->bridge);
	free(pc->nameserver);
	free(pc->searchdomain);
	free(pc->file);
	free(pc);
}

const struct prov_node *
prov_conf_node(const struct prov_conf *pc, const char *node)
{
	size_t	 i;

	for (i = 0; pc != NULL && i < pc->nnodes; i++) {
		if (pc->nodes[i].node != NULL &&
		    strcmp(pc->nodes[i].node, node) == 0)
			return &pc->nodes[i];
	}
	return NULL;
}
