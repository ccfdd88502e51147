import { bedrockError } from '../server/fronts/bedrock.js';
import type { RouteGroup } from '../server/fronts/front.js';
import { jsonReply } from '../server/fronts/replies.js';

/**
 * `GET /healthz` of the emulator itself. (Its Converse and native-Messages fronts are the gateway's, in `asBedrock`
 * mode.)
 */
export function createEmulatorOpsGroup(): RouteGroup {
  return {
    name: 'ops',
    metered: false,
    routes: [
      {
        method: 'GET',
        path: '/healthz',
        public: true,
        serve: () => jsonReply(200, { status: 'ok', service: 'bedrock-claude emulator' }, {}),
      },
    ],
    encodeError: (ctx, err) => bedrockError(ctx, err, true),
  };
}
