/**
 * The console across the fleet: with REDIS_URL (and CONSOLE_TOKEN), the console on any instance shows the
 * calls of every instance. Each process publishes its calls' CallEvents on one Redis pub/sub channel
 * (`<prefix>:console`) and feeds every other process's into its own console store; envelopes and the
 * presence bookkeeping are in console-envelope.ts.
 *
 * - Late joiners: every process announces its live calls' current rows every `timeoutMs / 3` (presence),
 *   and at once when a console (re)joins the channel (hello) or its own publishing link comes back, so a
 *   console that starts or reconnects mid-call gets the row, with its instance, within moments.
 * - Dead instances: a process not heard from for `timeoutMs` (CONSOLE_INSTANCE_TIMEOUT_MS) is gone: its
 *   live rows move to the ended list as `instance_lost` (its real outcome is in its webhook record). A
 *   process that no longer announces a call whose ending this console missed: `ending_missed`. A call
 *   marked lost that is announced again (a partition healed) is live again.
 * - Publishing never delays a call: the event is encoded (as for the workers' IPC relay) and handed to the
 *   publishing connection; with that connection down, or `maxInFlight` messages unanswered (a slow Redis),
 *   the message is dropped and counted, never queued. Pub/sub is at-most-once anyway; presence repairs.
 * - Reading: bounded size, parsed at the edge (zod), own messages ignored by their prefix, anything
 *   malformed, too large or beyond the bounds dropped and counted; nothing on the channel can crash us.
 *
 * Workers (WORKERS > 1): each worker is a fleet member of its own (its own instance id and channel), so in
 * fleet mode this channel replaces the primary's IPC relay (src/cli/serve.ts) rather than running beside
 * it: both would bring every sibling worker's event twice, and telling the copies apart would need an id
 * per event and a seen-set per console. The cost: while Redis is unreachable a worker's console shows
 * only its own calls.
 *
 * Own connections: pub/sub needs a dedicated subscriber connection, and publishing gets its own too so a
 * large ended record never sits in front of a signed upgrade's nonce check on the fleet's main connection.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { CallEvent, CallEventListener } from '../bridge/call-events.js';
import type { ConsoleStore } from '../console/store.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import {
  decodeEnvelope,
  encodeEventEnvelope,
  encodePresence,
  encodeSignal,
  FleetPresence,
  type InboundDropReason,
  type Origin,
} from './console-envelope.js';
import { connectInBackground, destroyQuietly, type RedisClient } from './redis.js';

/** Messages handed to Redis and not yet acknowledged; beyond this Redis is too slow and we drop. */
export const MAX_IN_FLIGHT = 256;
/** Calls of this process tracked for presence (MAX_SESSIONS per process is far below). */
const MAX_LOCAL_CALLS = 10_000;
/** A hello is answered within this, coalescing several. */
const HELLO_ANSWER_MS = 100;

export type OutboundDropReason = 'unavailable' | 'backlog' | 'too_large' | 'failed';
export type DropReason = { direction: 'out'; reason: OutboundDropReason } | { direction: 'in'; reason: InboundDropReason };

/** What the channel needs of the publishing connection (a node-redis client satisfies it). */
export interface ChannelPublisher {
  readonly isReady: boolean;
  publish(channel: string, message: string): Promise<unknown>;
}

/** What it needs of the subscribing connection. */
export interface ChannelSubscriber {
  readonly isReady: boolean;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
}

/** What it needs of the console: its store (other processes' events and rows go in; this one's rows come out). */
export interface ChannelConsole {
  readonly store: Pick<ConsoleStore, 'onCallEvent' | 'liveRow' | 'upsertRow' | 'lose'>;
}

export interface ConsoleChannelOptions {
  publisher: ChannelPublisher;
  subscriber: ChannelSubscriber;
  /** The Redis channel, `<REDIS_KEY_PREFIX>:console`. */
  channel: string;
  /** This process's fleet instance id (what the rows' instance column says). */
  instance: string;
  /** Unique per process; default the instance id plus a random suffix. */
  sender?: string;
  console: ChannelConsole;
  /** CONSOLE_TRANSCRIPTS: off, transcript text never leaves the process. */
  transcripts: boolean;
  /** CONSOLE_INSTANCE_TIMEOUT_MS. */
  timeoutMs: number;
  logger: Logger;
  clock?: Clock;
  /** Wall clock (epoch ms) for the time a lost call is marked ended. */
  wallClock?: () => number;
  maxInFlight?: number;
  onDrop?: (drop: DropReason) => void;
}

export interface ConsoleChannel {
  /** Give to the bridge beside the console: publishes this process's events. Cheap, never throws. */
  readonly outbound: CallEventListener;
  readonly sender: string;
  readonly presence: FleetPresence;
  /** Subscribes (now, or once the subscriber is ready) and starts the presence timer. */
  start(): void;
  /** The subscriber became ready (first connect or a reconnect): ask everyone for their rows. */
  onSubscriberReady(): void;
  /** The publisher became ready (after an outage): announce our rows at once. */
  onPublisherReady(): void;
  /** Handles one message from the channel (the subscriber's listener). */
  receive(message: string): void;
  /** One presence round now: announce, expire silent processes (the timer calls this). */
  tick(): void;
  /** Says goodbye (after the calls drained) and stops the timers. */
  close(): void;
  readonly inFlight: number;
}

export function createConsoleChannel(options: ConsoleChannelOptions): ConsoleChannel {
  const { publisher, subscriber, channel, logger } = options;
  const clock = options.clock ?? systemClock;
  const wallClock = options.wallClock ?? Date.now;
  const maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT;
  const origin: Origin = { sender: options.sender ?? `${options.instance}#${randomBytes(4).toString('hex')}`, instance: options.instance };
  const presence = new FleetPresence(options.timeoutMs);
  const intervalMs = Math.max(250, Math.floor(options.timeoutMs / 3));
  const { store } = options.console;
  /** This process's live calls, announced in presence messages. */
  const local = new Set<string>();
  let inFlight = 0;
  let subscribed = false;
  let closed = false;
  let timer: TimerHandle | undefined;
  let answerTimer: TimerHandle | undefined;

  const drop = (d: DropReason) => {
    try {
      options.onDrop?.(d);
    } catch {
      // counting must not disturb anything
    }
  };

  const publish = (message: string): void => {
    if (!publisher.isReady) return drop({ direction: 'out', reason: 'unavailable' });
    if (inFlight >= maxInFlight) return drop({ direction: 'out', reason: 'backlog' });
    inFlight++;
    let promise: Promise<unknown>;
    try {
      promise = publisher.publish(channel, message);
    } catch {
      inFlight--;
      return drop({ direction: 'out', reason: 'failed' });
    }
    promise.then(
      () => inFlight--,
      () => {
        inFlight--;
        drop({ direction: 'out', reason: 'failed' });
      },
    );
  };

  const announce = () => {
    const rows = [];
    for (const callId of local) {
      const row = store.liveRow(callId);
      if (row) rows.push(row);
    }
    publish(encodePresence(origin, rows));
  };

  const lose = (calls: readonly string[], reason: 'instance_lost' | 'ending_missed', detail: string) => {
    const at = wallClock();
    for (const callId of calls) {
      try {
        store.lose(callId, reason, at, detail);
      } catch (err) {
        logger.error({ err, callId }, 'console could not mark a call lost');
      }
    }
  };

  const tick = () => {
    if (closed) return;
    announce();
    for (const gone of presence.expire(clock.now())) {
      const cause = subscriber.isReady ? '' : ' (this instance cannot reach Redis)';
      const detail = `no word from instance ${gone.instance} for ${Math.round(gone.silentMs / 1000)} s${cause}`;
      if (gone.calls.length > 0) logger.warn({ instance: gone.instance, calls: gone.calls.length, silentMs: Math.round(gone.silentMs) }, 'console: an instance went silent; its live calls are marked lost');
      lose(gone.calls, 'instance_lost', detail);
    }
  };

  const schedule = () => {
    if (closed) return;
    timer = clock.setTimeout(() => {
      tick();
      schedule();
    }, intervalMs);
  };

  const answerSoon = () => {
    if (closed || answerTimer !== undefined) return;
    answerTimer = clock.setTimeout(() => {
      answerTimer = undefined;
      if (!closed) announce();
    }, HELLO_ANSWER_MS);
  };

  const subscribe = () => {
    if (subscribed || closed || !subscriber.isReady) return;
    subscribed = true;
    // node-redis subscribes again by itself after every reconnect: once is enough.
    subscriber.subscribe(channel, (message) => receive(message)).then(
      () => publish(encodeSignal(origin, 'hello')),
      (err: unknown) => {
        subscribed = false;
        logger.warn({ err: { message: (err as Error).message } }, 'console channel: subscribe failed; retrying when the connection is ready');
      },
    );
  };

  const receive = (message: string) => {
    const now = clock.now();
    const decoded = decodeEnvelope(message, origin.sender);
    if (decoded.own) return;
    if ('dropped' in decoded) return drop({ direction: 'in', reason: decoded.dropped });
    const envelope = decoded.envelope;
    try {
      switch (envelope.kind) {
        case 'event':
          if (!presence.onEvent(envelope.sender, envelope.instance, envelope.event, now)) return drop({ direction: 'in', reason: 'capacity' });
          store.onCallEvent(envelope.event, { instance: envelope.instance });
          return;
        case 'presence': {
          const missing = presence.onPresence(envelope.sender, envelope.instance, envelope.rows.map((r) => r.callId), envelope.complete, now);
          if (missing === undefined) return drop({ direction: 'in', reason: 'capacity' });
          for (const row of envelope.rows) store.upsertRow(row);
          lose(missing, 'ending_missed', `instance ${envelope.instance} no longer carries the call; its ending did not reach this console`);
          return;
        }
        case 'hello':
          presence.heard(envelope.sender, envelope.instance, now);
          return answerSoon();
        case 'bye':
          return lose(presence.forget(envelope.sender), 'instance_lost', `instance ${envelope.instance} stopped`);
      }
    } catch (err) {
      // The console must never disturb anything else.
      logger.error({ err, kind: envelope.kind }, 'console channel: a message could not be applied');
    }
  };

  const outbound: CallEventListener = {
    onCallEvent(event: CallEvent) {
      if (closed) return;
      if (event.type === 'call.ended') local.delete(event.callId);
      else if (event.type === 'call.started' && local.size < MAX_LOCAL_CALLS) local.add(event.callId);
      if (event.type === 'transcript' && !options.transcripts) return;
      const message = encodeEventEnvelope(origin, event, options.transcripts);
      if (message === undefined) return drop({ direction: 'out', reason: 'too_large' });
      publish(message);
    },
  };

  return {
    outbound,
    sender: origin.sender,
    presence,
    start() {
      subscribe();
      schedule();
    },
    onSubscriberReady() {
      if (!subscribed) return subscribe();
      // Back after an outage (node-redis has subscribed again): what changed meanwhile comes with everyone's rows.
      publish(encodeSignal(origin, 'hello'));
    },
    onPublisherReady() {
      if (!closed) answerSoon();
    },
    receive,
    tick,
    close() {
      if (closed) return;
      publish(encodeSignal(origin, 'bye'));
      closed = true;
      clock.clearTimeout(timer);
      clock.clearTimeout(answerTimer);
      timer = answerTimer = undefined;
    },
    get inFlight() {
      return inFlight;
    },
  };
}

/** The drop counter on the /metrics registry. */
export function consoleChannelDropCounter(registry: Registry): (drop: DropReason) => void {
  const existing = registry.getSingleMetric('audiohook_console_fleet_dropped_total') as Counter<'direction' | 'reason'> | undefined;
  const counter =
    existing ??
    new Counter({
      name: 'audiohook_console_fleet_dropped_total',
      help: 'Console messages not sent to or not taken from the fleet channel (Redis down or slow, too large, malformed, beyond bounds)',
      labelNames: ['direction', 'reason'],
      registers: [registry],
    });
  for (const reason of ['unavailable', 'backlog', 'too_large', 'failed']) counter.inc({ direction: 'out', reason }, 0);
  for (const reason of ['malformed', 'too_large', 'capacity']) counter.inc({ direction: 'in', reason }, 0);
  return (drop) => counter.inc({ direction: drop.direction, reason: drop.reason });
}

export interface FleetConsoleOptions {
  /** The fleet's connection factory, key prefix and instance id (src/fleet/index.ts). */
  fleet: { instanceId: string; prefix: string; openConnection(purpose: string): RedisClient };
  console: ChannelConsole;
  transcripts: boolean;
  timeoutMs: number;
  logger: Logger;
  registry?: Registry;
}

export interface FleetConsole {
  readonly outbound: CallEventListener;
  readonly channel: ConsoleChannel;
  /** Says goodbye and closes both connections (after the calls drained, so their endings went out first). */
  close(): Promise<void>;
}

/** The channel on two connections of its own (publisher, subscriber), connecting in the background. */
export function startFleetConsole(options: FleetConsoleOptions): FleetConsole {
  const logger = options.logger.child({ component: 'console-fleet' });
  const publisher = options.fleet.openConnection('console-pub');
  const subscriber = options.fleet.openConnection('console-sub');
  const channel = createConsoleChannel({
    publisher,
    subscriber,
    channel: `${options.fleet.prefix}:console`,
    instance: options.fleet.instanceId,
    console: options.console,
    transcripts: options.transcripts,
    timeoutMs: options.timeoutMs,
    logger,
    ...(options.registry ? { onDrop: consoleChannelDropCounter(options.registry) } : {}),
  });
  let publisherSeen = false;
  publisher.on('ready', () => {
    // The first connection is announced by the timer and by others' hellos; a reconnection at once.
    if (publisherSeen) channel.onPublisherReady();
    publisherSeen = true;
  });
  subscriber.on('ready', () => channel.onSubscriberReady());
  void connectInBackground(publisher, 0, logger);
  void connectInBackground(subscriber, 0, logger);
  channel.start();
  logger.info({ channel: `${options.fleet.prefix}:console`, sender: channel.sender, timeoutMs: options.timeoutMs }, 'console shows the calls of every instance sharing REDIS_URL');
  let closing: Promise<void> | undefined;
  return {
    outbound: channel.outbound,
    channel,
    close() {
      closing ??= (async () => {
        channel.close();
        // QUIT waits for what was sent (the bye); a connection that is down is dropped.
        await Promise.all(
          [publisher, subscriber].map((c) => (c.isReady ? c.close().catch(() => destroyQuietly(c)) : Promise.resolve(destroyQuietly(c)))),
        );
      })();
      return closing;
    },
  };
}
