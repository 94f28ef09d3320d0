/*
 * store_prov.h - pvebot's allocation table (prov_alloc, src/store/prov.c):
 * the addresses, MACs, names and VMIDs it handed out, by kind and value,
 * with the node, job and VMID they are for.
 *
 * A row is live until released_at is set; a released row stays as
 * history. A unique index on the live rows (kind, value) refuses a
 * second live row of the same value, so two connections can never both
 * hold one. Each function is one statement and joins the caller's
 * transaction: the choice of a value and its row must be made in one
 * BEGIN IMMEDIATE transaction (prov.h) so writers queue.
 */
#ifndef PVEBOT_STORE_PROV_H
#define PVEBOT_STORE_PROV_H

#include <stddef.h>
#include <stdint.h>

struct store;

/*
 * Is `value` of `kind` live: 1, 0, -1 on error. nocase: compared
 * without case (names and VMIDs, whose case Proxmox ignores; ASCII).
 */
int	 prov_row_live(struct store *, const char *kind, const char *value,
	    int nocase);
/* Records a live row for job/vmid; 0, or -1 with *cause. */
int	 prov_row_add(struct store *, const char *kind, const char *value,
	    const char *node, int64_t job_id, int vmid, char **cause);

/* One live row of a job. */
struct prov_row {
	int	 vmid;
	char	*kind;
	char	*value;
	char	*node;
};
/*
 * The live rows of a job, by VMID then in the order they were made;
 * 0 or -1. Free with prov_rows_free().
 */
int	 prov_rows_of_job(struct store *, int64_t job_id,
	    struct prov_row **, size_t *n);
void	 prov_rows_free(struct prov_row *, size_t n);
/* Does the job hold a live row: 1, 0, -1 on error. */
int	 prov_job_holds(struct store *, int64_t job_id);
/* How many live addresses (kind ip) are for `node`; -1 on error. */
int64_t	 prov_ips_held(struct store *, const char *node);

/* Releases what a job allocated (all kinds); how many rows, -1 error. */
int	 prov_release_job(struct store *, int64_t job_id);
/* Releases what a job allocated for one VMID; 0 or -1. */
int	 prov_release_target(struct store *, int64_t job_id, int vmid);
/* Releases one value of a kind; 1 released, 0 none live, -1 error. */
int	 prov_release_value(struct store *, const char *kind,
	    const char *value);
/*
 * Releases what jobs that ended without running hold (denied, expired,
 * cancelled, refused, failed); how many rows, -1 error.
 */
int	 prov_sweep(struct store *);

#endif
