//! The Lua scripts run on the Redis server. Each runs atomically and reads the time
//! from Redis (`TIME`), so replicas with skewed clocks agree.

/// A token bucket. KEYS[1]: the bucket. ARGV: capacity (tokens), refill rate (tokens
/// per second). Takes one token if there is one. Returns `{allowed (0|1), tokens left
/// (as a string: a fraction)}`. The key expires once the bucket would be full again.
pub(crate) const TOKEN_BUCKET: &str = r"
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
";

/// Failure throttling over one or more buckets (the same rules as the in-memory
/// `throttle::Table`). KEYS: the buckets. ARGV[1]: the operation; ARGV[2]: how long a
/// reservation lives (ms; a replica that dies mid-login frees it this way); ARGV[3]: the
/// wait answered while attempts are in flight (ms); then per key 4 values: free
/// failures, first lock (ms), longest lock (ms), window (ms).
///
/// Operations:
/// - `begin`: returns the longest wait (ms) if any bucket refuses, else reserves a slot
///   in every bucket and returns 0.
/// - `fail`: gives the slots back and counts a failure in every bucket; returns 0.
/// - `ok`: gives the slots back and clears the first bucket's failures and lock.
/// - `release`: gives the slots back.
/// - `check`: the longest remaining lock (ms), 0 if none (no reservation).
/// - `failure`: counts a failure (no reservation); returns 0.
pub(crate) const THROTTLE: &str = r"
local op = ARGV[1]
local reservation_ms = tonumber(ARGV[2])
local in_flight_retry_ms = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function policy(i)
  local at = 4 + (i - 1) * 4
  return tonumber(ARGV[at]), tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
end

local function load(key)
  local h = redis.call('HMGET', key, 'failures', 'last', 'locked_until', 'in_flight', 'in_flight_until')
  local e = {
    failures = tonumber(h[1]) or 0,
    last = tonumber(h[2]) or 0,
    locked_until = tonumber(h[3]) or 0,
    in_flight = tonumber(h[4]) or 0,
    in_flight_until = tonumber(h[5]) or 0,
  }
  if e.in_flight_until <= now then e.in_flight = 0 end
  return e
end

local function recent(e, window)
  if now - e.last >= window then return 0 end
  return e.failures
end

local function store(key, e, max, window)
  redis.call('HSET', key, 'failures', e.failures, 'last', e.last, 'locked_until', e.locked_until,
    'in_flight', e.in_flight, 'in_flight_until', e.in_flight_until)
  redis.call('PEXPIRE', key, window + max + reservation_ms)
end

local function fail(e, free, base, max, window)
  e.failures = recent(e, window) + 1
  e.last = now
  local over = e.failures - free
  if over > 0 then
    local lock = base * (2 ^ math.min(over - 1, 40))
    e.locked_until = now + math.min(lock, max)
  end
end

if op == 'begin' then
  local wait = 0
  local entries = {}
  for i, key in ipairs(KEYS) do
    local free, base, max, window = policy(i)
    local e = load(key)
    entries[i] = e
    if e.locked_until > now then
      wait = math.max(wait, e.locked_until - now)
    elseif e.in_flight > 0 and recent(e, window) + e.in_flight >= free then
      wait = math.max(wait, in_flight_retry_ms)
    end
  end
  if wait > 0 then return wait end
  for i, key in ipairs(KEYS) do
    local free, base, max, window = policy(i)
    local e = entries[i]
    e.in_flight = e.in_flight + 1
    e.in_flight_until = now + reservation_ms
    store(key, e, max, window)
  end
  return 0
end

if op == 'check' then
  local wait = 0
  for i, key in ipairs(KEYS) do
    local e = load(key)
    if e.locked_until > now then wait = math.max(wait, e.locked_until - now) end
  end
  return wait
end

for i, key in ipairs(KEYS) do
  local free, base, max, window = policy(i)
  local e = load(key)
  if op ~= 'failure' and e.in_flight > 0 then e.in_flight = e.in_flight - 1 end
  if op == 'fail' or op == 'failure' then
    fail(e, free, base, max, window)
  elseif op == 'ok' and i == 1 then
    e.failures = 0
    e.locked_until = 0
  end
  store(key, e, max, window)
end
return 0
";
