/*
 * store_router.h - the monitor's alerts as the chat side sees them
 * (src/store/router_state.c): what `alerts` lists and the conditions
 * the demo's "/sim until" waits for. The monitor owns the alerts; these
 * functions only read them. Each is one statement and joins the
 * caller's transaction. The silences `silence`, `unsilence` and
 * `alerts` make, end and list are store_silences.h's.
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
