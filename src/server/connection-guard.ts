import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

/** The bounds on client connections. Every one is a setting (`limits.*` in the config file). */
export interface ConnectionLimits {
  /** Open connections in all; past it the oldest idle one is closed for the new one, or the new one is refused. */
  maxConnections: number;
  /** Open connections from one client address (0: no such cap); past it, the same, within that address. */
  maxConnectionsPerAddress: number;
  /** How long a new connection may take to send its first request's headers (or, on h2c, to open a stream). */
  headersTimeoutMs: number;
  /** How long a connection may stay open with no request in flight once it has made one. */
  keepAliveMs: number;
}

export type ConnectionEvent = 'refused_total' | 'refused_address' | 'evicted' | 'idle_closed';

/**
 * The default cap on open connections: half of what the process may open (each call also holds an
 * upstream socket), less a reserve for the store, the log and the upstream pool; at most 10,000.
 */
export function defaultMaxConnections(): number {
  let files = 20_000;
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s+/)[3]);
    if (Number.isFinite(soft) && soft > 0) files = soft;
  } catch {
    // not Linux: the fixed cap
  }
  return Math.max(16, Math.min(10_000, Math.floor((files - 64) / 2)));
}

export const DEFAULT_CONNECTIONS_PER_ADDRESS = 1_000;

/** One client connection: its requests in flight, the timer that closes it while it has none. */
export class Connection {
  active = 0;
  /** How to close it when idle: the socket, or the h2 session above it (a GOAWAY first). */
  close: () => void;
  timer: NodeJS.Timeout | undefined;
  open = true;

  constructor(
    readonly socket: Socket,
    readonly address: string,
  ) {
    this.close = () => socket.destroy();
  }
}

/**
 * Counts the open connections, closes the ones that stay idle, and decides at each new one whether
 * there is room: past a cap, the oldest idle connection (in all, or from that address) makes room;
 * if every one is busy, the new one is closed before a byte of it is read.
 */
export class ConnectionGuard {
  private readonly idle = new Set<Connection>();
  private readonly addresses = new Map<string, { count: number; idle: Set<Connection> }>();
  private total = 0;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly onEvent: (event: ConnectionEvent) => void = () => {},
  ) {}

  get size(): number {
    return this.total;
  }

  /** A new socket: its connection, or undefined when it was refused (and destroyed). */
  admit(socket: Socket): Connection | undefined {
    const address = socket.remoteAddress ?? '?';
    const mine = this.addresses.get(address);
    const perAddress = this.limits.maxConnectionsPerAddress;
    if (perAddress > 0 && mine && mine.count >= perAddress && !this.evict(mine.idle)) {
      return this.refuse(socket, 'refused_address');
    }
    if (this.total >= this.limits.maxConnections && !this.evict(this.idle)) return this.refuse(socket, 'refused_total');
    const conn = new Connection(socket, address);
    this.total++;
    const entry = this.addresses.get(address) ?? { count: 0, idle: new Set<Connection>() };
    entry.count++;
    this.addresses.set(address, entry);
    this.toIdle(conn, this.limits.headersTimeoutMs);
    socket.once('close', () => this.remove(conn));
    return conn;
  }

  /** A request (an h2 stream) reached the app on this connection. */
  begin(conn: Connection): void {
    if (conn.active++ > 0 || !conn.open) return;
    clearTimeout(conn.timer);
    this.idle.delete(conn);
    this.addresses.get(conn.address)?.idle.delete(conn);
  }

  /** Its answer is done (or the client left). */
  end(conn: Connection): void {
    if (--conn.active > 0 || !conn.open) return;
    this.toIdle(conn, this.limits.keepAliveMs);
  }

  private toIdle(conn: Connection, ms: number): void {
    this.idle.add(conn);
    this.addresses.get(conn.address)?.idle.add(conn);
    conn.timer = setTimeout(() => {
      this.onEvent('idle_closed');
      this.remove(conn);
      conn.close();
    }, ms).unref();
  }

  private evict(from: Set<Connection>): boolean {
    const victim = from.values().next().value;
    if (!victim) return false;
    this.onEvent('evicted');
    this.remove(victim);
    victim.close();
    return true;
  }

  private refuse(socket: Socket, why: ConnectionEvent): undefined {
    this.onEvent(why);
    socket.destroy();
    return undefined;
  }

  /** Forgets a connection at once (its socket's `close` comes later, and is then a no-op). */
  private remove(conn: Connection): void {
    if (!conn.open) return;
    conn.open = false;
    clearTimeout(conn.timer);
    this.total--;
    this.idle.delete(conn);
    const entry = this.addresses.get(conn.address);
    if (!entry) return;
    entry.idle.delete(conn);
    if (--entry.count === 0) this.addresses.delete(conn.address);
  }
}
