/*
 * fuzz_pve_resources.c - libFuzzer target for the compact
 * /cluster/resources records (src/exec/pve_resources.c) and the strict
 * scanner under them (src/util/jscan.c), held against jansson, which
 * read these replies before.
 *
 * Input: the text of a resource list. Beyond "no crash, no leak, no UB":
 * the scanner is never more lenient than jansson (a text it accepts
 * jansson accepts, a text jansson refuses it refuses), a refusal says
 * where ("byte N: ...") and leaves the previous list as it was, and an
 * accepted list holds the same guests as pve_guest_from_json makes of
 * jansson's tree, entry by entry, with every string inside the block.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exec_proxmox.h"
#include "jsonx.h"
#include "pve_resources.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL &&
	    strcmp(a, b) == 0);
}

static void
same_guest(const struct pve_guest *a, const struct pve_guest *b)
{
	size_t	 i;

	if (a->vmid != b->vmid || !same_str(a->name, b->name) ||
	    !same_str(a->node, b->node) || !same_str(a->type, b->type) ||
	    !same_str(a->status, b->status) || !same_str(a->lock, b->lock) ||
	    !same_str(a->pool, b->pool) || a->ntags != b->ntags ||
	    a->is_template != b->is_template || a->maxcpu != b->maxcpu ||
	    a->mem != b->mem || a->maxmem != b->maxmem ||
	    a->disk != b->disk || a->maxdisk != b->maxdisk ||
	    a->uptime != b->uptime || !(a->cpu == b->cpu ||
	    (a->cpu != a->cpu && b->cpu != b->cpu)))
		abort();
	for (i = 0; i < a->ntags; i++) {
		if (strcmp(a->tags[i], b->tags[i]) != 0)
			abort();
	}
}

static int
in_block(const struct pve_resources *rs, size_t len, const char *s)
{
	return s == NULL || (s >= rs->text && s < rs->text + len + 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*text = (const char *)data;
	struct pve_resources	 rs, keep;
	struct pve_guest	 a, b;
	json_t			*tree, *o;
	json_error_t		 jerr;
	char			*cause = NULL;
	size_t			 i, k = 0;
	int			 rc;

	memset(&rs, 0, sizeof rs);
	keep = rs;
	rc = pve_resources_parse(text, size, &rs, &cause);
	tree = json_loadb(text, size, JSON_DECODE_ANY, &jerr);
	if (rc != 0) {
		if (cause == NULL || strncmp(cause, "byte ", 5) != 0 ||
		    memcmp(&rs, &keep, sizeof rs) != 0)
			abort();
		free(cause);
		json_decref(tree);
		return 0;
	}
	/* Accepted: jansson accepts it too, as an array. */
	if (tree == NULL || !json_is_array(tree))
		abort();
	json_array_foreach(tree, i, o) {
		const char		*type = jx_str(o, "type", NULL);
		const struct pve_res	*r;

		if (!json_is_object(o) || type == NULL ||
		    (strcmp(type, "node") != 0 && strcmp(type, "qemu") != 0 &&
		    strcmp(type, "lxc") != 0 && strcmp(type, "storage") != 0))
			continue;
		if (k >= rs.n)
			abort();
		r = &rs.v[k++];
		if (strcmp(pve_res_type_name(r), type) != 0 ||
		    !in_block(&rs, size, r->node) ||
		    !in_block(&rs, size, r->name) ||
		    !in_block(&rs, size, r->tags) ||
		    !in_block(&rs, size, r->storage))
			abort();
		/* A member given twice: jansson keeps the last, the
		 * scanner too; both are JSON. */
		if (pve_guest_from_json(o, &a) == 0) {
			if (pve_guest_from_res(r, &b) != 0)
				abort();
			same_guest(&a, &b);
			pve_guest_release(&a);
			pve_guest_release(&b);
			if (pve_resources_guest(&rs, r->vmid) == NULL)
				abort();
		} else if (pve_guest_from_res(r, &b) == 0)
			abort();
	}
	if (k != rs.n)
		abort();
	json_decref(tree);
	pve_resources_release(&rs);
	return 0;
}
