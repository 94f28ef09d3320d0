/*
 * fuzz_conf_load.c - libFuzzer target for bot.conf (src/conf/conf.c):
 * any bytes given to conf_load_string() give a configuration or a list
 * of errors, never both, never a crash, a leak or a hang.
 *
 * Secrets named by `*_env` read the environment as pvebot would; those
 * named by `*_file` read files, so standard input is /dev/null here (a
 * secret file of /dev/stdin must not wait for a terminal). When a
 * configuration loads, what pvebot reads from it next (SSH host lookup
 * by name and node) is walked too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (freopen("/dev/null", "r", stdin) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c;
	char		*text, *errors = NULL;
	size_t		 i;

	if (size > 64 * 1024)
		return 0;
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	c = conf_load_string("fuzz.conf", text, &errors);
	if (c == NULL) {
		/* Every problem is named after the file it is in. */
		if (errors == NULL || strncmp(errors, "fuzz.conf", 9) != 0)
			abort();
		free(errors);
		free(text);
		return 0;
	}
	if (errors != NULL)
		abort();
	for (i = 0; i < c->ssh.nhosts; i++) {
		if (c->ssh.hosts[i].name == NULL ||
		    conf_ssh_host_find(c, c->ssh.hosts[i].name) == NULL)
			abort();
		if (c->ssh.hosts[i].node != NULL &&
		    conf_ssh_host_find(c, c->ssh.hosts[i].node) == NULL)
			abort();
	}
	conf_free(c);
	free(text);
	return 0;
}
