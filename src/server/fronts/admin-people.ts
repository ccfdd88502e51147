import { z } from 'zod';
import { personChangeSchema, type Actor, type PersonRecord } from '../../control/records.js';
import { BedrockClaudeError, invalidRequest } from '../../errors.js';
import type { AuditPage, List } from '../admin-types.js';
import type { Ctx, Reply } from '../pipeline.js';
import type { ControlStore } from '../../control/control-store.js';
import { parse, storeCall } from './admin-errors.js';
import { jsonReply } from './replies.js';
import { parseJsonObject } from '../http-util.js';
import type { Principal } from './admin-access.js';

const json = (ctx: Ctx, status: number, value: unknown): Reply => jsonReply(status, value, ctx.headers);

/** Who asks: the admin key, through the API or (it says so) the CLI, from the client's address, at the API's clock. */
export function actorOf(ctx: Ctx, deps: { clock: () => number }): Actor {
  const via = ctx.req.headers['x-bedrock-claude-client'] === 'cli' ? 'cli' : 'api';
  return { actor: 'admin-key', via, address: ctx.req.remoteAddress, time: deps.clock() };
}

/** The path's subject or email, percent-decoded and bounded. */
function subjectOf(ctx: Ctx): string {
  let id: string;
  try {
    id = decodeURIComponent(ctx.params[0]!);
  } catch {
    throw invalidRequest('The id in the path is not valid percent-encoding.', 'Encode it with encodeURIComponent.');
  }
  if (!id || id.length > 320) throw invalidRequest('The subject is empty or longer than 320 characters.');
  return id;
}

const auditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    before_id: z.coerce.number().int().positive().optional(),
  })
  .strict();

/**
 * People (who signed in through the identity provider: listed, shown, and given their own allow-list, budget and
 * limits) and the audit log (read only: no route changes or deletes an entry).
 */
export function peopleHandlers(deps: { store: ControlStore; clock: () => number; changed(): Promise<void> }) {
  const { store } = deps;
  return {
    list: async (ctx: Ctx) =>
      json(ctx, 200, { data: await storeCall(() => store.listPeople()) } satisfies List<PersonRecord>),
    async show(ctx: Ctx) {
      const p = await storeCall(() => store.findPerson(subjectOf(ctx)));
      if (!p)
        throw new BedrockClaudeError(`No person "${subjectOf(ctx)}": people appear once they have signed in.`, {
          status: 404,
          type: 'not_found_error',
        });
      return json(ctx, 200, p satisfies PersonRecord);
    },
    async change(ctx: Ctx, who: Principal) {
      const body = parseJsonObject(await ctx.req.body(1_000_000), 'Send a JSON object.').value;
      const change = parse(personChangeSchema, body);
      const person = await storeCall(() => store.updatePerson(subjectOf(ctx), change, who.actor));
      await deps.changed();
      return json(ctx, 200, person satisfies PersonRecord);
    },
    async audit(ctx: Ctx) {
      const q = parse(auditQuery, Object.fromEntries(new URL(ctx.req.url, 'http://x').searchParams));
      const data = await storeCall(() => store.auditLog({ limit: q.limit, beforeId: q.before_id }));
      const last = data.length === q.limit ? data[data.length - 1]!.id : null;
      return json(ctx, 200, { data, next_before_id: last } satisfies AuditPage);
    },
  };
}
