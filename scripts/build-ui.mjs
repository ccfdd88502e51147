// Builds the dashboard into dist/ui: one bundled, minified script and one stylesheet (uPlot's and
// ours), and the page. Everything ships in the package: no CDN, no internet needed to run it.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';

mkdirSync('dist/ui', { recursive: true });
await build({
  entryPoints: { app: 'ui/main.ts' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  outdir: 'dist/ui',
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync('ui/index.html', 'dist/ui/index.html');
const size = (f) => statSync(`dist/ui/${f}`).size;
if (process.env.BEDROCK_CLAUDE_UI_SIZES)
  console.log(`dist/ui: app.js ${size('app.js')} bytes, app.css ${size('app.css')} bytes`);
