/*
 * policy_int.h - the loaded policy as policy_load.c builds it and
 * policy.c / policy_approval.c read it. Private to src/policy/.
 *
 * Everything is immutable after loading. Roles, users and windows are
 * referred to by index; every rule remembers the file and line it came
 * from, so each decision can name it.
 */
#ifndef PVEBOT_POLICY_INT_H
#define PVEBOT_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct pol_loc {
	const char	*file;		/* points into policy->files */
	int		 line;		/* 1-based */
	int		 column;	/* 1-based */
};

struct pol_strv {
	char		**v;
	size_t		  n;
	struct pol_loc	 *locs;		/* where each pattern was written;
					   NULL for lists of other things */
};

struct pol_idxv {
	size_t		 *v;
	size_t		  n;
};

struct pol_role {
	char		*name;
	struct pol_loc	 loc;
	struct pol_strv	 request;	/* action globs */
	struct pol_strv	 approve;	/* action globs */
};

struct pol_user {
	char		*name;
	struct pol_loc	 loc;
	struct pol_strv	 identities;
	struct pol_idxv	 roles;
};

#define POL_DAYS_ALL 0x7f		/* bit 0 = Sunday, as tm_wday */

struct pol_window {
	char		*name;
	struct pol_loc	 loc;
	unsigned	 days;
	int		 from, to;	/* minutes after local midnight */
	char		*tz;		/* NULL = UTC */
};

struct pol_vmrange {
	int		 lo, hi;
};

enum pol_effect {
	POL_SELF_PROTECT,
	POL_PROHIBIT,
	POL_REQUIRE_APPROVAL,
	POL_ALLOW
};

struct pol_rule {
	char		*name;		/* may be NULL */
	char		*why;		/* the rule's own sentence, may be NULL */
	struct pol_loc	 loc;
	enum pol_effect	 effect;

	/* Selectors: an empty list or -1 means "any". */
	struct pol_strv	 actions;
	int		 has_target;	/* the rule names a target at all */
	struct pol_vmrange *vmids;
	size_t		 nvmids;
	struct pol_strv	 names, tags, nodes, pools, snapshots, storages;
	int		 type;		/* 0 any, 1 qemu, 2 lxc */
	int		 is_template;	/* -1 any, 0, 1 */
	struct pol_idxv	 roles;		/* requester roles */
	struct pol_idxv	 during;	/* windows the time must be in */
	struct pol_idxv	 outside;	/* windows the time must not be in */
	int		 mutating;	/* -1 any, 0, 1 */

	/* require_approval */
	struct pol_idxv	 approvers;	/* empty: roles that may approve it */
	int		 approvals;
	int64_t		 expiry;
	int		 self_approve;
	int		 reason_required;
	int		 snapshot_before;
};

struct policy {
	struct pol_strv	 files;
	struct pol_role	*roles;
	size_t		 nroles;
	struct pol_user	*users;
	size_t		 nusers;
	struct pol_window *windows;
	size_t		 nwindows;
	struct pol_rule	*rules;
	size_t		 nrules;
};

const struct pol_user *pol_find_user(const struct policy *, const char *);
int	pol_role_may(const struct pol_strv *, const char *action);
int	pol_window_contains(const struct pol_window *, int64_t now);
/* "45s", "3m", "2h", "1h30m", "2d": short, for chat sentences. */
char	*pol_short_duration(int64_t secs, char *buf, size_t len);

#endif
