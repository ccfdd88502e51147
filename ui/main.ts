// The dashboard: sign in with the admin key or through the identity provider, then the pages on the
// admin API that the role may see, chosen by the URL's hash (#/overview, #/keys, #/requests, and for
// admins #/live and #/audit), each drawn afresh when it is opened; leaving a page aborts what it
// still waits for (its AbortSignal), the live page's polling included.
import './style.css';
import 'uplot/dist/uPlot.min.css';
import { api, ApiError, session, type MeAnswer } from './api.js';
import { auditPage } from './pages/audit.js';
import { disposeCharts } from './charts.js';
import { busy, h, replace } from './dom.js';
import { keysPage } from './pages/keys.js';
import { livePage } from './pages/live.js';
import { overviewPage } from './pages/overview.js';
import { requestsPage } from './pages/requests.js';

const root = document.getElementById('app')!;
const PAGES = [
  ['overview', 'Overview', false],
  ['keys', 'Keys and teams', false],
  ['requests', 'Requests', false],
  ['live', 'Live', true],
  ['audit', 'Audit', true],
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
  // Where sign-in through the identity provider is set up, its way in comes first.
  void fetch('/ui/sign-in.json', { cache: 'no-store' }).then(
    (res) =>
      res.ok &&
      form.prepend(
        h(
          'p',
          { class: 'idp' },
          h('a', { class: 'button', href: '/ui/login', 'data-login': 'idp' }, 'Sign in with your identity provider'),
        ),
      ),
    () => undefined,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const key = input.value.trim();
    busy(form, () =>
      api('GET', '/admin/teams', undefined, { key }).then(
        () => {
          session.signIn(key);
          session.knownAs({
            role: 'admin',
            email: null,
            name: null,
            adminOf: [],
            teams: [],
            csrf: null,
            via: 'admin-key',
          });
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

/** Signs out: the identity provider's session ends on the server too; the admin key is forgotten. */
function signOut(me: MeAnswer): void {
  const ended = me.via === 'identity-provider' ? api('POST', '/ui/logout') : Promise.resolve();
  void ended
    .catch(() => undefined)
    .then(() => {
      session.signOut();
      signIn();
    });
}

async function render(): Promise<void> {
  current?.abort();
  const page = (current = new AbortController());
  const signal = page.signal;
  const me = session.me() ?? (await whoAmI());
  if (!me) return signIn();
  const pages = PAGES.filter(([, , admins]) => !admins || me.role === 'admin');
  const [path, query] = (location.hash.replace(/^#\/?/, '') || 'overview').split('?') as [string, string | undefined];
  const name = pages.find(([p]) => p === path)?.[0] ?? 'overview';
  const params = new URLSearchParams(query ?? '');
  const nav = h(
    'nav',
    { class: 'top' },
    h('span', { class: 'brand' }, 'bedrock-claude'),
    ...pages.map(([p, label]) =>
      h('a', { href: `#/${p}`, class: p === name ? 'on' : '', 'aria-current': p === name ? 'page' : undefined }, label),
    ),
    h('button', { type: 'button', class: 'signout', onclick: () => signOut(me) }, 'Sign out'),
  );
  if (me.email)
    nav.insertBefore(h('span', { class: 'who', 'data-role': me.role }, `${me.email} · ${me.role}`), nav.lastChild);
  const main = h('main', { 'aria-busy': 'true' }, h('p', { class: 'hint' }, 'Loading…'));
  disposeCharts(root);
  replace(root, nav, main);
  try {
    let element: HTMLElement;
    if (name === 'keys') element = await keysPage(() => void render(), signal, me);
    else if (name === 'requests') element = await requestsPage(params, navigate, signal);
    else if (name === 'live') element = await livePage(signal);
    else if (name === 'audit') element = await auditPage(signal);
    else element = await overviewPage(params, navigate, signal, me);
    if (signal.aborted) return;
    replace(main, element);
    main.setAttribute('aria-busy', 'false');
  } catch (err) {
    if (signal.aborted) return;
    if (err instanceof ApiError && err.status === 401)
      return signIn(
        me.via === 'admin-key'
          ? 'The admin key is no longer accepted: sign in again.'
          : 'Your session ended: sign in again.',
      );
    replace(main, h('p', { class: 'error', role: 'alert' }, (err as Error).message));
    main.setAttribute('aria-busy', 'false');
  }
}

/** Who the page is, by the admin key it holds or the session's cookie (the identity provider's), or undefined. */
async function whoAmI(): Promise<MeAnswer | undefined> {
  try {
    const me = await api<MeAnswer>('GET', '/admin/me');
    session.knownAs(me);
    return me;
  } catch {
    return undefined;
  }
}

window.addEventListener('hashchange', () => void render());
void render();
