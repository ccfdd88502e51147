// The reference gateway's captured requests (Claude apps gateway 2.1.332; copied from
// ../shared/claude-gateway-protocol/fixtures into test/fixtures/claude-gateway/replay) sent again, byte for byte, to
// bedrock-claude configured as the reference was: the status must be the reference's, and the shape too (an OAuth
// error's code, an Anthropic error's type, HTML for a page), except where we chose otherwise. Those choices are the
// table below, each with its reason; the README lists them. A request that carried a good token there carries one of
// ours here (alice's, signed in through the provider).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningGateway } from '../../src/server/gateway.js';
import { tempHome } from '../helpers.js';
import { signInDevice } from './browser.js';
import { startSignInGateway, type RunningIdp } from './idp.js';
import { exchanges, send } from './replay.js';

/** Where we answer otherwise, by choice: our status, and why. */
const DIFFERENCES: Record<string, { status: number; shape?: 'differs'; why: string }> = {
  '001-get-root': { status: 200, shape: 'differs', why: 'GET / says what the gateway is in JSON, not a landing page' },
  '002-head-root': { status: 200, why: 'HEAD answers as GET does (the reference answers 401)' },
  '003-healthz': { status: 200, shape: 'differs', why: '/healthz and /readyz answer JSON with the backend and region' },
  '004-readyz': { status: 200, shape: 'differs', why: 'the same' },
  '022-token-after-deny': {
    status: 400,
    shape: 'differs',
    why: "the device code is the reference's own, unknown here (expired_token); our own denial test gets access_denied",
  },
  '025-callback-idp-error': {
    status: 200,
    why: "the state is the reference's own, so the page says the link expired rather than the provider's error",
  },
  '035-managed-settings-resigned-no-groups': {
    status: 401,
    shape: 'differs',
    why: "the token was signed with the reference's secret for its URL: not ours",
  },
  '036-healthz-inbound-request-id': { status: 200, shape: 'differs', why: 'as 003' },
  '037-messages-413-declared-too-large': {
    status: 413,
    shape: 'differs',
    why: 'the 413 is a JSON error in the Anthropic shape (request_too_large), not plain text',
  },
  '038-oauth-revoke-not-served': { status: 200, shape: 'differs', why: 'we serve token revocation (RFC 7009)' },
  '066-messages-unknown-model': {
    status: 403,
    shape: 'differs',
    why: 'a model outside the allow-list is a 403 permission_error naming whose list, not a 400',
  },
  '069-messages-get': { status: 404, shape: 'differs', why: "404s are JSON in the front's error shape, with the fix" },
  '072-messages-chunked-no-cl': {
    status: 200,
    shape: 'differs',
    why: 'a chunked body is valid HTTP/1.1 and is served (the reference wants a length: 411)',
  },
  '092-unknown-path-auth': { status: 404, shape: 'differs', why: 'as 069' },
};

/** Where a good token of the reference's was sent: ours goes instead. */
const OUR_TOKEN = new Set(['037', '064', '065', '066', '067', '069', '072', '092']);

let idp: RunningIdp;
let gw: RunningGateway;

let close: () => Promise<void>;
before(async () => {
  const managed = {
    policies: [
      { match: { groups: ['contractors'] }, cli: { availableModels: ['claude-haiku-4-5'] } },
      { match: {}, cli: { availableModels: ['claude-opus-4-8', 'claude-sonnet-4-6', 'claude-haiku-4-5'] } },
    ],
  };
  ({ idp, gw, close } = await startSignInGateway(
    { managed },
    { dataDir: tempHome() },
    {
      allowedEmailDomains: ['example.com'],
    },
  ));
});
after(() => close());

/** What a body says, for comparing shapes: an OAuth error's code, an Anthropic error's type, or its kind. */
function shapeOf(answer: { headers: Record<string, string>; body: string }): string {
  const type = answer.headers['content-type'] ?? '';
  if (/html/.test(type)) return 'html';
  if (/markdown/.test(type)) return 'markdown';
  if (!/json/.test(type)) return `other:${type.split(';')[0]}`;
  const v = JSON.parse(answer.body) as Record<string, unknown>;
  if (typeof v['error'] === 'string') return `oauth:${v['error']}`;
  if (v['type'] === 'error') return `anthropic:${(v['error'] as { type: string }).type}`;
  return `json:${Object.keys(v).sort().slice(0, 3).join(',')}`;
}

describe("the reference gateway's captured requests, replayed", () => {
  it('answer with its status and shape, but for the differences we chose', async () => {
    const alice = (await signInDevice(gw.url, idp, 'u-alice', () => undefined)).access_token;
    const seen: string[] = [];
    for (const x of exchanges()) {
      const ours = await send(gw.url, x, OUR_TOKEN.has(x.name.slice(0, 3)) ? alice : undefined);
      const chosen = DIFFERENCES[x.name];
      const label = `${x.name} (${x.method} ${x.path})`;
      assert.equal(ours.status, chosen?.status ?? x.reference.status, `${label}: ${ours.body.slice(0, 200)}`);
      if (chosen?.shape !== 'differs' && x.method !== 'HEAD' && !x.name.startsWith('007'))
        assert.equal(shapeOf(ours), shapeOf(x.reference), `${label}: the shape`);
      seen.push(x.name);
    }
    assert.equal(seen.length, 46, 'every captured exchange that needs no state of the reference run');
    for (const name of Object.keys(DIFFERENCES)) assert.ok(seen.includes(name), `${name} is replayed`);
  });
});
