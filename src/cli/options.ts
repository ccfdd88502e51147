import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { SCOPES, type Scope } from '../catalog/resolve-model.js';

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('a port is a whole number from 0 to 65535 (0 picks a free one)');
  return n;
}

export function parseScope(value: string): Scope {
  if (!(SCOPES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`scope is one of ${SCOPES.join(', ')}`);
  return value as Scope;
}

export function parseInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

/** Reads a JSON or YAML file into a value, with the file name in any error (the YAML parser loads only when needed). */
export async function readDataFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return path.endsWith('.json') ? JSON.parse(text) : (await import('yaml')).parse(text);
  } catch (err) {
    throw new Error(`${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
}
