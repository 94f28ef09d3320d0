/*
 * cmd_bind.c - fills a command's executor templates from a parsed call:
 * the Proxmox method, path and parameters, or the SSH host and argv (the
 * host and the program may come from the resolved guest: its node, its
 * type picking argv_qemu or argv_lxc).
 *
 * Only values that passed their type reach here (struct cmd_call comes
 * from cmd_parse). Path values are percent-encoded on top of that, and an
 * SSH argv element is either a constant from the catalogue or exactly one
 * argument value, never both, so user text is never spliced into a
 * constant. A parameter whose template names an absent argument is
 * dropped; an SSH element whose argument is absent is an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_int.h"
#include "util.h"

static int
arg_index(const struct cmd_def *d, const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < d->nargs; i++) {
		if (strlen(d->args[i].name) == len &&
		    strncmp(d->args[i].name, name, len) == 0)
			return (int)i;
	}
	return -1;
}

static void
append_encoded(struct buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-_.~", c) != NULL)
			buf_printf(b, "%c", c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

/*
 * Expands t. Returns 0, 1 when the template names an absent argument
 * (the caller drops it), or -1 with *cause.
 */
static int
expand(const struct cmd_call *call, const struct cmd_guest_ref *g,
    const char *t, int encode, char **out, char **cause)
{
	const struct cmd_def	*d = call->def;
	const char		*p = t, *open, *close, *q;
	struct buf		 b;
	char			 vmid[32];
	int			 i;

	buf_init(&b, 8192);
	while ((open = strchr(p, '{')) != NULL) {
		const char	*val = NULL;
		size_t		 len;

		close = strchr(open, '}');
		if (close == NULL)
			break;
		buf_append(&b, p, (size_t)(open - p));
		q = memchr(open + 1, '?', (size_t)(close - open - 1));
		len = (size_t)((q != NULL ? q : close) - open - 1);
		i = arg_index(d, open + 1, len);
		if (i >= 0)
			val = call->values[i];
		else if (g != NULL && len == 4 &&
		    strncmp(open + 1, "node", 4) == 0)
			val = g->node;
		else if (g != NULL && len == 4 &&
		    strncmp(open + 1, "type", 4) == 0)
			val = g->type;
		else if (g != NULL && len == 4 &&
		    strncmp(open + 1, "vmid", 4) == 0) {
			snprintf(vmid, sizeof vmid, "%lld", g->vmid);
			val = vmid;
		} else {
			buf_release(&b);
			return set_cause(cause, "%s: nothing to fill {%.*s} "
			    "with (no guest given)", d->name, (int)len,
			    open + 1);
		}
		if (val == NULL) {
			buf_release(&b);
			return 1;
		}
		if (q != NULL)
			buf_append(&b, q + 1, (size_t)(close - q - 1));
		else if (encode)
			append_encoded(&b, val);
		else
			buf_puts(&b, val);
		p = close + 1;
	}
	buf_puts(&b, p);
	if (b.truncated) {
		buf_release(&b);
		return set_cause(cause, "%s: request too long", d->name);
	}
	*out = buf_steal(&b);
	return 0;
}

static int
add_params(const struct cmd_call *call, const struct cmd_guest_ref *g,
    const struct cmd_param *src, size_t n, struct cmd_proxmox_request *r,
    char **cause)
{
	size_t	 i;
	char	*v;
	int	 rc;

	for (i = 0; i < n; i++) {
		rc = expand(call, g, src[i].value, 0, &v, cause);
		if (rc < 0)
			return -1;
		if (rc == 1)
			continue;
		r->params = xreallocarray(r->params, r->nparams + 1,
		    sizeof *r->params);
		r->params[r->nparams].key = xstrdup(src[i].key);
		r->params[r->nparams].value = v;
		r->nparams++;
	}
	return 0;
}

int
cmd_proxmox_request(const struct cmd_call *call, const struct cmd_guest_ref *g,
    struct cmd_proxmox_request *r, char **cause)
{
	const struct cmd_def	*d = call->def;
	int			 rc;

	memset(r, 0, sizeof *r);
	if (d == NULL || d->exec != CMD_EXEC_PROXMOX)
		return set_cause(cause, "%s is not a Proxmox API command",
		    d != NULL ? d->name : "?");
	if (g != NULL && (g->node == NULL || g->type == NULL ||
	    (strcmp(g->type, "qemu") != 0 && strcmp(g->type, "lxc") != 0)))
		return set_cause(cause, "%s: the guest has no node or type",
		    d->name);
	rc = expand(call, g, d->proxmox.path, 1, &r->path, cause);
	if (rc != 0) {
		if (rc == 1)
			set_cause(cause, "%s: an argument of the path is "
			    "missing", d->name);
		return -1;
	}
	if (add_params(call, g, d->proxmox.params, d->proxmox.nparams, r,
	    cause) != 0)
		goto fail;
	if (g != NULL && strcmp(g->type, "qemu") == 0 &&
	    add_params(call, g, d->proxmox.params_qemu,
	    d->proxmox.nparams_qemu, r, cause) != 0)
		goto fail;
	if (g != NULL && strcmp(g->type, "lxc") == 0 &&
	    add_params(call, g, d->proxmox.params_lxc,
	    d->proxmox.nparams_lxc, r, cause) != 0)
		goto fail;
	r->method = xstrdup(d->proxmox.method);
	return 0;
fail:
	cmd_proxmox_request_release(r);
	return -1;
}

void
cmd_proxmox_request_release(struct cmd_proxmox_request *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nparams; i++) {
		free(r->params[i].key);
		free(r->params[i].value);
	}
	free(r->params);
	free(r->method);
	free(r->path);
	memset(r, 0, sizeof *r);
}

int
cmd_ssh_argv(const struct cmd_call *call, const struct cmd_guest_ref *g,
    char **host, char ***argv, size_t *argc, char **cause)
{
	const struct cmd_def	*d = call->def;
	const char		*h;
	char			**tmpl, **v, vmid[32];
	size_t			 i, n;
	int			 k;

	*host = NULL;
	*argv = NULL;
	*argc = 0;
	if (d == NULL || d->exec != CMD_EXEC_SSH)
		return set_cause(cause, "%s is not an SSH command",
		    d != NULL ? d->name : "?");
	if (g != NULL && (g->node == NULL || g->type == NULL ||
	    (strcmp(g->type, "qemu") != 0 && strcmp(g->type, "lxc") != 0)))
		return set_cause(cause, "%s: the guest has no node or type",
		    d->name);
	tmpl = d->ssh.argv;
	n = d->ssh.nargv;
	if (tmpl == NULL) {
		if (g == NULL)
			return set_cause(cause, "%s: which program to run "
			    "depends on the guest, and no guest is known",
			    d->name);
		tmpl = strcmp(g->type, "lxc") == 0 ? d->ssh.argv_lxc :
		    d->ssh.argv_qemu;
		n = strcmp(g->type, "lxc") == 0 ? d->ssh.nargv_lxc :
		    d->ssh.nargv_qemu;
	}
	if (d->ssh.host_guest) {
		if (g == NULL)
			return set_cause(cause, "%s: the guest's node is not "
			    "known", d->name);
		h = g->node;
	} else
		h = cmd_call_value(call, d->ssh.host_arg);
	if (h == NULL)
		return set_cause(cause, "%s: no host given", d->name);
	if (g != NULL)
		snprintf(vmid, sizeof vmid, "%lld", g->vmid);
	v = xcalloc(n + 1, sizeof *v);
	for (i = 0; i < n; i++) {
		const char *e = tmpl[i];
		size_t	    len = strlen(e);

		if (e[0] != '{') {
			v[i] = xstrdup(e);
			continue;
		}
		k = arg_index(d, e + 1, len - 2);
		if (k >= 0 && call->values[k] != NULL) {
			v[i] = xstrdup(call->values[k]);
			continue;
		}
		if (k < 0 && g != NULL && len == 6) {
			if (strncmp(e, "{vmid}", 6) == 0) {
				v[i] = xstrdup(vmid);
				continue;
			}
			if (strncmp(e, "{node}", 6) == 0) {
				v[i] = xstrdup(g->node);
				continue;
			}
			if (strncmp(e, "{type}", 6) == 0) {
				v[i] = xstrdup(g->type);
				continue;
			}
		}
		cmd_ssh_argv_free(v, i);
		return set_cause(cause, "%s: argument %.*s has no value",
		    d->name, (int)(len - 2), e + 1);
	}
	*host = xstrdup(h);
	*argv = v;
	*argc = n;
	return 0;
}

void
cmd_ssh_argv_free(char **argv, size_t argc)
{
	size_t	 i;

	if (argv == NULL)
		return;
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}
