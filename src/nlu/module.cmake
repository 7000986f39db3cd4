# SPDX-License-Identifier: MIT
# The NLU scoring and training loops (int8 rows times a value, hidden-layer updates) are
# written to be vectorised; -O3 lets GCC do it (at -O2 it vectorises only trivial loops).
# The flag comes after the build type's -O2 on the command line, so it wins.
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  set_source_files_properties(
    ${CMAKE_SOURCE_DIR}/src/nlu/model.c ${CMAKE_SOURCE_DIR}/src/nlu/train.c
    PROPERTIES COMPILE_OPTIONS "-O3")
endif()
# Where training looks for the sentiment lexicon packages (installed by scripts/deps.sh with
# npm ci in third_party/lexicons; SB_NLU_LEXICON_DIR in the environment overrides it).
set_property(SOURCE ${CMAKE_SOURCE_DIR}/src/nlu/lexicon.c APPEND PROPERTY COMPILE_DEFINITIONS
  "SB_NLU_LEXICON_DIR=\"${CMAKE_SOURCE_DIR}/third_party/lexicons/node_modules\"")
