/**
 * A healthy session run alongside the fuzzed ones (own clock, socket and logger; only the process is
 * shared): a correct client pings and streams audio; at the end its output must be exactly what a
 * correct session produces, proving hostile sessions next to it changed nothing.
 */
import type { CallControl, ProtocolSession } from '../../src/audiohook/handler.js';
import { formatDurationMs } from '../../src/audiohook/duration.js';
import { createSession } from '../../src/audiohook/session.js';
import { createLogger } from '../../src/log/logger.js';
import { ManualClock } from '../../src/util/clock.js';
import { InvariantChecker } from './checker.js';
import { FUZZ_CONVERSATION_ID, FUZZ_ORG_ID, FUZZ_PARTICIPANT_ID, OFFERS } from './sequence.js';

const VICTIM_SESSION_ID = '7b2a4c1e-0d3f-4e5a-9b8c-6d7e8f901234';
const FRAME = 160;

export class VictimSession {
  private readonly clock = new ManualClock(0);
  private readonly check = new InvariantChecker(VICTIM_SESSION_ID);
  private readonly session: ProtocolSession;
  private control: CallControl | null = null;
  private seq = 0;
  private positionMs = 0;
  private pings = 0;
  private sentBytes = 0;
  private receivedBytes = 0;
  private mismatchedAudio = 0;
  private closeCauses: unknown[] = [];
  private steps = 0;

  constructor() {
    this.session = createSession({
      socket: this.check.socket(),
      sessionId: VICTIM_SESSION_ID,
      organizationId: FUZZ_ORG_ID,
      correlationId: VICTIM_SESSION_ID,
      connectorId: 'victim',
      logger: createLogger('silent'),
      clock: this.clock,
      createCall: (_context, control) => {
        this.control = control;
        return {
          onAudio: (ulaw) => {
            this.receivedBytes += ulaw.length;
            if (ulaw.some((b) => b !== 0x42)) this.mismatchedAudio++;
          },
          onClose: (cause) => {
            this.closeCauses.push(cause);
          },
        };
      },
    });
    this.send('open', {
      organizationId: FUZZ_ORG_ID,
      conversationId: FUZZ_CONVERSATION_ID,
      participant: { id: FUZZ_PARTICIPANT_ID, ani: 'tel:+1555', aniName: '', dnis: 'tel:+1800' },
      media: [OFFERS.pcmuMono],
    });
  }

  private send(type: string, parameters: Record<string, unknown>): void {
    const message = {
      version: '2',
      id: VICTIM_SESSION_ID,
      type,
      seq: ++this.seq,
      serverseq: this.check.serverSeq,
      position: formatDurationMs(this.positionMs),
      parameters,
    };
    this.check.noteClientText(message);
    this.check.pingInFlight = type === 'ping' ? message.seq : null;
    this.session.handleText(JSON.stringify(message));
    this.check.pingInFlight = null;
  }

  /** One step of an ordinary call: audio every step, a ping and a bot reply every fifth. */
  step(): void {
    this.steps++;
    this.session.handleBinary(new Uint8Array(FRAME).fill(0x42));
    this.sentBytes += FRAME;
    this.positionMs += FRAME / 8;
    this.clock.advance(20);
    if (this.steps % 5 === 0) {
      this.send('ping', {});
      this.pings++;
      this.control?.sendAudio(new Uint8Array(FRAME).fill(0xff));
    }
  }

  /** Closes the call and returns every deviation from a correct, undisturbed session. */
  async finish(): Promise<string[]> {
    const problems = [...this.check.violations];
    if (this.session.state !== 'active') problems.push(`victim state ${this.session.state} before close`);
    if (this.check.disconnectReason !== null) problems.push(`victim got disconnect ${this.check.disconnectReason}`);
    const pongs = this.check.types.filter((t) => t === 'pong').length;
    if (pongs !== this.pings) problems.push(`victim pongs ${pongs} != pings ${this.pings}`);
    if (this.receivedBytes !== this.sentBytes) problems.push(`victim audio ${this.receivedBytes} != ${this.sentBytes} bytes`);
    if (this.mismatchedAudio > 0) problems.push(`victim audio corrupted in ${this.mismatchedAudio} frames`);
    this.send('close', { reason: 'end' });
    await this.session.finished;
    if (this.check.types.at(-1) !== 'closed') problems.push('victim close not answered with closed');
    if (this.clock.pending !== 0) problems.push(`victim left ${this.clock.pending} timers`);
    if (this.closeCauses.length !== 1) problems.push(`victim onClose called ${this.closeCauses.length} times`);
    return problems;
  }

  get stepsRun(): number {
    return this.steps;
  }
}
