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
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <node_api.h>

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59 /* include/uapi/asm-generic/socket.h */
#endif

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  const char *code = err == EBADF ? "EBADF" : err == ENOTSOCK ? "ENOTSOCK" : err == ENOPROTOOPT ? "ENOPROTOOPT" : err == EINVAL ? "EINVAL" : "EIO";
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, code, msg);
  return NULL;
}

/*
 * peerCredentials(fd, out: Uint32Array, wantGroups: boolean) -> number
 *
 * Writes [pid, uid, gid, group0, group1, ...] into `out` and returns how many supplementary
 * groups the peer has: when that is more than `out` holds (out.length - 3), none were written
 * (the kernel answers ERANGE with the size it needs) and the caller asks again with a larger array. Returns -1 when the groups were
 * not asked for, or the kernel cannot tell (ENOPROTOOPT, before Linux 4.13). Filling the
 * caller's array rather than building a JS object keeps the call at its two syscalls
 * (bench/peercred.mjs). Throws with code EBADF, ENOTSOCK, ... when getsockopt fails.
 */
static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  bool want_groups = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint32_array || length < 3 ||
      napi_get_value_bool(env, argv[2], &want_groups) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "peerCredentials(fd, out: Uint32Array(>= 3), wantGroups: boolean)");
    return NULL;
  }
  uint32_t *out = data;

  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  if (len != sizeof cred) return throw_errno(env, "getsockopt(SO_PEERCRED): short answer", EIO);
  out[0] = (uint32_t)cred.pid;
  out[1] = cred.uid;
  out[2] = cred.gid;

  int64_t count = -1;
  if (want_groups) {
    /* A short buffer: ERANGE, nothing copied, glen set to the size needed (net/core/sock.c). */
    socklen_t glen = (socklen_t)((length - 3) * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, out + 3, &glen) == 0 || errno == ERANGE) {
      count = glen / sizeof(gid_t);
    } else if (errno != ENOPROTOOPT) {
      return throw_errno(env, "getsockopt(SO_PEERGROUPS)", errno);
    }
  }
  napi_value result;
  if (napi_create_int64(env, count, &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "peerCredentials", NAPI_AUTO_LENGTH, peer_credentials, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "peerCredentials", fn) != napi_ok) return NULL;
  return exports;
}
