/* The addon's one module: the functions of sendfile.c and files.c (see index.ts). */
#define NAPI_VERSION 8
#include <node_api.h>

napi_value fdfs_send_file(napi_env env, napi_callback_info info);
napi_value fdfs_create_file(napi_env env, napi_callback_info info);
napi_value fdfs_move_new(napi_env env, napi_callback_info info);
napi_value fdfs_sync_dir(napi_env env, napi_callback_info info);
napi_value fdfs_append_sync(napi_env env, napi_callback_info info);

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "sendFile", NAPI_AUTO_LENGTH, fdfs_send_file, NULL, &fn);
  napi_set_named_property(env, exports, "sendFile", fn);
  napi_create_function(env, "createFile", NAPI_AUTO_LENGTH, fdfs_create_file, NULL, &fn);
  napi_set_named_property(env, exports, "createFile", fn);
  napi_create_function(env, "moveNew", NAPI_AUTO_LENGTH, fdfs_move_new, NULL, &fn);
  napi_set_named_property(env, exports, "moveNew", fn);
  napi_create_function(env, "syncDir", NAPI_AUTO_LENGTH, fdfs_sync_dir, NULL, &fn);
  napi_set_named_property(env, exports, "syncDir", fn);
  napi_create_function(env, "appendSync", NAPI_AUTO_LENGTH, fdfs_append_sync, NULL, &fn);
  napi_set_named_property(env, exports, "appendSync", fn);
  return exports;
}
