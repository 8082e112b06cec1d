/*
 * createFile(path, bytes, sync): a new file holding `bytes`, made in one job on libuv's thread
 * pool: open (O_CREAT | O_EXCL), pwrite until done, fdatasync when `sync`, close. Through Node's
 * fs that is four pool round trips, each a futex wake of a pool thread and a wake of the event
 * loop; a durable 4 KB upload spent more CPU on those hand-offs than on the system calls.
 * Resolves with 0, or an errno (the file is removed again when it was created and then failed).
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref bytes_ref; /* keeps the caller's buffer alive while the pool thread reads it */
  char *path;
  const unsigned char *bytes;
  size_t len;
  int sync;
  int err;
} create_job_t;

static void create_execute(napi_env env, void *data) {
  create_job_t *j = data;
  (void)env;
  int fd = open(j->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    j->err = errno;
    return;
  }
  size_t done = 0;
  while (done < j->len) {
    ssize_t n = pwrite(fd, j->bytes + done, j->len - done, (off_t)done);
    if (n < 0) {
      if (errno == EINTR) continue;
      j->err = errno;
      break;
    }
    done += (size_t)n;
  }
  if (j->err == 0 && j->sync && fdatasync(fd) != 0) j->err = errno;
  if (close(fd) != 0 && j->err == 0 && errno != EINTR) j->err = errno;
  if (j->err != 0) unlink(j->path);
}

static void create_complete(napi_env env, napi_status status, void *data) {
  create_job_t *j = data;
  napi_value result;
  if (status != napi_ok && j->err == 0) j->err = ECANCELED;
  napi_create_int32(env, j->err, &result);
  napi_resolve_deferred(env, j->deferred, result);
  napi_delete_reference(env, j->bytes_ref);
  napi_delete_async_work(env, j->work);
  free(j->path);
  free(j);
}

napi_value fdfs_create_file(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  size_t path_len = 0;
  void *bytes = NULL;
  size_t len = 0;
  bool sync = false;
  napi_typedarray_type type;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &path_len) != napi_ok ||
      path_len == 0 ||
      napi_get_typedarray_info(env, argv[1], &type, &len, &bytes, NULL, NULL) != napi_ok ||
      type != napi_uint8_array || napi_get_value_bool(env, argv[2], &sync) != napi_ok) {
    napi_throw_type_error(env, NULL, "createFile(path: string, bytes: Uint8Array, sync: boolean)");
    return NULL;
  }
  create_job_t *j = calloc(1, sizeof *j);
  char *path = malloc(path_len + 1);
  if (j == NULL || path == NULL) {
    free(j);
    free(path);
    napi_throw_error(env, NULL, "createFile: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, argv[0], path, path_len + 1, &path_len);
  if (strlen(path) != path_len) { /* a NUL inside the name would name another file */
    free(j);
    free(path);
    napi_throw_type_error(env, NULL, "createFile: the path holds a NUL byte");
    return NULL;
  }
  j->path = path;
  j->bytes = bytes;
  j->len = len;
  j->sync = sync;
  napi_value promise;
  napi_value name;
  if (napi_create_reference(env, argv[1], 1, &j->bytes_ref) != napi_ok) {
    free(path);
    free(j);
    napi_throw_error(env, NULL, "createFile: cannot hold the buffer");
    return NULL;
  }
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "fdfs.createFile", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, create_execute, create_complete, j, &j->work) != napi_ok) {
    napi_delete_reference(env, j->bytes_ref);
    free(path);
    free(j);
    napi_throw_error(env, NULL, "createFile: could not start");
    return NULL;
  }
  if (napi_queue_async_work(env, j->work) != napi_ok) {
    /* the promise is never settled: nothing holds it but the caller, who gets the throw */
    napi_delete_async_work(env, j->work);
    napi_delete_reference(env, j->bytes_ref);
    free(path);
    free(j);
    napi_throw_error(env, NULL, "createFile: could not queue");
    return NULL;
  }
  return promise;
}
