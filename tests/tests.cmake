# SPDX-License-Identifier: MIT
# Test registration. Unit tests: tests/unit/test_<module>[_<part>].c, cmocka, linked against
# sb_<module> (or the whole library when no such module exists), one process per binary.
# Integration and browser tests: tests/integration/*.test.mjs and tests/browser/*.test.mjs,
# run by node against the real daemon. Fuzz targets: tests/fuzz/fuzz_*.c (libFuzzer with
# SB_FUZZ=ON; otherwise each target replays its seed corpus so the harness itself is tested).
if(NOT CMOCKA_FOUND)
  message(FATAL_ERROR "cmocka not found: run scripts/deps.sh")
endif()

file(GLOB unit_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(t ${unit_tests})
  get_filename_component(name ${t} NAME_WE)
  string(REGEX REPLACE "^test_([a-z]+).*$" "\\1" module ${name})
  add_executable(${name} ${t})
  if(TARGET sb_${module})
    target_link_libraries(${name} PRIVATE sb_${module} PkgConfig::CMOCKA)
  else()
    target_link_libraries(${name} PRIVATE switchboard_lib PkgConfig::CMOCKA)
  endif()
  target_compile_definitions(${name} PRIVATE SB_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
                                              SB_SHARED_DIR="${CMAKE_SOURCE_DIR}/../shared")
  add_test(NAME unit.${name} COMMAND ${name})
  set_tests_properties(unit.${name} PROPERTIES LABELS unit TIMEOUT 300
                       WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
endforeach()

find_program(NODE_EXE node)
foreach(kind integration browser)
  file(GLOB js_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/${kind}/*.test.mjs)
  foreach(t ${js_tests})
    get_filename_component(name ${t} NAME)
    string(REPLACE ".test.mjs" "" name ${name})
    add_test(NAME ${kind}.${name} COMMAND ${NODE_EXE} --test ${t})
    set_tests_properties(${kind}.${name} PROPERTIES LABELS ${kind} TIMEOUT 600
      ENVIRONMENT "SB_BINARY=$<TARGET_FILE:switchboard>;SB_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
      WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  endforeach()
endforeach()

file(GLOB fuzz_targets CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
foreach(f ${fuzz_targets})
  get_filename_component(name ${f} NAME_WE)
  if(SB_FUZZ)
    add_executable(${name} ${f})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(${name} ${f} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.c)
  endif()
  target_link_libraries(${name} PRIVATE switchboard_lib)
  set(corpus ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
  if(SB_FUZZ)
    # New inputs go to a corpus in the build tree (the first directory); the seeds stay as
    # they are in the source tree.
    file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/corpus/${name})
    add_test(NAME fuzz.${name}
             COMMAND ${name} -max_total_time=20 ${CMAKE_BINARY_DIR}/corpus/${name} ${corpus})
  else()
    add_test(NAME fuzz.${name} COMMAND ${name} ${corpus})
  endif()
  set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 300)
endforeach()
