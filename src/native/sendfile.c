/*
 * sendFile(socketFd, fileFd, offset, count, stallMs, cancel) -> Promise<{ sent, errno }>
 *
 * Large downloads from the page cache to a TCP socket with sendfile(2), as FastDFS sends them:
 * pread + write copy every byte twice through user space (a profile of 4 MB downloads put
 * 40 % of the storage's CPU in those two copies). Both descriptors are dup()ed first, so a
 * socket that JavaScript destroys meanwhile can never let the descriptor number be reused under
 * a running transfer. The socket stays non-blocking: each pass runs on the libuv thread pool
 * (a page-cache miss blocks there, as a pread would) until the socket's buffer is full, then a
 * uv_poll on the loop waits for it to take more, so no pool thread ever waits on a client.
 * A client that takes nothing for stallMs ends the transfer with ETIMEDOUT; cancel[0] set to
 * non-zero by JavaScript (its socket closed: the dup would keep the connection open) ends it with
 * ECANCELED within WATCH_MS. The promise never rejects: errno 0 with sent == count is success,
 * anything else says why it stopped.
 */
#define NAPI_VERSION 8
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>
#include <uv.h>

/* How often a waiting transfer looks at its cancel flag and stall clock. */
#define WATCH_MS 100

typedef struct {
  napi_env env;
  uv_loop_t *loop;
  napi_deferred deferred;
  napi_async_work work;
  uv_poll_t poll;
  uv_timer_t timer;
  int handles_open; /* poll and timer initialised, not yet closed */
  int sock;
  int file;
  int64_t offset;
  int64_t left;
  int64_t sent;
  int64_t pass_start_left; /* left when the current pass was queued */
  int err;
  int blocked; /* the last pass stopped because the socket's buffer was full */
  int done;    /* the next completion settles the promise */
  int poll_err; /* the wait for writability failed: one more pass to learn the socket's error */
  uint64_t stall_ms;
  uint64_t last_progress; /* uv_now() when bytes last went */
  napi_ref cancel_ref;    /* keeps the Int32Array that cancel points into alive */
  int32_t *cancel;
} job_t;

static int queue_pass(job_t *j);
static void release(job_t *j);

static void free_job(job_t *j) {
  close(j->sock);
  close(j->file);
  free(j);
}

static void on_handle_closed(uv_handle_t *h) {
  job_t *j = h->data;
  if (--j->handles_open == 0) free_job(j);
}

/* Pool thread: send until done, the socket would block, or an error. */
static void execute(napi_env env, void *data) {
  (void)env;
  job_t *j = data;
  j->blocked = 0;
  if (j->done) return;
  while (j->left > 0) {
    off_t off = (off_t)j->offset;
    size_t want = j->left > (1 << 30) ? (size_t)1 << 30 : (size_t)j->left;
    ssize_t n = sendfile(j->sock, j->file, &off, want);
    if (n > 0) {
      j->offset += n;
      j->left -= n;
      j->sent += n;
      continue;
    }
    if (n == 0) {
      j->err = EIO; /* the file ended early: it shrank under the transfer */
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      j->blocked = 1;
      return;
    }
    j->err = errno;
    return;
  }
}

static void settle(napi_env env, job_t *j) {
  napi_value result;
  napi_value v;
  napi_create_object(env, &result);
  napi_create_int64(env, j->sent, &v);
  napi_set_named_property(env, result, "sent", v);
  napi_create_int32(env, j->err, &v);
  napi_set_named_property(env, result, "errno", v);
  napi_resolve_deferred(env, j->deferred, result);
  napi_delete_reference(env, j->cancel_ref);
  release(j);
}

static void on_writable(uv_poll_t *p, int status, int events) {
  (void)events;
  job_t *j = p->data;
  uv_poll_stop(&j->poll);
  uv_timer_stop(&j->timer);
  /* libuv reports a socket error (a reset peer) as EBADF; the next sendfile names the real one. */
  if (status < 0) j->poll_err = -status;
  if (queue_pass(j) != 0) release(j);
}

static void on_watch(uv_timer_t *t) {
  job_t *j = t->data;
  if (*j->cancel != 0) j->err = ECANCELED;
  else if (uv_now(t->loop) - j->last_progress >= j->stall_ms) j->err = ETIMEDOUT;
  else return;
  uv_poll_stop(&j->poll);
  uv_timer_stop(&j->timer);
  j->done = 1;
  if (queue_pass(j) != 0) release(j);
}

/* Main thread, after a pass: settle, or wait until the socket takes more. */
static void complete(napi_env env, napi_status status, void *data) {
  job_t *j = data;
  int64_t before = j->pass_start_left;
  napi_delete_async_work(env, j->work);
  j->work = NULL;
  if (status != napi_ok && j->err == 0) j->err = ECANCELED;
  if (*j->cancel != 0 && j->err == 0 && j->left > 0) j->err = ECANCELED;
  if (j->blocked && j->poll_err != 0) j->err = j->poll_err;
  if (j->done || j->err != 0 || j->left == 0 || !j->blocked) {
    settle(env, j);
    return;
  }
  if (j->handles_open == 0) {
    if (uv_poll_init(j->loop, &j->poll, j->sock) != 0) {
      j->err = EIO;
      settle(env, j);
      return;
    }
    uv_timer_init(j->loop, &j->timer);
    j->poll.data = j;
    j->timer.data = j;
    j->handles_open = 2;
  }
  if (j->left < before) j->last_progress = uv_now(j->loop);
  uv_timer_start(&j->timer, on_watch, WATCH_MS, WATCH_MS);
  uv_poll_start(&j->poll, UV_WRITABLE, on_writable);
}

/* Another pass on the pool; its completion settles the promise when the job is done. */
static int queue_pass(job_t *j) {
  /* Also called from loop callbacks, where no handle scope is open for the name. */
  napi_handle_scope scope;
  napi_value name;
  int rc = -1;
  if (napi_open_handle_scope(j->env, &scope) != napi_ok) return -1;
  j->pass_start_left = j->left;
  if (napi_create_string_utf8(j->env, "fdfs.sendfile", NAPI_AUTO_LENGTH, &name) == napi_ok &&
      napi_create_async_work(j->env, NULL, name, execute, complete, j, &j->work) == napi_ok) {
    if (napi_queue_async_work(j->env, j->work) == napi_ok) rc = 0;
    else napi_delete_async_work(j->env, j->work);
  }
  napi_close_handle_scope(j->env, scope);
  return rc;
}

/* Closes the job's loop handles (if any), then its descriptors and memory. */
static void release(job_t *j) {
  if (j->handles_open > 0) {
    uv_close((uv_handle_t *)&j->poll, on_handle_closed);
    uv_close((uv_handle_t *)&j->timer, on_handle_closed);
  } else {
    free_job(j);
  }
}

napi_value fdfs_send_file(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  int32_t sock;
  int32_t file;
  int64_t offset;
  int64_t count;
  int64_t stall;
  napi_typedarray_type cancel_type;
  size_t cancel_len = 0;
  void *cancel = NULL;
  uv_loop_t *loop = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6 || napi_get_value_int32(env, argv[0], &sock) != napi_ok ||
      napi_get_value_int32(env, argv[1], &file) != napi_ok ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[3], &count) != napi_ok ||
      napi_get_value_int64(env, argv[4], &stall) != napi_ok ||
      napi_get_typedarray_info(env, argv[5], &cancel_type, &cancel_len, &cancel, NULL, NULL) != napi_ok ||
      cancel_type != napi_int32_array || cancel_len < 1 || sock < 0 || file < 0 || offset < 0 || count < 0 ||
      stall <= 0) {
    napi_throw_type_error(env, NULL,
                          "sendFile(socketFd, fileFd, offset >= 0, count >= 0, stallMs > 0, cancel: Int32Array)");
    return NULL;
  }
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, NULL, "sendFile: no event loop");
    return NULL;
  }
  job_t *j = calloc(1, sizeof *j);
  if (j == NULL) {
    napi_throw_error(env, NULL, "sendFile: out of memory");
    return NULL;
  }
  j->env = env;
  j->loop = loop;
  j->sock = dup(sock);
  j->file = dup(file);
  if (j->sock < 0 || j->file < 0) {
    int e = errno;
    if (j->sock >= 0) close(j->sock);
    if (j->file >= 0) close(j->file);
    free(j);
    napi_throw_error(env, NULL, strerror(e));
    return NULL;
  }
  j->offset = offset;
  j->left = count;
  j->stall_ms = (uint64_t)stall;
  j->last_progress = uv_now(loop);
  j->cancel = cancel;
  napi_value promise;
  if (napi_create_reference(env, argv[5], 1, &j->cancel_ref) != napi_ok) {
    free_job(j);
    napi_throw_error(env, NULL, "sendFile: cannot hold the cancel flag");
    return NULL;
  }
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok || queue_pass(j) != 0) {
    napi_delete_reference(env, j->cancel_ref);
    free_job(j);
    napi_throw_error(env, NULL, "sendFile: could not start the transfer");
    return NULL;
  }
  return promise;
}
