import { ledgerColumnDefs } from './ledger-columns.js';

/**
 * The control plane's schema on PostgreSQL, one step per version (the `migrations` table says which
 * ran). Steps are only ever added: a released step is never edited. Replicas that start together
 * run them once: under a transaction-scoped advisory lock (see `openPostgresControlStore`).
 */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: keys, teams, the ledger and its daily totals, a change counter and a NOTIFY for key changes.
  `
  CREATE TABLE meta (key text PRIMARY KEY, value bigint NOT NULL);
  INSERT INTO meta (key, value) VALUES ('changes', 0);
  CREATE TABLE teams (
    name text PRIMARY KEY,
    created bigint NOT NULL,
    budget_usd double precision, budget_period text,
    rpm integer, itpm integer, otpm integer, concurrency integer
  );
  CREATE TABLE keys (
    id text PRIMARY KEY,
    name text NOT NULL UNIQUE,
    sha256 text NOT NULL UNIQUE,
    "user" text,
    team text REFERENCES teams(name),
    created bigint NOT NULL,
    expires bigint,
    revoked bigint,
    models text,
    budget_usd double precision, budget_period text,
    rpm integer, itpm integer, otpm integer, concurrency integer
  );
  CREATE FUNCTION control_changed() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'changes';
    PERFORM pg_notify('bedrock_claude_keys', current_schema());
    RETURN NULL;
  END $$;
  CREATE TRIGGER keys_changed AFTER INSERT OR UPDATE OR DELETE ON keys
    FOR EACH STATEMENT EXECUTE FUNCTION control_changed();
  CREATE TRIGGER teams_changed AFTER INSERT OR UPDATE OR DELETE ON teams
    FOR EACH STATEMENT EXECUTE FUNCTION control_changed();
  CREATE TABLE ledger (
    ${ledgerColumnDefs('postgres', 1).join(',\n    ')}
  );
  -- The queries the reports, budgets and /admin/requests make: by time, and by key, team or model over time.
  CREATE INDEX ledger_time ON ledger (time);
  CREATE INDEX ledger_key_id_time ON ledger (key_id, time);
  CREATE INDEX ledger_key_name_time ON ledger (key_name, time);
  CREATE INDEX ledger_team_time ON ledger (team, time);
  CREATE INDEX ledger_model_time ON ledger (model, time);
  -- Daily totals (UTC days), kept in the same transaction as the rows they count: reports over whole
  -- days read these, not the ledger. '' stands for "none" so that the key can be a primary key.
  CREATE TABLE ledger_daily (
    day bigint NOT NULL,
    key_id text NOT NULL, key_name text NOT NULL, "user" text NOT NULL, team text NOT NULL, model text NOT NULL,
    requests bigint NOT NULL, errors bigint NOT NULL,
    input_tokens bigint NOT NULL, output_tokens bigint NOT NULL,
    cache_read_tokens bigint NOT NULL, cache_write_5m_tokens bigint NOT NULL, cache_write_1h_tokens bigint NOT NULL,
    cost_usd double precision NOT NULL,
    PRIMARY KEY (day, key_id, key_name, "user", team, model)
  );
  CREATE INDEX ledger_daily_key ON ledger_daily (key_id, day);
  CREATE INDEX ledger_daily_team ON ledger_daily (team, day);
  `,
  // 2: the betas and fields the policy dropped, per request (the dashboard's requests page).
  `ALTER TABLE ledger ADD COLUMN ${ledgerColumnDefs('postgres', 2).join('')};`,
  // 3: whether the output was estimated from what a stream delivered (no final usage came).
  `ALTER TABLE ledger ADD COLUMN ${ledgerColumnDefs('postgres', 3).join('')};`,
  // 4: the service tier the client asked for.
  `ALTER TABLE ledger ADD COLUMN ${ledgerColumnDefs('postgres', 4).join('')};`,
  // 5: device authorization grants (see the SQLite migration 5).
  `
  CREATE TABLE device_grants (
    device_code text PRIMARY KEY,
    user_code text NOT NULL UNIQUE,
    status text NOT NULL,
    created bigint NOT NULL,
    expires bigint NOT NULL,
    last_poll bigint,
    state text UNIQUE,
    verifier text,
    nonce text,
    cookie text,
    person text,
    refresh text
  );
  CREATE INDEX device_grants_expires ON device_grants (expires);
  `,
  // 6: sign-outs (see the SQLite migration 6).
  `
  CREATE TABLE revocations (subject text PRIMARY KEY, at bigint NOT NULL, by_whom text);
  CREATE TABLE revoked_tokens (jti text PRIMARY KEY, expires bigint NOT NULL);
  `,
  // 7: people, team groups and models, the ledger's other teams, the audit log (see the SQLite migration 7).
  `
  CREATE TABLE people (
    subject text PRIMARY KEY,
    email text NOT NULL,
    name text,
    groups text NOT NULL,
    first_seen bigint NOT NULL,
    last_seen bigint NOT NULL,
    models text,
    budget_usd double precision, budget_period text,
    rpm integer, itpm integer, otpm integer, concurrency integer
  );
  CREATE TRIGGER people_changed AFTER UPDATE OF models, budget_usd, budget_period, rpm, itpm, otpm, concurrency
    ON people FOR EACH STATEMENT EXECUTE FUNCTION control_changed();
  ALTER TABLE teams ADD COLUMN groups text;
  ALTER TABLE teams ADD COLUMN models text;
  ALTER TABLE ledger ADD COLUMN ${ledgerColumnDefs('postgres', 7).join('')};
  CREATE TABLE audit (
    id bigserial PRIMARY KEY,
    time bigint NOT NULL,
    actor text NOT NULL,
    via text NOT NULL,
    address text,
    action text NOT NULL,
    target text NOT NULL,
    before text,
    after text
  );
  CREATE INDEX audit_time ON audit (time);
  CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
  END $$;
  CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
  `,
  // 8: the dashboard's sessions (signed in through the identity provider): the cookie's hash, the person and their
  // groups at sign-in, the CSRF token every change must carry, and when the session ends.
  `
  CREATE TABLE ui_sessions (
    id text PRIMARY KEY,
    subject text NOT NULL,
    person text NOT NULL,
    csrf text NOT NULL,
    created bigint NOT NULL,
    expires bigint NOT NULL
  );
  CREATE INDEX ui_sessions_expires ON ui_sessions (expires);
  `,
  // 9: the identity provider's latest access token of each person (sealed with the session secret), and until when
  // it works: the gateway asks the provider about them with it once a minute while they work.
  `
  ALTER TABLE people ADD COLUMN idp_access text;
  ALTER TABLE people ADD COLUMN idp_access_expires bigint;
  `,
  // 10: a sign-out is told to every replica at once (their sign-out caches listen), not at their next read.
  `
  CREATE TRIGGER revocations_changed AFTER INSERT OR UPDATE ON revocations
    FOR EACH STATEMENT EXECUTE FUNCTION control_changed();
  CREATE TRIGGER revoked_tokens_changed AFTER INSERT OR UPDATE ON revoked_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION control_changed();
  `,
  // 11: what an OpenAI client tagged its request with (metadata, client_metadata, prompt_cache_key).
  `ALTER TABLE ledger ADD COLUMN ${ledgerColumnDefs('postgres', 11).join('')};`,
  // 12: stored Responses API responses (store: true), apart from the ledger: whose, until when, sealed.
  `
  CREATE TABLE responses (
    id text PRIMARY KEY,
    owner text NOT NULL,
    created bigint NOT NULL,
    expires bigint NOT NULL,
    sealed text NOT NULL
  );
  CREATE INDEX responses_expires ON responses (expires);
  `,
  // 13: the model as the client spelt it; \`model\` holds the catalog's name from now on (older rows: the same).
  `
  ALTER TABLE ledger ADD COLUMN ${ledgerColumnDefs('postgres', 13).join('')};
  UPDATE ledger SET client_model = model;
  `,
  // 14: key rotation: when, and the secret before it (its hash) with the end of its overlap.
  `
  ALTER TABLE keys ADD COLUMN rotated bigint;
  ALTER TABLE keys ADD COLUMN previous_sha256 text;
  ALTER TABLE keys ADD COLUMN previous_until bigint;
  `,
  // 15: soft budgets (alert, never refuse), and the budget alerts sent: one per subject, period and threshold.
  `
  ALTER TABLE keys ADD COLUMN budget_soft integer;
  ALTER TABLE teams ADD COLUMN budget_soft integer;
  ALTER TABLE people ADD COLUMN budget_soft integer;
  CREATE TABLE budget_alerts (
    subject text NOT NULL,
    period_start bigint NOT NULL,
    threshold integer NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    budget_usd double precision NOT NULL,
    spent_usd double precision NOT NULL,
    soft integer NOT NULL,
    period_end bigint,
    time bigint NOT NULL,
    PRIMARY KEY (subject, period_start, threshold)
  );
  CREATE INDEX budget_alerts_time ON budget_alerts (time);
  `,
];
