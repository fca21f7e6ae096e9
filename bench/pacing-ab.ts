/**
 * `npx tsx bench/pacing-ab.ts [pacers] [seconds] [rounds]`: the CPU of pacing alone, one timer per call
 * versus the shared 10 ms grid (src/util/coalescing-clock.ts), interleaved in one process. N real
 * OutboundPacers each receive a 1 s reply every 4 s (as in the capacity sweep, phases spread), and send
 * their frames to a counter instead of a socket; the figure is process CPU (user + system) per second of
 * pacing, and the event-loop wake-ups (timer callbacks that ran). Sockets are left out on purpose: what
 * changes between the two variants is the timers, and only that is measured.
 */
import { OutboundPacer } from '../src/audio/pacer.js';
import { systemClock, type Clock } from '../src/util/clock.js';
import { CoalescingClock } from '../src/util/coalescing-clock.js';

const pacers = Number(process.argv[2] ?? 500);
const seconds = Number(process.argv[3] ?? 8);
const rounds = Number(process.argv[4] ?? 3);
const REPLY = new Uint8Array(8000); // 1 s of μ-law

async function run(variant: (base: Clock) => Clock): Promise<{ cpuMsPerS: number; wakeups: number; frames: number }> {
  let frames = 0;
  let wakeups = 0;
  const base: Clock = {
    now: () => systemClock.now(),
    setTimeout: (cb, ms) => systemClock.setTimeout(() => (wakeups++, cb()), ms),
    clearTimeout: (h) => systemClock.clearTimeout(h),
  };
  const clock = variant(base);
  const list = Array.from({ length: pacers }, () => new OutboundPacer({ clock, send: () => (frames++, true) }));
  const feeders: NodeJS.Timeout[] = [];
  list.forEach((pacer, i) => {
    let n = 0;
    const feed = () => {
      const id = `r${n++}`;
      // 100 ms deltas, as the emulator streams them.
      for (let off = 0; off < REPLY.length; off += 800) pacer.enqueue(id, `i${id}`, REPLY.subarray(off, off + 800));
      pacer.endResponse(id);
    };
    feeders.push(setTimeout(() => (feed(), feeders.push(setInterval(feed, 4000))), (i * 4000) / pacers));
  });
  await new Promise((r) => setTimeout(r, 4000)); // every pacer in its cycle
  const cpu0 = process.cpuUsage();
  const [w0, f0] = [wakeups, frames];
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const elapsedS = (performance.now() - t0) / 1000;
  for (const t of feeders) clearInterval(t);
  for (const p of list) p.stop();
  return { cpuMsPerS: (cpu.user + cpu.system) / 1000 / elapsedS, wakeups: Math.round((wakeups - w0) / elapsedS), frames: Math.round((frames - f0) / elapsedS) };
}

const variants: Record<string, (base: Clock) => Clock> = {
  'timer per call': (base) => base,
  'shared 10 ms grid': (base) => new CoalescingClock(base, 10),
};
const results: Record<string, Array<Awaited<ReturnType<typeof run>>>> = {};
for (let r = 0; r < rounds; r++) {
  const names = Object.keys(variants);
  for (const name of r % 2 ? names.reverse() : names) (results[name] ??= []).push(await run(variants[name]!));
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
for (const [name, rs] of Object.entries(results)) {
  console.log(`${name}: ${median(rs.map((x) => x.cpuMsPerS)).toFixed(1)} ms CPU per s (${rs.map((x) => x.cpuMsPerS.toFixed(1)).join(', ')}), ${median(rs.map((x) => x.wakeups))} timer wake-ups/s, ${median(rs.map((x) => x.frames))} frames/s`);
}
