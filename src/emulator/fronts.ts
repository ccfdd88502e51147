import { bedrockError } from '../server/fronts/bedrock.js';
import type { Front } from '../server/fronts/front.js';
import { jsonReply } from '../server/fronts/replies.js';

function refuse(): never {
  throw new TypeError('this front serves no model call');
}

/** `GET /healthz` of the emulator itself. (Its Converse and native-Messages fronts are the gateway's, in `asBedrock` mode.) */
export function createEmulatorOpsFront(): Front {
  return {
    name: 'ops',
    routes: [{ method: 'GET', path: '/healthz', public: true, serve: () => jsonReply(200, { status: 'ok', service: 'bedrock-claude emulator' }, {}) }],
    decode: refuse,
    encode: refuse,
    encodeError: (ctx, err) => bedrockError(ctx, err, true),
  };
}
