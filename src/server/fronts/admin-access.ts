import type { LedgerScope } from '../../control/control-store.js';
import type { Actor, KeyChange, KeyInput, KeyRecord } from '../../control/records.js';
import { BedrockClaudeError } from '../../errors.js';

/**
 * Who calls the admin API, and what they may do: the admin key and the dashboard's admins everything; a team admin
 * their teams' keys, budgets, limits and usage (and their own keys); a member their own keys and usage.
 */
export interface Principal {
  role: 'admin' | 'team-admin' | 'member';
  /** What the audit log keeps of them. */
  actor: Actor;
  /** A dashboard session's CSRF token, which every change must carry (`x-csrf-token`); none for the admin key. */
  csrf?: string | undefined;
  email?: string | undefined;
  name?: string | undefined;
  /** The teams a team admin administers. */
  adminOf: string[];
  /** Their own teams (by IdP group); the first is the team their own keys go in. */
  teams: string[];
}

/** How many keys of their own a member may hold at once (self-service, not a way around the team). */
export const OWN_KEYS_MAX = 10;

const refused = (message: string, fix?: string) =>
  new BedrockClaudeError(message, { status: 403, type: 'permission_error', ...(fix ? { fix } : {}) });

export function needAdmin(p: Principal): void {
  if (p.role !== 'admin')
    throw refused(
      `This needs the admin role; you are a ${p.role === 'team-admin' ? 'team admin' : 'member'}.`,
      "Roles come from the identity provider's groups (identity.roles in the gateway config): ask an admin.",
    );
}

/** The ledger rows a principal may see: all for an admin, their teams' and their own for others. */
export function scopeOf(p: Principal): LedgerScope | undefined {
  if (p.role === 'admin') return undefined;
  return { teams: p.role === 'team-admin' ? p.adminOf : [], user: p.email };
}

export const seesTeam = (p: Principal, team: string) =>
  p.role === 'admin' || p.adminOf.includes(team) || p.teams.includes(team);

export const runsTeam = (p: Principal, team: string | undefined) =>
  p.role === 'admin' || (team !== undefined && p.adminOf.includes(team));

export const seesKey = (p: Principal, key: Pick<KeyRecord, 'team' | 'user'>) =>
  runsTeam(p, key.team) || (p.email !== undefined && key.user === p.email);

/**
 * A new key as this principal may make it: an admin's as asked; a team admin's in a team they run as asked; anyone
 * else's as their own (their email as its user, their first team as its team), up to {@link OWN_KEYS_MAX} of them.
 */
export function keyInputFor(p: Principal, input: KeyInput, ownActive: number): KeyInput {
  if (p.role === 'admin' || (input.team && runsTeam(p, input.team))) return input;
  if (input.user !== undefined && input.user !== null && input.user !== p.email)
    throw refused(`You may create keys only for yourself (${p.email ?? 'no email'}), not for "${input.user}".`);
  const home = p.teams[0];
  if (input.team !== undefined && input.team !== null && input.team !== home)
    throw refused(
      `Your own keys go in your team${home ? ` "${home}"` : ''}; you do not run "${input.team}".`,
      'Leave the team out.',
    );
  if (ownActive >= OWN_KEYS_MAX)
    throw refused(`You hold ${ownActive} active keys of your own, the most a member may.`, 'Revoke one first.');
  return Object.assign({}, input, { user: p.email, team: home ?? null });
}

/** A change to a key as this principal may make it: its team stays among the teams they run; others' keys not. */
export function keyChangeFor(p: Principal, key: KeyRecord, change: KeyChange): KeyChange {
  if (!seesKey(p, key)) throw refused(`No key "${key.name}" of yours.`);
  if (p.role === 'admin') return change;
  if (change.team !== undefined && !(change.team !== null && runsTeam(p, change.team)) && change.team !== key.team)
    throw refused('You may move a key only into a team you run.');
  if (change.user !== undefined && change.user !== key.user && !runsTeam(p, key.team))
    throw refused("You may not change the user of a key in a team you don't run.");
  return change;
}
