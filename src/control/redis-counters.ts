import { Redis } from 'ioredis';
import { BedrockClaudeError } from '../errors.js';
import { createMemoryCounterStore, type Admission, type CounterOp, type CounterStore } from './counter-store.js';
import type { BucketAnswer } from './token-bucket.js';

// Each op is 4 arguments after `now` and the count: a kind letter and three numbers.
//   b capacity perMinute amount  (a token bucket, as token-bucket.ts: refilled continuously)
//   c delta max based            (a counter up to max; based: it must exist, else "missing")
//   s value ttlMs -              (set if missing)
// Phase one checks every op and changes nothing (seeds aside: set-if-missing is right either way);
// phase two applies them all. Numbers go back as strings (Lua would cut them to integers).
// A bucket's tokens now (what it held, refilled since, up to its capacity), and its new state kept
// until it would be full again: what both scripts do with a bucket.
const BUCKET = `
local function heldNow(k, cap, per, now)
  local st = redis.call('HMGET', k, 't', 'a')
  if not st[1] then return cap end
  return math.min(cap, tonumber(st[1]) + math.max(0, now - tonumber(st[2])) * per / 60000)
end
local function keepBucket(k, tokens, cap, per, now)
  redis.call('HSET', k, 't', tostring(tokens), 'a', tostring(now))
  if per > 0 then redis.call('PEXPIRE', k, math.ceil((cap - tokens) * 60000 / per) + 1000) end
end
`;

const ADMIT = `${BUCKET}
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local res = {}
local keep = {}
for i = 1, n do
  local k = KEYS[i]
  local o = 2 + (i - 1) * 4
  local kind = ARGV[o + 1]
  if kind == 's' then
    local v = redis.call('GET', k)
    if not v then
      v = ARGV[o + 2]
      local ttl = tonumber(ARGV[o + 3])
      if ttl > 0 then redis.call('SET', k, v, 'PX', ttl) else redis.call('SET', k, v) end
    end
    res[i] = v
  elseif kind == 'b' then
    local cap, per, amount = tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3]), tonumber(ARGV[o + 4])
    local held = heldNow(k, cap, per, now)
    local granted = amount <= 0 or held >= amount
    local tokens = held
    if granted then tokens = math.min(cap, held - amount) end
    keep[i] = tokens
    res[i] = {granted and 1 or 0, tostring(held), tostring(tokens)}
    if not granted then return {0, i, 0, res} end
  else
    local delta, max = tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
    local v = redis.call('GET', k)
    if ARGV[o + 4] == '1' and not v then return {0, i, 1, res} end
    local value = tonumber(v or '0')
    if delta > 0 and value + delta > max then
      res[i] = tostring(value)
      return {0, i, 0, res}
    end
    res[i] = tostring(value + delta)
  end
end
for i = 1, n do
  local k = KEYS[i]
  local o = 2 + (i - 1) * 4
  local kind = ARGV[o + 1]
  if kind == 'b' then
    keepBucket(k, keep[i], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3]), now)
  elseif kind == 'c' then
    local v = tonumber(redis.call('INCRBYFLOAT', k, ARGV[o + 2]))
    if v < 0 then
      redis.call('SET', k, '0', 'KEEPTTL')
      v = 0
    end
    res[i] = tostring(v)
    if ARGV[o + 4] ~= '1' then redis.call('PEXPIRE', k, 900000) end
  end
end
return {1, 0, 0, res}
`;

// Settlements: the same ops without their limits. A counter that is gone (expired, or Redis
// restarted since the admission) is left alone: its base is rebuilt from the ledger, which has this
// request by then, and a concurrency slot that is gone has nothing to give back.
const SETTLE = `${BUCKET}
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
for i = 1, n do
  local k = KEYS[i]
  local o = 2 + (i - 1) * 4
  local kind = ARGV[o + 1]
  if kind == 'b' then
    local cap, per, amount = tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3]), tonumber(ARGV[o + 4])
    local held = heldNow(k, cap, per, now)
    if amount <= 0 or held >= amount then keepBucket(k, math.min(cap, held - amount), cap, per, now) end
  elseif kind == 'c' and redis.call('EXISTS', k) == 1 then
    local v = tonumber(redis.call('INCRBYFLOAT', k, ARGV[o + 2]))
    if v < 0 then redis.call('SET', k, '0', 'KEEPTTL') end
  end
end
return 1
`;

type Reply = [number, number, number, Array<string | [number, string, string]>];

interface ScriptedRedis extends Redis {
  bcAdmit(numKeys: number, ...args: Array<string | number>): Promise<Reply>;
  bcSettle(numKeys: number, ...args: Array<string | number>): Promise<number>;
}

function argsOf(ops: readonly CounterOp[], prefix: string, now: number): Array<string | number> {
  const keys: string[] = [];
  const argv: Array<string | number> = [now, ops.length];
  for (const op of ops) {
    keys.push(prefix + op.key);
    if (op.kind === 'bucket') argv.push('b', op.limit.capacity, op.limit.perMinute, op.amount);
    else if (op.kind === 'counter')
      argv.push('c', op.delta, Number.isFinite(op.max) ? op.max : 1e300, op.based ? 1 : 0);
    else argv.push('s', op.value, op.ttlMs ?? 0, 0);
  }
  return [ops.length, ...keys, ...argv];
}

/** A bucket's answer from what the script saw (held before, tokens after), as takeTokens would say it. */
function bucketAnswer(
  op: Extract<CounterOp, { kind: 'bucket' }>,
  granted: boolean,
  held: number,
  tokens: number,
  now: number,
): BucketAnswer {
  const ratePerMs = op.limit.perMinute / 60_000;
  const fullAt = ratePerMs > 0 ? now + Math.max(0, op.limit.capacity - tokens) / ratePerMs : Number.POSITIVE_INFINITY;
  const retryAt = granted
    ? now
    : ratePerMs > 0 && op.amount <= op.limit.capacity
      ? now + (op.amount - held) / ratePerMs
      : Number.POSITIVE_INFINITY;
  return { granted, remaining: Math.max(0, Math.floor(tokens)), fullAt, retryAt };
}

export interface RedisCounterStore extends CounterStore {
  /** Round trips to Redis so far (the bench divides by requests). */
  roundTrips(): number;
  /** Whether the connection is up. */
  ready(): boolean;
  close(): Promise<void>;
}

/**
 * Rate limits, concurrency and budget reservations in Redis, shared by every replica: one script
 * call on the way in (`admit`, all or nothing) and one on the way out (`settle`), each atomic in
 * Redis, with the same token-bucket semantics and answers as the in-process store. Key names carry
 * the caller's hash tag (`{...}`), so that all the keys of one admission are in one Redis Cluster
 * slot. It waits up to 2 s for the first connection. Commands fail fast when Redis is away (no offline queue, a command
 * timeout): what happens
 * then is the caller's choice ({@link withFailMode}).
 */
export async function openRedisCounterStore(
  url: string,
  options: { prefix?: string | undefined; commandTimeoutMs?: number; onError?: (err: Error) => void } = {},
): Promise<RedisCounterStore> {
  const prefix = options.prefix ?? 'bedrock-claude:';
  if (prefix.includes('{')) throw new Error('the Redis key prefix cannot hold "{" (hash tags are the gateway\'s)');
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 1000,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    lazyConnect: false,
    // Commands issued in the same tick (many requests at once) leave in one write: a syscall per
    // command was a sixth of a replica's CPU under load.
    enableAutoPipelining: true,
  }) as ScriptedRedis;
  redis.on('error', (err: Error) => options.onError?.(err));
  redis.defineCommand('bcAdmit', { lua: ADMIT });
  redis.defineCommand('bcSettle', { lua: SETTLE });
  // Start-up waits for the connection (2 s at most): a Redis that is not there yet is the fail mode's to handle.
  await readyWithin(redis, 2000);
  let trips = 0;
  return {
    async admit(ops, now): Promise<Admission> {
      trips++;
      const [granted, failed, missing, res] = await redis.bcAdmit(
        ...(argsOf(ops, prefix, now) as [number, ...Array<string | number>]),
      );
      const answers = res.map((r, i): BucketAnswer | number => {
        const op = ops[i]!;
        return op.kind === 'bucket' && Array.isArray(r)
          ? bucketAnswer(op, r[0] === 1, Number(r[1]), Number(r[2]), now)
          : Number(r);
      });
      return {
        granted: granted === 1,
        failed: granted === 1 ? undefined : failed - 1,
        ...(missing ? { missing: true } : {}),
        answers,
      };
    },
    async settle(ops, now) {
      if (!ops.length) return;
      trips++;
      await redis.bcSettle(...(argsOf(ops, prefix, now) as [number, ...Array<string | number>]));
    },
    async get(key) {
      const v = await redis.get(prefix + key);
      return v === null ? 0 : Number(v);
    },
    roundTrips: () => trips,
    ready: () => redis.status === 'ready',
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

function readyWithin(redis: Redis, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    redis.once('ready', done);
  });
}

export type FailMode = 'closed' | 'open';

/**
 * What a shared counter store does when it cannot be reached: `closed` refuses the request (529
 * `overloaded_error`, which the SDKs retry, with the reason), `open` counts on this replica alone
 * until it is back (each replica then enforces its own share: limits are as many times looser as
 * there are replicas), said in the log and in `/readyz`. A request settles where it was admitted.
 */
export function withFailMode(
  shared: CounterStore,
  mode: FailMode,
  report: (down: Error | undefined) => void,
): CounterStore & { down(): Error | undefined } {
  const local = createMemoryCounterStore();
  let down: Error | undefined;
  const setDown = (err: Error | undefined) => {
    if ((down === undefined) === (err === undefined)) return;
    down = err;
    report(err);
  };
  const localSettle = (ops: readonly CounterOp[], now: number) => local.settle(ops, now);
  return {
    async admit(ops, now) {
      try {
        const out = await shared.admit(ops, now);
        setDown(undefined);
        return out;
      } catch (err) {
        setDown(err as Error);
        if (mode === 'closed')
          throw new BedrockClaudeError(
            `The gateway's counter store (Redis) cannot be reached, and it is set to fail closed: ` +
              `${(err as Error).message}.`,
            {
              status: 529,
              type: 'overloaded_error',
              bedrockType: 'ServiceUnavailableException',
              retryAfter: 1,
              fix: 'Retry in a moment; the operator should check Redis (see /readyz).',
            },
          );
        return Object.assign(await local.admit(ops, now), { settleWith: localSettle });
      }
    },
    async settle(ops, now) {
      try {
        await shared.settle(ops, now);
      } catch (err) {
        // A settlement that cannot reach Redis is lost with Redis's own state: its base is rebuilt on return.
        setDown(err as Error);
      }
    },
    get: (key) => shared.get(key),
    down: () => down,
  };
}
