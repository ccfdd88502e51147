import type { Person } from './device-grants.js';
import type { SqlPort } from './sql-port.js';

/** A dashboard session: the person as the identity provider vouched at sign-in, and the CSRF token of its changes. */
export interface UiSession {
  /** sha256 of the cookie (the cookie itself is never stored). */
  id: string;
  person: Person;
  csrf: string;
  created: number;
  expires: number;
}

interface SessionRow {
  id: string;
  subject: string;
  person: string;
  csrf: string;
  created: number | string;
  expires: number | string;
}

/** The dashboard's sessions, in the store so that every replica knows them (expired ones go as new ones come). */
export function uiSessionCalls(port: SqlPort) {
  return {
    async createUiSession(s: UiSession): Promise<void> {
      await port.run('DELETE FROM ui_sessions WHERE expires <= ?', [s.created]);
      await port.run(
        'INSERT INTO ui_sessions (id, subject, person, csrf, created, expires) VALUES (?, ?, ?, ?, ?, ?)',
        [s.id, s.person.sub, JSON.stringify(s.person), s.csrf, s.created, s.expires],
      );
    },
    async uiSession(id: string, now: number): Promise<UiSession | undefined> {
      const row = await port.one<SessionRow>('SELECT * FROM ui_sessions WHERE id = ? AND expires > ?', [id, now]);
      if (!row) return undefined;
      const person = JSON.parse(row.person) as Person;
      return { id: row.id, person, csrf: row.csrf, created: Number(row.created), expires: Number(row.expires) };
    },
    async deleteUiSession(id: string): Promise<void> {
      await port.run('DELETE FROM ui_sessions WHERE id = ?', [id]);
    },
  };
}

export type UiSessionCalls = ReturnType<typeof uiSessionCalls>;
