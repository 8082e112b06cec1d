/*
 * File work in one thread-pool job each, where node:fs needs several round trips (each a futex
 * wake of a pool thread, then a wake of the event loop; a durable 4 KB upload spent more CPU on
 * those hand-offs than on the system calls):
 *   createFile(path, bytes, sync[, to[, logFd, logBytes]]): open (O_CREAT | O_EXCL), pwrite until
 *     done, fdatasync when `sync`, close; the file is removed again when a step after open failed.
 *     With logFd, logBytes (a binlog record) are appended to it first (unsynced; the fd is
 *     O_APPEND), and a failure there makes no file. With `to`, the file
 *     is made unnamed in `to`'s folder instead (O_TMPFILE), written, synced and linked at `to`;
 *     where that is not available, written at `path` and moved as moveNew does. A taken `to`
 *     resolves with -EEXIST, the complete file left at `path` for the caller to name otherwise
 *     (any failure of the move step resolves negated so).
 *   moveNew(from, to): `from` renamed to `to` unless `to` exists (renameat2 RENAME_NOREPLACE;
 *     link + unlink where the filesystem lacks it), so a name is never replaced.
 *   syncDir(path): open, fsync, close of a directory (a rename or link in it made durable).
 *   appendSync(fd, bytes, sync): write until done (the fd is O_APPEND), then fdatasync when `sync`.
 * Each resolves with 0 or an errno; they run on the addon's own threads (jobs.c), in its disk
 * lane when they sync and in its one-thread CPU lane when they do not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include "jobs.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum op { OP_CREATE, OP_MOVE, OP_SYNC_DIR, OP_APPEND };

typedef struct {
  fdfs_item_t item; /* first: the job threads see the job as its item */
  enum op op;
  napi_deferred deferred;
  napi_ref bytes_ref; /* keeps the caller's buffer alive while the pool thread reads it */
  char *path;
  char *to; /* moveNew's target; createFile's when given */
  int fd;   /* appendSync's file */
  const unsigned char *bytes;
  size_t len;
  int log_fd; /* createFile's record goes here first when >= 0 */
  const unsigned char *log_bytes;
  size_t log_len;
  napi_ref log_ref;
  int sync;
  int err;
} file_job_t;

static void move_new(file_job_t *j) {
  if (renameat2(AT_FDCWD, j->path, AT_FDCWD, j->to, RENAME_NOREPLACE) == 0) return;
  if (errno != EINVAL && errno != ENOSYS) {
    j->err = errno;
    return;
  }
  if (link(j->path, j->to) != 0) {
    j->err = errno;
    return;
  }
  unlink(j->path); /* a name left behind is a temp file, which startup clears */
}

/* write() until every byte went (a short write continues; EINTR retries). */
static int write_all(int fd, const unsigned char *bytes, size_t len, int positioned) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = positioned ? pwrite(fd, bytes + done, len - done, (off_t)done) : write(fd, bytes + done, len - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += (size_t)n;
  }
  return 0;
}

/* 0 until O_TMPFILE (or the /proc link to it) failed once here: then always the temp name. */
static int no_tmpfile;

/*
 * createFile with a target, done without a temp name: an unnamed file in the target's folder
 * (O_TMPFILE), written, synced, then linked at `to` (linkat never replaces a name: EEXIST). A
 * name less to make and drop than temp + rename: about 20 % of a small file's create on ext4.
 * The file's data is synced before it has a name; the link and the link count it gives the file
 * are one metadata change, which the caller's fsync of the folder makes durable on a journaling
 * filesystem (as it does the rename on the temp-name path).
 * Returns 0 when it ran (j->err says how it went), -1 when O_TMPFILE cannot be used here.
 */
static int create_unnamed(file_job_t *j) {
  if (__atomic_load_n(&no_tmpfile, __ATOMIC_RELAXED)) return -1;
  const char *slash = strrchr(j->to, '/');
  if (slash == NULL || slash == j->to) return -1;
  char *dir = strndup(j->to, (size_t)(slash - j->to));
  if (dir == NULL) return -1;
  int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  free(dir);
  if (fd < 0) {
    /* Only a kernel (EISDIR) or filesystem (EOPNOTSUPP) without it turns the path off for good:
     * a missing folder, EMFILE or ENOSPC is this call's trouble, which the temp-name path meets too. */
    if (errno == EOPNOTSUPP || errno == EISDIR) __atomic_store_n(&no_tmpfile, 1, __ATOMIC_RELAXED);
    return -1;
  }
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  j->err = write_all(fd, j->bytes, j->len, 1);
  if (j->err == 0 && j->sync && fdatasync(fd) != 0) j->err = errno;
  if (j->err == 0 && linkat(AT_FDCWD, proc, AT_FDCWD, j->to, AT_SYMLINK_FOLLOW) != 0) {
    int e = errno;
    if (e == EEXIST) {
      /* the name is taken: the complete file goes to the temp name, as the renaming path leaves it */
      j->err = linkat(AT_FDCWD, proc, AT_FDCWD, j->path, AT_SYMLINK_FOLLOW) == 0 ? -EEXIST : errno;
    } else if (e == ENOENT && access("/proc/self/fd", X_OK) != 0) {
      __atomic_store_n(&no_tmpfile, 1, __ATOMIC_RELAXED); /* no /proc here: temp names from now on */
      close(fd);
      return -1;
    } else
      j->err = e;
  }
  close(fd); /* an unlinked file's data goes with its last descriptor */
  return 0;
}

static void create_file(file_job_t *j) {
  if (j->log_fd >= 0 && (j->err = write_all(j->log_fd, j->log_bytes, j->log_len, 0)) != 0) return;
  if (j->to != NULL && create_unnamed(j) == 0) return;
  int fd = open(j->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    j->err = errno;
    return;
  }
  j->err = write_all(fd, j->bytes, j->len, 1);
  if (j->err == 0 && j->sync && fdatasync(fd) != 0) j->err = errno;
  if (close(fd) != 0 && j->err == 0 && errno != EINTR) j->err = errno;
  if (j->err != 0) {
    unlink(j->path);
    return;
  }
  if (j->to == NULL) return;
  move_new(j);
  j->err = -j->err; /* the file stays: the caller knows a failure here by its sign */
}

static void sync_dir(file_job_t *j) {
  int fd = open(j->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    j->err = errno;
    return;
  }
  if (fsync(fd) != 0) j->err = errno;
  close(fd);
}

static void job_execute(fdfs_item_t *item) {
  file_job_t *j = (file_job_t *)item;
  switch (j->op) {
    case OP_CREATE:
      create_file(j);
      break;
    case OP_MOVE:
      move_new(j);
      break;
    case OP_SYNC_DIR:
      sync_dir(j);
      break;
    case OP_APPEND:
      j->err = write_all(j->fd, j->bytes, j->len, 0);
      if (j->err == 0 && j->sync && fdatasync(j->fd) != 0) j->err = errno;
      break;
  }
}

/* env NULL: the env is being torn down, the reference goes with it. */
static void free_job(napi_env env, file_job_t *j) {
  if (env != NULL && j->bytes_ref != NULL) napi_delete_reference(env, j->bytes_ref);
  if (env != NULL && j->log_ref != NULL) napi_delete_reference(env, j->log_ref);
  free(j->path);
  free(j->to);
  free(j);
}

static void job_complete(napi_env env, fdfs_item_t *item) {
  file_job_t *j = (file_job_t *)item;
  napi_value result;
  if (env != NULL && napi_create_int32(env, j->err, &result) == napi_ok)
    napi_resolve_deferred(env, j->deferred, result);
  free_job(env, j);
}

/* A path argument as a new C string; NULL (with a JS exception pending) when it is not one. */
static char *path_arg(napi_env env, napi_value v, const char *what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len == 0) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  char *path = malloc(len + 1);
  if (path == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, path, len + 1, &len);
  if (strlen(path) != len) { /* a NUL inside the name would name another file */
    free(path);
    napi_throw_type_error(env, NULL, "the path holds a NUL byte");
    return NULL;
  }
  return path;
}

/* Reads `bytes` (a Uint8Array) and `sync` (a boolean) into `j`; false when they are not that. */
static bool bytes_and_sync(napi_env env, napi_value bytes, napi_value sync, file_job_t *j) {
  void *data = NULL;
  size_t len = 0;
  bool flag = false;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, bytes, &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array || napi_get_value_bool(env, sync, &flag) != napi_ok)
    return false;
  j->bytes = data;
  j->len = len;
  j->sync = flag;
  return true;
}

/*
 * Queues `j` (holding `bytes`, the buffer it reads, when not NULL) and returns its promise; frees
 * `j` and throws when that cannot be done.
 */
static napi_value start_job(napi_env env, file_job_t *j, napi_value bytes) {
  /* a directory's fsync waits for the disk; a move without one does not */
  int waits = j->op == OP_SYNC_DIR || ((j->op == OP_CREATE || j->op == OP_APPEND) && j->sync);
  napi_value promise;
  if ((bytes != NULL && napi_create_reference(env, bytes, 1, &j->bytes_ref) != napi_ok) ||
      napi_create_promise(env, &j->deferred, &promise) != napi_ok) {
    free_job(env, j);
    napi_throw_error(env, NULL, "could not start the job");
    return NULL;
  }
  j->item.run = job_execute;
  j->item.done = job_complete;
  if (!fdfs_jobs_submit(env, &j->item, waits ? FDFS_LANE_DISK : FDFS_LANE_CPU)) {
    /* the promise is never settled: nothing holds it but the caller, who gets the throw */
    free_job(env, j);
    napi_throw_error(env, NULL, "could not queue the job");
    return NULL;
  }
  return promise;
}

/* A zeroed job, or NULL with a JS exception pending. */
static file_job_t *new_job(napi_env env, enum op op) {
  file_job_t *j = calloc(1, sizeof *j);
  if (j == NULL) napi_throw_error(env, NULL, "out of memory");
  else {
    j->op = op;
    j->log_fd = -1;
  }
  return j;
}

/*
 * The job's path from `path`, and its target from `to` when not NULL; false when either is not a
 * path (the job freed, a JS exception pending).
 */
static bool take_paths(napi_env env, file_job_t *j, napi_value path, const char *path_what, napi_value to,
                       const char *to_what) {
  j->path = path_arg(env, path, path_what);
  if (j->path != NULL && to != NULL) j->to = path_arg(env, to, to_what);
  if (j->path != NULL && (to == NULL || j->to != NULL)) return true;
  free_job(env, j);
  return false;
}

/* moveNew and syncDir: a job of `n` path arguments (1 or 2) and nothing else. */
static napi_value paths_job(napi_env env, napi_callback_info info, enum op op, size_t n, const char *usage,
                            const char *path_what, const char *to_what) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < n) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  file_job_t *j = new_job(env, op);
  if (j == NULL || !take_paths(env, j, argv[0], path_what, n > 1 ? argv[1] : NULL, to_what)) return NULL;
  return start_job(env, j, NULL);
}

napi_value fdfs_create_file(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_valuetype to_type = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  file_job_t *j = new_job(env, OP_CREATE);
  if (j == NULL) return NULL;
  void *log = NULL;
  size_t log_len = 0;
  int32_t log_fd = -1;
  napi_typedarray_type log_type;
  if (argc < 3 || !bytes_and_sync(env, argv[1], argv[2], j) ||
      (argc > 3 && napi_typeof(env, argv[3], &to_type) != napi_ok) ||
      (argc > 4 && (napi_get_value_int32(env, argv[4], &log_fd) != napi_ok || log_fd < 0 || argc < 6 ||
                    napi_get_typedarray_info(env, argv[5], &log_type, &log_len, &log, NULL, NULL) != napi_ok ||
                    log_type != napi_uint8_array ||
                    napi_create_reference(env, argv[5], 1, &j->log_ref) != napi_ok))) {
    free_job(env, j);
    napi_throw_type_error(env, NULL,
                          "createFile(path: string, bytes: Uint8Array, sync: boolean, to?: string, logFd?: number, "
                          "logBytes?: Uint8Array)");
    return NULL;
  }
  if (!take_paths(env, j, argv[0], "createFile: the path must be a non-empty string",
                  to_type != napi_undefined ? argv[3] : NULL, "createFile: to must be a non-empty string"))
    return NULL;
  if (argc > 4) {
    j->log_fd = log_fd;
    j->log_bytes = log;
    j->log_len = log_len;
  }
  return start_job(env, j, argv[1]);
}

napi_value fdfs_move_new(napi_env env, napi_callback_info info) {
  return paths_job(env, info, OP_MOVE, 2, "moveNew(from: string, to: string)",
                   "moveNew: from must be a non-empty string", "moveNew: to must be a non-empty string");
}

napi_value fdfs_sync_dir(napi_env env, napi_callback_info info) {
  return paths_job(env, info, OP_SYNC_DIR, 1, "syncDir(path: string)", "syncDir: the path must be a non-empty string",
                   NULL);
}

napi_value fdfs_append_sync(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  file_job_t *j = new_job(env, OP_APPEND);
  if (j == NULL) return NULL;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      !bytes_and_sync(env, argv[1], argv[2], j)) {
    free_job(env, j);
    napi_throw_type_error(env, NULL, "appendSync(fd: number, bytes: Uint8Array, sync: boolean)");
    return NULL;
  }
  j->fd = fd;
  return start_job(env, j, argv[1]);
}
