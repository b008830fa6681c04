package redisstore

// indexScript adds a family to its subject's index, drops the ids of
// families whose keys have expired, and keeps the index as long as its
// longest-lived family. Scores are in the store's clock, so the expiry is
// set relative to ARGV now, not to the server's clock. KEYS: subject index. ARGV: family id,
// the family key's expiry (unix ms, store clock), now (unix ms, store
// clock).
const indexScript = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then
	redis.call('PEXPIRE', KEYS[1], math.max(1, math.floor(tonumber(last[2]) - tonumber(ARGV[3]))))
end
return 1
`

// createScript stores the first token of a family. KEYS (one slot, the
// family's): family, token. ARGV: subject, family ttl ms, token ttl ms,
// family id.
const createScript = `
redis.call('HSET', KEYS[1], 'sub', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'fam', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`

// rotateScript uses up the old token and stores its child, or detects
// reuse. KEYS (one slot, the family's): old token, child token, family.
// ARGV: family id, now ms, grace ms, child hash, child ttl ms, the family's
// token key prefix.
const rotateScript = `
local t = redis.call('HMGET', KEYS[1], 'fam', 'used', 'child')
if not t[1] or t[1] ~= ARGV[1] or redis.call('EXISTS', KEYS[3]) == 0 then
	return 'invalid'
end
if redis.call('HEXISTS', KEYS[3], 'revoked') == 1 then
	return 'revoked'
end
if t[2] then
	local grace = tonumber(ARGV[3])
	if grace > 0 and tonumber(ARGV[2]) - tonumber(t[2]) <= grace and t[3] then
		local child = ARGV[6] .. t[3]
		if redis.call('EXISTS', child) == 1 and redis.call('HEXISTS', child, 'used') == 0 then
			return 'reused'
		end
	end
	redis.call('HSET', KEYS[3], 'revoked', ARGV[2])
	return 'reused'
end
redis.call('HSET', KEYS[1], 'used', ARGV[2], 'child', ARGV[4])
redis.call('HSET', KEYS[2], 'fam', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 'ok'
`

// revokeFamilyScript marks a family revoked if it exists.
// KEYS: family. ARGV: now ms.
const revokeFamilyScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then
	redis.call('HSETNX', KEYS[1], 'revoked', ARGV[1])
end
return 1
`
