// PostgreSQL and Redis for the tests of several replicas: real servers, each test file in its own
// schema and key prefix, cleaned up after. With CI=true they must be there; elsewhere a missing
// server skips those tests with one loud line.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export const TEST_DATABASE_URL =
  process.env['BEDROCK_CLAUDE_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env['BEDROCK_CLAUDE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

async function reachable(what: 'postgres' | 'redis'): Promise<string | undefined> {
  try {
    if (what === 'postgres') {
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
      await c.connect();
      await c.end();
    } else {
      const r = new Redis(TEST_REDIS_URL, {
        lazyConnect: true,
        connectTimeout: 3000,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      await r.connect();
      await r.ping();
      r.disconnect();
    }
    return undefined;
  } catch (err) {
    return (err as Error).message || String(err);
  }
}

/**
 * Whether the tests may use PostgreSQL and Redis: `undefined` when both answer; otherwise the skip
 * reason (said once, loudly). With CI=true a server that does not answer is an error, not a skip.
 */
export async function sharedServices(): Promise<string | undefined> {
  const [p, r] = await Promise.all([reachable('postgres'), reachable('redis')]);
  if (!p && !r) return undefined;
  const why = [p && `PostgreSQL at ${TEST_DATABASE_URL}: ${p}`, r && `Redis at ${TEST_REDIS_URL}: ${r}`]
    .filter(Boolean)
    .join('; ');
  if (process.env['CI'] === 'true')
    throw new Error(
      `CI=true and the shared servers do not answer (${why}): start PostgreSQL and Redis, or set BEDROCK_CLAUDE_TEST_DATABASE_URL / BEDROCK_CLAUDE_TEST_REDIS_URL`,
    );
  const reason = `SKIPPED the several-replicas tests: ${why}. Start PostgreSQL (database "test", trust auth) and Redis on 127.0.0.1, or set BEDROCK_CLAUDE_TEST_DATABASE_URL / BEDROCK_CLAUDE_TEST_REDIS_URL.`;
  console.error(`\n!!! ${reason}\n`);
  return reason;
}

/** A schema of its own on the test database (dropped by `drop`): the URL carries it as `?schema=`. */
export function testSchema(label: string): { url: string; schema: string; drop(): Promise<void> } {
  const schema = `bct_${label}_${randomBytes(4).toString('hex')}`;
  const u = new URL(TEST_DATABASE_URL);
  u.searchParams.set('schema', schema);
  return {
    url: u.toString(),
    schema,
    async drop() {
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

/** A key prefix of its own on the test Redis (its keys deleted by `drop`). */
export function testPrefix(label: string): { prefix: string; drop(): Promise<void> } {
  const prefix = `bct:${label}:${randomBytes(4).toString('hex')}:`;
  return {
    prefix,
    async drop() {
      const r = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await r.del(...keys);
      } while (cursor !== '0');
      r.disconnect();
    },
  };
}
