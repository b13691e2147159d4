-- GET /v1/users/me with one access token (BENCH_ACCESS_TOKEN).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local report = require("report")

wrk.method = "GET"
wrk.path = "/v1/users/me"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_ACCESS_TOKEN")

done = report.done
