import {
  api,
  type BudgetUse,
  type CreatedKey,
  type KeyRecord,
  type Limits,
  type List,
  type MeAnswer,
  type TeamRecord,
  type UsageAnswer,
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

/** What the page's parts share: where messages, the new secret and the editor go, and how the key table is redrawn. */
interface KeysView {
  message: HTMLElement;
  secret: HTMLElement;
  editor: HTMLElement;
  keyTable: HTMLElement;
  teamTable: HTMLElement;
  fail: (err: unknown) => void;
  refreshTable: () => Promise<void>;
}

/** What keys and teams spent: against their budgets, and this calendar month (UTC) for every one. */
interface Spend {
  budgets: Map<string, BudgetUse>;
  month: Map<string, number>;
}

/** The first instant of this month, UTC, as the admin API takes it. */
const monthStart = () => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).toISOString();
};

async function spendOf(get: <T>(path: string) => Promise<T>): Promise<Spend> {
  const since = encodeURIComponent(monthStart());
  const [budgets, keys, teams] = await Promise.all([
    get<List<BudgetUse>>('/admin/budgets'),
    get<UsageAnswer>(`/admin/usage?by=key&since=${since}`),
    get<UsageAnswer>(`/admin/usage?by=team&since=${since}`),
  ]);
  const month = new Map<string, number>();
  for (const r of keys.rows) if (r.group !== null) month.set(`key:${r.group}`, r.costUsd);
  for (const r of teams.rows) if (r.group !== null) month.set(`team:${r.group}`, r.costUsd);
  return { budgets: new Map(budgets.data.map((b) => [`${b.kind}:${b.id}`, b])), month };
}

/** Keys and teams: spend against budget, limits, last use, status; create, change, revoke. */
export async function keysPage(refresh: () => void, signal: AbortSignal, me: MeAnswer): Promise<HTMLElement> {
  const get = <T>(path: string) => api<T>('GET', path, undefined, { signal });
  const [keys, teams, spent] = await Promise.all([
    get<List<KeyRecord>>('/admin/keys'),
    get<List<TeamRecord>>('/admin/teams'),
    spendOf(get),
  ]);
  const message = h('div', { class: 'message', role: 'status' });
  const view: KeysView = {
    message,
    secret: h('div', {}),
    editor: h('div', {}),
    keyTable: h('div', { 'data-table': 'keys' }),
    teamTable: h('div', {}),
    fail: (err) => replace(message, h('span', { class: 'error' }, (err as Error).message)),
    async refreshTable() {
      const [k, t, s] = await Promise.all([
        get<List<KeyRecord>>('/admin/keys'),
        get<List<TeamRecord>>('/admin/teams'),
        spendOf(get),
      ]);
      if (signal.aborted) return;
      renderKeys(view, k.data, s);
      replace(view.teamTable, teamsTable(t.data, k.data, s));
    },
  };
  renderKeys(view, keys.data, spent);
  replace(view.teamTable, teamsTable(teams.data, keys.data, spent));
  const admin = me.role === 'admin';
  // A team admin makes keys in the teams they run; a member makes their own (the server holds them to it).
  const teamChoices = admin ? teams.data : teams.data.filter((t) => me.adminOf.includes(t.name));
  return h(
    'section',
    { class: 'page', 'data-page': 'keys' },
    h('h1', {}, admin ? 'Keys and teams' : me.role === 'team-admin' ? 'Your teams and keys' : 'Your keys'),
    view.message,
    view.secret,
    h('div', { class: 'card' }, h('h2', {}, 'Keys'), view.keyTable),
    view.editor,
    createKeyForm(view, teamChoices, me.role !== 'member'),
    teams.data.length ? h('div', { class: 'card' }, h('h2', {}, 'Teams'), view.teamTable) : '',
    admin ? createTeamForm(view, refresh) : '',
  );
}

const modelsOf = (form: HTMLFormElement) =>
  text(form, 'models')
    ?.split(',')
    .map((m) => m.trim())
    .filter(Boolean);

function createKeyForm(view: KeysView, teams: TeamRecord[], forOthers: boolean): HTMLFormElement {
  const form = h(
    'form',
    { class: 'card form', 'data-form': 'create-key' },
    h('h2', {}, forOthers ? 'New key' : 'New key of your own'),
    h('label', {}, 'Name ', h('input', { name: 'name', required: true, maxlength: 200 })),
    forOthers ? h('label', {}, 'User ', h('input', { name: 'user', maxlength: 200 })) : '',
    forOthers
      ? h(
          'label',
          {},
          'Team ',
          h(
            'select',
            { name: 'team' },
            h('option', { value: '' }, '(none)'),
            ...teams.map((t) => h('option', { value: t.name }, t.name)),
          ),
        )
      : '',
    h('label', {}, 'Models ', h('input', { name: 'models', placeholder: 'claude-haiku-*, claude-sonnet-4-6' })),
    ...settingsFields(),
    h('button', { type: 'submit' }, 'Create key'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const models = modelsOf(form);
    const body = Object.assign(
      { name: text(form, 'name') },
      text(form, 'user') ? { user: text(form, 'user') } : {},
      text(form, 'team') ? { team: text(form, 'team') } : {},
      models?.length ? { models } : {},
      settingsFrom(form, false),
    );
    busy(form, () =>
      api<CreatedKey>('POST', '/admin/keys', body).then((created) => {
        replace(view.secret, secretPanel(created.key, created.name));
        form.reset();
        replace(view.message, `Created ${created.name}.`);
        return view.refreshTable();
      }, view.fail),
    );
  });
  return form;
}

function editKey(view: KeysView, k: KeyRecord): void {
  const form = h(
    'form',
    { class: 'card form', 'data-form': 'edit-key' },
    h('h2', {}, `Change "${k.name}"`),
    h('label', {}, 'Models ', h('input', { name: 'models', value: k.models?.join(', ') ?? '' })),
    ...settingsFields(k),
    h('button', { type: 'submit' }, 'Save'),
    h('button', { type: 'button', onclick: () => replace(view.editor) }, 'Cancel'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const models = modelsOf(form);
    const change = Object.assign({ models: models?.length ? models : null }, settingsFrom(form, true));
    busy(form, () =>
      api('PATCH', `/admin/keys/${encodeURIComponent(k.id)}`, change).then(() => {
        replace(view.editor);
        replace(view.message, `Saved ${k.name}.`);
        return view.refreshTable();
      }, view.fail),
    );
  });
  replace(view.editor, form);
}

function revokeKey(view: KeysView, k: KeyRecord, button: HTMLButtonElement): void {
  if (!confirm(`Revoke the key "${k.name}"? Requests with it are refused at once.`)) return;
  busy(button, () =>
    api('DELETE', `/admin/keys/${encodeURIComponent(k.id)}`).then(() => {
      replace(view.message, `Revoked ${k.name}.`);
      return view.refreshTable();
    }, view.fail),
  );
}

/** Spend against a budget as a bar; without a budget, what was spent this month. */
function budgetBar(budget: KeyRecord['budget'], spentUsd: number | undefined, monthUsd: number | undefined) {
  if (!budget) return `${usd(monthUsd ?? 0)} this month`;
  const spent = spentUsd ?? 0;
  return bar(spent, budget.usd, `${usd(spent)} of ${usd(budget.usd)} / ${budget.period}`);
}

function renderKeys(view: KeysView, list: KeyRecord[], spend: Spend): void {
  // A key's status as of this drawing, not of the page's first load.
  const now = Date.now();
  const rows = list.map((k) => {
    const st = keyStatus(k, now);
    return [
      h('span', { class: 'name', 'data-key-name': k.name }, k.name),
      k.user ?? '–',
      k.team ?? '–',
      h('span', { class: `status ${st}` }, st),
      budgetBar(k.budget, spend.budgets.get(`key:${k.id}`)?.spentUsd, spend.month.get(`key:${k.name}`)),
      limitsText(k.limits),
      k.models?.join(', ') ?? 'all',
      when(k.lastUsed, 'minute'),
      when(k.created, 'day'),
      k.expires ? when(k.expires, 'day') : 'never',
      st === 'active' ? keyActions(view, k) : '',
    ];
  });
  const head = [
    'name',
    'user',
    'team',
    'status',
    'spend / budget',
    'limits',
    'models',
    'last used',
    'created',
    'expires',
    '',
  ];
  replace(view.keyTable, table(head, rows));
}

function keyActions(view: KeysView, k: KeyRecord): HTMLElement {
  return h(
    'span',
    { class: 'actions' },
    h('button', { type: 'button', onclick: () => editKey(view, k) }, 'Change'),
    h(
      'button',
      {
        type: 'button',
        class: 'danger',
        'data-revoke': k.name,
        onclick: (e) => revokeKey(view, k, e.currentTarget as HTMLButtonElement),
      },
      'Revoke',
    ),
  );
}

function createTeamForm(view: KeysView, refresh: () => void): HTMLFormElement {
  const form = h(
    'form',
    { class: 'card form', 'data-form': 'create-team' },
    h('h2', {}, 'New team'),
    h('label', {}, 'Name ', h('input', { name: 'name', required: true, maxlength: 200 })),
    ...settingsFields(),
    h('button', { type: 'submit' }, 'Create team'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = Object.assign({ name: text(form, 'name') }, settingsFrom(form, false));
    busy(form, () => api('POST', '/admin/teams', body).then(refresh, view.fail));
  });
  return form;
}

function teamsTable(teams: TeamRecord[], keys: KeyRecord[], spend: Spend): HTMLElement {
  return table(
    ['team', 'spend / budget', 'limits', 'keys', 'created'],
    teams.map((t) => [
      h('span', { class: 'name' }, t.name),
      budgetBar(t.budget, spend.budgets.get(`team:${t.name}`)?.spentUsd, spend.month.get(`team:${t.name}`)),
      limitsText(t.limits),
      String(keys.filter((k) => k.team === t.name && !k.revoked).length),
      when(t.created, 'day'),
    ]),
    { 'data-table': 'teams' },
  );
}
