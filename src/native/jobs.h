/* The addon's own threads for file jobs (jobs.c). */
#ifndef FDFS_JOBS_H
#define FDFS_JOBS_H
#define NAPI_VERSION 8
#include <node_api.h>

/* A job's queue link and its two steps; embed it first in the job's own struct. */
typedef struct fdfs_item {
  struct fdfs_item *next;
  /* On a job thread: the blocking work. */
  void (*run)(struct fdfs_item *item);
  /* On the JS thread afterwards; env is NULL when the job is dropped at teardown (free only). */
  void (*done)(napi_env env, struct fdfs_item *item);
} fdfs_item_t;

/* DISK: jobs that wait for an fdatasync or fsync (many threads); CPU: the rest (one thread). */
typedef enum { FDFS_LANE_DISK = 0, FDFS_LANE_CPU = 1 } fdfs_lane_t;

/* Queues `item` on a lane of this env's job threads; false (nothing queued) when that cannot be done. */
bool fdfs_jobs_submit(napi_env env, fdfs_item_t *item, fdfs_lane_t lane);

#endif
