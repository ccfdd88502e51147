// Kept responses (the Responses API's `store: true`) through the `openai` SDK on the emulator: retrieve, continue with
// previous_response_id (Claude's thinking put back before its tool use), list input items, delete; each key's own;
// sealed at rest; gone after the retention; `store: false` and an operator's off switch.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { createGatewayKey } from '../../src/control/gateway-keys.js';
import type { RunningGateway } from '../../src/server/gateway.js';
import { gatewayOn, tempHome } from '../helpers.js';
import { sharedServices, testSchema } from '../shared-services.js';

const HAIKU = 'claude-haiku-4-5';
const DAY = 86_400_000;
let emu: RunningEmulator;
let gw: RunningGateway;
let now = Date.parse('2026-12-07T10:00:00Z');
const dataDir = tempHome();
const alice = createGatewayKey('alice');
const bob = createGatewayKey('bob');
const client = (key = alice.key) => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
const sentMessages = () =>
  (emu.received.at(-1)!.body as { messages: Array<{ role: string; content: unknown }> }).messages;
const blockTypes = (content: unknown) => (content as Array<{ type: string }>).map((b) => b.type);

before(async () => {
  emu = await startEmulator({
    port: 0,
    script: { rules: [{ match: { text: 'look it up' }, reply: { toolUse: { name: 'lookup', input: { q: 'x' } } } }] },
  });
  gw = await gatewayOn(emu.url, { dataDir, keys: [alice.entry, bob.entry], clock: () => now });
});
after(async () => {
  await gw.close(100);
  await emu.close();
});

/** Whether it was kept, as the answer says (`store`, which the SDK's types leave out). */
const storeOf = (r: object) => (r as { store?: boolean }).store;
const notFound = (err: unknown) => err instanceof OpenAI.NotFoundError && /No response found/.test(err.message);

describe('kept responses (store: true)', () => {
  it('a response is kept by default: retrieved as it was answered, its input listed, continued, deleted', async () => {
    assert.match(gw.responses, /keeps them 30 days, sealed with the key in .*responses\.key/);
    const r1 = await client().responses.create({ model: HAIKU, instructions: 'Be brief.', input: 'first turn' });
    assert.equal(storeOf(r1), true);
    assert.deepEqual(await client().responses.retrieve(r1.id), r1);
    const items = await client().responses.inputItems.list(r1.id);
    assert.deepEqual(
      items.data.map((i) => [i.type, (i as { role?: string }).role]),
      [['message', 'user']],
    );
    const r2 = await client().responses.create({ model: HAIKU, previous_response_id: r1.id, input: 'second turn' });
    assert.equal(r2.previous_response_id, r1.id);
    assert.deepEqual(
      sentMessages().map((m) => [m.role, m.content]),
      [
        ['user', [{ type: 'text', text: 'first turn' }]],
        ['assistant', [{ type: 'text', text: 'first turn' }]],
        ['user', [{ type: 'text', text: 'second turn' }]],
      ],
      'the earlier turns go first; the earlier instructions are not carried over',
    );
    assert.equal((emu.received.at(-1)!.body as { system?: unknown }).system, undefined);
    const listed = await client().responses.inputItems.list(r2.id, { order: 'asc' });
    assert.deepEqual(
      listed.data.map((i) => (i as { role?: string }).role),
      ['user', 'assistant', 'user'],
    );
    const page = await client().responses.inputItems.list(r2.id, { order: 'asc', limit: 2 });
    assert.equal(page.data.length, 2);
    assert.equal(page.has_more, true);
    const rest = await client().responses.inputItems.list(r2.id, { order: 'asc', after: page.data[1]!.id });
    assert.deepEqual(
      rest.data.map((i) => i.id),
      [listed.data[2]!.id],
    );

    assert.deepEqual(await client().responses.delete(r1.id), { id: r1.id, object: 'response', deleted: true });
    await assert.rejects(client().responses.retrieve(r1.id), notFound);
    await assert.rejects(
      client().responses.create({ model: HAIKU, previous_response_id: r1.id, input: 'again' }),
      (err: unknown) =>
        err instanceof OpenAI.BadRequestError &&
        /Previous response with id 'resp_\w+' not found/.test(err.message) &&
        (err.error as { param?: string }).param === 'previous_response_id',
    );
    const r3 = await client().responses.create({ model: HAIKU, previous_response_id: r2.id, input: 'third turn' });
    assert.equal(
      r3.status,
      'completed',
      'a continuation holds its whole conversation: deleting an earlier one is fine',
    );
    assert.equal(sentMessages().length, 5);
  });

  it("another key's response is not found, to read, continue or delete", async () => {
    const r = await client().responses.create({ model: HAIKU, input: 'mine alone' });
    await assert.rejects(client(bob.key).responses.retrieve(r.id), notFound);
    await assert.rejects(client(bob.key).responses.delete(r.id), notFound);
    await assert.rejects(client(bob.key).responses.inputItems.list(r.id), notFound);
    await assert.rejects(
      client(bob.key).responses.create({ model: HAIKU, previous_response_id: r.id, input: 'x' }),
      OpenAI.BadRequestError,
    );
    assert.equal((await client().responses.retrieve(r.id)).id, r.id, 'still there for its owner');
  });

  it('a streamed response is kept before its last event, so a continuation can follow at once', async () => {
    const stream = await client().responses.create({ model: HAIKU, input: 'streamed and kept', stream: true });
    let retrieved: OpenAI.Responses.Response | undefined;
    let completed: OpenAI.Responses.Response | undefined;
    for await (const e of stream)
      if (e.type === 'response.completed') {
        completed = e.response;
        retrieved = await client().responses.retrieve(e.response.id);
      }
    assert.equal(storeOf(completed!), true);
    assert.deepEqual(retrieved!.output, completed!.output);
  });

  it("Claude's thinking is kept with a tool call and put back before it, though the client never saw it", async () => {
    const tools: OpenAI.Responses.Tool[] = [
      { type: 'function', name: 'lookup', parameters: { type: 'object', properties: {} }, strict: false },
    ];
    const r1 = await client().responses.create({
      model: HAIKU,
      input: 'look it up',
      tools,
      reasoning: { effort: 'low' },
      max_output_tokens: 3000,
    });
    const reasoning = r1.output.find((o) => o.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem;
    assert.ok(reasoning, JSON.stringify(r1.output));
    assert.equal(reasoning.encrypted_content, undefined, 'not asked for: not given');
    const call = r1.output.find((o) => o.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    await client().responses.create({
      model: HAIKU,
      previous_response_id: r1.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'found' }],
      tools,
      reasoning: { effort: 'low' },
      max_output_tokens: 3000,
    });
    const sent = sentMessages();
    assert.deepEqual(
      sent.map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
    assert.deepEqual(blockTypes(sent[1]!.content), ['thinking', 'tool_use']);
  });

  it("item_reference items are looked up among the caller's kept items (the AI SDK sends stored reasoning so)", async () => {
    const tools: OpenAI.Responses.Tool[] = [
      { type: 'function', name: 'lookup', parameters: { type: 'object', properties: {} }, strict: false },
    ];
    const r1 = await client().responses.create({
      model: HAIKU,
      input: 'look it up',
      tools,
      reasoning: { effort: 'low' },
      max_output_tokens: 3000,
    });
    const reasoning = r1.output.find((o) => o.type === 'reasoning')!;
    const call = r1.output.find((o) => o.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    const input: OpenAI.Responses.ResponseInput = [
      { role: 'user', content: 'look it up' },
      { type: 'item_reference', id: reasoning.id },
      call,
      { type: 'function_call_output', call_id: call.call_id, output: 'found' },
    ];
    await client().responses.create({
      model: HAIKU,
      input,
      tools,
      reasoning: { effort: 'low' },
      max_output_tokens: 3000,
    });
    assert.deepEqual(blockTypes(sentMessages()[1]!.content), ['thinking', 'tool_use']);
    await assert.rejects(
      client(bob.key).responses.create({ model: HAIKU, input, tools }),
      (err: unknown) =>
        err instanceof OpenAI.BadRequestError &&
        /Item with id 'rs_\w+' not found/.test(err.message) &&
        (err.error as { param?: string }).param === 'input[1].id',
      "another key's item is not found",
    );
  });

  it('store: false keeps nothing', async () => {
    const r = await client().responses.create({ model: HAIKU, input: 'not kept', store: false });
    assert.equal(storeOf(r), false);
    await assert.rejects(client().responses.retrieve(r.id), notFound);
  });

  it('kept sealed: the store holds neither the prompt nor the answer; its key file is 0600', async () => {
    await client().responses.create({ model: HAIKU, input: 'a secret prompt about zebras' });
    await gw.flushLedger();
    const db = new Database(join(dataDir, 'control.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT owner, sealed FROM responses').all() as Array<{ owner: string; sealed: string }>;
      assert.ok(rows.length >= 1);
      for (const row of rows)
        assert.doesNotMatch(Buffer.from(row.sealed.split('.')[2]!, 'base64url').toString(), /zebra/);
      assert.ok(rows.every((row) => row.owner === 'config:alice' || row.owner === 'config:bob'));
      const ledger = JSON.stringify(db.prepare("SELECT * FROM ledger WHERE front = 'responses'").all());
      assert.match(ledger, /"front":"responses"/);
      assert.doesNotMatch(ledger, /zebra/, 'the ledger keeps no prompt');
    } finally {
      db.close();
    }
    assert.equal(statSync(join(dataDir, 'responses.key')).mode & 0o777, 0o600);
  });

  it('gone after the retention (30 days)', async () => {
    const r = await client().responses.create({ model: HAIKU, input: 'short-lived' });
    now += 29 * DAY;
    assert.equal((await client().responses.retrieve(r.id)).id, r.id);
    now += 2 * DAY;
    await assert.rejects(client().responses.retrieve(r.id), notFound);
  });
});

describe('storing turned off', () => {
  it('responses.store: false: store: true is served unkept; previous_response_id is a 400 that says why', async () => {
    const off = await gatewayOn(emu.url, { dataDir: tempHome(), responses: { store: false } });
    try {
      const openai = new OpenAI({ apiKey: 'unused', baseURL: `${off.url}/v1`, maxRetries: 0 });
      const r = await openai.responses.create({ model: HAIKU, input: 'hi', store: true });
      assert.equal(storeOf(r), false);
      assert.match(off.responses, /keeps nothing \(the operator turned it off/);
      await assert.rejects(
        openai.responses.create({ model: HAIKU, input: 'x', previous_response_id: r.id }),
        (err: unknown) => err instanceof OpenAI.BadRequestError && /responses\.store is false/.test(err.message),
      );
      await assert.rejects(openai.responses.retrieve(r.id), (err: unknown) => err instanceof OpenAI.NotFoundError);
    } finally {
      await off.close(100);
    }
  });
});

describe('kept responses on PostgreSQL (two replicas)', async () => {
  const skip = await sharedServices();
  it(
    'kept on one replica, continued and deleted on the other; without responses.keys nothing is kept',
    { skip },
    async () => {
      const db = testSchema('responses');
      const secret = 'a-shared-secret-of-at-least-32-characters';
      const replica = (keys?: string) =>
        gatewayOn(emu.url, {
          databaseUrl: db.url,
          dataDir: tempHome(),
          keys: [alice.entry],
          ...(keys ? { responses: { keys: [keys] } } : {}),
        });
      const [one, two, keyless] = [await replica(secret), await replica(secret), await replica()];
      try {
        const on = (g: RunningGateway) => new OpenAI({ apiKey: alice.key, baseURL: `${g.url}/v1`, maxRetries: 0 });
        assert.match(one.responses, /sealed with the key in responses\.keys/);
        const r = await on(one).responses.create({ model: HAIKU, input: 'kept in postgres' });
        assert.equal((await on(two).responses.retrieve(r.id)).id, r.id);
        const r2 = await on(two).responses.create({ model: HAIKU, previous_response_id: r.id, input: 'and more' });
        assert.equal(r2.status, 'completed');
        assert.equal(sentMessages().length, 3);
        await on(two).responses.delete(r.id);
        await assert.rejects(on(one).responses.retrieve(r.id), notFound);
        assert.match(keyless.responses, /keeps nothing \(no responses\.keys in the config/);
        assert.equal(storeOf(await on(keyless).responses.create({ model: HAIKU, input: 'x' })), false);
      } finally {
        await Promise.all([one.close(100), two.close(100), keyless.close(100)]);
        await db.drop();
      }
    },
  );
});
