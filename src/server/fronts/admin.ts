import { timingSafeEqual } from 'node:crypto';
import {
  keyChangeSchema,
  keyInputSchema,
  teamChangeSchema,
  teamInputSchema,
  keyActive,
  type KeyRecord,
  type TeamRecord,
} from '../../control/records.js';
import type { LiveSnapshot } from '../live.js';
import type { ControlStore } from '../../control/control-store.js';
import { BedrockClaudeError, invalidRequest } from '../../errors.js';
import { createFailedAuthThrottle } from './admin-guard.js';
import { parse, storeCall } from './admin-errors.js';
import { hashKey } from '../../control/gateway-keys.js';
import { deletionRefusal } from '../../control/budget.js';
import { z } from 'zod';
import { parseJsonObject, presentedKey } from '../http-util.js';
import type { Ctx, Reply, RouteSpec } from '../pipeline.js';
import type { CreatedKey, KeyView, List, MeAnswer } from '../admin-types.js';
import { keyChangeFor, keyInputFor, needAdmin, runsTeam, seesKey, seesTeam, type Principal } from './admin-access.js';
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
  /** The admin key's SHA-256 (hex), when there is one. */
  adminKeySha256?: string | undefined;
  /** More admin keys by name (`admin-key:<id>` in the audit log); `write: false` may only read. */
  namedKeys?: Array<{ id: string; sha256: string; write: boolean }> | undefined;
  /** After a change, so this gateway's key cache has it before the answer (other replicas are told by the store). */
  changed(): Promise<void>;
  clock: () => number;
  /** After a person is signed out, so this replica refuses their tokens before the answer (sign-in sets it). */
  signedOut?: (() => Promise<void>) | undefined;
  /** The dashboard session a request's cookie names, as a principal (sign-in sets it). */
  session?: ((ctx: Ctx) => Promise<Principal | undefined>) | undefined;
}

/**
 * Who calls: the admin key (checked in constant time, failed attempts throttled per address) or, where sign-in is
 * configured, a dashboard session (its cookie; every change must carry its CSRF token). Anything else is a 401.
 */
function principals(deps: AdminDeps): (ctx: Ctx) => Promise<Principal> {
  const known = [
    ...(deps.adminKeySha256 ? [{ id: undefined, sha256: deps.adminKeySha256, write: true }] : []),
    ...(deps.namedKeys ?? []),
  ].map((k) => Object.assign({}, k, { digest: Buffer.from(k.sha256, 'hex') }));
  const throttle = createFailedAuthThrottle(deps.clock);
  return async (ctx) => {
    const address = ctx.req.remoteAddress ?? 'in-process';
    throttle.check(address);
    const presented = presentedKey(ctx.req.headers);
    if (!presented) {
      const session = await deps.session?.(ctx);
      if (session) return checkedCsrf(ctx, session);
    }
    const digest = Buffer.from(hashKey(presented ?? ''), 'hex');
    // Every key compared, so that timing does not tell which one matched.
    let found: (typeof known)[number] | undefined;
    for (const k of known) if (timingSafeEqual(digest, k.digest) && presented && !found) found = k;
    if (!found) {
      throttle.failed(address);
      const fix =
        'Send the admin key (adminKey, BEDROCK_CLAUDE_ADMIN_KEY) in x-api-key or Authorization: Bearer' +
        (deps.session ? ', or sign in to the dashboard through the identity provider (/ui).' : '.');
      throw new BedrockClaudeError('Invalid or missing admin key.', { status: 401, type: 'authentication_error', fix });
    }
    throttle.succeeded(address);
    const actor = actorOf(ctx, deps);
    if (found.id) actor.actor = `admin-key:${found.id}`;
    if (!found.write && ctx.req.method !== 'GET' && ctx.req.method !== 'HEAD')
      throw new BedrockClaudeError(`The admin key "${found.id}" may only read: this change needs a write key.`, {
        status: 403,
        type: 'permission_error',
      });
    return { role: 'admin', actor, adminOf: [], teams: [] };
  };
}

/** A session's change must carry its CSRF token (`x-csrf-token`); reads need none. */
function checkedCsrf(ctx: Ctx, p: Principal): Principal {
  if (ctx.req.method === 'GET' || ctx.req.method === 'HEAD') return p;
  const sent = ctx.req.headers['x-csrf-token'];
  const ok =
    typeof sent === 'string' &&
    p.csrf !== undefined &&
    sent.length === p.csrf.length &&
    timingSafeEqual(Buffer.from(sent), Buffer.from(p.csrf));
  if (!ok)
    throw new BedrockClaudeError('The CSRF token is missing or wrong: the change was refused.', {
      status: 403,
      type: 'permission_error',
      fix: 'Make changes from the dashboard page itself (it sends x-csrf-token); reload it if the session is new.',
    });
  return p;
}

type Handler = (ctx: Ctx, who: Principal) => Reply | Promise<Reply>;

/**
 * The admin API (`/admin/...`): keys, teams, people, usage reports, the ledger and the audit log, for the CLI's
 * remote mode and the dashboard. The admin key (`adminKey`, as `x-api-key` or `Authorization: Bearer`) may do
 * everything; a dashboard session what its role allows (see `admin-access.ts`). Without an admin key configured these
 * routes do not exist (404). Bodies and queries are validated: bad input is a 400 that names the field.
 */
export function createAdminGroup(deps: AdminDeps): RouteGroup {
  const principalOf = principals(deps);
  const route = (method: string, path: string, handler: Handler): RouteSpec => ({
    method,
    path,
    public: true,
    serve: async (ctx: Ctx) => handler(ctx, await principalOf(ctx)),
  });
  const admins =
    (handler: Handler): Handler =>
    (ctx, who) => (needAdmin(who), handler(ctx, who));
  const keys = keyHandlers(deps);
  const teams = teamHandlers(deps);
  const reports = reportHandlers(deps.store, deps);
  const people = peopleHandlers(deps);
  return {
    name: 'admin',
    // The admin API's own calls (the dashboard polls) are not model traffic, and stay out of the ledger.
    metered: false,
    routes: [
      route('GET', '/admin/me', (ctx, who) => json(ctx, 200, meOf(who))),
      route('POST', '/admin/keys', keys.create),
      route('GET', '/admin/keys', keys.list),
      route('GET', '/admin/keys/{id}', keys.show),
      route('PATCH', '/admin/keys/{id}', keys.change),
      route('DELETE', '/admin/keys/{id}', keys.revoke),
      route('POST', '/admin/keys/{id}/rotate', keys.rotate),
      route('POST', '/admin/teams', admins(teams.create)),
      route('GET', '/admin/teams', teams.list),
      route('GET', '/admin/teams/{name}', teams.show),
      route('DELETE', '/admin/teams/{name}', admins(teams.remove)),
      route('PATCH', '/admin/teams/{name}', teams.change),
      route('GET', '/admin/usage', reports.usage),
      route('GET', '/admin/usage/series', reports.series),
      route('GET', '/admin/usage/latency', admins(reports.latency)),
      route('GET', '/admin/budgets', reports.budgets),
      route('GET', '/admin/alerts', reports.alerts),
      route('GET', '/admin/live', admins(reports.live)),
      route('GET', '/admin/requests', reports.requests),
      route('GET', '/admin/people', admins(people.list)),
      route('GET', '/admin/people/{subject}', admins(people.show)),
      route('PATCH', '/admin/people/{subject}', admins(people.change)),
      route(
        'POST',
        '/admin/people/{subject}/sign-out',
        admins((ctx, who) => signOut(ctx, deps, who)),
      ),
      route('GET', '/admin/audit', admins(people.audit)),
    ],
    encodeError: anthropicError,
  };
}

/** `GET /admin/me`: who the dashboard is signed in as, their role and teams, and the CSRF token its changes carry. */
function meOf(who: Principal): MeAnswer {
  return {
    role: who.role,
    email: who.email ?? null,
    name: who.name ?? null,
    adminOf: who.adminOf,
    teams: who.teams,
    csrf: who.csrf ?? null,
    via: who.csrf === undefined ? 'admin-key' : 'identity-provider',
  };
}

const json = (ctx: Ctx, status: number, value: unknown): Reply => jsonReply(status, value, ctx.headers);

/**
 * Signs a person out everywhere (their subject at the identity provider, as `oidc:<sub>` in the ledger): every token
 * and dashboard session issued to them before now is refused, here at once and on other replicas within 15 s; refresh
 * is refused, so the next sign-in goes through the identity provider again.
 */
async function signOut(ctx: Ctx, deps: AdminDeps, who: Principal): Promise<Reply> {
  const subject = idOf(ctx).replace(/^oidc:/, '');
  if (!subject || subject.length > 256) throw invalidRequest('The subject is empty or longer than 256 characters.');
  const at = deps.clock();
  await storeCall(async () => {
    await deps.store.revokeSubject(subject, at, who.actor.actor);
    await deps.store.audit(who.actor, 'person.sign-out', `oidc:${subject}`, null, { signedOutAt: at });
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
  /** A key the principal may see, or 404 (one they may not see is not theirs to know of). */
  const visible = async (ctx: Ctx, who: Principal): Promise<KeyRecord> => {
    const k = await storeCall(() => store.findKey(idOf(ctx)));
    if (!k || !seesKey(who, k)) throw notFound('key', idOf(ctx));
    return k;
  };
  return {
    async create(ctx: Ctx, who: Principal) {
      const asked = parse(keyInputSchema, await bodyOf(ctx));
      const own = async () =>
        (await storeCall(() => store.listKeys())).filter((k) => k.user === who.email && keyActive(k, deps.clock()))
          .length;
      const input = who.role === 'admin' ? asked : keyInputFor(who, asked, await own());
      const { key, record } = await changing(() => store.createKey(input, deps.clock(), who.actor));
      return json(ctx, 201, Object.assign({ key }, record) satisfies CreatedKey);
    },
    async list(ctx: Ctx, who: Principal) {
      const [keys, last] = await storeCall(() => Promise.all([store.listKeys(), store.lastUsed()]));
      const data = keys
        .filter((k) => seesKey(who, k))
        .map((k): KeyView => Object.assign({}, k, { lastUsed: last[k.id] ?? null }));
      return json(ctx, 200, { data } satisfies List<KeyView>);
    },
    show: async (ctx: Ctx, who: Principal) => json(ctx, 200, (await visible(ctx, who)) satisfies KeyRecord),
    async change(ctx: Ctx, who: Principal) {
      const asked = parse(keyChangeSchema, await bodyOf(ctx));
      const key = await visible(ctx, who);
      const change = keyChangeFor(who, key, asked);
      return json(ctx, 200, (await changing(() => store.updateKey(key.id, change, who.actor))) satisfies KeyRecord);
    },
    /** Revokes; with `?purge=true` deletes the record (refused while it spent in its open period, unless `force`). */
    async revoke(ctx: Ctx, who: Principal) {
      const key = await visible(ctx, who);
      const q = queryOf(ctx);
      if (q.get('purge') !== 'true') {
        const revoked = await changing(() => store.revokeKey(key.id, deps.clock(), who.actor));
        return json(ctx, 200, revoked satisfies KeyRecord);
      }
      if (!runsTeam(who, key.team)) needAdmin(who);
      const what = { kind: 'key' as const, id: key.id, name: key.name, budget: key.budget };
      await refuseWhileSpent(deps, what, q);
      return json(ctx, 200, (await changing(() => store.deleteKey(key.id, who.actor))) satisfies KeyRecord);
    },
    /** A new secret, shown once; the old one works `overlapSeconds` longer (default an hour; 0 for not at all). */
    async rotate(ctx: Ctx, who: Principal) {
      const key = await visible(ctx, who);
      const { overlapSeconds } = parse(rotateSchema, await bodyOf(ctx));
      const rotated = await changing(() => store.rotateKey(key.id, deps.clock(), overlapSeconds * 1000, who.actor));
      return json(ctx, 200, Object.assign({ key: rotated.key }, rotated.record) satisfies CreatedKey);
    },
  };
}

const rotateSchema = z
  .object({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(3600),
  })
  .strict();

const queryOf = (ctx: Ctx) => new URLSearchParams(ctx.req.url.split('?')[1] ?? '');

/** A 409 while a key or team spent in its open period (see `deletionRefusal`), unless the request says `force=true`. */
async function refuseWhileSpent(
  deps: AdminDeps,
  what: Parameters<typeof deletionRefusal>[1],
  q: URLSearchParams,
): Promise<void> {
  if (q.get('force') === 'true') return;
  const why = await storeCall(() => deletionRefusal(deps.store, what, deps.clock(), deps.timeZone));
  if (why)
    throw new BedrockClaudeError(`Not deleted: ${why}.`, {
      status: 409,
      type: 'invalid_request_error',
      fix: 'Revoke it instead (it stops working, its spend stays counted), or delete with force=true.',
    });
}

function teamHandlers(deps: AdminDeps) {
  const { store } = deps;
  const changing = changer(deps);
  return {
    async create(ctx: Ctx, who: Principal) {
      const input = parse(teamInputSchema, await bodyOf(ctx));
      return json(
        ctx,
        201,
        (await changing(() => store.createTeam(input, deps.clock(), who.actor))) satisfies TeamRecord,
      );
    },
    async list(ctx: Ctx, who: Principal) {
      const data = (await storeCall(() => store.listTeams())).filter((t) => seesTeam(who, t.name));
      return json(ctx, 200, { data } satisfies List<TeamRecord>);
    },
    async show(ctx: Ctx, who: Principal) {
      const t = await storeCall(() => store.findTeam(idOf(ctx)));
      if (!t || !seesTeam(who, t.name)) throw notFound('team', idOf(ctx));
      return json(ctx, 200, t satisfies TeamRecord);
    },
    async remove(ctx: Ctx, who: Principal) {
      const t = await storeCall(() => store.findTeam(idOf(ctx)));
      if (!t) throw notFound('team', idOf(ctx));
      await refuseWhileSpent(deps, { kind: 'team', id: t.name, name: t.name, budget: t.budget }, queryOf(ctx));
      return json(ctx, 200, (await changing(() => store.deleteTeam(t.name, who.actor))) satisfies TeamRecord);
    },
    async change(ctx: Ctx, who: Principal) {
      const change = parse(teamChangeSchema, await bodyOf(ctx));
      const name = idOf(ctx);
      if (!runsTeam(who, name)) {
        if (!seesTeam(who, name)) throw notFound('team', name);
        needAdmin(who);
      }
      if (who.role !== 'admin' && change.groups !== undefined)
        throw new BedrockClaudeError("A team's identity-provider groups are the admins' to change.", {
          status: 403,
          type: 'permission_error',
        });
      return json(ctx, 200, (await changing(() => store.updateTeam(name, change, who.actor))) satisfies TeamRecord);
    },
  };
}
