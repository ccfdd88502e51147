import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isLegacyModel } from '../catalog/backends.js';
import type { Catalog, ModelEntry } from '../catalog/catalog.js';

/** A `doctor` finding; `warning` ones are said but do not change the exit code. */
export interface Finding {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
  warning?: boolean;
}

/** The installed version of a package as code in `dir` would load it (node_modules up the tree), if any. */
function installedVersion(pkg: string, dir: string): string | undefined {
  for (let at = resolve(dir); ; at = dirname(at)) {
    try {
      const text = readFileSync(join(at, 'node_modules', pkg, 'package.json'), 'utf8');
      return (JSON.parse(text) as { version?: string }).version;
    } catch {
      if (dirname(at) === at) return undefined;
    }
  }
}

const major = (version: string) => Number(version.split('.')[0]);

/**
 * Flags an SDK here that sends a newer Anthropic API version by default (catalog `apiVersions[v].defaultFrom`) when a
 * model asked about is a legacy one that refuses it: called directly, Bedrock answers 400; through the gateway the
 * version is adapted.
 */
export function apiVersionFindings(models: readonly ModelEntry[], catalog: Catalog, dir: string): Finding[] {
  const legacy = models.filter(isLegacyModel);
  const out: Finding[] = [];
  for (const [version, rules] of Object.entries(catalog.data.apiVersions ?? {})) {
    if (rules.legacyModels !== 'refused') continue;
    for (const [pkg, from] of Object.entries(rules.defaultFrom ?? {})) {
      if (!pkg.startsWith('@')) continue; // only Node packages can be seen from here
      const installed = installedVersion(pkg, dir);
      if (!installed || major(installed) < major(from)) continue;
      const names = legacy.map((m) => m.displayName);
      out.push({
        check: `api version`,
        ok: !legacy.length,
        warning: true,
        detail: legacy.length
          ? `${pkg} ${installed} here sends anthropic-version ${version} by default, which Bedrock's legacy ` +
            `models refuse (400): ${names.join(', ')}`
          : `${pkg} ${installed} here sends anthropic-version ${version}; the models asked about take it`,
        ...(legacy.length
          ? {
              fix:
                "Pin the version in the client (defaultHeaders: { 'anthropic-version': '2023-06-01' }), call " +
                'through `bedrock-claude serve` (it sends Bedrock the version each model takes), or use a model from ' +
                'Opus 4.7 on.',
            }
          : {}),
      });
    }
  }
  return out;
}
