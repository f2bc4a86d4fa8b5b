{
  # Optional native kernels for lgd-workspace: 2-D convolutions on oneDNN (Debian's libdnnl-dev).
  # Built by `npx tsx scripts/build-native.ts` (which runs node-gyp with --nodedir=/usr when
  # Node's headers live there); never required: without the .node file the library falls back to
  # the tfjs wasm kernels.
  "targets": [
    {
      "target_name": "lgd_native",
      "sources": ["src/lgd_native.cc"],
      # oneDNN's C++ API reports errors by exceptions; they are caught and turned into JS errors.
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
