/**
 * The live feed to browsers over Server-Sent Events. Publishing is non-blocking and bounded:
 * - `publish` only appends to a bounded queue (O(1) on the call's path); a timer flushes it every
 *   `flushMs` as one message per browser, serialised once per distinct view;
 * - nothing is queued while no browser is connected;
 * - if the queue overflows (a burst), it is dropped and every browser gets a fresh snapshot instead;
 * - a browser whose socket holds more than `maxBufferedBytes` unsent, or has had unsent bytes for longer
 *   than `stallMs`, is disconnected (EventSource reconnects and starts from a snapshot), never buffered
 *   without limit.
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import type { BatchItem, StreamMessage } from './wire.js';

/** What the feed needs of an HTTP response (ServerResponse satisfies it). */
export interface FeedSocket {
  write(chunk: string): boolean;
  readonly writableLength: number;
  destroy(): void;
}

export interface FeedOptions {
  clock: Clock;
  /** The full state for a (re)connecting browser, with the watched call's timeline. */
  snapshot(watch: string | undefined): StreamMessage;
  flushMs?: number;
  maxQueuedItems?: number;
  maxBufferedBytes?: number;
  stallMs?: number;
  heartbeatMs?: number;
  maxClients?: number;
  /** A browser was disconnected because it did not keep up. */
  onSlowClient?: (reason: 'buffer' | 'stalled') => void;
}

export const FEED_DEFAULTS = {
  flushMs: 100,
  maxQueuedItems: 5000,
  maxBufferedBytes: 1024 * 1024,
  stallMs: 15_000,
  heartbeatMs: 15_000,
  maxClients: 50,
} as const;

export interface FeedClient {
  readonly socket: FeedSocket;
  readonly watch: string | undefined;
  /** Monotonic ms since when the socket has had unsent bytes, if it has. */
  backloggedSince: number | undefined;
}

const frame = (message: StreamMessage) => `data: ${JSON.stringify(message)}\n\n`;

export class ConsoleFeed {
  private readonly clients = new Set<FeedClient>();
  private queue: BatchItem[] = [];
  private resync = false;
  private flushTimer: TimerHandle | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private readonly o: Required<Omit<FeedOptions, 'onSlowClient'>> & Pick<FeedOptions, 'onSlowClient'>;
  /** Browsers disconnected for not keeping up, since start. */
  slowDisconnects = 0;

  constructor(options: FeedOptions) {
    this.o = { ...FEED_DEFAULTS, ...options };
    this.scheduleHeartbeat();
  }

  get size(): number {
    return this.clients.size;
  }

  /** At the browser cap: a new stream would be refused. */
  get full(): boolean {
    return this.clients.size >= this.o.maxClients;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Adds a browser and sends it the snapshot; undefined when at the client cap. */
  add(socket: FeedSocket, watch: string | undefined): FeedClient | undefined {
    if (this.clients.size >= this.o.maxClients) return undefined;
    const client: FeedClient = { socket, watch, backloggedSince: undefined };
    this.clients.add(client);
    this.send(client, frame(this.o.snapshot(watch)));
    return client;
  }

  remove(client: FeedClient): void {
    this.clients.delete(client);
  }

  /** Called for every store change; never blocks, never throws. */
  publish(item: BatchItem): void {
    if (this.clients.size === 0 || this.resync) return;
    if (this.queue.length >= this.o.maxQueuedItems) {
      this.queue = [];
      this.resync = true;
    } else {
      this.queue.push(item);
    }
    this.flushTimer ??= this.o.clock.setTimeout(() => this.flush(), this.o.flushMs);
  }

  /** Sends what is queued (the timer calls this). */
  flush(): void {
    this.o.clock.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const items = this.queue;
    this.queue = [];
    if (this.resync) {
      this.resync = false;
      for (const client of [...this.clients]) this.send(client, frame(this.o.snapshot(client.watch)));
      return;
    }
    if (items.length === 0) return;
    const shared: BatchItem[] = [];
    const eventsByCall = new Map<string, BatchItem[]>();
    for (const item of items) {
      if (item.kind !== 'event') shared.push(item);
      else {
        const list = eventsByCall.get(item.callId);
        if (list) list.push(item);
        else eventsByCall.set(item.callId, [item]);
      }
    }
    // One serialisation per distinct view: browsers watching the same call (or none) share a string.
    const framed = new Map<string | undefined, string | null>();
    for (const client of [...this.clients]) {
      let text = framed.get(client.watch);
      if (text === undefined) {
        const mine = client.watch === undefined ? shared : [...shared, ...(eventsByCall.get(client.watch) ?? [])];
        text = mine.length > 0 ? frame({ type: 'batch', items: mine }) : null;
        framed.set(client.watch, text);
      }
      if (text !== null) this.send(client, text);
    }
  }

  close(): void {
    this.o.clock.clearTimeout(this.flushTimer);
    this.o.clock.clearTimeout(this.heartbeatTimer);
    this.flushTimer = this.heartbeatTimer = undefined;
    for (const client of this.clients) client.socket.destroy();
    this.clients.clear();
    this.queue = [];
  }

  private send(client: FeedClient, text: string): void {
    if (!this.keepsUp(client, text.length)) return;
    client.socket.write(text);
    if (client.socket.writableLength > 0) client.backloggedSince ??= this.o.clock.now();
  }

  /** Disconnects a browser that cannot take `adding` more bytes or has been backlogged too long. */
  private keepsUp(client: FeedClient, adding: number): boolean {
    const pending = client.socket.writableLength;
    if (pending === 0) client.backloggedSince = undefined;
    let reason: 'buffer' | 'stalled' | undefined;
    if (pending + adding > this.o.maxBufferedBytes) reason = 'buffer';
    else if (client.backloggedSince !== undefined && this.o.clock.now() - client.backloggedSince > this.o.stallMs) reason = 'stalled';
    if (reason === undefined) return true;
    this.clients.delete(client);
    this.slowDisconnects++;
    client.socket.destroy();
    this.o.onSlowClient?.(reason);
    return false;
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = this.o.clock.setTimeout(() => {
      // A comment line: keeps proxies from closing an idle stream and finds stalled browsers while quiet.
      for (const client of [...this.clients]) this.send(client, ': ping\n\n');
      this.scheduleHeartbeat();
    }, this.o.heartbeatMs);
  }
}
