import type { SqlPort } from './sql-port.js';

/** A budget alert as it was sent: whose budget, which threshold of which period, the spend then. */
export interface BudgetAlert {
  /** `key:<id>`, `team:<name>`, `person:oidc:<sub>`. */
  subject: string;
  kind: 'key' | 'team' | 'person';
  name: string;
  /** Percent of the budget. */
  threshold: number;
  budgetUsd: number;
  spentUsd: number;
  soft: boolean;
  periodStart: number;
  /** Undefined for a `total` budget. */
  periodEnd: number | undefined;
  time: number;
}

interface AlertRow {
  subject: string;
  period_start: number | string;
  threshold: number;
  kind: string;
  name: string;
  budget_usd: number;
  spent_usd: number;
  soft: number;
  period_end: number | string | null;
  time: number | string;
}

const alertOf = (r: AlertRow): BudgetAlert => ({
  subject: r.subject,
  kind: r.kind as BudgetAlert['kind'],
  name: r.name,
  threshold: Number(r.threshold),
  budgetUsd: Number(r.budget_usd),
  spentUsd: Number(r.spent_usd),
  soft: Number(r.soft) === 1,
  periodStart: Number(r.period_start),
  periodEnd: r.period_end === null ? undefined : Number(r.period_end),
  time: Number(r.time),
});

/** The budget alerts: each subject's threshold of a period is recorded once, by whichever replica crosses it first. */
export function alertCalls(port: SqlPort) {
  return {
    /** Records an alert; answers whether it is new (then this replica sends it), false when one was there. */
    async recordAlert(a: BudgetAlert): Promise<boolean> {
      const sql =
        'INSERT INTO budget_alerts (subject, period_start, threshold, kind, name, budget_usd, spent_usd, soft, ' +
        'period_end, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING';
      const values = [a.subject, a.periodStart, a.threshold, a.kind, a.name, a.budgetUsd, a.spentUsd];
      return (await port.run(sql, [...values, a.soft ? 1 : 0, a.periodEnd ?? null, a.time])) > 0;
    },
    /** The latest alerts, newest first. */
    async listAlerts(limit: number): Promise<BudgetAlert[]> {
      const rows = await port.all<AlertRow>('SELECT * FROM budget_alerts ORDER BY time DESC LIMIT ?', [limit]);
      return rows.map(alertOf);
    },
  };
}

export type AlertCalls = ReturnType<typeof alertCalls>;
