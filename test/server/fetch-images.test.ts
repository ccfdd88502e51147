// Opt-in image fetching checks the address of every hop (issue 25, item 10): a redirect to a literal
// private IP is refused (undici's DNS guard is not called for literal hosts), and a refusal says
// nothing of what answered (status, content type). Answers come from undici's MockAgent: no network.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MockAgent } from 'undici';
import { BedrockClaudeError } from '../../src/errors.js';
import { fetchImages } from '../../src/server/fetch-images.js';
import { Abort } from '../../src/transport/abort.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

function mock(): MockAgent {
  const agent = new MockAgent();
  agent.disableNetConnect();
  return agent;
}

async function fetchOne(url: string, dispatcher: MockAgent) {
  const body = {
    messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url } }] }],
  } as Record<string, unknown>;
  await fetchImages(body, { maxBytes: 1_000_000, dispatcher }, new Abort());
  return (body['messages'] as Array<{ content: Array<{ source: Record<string, unknown> }> }>)[0]!.content[0]!.source;
}

describe('image fetching checks every hop', () => {
  it('follows a redirect to a public image', async () => {
    const agent = mock();
    const pool = agent.get('https://images.example');
    pool.intercept({ path: '/cat' }).reply(302, '', { headers: { location: '/cat.png' } });
    pool.intercept({ path: '/cat.png' }).reply(200, PNG, { headers: { 'content-type': 'image/png' } });
    const source = await fetchOne('https://images.example/cat', agent);
    assert.deepEqual(source, { type: 'base64', media_type: 'image/png', data: PNG.toString('base64') });
  });

  for (const target of [
    'http://127.0.0.1:4000/v1/models',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/x.png',
    'http://10.0.0.5/admin',
    'http://[::ffff:192.168.1.1]/x.png',
  ]) {
    it(`refuses a redirect to ${target}`, async () => {
      const agent = mock();
      agent
        .get('https://images.example')
        .intercept({ path: '/cat.png' })
        .reply(302, '', { headers: { location: target } });
      await assert.rejects(
        fetchOne('https://images.example/cat.png', agent),
        (e: BedrockClaudeError) => e.status === 400 && /private addresses/.test(e.message),
      );
    });
  }

  it('refuses a redirect to another scheme, and endless redirects', async () => {
    const agent = mock();
    const pool = agent.get('https://images.example');
    pool.intercept({ path: '/file' }).reply(302, '', { headers: { location: 'file:///etc/passwd' } });
    await assert.rejects(fetchOne('https://images.example/file', agent), /http or https only/);
    for (let i = 0; i < 7; i++) pool.intercept({ path: '/loop' }).reply(302, '', { headers: { location: '/loop' } });
    await assert.rejects(fetchOne('https://images.example/loop', agent), /redirects more than 5 times/);
  });

  it('says nothing of what a refused answer was (its status, its content type)', async () => {
    const agent = mock();
    const pool = agent.get('https://images.example');
    pool
      .intercept({ path: '/gone' })
      .reply(404, '<h1>internal wiki</h1>', { headers: { 'content-type': 'text/html' } });
    pool.intercept({ path: '/page' }).reply(200, '<h1>x</h1>', { headers: { 'content-type': 'text/html' } });
    for (const path of ['/gone', '/page'])
      await assert.rejects(fetchOne(`https://images.example${path}`, agent), (e: Error) => {
        assert.doesNotMatch(e.message, /404|text\/html|wiki/);
        assert.match(e.message, /did not answer with a PNG, JPEG, GIF or WebP image/);
        return true;
      });
  });
});
