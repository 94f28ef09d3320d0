/*
 * core_int.h - what the files of src/core/ share and nobody else sees:
 * the router's built-in handlers, which builtin.c puts in the table.
 */
#ifndef PVEBOT_CORE_INT_H
#define PVEBOT_CORE_INT_H

struct buf;
struct cmd_call;
struct route;

/* router.c: answered from pvebot's own state, inside the transaction. */
int	bi_help(struct route *, const struct cmd_call *, struct buf *);
int	bi_whoami(struct route *, const struct cmd_call *, struct buf *);
int	bi_explain(struct route *, const struct cmd_call *, struct buf *);
int	bi_jobs(struct route *, const struct cmd_call *, struct buf *);
int	bi_job(struct route *, const struct cmd_call *, struct buf *);
int	bi_cancel(struct route *, const struct cmd_call *, struct buf *);
int	bi_approve(struct route *, const struct cmd_call *, struct buf *);
int	bi_deny(struct route *, const struct cmd_call *, struct buf *);
int	bi_alerts(struct route *, const struct cmd_call *, struct buf *);
int	bi_silence(struct route *, const struct cmd_call *, struct buf *);
int	bi_unsilence(struct route *, const struct cmd_call *, struct buf *);
int	bi_ack(struct route *, const struct cmd_call *, struct buf *);
int	bi_schedules(struct route *, const struct cmd_call *, struct buf *);

#endif
