/**
 * The operations console's cost to calls: browsers stand-ins (Server-Sent Events readers, as EventSource
 * reads them) signed in to the bridge under test, each following the live view and one call's timeline.
 * The bridge's per-call CPU is compared with and without them (run.ts).
 */

export const BENCH_CONSOLE_TOKEN = 'bench-console-token-0123456789';

export interface ConsoleCost {
  calls: number;
  consoles: number;
  windowMs: number;
  /** Bridge CPU (100% = one core) over the window without consoles: two runs, before and after. */
  withoutCpuPercent: number[];
  withCpuPercent: number;
  /** Bridge CPU per call, % of one core: without consoles (mean of the two runs) and with them. */
  perCallWithoutPercent: number;
  perCallWithPercent: number;
  /** What each console received while measured. */
  bytesPerConsolePerSecond: number;
  messagesPerConsole: number;
  /** Consoles the bridge disconnected (slow reader) or that failed. */
  consolesLost: number;
}

interface Reader {
  bytes: number;
  messages: number;
  lost: boolean;
  abort: AbortController;
}

export interface OpenConsoles {
  /** Starts counting from zero (the snapshot is not part of the window). */
  resetCounts(): void;
  totals(): { bytes: number; messages: number; lost: number };
  close(): void;
}

async function signIn(base: string): Promise<string> {
  const res = await fetch(`${base}/console/login`, {
    method: 'POST',
    body: `token=${encodeURIComponent(BENCH_CONSOLE_TOKEN)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  const cookie = res.headers.get('set-cookie')?.split(';')[0];
  if (res.status !== 303 || !cookie) throw new Error(`console sign-in failed: HTTP ${res.status}`);
  return cookie;
}

function read(url: string, cookie: string, onFirst?: (text: string) => void): Reader {
  const reader: Reader = { bytes: 0, messages: 0, lost: false, abort: new AbortController() };
  void (async () => {
    try {
      const res = await fetch(url, { headers: { cookie }, signal: reader.abort.signal });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      const decoder = new TextDecoder();
      let first = '';
      for await (const chunk of res.body) {
        reader.bytes += chunk.byteLength;
        const text = decoder.decode(chunk, { stream: true });
        reader.messages += text.split('\n\ndata: ').length - 1 + (text.startsWith('data: ') ? 1 : 0);
        if (onFirst && first.length < 1_000_000) {
          first += text;
          if (first.includes('}\n\n')) {
            onFirst(first);
            onFirst = undefined;
          }
        }
      }
      reader.lost = !reader.abort.signal.aborted;
    } catch {
      reader.lost = !reader.abort.signal.aborted;
    }
  })();
  return reader;
}

/** Signs in once and opens `count` streams, each watching one of the live calls (round robin). */
export async function openConsoles(port: number, count: number): Promise<OpenConsoles> {
  const base = `http://127.0.0.1:${port}`;
  const cookie = await signIn(base);
  // One look at the live view to learn the calls' ids.
  const ids = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no console snapshot within 10 s')), 10_000);
    const probe = read(`${base}/console/api/stream`, cookie, (text) => {
      clearTimeout(timer);
      probe.abort.abort();
      const json = text.slice(text.indexOf('data: ') + 6, text.indexOf('\n\n', text.indexOf('data: ')));
      resolve((JSON.parse(json) as { live: Array<{ callId: string }> }).live.map((r) => r.callId));
    });
  });
  const readers = Array.from({ length: count }, (_, i) => {
    const watch = ids.length > 0 ? `?call=${encodeURIComponent(ids[i % ids.length]!)}` : '';
    return read(`${base}/console/api/stream${watch}`, cookie);
  });
  return {
    resetCounts() {
      for (const r of readers) r.bytes = r.messages = 0;
    },
    totals: () => ({
      bytes: readers.reduce((a, r) => a + r.bytes, 0),
      messages: readers.reduce((a, r) => a + r.messages, 0),
      lost: readers.filter((r) => r.lost).length,
    }),
    close() {
      for (const r of readers) r.abort.abort();
    },
  };
}
