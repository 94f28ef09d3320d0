/*
 * fuzz_policy_load.c - libFuzzer target for the policy loader: any bytes
 * fed to policy_load_string() must give a policy or a list of errors,
 * never a crash, a leak or a hang. When a policy loads, one decision and
 * one explanation are computed from it too, so the loaded structure is
 * walked as the router would walk it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = { "prod", "pvebot-self" };
	struct policy_target	 t = {
		.vmid = 101, .name = "web-01", .node = "pve1", .type = "qemu",
		.tags = tags, .ntags = 2, .snapshot = "safety-1"
	};
	struct policy_request	 req = {
		.user = "console:alice", .action = "guest.snapshot.delete",
		.mutating = 1, .target = &t, .room = "console:main",
		.now = 1795000000
	};
	struct policy_decision	 d;
	struct policy		*p;
	char			*text, *errors = NULL, *out;

	if (size > 64 * 1024)
		return 0;
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	p = policy_load_string("fuzz.yaml", text, &errors);
	if (p != NULL) {
		policy_decide(p, &req, &d);
		out = policy_explain(p, &req);
		free(out);
		out = policy_whoami(p, req.user, 1);
		free(out);
	}
	policy_free(p);
	free(errors);
	free(text);
	return 0;
}
