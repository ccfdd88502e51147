import type { SqlPort } from './sql-port.js';
import { StoreError } from './store-errors.js';

/** A signed-in person as the identity provider vouched for them (the claims the gateway keeps). */
export interface Person {
  sub: string;
  email: string;
  name?: string | undefined;
  groups: string[];
}

/**
 * One device authorization grant (RFC 8628): `pending` until the person opens the verification page, `verifying` while
 * the browser is at the identity provider, then `approved` (with the person) or `denied`. Handed out once.
 */
export interface DeviceGrant {
  /** sha256 of the device code (the code itself is never stored). */
  deviceCode: string;
  userCode: string;
  status: 'pending' | 'verifying' | 'approved' | 'denied';
  created: number;
  expires: number;
  lastPoll: number | null;
  state: string | null;
  verifier: string | null;
  nonce: string | null;
  /** sha256 of the browser cookie set when the person approved the code. */
  cookie: string | null;
  person: Person | null;
  /** The identity provider's refresh token, handed to the device once with its first token. */
  refresh: string | null;
}

interface GrantRow {
  device_code: string;
  user_code: string;
  status: DeviceGrant['status'];
  created: number | string;
  expires: number | string;
  last_poll: number | string | null;
  state: string | null;
  verifier: string | null;
  nonce: string | null;
  cookie: string | null;
  person: string | null;
  refresh: string | null;
}

/** A row as the store gives it (PostgreSQL's bigint comes back as a string). */
const grantOf = (row: GrantRow): DeviceGrant => ({
  deviceCode: row.device_code,
  userCode: row.user_code,
  status: row.status,
  created: Number(row.created),
  expires: Number(row.expires),
  lastPoll: row.last_poll === null ? null : Number(row.last_poll),
  state: row.state,
  verifier: row.verifier,
  nonce: row.nonce,
  cookie: row.cookie,
  person: row.person ? (JSON.parse(row.person) as Person) : null,
  refresh: row.refresh,
});

/** What a device's poll of the token endpoint finds. */
export type PollResult =
  | { kind: 'unknown' }
  | { kind: 'slow_down' }
  | { kind: 'pending' }
  | { kind: 'approved'; grant: DeviceGrant }
  | { kind: 'denied' };

/** The device grants' calls, written once over a SQL port (both dialects). */
export function deviceGrantCalls(port: SqlPort) {
  const find = async (column: 'device_code' | 'user_code' | 'state', value: string, now: number) => {
    const row = await port.one<GrantRow>(`SELECT * FROM device_grants WHERE ${column} = ? AND expires > ?`, [
      value,
      now,
    ]);
    return row && grantOf(row);
  };
  return {
    async createDeviceGrant(g: Pick<DeviceGrant, 'deviceCode' | 'userCode' | 'created' | 'expires'>): Promise<void> {
      // Expired grants go as new ones come: the table holds at most ten minutes of sign-ins.
      await port.run('DELETE FROM device_grants WHERE expires <= ?', [g.created]);
      try {
        await port.run(
          'INSERT INTO device_grants (device_code, user_code, status, created, expires) VALUES (?, ?, ?, ?, ?)',
          [g.deviceCode, g.userCode, 'pending', g.created, g.expires],
        );
      } catch (err) {
        if (port.isUniqueViolation(err)) throw new StoreError('conflict', 'that user code is taken', { cause: err });
        throw err;
      }
    },
    deviceGrantByUserCode: (userCode: string, now: number) => find('user_code', userCode, now),
    deviceGrantByState: (state: string, now: number) => find('state', state, now),
    /** The browser leg began: the state, PKCE verifier, nonce and cookie hash it will come back with. */
    async startVerifying(
      deviceCode: string,
      leg: { state: string; verifier: string; nonce: string; cookie: string },
    ): Promise<boolean> {
      const sql =
        "UPDATE device_grants SET status = 'verifying', state = ?, verifier = ?, nonce = ?, cookie = ? " +
        "WHERE device_code = ? AND status IN ('pending', 'verifying')";
      return (await port.run(sql, [leg.state, leg.verifier, leg.nonce, leg.cookie, deviceCode])) === 1;
    },
    /** The identity provider vouched (`person`), or the person refused or was refused (`null`). */
    async finishDeviceGrant(deviceCode: string, person: Person | null, refresh: string | null): Promise<void> {
      await port.run(
        'UPDATE device_grants SET status = ?, person = ?, refresh = ?, verifier = NULL, nonce = NULL ' +
          'WHERE device_code = ?',
        [person ? 'approved' : 'denied', person ? JSON.stringify(person) : null, refresh, deviceCode],
      );
    },
    /**
     * A device polls: at most once per `intervalMs` (else `slow_down`), and an approved or denied grant is handed out
     * exactly once, even to replicas polling at the same moment (it is deleted as it is read).
     */
    async pollDeviceGrant(deviceCode: string, now: number, intervalMs: number): Promise<PollResult> {
      const marked = await port.run(
        'UPDATE device_grants SET last_poll = ? WHERE device_code = ? AND expires > ? ' +
          'AND (last_poll IS NULL OR last_poll <= ?)',
        [now, deviceCode, now, now - intervalMs],
      );
      if (marked === 0)
        return (await find('device_code', deviceCode, now)) ? { kind: 'slow_down' } : { kind: 'unknown' };
      const done = await port.one<GrantRow>(
        "DELETE FROM device_grants WHERE device_code = ? AND status IN ('approved', 'denied') RETURNING *",
        [deviceCode],
      );
      if (!done) return { kind: 'pending' };
      const grant = grantOf(done);
      return grant.status === 'approved' ? { kind: 'approved', grant } : { kind: 'denied' };
    },
  };
}

/** What is signed out: people (their tokens issued before `at`) and single tokens (by `jti`, until they expire). */
export interface Revocations {
  /** `by`: who (an admin, `device`), or `idp:removed` / `idp:groups` (the membership check). */
  subjects: Array<{ subject: string; at: number; by: string | null }>;
  tokens: string[];
}

/** The sign-outs' calls, over a SQL port (both dialects). */
export function revocationCalls(port: SqlPort) {
  return {
    /**
     * Signs a person out everywhere: every token issued to them before `at` is refused, on every replica. A groups
     * change (`idp:groups`, which lets the device refresh) does not turn an earlier sign-out into one.
     */
    async revokeSubject(subject: string, at: number, by: string): Promise<void> {
      const sql =
        "UPDATE revocations SET at = ?, by_whom = CASE WHEN ? = 'idp:groups' AND by_whom <> 'idp:groups' " +
        'THEN by_whom ELSE ? END WHERE subject = ?';
      const changed = await port.run(sql, [at, by, by, subject]);
      if (changed === 0)
        await port.run('INSERT INTO revocations (subject, at, by_whom) VALUES (?, ?, ?)', [subject, at, by]);
    },
    /** Signs one token out (a device's logout) until it would have expired anyway. */
    async revokeToken(jti: string, expires: number, now: number): Promise<void> {
      await port.run('DELETE FROM revoked_tokens WHERE expires <= ?', [now]);
      if ((await port.run('UPDATE revoked_tokens SET expires = ? WHERE jti = ?', [expires, jti])) === 0)
        await port.run('INSERT INTO revoked_tokens (jti, expires) VALUES (?, ?)', [jti, expires]);
    },
    async revocations(now: number): Promise<Revocations> {
      const subjects = await port.all<{ subject: string; at: number | string; by_whom: string | null }>(
        'SELECT subject, at, by_whom FROM revocations',
      );
      const tokens = await port.all<{ jti: string }>('SELECT jti FROM revoked_tokens WHERE expires > ?', [now]);
      return {
        subjects: subjects.map((r) => ({ subject: r.subject, at: Number(r.at), by: r.by_whom })),
        tokens: tokens.map((t) => t.jti),
      };
    },
  };
}

export type DeviceGrantCalls = ReturnType<typeof deviceGrantCalls> & ReturnType<typeof revocationCalls>;
