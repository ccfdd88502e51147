// The gateway's cache of the store's keys: a key made elsewhere (the CLI, another replica) is usable the moment it
// exists, not at the next poll; unknown keys cost one read of the change counter at a time, however many arrive.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { openSqliteControlStore } from '../../src/control/sqlite-store.js';
import { openStoreKeyStore } from '../../src/control/store-key-store.js';
import { tempHome } from '../helpers.js';

describe('the key cache', () => {
  it('finds a key made after it last read the store, at once; reads the change counter once per wave of misses', async () => {
    const store = openSqliteControlStore(tempHome());
    let reads = 0;
    const counted = Object.assign(Object.create(store) as typeof store, {
      changes: () => {
        reads++;
        return store.changes();
      },
    });
    // No poll in this test's time: only a miss makes it look.
    const cache = await openStoreKeyStore(counted, { pollMs: 1_000_000_000 });
    try {
      const made = await store.createKey({ name: 'made-by-the-cli' }, Date.now());
      const found = await cache.find(made.key);
      assert.equal(found?.name, 'made-by-the-cli');
      assert.equal((await cache.find(made.key))?.id, made.record.id, 'then from the cache');

      const before = reads;
      const strangers = Array.from({ length: 50 }, () => `bck-${randomBytes(30).toString('base64url')}`);
      const answers = await Promise.all(strangers.map((k) => cache.find(k)));
      assert.ok(answers.every((a) => a === undefined));
      assert.ok(reads - before <= 2, `${reads - before} reads of the change counter for 50 unknown keys at once`);
    } finally {
      cache.close();
      await store.close();
    }
  });
});
