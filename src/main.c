/*
 * main.c - the pvebot command line: run, check, explain, jobs, audit,
 * demo, version.
 */
#include <stdio.h>
#include <string.h>

#include "util.h"

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "version") == 0) {
		printf("pvebot %s\n", PVEBOT_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: pvebot run|check|explain|jobs|audit|demo|version\n");
	return 2;
}
