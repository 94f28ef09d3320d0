/*
 * pve_resources.c - /cluster/resources as compact records (see
 * pve_resources.h).
 *
 * One pass over the reply: each entry's members are matched by name and
 * the kept strings decoded into one block sized from the text (a decoded
 * string is never longer than its JSON form with the quotes), so the
 * records can point into it while it is filled. Nothing is published
 * until the whole list has been read: a list that fails half way leaves
 * the caller's as it was.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exec_proxmox.h"
#include "jscan.h"
#include "log.h"
#include "pve_resources.h"
#include "util.h"

enum member {
	M_NONE, M_TYPE, M_VMID, M_TEMPLATE, M_SHARED, M_CPU, M_MAXCPU,
	M_MEM, M_MAXMEM, M_DISK, M_MAXDISK, M_UPTIME, M_NODE, M_NAME,
	M_STATUS, M_LOCK, M_POOL, M_TAGS, M_STORAGE, M_CONTENT
};

/* A name against a literal, inline (most names are 3 to 8 bytes). */
static int
is(const char *key, const char *name)
{
	while (*name != '\0' && *key == *name) {
		key++;
		name++;
	}
	return *key == '\0' && *name == '\0';
}

/* By first letter, then name: the member names of an entry are few. */
static enum member
member_of(const char *key)
{
	switch (key[0]) {
	case 'c':
		return is(key, "cpu") ? M_CPU : is(key, "content") ?
		    M_CONTENT : M_NONE;
	case 'd':
		return is(key, "disk") ? M_DISK : M_NONE;
	case 'l':
		return is(key, "lock") ? M_LOCK : M_NONE;
	case 'm':
		if (key[1] == 'e')
			return is(key, "mem") ? M_MEM : M_NONE;
		return is(key, "maxcpu") ? M_MAXCPU : is(key, "maxmem") ?
		    M_MAXMEM : is(key, "maxdisk") ? M_MAXDISK : M_NONE;
	case 'n':
		return is(key, "node") ? M_NODE : is(key, "name") ? M_NAME :
		    M_NONE;
	case 'p':
		return is(key, "pool") ? M_POOL : M_NONE;
	case 's':
		return is(key, "status") ? M_STATUS : is(key, "storage") ?
		    M_STORAGE : is(key, "shared") ? M_SHARED : M_NONE;
	case 't':
		return is(key, "type") ? M_TYPE : is(key, "tags") ? M_TAGS :
		    is(key, "template") ? M_TEMPLATE : M_NONE;
	case 'u':
		return is(key, "uptime") ? M_UPTIME : M_NONE;
	case 'v':
		return is(key, "vmid") ? M_VMID : M_NONE;
	}
	return M_NONE;
}

struct reading {
	struct pve_res	*v;
	size_t		 n, size;
	char		*text;
	size_t		 used, cap;
};

/* A string member: into the block, or NULL when it is not a string. */
static int
read_string(struct jscan *js, struct reading *rd, const char **out)
{
	size_t	 len, room;

	if (jscan_peek(js) != JSCAN_STRING) {
		*out = NULL;
		return jscan_skip(js);
	}
	room = rd->cap - rd->used;
	if (room > PVE_RES_STRING_MAX + 1)
		room = PVE_RES_STRING_MAX + 1;
	if (jscan_string(js, rd->text + rd->used, room, &len) != 0)
		return -1;
	*out = rd->text + rd->used;
	rd->used += len + 1;
	return 0;
}

/* An integer member the way jx_int reads it (a string is decoded where
 * the next string would go, and not kept). */
static int
read_int(struct jscan *js, struct reading *rd, int64_t *out)
{
	const char	*errstr;
	size_t		 room = rd->cap - rd->used;

	*out = 0;
	switch (jscan_peek(js)) {
	case JSCAN_NUMBER:
		return jscan_number(js, NULL, out);
	case JSCAN_STRING:
		if (room > PVE_RES_STRING_MAX + 1)
			room = PVE_RES_STRING_MAX + 1;
		if (jscan_string(js, rd->text + rd->used, room, NULL) != 0)
			return -1;
		*out = strtonum(rd->text + rd->used, INT64_MIN, INT64_MAX,
		    &errstr);
		return 0;
	default:
		return jscan_skip(js);
	}
}

static int
read_entry(struct jscan *js, struct reading *rd)
{
	struct pve_res	 r;
	char		 key[16];
	const char	*type = NULL, *s;
	int64_t		 i;
	int		 rc;

	memset(&r, 0, sizeof r);
	if (jscan_object(js) != 0)
		return -1;
	while ((rc = jscan_key(js, key, sizeof key)) == 1) {
		enum member	 m = member_of(key);
		int		 bad = 0;

		switch (m) {
		case M_NONE:
			bad = jscan_skip(js);
			break;
		case M_TYPE:
			/* Kept only to be compared: at most "storage". */
			if (jscan_peek(js) != JSCAN_STRING) {
				type = NULL;
				bad = jscan_skip(js);
			} else
				bad = read_string(js, rd, &type);
			break;
		case M_CPU:
			r.cpu = 0;
			if (jscan_peek(js) == JSCAN_NUMBER)
				bad = jscan_number(js, &r.cpu, NULL);
			else
				bad = jscan_skip(js);
			break;
		case M_VMID:
		case M_TEMPLATE:
		case M_SHARED:
		case M_MAXCPU:
		case M_MEM:
		case M_MAXMEM:
		case M_DISK:
		case M_MAXDISK:
		case M_UPTIME:
			bad = read_int(js, rd, &i);
			if (m == M_VMID)
				r.vmid = i > 0 && i <= 999999999 ? (int)i : 0;
			else if (m == M_TEMPLATE)
				r.is_template = i != 0;
			else if (m == M_SHARED)
				r.shared = i != 0;
			else if (m == M_MAXCPU)
				r.maxcpu = i;
			else if (m == M_MEM)
				r.mem = i;
			else if (m == M_MAXMEM)
				r.maxmem = i;
			else if (m == M_DISK)
				r.disk = i;
			else if (m == M_MAXDISK)
				r.maxdisk = i;
			else
				r.uptime = i;
			break;
		default:
			bad = read_string(js, rd, &s);
			if (m == M_NODE)
				r.node = s;
			else if (m == M_NAME)
				r.name = s;
			else if (m == M_STATUS)
				r.status = s;
			else if (m == M_LOCK)
				r.lock = s;
			else if (m == M_POOL)
				r.pool = s;
			else if (m == M_TAGS)
				r.tags = s;
			else if (m == M_STORAGE)
				r.storage = s;
			else
				r.content = s;
			break;
		}
		if (bad != 0)
			return -1;
	}
	if (rc != 0)
		return -1;
	if (type == NULL)
		return 0;
	if (strcmp(type, "node") == 0)
		r.type = PVE_RES_NODE;
	else if (strcmp(type, "qemu") == 0)
		r.type = PVE_RES_QEMU;
	else if (strcmp(type, "lxc") == 0)
		r.type = PVE_RES_LXC;
	else if (strcmp(type, "storage") == 0)
		r.type = PVE_RES_STORAGE;
	else
		return 0;
	if (rd->n == PVE_RES_MAX)
		return jscan_fail(js, "more than %d entries", PVE_RES_MAX);
	if (rd->n == rd->size) {
		rd->size = rd->size == 0 ? 256 : rd->size * 2;
		rd->v = xreallocarray(rd->v, rd->size, sizeof *rd->v);
	}
	rd->v[rd->n++] = r;
	return 0;
}

static int
vmid_cmp(const void *a, const void *b, void *arg)
{
	const struct pve_res	*v = arg;
	size_t			 x = *(const size_t *)a, y = *(const size_t *)b;

	if (v[x].vmid != v[y].vmid)
		return v[x].vmid < v[y].vmid ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Proxmox lists guests by VMID: sorting is then one pass. */
static void
index_vmids(struct pve_resources *rs)
{
	size_t	 i, n = 0;
	int	 sorted = 1;

	rs->by_vmid = xreallocarray(NULL, rs->n + 1, sizeof *rs->by_vmid);
	for (i = 0; i < rs->n; i++) {
		if (!pve_res_is_guest(&rs->v[i]) || rs->v[i].vmid <= 0)
			continue;
		if (n > 0 && rs->v[rs->by_vmid[n - 1]].vmid >= rs->v[i].vmid)
			sorted = 0;
		rs->by_vmid[n++] = i;
	}
	rs->nguests = n;
	if (!sorted)
		qsort_r(rs->by_vmid, n, sizeof *rs->by_vmid, vmid_cmp, rs->v);
}

int
pve_resources_scan(struct jscan *js, struct pve_resources *out)
{
	struct reading	 rd;
	int		 rc;

	memset(&rd, 0, sizeof rd);
	if (jscan_peek(js) != JSCAN_ARRAY)
		return jscan_fail(js, "the resource list is not a list");
	rd.cap = (size_t)(js->end - js->p) + 1;
	rd.text = xmalloc(rd.cap);
	if (jscan_array(js) != 0)
		goto fail;
	while ((rc = jscan_next(js)) == 1) {
		if (jscan_peek(js) != JSCAN_OBJECT) {
			/* Not an entry: checked, then left out. */
			if (jscan_skip(js) != 0)
				goto fail;
			continue;
		}
		if (read_entry(js, &rd) != 0)
			goto fail;
	}
	if (rc != 0)
		goto fail;
	out->v = rd.v;
	out->n = rd.n;
	out->text = rd.text;
	index_vmids(out);
	return 0;
fail:
	free(rd.v);
	free(rd.text);
	return -1;
}

int
pve_resources_parse(const char *json, size_t len, struct pve_resources *out,
    char **cause)
{
	struct jscan		 js;
	struct pve_resources	 tmp;

	memset(&tmp, 0, sizeof tmp);
	jscan_init(&js, json, len);
	if (pve_resources_scan(&js, &tmp) != 0 || jscan_end(&js) != 0) {
		pve_resources_release(&tmp);
		return set_cause(cause, "%s", jscan_error(&js));
	}
	*out = tmp;
	return 0;
}

void
pve_resources_release(struct pve_resources *r)
{
	if (r == NULL)
		return;
	free(r->v);
	free(r->text);
	free(r->by_vmid);
	memset(r, 0, sizeof *r);
}

static int
reader(void *arg, struct jscan *js)
{
	struct pve_resources	*tmp = arg;

	pve_resources_release(tmp);
	return pve_resources_scan(js, tmp);
}

int
pve_resources_read(struct pve *pve, const char *type,
    struct pve_resources *out, char **cause)
{
	struct pve_param	 p[] = { { "type", type } };
	struct pve_resources	 tmp;
	json_t			*data = NULL;
	char			*text;
	int			 rc;

	memset(&tmp, 0, sizeof tmp);
	pve_reply_set_reader(reader, &tmp);
	rc = pve_request(pve, "GET", "/cluster/resources", p, type != NULL ?
	    1 : 0, &data, cause);
	pve_reply_set_reader(NULL, NULL);
	if (rc != PVE_OK) {
		pve_resources_release(&tmp);
		json_decref(data);
		return rc;
	}
	if (data != NULL && !json_is_null(data)) {
		/*
		 * The reply was read somewhere the reader does not reach
		 * (another thread): read its tree the same way.
		 */
		text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(data);
		pve_resources_release(&tmp);
		if (text == NULL || pve_resources_parse(text, strlen(text),
		    &tmp, cause) != 0) {
			free(text);
			return PVE_TEMPORARY;
		}
		free(text);
	} else
		json_decref(data);
	if (tmp.text == NULL) {
		set_cause(cause, "Proxmox sent a resource list that is not a "
		    "list");
		return PVE_TEMPORARY;
	}
	pve_resources_release(out);
	*out = tmp;
	return 0;
}

const struct pve_res *
pve_resources_guest(const struct pve_resources *rs, int vmid)
{
	size_t	 lo = 0, hi = rs->nguests, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (rs->v[rs->by_vmid[mid]].vmid < vmid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < rs->nguests && rs->v[rs->by_vmid[lo]].vmid == vmid)
		return &rs->v[rs->by_vmid[lo]];
	return NULL;
}

const char *
pve_res_type_name(const struct pve_res *r)
{
	switch (r->type) {
	case PVE_RES_NODE:
		return "node";
	case PVE_RES_QEMU:
		return "qemu";
	case PVE_RES_LXC:
		return "lxc";
	case PVE_RES_STORAGE:
		return "storage";
	}
	return "?";
}
