/** A lookup in a plain-object table that ignores inherited keys (`toString`, `__proto__`, ...). */
export function own<V>(table: Readonly<Record<string, V>>, key: string | undefined | null): V | undefined {
  return key !== undefined && key !== null && Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}
