/*
 * fuzz_cmd_parse.c - libFuzzer target for the chat-line parser.
 *
 * The catalogue is loaded once from commands/ (run from the top of the
 * tree, as `make fuzz` does), or from a small embedded one covering every
 * argument type when that folder is missing. The first input byte picks
 * where the message came from (group, direct, addressed, with or without
 * a bot name); the rest is the message, NULs and all.
 *
 * Beyond "no crash, no leak, no UB", it checks what the parser promises:
 * a result is OK, IGNORE or ERROR; ERROR comes with a one-line cause;
 * an OK call's canonical line parses back to the same command and
 * values; every value passes its type; and binding it to an executor
 * never splices anything into a constant argv element.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char embedded[] =
    "commands:\n"
    "  - name: start\n"
    "    aliases: [up]\n"
    "    summary: Start\n"
    "    action: guest.start\n"
    "    args: [{name: guest, type: guest}]\n"
    "    proxmox: {method: POST,\n"
    "      path: \"/nodes/{node}/{type}/{vmid}/start\"}\n"
    "  - name: snapshot\n"
    "    summary: Snap\n"
    "    action: guest.snapshot.create\n"
    "    args:\n"
    "      - {name: guest, type: guest}\n"
    "      - {name: name, type: snapshot}\n"
    "      - {name: reason, type: reason, optional: true}\n"
    "    proxmox:\n"
    "      method: POST\n"
    "      path: /nodes/{node}/{type}/{vmid}/snapshot\n"
    "      params: {snapname: \"{name}\", description: \"{reason}\"}\n"
    "  - name: backup\n"
    "    summary: Backup\n"
    "    action: backup.create\n"
    "    args:\n"
    "      - {name: guest, type: guest}\n"
    "      - {name: mode, type: enum, optional: true,\n"
    "         values: [snapshot, stop]}\n"
    "      - {name: storage, type: storage, optional: true}\n"
    "    proxmox: {method: POST, path: \"/nodes/{node}/vzdump\",\n"
    "      params: {vmid: \"{vmid}\", mode: \"{mode}\",\n"
    "        storage: \"{storage}\"}}\n"
    "  - name: silence\n"
    "    summary: Silence\n"
    "    action: alert.silence\n"
    "    args:\n"
    "      - {name: matcher, type: matcher}\n"
    "      - {name: duration, type: duration}\n"
    "      - {name: reason, type: reason, optional: true}\n"
    "    builtin: silence\n"
    "  - name: task\n"
    "    summary: Task\n"
    "    action: task.read\n"
    "    args: [{name: upid, type: upid}]\n"
    "    builtin: task\n"
    "  - name: job\n"
    "    summary: Job\n"
    "    action: job.read\n"
    "    args: [{name: id, type: int, min: 1, max: 1000}]\n"
    "    builtin: job\n"
    "  - name: clone\n"
    "    summary: Clone\n"
    "    action: guest.clone\n"
    "    args:\n"
    "      - {name: guest, type: guest}\n"
    "      - {name: newid, type: vmid}\n"
    "    builtin: clone\n"
    "  - name: service\n"
    "    summary: Service\n"
    "    action: host.service.read\n"
    "    args:\n"
    "      - {name: node, type: node}\n"
    "      - {name: unit, type: word,\n"
    "         pattern: \"[a-z][a-z0-9.@-]{0,40}\"}\n"
    "      - {name: action, type: enum, values: [status, restart]}\n"
    "    ssh: {host: node, argv: [systemctl, \"{action}\", \"{unit}\"]}\n"
    "  - name: explain\n"
    "    summary: Explain\n"
    "    action: meta.explain\n"
    "    args: [{name: command, type: command}]\n"
    "    builtin: explain\n";

static struct catalogue *cat;

static void
load_once(void)
{
	char	*errors = NULL;

	if (cat != NULL)
		return;
	cat = catalogue_load("commands", &errors);
	free(errors);
	errors = NULL;
	if (cat == NULL)
		cat = catalogue_load_string("embedded.yaml", embedded,
		    strlen(embedded), &errors);
	if (cat == NULL) {
		fprintf(stderr, "fuzz_cmd_parse: catalogue: %s\n", errors);
		abort();
	}
}

static void
check_bindings(const struct cmd_call *call)
{
	struct cmd_guest_ref		 g = { "pve1", "qemu", 101 };
	struct cmd_proxmox_request	 r;
	char				*cause = NULL, *host, **argv;
	size_t				 argc, i;

	if (call->def->exec == CMD_EXEC_PROXMOX) {
		if (cmd_proxmox_request(call, &g, &r, &cause) == 0) {
			/* Path values are encoded: no space, no '?'. */
			if (strpbrk(r.path, " ?#") != NULL)
				abort();
			cmd_proxmox_request_release(&r);
		}
		free(cause);
		cause = NULL;
	}
	if (call->def->exec == CMD_EXEC_SSH) {
		if (cmd_ssh_argv(call, &g, &host, &argv, &argc,
		    &cause) == 0) {
			char	**tmpl = call->def->ssh.argv != NULL ?
			    call->def->ssh.argv : call->def->ssh.argv_qemu;

			for (i = 0; i < argc; i++) {
				const char *e = tmpl[i];

				/* Constants come through untouched. */
				if (e[0] != '{' && strcmp(e, argv[i]) != 0)
					abort();
				/* No value may pose as an option. */
				if (e[0] == '{' && argv[i][0] == '-')
					abort();
			}
			free(host);
			cmd_ssh_argv_free(argv, argc);
		}
		free(cause);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmd_parse_opts	 o;
	struct cmd_call		 call, again;
	enum cmd_parse_result	 r;
	char			*cause = NULL, *text;
	size_t			 i;

	load_once();
	if (size == 0)
		return 0;
	memset(&o, 0, sizeof o);
	o.direct = data[0] & 1;
	o.addressed = (data[0] >> 1) & 1;
	o.bot_name = (data[0] & 4) ? "pvebot" : NULL;
	o.now = (data[0] & 8) ? 1763835120 : 0;
	text = xmalloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';

	r = cmd_parse_len(cat, text, size - 1, &o, &call, &cause);
	switch (r) {
	case CMD_PARSE_IGNORE:
		if (cause != NULL)
			abort();
		break;
	case CMD_PARSE_ERROR:
		if (cause == NULL || strchr(cause, '\n') != NULL)
			abort();
		break;
	case CMD_PARSE_OK:
		if (call.def == NULL || call.canonical == NULL)
			abort();
		for (i = 0; i < call.def->nargs; i++) {
			if (call.values[i] != NULL &&
			    cmd_validate_arg(&call.def->args[i],
			    call.values[i], NULL) != 0)
				abort();
		}
		o.direct = 1;
		if (cmd_parse(cat, call.canonical, &o, &again, NULL) !=
		    CMD_PARSE_OK || again.def != call.def)
			abort();
		for (i = 0; i < call.def->nargs; i++) {
			if ((call.values[i] == NULL) !=
			    (again.values[i] == NULL))
				abort();
			if (call.values[i] != NULL &&
			    strcmp(call.values[i], again.values[i]) != 0)
				abort();
		}
		cmd_call_release(&again);
		check_bindings(&call);
		break;
	default:
		abort();
	}
	free(cause);
	cmd_call_release(&call);
	free(text);
	return 0;
}
