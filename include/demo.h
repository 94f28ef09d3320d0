/*
 * demo.h - `pvebot demo`: the embedded default (core/demo.c).
 */
#ifndef PVEBOT_DEMO_H
#define PVEBOT_DEMO_H

int	demo_main(int argc, char **argv);

#endif
