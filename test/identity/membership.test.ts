// The membership check on its own, with a provider and a store written for the test (the real provider is in
// people-groups.test.ts): sealed tokens, once a minute, a provider that does not answer, the verdicts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Person } from '../../src/control/device-grants.js';
import { createMembershipCheck, openToken, sealToken } from '../../src/identity/membership.js';
import { SignInRefused } from '../../src/identity/oidc.js';

const SECRETS = ['first-secret-of-more-than-32-characters!!', 'older-secret-of-more-than-32-characters!!'];
const alice: Person = { sub: 'u-alice', email: 'alice@example.com', groups: ['eng'] };

function setUp(answer: () => Promise<Person | undefined>) {
  let now = 1_000_000;
  const revoked: Array<[string, string]> = [];
  const errors: unknown[] = [];
  let asked = 0;
  const check = createMembershipCheck({
    store: {
      personAccess: async () => ({ sealed: sealToken(SECRETS, 'idp-access-token'), expires: now + 3_600_000 }),
      revokeSubject: async (sub, _at, by) => void revoked.push([sub, by]),
    },
    idp: {
      userinfo: async (token) => {
        assert.equal(token, 'idp-access-token', 'the sealed token, opened');
        asked++;
        return answer();
      },
    },
    secrets: SECRETS,
    revocations: { refresh: async () => undefined },
    now: () => now,
    onError: (err) => errors.push(err),
  });
  return { check, revoked, errors, asked: () => asked, tick: (ms: number) => (now += ms) };
}

describe('membership check', () => {
  it('seals with the first secret, opens with any, and refuses a tampered token', () => {
    const sealed = sealToken(SECRETS.slice(1), 'tok');
    assert.equal(openToken(SECRETS, sealed), 'tok', 'an older secret still opens');
    assert.ok(!sealed.includes('tok'));
    const [iv, tag, body] = sealed.split('.');
    assert.equal(openToken(SECRETS, [iv, tag, `${body!.slice(0, -2)}AA`].join('.')), undefined);
    assert.equal(openToken(['a-different-secret-of-more-than-32-chars'], sealed), undefined);
  });

  it('asks at most once a minute per person, and concurrent requests share one question', async () => {
    const t = setUp(async () => alice);
    assert.deepEqual(await Promise.all([t.check.check(alice), t.check.check(alice)]), [true, true]);
    t.tick(59_999);
    assert.equal(await t.check.check(alice), true);
    assert.equal(t.asked(), 1);
    t.tick(1);
    assert.equal(await t.check.check(alice), true);
    assert.equal(t.asked(), 2);
  });

  it('a provider that does not answer: the last answer holds, and it is said', async () => {
    const t = setUp(async () => {
      throw new Error('connect ECONNREFUSED');
    });
    assert.equal(await t.check.check(alice), true);
    assert.equal(t.errors.length, 1);
    assert.deepEqual(t.revoked, []);
  });

  it('groups changed: tokens refused, refresh allowed; refused or a 401: removed', async () => {
    let answer: () => Promise<Person | undefined> = async () => Object.assign({}, alice, { groups: ['sales'] });
    const t = setUp(() => answer());
    assert.equal(await t.check.check(alice), false);
    answer = async () => {
      throw new SignInRefused('not in an allowed group');
    };
    t.tick(60_000);
    assert.equal(await t.check.check(alice), false);
    answer = async () => {
      throw Object.assign(new Error('challenge'), { status: 401 });
    };
    t.tick(60_000);
    assert.equal(await t.check.check(alice), false);
    answer = async () => undefined;
    t.tick(60_000);
    assert.equal(await t.check.check(alice), true, 'a provider that does not say groups at userinfo: still works');
    assert.deepEqual(t.revoked, [
      ['u-alice', 'idp:groups'],
      ['u-alice', 'idp:removed'],
      ['u-alice', 'idp:removed'],
    ]);
  });
});
