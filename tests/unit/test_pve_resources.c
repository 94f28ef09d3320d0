/*
 * Unit tests for the compact /cluster/resources records (pve_resources.c)
 * and the strict scanner under them (jscan.c): a valid list gives the
 * same guests, nodes and storages as the jansson tree did (and the same
 * guest index); a malformed or oversized reply is refused with the byte
 * where it went wrong and leaves the previous list as it was, whether it
 * comes as text or through the Proxmox client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exec_proxmox.h"
#include "guest_index.h"
#include "jscan.h"
#include "jsonx.h"
#include "pve_resources.h"
#include "t.h"
#include "util.h"

/* Everything odd a real or hostile cluster may list, as one array. */
static const char list[] =
    "[{\"id\":\"node/pve1\",\"type\":\"node\",\"node\":\"pve1\","
    "\"status\":\"online\",\"cpu\":0.125,\"maxcpu\":8,\"mem\":2147483648,"
    "\"maxmem\":17179869184,\"disk\":1000,\"maxdisk\":100000,"
    "\"uptime\":12345,\"level\":\"\"},"
    "{\"type\":\"node\",\"node\":\"pve2\",\"status\":\"offline\"},"
    "{\"id\":\"qemu/101\",\"vmid\":101,\"type\":\"qemu\",\"name\":"
    "\"web-01\",\"node\":\"pve1\",\"status\":\"running\",\"tags\":"
    "\"web;prod\",\"lock\":\"backup\",\"cpu\":0.25,\"maxcpu\":4,"
    "\"mem\":1073741824,\"maxmem\":4294967296,\"disk\":0,\"maxdisk\":"
    "34359738368,\"uptime\":3600,\"template\":0,\"pool\":\"prod\","
    "\"hastate\":\"started\",\"extra\":{\"a\":[1,{\"b\":[true,false,"
    "null,-0.5e-3]}]}},"
    "{\"vmid\":\"105\",\"type\":\"lxc\",\"node\":\"pve2\",\"mem\":1e300,"
    "\"maxmem\":\"x\",\"tags\":\"a, b c\",\"template\":1,\"cpu\":\"0.5\"},"
    "{\"vmid\":102,\"type\":\"qemu\",\"name\":\"caf\\u00e9 \\ud83d\\ude00"
    " \\\"q\\\"\\n\",\"node\":\"pve1/lxc/200\",\"status\":\"\","
    "\"maxcpu\":2.9,\"uptime\":-1},"
    "{\"vmid\":103,\"type\":\"qemu\",\"name\":\"\",\"node\":\"pve1\","
    "\"status\":\"stopped\",\"lock\":\"\",\"maxmem\":\"42\"},"
    "{\"vmid\":0,\"type\":\"qemu\",\"name\":\"no-vmid\"},"
    "{\"vmid\":1000000000,\"type\":\"lxc\",\"name\":\"too-big\"},"
    "{\"vmid\":104,\"type\":\"qemu\",\"name\":\"web-01\",\"node\":"
    "\"pve2\",\"status\":\"paused\",\"tags\":\";;\"},"
    "{\"type\":\"storage\",\"storage\":\"local\",\"node\":\"pve1\","
    "\"status\":\"available\",\"content\":\"iso,backup\",\"shared\":0,"
    "\"disk\":5,\"maxdisk\":10},"
    "{\"type\":\"storage\",\"storage\":\"nfs\",\"node\":\"pve2\","
    "\"shared\":1,\"plugintype\":\"nfs\"},"
    "{\"type\":\"pool\",\"pool\":\"prod\"},"
    "{\"type\":\"sdn\",\"sdn\":\"zone1\",\"node\":\"pve1\"},"
    "{\"name\":\"no type\",\"vmid\":106},"
    "1, \"x\", null, [], {},"
    "{\"type\":42,\"vmid\":107}"
    "]";

static void
same_guest(const struct pve_guest *a, const struct pve_guest *b)
{
	size_t	 i;

	T_EQ_INT(a->vmid, b->vmid);
	T_EQ_STR(a->name, b->name);
	T_EQ_STR(a->node, b->node);
	T_EQ_STR(a->type, b->type);
	T_EQ_STR(a->status, b->status);
	T_OK((a->lock == NULL) == (b->lock == NULL));
	if (a->lock != NULL && b->lock != NULL)
		T_EQ_STR(a->lock, b->lock);
	T_OK((a->pool == NULL) == (b->pool == NULL));
	if (a->pool != NULL && b->pool != NULL)
		T_EQ_STR(a->pool, b->pool);
	T_EQ_INT(a->ntags, b->ntags);
	for (i = 0; i < a->ntags && i < b->ntags; i++)
		T_EQ_STR(a->tags[i], b->tags[i]);
	T_EQ_INT(a->is_template, b->is_template);
	T_OK(a->cpu == b->cpu);
	T_EQ_INT(a->maxcpu, b->maxcpu);
	T_EQ_INT(a->mem, b->mem);
	T_EQ_INT(a->maxmem, b->maxmem);
	T_EQ_INT(a->disk, b->disk);
	T_EQ_INT(a->maxdisk, b->maxdisk);
	T_EQ_INT(a->uptime, b->uptime);
}

/* The records hold what the tree holds, entry by entry. */
static void
test_same_as_tree(void)
{
	struct pve_resources	 rs;
	struct pve_guest	 a, b;
	json_t			*tree, *o;
	char			*cause = NULL;
	size_t			 i, k = 0, guests = 0;

	memset(&rs, 0, sizeof rs);
	tree = json_loads(list, 0, NULL);
	T_OK(json_is_array(tree));
	T_EQ_INT(pve_resources_parse(list, strlen(list), &rs, &cause), 0);
	T_OK(cause == NULL);
	/* Nodes, guests and storages are kept; pools, sdn, typeless and
	 * non-object entries are not. */
	T_EQ_INT(rs.n, 11);
	json_array_foreach(tree, i, o) {
		const char		*type = jx_str(o, "type", NULL);
		const struct pve_res	*r;

		if (type == NULL || (strcmp(type, "node") != 0 &&
		    strcmp(type, "qemu") != 0 && strcmp(type, "lxc") != 0 &&
		    strcmp(type, "storage") != 0))
			continue;
		if (k >= rs.n)
			break;
		r = &rs.v[k++];
		T_EQ_STR(pve_res_type_name(r), type);
		if (jx_str(o, "node", NULL) != NULL)
			T_EQ_STR(r->node, jx_str(o, "node", NULL));
		else
			T_OK(r->node == NULL);
		if (jx_str(o, "status", NULL) != NULL)
			T_EQ_STR(r->status, jx_str(o, "status", NULL));
		if (jx_str(o, "storage", NULL) != NULL)
			T_EQ_STR(r->storage, jx_str(o, "storage", NULL));
		if (jx_str(o, "content", NULL) != NULL)
			T_EQ_STR(r->content, jx_str(o, "content", NULL));
		T_EQ_INT(r->shared, jx_int(o, "shared") != 0);
		T_EQ_INT(r->disk, jx_int(o, "disk"));
		T_EQ_INT(r->maxdisk, jx_int(o, "maxdisk"));
		if (pve_guest_from_json(o, &a) == 0) {
			guests++;
			T_EQ_INT(pve_guest_from_res(r, &b), 0);
			same_guest(&a, &b);
			pve_guest_release(&b);
			T_OK(pve_resources_guest(&rs, a.vmid) == r);
			pve_guest_release(&a);
		} else
			T_OK(pve_guest_from_res(r, &b) != 0);
	}
	T_EQ_INT(k, rs.n);
	T_EQ_INT(guests, 5);
	T_EQ_INT(rs.nguests, 5);
	T_OK(pve_resources_guest(&rs, 999) == NULL);
	/* The decoded escapes and the odd values, spelled out. */
	T_EQ_STR(pve_resources_guest(&rs, 102)->name,
	    "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\"\n");
	T_OK(pve_resources_guest(&rs, 105)->is_template);
	T_EQ_INT(pve_resources_guest(&rs, 105)->mem, 0);
	T_EQ_INT(pve_resources_guest(&rs, 103)->maxmem, 42);
	json_decref(tree);
	pve_resources_release(&rs);
}

/* Reals read exactly as strtod reads them (the CPU of every guest). */
static void
test_reals_exact(void)
{
	static const char *const reals[] = { "0.1", "0.25", "0.0312",
	    "0.3333333333333333", "0.333333333333333", "-0.5", "1e-3",
	    "0.000001234", "123456789012345.6", "12345678901234.56",
	    "0.0000000000000000000001", "9007199254740993.0", "1.7976931348623157e308",
	    "4.9e-324", "-0.0", "100.0" };
	struct pve_resources	 rs;
	size_t			 i;
	char			*text;

	memset(&rs, 0, sizeof rs);
	for (i = 0; i < nitems(reals); i++) {
		text = xasprintf("[{\"type\":\"qemu\",\"vmid\":1,"
		    "\"cpu\":%s}]", reals[i]);
		T_EQ_INT(pve_resources_parse(text, strlen(text), &rs, NULL), 0);
		if (rs.n == 1 && rs.v[0].cpu != strtod(reals[i], NULL))
			t_fail(__FILE__, __LINE__, "%s read as %.17g", reals[i],
			    rs.v[0].cpu);
		pve_resources_release(&rs);
		free(text);
	}
}

/* The guest index made from records answers as the one made from the
 * tree's guests. */
static void
test_index_same(void)
{
	struct guest_index	*x = guest_index_create(), *y =
	    guest_index_create();
	const struct guest_view	*vx, *vy;
	struct pve_resources	 rs;
	struct pve_guest	*g, out;
	json_t			*tree, *o;
	size_t			 i, n = 0;
	char			*cx = NULL, *cy = NULL;
	int			 online = -1;

	memset(&rs, 0, sizeof rs);
	tree = json_loads(list, 0, NULL);
	g = xcalloc(json_array_size(tree) + 1, sizeof *g);
	json_array_foreach(tree, i, o) {
		if (pve_guest_from_json(o, &g[n]) == 0)
			n++;
	}
	guest_index_publish(x, g, n);
	T_EQ_INT(pve_resources_parse(list, strlen(list), &rs, NULL), 0);
	/* Twice: the second keeps the first's order by name. */
	guest_index_publish_resources(y, &rs);
	guest_index_publish_resources(y, &rs);
	vx = guest_index_get(x);
	vy = guest_index_get(y);
	T_EQ_INT(guest_view_version(vy), 2);
	T_EQ_INT(guest_view_count(vx), guest_view_count(vy));
	for (i = 0; i < guest_view_count(vx) && i < guest_view_count(vy); i++)
		same_guest(guest_view_at(vx, i), guest_view_at(vy, i));
	/* Two guests are named web-01: both lists say so. */
	T_EQ_INT(guest_view_resolve(vx, "web-01", &out, &cx), -1);
	T_EQ_INT(guest_view_resolve(vy, "web-01", &out, &cy), -1);
	T_EQ_STR(cy, cx);
	T_CONTAINS(cy, "101 (qemu on pve1), 104 (qemu on pve2)");
	free(cx);
	free(cy);
	/* Decoded names resolve, ignoring ASCII case. */
	T_EQ_INT(guest_view_resolve(vy, "CAF\xc3\xa9 \xf0\x9f\x98\x80 \"q\"\n",
	    &out, NULL), 0);
	T_EQ_INT(out.vmid, 102);
	T_EQ_STR(out.node, "?");
	T_EQ_STR(out.status, "unknown");
	pve_guest_release(&out);
	T_EQ_INT(guest_view_resolve(vy, "103", &out, NULL), 0);
	T_EQ_STR(out.name, "103");
	pve_guest_release(&out);
	T_EQ_INT(guest_view_node(vy, "pve2", &online), 1);
	T_EQ_INT(online, 0);
	T_EQ_INT(guest_view_storage(vy, "pve1", "local"), 1);
	T_EQ_INT(guest_view_storage(vy, NULL, "nfs"), 1);
	guest_view_release(vx);
	guest_view_release(vy);
	pve_guests_free(g, n);
	json_decref(tree);
	pve_resources_release(&rs);
	guest_index_free(x);
	guest_index_free(y);
}

static char *
long_name(size_t len)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 0);
	buf_puts(&b, "[{\"type\":\"qemu\",\"vmid\":101,\"name\":\"");
	for (i = 0; i < len; i++)
		buf_puts(&b, "a");
	buf_puts(&b, "\"}]");
	return buf_steal(&b);
}

static char *
deep(size_t depth)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 0);
	buf_puts(&b, "[{\"type\":\"qemu\",\"vmid\":101,\"x\":");
	for (i = 0; i < depth; i++)
		buf_puts(&b, "[");
	for (i = 0; i < depth; i++)
		buf_puts(&b, "]");
	buf_puts(&b, "}]");
	return buf_steal(&b);
}

/* Each refused as a whole, with where and why; the list before stays. */
static void
test_refused(void)
{
	static const struct {
		const char	*text;
		const char	*why;
		int		 json_too;	/* jansson refuses it too */
	} bad[] = {
		{ "[{\"type\":\"qemu\",\"vmid\":101,}]",
		    "byte 27: expected a member name", 1 },
		{ "[{\"type\":\"qemu\",\"vmid\":101},]",
		    "byte 28: expected a value", 1 },
		{ "[{\"type\":\"qemu\"", "the text ends inside an object", 1 },
		{ "[{\"type\":\"qemu\",\"name\":\"a", "ends inside a string",
		    1 },
		{ "[{\"type\":\"qemu\",\"name\":\"a\x01\"}]",
		    "a control character", 1 },
		{ "[{\"type\":\"qemu\",\"name\":\"\xc3\x28\"}]", "not UTF-8",
		    1 },
		{ "[{\"type\":\"qemu\",\"name\":\"\xed\xa0\x80\"}]",
		    "not UTF-8", 1 },
		{ "[{\"type\":\"qemu\",\"name\":\"\\ud800\"}]",
		    "without its pair", 1 },
		{ "[{\"type\":\"qemu\",\"name\":\"\\x\"}]", "a bad escape",
		    1 },
		{ "[{\"type\":\"qemu\",\"name\":\"\\u12g4\"}]",
		    "a bad \\u escape", 1 },
		{ "[{\"type\":\"qemu\",\"vmid\":01}]", "a leading zero", 1 },
		{ "[{\"type\":\"qemu\",\"vmid\":1.}]", "after '.'", 1 },
		{ "[{\"type\":\"qemu\",\"vmid\":99999999999999999999}]",
		    "an integer out of range", 1 },
		{ "[{\"type\":\"qemu\",\"mem\":1e999}]", "out of range", 1 },
		{ "[{\"type\":\"qemu\",\"vmid\":NaN}]", "expected a value",
		    1 },
		{ "[{\"type\":\"qemu\" \"vmid\":1}]", "expected ',' or '}'",
		    1 },
		{ "[{\"type\":\"qemu\",\"vmid\" 1}]", "expected ':'", 1 },
		{ "[{'type':'qemu'}]", "expected a member name", 1 },
		{ "[] []", "byte 3: text after the end", 1 },
		{ "", "byte 0: the text ends where a value must be", 1 },
		{ "{\"data\":[]}", "byte 0: the resource list is not a list",
		    0 },
	};
	struct pve_resources	 rs, before;
	char			*cause, *big;
	size_t			 i;
	const char		*ok = "[{\"type\":\"qemu\",\"vmid\":100}]";

	memset(&rs, 0, sizeof rs);
	T_EQ_INT(pve_resources_parse(ok, strlen(ok), &rs, NULL), 0);
	before = rs;
	for (i = 0; i < nitems(bad); i++) {
		json_t	*j;

		cause = NULL;
		T_EQ_INT(pve_resources_parse(bad[i].text, strlen(bad[i].text),
		    &rs, &cause), -1);
		T_CONTAINS(cause, bad[i].why);
		T_CONTAINS(cause, "byte ");
		free(cause);
		T_OK(memcmp(&rs, &before, sizeof rs) == 0);
		j = json_loadb(bad[i].text, strlen(bad[i].text),
		    JSON_DECODE_ANY, NULL);
		if (bad[i].json_too)
			T_OK(j == NULL);
		json_decref(j);
	}
	/* Caps: a name longer than any Proxmox allows, nesting deeper
	 * than any reply has. */
	big = long_name(PVE_RES_STRING_MAX + 1);
	cause = NULL;
	T_EQ_INT(pve_resources_parse(big, strlen(big), &rs, &cause), -1);
	T_CONTAINS(cause, "a string longer than 4096 bytes");
	free(cause);
	free(big);
	big = long_name(PVE_RES_STRING_MAX);
	T_EQ_INT(pve_resources_parse(big, strlen(big), &before, NULL), 0);
	T_EQ_INT(strlen(before.v[0].name), PVE_RES_STRING_MAX);
	pve_resources_release(&before);
	free(big);
	big = deep(JSCAN_DEPTH_MAX + 1);
	cause = NULL;
	T_EQ_INT(pve_resources_parse(big, strlen(big), &rs, &cause), -1);
	T_CONTAINS(cause, "nested deeper than 64");
	free(cause);
	free(big);
	T_EQ_INT(rs.n, 1);
	T_EQ_INT(rs.v[0].vmid, 100);
	pve_resources_release(&rs);
}

/* ---- through the Proxmox client ---- */

static const char	*reply_body;
static long		 reply_status;

static int
replay(void *arg, const char *method, const char *path, long *status,
    char *reason, size_t reasonlen, struct buf *body)
{
	int	*calls = arg;

	(*calls)++;
	if (strcmp(method, "GET") != 0 ||
	    strcmp(path, "/cluster/resources") != 0) {
		*status = 404;
		snprintf(reason, reasonlen, "Not Found");
		return 0;
	}
	*status = reply_status;
	snprintf(reason, reasonlen, reply_status == 200 ? "OK" : "Failed");
	buf_puts(body, reply_body);
	return 0;
}

static void
test_read_through_client(void)
{
	struct pve		*pve;
	struct pve_resources	 rs;
	struct pve_res		*was;
	json_t			*data = NULL;
	char			*cause = NULL;
	int			 calls = 0;

	pve = pve_create_replay(replay, &calls);
	memset(&rs, 0, sizeof rs);
	reply_status = 200;
	reply_body = "{\"data\":[{\"type\":\"lxc\",\"vmid\":200,\"name\":"
	    "\"ct\",\"node\":\"pve1\",\"status\":\"running\"}],"
	    "\"total\":1,\"x\":{\"y\":[]}}";
	T_EQ_INT(pve_resources_read(pve, NULL, &rs, &cause), PVE_OK);
	T_EQ_INT(rs.n, 1);
	T_EQ_STR(rs.v[0].name, "ct");
	was = rs.v;

	/* Cut short, garbage after the data, no data, data not a list:
	 * refused, the list read before stays. */
	reply_body = "{\"data\":[{\"type\":\"lxc\",\"vmid\":201";
	T_EQ_INT(pve_resources_read(pve, NULL, &rs, &cause), PVE_TEMPORARY);
	T_CONTAINS(cause, "Proxmox sent a reply that is not JSON");
	T_CONTAINS(cause, "the text ends inside an object");
	free(cause);
	cause = NULL;
	reply_body = "{\"data\":[]} trailing";
	T_EQ_INT(pve_resources_read(pve, NULL, &rs, &cause), PVE_TEMPORARY);
	T_CONTAINS(cause, "text after the end of the value");
	free(cause);
	cause = NULL;
	reply_body = "{\"errors\":{}}";
	T_EQ_INT(pve_resources_read(pve, NULL, &rs, &cause), PVE_TEMPORARY);
	T_CONTAINS(cause, "the reply has no data");
	free(cause);
	cause = NULL;
	reply_body = "{\"data\":{\"type\":\"lxc\"}}";
	T_EQ_INT(pve_resources_read(pve, NULL, &rs, &cause), PVE_TEMPORARY);
	T_CONTAINS(cause, "the resource list is not a list");
	free(cause);
	cause = NULL;
	T_OK(rs.v == was);
	T_EQ_INT(rs.n, 1);
	T_EQ_INT(rs.v[0].vmid, 200);

	/* An error reply still reads as one (its message). */
	reply_status = 500;
	reply_body = "{\"message\":\"cluster not ready - no quorum?\"}";
	T_OK(pve_resources_read(pve, NULL, &rs, &cause) != PVE_OK);
	T_CONTAINS(cause, "no quorum");
	free(cause);
	cause = NULL;

	/* Other requests of the thread get trees as before. */
	reply_status = 200;
	reply_body = "{\"data\":[{\"type\":\"qemu\",\"vmid\":300}]}";
	T_EQ_INT(pve_request(pve, "GET", "/cluster/resources", NULL, 0, &data,
	    &cause), PVE_OK);
	T_OK(json_is_array(data));
	T_EQ_INT(json_array_size(data), 1);
	json_decref(data);
	T_OK(calls > 0);
	pve_resources_release(&rs);
	pve_free(pve);
}

int
main(void)
{
	T_RUN(test_same_as_tree);
	T_RUN(test_reals_exact);
	T_RUN(test_index_same);
	T_RUN(test_refused);
	T_RUN(test_read_through_client);
	return t_summary();
}
