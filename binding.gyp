# The peer-credential addon (native/peercred.c), built by node-gyp from `npm ci`
# (scripts/build-native.mjs). Linux only: elsewhere dockgate runs without peer credentials.
{
  "targets": [
    {
      "target_name": "peercred",
      "sources": ["native/peercred.c"],
      "cflags": ["-std=c11", "-O2", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "defines": ["NAPI_VERSION=8"],
    }
  ]
}
