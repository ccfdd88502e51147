// The dashboard: sign in with the admin key, then four pages on the admin API, chosen by the URL's
// hash (#/overview, #/keys, #/requests, #/live), each drawn afresh when it is opened; leaving a
// page aborts what it still waits for (its AbortSignal), the live page's polling included.
import './style.css';
import 'uplot/dist/uPlot.min.css';
import { api, ApiError, session } from './api.js';
import { disposeCharts } from './charts.js';
import { busy, h, replace } from './dom.js';
import { keysPage } from './pages/keys.js';
import { livePage } from './pages/live.js';
import { overviewPage } from './pages/overview.js';
import { requestsPage } from './pages/requests.js';

const root = document.getElementById('app')!;
const PAGES = [
  ['overview', 'Overview'],
  ['keys', 'Keys and teams'],
  ['requests', 'Requests'],
  ['live', 'Live'],
] as const;
/** The page on screen: aborted when another is opened, so nothing it still waits for lands on the new one. */
let current: AbortController | undefined;

function signIn(problem?: string): void {
  const input = h('input', {
    type: 'password',
    name: 'adminKey',
    autocomplete: 'current-password',
    required: true,
    'aria-label': 'admin key',
  });
  const error = h('p', { class: 'error', role: 'alert' }, problem ?? '');
  const form = h(
    'form',
    { class: 'card signin', 'data-form': 'sign-in' },
    h('h1', {}, 'bedrock-claude'),
    h('p', {}, "Sign in with the gateway's admin key (adminKey, BEDROCK_CLAUDE_ADMIN_KEY)."),
    h('label', {}, 'Admin key ', input),
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const key = input.value.trim();
    busy(form, () =>
      api('GET', '/admin/teams', undefined, { key }).then(
        () => {
          session.signIn(key);
          if (!location.hash || location.hash === '#/') location.hash = '#/overview';
          else void render();
        },
        (err: unknown) =>
          replace(
            error,
            err instanceof ApiError && err.status === 401 ? 'That is not the admin key.' : (err as Error).message,
          ),
      ),
    );
  });
  replace(root, form);
  input.focus();
}

function navigate(hash: string): void {
  if (location.hash === hash) void render();
  else location.hash = hash;
}

async function render(): Promise<void> {
  current?.abort();
  const page = (current = new AbortController());
  const signal = page.signal;
  if (!session.key()) return signIn();
  const [path, query] = (location.hash.replace(/^#\/?/, '') || 'overview').split('?') as [string, string | undefined];
  const name = PAGES.find(([p]) => p === path)?.[0] ?? 'overview';
  const params = new URLSearchParams(query ?? '');
  const nav = h(
    'nav',
    { class: 'top' },
    h('span', { class: 'brand' }, 'bedrock-claude'),
    ...PAGES.map(([p, label]) =>
      h('a', { href: `#/${p}`, class: p === name ? 'on' : '', 'aria-current': p === name ? 'page' : undefined }, label),
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'signout',
        onclick: () => {
          session.signOut();
          signIn();
        },
      },
      'Sign out',
    ),
  );
  const main = h('main', { 'aria-busy': 'true' }, h('p', { class: 'hint' }, 'Loading…'));
  disposeCharts(root);
  replace(root, nav, main);
  try {
    let element: HTMLElement;
    if (name === 'keys') element = await keysPage(() => void render(), signal);
    else if (name === 'requests') element = await requestsPage(params, navigate, signal);
    else if (name === 'live') element = await livePage(signal);
    else element = await overviewPage(params, navigate, signal);
    if (signal.aborted) return;
    replace(main, element);
    main.setAttribute('aria-busy', 'false');
  } catch (err) {
    if (signal.aborted) return;
    if (err instanceof ApiError && err.status === 401)
      return signIn('The admin key is no longer accepted: sign in again.');
    replace(main, h('p', { class: 'error', role: 'alert' }, (err as Error).message));
    main.setAttribute('aria-busy', 'false');
  }
}

window.addEventListener('hashchange', () => void render());
void render();
