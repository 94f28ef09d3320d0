/*
 * guest_index.h - the guests of the cluster in memory (core/
 * guest_index.c), so the router resolves names and VMIDs with no I/O.
 *
 * The index holds one immutable view at a time: every guest with its
 * VMID, name, node, type, tags, status, lock, template flag and pool,
 * sorted for lookups by VMID and by name. A new list from Proxmox (the
 * monitor's cycle, a worker's read of /cluster/resources) replaces the
 * view as a whole; a reader that holds a view keeps it until it lets go,
 * so no reader ever sees half an update and no writer waits for readers.
 * Each view has a version and knows its age, so callers can tell a
 * fresh answer from an old one and send a lookup to a worker instead.
 */
#ifndef PVEBOT_GUEST_INDEX_H
#define PVEBOT_GUEST_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct pve_guest;
struct guest_index;
struct guest_view;

struct guest_index	*guest_index_create(void);
void			 guest_index_free(struct guest_index *);
/*
 * A fresh list replaces the view; the guests are copied. The nodes and
 * storages of the previous view are kept.
 */
void	guest_index_publish(struct guest_index *, const struct pve_guest *,
	    size_t n);
/* The cluster as /cluster/resources shows it: guests, nodes, storages. */
struct index_node {
	const char	*name;
	int		 online;
};
struct index_storage {
	const char	*node;
	const char	*id;
};
void	guest_index_publish_cluster(struct guest_index *,
	    const struct pve_guest *, size_t n, const struct index_node *,
	    size_t nnodes, const struct index_storage *, size_t nstorages);
/*
 * The same from /cluster/resources records (pve_resources.h): guests,
 * nodes and storages, without an allocation per guest.
 */
struct pve_resources;
void	guest_index_publish_resources(struct guest_index *,
	    const struct pve_resources *);
/* The current view with a reference (NULL before the first publish). */
const struct guest_view *guest_index_get(struct guest_index *);
void	guest_view_release(const struct guest_view *);

uint64_t guest_view_version(const struct guest_view *);
/* Milliseconds since the list was read from Proxmox. */
int64_t	guest_view_age_ms(const struct guest_view *);
size_t	guest_view_count(const struct guest_view *);
const struct pve_guest *guest_view_at(const struct guest_view *, size_t i);
const struct pve_guest *guest_view_vmid(const struct guest_view *, int vmid);

/*
 * Nodes and storages, when the view knows them: 1 yes, 0 no, -1 the view
 * has no node or storage list (nothing can be said). *online tells a
 * known node's state (may be NULL).
 */
int	guest_view_node(const struct guest_view *, const char *name,
	    int *online);
int	guest_view_storage(const struct guest_view *, const char *node,
	    const char *id);

/*
 * Resolves a VMID or a guest name the way Proxmox users expect: an exact
 * name first, a case-insensitive one only when there is none. On success
 * *out is a copy (pve_guest_release). A miss says so and suggests the
 * closest names ("did you mean"); an ambiguous name lists the matches.
 */
int	guest_view_resolve(const struct guest_view *, const char *ref,
	    struct pve_guest *out, char **cause);

#endif
