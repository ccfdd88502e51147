import type { Ctx, Reply, RouteSpec } from '../server/pipeline.js';
import type { IdentityConfig } from './config.js';
import { SECURITY } from './http-bits.js';

/** `GET /protocol`: what this gateway serves to Claude Code and other clients, for the running config (Markdown). */
export function protocolRoute(config: IdentityConfig, publicUrl: () => string): RouteSpec {
  return {
    method: 'GET',
    path: '/protocol',
    public: true,
    serve: (_ctx: Ctx): Reply => ({
      status: 200,
      headers: Object.assign({ 'content-type': 'text/markdown; charset=utf-8', 'cache-control': 'no-store' }, SECURITY),
      body: protocolText(config, publicUrl().replace(/\/+$/, '')),
    }),
  };
}

const on = (yes: boolean) => (yes ? 'on' : 'off');

/** The page's text: the endpoints, tokens and answers of this gateway, with what its config turns on. */
export function protocolText(config: IdentityConfig, base: string): string {
  const ttl = config.session.ttlHours;
  const lines = [
    '# bedrock-claude: the gateway protocol',
    '',
    `This gateway (${base}) serves Claude on Amazon Bedrock to Claude Code and to every client of the Anthropic,`,
    "Bedrock and OpenAI APIs. People sign in through the company's identity provider; programs use keys. This page",
    'is written from the running configuration.',
    '',
    '## Signing in (OAuth 2.0 device flow, RFC 8628)',
    '',
    `1. \`GET ${base}/.well-known/oauth-authorization-server\`: the metadata (RFC 8414).`,
    '2. `POST /oauth/device_authorization`: a device code, a code to type, and the page to type it on (`/device`).',
    '3. The person opens `/device`, checks the code and goes on to the identity provider (authorization code with',
    '   PKCE and a nonce). The provider sends the browser back to `/oauth/callback`.',
    '4. The device polls `POST /oauth/token` (`grant_type=urn:ietf:params:oauth:grant-type:device_code`) every 5 s:',
    '   `authorization_pending`, `slow_down` (HTTP 429), `access_denied`, `expired_token`, or the tokens.',
    '',
    `The access token is this gateway's own JWT (HS256, an hour at most: \`ttlHours\` ${ttl}, and never longer than`,
    "the identity provider's access token behind it), with the person's subject, email, name and groups. The refresh",
    "token is the identity provider's: `grant_type=refresh_token` asks the provider again, so groups are re-read and",
    'a person removed there is refused (`invalid_grant`).',
    '',
    '- `POST /oauth/revoke` (RFC 7009) signs one token out on every replica.',
    '- While a person works, the gateway asks the identity provider about them once a minute: removed, or out of every',
    '  allowed group, and their tokens stop working; their groups changed, and the device refreshes into the new ones.',
    '- An admin signs a person out everywhere with `POST /admin/people/{subject}/sign-out`.',
    '',
    '## Calling models',
    '',
    'Send the token as `Authorization: Bearer`. The same gateway serves the Anthropic Messages API',
    '(`/v1/messages`, `/v1/messages/count_tokens`, `/v1/models` listing what the person may call), Bedrock',
    'InvokeModel, Converse and the Messages-API endpoint, and OpenAI chat completions. Keys (`x-api-key` or',
    "`Authorization: Bearer bck-...`) work everywhere a token does. A person's allow-list, budget and rate limits",
    'apply with those of each team their identity-provider groups map to; the tightest wins. Refusals are in each',
    "API's own error shape, with the fix.",
    '',
    '## What else this gateway serves',
    '',
    `- \`GET /managed/settings\` (${on(!!config.managed)}): the person's managed settings by group or email domain,`,
    '  with `ETag`/`If-None-Match` (304) and a checksum.',
    `- \`POST /v1/metrics\`, \`/v1/logs\`, \`/v1/traces\` (${on(!!config.telemetry)}): OpenTelemetry (OTLP/HTTP),`,
    "  relayed byte for byte to the configured destinations with their own headers; never the person's token.",
    "- `GET /api/oauth/usage`: the person's spend against the fullest of their caps (Claude Code's `/usage`).",
    '- `/ui`: the dashboard, signed in through the same identity provider (`/ui/login`), with roles from groups:',
    '  admin, team admin, member.',
    '',
    '## Errors',
    '',
    'Sign-in endpoints answer in OAuth\'s shape (`{"error": "..."}`). A missing or bad token on any other path is',
    'one 401 in the Anthropic error shape. Budgets refuse with 403 `permission_error` (the Bedrock front: 400',
    '`ServiceQuotaExceededException`), rate limits with 429 and `retry-after`; neither is retried by the SDKs.',
  ];
  return `${lines.join('\n')}\n`;
}
