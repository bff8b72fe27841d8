-- The wrk script of deploy/loadtest: picks request kinds by the scenario's weights, hands out
-- unique indexes for creates and updates, and writes a JSON summary when the run ends.
-- Environment (set by deploy/loadtest): LOAD_DIR (this folder), LOAD_STATE (seed files, counters),
-- LOAD_SCENARIO, LOAD_RESULT (JSON summary to write), LOAD_THREADS (wrk -t).
local dir, state = os.getenv("LOAD_DIR"), os.getenv("LOAD_STATE")
local scenario_name = os.getenv("LOAD_SCENARIO")
local threads_total = tonumber(os.getenv("LOAD_THREADS"))
local kinds = dofile(dir .. "/requests.lua")
local scenario = dofile(dir .. "/scenarios.lua")[scenario_name] or error("unknown scenario " .. tostring(scenario_name))
local counted = { "lp_create", "lp_update", "pa_create" }

local function read_env(path)
  local values = {}
  local file = io.open(path)
  if not file then return values end
  for line in file:lines() do
    local key, value = line:match("^([%w_]+)=(.*)$")
    if key then values[key] = value end
  end
  file:close()
  return values
end

local function read_lines(path)
  local lines = {}
  local file = io.open(path)
  if not file then return lines end
  for line in file:lines() do lines[#lines + 1] = line end
  file:close()
  return lines
end

-- Unique indexes: thread t of T hands out t, t+T, t+2T, ... continuing where the previous run of
-- this load test stopped (state/counters.env keeps each thread's count per kind).
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

-- A global, so done() can read it from each thread (thread:get copies plain tables).
issued = {}
local ctx = {}
function ctx:next(name)
  local k = (self.start[name] or 0) + (issued[name] or 0)
  issued[name] = (issued[name] or 0) + 1
  return tid + threads_total * k
end

local picks = {}
function init(args)
  math.randomseed(os.time() + tid * 7919)
  ctx.seed = read_env(state .. "/seed.env")
  local pa = read_env(state .. "/pa.env")
  ctx.pa_projects, ctx.pa_partners = tonumber(pa.PA_PROJECTS or "1"), tonumber(pa.PA_PARTNERS or "1")
  ctx.list_ids = read_lines(state .. "/list-ids.txt")
  ctx.update_ids = read_lines(state .. "/update-ids.txt")
  ctx.directory = read_env(state .. "/dir.env")
  ctx.directory_entries = read_lines(state .. "/dir-entry-ids.txt")
  local counters = read_env(state .. "/counters.env")
  ctx.start = {}
  for _, name in ipairs(counted) do ctx.start[name] = tonumber(counters[name .. "_" .. tid] or "0") end
  -- 1,000 slots filled in proportion to the weights: one table lookup per request.
  local total = 0
  for _, weight in pairs(scenario) do total = total + weight end
  for name, weight in pairs(scenario) do
    local fn = kinds[name] or error("unknown request kind " .. name)
    for _ = 1, math.floor(1000 * weight / total + 0.5) do picks[#picks + 1] = fn end
  end
end

function request()
  return picks[math.random(#picks)](ctx)
end

function done(summary, latency, requests)
  local counters = read_env(state .. "/counters.env")
  local lines, total = {}, {}
  for _, thread in ipairs(threads) do
    local t = thread:get("tid")
    local counts = thread:get("issued")
    for _, name in ipairs(counted) do
      local key = name .. "_" .. t
      counters[key] = tostring(tonumber(counters[key] or "0") + (counts[name] or 0))
      total[name] = (total[name] or 0) + (counts[name] or 0)
    end
  end
  for key, value in pairs(counters) do lines[#lines + 1] = key .. "=" .. value end
  table.sort(lines)
  local file = io.open(state .. "/counters.env", "w")
  file:write(table.concat(lines, "\n") .. "\n")
  file:close()

  local e = summary.errors
  local seconds = summary.duration / 1e6
  local json = string.format(
    '{"scenario":"%s","requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
    '"non_2xx":%d,"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"issued":{"lp_create":%d,"lp_update":%d,"pa_create":%d}}',
    scenario_name, summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect, e.read, e.write, e.timeout,
    total.lp_create or 0, total.lp_update or 0, total.pa_create or 0)
  local out = io.open(os.getenv("LOAD_RESULT"), "w")
  out:write(json .. "\n")
  out:close()
end
