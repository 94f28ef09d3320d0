/*
 * store_router.h - the monitor's alerts and silences as the chat side
 * sees them (src/store/router_state.c): what `alerts` lists, the
 * silences `silence` and `unsilence` make and end, and the conditions
 * the demo's "/sim until" waits for. The monitor owns the alerts; these
 * functions only read them. Each is one statement and joins the
 * caller's transaction (the router's, so a silence and its audit row
 * land together).
 */
#ifndef PVEBOT_STORE_ROUTER_H
#define PVEBOT_STORE_ROUTER_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* An alert not resolved yet (pending, firing or flapping). */
struct router_alert {
	int64_t	 id;
	char	*rule;
	char	*target;
	char	*state;
	char	*severity;
	int64_t	 since;		/* fired, else pending since, else 0 */
	char	*acked_by;	/* NULL: not acknowledged */
};
/* In id order; 0 or -1. Free with router_alerts_free(). */
int	router_alerts_open(struct store *, struct router_alert **,
	    size_t *n);
void	router_alerts_free(struct router_alert *, size_t n);

/* A silence in force. */
struct router_silence {
	int64_t	 id;
	char	*matcher;
	int64_t	 ends_at;
	char	*created_by;
	char	*reason;	/* "" when none was given */
};
/* Those not ended and ending after `now`, in id order; 0 or -1. Free
 * with router_silences_free(). */
int	router_silences_active(struct store *, int64_t now,
	    struct router_silence **, size_t *n);
void	router_silences_free(struct router_silence *, size_t n);
/* A silence from `now` to `ends_at` (reason may be NULL); 0 with *id,
 * or -1. */
int	router_silence_add(struct store *, const char *matcher,
	    const char *by, const char *reason, int64_t now, int64_t ends_at,
	    int64_t *id);
/* Ends silence `id` at `now` if it is in force: 1 ended, 0 there is no
 * such silence in force, -1 error. */
int	router_silence_end(struct store *, int64_t id, const char *by,
	    int64_t now);

/* What "/sim until RULE ..." waits for. */
enum router_alert_cond {
	ALERT_COND_FIRING,	/* an alert of the rule is firing */
	ALERT_COND_REPEATED,	/* ... and was sent again since it fired */
	ALERT_COND_RESOLVED	/* the rule's newest fired/resolved event
				   is a resolve */
};
/* 1 when the condition holds, 0 when not, -1 on error. */
int	router_alert_reached(struct store *, const char *rule,
	    enum router_alert_cond);

#endif
