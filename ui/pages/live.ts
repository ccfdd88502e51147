import { api, type Live } from '../api.js';
import { disposeCharts, minuteChart } from '../charts.js';
import { h, int, replace, table, when } from '../dom.js';

/** This replica now: in flight, requests per second, recent errors, each upstream's circuit; polled every 2 s. */
export async function livePage(): Promise<{ element: HTMLElement; stop(): void }> {
  const body = h('div', {});
  const element = h('section', { class: 'page', 'data-page': 'live' }, h('h1', {}, 'Live'), h('p', { class: 'hint' }, 'This replica, updated every 2 seconds.'), body);
  let timer: number | undefined;
  let stopped = false;
  async function tick(): Promise<void> {
    let live: Live;
    try {
      live = await api<Live>('GET', '/admin/live');
    } catch (err) {
      replace(body, h('p', { class: 'error' }, (err as Error).message));
      return;
    }
    if (stopped) return;
    const last10 = live.perSecond.slice(-10).reduce((a, b) => a + b, 0) / 10;
    const errors = live.errorsPerSecond.reduce((a, b) => a + b, 0);
    disposeCharts(body);
    replace(
      body,
      h(
        'div',
        { class: 'stats' },
        h('div', { class: 'card stat', 'data-live': 'inFlight', 'data-value': live.inFlight }, h('div', { class: 'stat-label' }, 'In flight'), h('div', { class: 'stat-value' }, int(live.inFlight))),
        h('div', { class: 'card stat', 'data-live': 'rps' }, h('div', { class: 'stat-label' }, 'Requests/s (10 s)'), h('div', { class: 'stat-value' }, last10.toFixed(1))),
        h('div', { class: 'card stat', 'data-live': 'errors' }, h('div', { class: 'stat-label' }, 'Errors (60 s)'), h('div', { class: 'stat-value' }, int(errors))),
      ),
      minuteChart('The last minute', live.perSecond, live.errorsPerSecond),
      h('div', { class: 'card' }, h('h2', {}, 'Upstream targets'), live.targets.length ? table(['region', 'model', 'path', 'circuit', 'failures'], live.targets.map((t) => [t.region, t.modelId, t.backend, h('span', { class: `circuit ${t.state}` }, t.state), String(t.failures)]), { 'data-table': 'targets' }) : h('p', { class: 'empty' }, 'No upstream called yet.')),
      h('div', { class: 'card' }, h('h2', {}, 'Recent errors'), live.recentErrors.length ? table(['time', 'status', 'error', 'key', 'model', 'front', 'request id'], live.recentErrors.map((e) => [when(e.time), String(e.status), [e.error, e.reason].filter(Boolean).join(' · ') || '–', e.key ?? '–', e.model ?? '–', e.front, h('code', { class: 'id' }, e.requestId)]), { 'data-table': 'errors' }) : h('p', { class: 'empty' }, 'No errors lately.')),
    );
  }
  await tick();
  const loop = () => {
    timer = window.setTimeout(() => void tick().finally(() => !stopped && loop()), 2000);
  };
  loop();
  return {
    element,
    stop() {
      stopped = true;
      window.clearTimeout(timer);
    },
  };
}
