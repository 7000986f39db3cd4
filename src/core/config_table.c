/* SPDX-License-Identifier: MIT */
/*
 * Every setting of the daemon, in one place: name, type, default, bounds, whether it can change
 * at run time, and help. The sample config and `serve --help` are generated from this table.
 */
#include "sb/config.h"

const struct sb_config_entry sb_config_table[] = {
    {"listen", SB_CONF_STRING, "127.0.0.1:8080", 0, 0, 0,
     "address and port to listen on (port 0 picks a free one)"},
    {"data", SB_CONF_STRING, "./data", 0, 0, 0,
     "data directory: store, keys, models, knowledge base"},
    {"store", SB_CONF_STRING, "", 0, 0, 0,
     "store location (default: SQLite in the data directory)"},
    {"web_dir", SB_CONF_STRING, "", 0, 0, 0,
     "directory of the web UI (default: the web/ folder of the source tree)"},
    {"tenant", SB_CONF_STRING, "demo", 0, 0, 0, "slug of the default tenant seeded at start"},
    {"demo_dir", SB_CONF_STRING, "", 0, 0, 0,
     "demo tenant's intents and knowledge base (default: the demo/ folder of the source tree)"},
    {"bot_policy", SB_CONF_STRING, "assist", 0, 0, 0,
     "assist: answer from the knowledge base with understanding; basic: greet and hand off only"},
    {"log_level", SB_CONF_STRING, "info", 0, 0, 1, "debug, info, warn, error or off"},
    {"log_json", SB_CONF_BOOL, "false", 0, 1, 1, "write logs as JSON lines"},
    {"workers", SB_CONF_INT, "4", 1, 256, 0, "threads that handle API requests"},
    {"bot_workers", SB_CONF_INT, "2", 1, 256, 0,
     "threads that run bot turns (understanding, knowledge base, OCR/ASR), at lower priority"},
    {"max_body_bytes", SB_CONF_INT, "1048576", 1024, 67108864, 0,
     "largest accepted HTTP request body"},
    {"max_json_depth", SB_CONF_INT, "32", 2, 1000, 0, "deepest accepted JSON nesting"},
    {"max_ws_message_bytes", SB_CONF_INT, "65536", 256, 16777216, 0,
     "largest accepted WebSocket message; larger ones close the socket with 1009"},
    {"rate_per_key", SB_CONF_INT, "20000", 1, 1000000, 1,
     "requests per second allowed per API key or session (token bucket)"},
    {"rate_per_ip", SB_CONF_INT, "20000", 1, 1000000, 1,
     "requests per second allowed per client IP address (token bucket)"},
    {"rate_burst_seconds", SB_CONF_INT, "2", 1, 60, 1,
     "bucket size in seconds of the rate: how long a burst may run at full speed"},
    {"wait_reply_ms", SB_CONF_INT, "5000", 0, 60000, 1,
     "longest wait for the bot's reply when a request asks for wait_reply"},
    {"commit_batch_max", SB_CONF_INT, "256", 1, 10000, 0,
     "most messages stored in one durable transaction (group commit)"},
    {"widget_origins", SB_CONF_STRING, "", 0, 0, 1,
     "space-separated Origins allowed to open the widget socket (empty: this server's own)"},
    {"session_hours", SB_CONF_INT, "12", 1, 720, 1, "lifetime of an agent login session"},
    {"drain_ms", SB_CONF_INT, "5000", 0, 600000, 0,
     "on SIGTERM, longest wait for in-flight work before exiting"},
    {"media_ocr_time_ms", SB_CONF_INT, "5000", 100, 600000, 0,
     "wall-clock limit of one OCR job (an image); past it the job is stopped"},
    {"media_asr_time_ms", SB_CONF_INT, "10000", 100, 600000, 0,
     "wall-clock limit of one speech-recognition job (a voice note)"},
    {"media_job_memory_mb", SB_CONF_INT, "1024", 0, 65536, 0,
     "address space one OCR/ASR job may add to the daemon's (0: no limit)"},
    {"media_job_isolate", SB_CONF_BOOL, "true", 0, 1, 0,
     "run each OCR/ASR job in a child process under the limits above"},
    {"llm_url", SB_CONF_STRING, "", 0, 0, 0,
     "OpenAI-compatible endpoint that re-phrases KB answers, e.g. http://127.0.0.1:8080/v1 "
     "(llama.cpp, vLLM, Ollama); empty = extractive answers only. No model ships with "
     "Switchboard"},
    {"llm_model", SB_CONF_STRING, "", 0, 0, 0, "model name sent to llm_url"},
    {"llm_key_file", SB_CONF_STRING, "", 0, 0, 0,
     "file holding the API key for llm_url (else the SB_LLM_KEY environment variable)"},
    {"llm_timeout_ms", SB_CONF_INT, "2500", 100, 60000, 0,
     "longest wait for the LLM; past it the extractive answer is sent"},
};

const int sb_config_table_len = (int)(sizeof(sb_config_table) / sizeof(sb_config_table[0]));
