import {
  api,
  type BudgetUse,
  type CreatedKey,
  type KeyRecord,
  type Limits,
  type List,
  type TeamRecord,
} from '../api.js';
import { bar, busy, h, replace, table, usd, when } from '../dom.js';
import { keyStatus, limitsText } from '../logic.js';

const PERIODS = ['day', 'week', 'month', 'total'];
const LIMITS = ['rpm', 'itpm', 'otpm', 'concurrency'] as const;

const num = (form: HTMLFormElement, name: string): number | undefined => {
  const v = (form.elements.namedItem(name) as HTMLInputElement | null)?.value.trim();
  return v ? Number(v) : undefined;
};
const text = (form: HTMLFormElement, name: string): string | undefined =>
  (form.elements.namedItem(name) as HTMLInputElement | null)?.value.trim() || undefined;

/** The fields a key or a team form sends: what is filled in (on a change, an empty field clears it). */
function settingsFrom(form: HTMLFormElement, change: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const usdValue = num(form, 'budgetUsd');
  if (usdValue !== undefined) out['budget'] = { usd: usdValue, period: text(form, 'budgetPeriod') ?? 'month' };
  else if (change) out['budget'] = null;
  const limits: Record<string, number | null> = {};
  for (const k of LIMITS) {
    const v = num(form, k);
    if (v !== undefined) limits[k] = v;
    else if (change) limits[k] = null;
  }
  if (Object.keys(limits).length) out['limits'] = limits;
  return out;
}

function settingsFields(current?: {
  budget?: { usd: number; period: string } | undefined;
  limits?: Limits;
}): HTMLElement[] {
  return [
    h(
      'label',
      {},
      'Budget (USD) ',
      h('input', { name: 'budgetUsd', type: 'number', min: 0, step: 'any', value: current?.budget?.usd }),
    ),
    h(
      'label',
      {},
      'per ',
      h(
        'select',
        { name: 'budgetPeriod' },
        ...PERIODS.map((p) => h('option', { value: p, selected: (current?.budget?.period ?? 'month') === p }, p)),
      ),
    ),
    ...LIMITS.map((k) =>
      h('label', {}, `${k} `, h('input', { name: k, type: 'number', min: 1, step: 1, value: current?.limits?.[k] })),
    ),
  ];
}

/** The secret, shown once, with a copy button and the lines to paste. */
function secretPanel(key: string, name: string): HTMLElement {
  const origin = location.origin;
  const lines = [
    `# Claude Code and the Anthropic SDKs`,
    `export ANTHROPIC_BASE_URL=${origin}`,
    `export ANTHROPIC_API_KEY=${key}`,
    ``,
    `# The OpenAI SDK`,
    `export OPENAI_BASE_URL=${origin}/v1`,
    `export OPENAI_API_KEY=${key}`,
  ].join('\n');
  const copied = h('span', { class: 'copied', role: 'status' });
  const copy = (value: string) => () =>
    navigator.clipboard.writeText(value).then(
      () => replace(copied, 'Copied.'),
      () => replace(copied, 'Copy failed: select the text and copy it.'),
    );
  return h(
    'div',
    { class: 'card secret', role: 'alert', 'data-secret-for': name },
    h('h2', {}, `Key "${name}" created`),
    h('p', {}, 'This is the only time the secret is shown. Copy it now.'),
    h(
      'div',
      { class: 'secret-row' },
      h('input', { readonly: true, value: key, 'aria-label': 'secret', 'data-secret': '' }),
      h('button', { type: 'button', onclick: copy(key) }, 'Copy'),
      copied,
    ),
    h('pre', { class: 'paste' }, lines),
    h('button', { type: 'button', onclick: copy(lines) }, 'Copy these lines'),
  );
}

/** Keys and teams: spend against budget, limits, last use, status; create, change, revoke. */
export async function keysPage(refresh: () => void, signal: AbortSignal): Promise<HTMLElement> {
  const get = <T>(path: string) => api<T>('GET', path, undefined, { signal });
  const [keys, teams, budgets] = await Promise.all([
    get<List<KeyRecord>>('/admin/keys'),
    get<List<TeamRecord>>('/admin/teams'),
    get<List<BudgetUse>>('/admin/budgets'),
  ]);
  const spent = new Map(budgets.data.map((b) => [`${b.kind}:${b.id}`, b]));
  const message = h('div', { class: 'message', role: 'status' });
  const secret = h('div', {});
  const fail = (err: unknown) => replace(message, h('span', { class: 'error' }, (err as Error).message));

  const createForm = h(
    'form',
    { class: 'card form', 'data-form': 'create-key' },
    h('h2', {}, 'New key'),
    h('label', {}, 'Name ', h('input', { name: 'name', required: true, maxlength: 200 })),
    h('label', {}, 'User ', h('input', { name: 'user', maxlength: 200 })),
    h(
      'label',
      {},
      'Team ',
      h(
        'select',
        { name: 'team' },
        h('option', { value: '' }, '(none)'),
        ...teams.data.map((t) => h('option', { value: t.name }, t.name)),
      ),
    ),
    h('label', {}, 'Models ', h('input', { name: 'models', placeholder: 'claude-haiku-*, claude-sonnet-4-6' })),
    ...settingsFields(),
    h('button', { type: 'submit' }, 'Create key'),
  );
  createForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const models = text(createForm, 'models')
      ?.split(',')
      .map((m) => m.trim())
      .filter(Boolean);
    const body = Object.assign(
      { name: text(createForm, 'name') },
      text(createForm, 'user') ? { user: text(createForm, 'user') } : {},
      text(createForm, 'team') ? { team: text(createForm, 'team') } : {},
      models?.length ? { models } : {},
      settingsFrom(createForm, false),
    );
    busy(createForm, () =>
      api<CreatedKey>('POST', '/admin/keys', body).then((created) => {
        replace(secret, secretPanel(created.key, created.name));
        createForm.reset();
        replace(message, `Created ${created.name}.`);
        return refreshTable();
      }, fail),
    );
  });

  const keyTable = h('div', { 'data-table': 'keys' });
  const editor = h('div', {});
  function edit(k: KeyRecord): void {
    const form = h(
      'form',
      { class: 'card form', 'data-form': 'edit-key' },
      h('h2', {}, `Change "${k.name}"`),
      h('label', {}, 'Models ', h('input', { name: 'models', value: k.models?.join(', ') ?? '' })),
      ...settingsFields(k),
      h('button', { type: 'submit' }, 'Save'),
      h('button', { type: 'button', onclick: () => replace(editor) }, 'Cancel'),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const models = text(form, 'models')
        ?.split(',')
        .map((m) => m.trim())
        .filter(Boolean);
      const change = Object.assign({ models: models?.length ? models : null }, settingsFrom(form, true));
      busy(form, () =>
        api('PATCH', `/admin/keys/${encodeURIComponent(k.id)}`, change).then(() => {
          replace(editor);
          replace(message, `Saved ${k.name}.`);
          return refreshTable();
        }, fail),
      );
    });
    replace(editor, form);
  }
  function revoke(k: KeyRecord, button: HTMLButtonElement): void {
    if (!confirm(`Revoke the key "${k.name}"? Requests with it are refused at once.`)) return;
    busy(button, () =>
      api('DELETE', `/admin/keys/${encodeURIComponent(k.id)}`).then(() => {
        replace(message, `Revoked ${k.name}.`);
        return refreshTable();
      }, fail),
    );
  }
  function renderKeys(list: KeyRecord[], use: Map<string, BudgetUse>): void {
    // A key's status as of this drawing, not of the page's first load.
    const now = Date.now();
    replace(
      keyTable,
      table(
        ['name', 'user', 'team', 'status', 'spend / budget', 'limits', 'models', 'last used', 'created', ''],
        list.map((k) => {
          const b = use.get(`key:${k.id}`);
          const st = keyStatus(k, now);
          return [
            h('span', { class: 'name', 'data-key-name': k.name }, k.name),
            k.user ?? '–',
            k.team ?? '–',
            h('span', { class: `status ${st}` }, st),
            k.budget
              ? bar(
                  b?.spentUsd ?? 0,
                  k.budget.usd,
                  `${usd(b?.spentUsd ?? 0)} of ${usd(k.budget.usd)} / ${k.budget.period}`,
                )
              : '–',
            limitsText(k.limits),
            k.models?.join(', ') ?? 'all',
            when(k.lastUsed, 'minute'),
            when(k.created, 'day'),
            st === 'active'
              ? h(
                  'span',
                  { class: 'actions' },
                  h('button', { type: 'button', onclick: () => edit(k) }, 'Change'),
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'danger',
                      'data-revoke': k.name,
                      onclick: (e) => revoke(k, e.currentTarget as HTMLButtonElement),
                    },
                    'Revoke',
                  ),
                )
              : '',
          ];
        }),
      ),
    );
  }
  async function refreshTable(): Promise<void> {
    const [k, b] = await Promise.all([get<List<KeyRecord>>('/admin/keys'), get<List<BudgetUse>>('/admin/budgets')]);
    if (signal.aborted) return;
    renderKeys(k.data, new Map(b.data.map((x) => [`${x.kind}:${x.id}`, x])));
  }
  renderKeys(keys.data, spent);

  const teamForm = h(
    'form',
    { class: 'card form', 'data-form': 'create-team' },
    h('h2', {}, 'New team'),
    h('label', {}, 'Name ', h('input', { name: 'name', required: true, maxlength: 200 })),
    ...settingsFields(),
    h('button', { type: 'submit' }, 'Create team'),
  );
  teamForm.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(teamForm, () =>
      api('POST', '/admin/teams', Object.assign({ name: text(teamForm, 'name') }, settingsFrom(teamForm, false))).then(
        refresh,
        fail,
      ),
    );
  });
  const teamTable = table(
    ['team', 'spend / budget', 'limits', 'keys', 'created'],
    teams.data.map((t) => {
      const b = spent.get(`team:${t.name}`);
      return [
        h('span', { class: 'name' }, t.name),
        t.budget
          ? bar(b?.spentUsd ?? 0, t.budget.usd, `${usd(b?.spentUsd ?? 0)} of ${usd(t.budget.usd)} / ${t.budget.period}`)
          : '–',
        limitsText(t.limits),
        String(keys.data.filter((k) => k.team === t.name && !k.revoked).length),
        when(t.created, 'day'),
      ];
    }),
    { 'data-table': 'teams' },
  );
  return h(
    'section',
    { class: 'page', 'data-page': 'keys' },
    h('h1', {}, 'Keys and teams'),
    message,
    secret,
    h('div', { class: 'card' }, h('h2', {}, 'Keys'), keyTable),
    editor,
    createForm,
    h('div', { class: 'card' }, h('h2', {}, 'Teams'), teamTable),
    teamForm,
  );
}
