package redisstore

// createScript stores the first token of a family.
// KEYS: family, token, subject set.
// ARGV: family id, subject, family ttl ms, token ttl ms.
const createScript = `
redis.call('HSET', KEYS[1], 'sub', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], 'fam', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[1])
local left = redis.call('PTTL', KEYS[3])
if left < tonumber(ARGV[3]) then
	redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return 1
`

// rotateScript uses up the old token and stores its child, or detects
// reuse. KEYS: old token, child token, family. ARGV: family id, now ms,
// grace ms, child hash, child ttl ms, token key prefix.
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

// revokeSubjectScript revokes every family in a subject's set and drops the
// ids of families that have expired. KEYS: subject set. ARGV: now ms, family
// key prefix.
const revokeSubjectScript = `
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
	local fam = ARGV[2] .. id
	if redis.call('EXISTS', fam) == 1 then
		redis.call('HSETNX', fam, 'revoked', ARGV[1])
	else
		redis.call('SREM', KEYS[1], id)
	end
end
return 1
`
