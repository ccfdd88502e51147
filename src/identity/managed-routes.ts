import type { Ctx, Reply } from '../server/pipeline.js';
import { bearerPerson, invalidToken, SECURITY } from './http-bits.js';
import { settingsChecksum, settingsFor } from './managed-settings.js';
import type { SignInDeps } from './sign-in-routes.js';
import { telemetryEnv } from './telemetry-relay.js';

/** `GET /managed/settings`: the signed-in person's document, its checksum as the ETag, 304 when they hold it. */
export function managedRoutes(deps: SignInDeps) {
  const notFound = (why: string): Reply => ({
    status: 404,
    headers: Object.assign({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, SECURITY),
    body: why,
  });
  return [
    {
      method: 'GET',
      path: '/managed/settings',
      public: true,
      serve: async (ctx: Ctx): Promise<Reply> => {
        const person = await bearerPerson(ctx, deps.tokens);
        if (!person) return invalidToken(ctx);
        if (!deps.config.managed) return notFound('not configured');
        const chosen = settingsFor(deps.config.managed, person);
        if (!chosen) return notFound('no policy matched');
        // With a relay, the client's exporters point at the gateway; the policy's own env wins.
        const settings = deps.config.telemetry
          ? Object.assign({}, chosen, { env: Object.assign(telemetryEnv(deps.publicUrl()), chosen['env']) })
          : chosen;
        const checksum = settingsChecksum(settings);
        const headers = Object.assign({ etag: `"${checksum}"`, vary: 'User-Agent' }, SECURITY);
        if (ctx.req.headers['if-none-match'] === `"${checksum}"`) return { status: 304, headers, body: undefined };
        return {
          status: 200,
          headers: Object.assign({ 'content-type': 'application/json;charset=utf-8' }, headers),
          body: JSON.stringify({ uuid: checksum, checksum, settings }),
        };
      },
    },
  ];
}
