import type { SqlPort } from './sql-port.js';

/** A stored Responses API response as the store holds it: whose it is, until when, and its sealed content. */
export interface KeptRow {
  id: string;
  /** The key or person that made it (`key:<id>`, `oidc:<sub>`, ...): only they may read it. */
  owner: string;
  created: number;
  expires: number;
  /** The response and its input, sealed with the config's `responses.keys` (never readable from the store alone). */
  sealed: string;
}

interface Row {
  id: string;
  owner: string;
  created: number | string;
  expires: number | string;
  sealed: string;
}

/** Stored responses (the Responses API's `store: true`): apart from the ledger, deleted once they expire. */
export function keptResponseCalls(port: SqlPort) {
  return {
    async keepResponse(row: KeptRow): Promise<void> {
      await port.run('INSERT INTO responses (id, owner, created, expires, sealed) VALUES (?, ?, ?, ?, ?)', [
        row.id,
        row.owner,
        row.created,
        row.expires,
        row.sealed,
      ]);
    },
    /** The response of this id if it is the owner's and has not expired. */
    async keptResponse(id: string, owner: string, now: number): Promise<KeptRow | undefined> {
      const row = await port.one<Row>('SELECT * FROM responses WHERE id = ? AND owner = ? AND expires > ?', [
        id,
        owner,
        now,
      ]);
      return row && Object.assign(row, { created: Number(row.created), expires: Number(row.expires) });
    },
    /** Deletes the owner's response of this id; answers whether there was one. */
    async deleteKeptResponse(id: string, owner: string): Promise<boolean> {
      return (await port.run('DELETE FROM responses WHERE id = ? AND owner = ?', [id, owner])) > 0;
    },
    /** Deletes the responses that expired by `now`; answers how many. */
    async pruneKeptResponses(now: number): Promise<number> {
      return port.run('DELETE FROM responses WHERE expires <= ?', [now]);
    },
  };
}

export type KeptResponseCalls = ReturnType<typeof keptResponseCalls>;
