/*
 * Threads of the addon's own for its file jobs, instead of Node-API async work on libuv's pool:
 * that pool has 4 threads unless UV_THREADPOOL_SIZE is set before Node starts (the module
 * loader already starts it), and durable uploads with 64 in flight then wait for a thread
 * while the disk could take more syncs at once. Results come back to the JS thread through one
 * thread-safe function, which hands over every finished job per wake of the event loop (async
 * work wakes it and enters JS once per job).
 *
 * Two lanes. Jobs that wait for the disk (an fdatasync or fsync) get threads on demand, up to 16,
 * so their waits overlap. Jobs that do not (non-durable creates and appends) take one thread, as
 * FastDFS gives each store path one writer thread: they are CPU work in the kernel, and with 16
 * threads on two cores 4 KB creates cost 67 instead of 44 us of CPU each (the threads queue on
 * the folder's lock and wake each other), while one thread kept busy also leaves the cores less
 * idle between hand-offs than the storage's disk thread did (4 KB uploads, old and new build in
 * turns: 10,460-12,353 against 10,093-11,117 uploads/s).
 */
#define _GNU_SOURCE
#include "jobs.h"
#include <pthread.h>
#include <stdlib.h>

#define MAX_THREADS 16

typedef struct jobs jobs_t;

typedef struct {
  jobs_t *owner;
  int max_threads;
  pthread_mutex_t mu;
  pthread_cond_t ready;
  fdfs_item_t *head;
  fdfs_item_t *tail;
  int queued;   /* items in the queue */
  int idle;     /* threads that have not run since they began to wait */
  int threads;
  int closing;
  pthread_t ids[MAX_THREADS];
} lane_t;

struct jobs {
  lane_t lanes[2]; /* FDFS_LANE_DISK, FDFS_LANE_CPU */
  int outstanding; /* submitted, not yet done (JS thread only): while any, the loop stays alive */
  napi_threadsafe_function finished;
};

static void *job_thread(void *arg) {
  lane_t *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (p->head == NULL && !p->closing) {
      p->idle++;
      pthread_cond_wait(&p->ready, &p->mu);
      p->idle--;
    }
    if (p->closing) break;
    fdfs_item_t *item = p->head;
    p->head = item->next;
    if (p->head == NULL) p->tail = NULL;
    p->queued--;
    pthread_mutex_unlock(&p->mu);
    item->run(item);
    /* napi_closing only at teardown, which frees what is still queued there */
    if (napi_call_threadsafe_function(p->owner->finished, item, napi_tsfn_nonblocking) != napi_ok)
      item->done(NULL, item);
    pthread_mutex_lock(&p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void call_done(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  jobs_t *p = context;
  fdfs_item_t *item = data;
  item->done(env, item);
  if (env != NULL && --p->outstanding == 0) napi_unref_threadsafe_function(env, p->finished);
}

/* The env is going away (process exit, a worker thread's end): stop the threads, drop the queue. */
static void teardown(void *arg) {
  jobs_t *jobs = arg;
  for (int l = 0; l < 2; l++) {
    lane_t *p = &jobs->lanes[l];
    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->threads; i++) pthread_join(p->ids[i], NULL);
    while (p->head != NULL) {
      fdfs_item_t *item = p->head;
      p->head = item->next;
      item->done(NULL, item);
    }
  }
  napi_release_threadsafe_function(jobs->finished, napi_tsfn_abort);
  /* p stays: the thread-safe function may still call back into it while it winds down */
}

static jobs_t *jobs_of(napi_env env) {
  jobs_t *p = NULL;
  if (napi_get_instance_data(env, (void **)&p) == napi_ok && p != NULL) return p;
  p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  napi_value name;
  if (napi_create_string_utf8(env, "fdfs.fileJobs", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, p, call_done, &p->finished) !=
          napi_ok) {
    free(p);
    return NULL;
  }
  /* referenced only while jobs are out, as a pending node:fs call keeps the process alive */
  napi_unref_threadsafe_function(env, p->finished);
  for (int l = 0; l < 2; l++) {
    p->lanes[l].owner = p;
    p->lanes[l].max_threads = l == FDFS_LANE_CPU ? 1 : MAX_THREADS;
    pthread_mutex_init(&p->lanes[l].mu, NULL);
    pthread_cond_init(&p->lanes[l].ready, NULL);
  }
  napi_set_instance_data(env, p, NULL, NULL);
  napi_add_env_cleanup_hook(env, teardown, p);
  return p;
}

bool fdfs_jobs_submit(napi_env env, fdfs_item_t *item, fdfs_lane_t lane) {
  jobs_t *jobs = jobs_of(env);
  if (jobs == NULL) return false;
  lane_t *p = &jobs->lanes[lane];
  pthread_mutex_lock(&p->mu);
  item->next = NULL;
  if (p->tail != NULL) p->tail->next = item;
  else p->head = item;
  p->tail = item;
  p->queued++;
  if (p->idle >= p->queued) pthread_cond_signal(&p->ready);
  else if (p->threads < p->max_threads && pthread_create(&p->ids[p->threads], NULL, job_thread, p) == 0)
    p->threads++;
  else pthread_cond_signal(&p->ready); /* all threads busy: the first free one takes it */
  bool ok = p->threads > 0;
  if (!ok) { /* no thread could start: take the item back */
    p->head = p->tail = NULL;
    p->queued = 0;
  }
  pthread_mutex_unlock(&p->mu);
  if (ok && jobs->outstanding++ == 0) napi_ref_threadsafe_function(env, jobs->finished);
  return ok;
}
