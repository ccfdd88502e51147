import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { AlertCalls, BudgetAlert } from '../control/alert-calls.js';
import type { Budget } from '../control/records.js';
import { roundUsd } from '../control/budget.js';

/** The config's `alerts`: the thresholds (percent of a budget) and where each alert goes. */
export interface AlertsConfig {
  thresholds?: number[] | undefined;
  webhooks?: Array<{ url: string; format?: 'slack' | 'json' | undefined; secret?: string | undefined }> | undefined;
}

/** A budget's owner as the limits stage knows it. */
export interface AlertSubject {
  kind: 'key' | 'person' | 'team';
  id: string;
  name: string;
  budget: Budget | undefined;
}

export interface BudgetAlerts {
  /**
   * After a request settled: the spend of a subject's period now; alerts for each threshold it crossed, once.
   * `exhausted`: a request was refused for the budget, which is as good as all of it (the 100% alert goes).
   */
  check(subject: AlertSubject, period: { start: number; end: number }, spentUsd: number, exhausted?: boolean): void;
  /** Resolves once every alert begun so far is recorded and delivered (or given up on). */
  idle(): Promise<void>;
}

export const DEFAULT_THRESHOLDS = [50, 80, 100];
const ATTEMPTS = 3;

const money = (usd: number) => `$${usd < 1 ? usd.toFixed(4) : usd.toFixed(2)}`;

/** The alert in words, for a person in a chat channel. */
export function alertText(a: BudgetAlert): string {
  const until = a.periodEnd === undefined ? '' : ` (the period ends ${new Date(a.periodEnd).toISOString()})`;
  const soft = a.soft ? ' It is a soft budget: requests go on.' : a.threshold >= 100 ? ' Requests are refused.' : '';
  return (
    `bedrock-claude: the ${a.kind} "${a.name}" reached ${a.threshold}% of its budget: ${money(a.spentUsd)} of ` +
    `${money(a.budgetUsd)}${until}.${soft}`
  );
}

/** The body a webhook gets: Slack's `{ text }`, or the alert as JSON (`type: "budget.threshold"`). */
export function alertBody(a: BudgetAlert, format: 'slack' | 'json'): string {
  if (format === 'slack') return JSON.stringify({ text: alertText(a) });
  return JSON.stringify(
    Object.assign({ type: 'budget.threshold' }, a, {
      periodStart: new Date(a.periodStart).toISOString(),
      periodEnd: a.periodEnd === undefined ? null : new Date(a.periodEnd).toISOString(),
      time: new Date(a.time).toISOString(),
      text: alertText(a),
    }),
  );
}

/**
 * Budget alerts: when a request's settlement takes a key's, a person's or a team's spend past a threshold of its
 * budget (50, 80 and 100% by default), the alert is recorded in the store once per subject, period and threshold
 * (the replica that records it first sends it) and posted to each webhook (Slack-compatible or JSON, signed with
 * HMAC-SHA256 when a secret is set), tried three times. A failure to deliver is counted and logged, never an error
 * for the request.
 */
export function createBudgetAlerts(deps: {
  config: AlertsConfig;
  store: AlertCalls;
  clock: () => number;
  onFailure(err: unknown): void;
}): BudgetAlerts {
  const thresholds = [...new Set(deps.config.thresholds ?? DEFAULT_THRESHOLDS)].sort((a, b) => a - b);
  const webhooks = deps.config.webhooks ?? [];
  // What this replica knows was recorded (by it or another): no store round trip per request after that.
  const known = new Set<string>();
  const pending = new Set<Promise<void>>();
  const deliver = (a: BudgetAlert) =>
    Promise.all(webhooks.map((w) => post(w, a).catch(deps.onFailure))).then(() => undefined);
  return {
    check(subject, period, spentUsd, exhausted = false) {
      const budget = subject.budget;
      if (!budget || budget.usd <= 0) return;
      const reached = exhausted ? Math.max(spentUsd, budget.usd) : spentUsd;
      for (const threshold of thresholds) {
        if (reached < (budget.usd * threshold) / 100) break;
        const id = `${subject.kind}:${subject.id}|${period.start}|${threshold}`;
        if (known.has(id)) continue;
        if (known.size >= 10_000) known.clear();
        known.add(id);
        const alert: BudgetAlert = {
          subject: `${subject.kind}:${subject.id}`,
          kind: subject.kind,
          name: subject.name,
          threshold,
          budgetUsd: budget.usd,
          spentUsd: roundUsd(spentUsd),
          soft: budget.soft === true,
          periodStart: period.start,
          periodEnd: Number.isFinite(period.end) ? period.end : undefined,
          time: deps.clock(),
        };
        const work: Promise<void> = deps.store
          .recordAlert(alert)
          .then((isNew) => (isNew ? deliver(alert) : undefined))
          .catch(deps.onFailure)
          .finally(() => pending.delete(work));
        pending.add(work);
      }
    },
    async idle() {
      while (pending.size) await Promise.all(pending);
    },
  };
}

async function post(hook: NonNullable<AlertsConfig['webhooks']>[number], a: BudgetAlert): Promise<void> {
  const body = alertBody(a, hook.format ?? 'json');
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'bedrock-claude' };
  if (hook.secret) {
    const timestamp = String(Math.floor(a.time / 1000));
    headers['x-bedrock-claude-timestamp'] = timestamp;
    headers['x-bedrock-claude-signature'] =
      `sha256=${createHmac('sha256', hook.secret).update(`${timestamp}.${body}`).digest('hex')}`;
  }
  let last: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt) await sleep(1000 * 2 ** (attempt - 1));
    try {
      const res = await request(hook.url, {
        method: 'POST',
        headers,
        body,
        headersTimeout: 5000,
        bodyTimeout: 5000,
      });
      await res.body.dump();
      if (res.statusCode < 300) return;
      last = new Error(`the webhook answered ${res.statusCode}`);
      if (res.statusCode < 500 && res.statusCode !== 429) break;
    } catch (err) {
      last = err;
    }
  }
  throw Object.assign(new Error(`budget alert not delivered to a webhook: ${(last as Error)?.message ?? last}`), {
    cause: last,
  });
}
