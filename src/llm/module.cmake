# SPDX-License-Identifier: MIT
# The optional LLM phrasing client talks HTTP with libcurl and redacts PII with the nlu module.
list(APPEND SB_DEPS_llm PkgConfig::CURL sb_nlu)
