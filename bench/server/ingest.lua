-- SPDX-License-Identifier: MIT
-- wrk script: POST /api/v1/messages with a unique message id per request, spread over 1,000
-- customers. Set WAIT_REPLY=1 in the environment to ask for the bot's reply. (A fixed rate is
-- ingest_load.c's job: wrk's delay() waits after each answer, so it cannot hold a rate.)
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("SB_KEY")
  wait = os.getenv("WAIT_REPLY") == "1"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"customer":{"id":"bench-%d"},"message_id":"t%d-%d","text":"Where is my order %d?"%s}',
    -- with WAIT_REPLY every message opens a new conversation, so each one gets a full bot
    -- turn (understanding + knowledge-base answer) rather than a conversation already handed off
    wait and (tid * 100000000 + counter) or counter % 1000, tid, counter, counter,
    wait and ',"wait_reply":true' or "")
  return wrk.format(nil, "/api/v1/messages", nil, body)
end

function response(status, headers, body)
  if status ~= 201 and status ~= 200 then
    print("unexpected status " .. status .. ": " .. body)
  end
end
