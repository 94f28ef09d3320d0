/*
 * fuzz_cmd_load.c - libFuzzer target for the catalogue loader: arbitrary
 * bytes as one YAML file of the commands folder. The loader must never
 * crash, leak or hit undefined behaviour; it returns a catalogue or
 * errors, never both, and every error line names the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct catalogue	*cat;
	struct cmd_call		 call;
	struct cmd_parse_opts	 o = { "pvebot", 1, 0, 1763835120 };
	char			*errors = NULL, *line, *cause = NULL, *help;
	size_t			 i;

	cat = catalogue_load_string("fuzz.yaml", (const char *)data, size,
	    &errors);
	if (cat == NULL) {
		if (errors == NULL || strncmp(errors, "fuzz.yaml", 9) != 0)
			abort();
		free(errors);
		return 0;
	}
	if (errors != NULL)
		abort();
	/* Whatever loaded must serve help, exports and its own usage. */
	help = cmd_help(cat, NULL, NULL);
	free(help);
	json_decref(cmd_export_telegram(cat));
	json_decref(cmd_export_discord(cat));
	for (i = 0; i < catalogue_count(cat); i++) {
		line = catalogue_get(cat, i)->usage;
		if (cmd_parse(cat, line, &o, &call, &cause) == CMD_PARSE_OK)
			cmd_call_release(&call);
		free(cause);
		cause = NULL;
	}
	catalogue_free(cat);
	return 0;
}
