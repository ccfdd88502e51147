/**
 * The little the control service needs of a SQL database: statements with `?` parameters (the
 * PostgreSQL port numbers them), rows back as plain objects, and which errors are a unique key
 * taken. Everything else a port throws is the store failing: a `StoreError` of kind `unavailable`.
 */
export interface SqlPort {
  readonly dialect: 'sqlite' | 'postgres';
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  one<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Runs a statement; answers how many rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Whether an error is an insert or update that hit a unique key (a name taken). */
  isUniqueViolation(err: unknown): boolean;
}
