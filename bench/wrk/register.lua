-- Each request registers a new account. BENCH_RUN keeps emails unique
-- across runs.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local report = require("report")

local run = os.getenv("BENCH_RUN") or tostring(os.time())
local threads, counter = {}, 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"email":"bench-%s-%d-%d@example.com","password":"correct horse battery staple"}',
    run, id, counter)
  return wrk.format(nil, "/v1/auth/register", nil, body)
end

done = report.done
