-- One wrk script for every scenario; bounded by wrk's -d. Arguments after `--`:
--   read  TOKENS            GET the URL with `Authorization: JWT <token>`, tokens rotated (one
--                           per user, one per line)
--   fit-read FITS           the same with `Authorization: Bearer <Forge invocation token>`
--   write STATE rust|ace    save the caller's preferences; STATE has "token revision" per user.
--                           Every request in flight is a different user (a user is taken from a
--                           free list and given back when its answer arrives), so each write is
--                           valid: rust = POST {"base_revision": <the revision the last answer
--                           for that user gave>, "preferences": {...}} (compare-and-swap);
--                           ace = PUT {...} (ACE's upsert, no revision).
--   page  PATHS             GET each path in turn (page-load URLs with their ?jwt=)
-- A 4th argument gives wrk's thread count (-t), to split the users between threads.
-- done() prints one line "WRKJSON {...}" (latencies in microseconds).

local mode, flavour = "read", "rust"
local items, revs, free = {}, {}, {}
local counter, nthreads = 0, 1
-- globals: setup() sets thread_id in each thread, done() reads the counters back
thread_id, conflicts, lost = 0, 0, 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

local function split(line)
  local a, b = line:match("^(%S+)%s+(%S+)")
  if a then return a, tonumber(b) end
  return line, 0
end

function init(args)
  mode = args[1] or "read"
  local file = args[2] or error("usage: -- read|fit-read|write|page FILE [rust|ace]")
  flavour = args[3] or "rust"
  nthreads = tonumber(args[4] or "1")
  local i = 0
  for line in io.lines(file) do
    if #line > 0 then
      local item, rev = split(line)
      -- users are partitioned between wrk threads, so no two threads write the same user
      if mode ~= "write" or i % nthreads == thread_id then
        table.insert(items, item)
        revs[#items] = rev
        table.insert(free, #items)
      end
      i = i + 1
    end
  end
  if #items == 0 then error("nothing to send in " .. file) end
  counter = thread_id
  -- only writes read the answers (wrk skips buffering bodies when there is no response())
  if mode ~= "write" then response = nil end
end

local function prefs_json(u, n)
  -- u is the user's global index (bench-user-<u>), carried in default_space_key
  return string.format(
    '{"theme":"%s","locale":"en-GB","date_format":"long","email_digest":"weekly","default_space_key":"BU%d","favourite_labels":["howto","release-notes"],"items_per_page":%d}',
    (n % 2 == 0) and "dark" or "light", u, 5 + (n % 96))
end


function request()
  counter = counter + 1
  if mode == "page" then
    return wrk.format("GET", items[(counter % #items) + 1])
  end
  if mode == "read" then
    return wrk.format("GET", nil, { ["Authorization"] = "JWT " .. items[(counter % #items) + 1] }, nil)
  end
  if mode == "fit-read" then
    return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. items[(counter % #items) + 1] }, nil)
  end
  -- write: a free user (there are more users than connections); if none is free (lost answers),
  -- fall back to rotating, which may make a stale (409) write
  local u = table.remove(free)
  if u == nil then u = (counter % #items) + 1 end
  local g = (u - 1) * nthreads + thread_id -- global user index, as in the STATE file
  local headers = { ["Authorization"] = "JWT " .. items[u], ["Content-Type"] = "application/json" }
  if flavour == "rust" then
    local body = string.format('{"base_revision":%d,"preferences":%s}', revs[u], prefs_json(g, counter))
    return wrk.format("POST", nil, headers, body)
  end
  return wrk.format("PUT", nil, headers, prefs_json(g, counter))
end

function response(status, headers, body)
  if status == 409 then conflicts = conflicts + 1 end
  -- whose answer is it? (200 carries the saved values; 409 carries the stored copy)
  local g = body and tonumber(body:match('"default_space_key":"BU(%d+)"'))
  if g == nil then lost = lost + 1; return end
  local u = math.floor((g - thread_id) / nthreads) + 1
  local rev = tonumber(body:match('"revision":(%d+)'))
  if rev then revs[u] = rev end
  table.insert(free, u)
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    conflicts = conflicts + (t:get("conflicts") or 0)
    lost = lost + (t:get("lost") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,"conflicts":%d,"unattributed":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, conflicts, lost))
end
