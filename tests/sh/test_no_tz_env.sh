#!/bin/sh
# Time zones never go through the environment (issue 12): no source file
# under src/ sets, unsets or puts TZ, and none calls tzset(). Run from the
# top of the tree by tests/run.sh; prints PASS or FAIL per check.

hits=$(grep -rnE '(set|unset|put)env' src/ | grep 'TZ')
if [ -z "$hits" ]; then
	echo "PASS no_setenv_tz"
else
	echo "FAIL no_setenv_tz: src/ changes TZ in the environment:"
	printf '%s\n' "$hits"
fi

hits=$(grep -rnE 'tzset *\(' src/)
if [ -z "$hits" ]; then
	echo "PASS no_tzset"
else
	echo "FAIL no_tzset: src/ calls tzset():"
	printf '%s\n' "$hits"
fi
