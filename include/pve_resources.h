/*
 * pve_resources.h - the /cluster/resources list as compact records
 * (exec/pve_resources.c): one fixed-size record per node, guest and
 * storage with only the members pvebot reads, and their strings in one
 * block. The monitor reads the list once per cycle and hands the same
 * records to the guest index; at 10,000 guests that is two allocations
 * instead of a tree of several hundred thousand.
 *
 * The reply is read by a strict scanner (jscan.h) straight from the
 * HTTP body: malformed or oversized input is refused as a whole, with
 * the byte where it went wrong, and leaves the caller's list as it was.
 * Members read the way jsonx.h reads them from a tree: a string member
 * that is not a string is NULL, an integer member is an integer, a real
 * in range (truncated) or a decimal string, else 0.
 */
#ifndef PVEBOT_PVE_RESOURCES_H
#define PVEBOT_PVE_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

struct jscan;
struct pve;
struct pve_guest;

/* Entries of other types (pool, sdn, ...) are left out. */
enum pve_res_type {
	PVE_RES_NODE = 1,
	PVE_RES_QEMU,
	PVE_RES_LXC,
	PVE_RES_STORAGE
};

/* Longest string member kept (a longer one refuses the list). */
#define PVE_RES_STRING_MAX	4096
/* Most entries in one list. */
#define PVE_RES_MAX		500000

struct pve_res {
	enum pve_res_type	 type;
	int			 vmid;		/* 1..999999999 or 0 */
	int			 is_template;
	int			 shared;
	double			 cpu;		/* a JSON number, else 0 */
	int64_t			 maxcpu, mem, maxmem, disk, maxdisk, uptime;
	/* Into the list's string block; NULL when absent or not a string. */
	const char		*node, *name, *status, *lock, *pool, *tags;
	const char		*storage, *content;
};

struct pve_resources {
	struct pve_res	*v;
	size_t		 n;
	char		*text;		/* the strings */
	size_t		*by_vmid;	/* guests with a VMID, by VMID */
	size_t		 nguests;
};

#define pve_res_is_guest(r) \
	((r)->type == PVE_RES_QEMU || (r)->type == PVE_RES_LXC)

/*
 * Reads the list (a JSON array) at the scanner's position. On success
 * *out is replaced (release it first or pass a zeroed one); on error the
 * scanner holds the reason and *out is untouched.
 */
int	pve_resources_scan(struct jscan *, struct pve_resources *out);
/* The same over a whole text holding only the array. *cause is "byte N:
 * why" (caller frees). */
int	pve_resources_parse(const char *json, size_t len,
	    struct pve_resources *out, char **cause);
void	pve_resources_release(struct pve_resources *);
/* GET /cluster/resources into *out (replaced only on PVE_OK); a
 * pve_status. `type` ("vm", "node", "storage") asks Proxmox for one kind
 * only; NULL for all. */
int	pve_resources_read(struct pve *, const char *type,
	    struct pve_resources *out, char **cause);

/* A guest record as a pve_guest (pve_guest_from_json's rules); -1 for
 * one that is not a guest or has no VMID. */
int	pve_guest_from_res(const struct pve_res *, struct pve_guest *);
/* "node", "qemu", "lxc", "storage". */
const char *pve_res_type_name(const struct pve_res *);
/* The guest with this VMID (the first listed), or NULL. */
const struct pve_res *pve_resources_guest(const struct pve_resources *,
	    int vmid);

/*
 * For the next 2xx replies this thread reads (pve_reply_parse), a reader
 * of the "data" member in place of a jansson tree: fn gets the scanner
 * at the member's value and must consume it (0) or fail (-1, with
 * jscan_fail). The reply's *data is then JSON null. NULL fn: trees again.
 */
typedef int	(*pve_data_reader)(void *arg, struct jscan *);
void	pve_reply_set_reader(pve_data_reader, void *arg);

#endif
