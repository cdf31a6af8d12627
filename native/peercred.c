/*
 * dockgate's peer-credential addon: who is at the other end of an accepted unix socket.
 *
 * Node has no API for SO_PEERCRED, so this reads it with getsockopt(2) on the connection's file
 * descriptor, synchronously, while the fd is known to be open (src/peercred.ts calls it from the
 * server's 'connection' event, in the same tick).
 *
 *   SO_PEERCRED  (socket(7), unix(7)): pid, uid, gid of the peer, as they were at connect(2) time.
 *   SO_PEERGROUPS (Linux 4.13, unix(7)): the peer's supplementary groups, also fixed at connect(2).
 *
 * Plain C against Node-API (node_api.h, ABI-stable across Node versions): no C++, no dependencies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <node_api.h>

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59 /* include/uapi/asm-generic/socket.h */
#endif

/* Groups read when the first call says there are more (NGROUPS_MAX is 65536 on Linux). */
#define GROUPS_FIRST 64
#define GROUPS_MAX 65536

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  const char *code = err == EBADF ? "EBADF" : err == ENOTSOCK ? "ENOTSOCK" : err == ENOPROTOOPT ? "ENOPROTOOPT" : err == EINVAL ? "EINVAL" : "EIO";
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, code, msg);
  return NULL;
}

static int set_u32(napi_env env, napi_value obj, const char *key, uint32_t v) {
  napi_value n;
  if (napi_create_uint32(env, v, &n) != napi_ok) return -1;
  return napi_set_named_property(env, obj, key, n) == napi_ok ? 0 : -1;
}

/* peerCredentials(fd) -> { pid, uid, gid, groups: number[] | null }. Throws with code EBADF, ENOTSOCK, ... */
static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "EINVAL", "peerCredentials(fd): fd must be a non-negative integer");
    return NULL;
  }

  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  if (len != sizeof cred) return throw_errno(env, "getsockopt(SO_PEERCRED): short answer", EIO);

  napi_value out, groups;
  if (napi_create_object(env, &out) != napi_ok) return NULL;
  if (set_u32(env, out, "pid", (uint32_t)cred.pid) || set_u32(env, out, "uid", cred.uid) || set_u32(env, out, "gid", cred.gid)) return NULL;

  /* Supplementary groups: ERANGE means the buffer was short and len now holds the size needed. */
  gid_t first[GROUPS_FIRST];
  gid_t *list = first;
  socklen_t glen = sizeof first;
  int rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, list, &glen);
  if (rc != 0 && errno == ERANGE && glen <= GROUPS_MAX * sizeof(gid_t)) {
    list = malloc(glen);
    if (list == NULL) return throw_errno(env, "getsockopt(SO_PEERGROUPS)", ENOMEM);
    rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, list, &glen);
  }
  if (rc != 0) {
    /* Older kernels (ENOPROTOOPT): groups are unknown, which src/peercred.ts reports as null. */
    int err = errno;
    if (list != first) free(list);
    if (err != ENOPROTOOPT) return throw_errno(env, "getsockopt(SO_PEERGROUPS)", err);
    if (napi_get_null(env, &groups) != napi_ok) return NULL;
  } else {
    size_t n = glen / sizeof(gid_t);
    if (napi_create_array_with_length(env, n, &groups) != napi_ok) {
      if (list != first) free(list);
      return NULL;
    }
    for (size_t i = 0; i < n; i++) {
      napi_value g;
      if (napi_create_uint32(env, list[i], &g) != napi_ok || napi_set_element(env, groups, (uint32_t)i, g) != napi_ok) {
        if (list != first) free(list);
        return NULL;
      }
    }
    if (list != first) free(list);
  }
  if (napi_set_named_property(env, out, "groups", groups) != napi_ok) return NULL;
  return out;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "peerCredentials", NAPI_AUTO_LENGTH, peer_credentials, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "peerCredentials", fn) != napi_ok) return NULL;
  return exports;
}
