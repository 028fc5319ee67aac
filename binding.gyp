{
  "targets": [
    {
      "target_name": "clips4",
      "sources": ["<!@(node scripts/native-sources.cjs --relative)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/src",
        "<!@(node scripts/torch-config.cjs include)"
      ],
      "defines": [
        "NAPI_VERSION=<(napi_build_version)",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_CPP_EXCEPTIONS",
        "<!@(node scripts/torch-config.cjs defines)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-ffp-contract=off", "<!@(node scripts/torch-config.cjs cflags)"],
      "ldflags": ["<!@(node scripts/torch-config.cjs ldflags)"],
      "libraries": ["<!@(node scripts/torch-config.cjs libs)", "-ldl"]
    }
  ]
}
