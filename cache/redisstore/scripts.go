package redisstore

import "github.com/redis/go-redis/v9"

// The scripts each touch one key, so they run on Redis Cluster. They treat
// a value in no known form as absent: malformed bytes are replaced, never
// trusted. 0xE2 is an entry, 0xE3 a lease (see format.go).

// leaseScript returns the key's entry or lease marker if it holds a
// well-formed one (a lease marker is well-formed with a non-zero token and
// an expiry, so that nothing planted blocks the key for good); otherwise it stores the caller's lease marker ARGV[1]
// for ARGV[2] ms and returns nil. ARGV[3], when not empty, is the version
// of an entry the caller could not decode: that entry counts as absent.
var leaseScript = redis.NewScript(`
local ZERO = string.rep('\0', 8)
local cur = redis.call('GET', KEYS[1])
if cur then
	local b = string.byte(cur, 1)
	if b == 0xE3 and #cur == 9 and string.sub(cur, 2) ~= ZERO and redis.call('PTTL', KEYS[1]) > 0 then
		return cur
	end
	if b == 0xE2 and #cur >= 11 and (ARGV[3] == '' or string.sub(cur, 3, 10) ~= ARGV[3]) then
		return cur
	end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`)

// fillScript stores ARGV[2] (for ARGV[3] ms; 0: no expiry) if the key holds
// the lease marker with token ARGV[1], returning 1, or an entry whose
// version is ARGV[1], returning 2; else it stores nothing and returns 0.
var fillScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then
	return 0
end
local b = string.byte(cur, 1)
local r = 0
if b == 0xE3 and #cur == 9 and string.sub(cur, 2) == ARGV[1] then
	r = 1
elseif b == 0xE2 and #cur >= 11 and string.sub(cur, 3, 10) == ARGV[1] then
	r = 2
else
	return 0
end
if ARGV[3] == '0' then
	redis.call('SET', KEYS[1], ARGV[2])
else
	redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return r
`)

// releaseScript deletes the key if it holds the lease marker ARGV[1].
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// refreshScript takes the refresh lease of an entry: if the key's leading
// bytes are ARGV[1] (an entry's header: its magic, kind, version and
// refresh time, as the caller read them), it replaces the refresh time by
// ARGV[2] (another varint), keeping the rest and the expiry, and returns 1;
// else it changes nothing and returns 0. It reads and rewrites the header
// alone when the two refresh times have the same length, as they have for
// any two times between 1971 and 2116.
var refreshScript = redis.NewScript(`
local n = #ARGV[1]
if n < 11 or redis.call('GETRANGE', KEYS[1], 0, n - 1) ~= ARGV[1] then
	return 0
end
if #ARGV[2] == n - 10 then
	redis.call('SETRANGE', KEYS[1], 10, ARGV[2])
else
	local cur = redis.call('GET', KEYS[1])
	redis.call('SET', KEYS[1], string.sub(ARGV[1], 1, 10) .. ARGV[2] .. string.sub(cur, n + 1), 'KEEPTTL')
end
return 1
`)
