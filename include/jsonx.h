/*
 * jsonx.h - lenient readers for JSON from outside (Proxmox replies give
 * numbers sometimes as numbers, sometimes as strings): a missing or odd
 * member reads as the default, never as undefined behaviour.
 */
#ifndef PVEBOT_JSONX_H
#define PVEBOT_JSONX_H

#include <stdint.h>

#include <jansson.h>

/* The string member, or dflt. */
const char	*jx_str(const json_t *, const char *key, const char *dflt);
/* An integer, a real in range, or a decimal string; else 0. */
int64_t		 jx_int(const json_t *, const char *key);
/* A number or a numeric string; else 0. */
double		 jx_num(const json_t *, const char *key);

#endif
