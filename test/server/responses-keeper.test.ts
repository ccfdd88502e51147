// The keeper of Responses API responses on its own: its sealing key rotates (a new first key seals, the old ones
// still open), a response sealed with a key the config no longer has is gone and said so, and expired ones are pruned.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { openResponseKeeper, type KeptResponse } from '../../src/server/responses-keeper.js';
import { tempHome } from '../helpers.js';

const OLD = 'the-old-secret-of-at-least-32-characters';
const NEW = 'the-new-secret-of-at-least-32-characters';
const kept = (id: string): KeptResponse => ({
  response: { id, object: 'response', output: [] },
  input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
  sealed: {},
});

describe('the responses keeper', () => {
  it('rotates keys: the first seals, every one opens; one no key opens is gone and reported', async () => {
    const store = openSqliteControlStore(tempHome());
    const failures: unknown[] = [];
    let now = 1_000;
    const keeper = (keys: string[], retainDays?: number) =>
      openResponseKeeper({
        config: { keys, retainDays },
        store,
        dataDir: undefined,
        shared: false,
        clock: () => now,
        onFailure: (err) => failures.push(err),
      });
    try {
      const before = keeper([OLD]);
      await before.keep('key:a', kept('resp_1'));
      const rotated = keeper([NEW, OLD]);
      assert.deepEqual(await rotated.find('key:a', 'resp_1'), kept('resp_1'));
      assert.equal(await rotated.find('key:b', 'resp_1'), undefined, "another owner's");
      await rotated.keep('key:a', kept('resp_2'));
      assert.deepEqual(await keeper([NEW]).find('key:a', 'resp_2'), kept('resp_2'));
      assert.equal(await keeper([NEW]).find('key:a', 'resp_1'), undefined);
      assert.match(String(failures[0]), /does not open with responses\.keys/);

      const short = keeper([NEW], 1);
      await short.keep('key:a', kept('resp_3'));
      now += 86_400_000;
      assert.equal(await short.find('key:a', 'resp_3'), undefined, 'expired');
      assert.equal(await store.pruneKeptResponses(now), 1, 'the expired one is deleted, the 30-day ones stay');
      assert.deepEqual(await short.find('key:a', 'resp_2'), kept('resp_2'));
      for (const k of [before, rotated, short]) k.close();
    } finally {
      await store.close();
    }
  });
});
