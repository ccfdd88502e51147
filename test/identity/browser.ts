/** A browser for the sign-in tests: one cookie jar per origin, redirects followed by hand, same-origin form posts. */
import assert from 'node:assert/strict';

export function browser() {
  const jar = new Map<string, Map<string, string>>();
  const send = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const origin = new URL(url).origin;
    const cookies = jar.get(origin) ?? new Map<string, string>();
    const headers = new Headers(init.headers);
    if (cookies.size) headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, Object.assign({}, init, { headers, redirect: 'manual' as const }));
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      if (/max-age=0/i.test(c) || /expires=thu, 01 jan 1970/i.test(c)) cookies.delete(name);
      else cookies.set(name, pair!.slice(eq + 1));
    }
    jar.set(origin, cookies);
    return res;
  };
  return {
    send,
    /** Follows redirects to the end; answers the last response and the URLs it went through. */
    async follow(url: string, init: RequestInit = {}) {
      const seen: string[] = [];
      let res = await send(url, init);
      for (let i = 0; i < 10 && res.status >= 300 && res.status < 400; i++) {
        url = new URL(res.headers.get('location')!, url).href;
        seen.push(url);
        await res.arrayBuffer();
        res = await send(url);
      }
      return { res, seen };
    },
  };
}

/**
 * A person approves a code in a browser: the verification page, the same-origin post, the identity provider's login
 * (the test provider signs in whoever it was told), the callback. Answers the last page's text.
 */
export async function approveInBrowser(gatewayUrl: string, issuer: string, userCode: string): Promise<string> {
  const b = browser();
  const page = await b.send(`${gatewayUrl}/device?user_code=${userCode}`);
  assert.match(await page.text(), new RegExp(userCode));
  const { res, seen } = await b.follow(`${gatewayUrl}/device`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
    body: new URLSearchParams({ user_code: userCode }).toString(),
  });
  assert.ok(seen[0]!.startsWith(`${issuer}/auth?`), seen[0]);
  assert.match(seen[0]!, /code_challenge_method=S256/);
  assert.ok(seen.at(-1)!.startsWith(`${gatewayUrl}/oauth/callback?`), seen.at(-1));
  return res.text();
}

/**
 * Claude Code's device sign-in end to end, as one person: the device asks for a code, the person approves it in a
 * browser at the provider, the device's poll gets the tokens. `advance` moves the gateway's clock past the interval.
 */
export async function signInDevice(
  gatewayUrl: string,
  idp: { issuer: string; signInAs(sub: string): void },
  who: string,
  advance: () => void,
): Promise<{ access_token: string; refresh_token: string }> {
  const post = (path: string, fields: Record<string, string>) =>
    fetch(`${gatewayUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  const flow = (await (await post('/oauth/device_authorization', { surface: 'claude_code' })).json()) as {
    device_code: string;
    user_code: string;
  };
  idp.signInAs(who);
  await approveInBrowser(gatewayUrl, idp.issuer, flow.user_code);
  advance();
  const res = await post('/oauth/token', {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
    device_code: flow.device_code,
  });
  const body = (await res.json()) as { access_token: string; refresh_token: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}
