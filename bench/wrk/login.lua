-- Every request signs in the one bench account (BENCH_EMAIL).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local report = require("report")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"correct horse battery staple"}',
  os.getenv("BENCH_EMAIL"))
wrk.path = "/v1/auth/login"

done = report.done
