-- Every request spends a fresh refresh token: the successor each answer
-- carries goes back into the thread's queue and is spent by a later
-- request. The queues start from BENCH_TOKENS (a file, one token a line),
-- split between the BENCH_THREADS threads; with more seeds than connections, a
-- connection always finds one.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local report = require("report")

local threads = {}
local queue, head, tail = {}, 1, 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  local i = 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if i % nthreads == id then
      tail = tail + 1
      queue[tail] = line
    end
    i = i + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local token = "exhausted"
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  end
  return wrk.format(nil, "/v1/auth/refresh", nil, '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local token = body:match('"refresh_token":"([^"]+)"')
    if token then
      tail = tail + 1
      queue[tail] = token
    end
  end
end

done = report.done
