/**
 * Fuzz slice in the normal test run: 3,000 structure-aware hostile cases through the protocol session
 * (fixed seed, deterministic), plus proof that the invariant checker catches what it claims to.
 * The long campaign is scripts/fuzz.ts.
 */
import { describe, expect, it } from 'vitest';
import { runCampaign } from './campaign.js';
import { InvariantChecker } from './checker.js';
import { MUTATOR_NAMES, mutate } from './mutate.js';
import { caseSeed, Prng } from './prng.js';
import { buildCase } from './run-case.js';
import { FUZZ_SESSION_ID, OFFERS, validSequence } from './sequence.js';

const SEED = 20_240_601;

function serverText(seq: number, type: string, parameters: Record<string, unknown>, clientseq = 1): string {
  return JSON.stringify({ version: '2', id: FUZZ_SESSION_ID, type, seq, clientseq, parameters });
}

describe('fuzz: the protocol session under hostile input', () => {
  it('3,000 mutated sequences: no invariant violated, nothing leaked, the victim session undisturbed', async () => {
    const result = await runCampaign({ seed: SEED, cases: 3_000 });
    expect(result.failures).toEqual([]);
    expect(result.crashes).toBe(0);
    expect(result.leaked).toBe(0);
    expect(result.victimProblems).toEqual([]);
    expect(result.victimSteps).toBe(300);
    // The campaign really exercised both sides: valid calls, opened sessions, protocol errors, close transactions.
    expect(result.validCases).toBeGreaterThan(300);
    expect(result.opened).toBeGreaterThan(1_000);
    expect(result.disconnected.error ?? 0).toBeGreaterThan(500);
    expect(result.disconnected.unauthorized ?? 0).toBeGreaterThan(0);
    expect(result.closedSent).toBeGreaterThan(1_000);
  }, 60_000);

  it('cases are reproducible from (seed, index)', () => {
    const a = buildCase(SEED, 1234);
    const b = buildCase(SEED, 1234);
    expect(JSON.stringify(a, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v.subarray(0, 16)) : v))).toBe(
      JSON.stringify(b, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v.subarray(0, 16)) : v)),
    );
    expect(caseSeed(SEED, 1)).not.toBe(caseSeed(SEED, 2));
  });

  it('every mutator can fire', () => {
    const seen = new Set<string>();
    const rng = new Prng(7);
    for (let i = 0; i < 2_000 && seen.size < MUTATOR_NAMES.length; i++) {
      for (const label of mutate(validSequence(rng), rng, 1)) if (!label.endsWith('noop')) seen.add(label.split(':')[0]!);
    }
    expect([...seen].sort()).toEqual([...MUTATOR_NAMES].sort());
  });
});

describe('fuzz: the invariant checker detects broken sessions', () => {
  function checker() {
    const check = new InvariantChecker();
    check.noteClientText({ seq: 1, type: 'open', parameters: { media: [OFFERS.pcmuMono] } });
    return { check, socket: check.socket() };
  }

  it('accepts a correct exchange', () => {
    const { check, socket } = checker();
    socket.sendText(serverText(1, 'opened', { startPaused: false, media: [OFFERS.pcmuMono] }));
    socket.sendBinary(new Uint8Array(160));
    socket.sendText(serverText(2, 'disconnect', { reason: 'completed' }));
    socket.sendText(serverText(3, 'closed', {}));
    socket.close();
    expect(check.violations).toEqual([]);
  });

  it.each([
    ['seq gap', (s: ReturnType<typeof checker>['socket']) => s.sendText(serverText(2, 'pong', {})), /server seq 2 after 0/],
    ['invalid message', (s: ReturnType<typeof checker>['socket']) => s.sendText(serverText(1, 'pong', { extra: 1 })), /invalid server message/],
    ['unsent clientseq', (s: ReturnType<typeof checker>['socket']) => s.sendText(serverText(1, 'pong', {}, 7)), /clientseq 7 was never sent/],
    ['audio before opened', (s: ReturnType<typeof checker>['socket']) => s.sendBinary(new Uint8Array(160)), /audio sent without negotiated media/],
    ['event before opened', (s: ReturnType<typeof checker>['socket']) => s.sendText(serverText(1, 'event', { entities: [{ type: 'x', data: 1 }] })), /event sent before opened/],
    [
      'media not offered',
      (s: ReturnType<typeof checker>['socket']) => s.sendText(serverText(1, 'opened', { startPaused: false, media: [OFFERS.l16Mono] })),
      /not an offered entry/,
    ],
  ])('flags %s', (_name, act, pattern) => {
    const { check, socket } = checker();
    act(socket);
    expect(check.violations.join('\n')).toMatch(pattern);
  });

  it('flags a second disconnect, non-closing traffic after disconnect, anything after closed or after close()', () => {
    const { check, socket } = checker();
    socket.sendText(serverText(1, 'opened', { startPaused: false, media: [OFFERS.pcmuMono] }));
    socket.sendText(serverText(2, 'disconnect', { reason: 'error' }));
    socket.sendText(serverText(3, 'disconnect', { reason: 'error' }));
    socket.sendText(serverText(4, 'updated', {}));
    socket.sendBinary(new Uint8Array(160));
    socket.sendText(serverText(5, 'closed', {}));
    socket.sendText(serverText(6, 'pong', {}));
    socket.close();
    socket.sendText(serverText(7, 'pong', {}));
    const all = check.violations.join('\n');
    for (const pattern of [/second disconnect/, /updated sent after disconnect/, /audio sent after disconnect/, /message sent after closed/, /after the transport closed/]) {
      expect(all).toMatch(pattern);
    }
  });

  it('flags a pong that does not answer the ping being handled, and partial audio frames', () => {
    const { check, socket } = checker();
    check.noteClientText({ seq: 1, type: 'open', parameters: { media: [OFFERS.l16Stereo] } });
    check.noteClientText({ seq: 2, type: 'ping', parameters: {} });
    socket.sendText(serverText(1, 'opened', { startPaused: false, media: [OFFERS.l16Stereo] }, 1));
    check.pingInFlight = 2;
    socket.sendText(serverText(2, 'pong', {}, 1));
    socket.sendBinary(new Uint8Array(6));
    expect(check.violations).toEqual([
      'pong.clientseq 1 does not answer ping seq 2',
      'audio of 6 bytes is not whole 4-byte frames',
    ]);
  });
});
