/*
 * outbox_int.h - the outbox's own JSON writer (outbox_json.c), for the
 * small flat objects an outbox row holds.
 */
#ifndef PVEBOT_OUTBOX_INT_H
#define PVEBOT_OUTBOX_INT_H

#include <stddef.h>

#include "util.h"

/*
 * Writing: oj_begin, then members (oj_str, oj_true, oj_int, or
 * oj_array followed by oj_item ... oj_close(b, '}') per element and
 * oj_close(b, ']')), then oj_end, which gives the text (caller frees).
 */
void	 oj_begin(struct buf *, size_t limit);
void	 oj_str(struct buf *, const char *key, const char *value);
void	 oj_true(struct buf *, const char *key);
void	 oj_int(struct buf *, const char *key, long long);
void	 oj_array(struct buf *, const char *key);
void	 oj_item(struct buf *);
void	 oj_close(struct buf *, char);
char	*oj_end(struct buf *);

#endif
