import { timingSafeEqual } from 'node:crypto';
import {
  keyChangeSchema,
  keyInputSchema,
  teamChangeSchema,
  teamInputSchema,
  type KeyRecord,
  type TeamRecord,
} from '../../control/records.js';
import type { LiveSnapshot } from '../live.js';
import type { ControlStore } from '../../control/control-store.js';
import { BedrockClaudeError, invalidRequest } from '../../errors.js';
import { createFailedAuthThrottle } from './admin-guard.js';
import { parse, storeCall } from './admin-errors.js';
import { hashKey } from '../../control/gateway-keys.js';
import { parseJsonObject, presentedKey } from '../http-util.js';
import type { Ctx, Reply, RouteSpec } from '../pipeline.js';
import type { CreatedKey, KeyView, List } from '../admin-types.js';
import { reportHandlers } from './admin-reports.js';
import { actorOf, peopleHandlers } from './admin-people.js';
import { anthropicError } from './anthropic.js';
import type { RouteGroup } from './front.js';
import { jsonReply } from './replies.js';

export interface AdminDeps {
  store: ControlStore;
  /** The time zone budgets reset in (spend against budget is for the current period). */
  timeZone?: string | undefined;
  /** This replica's traffic now (set by the gateway: in-flight requests, circuits). */
  live?: (() => LiveSnapshot) | undefined;
  /** The admin key's SHA-256 (hex). */
  adminKeySha256: string;
  /** After a change, so this gateway's key cache has it before the answer (other replicas are told by the store). */
  changed(): Promise<void>;
  clock: () => number;
  /** After a person is signed out, so this replica refuses their tokens before the answer (sign-in sets it). */
  signedOut?: (() => Promise<void>) | undefined;
}

/** The admin key's check: in constant time, with failed attempts throttled per address. */
function adminAuthorizer(deps: AdminDeps): (ctx: Ctx) => void {
  const expected = Buffer.from(deps.adminKeySha256, 'hex');
  const throttle = createFailedAuthThrottle(deps.clock);
  function authorize(ctx: Ctx): void {
    const address = ctx.req.remoteAddress ?? 'in-process';
    throttle.check(address);
    const presented = presentedKey(ctx.req.headers);
    const digest = presented ? Buffer.from(hashKey(presented), 'hex') : Buffer.alloc(expected.length);
    if (!presented || !timingSafeEqual(digest, expected)) {
      throttle.failed(address);
      const fix = 'Send the admin key (adminKey, BEDROCK_CLAUDE_ADMIN_KEY) in x-api-key or Authorization: Bearer.';
      throw new BedrockClaudeError('Invalid or missing admin key.', { status: 401, type: 'authentication_error', fix });
    }
    throttle.succeeded(address);
  }
  return authorize;
}

/**
 * The admin API (`/admin/...`): keys, teams, people, usage reports, the ledger and the audit log, for the CLI's remote
 * mode and the dashboard. Its own key (`adminKey`), sent as `x-api-key` or `Authorization:
 * Bearer`; without an admin key configured these routes do not exist (404). Bodies and queries
 * are validated: bad input is a 400 that names the field.
 */
export function createAdminGroup(deps: AdminDeps): RouteGroup {
  const { store } = deps;
  const authorize = adminAuthorizer(deps);
  const guarded =
    (handler: (ctx: Ctx) => Reply | Promise<Reply>) =>
    async (ctx: Ctx): Promise<Reply> => {
      authorize(ctx);
      return handler(ctx);
    };
  const route = (method: string, path: string, handler: (ctx: Ctx) => Reply | Promise<Reply>): RouteSpec => ({
    method,
    path,
    public: true,
    serve: guarded(handler),
  });
  const keys = keyHandlers(deps);
  const teams = teamHandlers(deps);
  const reports = reportHandlers(store, deps);
  const people = peopleHandlers(deps);
  return {
    name: 'admin',
    // The admin API's own calls (the dashboard polls) are not model traffic, and stay out of the ledger.
    metered: false,
    routes: [
      route('POST', '/admin/keys', keys.create),
      route('GET', '/admin/keys', keys.list),
      route('GET', '/admin/keys/{id}', keys.show),
      route('PATCH', '/admin/keys/{id}', keys.change),
      route('DELETE', '/admin/keys/{id}', keys.revoke),
      route('POST', '/admin/teams', teams.create),
      route('GET', '/admin/teams', teams.list),
      route('GET', '/admin/teams/{name}', teams.show),
      route('DELETE', '/admin/teams/{name}', teams.remove),
      route('PATCH', '/admin/teams/{name}', teams.change),
      route('GET', '/admin/usage', reports.usage),
      route('GET', '/admin/usage/series', reports.series),
      route('GET', '/admin/usage/latency', reports.latency),
      route('GET', '/admin/budgets', reports.budgets),
      route('GET', '/admin/live', reports.live),
      route('GET', '/admin/requests', reports.requests),
      ...[
        route('GET', '/admin/people', people.list),
        route('GET', '/admin/people/{subject}', people.show),
        route('PATCH', '/admin/people/{subject}', people.change),
        route('POST', '/admin/people/{subject}/sign-out', (ctx: Ctx) => signOut(ctx, deps)),
        route('GET', '/admin/audit', people.audit),
      ],
    ],
    encodeError: anthropicError,
  };
}

const json = (ctx: Ctx, status: number, value: unknown): Reply => jsonReply(status, value, ctx.headers);

/**
 * Signs a person out everywhere (their subject at the identity provider, as `oidc:<sub>` in the ledger): every token
 * issued to them before now is refused, here at once and on other replicas within 15 s; refresh is refused, so the
 * next sign-in goes through the identity provider again.
 */
async function signOut(ctx: Ctx, deps: AdminDeps): Promise<Reply> {
  const subject = idOf(ctx).replace(/^oidc:/, '');
  if (!subject || subject.length > 256) throw invalidRequest('The subject is empty or longer than 256 characters.');
  const at = deps.clock();
  await storeCall(async () => {
    await deps.store.revokeSubject(subject, at, 'admin-key');
    await deps.store.audit(actorOf(ctx, deps), 'person.sign-out', `oidc:${subject}`, null, { signedOutAt: at });
  });
  await deps.signedOut?.();
  return json(ctx, 200, { subject, signedOutAt: new Date(at).toISOString() });
}
/** The id in the path, percent-decoded; a malformed escape is the client's mistake (400), not the store's. */
function idOf(ctx: Ctx): string {
  try {
    return decodeURIComponent(ctx.params[0]!);
  } catch {
    throw invalidRequest('The id in the path is not valid percent-encoding.', 'Encode it with encodeURIComponent.');
  }
}
async function bodyOf(ctx: Ctx): Promise<Record<string, unknown>> {
  return parseJsonObject(await ctx.req.body(1_000_000), 'Send a JSON object.').value;
}
const notFound = (what: string, name: string) =>
  new BedrockClaudeError(`No ${what} "${name}".`, { status: 404, type: 'not_found_error' });

/** A change through the store, then this gateway's key cache refreshed before the answer. */
function changer(deps: AdminDeps) {
  return async <T>(run: () => Promise<T>): Promise<T> => {
    const out = await storeCall(run);
    await deps.changed();
    return out;
  };
}

function keyHandlers(deps: AdminDeps) {
  const { store } = deps;
  const changing = changer(deps);
  return {
    async create(ctx: Ctx) {
      const input = parse(keyInputSchema, await bodyOf(ctx));
      const { key, record } = await changing(() => store.createKey(input, deps.clock(), actorOf(ctx, deps)));
      return json(ctx, 201, Object.assign({ key }, record) satisfies CreatedKey);
    },
    async list(ctx: Ctx) {
      const [keys, last] = await storeCall(() => Promise.all([store.listKeys(), store.lastUsed()]));
      const data = keys.map((k): KeyView => Object.assign({}, k, { lastUsed: last[k.id] ?? null }));
      return json(ctx, 200, { data } satisfies List<KeyView>);
    },
    async show(ctx: Ctx) {
      const k = await storeCall(() => store.findKey(idOf(ctx)));
      if (!k) throw notFound('key', idOf(ctx));
      return json(ctx, 200, k satisfies KeyRecord);
    },
    async change(ctx: Ctx) {
      const change = parse(keyChangeSchema, await bodyOf(ctx));
      const by = actorOf(ctx, deps);
      return json(ctx, 200, (await changing(() => store.updateKey(idOf(ctx), change, by))) satisfies KeyRecord);
    },
    revoke: async (ctx: Ctx) =>
      json(
        ctx,
        200,
        (await changing(() => store.revokeKey(idOf(ctx), deps.clock(), actorOf(ctx, deps)))) satisfies KeyRecord,
      ),
  };
}

function teamHandlers(deps: AdminDeps) {
  const { store } = deps;
  const changing = changer(deps);
  return {
    async create(ctx: Ctx) {
      const input = parse(teamInputSchema, await bodyOf(ctx));
      const by = actorOf(ctx, deps);
      return json(ctx, 201, (await changing(() => store.createTeam(input, deps.clock(), by))) satisfies TeamRecord);
    },
    list: async (ctx: Ctx) =>
      json(ctx, 200, { data: await storeCall(() => store.listTeams()) } satisfies List<TeamRecord>),
    async show(ctx: Ctx) {
      const t = await storeCall(() => store.findTeam(idOf(ctx)));
      if (!t) throw notFound('team', idOf(ctx));
      return json(ctx, 200, t satisfies TeamRecord);
    },
    remove: async (ctx: Ctx) =>
      json(ctx, 200, (await changing(() => store.deleteTeam(idOf(ctx), actorOf(ctx, deps)))) satisfies TeamRecord),
    async change(ctx: Ctx) {
      const change = parse(teamChangeSchema, await bodyOf(ctx));
      const by = actorOf(ctx, deps);
      return json(ctx, 200, (await changing(() => store.updateTeam(idOf(ctx), change, by))) satisfies TeamRecord);
    },
  };
}
