/**
 * Health at a glance: per-interval points (a minute by default, the last hour) built from the same
 * figures /metrics serves. The figures are read through `HealthSource`, a narrow interface; the one the
 * server uses reads the Prometheus registry's own values (`registryHealthSource`), never the text format.
 */
import type { Registry } from 'prom-client';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { HealthPoint, HealthView } from './wire.js';

/** Cumulative figures at one moment (counters since start; liveCalls is a gauge). */
export interface HealthReading {
  liveCalls: number;
  /** Calls ended (every session end reason except connection probes). */
  callsEnded: number;
  firstBotAudioSecondsSum: number;
  firstBotAudioCount: number;
  bargeIns: number;
  modelErrors: number;
  /** Webhook deliveries given up on (failed or dropped). */
  webhookFailures: number;
}

export interface HealthSource {
  read(): Promise<HealthReading>;
}

/** Series names as src/server/metrics.ts registers them (test/console/health.test.ts checks them against it). */
export const HEALTH_SERIES = {
  liveCalls: 'audiohook_active_sessions',
  sessions: 'audiohook_sessions_total',
  firstBotAudio: 'audiohook_first_bot_audio_seconds',
  bargeIns: 'audiohook_barge_ins_total',
  modelErrors: 'audiohook_model_errors_total',
  webhookDeliveries: 'audiohook_webhook_deliveries_total',
} as const;

interface MetricValue {
  value: number;
  labels: Record<string, string | number | undefined>;
  metricName?: string;
}

/** Reads the figures from a prom-client registry's metric objects (values, not exposition text). */
export function registryHealthSource(registry: Registry): HealthSource {
  const values = async (name: string): Promise<MetricValue[]> => {
    const metric = registry.getSingleMetric(name);
    if (!metric) return [];
    return ((await metric.get()) as { values: MetricValue[] }).values;
  };
  const sum = (vs: MetricValue[], keep: (v: MetricValue) => boolean = () => true) =>
    vs.filter(keep).reduce((total, v) => total + v.value, 0);
  return {
    async read() {
      const [live, sessions, latency, bargeIns, modelErrors, webhook] = await Promise.all([
        values(HEALTH_SERIES.liveCalls),
        values(HEALTH_SERIES.sessions),
        values(HEALTH_SERIES.firstBotAudio),
        values(HEALTH_SERIES.bargeIns),
        values(HEALTH_SERIES.modelErrors),
        values(HEALTH_SERIES.webhookDeliveries),
      ]);
      return {
        liveCalls: sum(live),
        callsEnded: sum(sessions, (v) => v.labels.reason !== 'probe'),
        firstBotAudioSecondsSum: sum(latency, (v) => v.metricName === `${HEALTH_SERIES.firstBotAudio}_sum`),
        firstBotAudioCount: sum(latency, (v) => v.metricName === `${HEALTH_SERIES.firstBotAudio}_count`),
        bargeIns: sum(bargeIns),
        modelErrors: sum(modelErrors),
        webhookFailures: sum(webhook, (v) => v.labels.outcome === 'failed' || v.labels.outcome === 'dropped'),
      };
    },
  };
}

/** A point from two consecutive readings `intervalMs` apart; counts scaled to per minute. */
export function healthPoint(previous: HealthReading, current: HealthReading, intervalMs: number, t: number): HealthPoint {
  const perMinute = (a: number, b: number) => Math.max(0, Math.round(((b - a) * 60_000) / intervalMs * 10) / 10);
  const latencyCount = current.firstBotAudioCount - previous.firstBotAudioCount;
  return {
    t,
    liveCalls: current.liveCalls,
    callsPerMinute: perMinute(previous.callsEnded, current.callsEnded),
    firstBotAudioMs:
      latencyCount > 0 ? Math.round(((current.firstBotAudioSecondsSum - previous.firstBotAudioSecondsSum) / latencyCount) * 1000) : null,
    bargeIns: perMinute(previous.bargeIns, current.bargeIns),
    modelErrors: perMinute(previous.modelErrors, current.modelErrors),
    webhookFailures: perMinute(previous.webhookFailures, current.webhookFailures),
  };
}

export interface HealthRecorderOptions {
  source: HealthSource;
  clock: Clock;
  /** Epoch ms for point timestamps. */
  wallClockMs?: () => number;
  /** Default 60 s. */
  intervalMs?: number;
  /** Points kept (default 60: an hour of minutes). */
  points?: number;
  onPoint?: (view: HealthView) => void;
  onError?: (err: unknown) => void;
}

export class HealthRecorder {
  readonly intervalMs: number;
  private readonly maxPoints: number;
  private readonly points: HealthPoint[] = [];
  private previous: HealthReading | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly options: HealthRecorderOptions) {
    this.intervalMs = options.intervalMs ?? 60_000;
    this.maxPoints = options.points ?? 60;
  }

  /** Takes the baseline reading, then a point every interval. */
  async start(): Promise<void> {
    this.previous = await this.options.source.read();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.options.clock.clearTimeout(this.timer);
  }

  view(): HealthView {
    return { intervalMs: this.intervalMs, points: this.points.slice() };
  }

  /** One sample now (the timer calls this; tests may too). */
  async sample(): Promise<void> {
    const current = await this.options.source.read();
    const t = (this.options.wallClockMs ?? Date.now)();
    if (this.previous) {
      this.points.push(healthPoint(this.previous, current, this.intervalMs, t));
      while (this.points.length > this.maxPoints) this.points.shift();
      this.options.onPoint?.(this.view());
    }
    this.previous = current;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.sample().then(
        () => this.schedule(),
        (err: unknown) => {
          this.options.onError?.(err);
          this.schedule();
        },
      );
    }, this.intervalMs);
  }
}
