/*
 * test_prov_conf.c - the provisioning conventions file (prov/prov_conf.c)
 * and `pvebot check` on it: a good file loads; overlapping ranges,
 * ranges outside their subnet, unknown placeholders and a MAC prefix
 * that is not locally administered are refused with file:line:column,
 * every one of them in one run; names follow the pattern.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prov.h"
#include "t.h"
#include "util.h"

static const char *good =
    "name: \"pve-{node}-{type}-{seq:02d}\"\n"
    "mac_prefix: \"02:00:00\"\n"
    "bridge: vmbr0\n"
    "nameserver: 10.0.0.53\n"
    "nodes:\n"
    "  - node: pve1\n"
    "    subnet: 10.1.0.0/24\n"
    "    gateway: 10.1.0.1\n"
    "    vm_range: 10.1.0.100-10.1.0.149\n"
    "    ct_range: 10.1.0.150-10.1.0.199\n"
    "  - node: pve2\n"
    "    subnet: 10.2.0.0/24\n"
    "    gateway: 10.2.0.1\n"
    "    vm_range: 10.2.0.100 - 10.2.0.149\n";

static void
test_good_file_loads(void)
{
	struct prov_conf	*pc;
	const struct prov_node	*n;
	char			*errors = NULL, ip[16], *name;

	pc = prov_conf_load_string("p.yaml", good, strlen(good), &errors);
	T_OK(pc != NULL);
	T_OK(errors == NULL);
	if (pc == NULL) {
		free(errors);
		return;
	}
	T_EQ_INT(pc->nnodes, 2);
	T_EQ_INT(pc->mac_prefix_len, 3);
	T_EQ_INT(pc->mac_prefix[0], 2);
	n = prov_conf_node(pc, "pve2");
	T_OK(n != NULL);
	if (n != NULL) {
		prov_ip_format(n->vm.lo, ip);
		T_EQ_STR(ip, "10.2.0.100");
		T_OK(n->ct.lo > n->ct.hi);	/* no container range */
	}
	T_OK(prov_conf_node(pc, "pve3") == NULL);
	name = prov_name_format(pc->name_pattern, "pve1", "vm", 3, 120);
	T_EQ_STR(name, "pve-pve1-vm-03");
	free(name);
	name = prov_name_format("db-{vmid}-{seq}", "pve1", "ct", 12, 120);
	T_EQ_STR(name, "db-120-12");
	free(name);
	prov_conf_free(pc);
}

static void
test_overlaps_refused(void)
{
	const char	*text =
	    "nodes:\n"
	    "  - node: pve1\n"
	    "    subnet: 10.1.0.0/24\n"
	    "    gateway: 10.1.0.1\n"
	    "    vm_range: 10.1.0.100-10.1.0.149\n"
	    "    ct_range: 10.1.0.140-10.1.0.199\n"
	    "  - node: pve2\n"
	    "    subnet: 10.1.0.0/24\n"
	    "    gateway: 10.1.0.1\n"
	    "    vm_range: 10.1.0.190-10.1.0.210\n";
	struct prov_conf	*pc;
	char			*errors = NULL;

	pc = prov_conf_load_string("p.yaml", text, strlen(text), &errors);
	T_OK(pc == NULL);
	/* The node's own ranges, at the container range's line. */
	T_CONTAINS(errors, "p.yaml:6:15: node pve1: ct_range overlaps "
	    "vm_range (line 5)");
	/* Across nodes, at the later node's range. */
	T_CONTAINS(errors, "p.yaml:10:15: node pve2: vm_range "
	    "10.1.0.190-10.1.0.210 overlaps node pve1's ct_range "
	    "10.1.0.140-10.1.0.199 (line 6)");
	free(errors);
	prov_conf_free(pc);
}

static void
test_outside_subnet_and_placeholders_refused(void)
{
	const char	*text =
	    "name: \"pve-{host}-{seq:02d}\"\n"
	    "mac_prefix: \"00:11:22\"\n"
	    "nodes:\n"
	    "  - node: pve1\n"
	    "    subnet: 10.1.0.0/24\n"
	    "    gateway: 10.1.0.120\n"
	    "    vm_range: 10.1.0.100-10.1.1.20\n"
	    "    ct_range: 10.1.0.200-10.1.0.255\n"
	    "  - node: pve1\n"
	    "    subnet: 10.9.0.0/24\n"
	    "    gateway: 10.9.0.1\n"
	    "    ct_range: 10.9.0.10-10.9.0.20\n";
	struct prov_conf	*pc;
	char			*errors = NULL;

	pc = prov_conf_load_string("p.yaml", text, strlen(text), &errors);
	T_OK(pc == NULL);
	T_CONTAINS(errors, "p.yaml:1:7: name: unknown placeholder {host}");
	T_CONTAINS(errors, "p.yaml:2:13: mac_prefix: '00:11:22' is not "
	    "locally administered");
	T_CONTAINS(errors, "p.yaml:7:15: node pve1: vm_range "
	    "10.1.0.100-10.1.1.20 is not inside its subnet 10.1.0.0/24");
	/* The broadcast address is no guest's. */
	T_CONTAINS(errors, "p.yaml:8:15: node pve1: ct_range "
	    "10.1.0.200-10.1.0.255 is not inside its subnet");
	T_CONTAINS(errors, "p.yaml:6:14: node pve1: gateway 10.1.0.120 is "
	    "inside a range");
	T_CONTAINS(errors, "p.yaml:9:5: node pve1 is given twice (first at "
	    "line 4)");
	free(errors);
	prov_conf_free(pc);
}

static void
test_pattern_needs_unique_part(void)
{
	const char	*text =
	    "name: \"web-{node}\"\n"
	    "nodes:\n"
	    "  - {node: pve1, subnet: 10.1.0.0/24, gateway: 10.1.0.1,"
	    " vm_range: 10.1.0.10-10.1.0.20}\n";
	const char	*bad_char = "name: \"web_{seq}\"\n"
	    "nodes:\n"
	    "  - {node: pve1, subnet: 10.1.0.0/24, gateway: 10.1.0.1,"
	    " vm_range: 10.1.0.10-10.1.0.20}\n";
	struct prov_conf	*pc;
	char			*errors = NULL;

	pc = prov_conf_load_string("p.yaml", text, strlen(text), &errors);
	T_OK(pc == NULL);
	T_CONTAINS(errors, "p.yaml:1:7: name: the pattern needs {seq} or "
	    "{vmid}");
	free(errors);
	errors = NULL;
	pc = prov_conf_load_string("p.yaml", bad_char, strlen(bad_char),
	    &errors);
	T_OK(pc == NULL);
	T_CONTAINS(errors, "p.yaml:1:7: name: '_' cannot be part of a guest "
	    "name");
	free(errors);
}

/* `pvebot check` names the provisioning file's problems with file:line. */
static void
test_check_cli(void)
{
	char		*out = NULL, *err = NULL, *conf;
	const char	*prov;
	char		*argv[] = { (char *)t_pvebot(), "check", "-c", NULL,
			    NULL };
	int		 rc;

	prov = t_write("prov.yaml",
	    "name: \"pve-{node}-{kind}-{seq}\"\n"
	    "nodes:\n"
	    "  - node: pve1\n"
	    "    subnet: 10.1.0.0/24\n"
	    "    gateway: 10.1.0.1\n"
	    "    vm_range: 10.1.0.100-10.1.0.149\n"
	    "    ct_range: 10.1.0.149-10.1.0.199\n", 0644);
	(void)prov;
	conf = xasprintf("database: %s/x.db\ncommands: %s/commands\n"
	    "policies: %s/policies\nprovisioning: prov.yaml\n"
	    "chat: {console: {enabled: false}}\n"
	    "http: {enabled: false}\n", t_tmpdir(), getenv("PWD"),
	    getenv("PWD"));
	argv[3] = (char *)t_write("bot.conf", conf, 0644);
	free(conf);
	argv[3] = t_path("bot.conf");
	rc = t_spawn(argv, NULL, &out, &err, 20000);
	T_EQ_INT(rc, 2);
	T_CONTAINS(err, "prov.yaml:1:7: name: unknown placeholder {kind}");
	T_CONTAINS(err, "prov.yaml:7:15: node pve1: ct_range overlaps "
	    "vm_range (line 6)");
	T_NOT_CONTAINS(out, "configuration OK");
	free(argv[3]);
	free(out);
	free(err);

	/* Fixed, it passes. */
	t_write("prov.yaml",
	    "name: \"pve-{node}-{type}-{seq}\"\n"
	    "nodes:\n"
	    "  - node: pve1\n"
	    "    subnet: 10.1.0.0/24\n"
	    "    gateway: 10.1.0.1\n"
	    "    vm_range: 10.1.0.100-10.1.0.149\n"
	    "    ct_range: 10.1.0.150-10.1.0.199\n", 0644);
	argv[3] = t_path("bot.conf");
	out = err = NULL;
	rc = t_spawn(argv, NULL, &out, &err, 20000);
	T_EQ_INT(rc, 0);
	T_CONTAINS(out, "configuration OK");
	free(argv[3]);
	free(out);
	free(err);
}

int
main(void)
{
	T_RUN(test_good_file_loads);
	T_RUN(test_overlaps_refused);
	T_RUN(test_outside_subnet_and_placeholders_refused);
	T_RUN(test_pattern_needs_unique_part);
	T_RUN(test_check_cli);
	return t_summary();
}
