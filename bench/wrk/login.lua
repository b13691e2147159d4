-- Signs in BENCH_ACCOUNTS bench accounts (BENCH_EMAIL with a number before
-- the @), one after the other: many users, as a service has. One account
-- signing in many times at once is capped by its lockout (an attempt is
-- counted when it starts), which would measure the lockout, not sign-ins.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local report = require("report")

local local_part, domain = os.getenv("BENCH_EMAIL"):match("^(.*)@(.*)$")
local accounts = tonumber(os.getenv("BENCH_ACCOUNTS") or "1")
local counter = 0

function request()
  counter = counter + 1
  local email = string.format("%s-%d@%s", local_part, counter % accounts, domain)
  return wrk.format("POST", "/v1/auth/login", { ["Content-Type"] = "application/json" },
    string.format('{"email":"%s","password":"correct horse battery staple"}', email))
end

done = report.done
