{
  "target_defaults": {
    "defines": ["NAPI_VERSION=8"],
    "cflags_cc": ["-std=c++17", "-ffp-contract=off"],
    "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=off"] },
    "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/fp:precise"] } }
  },
  "targets": [
    {
      "target_name": "sgd_native",
      "sources": ["native/binding.cc", "native/dispatch.cc", "native/step.cc", "native/pool.cc", "native/memory.cc", "native/isa/kernels_scalar.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "conditions": [
        ["target_arch=='x64'", { "dependencies": ["kernels_avx2", "kernels_avx512"] }],
        ["target_arch=='arm64'", { "dependencies": ["kernels_neon"] }]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", { "targets": [
      { "target_name": "kernels_avx2", "type": "static_library", "sources": ["native/isa/kernels_avx2.cc"],
        "cflags_cc": ["-mavx2"], "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=off", "-mavx2"] },
        "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX2"] } } },
      { "target_name": "kernels_avx512", "type": "static_library", "sources": ["native/isa/kernels_avx512.cc"],
        "cflags_cc": ["-mavx512f"], "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=off", "-mavx512f"] },
        "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX512"] } } }
    ]}],
    ["target_arch=='arm64'", { "targets": [
      { "target_name": "kernels_neon", "type": "static_library", "sources": ["native/isa/kernels_neon.cc"] }
    ]}]
  ]
}
