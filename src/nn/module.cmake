# SPDX-License-Identifier: MIT
# nn: the ONNX inference runtime. No external packages (our own protobuf reader and GEMM);
# libm only. Its files are compiled with -O3 outside Debug builds: the build default
# (RelWithDebInfo = -O2) vectorises only loops whose trip count is known, and the element-wise
# kernels, im2col and the GEMM's packing need the general vectoriser (see docs/nn.md).
file(GLOB SB_NN_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/nn/*.c)
if(NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  set_source_files_properties(${SB_NN_SOURCES} PROPERTIES COMPILE_OPTIONS "-O3")
endif()
