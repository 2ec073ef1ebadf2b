/*
 * sockwrite.h — write to a bufferevent's socket now if nothing is queued
 * before it (sockwrite.c); queue the rest.
 */
#ifndef VMSD_SOCKWRITE_H
#define VMSD_SOCKWRITE_H

#include <stddef.h>

struct bufferevent;

/* 0, or -1 if it could not be queued. */
int	 bev_write(struct bufferevent *, const void *data, size_t len);

#endif
