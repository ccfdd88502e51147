import { ledgerColumnDefs } from './ledger-columns.js';

/**
 * The control plane's schema, one step per version (SQLite's `PRAGMA user_version` says which ran).
 * Steps are only ever added: a released step is never edited.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: keys, teams, the ledger, and a change counter the gateway polls to pick up key changes.
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT INTO meta (key, value) VALUES ('changes', 0);
  CREATE TABLE teams (
    name TEXT PRIMARY KEY,
    created INTEGER NOT NULL,
    budget_usd REAL, budget_period TEXT,
    rpm INTEGER, itpm INTEGER, otpm INTEGER, concurrency INTEGER
  );
  CREATE TABLE keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL UNIQUE,
    user TEXT,
    team TEXT REFERENCES teams(name),
    created INTEGER NOT NULL,
    expires INTEGER,
    revoked INTEGER,
    models TEXT,
    budget_usd REAL, budget_period TEXT,
    rpm INTEGER, itpm INTEGER, otpm INTEGER, concurrency INTEGER
  );
  CREATE TRIGGER keys_ins AFTER INSERT ON keys BEGIN UPDATE meta SET value = value + 1 WHERE key = 'changes'; END;
  CREATE TRIGGER keys_upd AFTER UPDATE ON keys BEGIN UPDATE meta SET value = value + 1 WHERE key = 'changes'; END;
  CREATE TRIGGER keys_del AFTER DELETE ON keys BEGIN UPDATE meta SET value = value + 1 WHERE key = 'changes'; END;
  CREATE TRIGGER teams_ins AFTER INSERT ON teams BEGIN UPDATE meta SET value = value + 1 WHERE key = 'changes'; END;
  CREATE TRIGGER teams_upd AFTER UPDATE ON teams BEGIN UPDATE meta SET value = value + 1 WHERE key = 'changes'; END;
  CREATE TRIGGER teams_del AFTER DELETE ON teams BEGIN UPDATE meta SET value = value + 1 WHERE key = 'changes'; END;
  CREATE TABLE ledger (
    ${ledgerColumnDefs('sqlite', 1).join(',\n    ')}
  );
  CREATE INDEX ledger_time ON ledger (time);
  CREATE INDEX ledger_key_time ON ledger (key_id, time);
  `,
  // 2: the betas and fields the policy dropped, per request (the dashboard's requests page).
  `ALTER TABLE ledger ADD COLUMN ${ledgerColumnDefs('sqlite', 2).join('')};`,
  // 3: whether the output was estimated from what a stream delivered (no final usage came).
  `ALTER TABLE ledger ADD COLUMN ${ledgerColumnDefs('sqlite', 3).join('')};`,
  // 4: the service tier the client asked for.
  `ALTER TABLE ledger ADD COLUMN ${ledgerColumnDefs('sqlite', 4).join('')};`,
  // 5: device authorization grants (sign-in with the identity provider): the device code's hash, the code a person
  // types, the browser leg's PKCE verifier, nonce, state and cookie hash, and the person once the IdP vouched.
  `
  CREATE TABLE device_grants (
    device_code TEXT PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    last_poll INTEGER,
    state TEXT UNIQUE,
    verifier TEXT,
    nonce TEXT,
    cookie TEXT,
    person TEXT,
    refresh TEXT
  );
  CREATE INDEX device_grants_expires ON device_grants (expires);
  `,
  // 6: sign-outs: a person's tokens issued before a time (an admin's), and single tokens (a device's logout).
  `
  CREATE TABLE revocations (subject TEXT PRIMARY KEY, at INTEGER NOT NULL, by_whom TEXT);
  CREATE TABLE revoked_tokens (jti TEXT PRIMARY KEY, expires INTEGER NOT NULL);
  `,
  // 7: people who signed in (and what an admin set for them: a change to that is a change the key caches read),
  // IdP groups and model allow-lists on teams, the other
  // teams a person's request counted against, and the audit log (append-only: the triggers refuse changes).
  `
  CREATE TABLE people (
    subject TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT,
    groups TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    models TEXT,
    budget_usd REAL, budget_period TEXT,
    rpm INTEGER, itpm INTEGER, otpm INTEGER, concurrency INTEGER
  );
  CREATE TRIGGER people_upd AFTER UPDATE OF models, budget_usd, budget_period, rpm, itpm, otpm, concurrency ON people
    BEGIN UPDATE meta SET value = value + 1 WHERE key = 'changes'; END;
  ALTER TABLE teams ADD COLUMN groups TEXT;
  ALTER TABLE teams ADD COLUMN models TEXT;
  ALTER TABLE ledger ADD COLUMN ${ledgerColumnDefs('sqlite', 7).join('')};
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    actor TEXT NOT NULL,
    via TEXT NOT NULL,
    address TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT
  );
  CREATE INDEX audit_time ON audit (time);
  CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  `,
  // 8: the dashboard's sessions (signed in through the identity provider): the cookie's hash, the person and their
  // groups at sign-in, the CSRF token every change must carry, and when the session ends.
  `
  CREATE TABLE ui_sessions (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    person TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL
  );
  CREATE INDEX ui_sessions_expires ON ui_sessions (expires);
  `,
  // 9: the identity provider's latest access token of each person (sealed with the session secret), and until when
  // it works: the gateway asks the provider about them with it once a minute while they work.
  `
  ALTER TABLE people ADD COLUMN idp_access TEXT;
  ALTER TABLE people ADD COLUMN idp_access_expires INTEGER;
  `,
  // 10: nothing (PostgreSQL's step 10 tells replicas of sign-outs at once; one process needs no telling).
  `SELECT 1;`,
  // 11: what an OpenAI client tagged its request with (metadata, client_metadata, prompt_cache_key).
  `ALTER TABLE ledger ADD COLUMN ${ledgerColumnDefs('sqlite', 11).join('')};`,
  // 12: stored Responses API responses (store: true), apart from the ledger: whose, until when, sealed.
  `
  CREATE TABLE responses (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    sealed TEXT NOT NULL
  );
  CREATE INDEX responses_expires ON responses (expires);
  `,
  // 13: the model as the client spelt it; \`model\` holds the catalog's name from now on (older rows: the same).
  `
  ALTER TABLE ledger ADD COLUMN ${ledgerColumnDefs('sqlite', 13).join('')};
  UPDATE ledger SET client_model = model;
  `,
  // 14: key rotation: when, and the secret before it (its hash) with the end of its overlap.
  `
  ALTER TABLE keys ADD COLUMN rotated INTEGER;
  ALTER TABLE keys ADD COLUMN previous_sha256 TEXT;
  ALTER TABLE keys ADD COLUMN previous_until INTEGER;
  `,
  // 15: soft budgets (alert, never refuse), and the budget alerts sent: one per subject, period and threshold.
  `
  ALTER TABLE keys ADD COLUMN budget_soft INTEGER;
  ALTER TABLE teams ADD COLUMN budget_soft INTEGER;
  ALTER TABLE people ADD COLUMN budget_soft INTEGER;
  CREATE TABLE budget_alerts (
    subject TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    threshold INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    budget_usd REAL NOT NULL,
    spent_usd REAL NOT NULL,
    soft INTEGER NOT NULL,
    period_end INTEGER,
    time INTEGER NOT NULL,
    PRIMARY KEY (subject, period_start, threshold)
  );
  CREATE INDEX budget_alerts_time ON budget_alerts (time);
  `,
];
