import type { Person } from './device-grants.js';
import type { Actor, AuditEntry, PersonChange, PersonRecord } from './records.js';
import type { SqlPort } from './sql-port.js';
import { StoreError } from './store-errors.js';
import { listColumns, personOf, settings, type PersonRow } from './store-rows.js';

/** The people who signed in, and the audit log: the store's calls for them, the same in both dialects. */
export interface PeopleCalls {
  /**
   * Records a sign-in or refresh: the person as the provider vouched now (what an admin set stays), and the provider's
   * access token (sealed by the caller) that the membership check asks the provider with.
   */
  sawPerson(person: Person, now: number, access?: { sealed: string; expires: number } | null): Promise<void>;
  /** The provider's latest access token of a person (sealed), and until when it works. */
  personAccess(subject: string): Promise<{ sealed: string; expires: number } | undefined>;
  listPeople(): Promise<PersonRecord[]>;
  /** A person by subject (with or without `oidc:`) or email. */
  findPerson(subjectOrEmail: string): Promise<PersonRecord | undefined>;
  updatePerson(subjectOrEmail: string, change: PersonChange, by?: Actor): Promise<PersonRecord>;
  /** Appends one change to the audit log. */
  audit(by: Actor | undefined, action: string, target: string, before: unknown, after: unknown): Promise<void>;
  /** The audit log, newest first: entries before `beforeId` (a cursor), from `since` on. */
  auditLog(filter: { limit: number; beforeId?: number | undefined; since?: number | undefined }): Promise<AuditEntry[]>;
}

const PERSON_BY = 'SELECT * FROM people WHERE subject = ? OR email = ?';

interface AuditRow {
  id: number | string;
  time: number | string;
  actor: string;
  via: string;
  address: string | null;
  action: string;
  target: string;
  before: string | null;
  after: string | null;
}

/** What the audit log keeps of a record: all of it but a key's hash (the secret's stand-in is nobody's business). */
function kept(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return JSON.stringify(value, (k, v: unknown) => (k === 'sha256' ? undefined : v));
}

export function peopleCalls(port: SqlPort): PeopleCalls {
  const { audit, auditLog } = auditCalls(port);
  async function need(subjectOrEmail: string): Promise<PersonRow> {
    const id = subjectOrEmail.replace(/^oidc:/, '');
    const row = await port.one<PersonRow>(PERSON_BY, [id, id]);
    if (!row)
      throw new StoreError('not_found', `no person "${subjectOrEmail}": people appear once they have signed in`);
    return row;
  }
  return {
    async sawPerson(person, now, access) {
      const groups = JSON.stringify(person.groups);
      const name = person.name ?? null;
      const sealed = access?.sealed ?? null;
      const until = access?.expires ?? null;
      const changed = await port.run(
        'UPDATE people SET email = ?, name = ?, groups = ?, last_seen = ?, idp_access = COALESCE(?, idp_access), ' +
          'idp_access_expires = COALESCE(?, idp_access_expires) WHERE subject = ?',
        [person.email, name, groups, now, sealed, until, person.sub],
      );
      if (changed > 0) return;
      const sql =
        'INSERT INTO people (subject, email, name, groups, first_seen, last_seen, idp_access, idp_access_expires) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (subject) DO UPDATE SET email = excluded.email, ' +
        'name = excluded.name, groups = excluded.groups, last_seen = excluded.last_seen, ' +
        'idp_access = excluded.idp_access, idp_access_expires = excluded.idp_access_expires';
      await port.run(sql, [person.sub, person.email, name, groups, now, now, sealed, until]);
    },
    async personAccess(subject) {
      const row = await port.one<{ idp_access: string | null; idp_access_expires: number | string | null }>(
        'SELECT idp_access, idp_access_expires FROM people WHERE subject = ?',
        [subject],
      );
      if (!row?.idp_access || row.idp_access_expires === null) return undefined;
      return { sealed: row.idp_access, expires: Number(row.idp_access_expires) };
    },
    listPeople: async () => (await port.all<PersonRow>('SELECT * FROM people ORDER BY email')).map(personOf),
    async findPerson(subjectOrEmail) {
      const id = subjectOrEmail.replace(/^oidc:/, '');
      const row = await port.one<PersonRow>(PERSON_BY, [id, id]);
      return row && personOf(row);
    },
    async updatePerson(subjectOrEmail, change, by) {
      const before = personOf(await need(subjectOrEmail));
      const columns = Object.assign(settings(change), listColumns(change));
      const names = Object.keys(columns);
      if (names.length) {
        const sql = `UPDATE people SET ${names.map((n) => `"${n}" = ?`).join(', ')} WHERE subject = ?`;
        await port.run(sql, [...names.map((n) => columns[n]), before.subject]);
      }
      const after = personOf(await need(before.subject));
      await audit(by, 'person.update', `oidc:${before.subject}`, before, after);
      return after;
    },
    audit,
    auditLog,
  };
}

/** The audit log: appended to, and read newest first (nothing here or anywhere changes or deletes an entry). */
function auditCalls(port: SqlPort): Pick<PeopleCalls, 'audit' | 'auditLog'> {
  return {
    async audit(by, action, target, before, after) {
      const sql =
        'INSERT INTO audit (time, actor, via, address, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';
      const who = by ?? { actor: 'unknown', via: 'api' };
      await port.run(sql, [
        who.time ?? Date.now(),
        who.actor.slice(0, 300),
        who.via,
        who.address?.slice(0, 100) ?? null,
        action,
        target.slice(0, 300),
        kept(before),
        kept(after),
      ]);
    },
    async auditLog(filter) {
      const where = ['1 = 1'];
      const params: unknown[] = [];
      if (filter.beforeId !== undefined) {
        where.push('id < ?');
        params.push(filter.beforeId);
      }
      if (filter.since !== undefined) {
        where.push('time >= ?');
        params.push(filter.since);
      }
      params.push(filter.limit);
      const sql = `SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`;
      return (await port.all<AuditRow>(sql, params)).map((r) => ({
        id: Number(r.id),
        time: Number(r.time),
        actor: r.actor,
        via: r.via,
        address: r.address ?? undefined,
        action: r.action,
        target: r.target,
        before: r.before === null ? null : (JSON.parse(r.before) as unknown),
        after: r.after === null ? null : (JSON.parse(r.after) as unknown),
      }));
    },
  };
}
