import type { CounterOp } from '../../control/counter-store.js';
import type { Budget, Limits, TeamRecord } from '../../control/records.js';
import type { BucketLimit } from '../../control/token-bucket.js';
import type { Ctx } from '../pipeline.js';

// The checks a key's requests go through (its own limits and budget, and its team's), planned once
// per key record: which counters and buckets, with what limits, under one Redis Cluster hash tag.

/**
 * Whose limits and budget a request counts against: its key's (or signed-in person's), and its team's, or each of a
 * person's teams (every one applies, so the tightest wins).
 */
export interface Subject {
  kind: 'key' | 'person' | 'team';
  id: string;
  name: string;
  limits: Limits | undefined;
  budget: Budget | undefined;
}

export const labelOf = (s: Subject) => `${s.kind} "${s.name}"`;

/** Where a subject's spend is in the ledger: a key's and a person's by the key id, a team's by the team. */
export const ledgerKind = (s: Subject): 'key' | 'team' => (s.kind === 'team' ? 'team' : 'key');

export function subjectsOf(ctx: Ctx, team: (name: string) => TeamRecord | undefined): Subject[] | undefined {
  const key = ctx.key;
  if (!key) return undefined;
  const names = key.teams ?? (key.team ? [key.team] : []);
  const teams = names.map(team).filter((t): t is TeamRecord => t !== undefined);
  if (!key.limits && !key.budget && !teams.length) return undefined;
  const out: Subject[] = [];
  if (key.limits || key.budget) {
    const person = key.id?.startsWith('oidc:');
    const name = person && key.user ? key.user : key.name;
    out.push({ kind: person ? 'person' : 'key', id: key.id ?? key.name, name, limits: key.limits, budget: key.budget });
  }
  for (const t of teams) out.push({ kind: 'team', id: t.name, name: t.name, limits: t.limits, budget: t.budget });
  return out;
}

/** One check of a request, planned once per key: what it is for, its counter, and its limit. */
export interface OpMeta {
  what: 'rpm' | 'concurrency' | 'itpm' | 'otpm' | 'budget';
  subject: Subject;
  limit: number;
  /** The counter or bucket (a budget's: per period, below). */
  key: string;
  bucketLimit: BucketLimit | undefined;
  /** The op itself, where it is the same for every request (one request, one slot). */
  fixed: CounterOp | undefined;
  /** A budget's counter for the period it was last used in. */
  period?: { start: number; end: number; key: string };
}

/** The checks a key's requests go through, in order: made once per key record (a refreshed key is a new record). */
export function planFor(subjects: Subject[]): OpMeta[] {
  const plan: OpMeta[] = [];
  // One hash tag for all the counters a request touches (Redis Cluster runs a script on one slot):
  // its team's when it has one, else its key's. A key that changes team starts its counters afresh.
  const team = subjects.find((s) => s.kind === 'team');
  const tag = `{${team ? `team:${team.id}` : `key:${subjects[0]!.id}`}}`;
  // A person's other teams keep their own tags, so that each team has one counter whoever counts against it: such a
  // request touches several slots, which one Redis takes and Redis Cluster would not.
  for (const s of subjects) {
    const l = s.limits;
    const id = `${s.kind === 'team' && s !== team ? `{team:${s.id}}` : tag}:${s.kind}:${s.id}`;
    const bucket = (what: 'rpm' | 'itpm' | 'otpm', limit: number | undefined) => {
      if (!limit) return;
      const bucketLimit = { capacity: limit, perMinute: limit };
      plan.push({
        what,
        subject: s,
        limit,
        key: `${what}:${id}`,
        bucketLimit,
        fixed: what === 'rpm' ? { kind: 'bucket', key: `${what}:${id}`, limit: bucketLimit, amount: 1 } : undefined,
      });
    };
    bucket('rpm', l?.rpm);
    if (l?.concurrency)
      plan.push({
        what: 'concurrency',
        subject: s,
        limit: l.concurrency,
        key: `inflight:${id}`,
        bucketLimit: undefined,
        fixed: { kind: 'counter', key: `inflight:${id}`, delta: 1, max: l.concurrency },
      });
    bucket('itpm', l?.itpm);
    bucket('otpm', l?.otpm);
    if (s.budget)
      plan.push({
        what: 'budget',
        subject: s,
        limit: s.budget.usd,
        key: `spend:${id}`,
        bucketLimit: undefined,
        fixed: undefined,
      });
  }
  return plan;
}
