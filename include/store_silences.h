/*
 * store_silences.h - the silences of alerts (table silences,
 * store/alerts.c): one set of statements for all that makes, ends or
 * reads them: the monitor and its buttons (src/monitor/), the Proxmox
 * webhook's buttons and filter (src/http/hook_*.c), and the chat
 * commands `silence`, `unsilence` and `alerts` (src/core/router.c).
 *
 * A silence covers the alerts its matcher matches from starts_at to
 * ends_at, unless someone ends it first (ended_by). Each function is one
 * statement on the caller's connection and joins the caller's
 * transaction, so a silence and its audit row land together. Returns: 0
 * or -1 for writes; rows come back as arrays the caller frees with the
 * matching _free function (NULL and 0 when there are none; on -1, the
 * rows read before the error).
 */
#ifndef PVEBOT_STORE_SILENCES_H
#define PVEBOT_STORE_SILENCES_H

#include <stddef.h>
#include <stdint.h>

struct store;

/*
 * A silence of the alerts `matcher` matches, from `starts_at` (also its
 * creation time) to `ends_at`; `reason` may be NULL. *id (may be NULL)
 * gets its id.
 */
int	silence_add(struct store *, const char *matcher, const char *by,
	    const char *reason, int64_t starts_at, int64_t ends_at,
	    int64_t *id);
/* Ends silence `id` at `now` if it is in force: 1 ended, 0 there is no
 * such silence in force, -1 error. */
int	silence_end(struct store *, int64_t id, const char *by, int64_t now);
/*
 * The matchers of the silences in force at `now` (not ended, started,
 * not over): what alerts are checked against. Free with strv_free().
 */
int	silences_active(struct store *, int64_t now, char ***matchers,
	    size_t *n);

/* A silence as `alerts` lists it. */
struct silence_row {
	int64_t	 id;
	char	*matcher;
	int64_t	 ends_at;
	char	*created_by;
	char	*reason;	/* "" when none was given */
};
/* The silences not ended and ending after `now` (started or not), in
 * id order. Free with silence_rows_free(). */
int	silences_open(struct store *, int64_t now, struct silence_row **,
	    size_t *n);
void	silence_rows_free(struct silence_row *, size_t n);

#endif
