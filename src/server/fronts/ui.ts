import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Ctx, Reply } from '../pipeline.js';
import { anthropicError } from './anthropic.js';
import type { RouteGroup } from './front.js';
import { jsonReply } from './replies.js';

/**
 * The page may load only its own files and talk only to its own origin; no inline script or style,
 * no frames, no forms posted elsewhere. uPlot sets element styles from script (CSSOM), which a
 * style-src without 'unsafe-inline' allows.
 */
export const UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src " +
  "'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
};

/**
 * Where `npm run build` put the dashboard: `dist/ui` (beside `dist/server` when run from dist, or from src under tsx).
 */
function uiDir(): string | undefined {
  for (const rel of ['../../ui/', '../../../dist/ui/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return undefined;
}

/**
 * The dashboard's static files at `/ui`: read once at start-up (they ship in the package, no CDN),
 * served with a strict Content-Security-Policy. The page signs in with the admin key and calls the
 * admin API from the browser with it as a header; no cookie is set, so no other site can ride on it.
 */
export function createUiGroup(): RouteGroup {
  const dir = uiDir();
  const files = new Map<string, { type: string; body: Buffer }>();
  if (dir) {
    for (const name of ['index.html', 'app.js', 'app.css']) {
      if (existsSync(dir + name))
        files.set(name, { type: TYPES[name.split('.').pop()!]!, body: readFileSync(dir + name) });
    }
  }
  const headers = (type: string): Record<string, string> => ({
    'content-type': type,
    'content-security-policy': UI_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cache-control': 'no-cache',
  });
  function serve(ctx: Ctx): Reply {
    const name = ctx.route.pathname.replace(/^\/ui\/?/, '') || 'index.html';
    const file = files.get(name);
    if (!file)
      return jsonReply(
        404,
        {
          type: 'error',
          error: {
            type: 'not_found_error',
            message: dir ? `No dashboard file "${name}".` : 'The dashboard is not built: run npm run build.',
          },
        },
        ctx.headers,
      );
    return { status: 200, headers: Object.assign(ctx.headers, headers(file.type)), body: file.body };
  }
  return {
    name: 'ui',
    metered: false,
    routes: [
      { method: 'GET', path: '/ui', serve, public: true, unlisted: true },
      { method: 'GET', path: '/ui/*', serve, public: true, unlisted: true },
      // Browsers ask for it on their own: an empty answer, not a 401 in the ledger.
      {
        method: 'GET',
        path: '/favicon.ico',
        serve: () => ({ status: 204, headers: { 'cache-control': 'max-age=86400' }, body: undefined }),
        public: true,
        unlisted: true,
      },
    ],
    encodeError: anthropicError,
  };
}
