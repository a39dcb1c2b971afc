-- wrk script for benches/http: sign-ups with a unique email address and a unique loopback
-- client address (X-Forwarded-For, believed because the bench sets TRUSTED_PROXIES=127.0.0.1)
-- on every request, so that neither the per-address nor the per-email limit refuses them.
--
-- wrk ... -s benches/http-signup.lua URL -- MODE SLUG RUN [STOP_AFTER]
--   MODE: json (POST /api/v1/public/signups) | form (POST /t/SLUG) | bogus (JSON for a
--         trial that does not exist: the flood of the limiter measurement)
--   RUN: a number that makes this run's addresses differ from the other runs'
--   STOP_AFTER: each thread stops after this many responses (0: run for the duration)
-- At the end it prints "ACCEPTED n" (202 for JSON, 303 or 200 for the form) and "OTHER n".
local threads = {}

function setup(thread)
   thread:set("id", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   mode = args[1] or "json"
   slug = args[2] or "bench"
   run = tonumber(args[3] or "1")
   stop_after = tonumber(args[4] or "0")
   counter = 0
   accepted = 0
   other = 0
   seen = 0
   -- A fixed CSRF token: the middleware compares the cookie with the field.
   csrf = string.rep("ab", 32)
end

local function client_address(n)
   -- 127.R.X.Y with R from the run and thread: distinct for 65,536 requests per thread.
   local second = (run * 16 + id) % 256
   return string.format("127.%d.%d.%d", second, math.floor(n / 256) % 256, n % 256)
end

request = function()
   counter = counter + 1
   local n = counter
   local email = string.format("b%d-%d-%d@example.org", run, id, n)
   local headers = { ["X-Forwarded-For"] = client_address(n) }
   if mode == "form" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      headers["Cookie"] = "ct_csrf=" .. csrf
      local body = "csrf_token=" .. csrf .. "&name=Bench+Person&email=" .. email .. "&consent=on"
      return wrk.format("POST", "/t/" .. slug, headers, body)
   end
   headers["Content-Type"] = "application/json"
   local trial = slug
   if mode == "bogus" then
      trial = "no-such-trial"
   end
   local body = string.format(
      '{"trial":"%s","name":"Bench Person","email":"%s","consent":true}', trial, email)
   return wrk.format("POST", "/api/v1/public/signups", headers, body)
end

response = function(status, headers, body)
   seen = seen + 1
   if (mode == "form" and (status == 200 or status == 303)) or (mode ~= "form" and status == 202) then
      accepted = accepted + 1
   else
      other = other + 1
   end
   if stop_after > 0 and seen >= stop_after then
      wrk.thread:stop()
   end
end

done = function(summary, latency, requests)
   local a, o = 0, 0
   for _, t in ipairs(threads) do
      a = a + t:get("accepted")
      o = o + t:get("other")
   end
   io.write(string.format("ACCEPTED %d\nOTHER %d\n", a, o))
end
