/**
 * The load generator in its own process for `npm run bench` (forked by run.ts with an IPC channel): the
 * simulated Genesys calls of load.ts, driven by commands (each answered with { id, value } or { id, error }):
 * - { cmd: 'open-latency', sequential, concurrent }: open → opened one at a time, then all at once;
 * - { cmd: 'open-step', calls, voice }: connects and opens the calls, waits until every model session is ready;
 * - { cmd: 'window-start' } / { cmd: 'window-end' } / { cmd: 'collect' } / { cmd: 'hang-up' }.
 */
import { epochNow, type LoadgenLog } from './join.js';
import { conversationalVoice, interruptingVoice, LoadWorld, mapLimit, sleep, type BenchCall, type VoicePolicy } from './load.js';

const VOICES: Record<string, VoicePolicy> = { conversational: conversationalVoice, interrupting: interruptingVoice, silent: () => false };
const world = new LoadWorld(process.env.BENCH_BRIDGE_URL ?? '');
let live: BenchCall[] = [];
let cpuAtStart = process.cpuUsage();

type Command =
  | { cmd: 'open-latency'; sequential: number; concurrent: number }
  | { cmd: 'open-step'; calls: number; voice: string }
  | { cmd: 'window-start' }
  | { cmd: 'window-end' }
  | { cmd: 'collect' }
  | { cmd: 'hang-up' };

async function handle(message: Command): Promise<unknown> {
  switch (message.cmd) {
    case 'open-latency': {
      const silent = VOICES.silent!;
      const sequential: number[] = [];
      for (let i = 0; i < message.sequential; i++) {
        const call = await world.connect(silent);
        sequential.push(await world.open(call));
        await world.hangUp(call);
      }
      const pending = (await mapLimit(Array.from({ length: message.concurrent }), 50, () => world.connect(silent))).results;
      const opens = await Promise.allSettled(pending.map((c) => world.open(c)));
      const concurrent = opens.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      await mapLimit(pending, 100, (c) => world.hangUp(c));
      return { sequential, concurrent, failures: opens.length - concurrent.length + (message.concurrent - pending.length) };
    }
    case 'open-step': {
      const voice = VOICES[message.voice] ?? conversationalVoice;
      world.resetRecorder();
      live = [];
      const { errors } = await mapLimit(Array.from({ length: message.calls }), 25, async () => {
        const call = await world.connect(voice);
        live.push(call);
        await world.open(call);
      });
      // Steady state: every call's model session ready (bot audio heard).
      const readyBy = performance.now() + 20_000;
      while (performance.now() < readyBy && live.filter((c) => c.measuring).length < live.length - errors.length) await sleep(200);
      return { opened: message.calls - errors.length, failures: errors.length, firstError: errors[0]?.message ?? null };
    }
    case 'window-start': {
      const r = world.recorder;
      r.log.windowStart = epochNow();
      r.logging = true;
      r.active = true;
      world.startLoopMonitor();
      cpuAtStart = process.cpuUsage();
      return r.log.windowStart;
    }
    case 'window-end': {
      const r = world.recorder;
      r.active = false;
      r.log.windowEnd = epochNow();
      const cpu = process.cpuUsage(cpuAtStart);
      return {
        callerFramesSent: r.callerFramesSent,
        lateCallerFrames: r.lateCallerFrames,
        maxCallerLatenessMs: Math.round(r.maxCallerLatenessMs * 10) / 10,
        botFrames: r.botFrames,
        lateBotFrames: r.lateBotFrames,
        lateBotGapsMs: r.lateBotGapsMs.slice(0, 20),
        botUnderruns: r.botUnderruns,
        maxBotUnderrunMs: Math.round(r.maxBotUnderrunMs),
        loopDelayP99Ms: world.stopLoopMonitor(),
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        // Calls the bridge ended (e.g. "model not ready" under overload) no longer stream.
        droppedCalls: live.filter((c) => c.client.session.state !== 'open').length,
      };
    }
    case 'collect': {
      const r = world.recorder;
      r.logging = false;
      const log: LoadgenLog = r.log;
      return log;
    }
    case 'hang-up':
      await mapLimit(live, 100, (c) => world.hangUp(c));
      live = [];
      return null;
  }
}

process.on('message', (message: Command & { id: number }) => {
  handle(message).then(
    (value) => process.send?.({ id: message.id, value }),
    (err: unknown) => process.send?.({ id: message.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
