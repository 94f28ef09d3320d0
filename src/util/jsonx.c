/*
 * jsonx.c - lenient JSON member readers (see jsonx.h).
 */
#include <math.h>
#include <stdlib.h>

#include "jsonx.h"
#include "util.h"

const char *
jx_str(const json_t *o, const char *key, const char *dflt)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

int64_t
jx_int(const json_t *o, const char *key)
{
	const json_t	*v = json_object_get(o, key);
	const char	*errstr;

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v)) {
		/* Out-of-range doubles would be undefined as integers. */
		if (!(json_real_value(v) > -9e18 && json_real_value(v) < 9e18))
			return 0;
		return (int64_t)json_real_value(v);
	}
	if (json_is_string(v))
		return strtonum(json_string_value(v), INT64_MIN, INT64_MAX,
		    &errstr);
	return 0;
}

double
jx_num(const json_t *o, const char *key)
{
	const json_t	*v = json_object_get(o, key);
	double		 d;

	if (json_is_number(v))
		return json_number_value(v);
	if (json_is_string(v)) {
		d = strtod(json_string_value(v), NULL);
		return isfinite(d) ? d : 0;
	}
	return 0;
}
