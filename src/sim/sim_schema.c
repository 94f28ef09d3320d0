/*
 * sim_schema.c - the simulator's request checker: matches a path against
 * the endpoint table, then checks every parameter as the Proxmox VE
 * JSONSchema code does, with the same sentences, so that a request the
 * real API would refuse with "400 Parameter verification failed." is
 * refused here too. Parsers only; nothing here touches the state.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_int.h"
#include "util.h"

static int
match_node(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return (0);
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return (0);
	}
	return (1);
}

/* pve-configid: ^[a-z][a-z0-9_-]+$ (case-insensitive). */
static int
match_configid(const char *s, size_t n)
{
	size_t	i;

	if (n < 2 || !isalpha((unsigned char)s[0]))
		return (0);
	for (i = 1; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return (0);
	}
	return (1);
}

/* pve-storage-id: ^[a-z][a-z0-9\-\_\.]*[a-z0-9]$ (case-insensitive). */
static int
match_storageid(const char *s)
{
	size_t	i, n = strlen(s);

	if (n < 2 || !isalpha((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return (0);
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && strchr("-_.", s[i]) == NULL)
			return (0);
	}
	return (1);
}

static int
match_dnsname(const char *s)
{
	size_t	i, label = 0, n = strlen(s);

	if (n == 0 || n > 255)
		return (0);
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return (0);
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return (0);
		if (label == 0 && s[i] == '-')
			return (0);
		label++;
	}
	return (1);
}

static int
match_tag(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || (!isalnum((unsigned char)s[0]) && s[0] != '_'))
		return (0);
	for (i = 1; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("_-+.", s[i]) == NULL)
			return (0);
	}
	return (1);
}

/*
 * Checks each item of a list split on `seps`; NULL when all pass, else
 * a new string naming the first bad item.
 */
static char *
check_list(const char *s, const char *seps, int (*ok)(const char *, size_t),
    const char *what)
{
	const char	*p = s, *e;

	while (*p != '\0') {
		e = p + strcspn(p, seps);
		if (e > p && !ok(p, (size_t)(e - p)))
			return (xasprintf("invalid format - invalid %s '%.*s'",
			    what, (int)(e - p), p));
		p = *e != '\0' ? e + 1 : e;
	}
	return (NULL);
}

static int
ok_vmid(const char *s, size_t n)
{
	size_t		i;
	long long	v = 0;

	if (n == 0 || n > 9)
		return (0);
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return (0);
		v = v * 10 + (s[i] - '0');
	}
	return (v >= 100);
}

static int
ok_content(const char *s, size_t n)
{
	static const char *const types[] = { "backup", "images", "rootdir",
	    "iso", "vztmpl", "snippets", "import" };
	size_t	i;

	for (i = 0; i < nitems(types); i++) {
		if (strlen(types[i]) == n && strncmp(types[i], s, n) == 0)
			return (1);
	}
	return (0);
}

static int
ok_status(const char *s, size_t n)
{
	static const char *const types[] = { "ok", "warning", "error",
	    "unknown" };
	size_t	i;

	for (i = 0; i < nitems(types); i++) {
		if (strlen(types[i]) == n && strncasecmp(types[i], s, n) == 0)
			return (1);
	}
	return (0);
}

/* One "N" of a startup item: digits only, at most 9 of them. */
static int
startup_number(const char *s, size_t n, int *out)
{
	size_t	i;
	int	v = 0;

	if (n == 0 || n > 9)
		return (-1);
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return (0);
}

int
sim_startup_parse(const char *v, int *order, int *down)
{
	const char	*p = v, *e;
	size_t		 n, k;
	int		 o = -1, d = -1, up, x;

	while (*p != '\0') {
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		for (k = 0; k < n && isspace((unsigned char)p[k]); k++)
			;
		if (k == n)
			;	/* an empty item is skipped */
		else if (startup_number(p, n, &x) == 0)
			o = x;
		else if (n > 6 && strncmp(p, "order=", 6) == 0 &&
		    startup_number(p + 6, n - 6, &x) == 0)
			o = x;
		else if (n > 3 && strncmp(p, "up=", 3) == 0 &&
		    startup_number(p + 3, n - 3, &up) == 0)
			;
		else if (n > 5 && strncmp(p, "down=", 5) == 0 &&
		    startup_number(p + 5, n - 5, &x) == 0)
			d = x;
		else
			return (-1);
		p = *e != '\0' ? e + 1 : e;
	}
	if (order != NULL)
		*order = o;
	if (down != NULL)
		*down = d;
	return (0);
}

static int
is_integer(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return (0);
	}
	return (1);
}

static int
is_number(const char *s)
{
	char	*end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return (0);
	(void)strtod(s, &end);
	return (*end == '\0');
}

static int
in_enum(const char *enumv, const char *v)
{
	const char	*p = enumv, *e;
	size_t		 n = strlen(v);

	for (;;) {
		e = strchr(p, ',');
		if ((e != NULL ? (size_t)(e - p) : strlen(p)) == n &&
		    strncmp(p, v, n) == 0)
			return (1);
		if (e == NULL)
			return (0);
		p = e + 1;
	}
}

/* 0 when value fits the parameter, else -1 and *why (caller frees). */
int
sim_check_value(const struct sim_param *p, const char *v, char **why)
{
	const char	*tname;
	char		*msg = NULL, *enumtext, *c;
	long long	 iv;
	double		 dv;

	*why = NULL;
	switch (p->type) {
	case PT_BOOL:
		/*
		 * PVE::JSONSchema::check_type takes exactly '1' and '0' for
		 * a boolean (its true/yes/on regex is commented out), so
		 * "true" is "type check ('boolean') failed - got 'true'".
		 */
		if (strcmp(v, "1") == 0 || strcmp(v, "0") == 0)
			return (0);
		tname = "boolean";
		goto type_fail;
	case PT_INT:
		if (!is_integer(v)) {
			tname = "integer";
			goto type_fail;
		}
		iv = strtoll(v, NULL, 10);
		if (p->has_min && iv < p->min) {
			*why = xasprintf("value must have a minimum value of "
			    "%lld", p->min);
			return (-1);
		}
		if (p->has_max && iv > p->max) {
			*why = xasprintf("value must have a maximum value of "
			    "%lld", p->max);
			return (-1);
		}
		return (0);
	case PT_NUM:
		if (!is_number(v)) {
			tname = "number";
			goto type_fail;
		}
		dv = strtod(v, NULL);
		if (p->has_min && dv < (double)p->min) {
			*why = xasprintf("value must have a minimum value of "
			    "%lld", p->min);
			return (-1);
		}
		if (p->has_max && dv > (double)p->max) {
			*why = xasprintf("value must have a maximum value of "
			    "%lld", p->max);
			return (-1);
		}
		return (0);
	case PT_STR:
		break;
	}
	if (p->maxlen > 0 && strlen(v) > (size_t)p->maxlen) {
		*why = xasprintf("value may only be %d characters long",
		    p->maxlen);
		return (-1);
	}
	if (p->enumv != NULL && !in_enum(p->enumv, v)) {
		enumtext = xstrdup(p->enumv);
		/* The API lists the values separated by ", ". */
		msg = xasprintf("value '%s' does not have a value in the "
		    "enumeration '", v);
		for (c = strtok(enumtext, ","); c != NULL;
		    c = strtok(NULL, ",")) {
			char *t = xasprintf("%s%s%s", msg,
			    msg[strlen(msg) - 1] == '\'' ? "" : ", ", c);
			free(msg);
			msg = t;
		}
		*why = xasprintf("%s'", msg);
		free(msg);
		free(enumtext);
		return (-1);
	}
	switch (p->fmt) {
	case F_NONE:
		break;
	case F_NODE:
		if (!match_node(v))
			*why = xstrdup("invalid format - value does not look "
			    "like a valid node name");
		break;
	case F_CONFIGID:
		if (!match_configid(v, strlen(v)))
			*why = xasprintf("invalid format - invalid "
			    "configuration ID '%s'", v);
		break;
	case F_STORAGEID:
		if (!match_storageid(v))
			*why = xasprintf("invalid format - storage ID '%s' "
			    "contains illegal characters", v);
		break;
	case F_VMIDLIST:
		*why = check_list(v, ",; \t", ok_vmid, "VM ID");
		break;
	case F_DNSNAME:
		if (!match_dnsname(v))
			*why = xasprintf("invalid format - value does not "
			    "look like a valid DNS name");
		break;
	case F_TAGLIST:
		*why = check_list(v, ",; ", match_tag, "tag");
		break;
	case F_CONFIGIDLIST:
		*why = check_list(v, ",; ", match_configid,
		    "configuration ID");
		break;
	case F_CONTENT:
		*why = check_list(v, ",", ok_content, "content type");
		break;
	case F_STATUSLIST:
		*why = check_list(v, ",", ok_status, "task status type");
		break;
	case F_UPID:
		if (!str_has_prefix(v, "UPID:"))
			*why = xstrdup("unable to parse worker upid");
		break;
	case F_STARTUP:
		/* pve_verify_startup_order() in PVE::JSONSchema. */
		if (sim_startup_parse(v, NULL, NULL) != 0)
			*why = xstrdup("invalid format - unable to parse "
			    "startup options");
		break;
	}
	return (*why != NULL ? -1 : 0);
type_fail:
	*why = xasprintf("type check ('%s') failed - got '%s'", tname, v);
	return (-1);
}

const char *
sim_param(const struct sim_call *call, const char *name)
{
	return (httpd_kv_get(call->params, call->nparams, name));
}

int
sim_param_bool(const struct sim_call *call, const char *name, int def)
{
	const char	*v = sim_param(call, name);

	if (v == NULL)
		return (def);
	return (strcmp(v, "1") == 0);	/* checked: "1" or "0" */
}

long long
sim_param_int(const struct sim_call *call, const char *name, long long def)
{
	const char	*v = sim_param(call, name);

	return (v != NULL ? strtoll(v, NULL, 10) : def);
}

/* The value of a path capture by parameter name, as text. */
static const char *
path_value(const struct sim_call *call, const char *name)
{
	if (strcmp(name, "node") == 0)
		return (call->node);
	if (strcmp(name, "vmid") == 0)
		return (call->vmid_raw);
	if (strcmp(name, "snapname") == 0)
		return (call->snapname);
	if (strcmp(name, "storage") == 0)
		return (call->storage);
	if (strcmp(name, "upid") == 0)
		return (call->upid);
	return (call->pathid);
}

/*
 * Checks the call's parameters against the route: every name known,
 * given once, of the right type and format, required ones present.
 * Returns the number of problems, each added to `errors`.
 */
int
sim_check_params(const struct sim_route *r, const struct sim_call *call,
    json_t *errors)
{
	const struct sim_param	*p;
	size_t			 i, j;
	char			*why;
	const char		*v;
	int			 nerr = 0;

	for (i = 0; i < call->nparams; i++) {
		const char *k = call->params[i].key;

		for (p = r->params; p != NULL && p->name != NULL; p++) {
			if (strcmp(p->name, k) == 0 && !p->in_path)
				break;
		}
		if (p == NULL || p->name == NULL) {
			if (json_object_get(errors, k) == NULL) {
				json_object_set_new(errors, k, json_string(
				    "property is not defined in schema and "
				    "the schema does not allow additional "
				    "properties"));
				nerr++;
			}
			continue;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(call->params[j].key, k) == 0)
				break;
		}
		if (j < i) {
			json_object_set_new(errors, k, json_string(
			    "type check ('string') failed - got ARRAY"));
			nerr++;
			continue;
		}
		if (sim_check_value(p, call->params[i].value, &why) != 0) {
			json_object_set_new(errors, k, json_string(why));
			free(why);
			nerr++;
		}
	}
	for (p = r->params; p != NULL && p->name != NULL; p++) {
		if (p->in_path) {
			v = path_value(call, p->name);
			if (sim_check_value(p, v, &why) != 0) {
				json_object_set_new(errors, p->name,
				    json_string(why));
				free(why);
				nerr++;
			}
			continue;
		}
		if (!p->optional && sim_param(call, p->name) == NULL) {
			json_object_set_new(errors, p->name, json_string(
			    "property is missing and it is not optional"));
			nerr++;
		}
	}
	return (nerr);
}

static void
copy_cap(char *dst, size_t len, const char *src)
{
	size_t	n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

const struct sim_route *
sim_route_at(size_t i)
{
	if (i < sim_nroutes)
		return (&sim_routes[i]);
	if (i - sim_nroutes < sim_health_nroutes)
		return (&sim_health_routes[i - sim_nroutes]);
	i -= sim_nroutes + sim_health_nroutes;
	if (i < sim_backup_nroutes)
		return (&sim_backup_routes[i]);
	i -= sim_backup_nroutes;
	if (i < sim_prov_nroutes)
		return (&sim_prov_routes[i]);
	return (NULL);
}

/*
 * Finds the route for method and decoded path (without /api2/json),
 * filling the path captures in call. NULL when nothing matches;
 * *path_known tells whether the path exists with another method (501 in
 * the real API: "Method 'X /path' not implemented").
 */
const struct sim_route *
sim_route_match(const char *method, const char *path, struct sim_call *call,
    int *path_known)
{
	const struct sim_route	*r;
	size_t			 i;
	const char		*t, *p, *te, *pe;
	char			 cap[256];
	int			 ok, vmid_bad;
	struct sim_call		 tmp;

	*path_known = 0;
	for (i = 0; (r = sim_route_at(i)) != NULL; i++) {
		memset(&tmp, 0, sizeof tmp);
		t = r->path;
		p = path;
		ok = 1;
		vmid_bad = 0;
		while (ok) {
			if (*t == '\0' || *p == '\0') {
				ok = (*t == '\0' && *p == '\0');
				break;
			}
			if (*t != '/' || *p != '/') {
				ok = 0;
				break;
			}
			t++;
			p++;
			te = t + strcspn(t, "/");
			pe = p + strcspn(p, "/");
			if (*t == '{') {
				if (pe == p || (size_t)(pe - p) >= sizeof cap) {
					ok = 0;
					break;
				}
				memcpy(cap, p, (size_t)(pe - p));
				cap[pe - p] = '\0';
				if (strncmp(t, "{node}", 6) == 0)
					copy_cap(tmp.node, sizeof tmp.node, cap);
				else if (strncmp(t, "{vmid}", 6) == 0) {
					const char *errstr;
					copy_cap(tmp.vmid_raw, sizeof tmp.vmid_raw, cap);
					tmp.vmid = (int)strtonum(cap, 0,
					    999999999, &errstr);
					if (errstr != NULL)
						vmid_bad = 1;
				} else if (strncmp(t, "{snapname}", 10) == 0)
					copy_cap(tmp.snapname, sizeof tmp.snapname, cap);
				else if (strncmp(t, "{storage}", 9) == 0)
					copy_cap(tmp.storage, sizeof tmp.storage, cap);
				else if (strncmp(t, "{upid}", 6) == 0)
					copy_cap(tmp.upid, sizeof tmp.upid, cap);
				else
					copy_cap(tmp.pathid, sizeof tmp.pathid,
					    cap);
			} else if (te - t != pe - p ||
			    strncmp(t, p, (size_t)(te - t)) != 0) {
				ok = 0;
				break;
			}
			t = te;
			p = pe;
		}
		if (!ok)
			continue;
		if (strstr(r->path, "/qemu/") != NULL)
			snprintf(tmp.vmtype, sizeof tmp.vmtype, "qemu");
		else if (strstr(r->path, "/lxc/") != NULL)
			snprintf(tmp.vmtype, sizeof tmp.vmtype, "lxc");
		if (vmid_bad)
			tmp.vmid = -1;
		if (strcmp(r->method, method) != 0) {
			*path_known = 1;
			continue;
		}
		memcpy(call->node, tmp.node, sizeof call->node);
		memcpy(call->vmtype, tmp.vmtype, sizeof call->vmtype);
		call->vmid = tmp.vmid;
		memcpy(call->vmid_raw, tmp.vmid_raw, sizeof call->vmid_raw);
		memcpy(call->snapname, tmp.snapname, sizeof call->snapname);
		memcpy(call->storage, tmp.storage, sizeof call->storage);
		memcpy(call->upid, tmp.upid, sizeof call->upid);
		memcpy(call->pathid, tmp.pathid, sizeof call->pathid);
		return (r);
	}
	return (NULL);
}
