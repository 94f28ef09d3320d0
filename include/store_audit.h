/*
 * store_audit.h - reading the audit log back (src/store/audit_list.c):
 * the newest rows for `pvebot audit`. Writing and verifying the log are
 * store.h's (audit.c); reading changes nothing.
 */
#ifndef PVEBOT_STORE_AUDIT_H
#define PVEBOT_STORE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

struct store;

struct audit_row {
	int64_t	 id;
	int64_t	 at;		/* UNIX s */
	char	*actor;
	char	*event;
	char	*detail;
};

/*
 * The newest `limit` rows, oldest first; 0 or -1. Free with
 * audit_rows_free().
 */
int	audit_recent(struct store *, int64_t limit, struct audit_row **,
	    size_t *n);
void	audit_rows_free(struct audit_row *, size_t n);

#endif
