import { api, type Live } from '../api.js';
import { minuteChart } from '../charts.js';
import { h, int, replace, table, when } from '../dom.js';
import { recentRate } from '../logic.js';

const POLL_MS = 2000;

function stat(name: string, label: string): { card: HTMLElement; value: HTMLElement } {
  const value = h('div', { class: 'stat-value' }, '–');
  return {
    card: h('div', { class: 'card stat', 'data-live': name }, h('div', { class: 'stat-label' }, label), value),
    value,
  };
}

/**
 * This replica now: in flight, requests per second, recent errors, each upstream's circuit; polled
 * every 2 s. The page is laid out once and updated in place; it stops when `signal` aborts (the
 * dashboard went to another page), even while a poll is on its way.
 */
export async function livePage(signal: AbortSignal): Promise<HTMLElement> {
  const inFlight = stat('inFlight', 'In flight');
  const rps = stat('rps', 'Requests/s (10 s)');
  const errors = stat('errors', 'Errors (60 s)');
  const chart = minuteChart('The last minute');
  const targets = h('div', {});
  const recent = h('div', {});
  const problem = h('p', { class: 'error', role: 'alert' });
  const element = h(
    'section',
    { class: 'page', 'data-page': 'live' },
    h('h1', {}, 'Live'),
    h('p', { class: 'hint' }, 'This replica, updated every 2 seconds.'),
    problem,
    h('div', { class: 'stats' }, inFlight.card, rps.card, errors.card),
    chart.element,
    h('div', { class: 'card' }, h('h2', {}, 'Upstream targets'), targets),
    h('div', { class: 'card' }, h('h2', {}, 'Recent errors'), recent),
  );
  function show(live: Live): void {
    replace(problem);
    inFlight.card.dataset['value'] = String(live.inFlight);
    replace(inFlight.value, int(live.inFlight));
    replace(rps.value, recentRate(live.perSecond).toFixed(1));
    replace(errors.value, int(live.errorsPerSecond.reduce((a, b) => a + b, 0)));
    chart.update(live.time, live.perSecond, live.errorsPerSecond);
    replace(targets, targetsTable(live));
    replace(recent, errorsTable(live));
  }
  async function tick(): Promise<void> {
    try {
      const live = await api<Live>('GET', '/admin/live', undefined, { signal });
      if (!signal.aborted) show(live);
    } catch (err) {
      if (!signal.aborted) replace(problem, (err as Error).message);
    }
  }
  let timer: number | undefined;
  signal.addEventListener('abort', () => window.clearTimeout(timer), { once: true });
  const loop = (): void => {
    if (!signal.aborted) timer = window.setTimeout(() => void tick().finally(loop), POLL_MS);
  };
  await tick();
  loop();
  return element;
}

function targetsTable(live: Live): HTMLElement {
  const rows = live.targets.map((t) => [
    t.region,
    t.modelId,
    t.backend,
    h('span', { class: `circuit ${t.state}` }, t.state),
    String(t.failures),
  ]);
  return rows.length
    ? table(['region', 'model', 'path', 'circuit', 'failures'], rows, { 'data-table': 'targets' })
    : h('p', { class: 'empty' }, 'No upstream called yet.');
}

function errorsTable(live: Live): HTMLElement {
  const rows = live.recentErrors.map((e) => [
    when(e.time),
    String(e.status),
    [e.error, e.reason].filter(Boolean).join(' · ') || '–',
    e.key ?? '–',
    e.model ?? '–',
    e.front,
    h('code', { class: 'id' }, e.requestId),
  ]);
  return rows.length
    ? table(['time', 'status', 'error', 'key', 'model', 'front', 'request id'], rows, { 'data-table': 'errors' })
    : h('p', { class: 'empty' }, 'No errors lately.');
}
