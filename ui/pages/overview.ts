import {
  api,
  qs,
  type BudgetAlert,
  type BudgetUse,
  type Latency,
  type List,
  type MeAnswer,
  type SeriesAnswer,
  type UsageAnswer,
} from '../api.js';
import { stackedChart } from '../charts.js';
import { bar, h, int, ms, pct, table, usd, when } from '../dom.js';
import { rangeOf, stackOf, totals } from '../logic.js';

const DAY = 86_400_000;

function card(label: string, value: string, raw: number | null, test: string): HTMLElement {
  return h(
    'div',
    { class: 'card stat', 'data-total': test, 'data-value': raw === null ? '' : String(raw) },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value),
  );
}

type Group = 'model' | 'key' | 'user' | 'team';
type Range = ReturnType<typeof rangeOf>;

/** The overview: totals, spend and requests over time by group, tokens by kind, latency, budgets. */
export async function overviewPage(
  params: URLSearchParams,
  navigate: (hash: string) => void,
  signal: AbortSignal,
  me: MeAnswer,
): Promise<HTMLElement> {
  const range = rangeOf(params, Date.now());
  // Latency is over all the gateway's traffic: the admins'. Others see their own rows' totals.
  const noLatency: Latency = { requests: 0, p50LatencyMs: null, p95LatencyMs: null, p50TtfbMs: null, p95TtfbMs: null };
  const by = (['model', 'key', 'user', 'team'] as const).find((b) => b === params.get('by')) ?? 'model';
  const span = qs({ since: new Date(range.since).toISOString(), until: new Date(range.until).toISOString() });
  const [usage, series, latency, budgets, alerts] = await Promise.all([
    api<UsageAnswer>('GET', `/admin/usage${span}&by=${by}`, undefined, { signal }),
    api<SeriesAnswer>('GET', `/admin/usage/series${span}&by=${by}`, undefined, { signal }),
    me.role === 'admin'
      ? api<Latency>('GET', `/admin/usage/latency${span}`, undefined, { signal })
      : Promise.resolve(noLatency),
    api<List<BudgetUse>>('GET', '/admin/budgets', undefined, { signal }),
    me.role === 'admin'
      ? api<List<BudgetAlert>>('GET', '/admin/alerts?limit=10', undefined, { signal })
      : Promise.resolve({ data: [] }),
  ]);
  const t = totals(usage.rows);
  const order = usage.rows.map((r) => r.group ?? '(none)');
  const stepMs = series.step === 'hour' ? 3_600_000 : DAY;
  const go = (next: Record<string, string>) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(next)) p.set(k, v);
    navigate(`#/overview?${p.toString()}`);
  };
  return h(
    'section',
    { class: 'page', 'data-page': 'overview' },
    h('h1', {}, 'Overview'),
    controls(range, by, go),
    stats(t, latency),
    h(
      'div',
      { class: 'charts' },
      stackedChart(`Spend by ${by}`, stackOf(series.rows, range.since, range.until, stepMs, 'costUsd', order), usd),
      stackedChart(`Requests by ${by}`, stackOf(series.rows, range.since, range.until, stepMs, 'requests', order), int),
    ),
    h('div', { class: 'columns' }, tokensByKind(t), budgetsCard(budgets)),
    me.role === 'admin' ? alertsCard(alerts) : '',
    h('div', { class: 'card' }, h('h2', {}, `By ${by}`), usageTable(usage, by)),
  );
}

/** The range buttons, a custom range, and the grouping. */
function controls(range: Range, by: Group, go: (next: Record<string, string>) => void): HTMLElement {
  const iso = (t: number) => new Date(t - new Date(t).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  const since = h('input', { type: 'datetime-local', 'aria-label': 'from', value: iso(range.since) });
  const until = h('input', {
    type: 'datetime-local',
    'aria-label': 'to',
    value: iso(Math.min(range.until, Date.now())),
  });
  const apply = () =>
    go({ range: 'custom', since: new Date(since.value).toISOString(), until: new Date(until.value).toISOString() });
  return h(
    'div',
    { class: 'controls' },
    h(
      'div',
      { class: 'segmented', role: 'group', 'aria-label': 'range' },
      ...['24h', '7d', '30d'].map((r) =>
        h(
          'button',
          { type: 'button', class: range.label === r ? 'on' : '', 'data-range': r, onclick: () => go({ range: r }) },
          r,
        ),
      ),
    ),
    h('span', { class: 'custom' }, since, '→', until, h('button', { type: 'button', onclick: apply }, 'Apply')),
    h(
      'label',
      {},
      'by ',
      h(
        'select',
        { 'aria-label': 'group by', onchange: (e) => go({ by: (e.target as HTMLSelectElement).value }) },
        ...['model', 'key', 'user', 'team'].map((b) => h('option', { value: b, selected: b === by }, b)),
      ),
    ),
  );
}

function stats(t: ReturnType<typeof totals>, latency: Latency): HTMLElement {
  return h(
    'div',
    { class: 'stats' },
    card('Spend', usd(t.costUsd), t.costUsd, 'costUsd'),
    card('Requests', int(t.requests), t.requests, 'requests'),
    card('Error rate', t.requests ? pct(t.errors / t.requests) : '–', t.errors, 'errors'),
    card('Input tokens', int(t.inputTokens), t.inputTokens, 'inputTokens'),
    card('Output tokens', int(t.outputTokens), t.outputTokens, 'outputTokens'),
    card(
      'Latency p50 / p95',
      `${ms(latency.p50LatencyMs)} / ${ms(latency.p95LatencyMs)}`,
      latency.p50LatencyMs,
      'latency',
    ),
    card(
      'Time to first byte p50 / p95',
      `${ms(latency.p50TtfbMs)} / ${ms(latency.p95TtfbMs)}`,
      latency.p50TtfbMs,
      'ttfb',
    ),
  );
}

function tokensByKind(t: ReturnType<typeof totals>): HTMLElement {
  const kinds: Array<[string, number]> = [
    ['input', t.inputTokens],
    ['output', t.outputTokens],
    ['cache read', t.cacheReadTokens],
    ['cache write', t.cacheWriteTokens],
  ];
  const maxKind = Math.max(1, ...kinds.map((k) => k[1]));
  return h(
    'div',
    { class: 'card' },
    h('h2', {}, 'Tokens by kind'),
    ...kinds.map(([k, v]) =>
      h('div', { class: 'kind', 'data-kind': k }, h('span', { class: 'kind-name' }, k), bar(v, maxKind, int(v), false)),
    ),
  );
}

function budgetsCard(budgets: List<BudgetUse>): HTMLElement {
  const rows = budgets.data
    .slice(0, 10)
    .map((b) => [
      b.kind,
      b.name,
      bar(b.spentUsd, b.budget.usd, `${usd(b.spentUsd)} of ${usd(b.budget.usd)} / ${b.budget.period}`),
    ]);
  return h(
    'div',
    { class: 'card' },
    h('h2', {}, 'Spend against budget'),
    rows.length
      ? table(['', 'name', 'spent this period'], rows)
      : h('p', { class: 'empty' }, 'No key or team has a budget.'),
  );
}

/** The latest budget alerts: whose budget, which threshold, the spend then, when. */
function alertsCard(alerts: List<BudgetAlert>): HTMLElement {
  const rows = alerts.data.map((a) => [
    when(a.time, 'minute'),
    a.kind,
    a.name,
    `${a.threshold}%${a.soft ? ' (soft)' : ''}`,
    `${usd(a.spentUsd)} of ${usd(a.budgetUsd)}`,
  ]);
  return h(
    'div',
    { class: 'card', 'data-card': 'alerts' },
    h('h2', {}, 'Budget alerts'),
    rows.length
      ? table(['when', '', 'name', 'threshold', 'spent'], rows, { 'data-table': 'alerts' })
      : h('p', { class: 'empty' }, 'No budget has reached an alert threshold.'),
  );
}

function usageTable(usage: UsageAnswer, by: Group): HTMLElement {
  return table(
    [by, 'requests', 'errors', 'input', 'output', 'cache read', 'cache write', 'spend'],
    usage.rows.map((r) => [
      r.group ?? '(none)',
      int(r.requests),
      int(r.errors),
      int(r.inputTokens),
      int(r.outputTokens),
      int(r.cacheReadTokens),
      int(r.cacheWrite5mTokens + r.cacheWrite1hTokens),
      usd(r.costUsd),
    ]),
    { 'data-table': 'usage' },
  );
}
