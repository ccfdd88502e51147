// Keys rotated with an overlap, and keys and teams deleted (issue 29): through the admin API, on a gateway whose clock
// the test drives; the ledger keeps the names of what was deleted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { callWithKey, gatewayOn, tempHome } from '../helpers.js';

const ADMIN = 'key-lifecycle-admin-key-0123456789abcdef';
const HOUR = 3_600_000;
let emu: RunningEmulator;
let gw: RunningGateway;
let now = Date.parse('2026-12-07T10:00:00Z');

before(async () => {
  emu = await startEmulator({ port: 0 });
  gw = await gatewayOn(emu.url, { dataDir: tempHome(), adminKey: ADMIN, clock: () => now });
});
after(async () => {
  await gw.close(100);
  await emu.close();
});

/** The admin API's answers, as far as this test reads them. */
interface Answer {
  key?: string;
  previousUntil?: number;
  error?: { message: string };
  data?: Array<{ action: string }>;
  rows?: Array<{ group: string }>;
}
async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: Answer }> {
  const res = await request(`${gw.url}${path}`, {
    method: method as 'GET',
    headers: { 'x-api-key': ADMIN, 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Answer };
}
const call = (key: string) => callWithKey(gw.url, key);

describe('key rotation and deletion', () => {
  it('rotate: a new secret at once, the old one for the overlap only', async () => {
    const old = (await admin('POST', '/admin/keys', { name: 'rotating' })).json.key!;
    assert.equal(await call(old), 200);
    const rotated = await admin('POST', '/admin/keys/rotating/rotate', { overlapSeconds: 3600 });
    assert.equal(rotated.status, 200);
    const fresh = rotated.json.key!;
    assert.notEqual(fresh, old);
    assert.equal(rotated.json.previousUntil, now + HOUR);
    assert.deepEqual([await call(fresh), await call(old)], [200, 200], 'both during the overlap');
    now += HOUR - 1;
    assert.equal(await call(old), 200);
    now += 1;
    assert.deepEqual([await call(fresh), await call(old)], [200, 401], 'the old one stops when the overlap ends');

    const again = await admin('POST', '/admin/keys/rotating/rotate', { overlapSeconds: 0 });
    assert.deepEqual([await call(again.json.key as string), await call(fresh)], [200, 401], 'no overlap: at once');
    const audit = await admin('GET', '/admin/audit?limit=5');
    assert.ok(audit.json.data!.some((e) => e.action === 'key.rotate'));
  });

  it('delete: refused while a key spent in its open period, unless forced; the ledger keeps its name', async () => {
    const made = (await admin('POST', '/admin/keys', { name: 'spent-key' })).json;
    assert.equal(await call(made.key as string), 200);
    await gw.flushLedger();
    const refused = await admin('DELETE', '/admin/keys/spent-key?purge=true');
    assert.equal(refused.status, 409);
    assert.match(
      refused.json.error!.message,
      /Not deleted: the key "spent-key" spent \$[\d.]+ since .* \(this month\)/,
    );
    const idle = (await admin('POST', '/admin/keys', { name: 'idle-key' })).json;
    assert.equal((await admin('DELETE', '/admin/keys/idle-key?purge=true')).status, 200, 'no spend: deleted');
    assert.equal(await call(idle.key as string), 401);
    const forced = await admin('DELETE', '/admin/keys/spent-key?purge=true&force=true');
    assert.equal(forced.status, 200);
    assert.equal(await call(made.key as string), 401, 'a deleted key is refused');
    assert.equal((await admin('GET', '/admin/keys/spent-key')).status, 404);
    const rows = (await admin('GET', '/admin/usage?by=key&since=2026-12-01T00:00:00Z')).json.rows!;
    assert.ok(
      rows.some((r) => r.group === 'spent-key'),
      'the ledger keeps its rows, by name',
    );
  });

  it('delete a team: not while an active key is in it, nor while it spent, unless forced', async () => {
    await admin('POST', '/admin/teams', { name: 'doomed' });
    const k = (await admin('POST', '/admin/keys', { name: 'doomed-key', team: 'doomed' })).json;
    assert.equal(await call(k.key as string), 200);
    await gw.flushLedger();
    const withKey = await admin('DELETE', '/admin/teams/doomed');
    assert.equal(withKey.status, 409);
    await admin('DELETE', '/admin/keys/doomed-key');
    const spent = await admin('DELETE', '/admin/teams/doomed');
    assert.equal(spent.status, 409);
    assert.match(spent.json.error!.message, /the team "doomed" spent/);
    assert.equal((await admin('DELETE', '/admin/teams/doomed?force=true')).status, 200);
    assert.equal((await admin('GET', '/admin/teams/doomed')).status, 404);
  });

  it('a wrong key is told where its own clients put one, on each front', async () => {
    const refused = async (path: string) => {
      const res = await request(`${gw.url}${path}`, {
        method: 'POST',
        headers: { authorization: 'Bearer bck-not-a-key', 'content-type': 'application/json' },
        body: '{}',
      });
      // The Bedrock fronts answer as AWS does for a bad token (403), the others 401.
      assert.ok(res.statusCode === 401 || (res.statusCode === 403 && path.startsWith('/model/')), `${res.statusCode}`);
      return res.body.text();
    };
    assert.match(
      await refused('/model/anthropic.claude-haiku-4-5-20251001-v1%3A0/converse'),
      /AWS_BEARER_TOKEN_BEDROCK/,
    );
    assert.doesNotMatch(await refused('/model/anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke'), /ANTHROPIC_API_KEY/);
    assert.match(await refused('/v1/chat/completions'), /OPENAI_API_KEY/);
    assert.match(await refused('/v1/messages'), /ANTHROPIC_API_KEY/);
  });
});
