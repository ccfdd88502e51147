import { api, type AuditPage } from '../api.js';
import { h, table, when } from '../dom.js';

/** What changed between a record's before and after, field by field (`budget: $5/month -> $10/month`). */
function changeOf(before: unknown, after: unknown): string {
  if (before === null || before === undefined) return 'created';
  if (after === null || after === undefined) return 'deleted';
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  const out: string[] = [];
  for (const k of new Set([...Object.keys(b), ...Object.keys(a)])) {
    const was = JSON.stringify(b[k] ?? null);
    const now = JSON.stringify(a[k] ?? null);
    if (was !== now) out.push(`${k}: ${was} → ${now}`);
  }
  return out.join('; ') || '–';
}

/** The audit log (admins): every change to keys, teams and people, newest first; nothing here changes it. */
export async function auditPage(signal: AbortSignal): Promise<HTMLElement> {
  const page = await api<AuditPage>('GET', '/admin/audit?limit=200', undefined, { signal });
  const rows = page.data.map((e) => [
    when(e.time, 'minute'),
    h('span', { 'data-actor': e.actor }, e.actor),
    e.via,
    e.address ?? '–',
    h('span', { 'data-action': e.action }, e.action),
    e.target,
    h('span', { class: 'wrap' }, changeOf(e.before, e.after)),
  ]);
  return h(
    'section',
    { class: 'page', 'data-page': 'audit' },
    h('h1', {}, 'Audit log'),
    h(
      'p',
      { class: 'hint' },
      'Every change through the admin API, the CLI and this dashboard: who, through what, from where, before and ' +
        'after. It is append-only.',
    ),
    h(
      'div',
      { class: 'card' },
      page.data.length
        ? table(['when', 'who', 'via', 'from', 'action', 'target', 'change'], rows, { 'data-table': 'audit' })
        : h('p', { class: 'hint' }, 'No changes yet.'),
    ),
  );
}
