/*
 * cmd_int.h - what the files of src/cmd/ share and nobody else sees.
 */
#ifndef PVEBOT_CMD_INT_H
#define PVEBOT_CMD_INT_H

#include "cmd.h"

struct catalogue {
	struct cmd_def	*cmds;
	size_t		 ncmds;
};

/* Names compare case-insensitively with '-' equal to '_'. */
int	 cmd_name_equal(const char *, const char *);
/* Edit distance (with transpositions), capped at limit+1. */
size_t	 cmd_edit_distance(const char *, const char *, size_t limit);
/* Locale-independent. */
static inline int
tolower_ascii(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* REASON and COMMAND take the rest of the line. */
int	 cmd_is_rest_type(enum arg_type);

#endif
