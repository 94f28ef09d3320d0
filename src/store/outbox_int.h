/*
 * outbox_int.h - the outbox's own JSON writer and pull reader
 * (outbox_json.c), for the small flat objects an outbox row holds.
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

/*
 * Reading, every call 0 (or 1) when the text goes on as expected and -1
 * when it does not (the caller then gives the text to jansson):
 * oj_open; oj_next gives each member's key (1; 0 at the object's end;
 * the caller frees the key), then oj_value reads its value: for
 * OJ_ARRAY, oj_element enters each element object (1; 0 at the array's
 * end) whose members are read with oj_next/oj_value in turn. oj_finish
 * after the outer object: only white space may follow.
 */
enum oj_type {
	OJ_NULL,
	OJ_STRING,
	OJ_BOOL,
	OJ_INT,
	OJ_ARRAY,
};

struct oj_value {
	enum oj_type	 type;
	char		*s;	/* OJ_STRING: the caller frees */
	int		 b;
	long long	 i;
};

struct oj_reader {
	const char	*p;
	int		 first;
};

int	oj_open(struct oj_reader *, const char *);
int	oj_next(struct oj_reader *, char **key);
int	oj_value(struct oj_reader *, struct oj_value *);
int	oj_element(struct oj_reader *);
int	oj_finish(struct oj_reader *);

#endif
