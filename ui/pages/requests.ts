import { api, qs, type RequestsPage } from '../api.js';
import { h, int, ms, replace, table, usd, when } from '../dom.js';

const FILTERS = ['key', 'user', 'team', 'model', 'status'] as const;

// What a person looks for first comes first (when, whose, which model, how it went, what it cost, why it failed),
// so that a narrow screen shows it before the table scrolls.
const COLUMNS = [
  'time',
  'key',
  'model',
  'status',
  'cost',
  'error',
  'request id',
  'latency',
  'TTFB',
  'in / out',
  'cache read / write',
  'user',
  'team',
  'dropped',
];

/** The ledger, newest first, filtered, a page at a time with the admin API's cursor. */
export async function requestsPage(
  params: URLSearchParams,
  navigate: (hash: string) => void,
  signal: AbortSignal,
): Promise<HTMLElement> {
  const filters: Record<string, string> = {};
  for (const f of [...FILTERS, 'since', 'until', 'cursor']) {
    const v = params.get(f);
    if (v) filters[f] = v;
  }
  const page = await api<RequestsPage>(
    'GET',
    `/admin/requests${qs(Object.assign({ limit: 50 }, filters))}`,
    undefined,
    { signal },
  );
  const more = (cursor: string | null) => {
    const p = new URLSearchParams(params);
    if (cursor) p.set('cursor', cursor);
    else p.delete('cursor');
    navigate(`#/requests?${p.toString()}`);
  };
  const nav = h(
    'div',
    { class: 'pager' },
    filters['cursor'] ? h('button', { type: 'button', onclick: () => more(null) }, 'Newest') : '',
    page.next_cursor
      ? h('button', { type: 'button', 'data-next': '', onclick: () => more(page.next_cursor) }, 'Older')
      : '',
  );
  const body = h('div', { 'data-table': 'requests' });
  replace(
    body,
    page.data.length ? table(COLUMNS, page.data.map(requestRow)) : h('p', { class: 'empty' }, 'No requests match.'),
  );
  return h(
    'section',
    { class: 'page', 'data-page': 'requests' },
    h('h1', {}, 'Requests'),
    filterForm(filters, navigate),
    h('div', { class: 'card' }, body, nav),
  );
}

function requestRow(r: RequestsPage['data'][number]) {
  return [
    when(r.time),
    h('span', { class: 'name' }, r.keyName ?? '–'),
    r.model ?? '–',
    h('span', { class: `code s${Math.floor(r.status / 100)}` }, String(r.status)),
    usd(r.costUsd),
    clipped([r.error, r.reason].filter(Boolean).join(' · ') || '–'),
    h('code', { class: 'id' }, r.requestId),
    ms(r.latencyMs),
    ms(r.ttfbMs),
    `${int(r.inputTokens)} / ${int(r.outputTokens)}`,
    `${int(r.cacheReadTokens)} / ${int(r.cacheWrite5mTokens + r.cacheWrite1hTokens)}`,
    r.user ?? '–',
    r.team ?? '–',
    // A list of betas can be long: it wraps in a narrow cell, the whole of it on hover.
    clipped(r.dropped?.replace(/,/g, ', ') ?? '–'),
  ];
}

/** A long value in a narrow cell: wrapped, at most a few lines, the whole of it as the title. */
const clipped = (text: string) => h('span', { class: 'clip', title: text }, text);

/** The filters as a form; submitting it navigates to the filtered first page. */
function filterForm(filters: Record<string, string>, navigate: (hash: string) => void): HTMLFormElement {
  const input = (name: string, placeholder?: string) =>
    h('input', { name, value: filters[name] ?? '', size: 12, placeholder });
  const form = h(
    'form',
    { class: 'card filters', 'data-form': 'filters' },
    ...FILTERS.map((f) =>
      h(
        'label',
        {},
        `${f} `,
        h('input', { name: f, value: filters[f] ?? '', size: 12, inputmode: f === 'status' ? 'numeric' : undefined }),
      ),
    ),
    h('label', {}, 'since ', input('since', '24h or 2026-11-01')),
    h('label', {}, 'until ', input('until', '2026-12-01')),
    h('button', { type: 'submit' }, 'Filter'),
  ) as HTMLFormElement;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    for (const f of [...FILTERS, 'since', 'until']) {
      const v = (form.elements.namedItem(f) as HTMLInputElement).value.trim();
      if (v) p.set(f, v);
    }
    navigate(`#/requests?${p.toString()}`);
  });
  return form;
}
