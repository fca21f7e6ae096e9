/**
 * The call's side of tool turns (src/tools/tool-turns.ts): its port onto the model session's verbs and
 * the call events, so CallBridge only forwards tool calls and response ends.
 */
import type { Logger } from 'pino';
import type { BotRoute } from '../bots/directory.js';
import type { BotProfile } from '../bots/load.js';
import type { ModelSession } from '../realtime/model-session.js';
import { END_CALL_TOOL, TRANSFER_TOOL } from '../realtime/session-config.js';
import type { CallTools } from '../tools/registry.js';
import { ToolTurns } from '../tools/tool-turns.js';
import type { Clock } from '../util/clock.js';
import type { CallEventPublisher } from './call-publisher.js';

/** Which bot a Connector ID selects (src/bots BotDirectory), with the tools its calls use. */
export interface BotRouter {
  route(connectorId: string): BotRoute;
}

/**
 * The call's bot, fixed when the call starts (a BOTS_FILE reload during the call does not change it):
 * its name ('' for the single bot from env), profile, and the tools it may use.
 */
export class CallBot {
  readonly name: string;
  readonly profile: BotProfile | undefined;
  /** Why the call has no bot (a reload between the upgrade and `open` removed it). */
  readonly refusal: string | undefined;

  constructor(
    private readonly route: BotRoute | undefined,
  ) {
    this.profile = route?.ok ? route.profile : undefined;
    this.name = this.profile?.name ?? '';
    this.refusal = route && !route.ok ? route.reason : undefined;
  }

  /**
   * The call's tools: undefined without bot routing, or when they cannot be had (logged; the call goes on).
   * Synchronous unless Data Action contracts must be read first.
   */
  openTools(
    dataActions: ReadonlyArray<{ id: string; description?: string }>,
    logger: Logger,
  ): CallTools | undefined | Promise<CallTools | undefined> {
    if (!this.route?.ok) return undefined;
    const failed = (err: unknown) => {
      logger.error({ err }, 'tools unavailable for this call');
      return undefined;
    };
    try {
      const tools = this.route.tools.forCall({ bot: this.name, toolNames: this.profile?.tools ?? [], dataActions, logger });
      return tools instanceof Promise ? tools.catch(failed) : tools;
    } catch (err) {
      return failed(err);
    }
  }
}

export interface CallToolTurnsDeps {
  tools: CallTools;
  clock: Clock;
  fillerAfterMs: number;
  language?: string;
  holdingPhrase?: string;
  session: () => ModelSession | undefined;
  events: CallEventPublisher;
  /** Bot audio is still playing to the caller. */
  botSpeaking: () => boolean;
  /** The call is in its conversing phase (activity updates only then). */
  conversing: () => boolean;
  /** A tool result went to the model session: kept in the conversation the replay is built from. */
  resultDelivered: (name: string, output: string) => void;
  log: Logger;
}

export function createCallToolTurns(d: CallToolTurnsDeps): ToolTurns {
  const turns: ToolTurns = new ToolTurns({
    tools: d.tools,
    clock: d.clock,
    fillerAfterMs: d.fillerAfterMs,
    ...(d.language !== undefined ? { language: d.language } : {}),
    ...(d.holdingPhrase !== undefined ? { holdingPhrase: d.holdingPhrase } : {}),
    dropped: (names, status) => d.log.info({ tools: names.map((n) => n.slice(0, 64)), status }, 'tool calls of an unfinished response not run'),
    port: {
      sendToolResult: (callId, output) => d.session()?.sendToolResult(callId, output),
      addNote: (text) => d.session()?.addItem({ type: 'message', role: 'system', content: [{ type: 'input_text', text }] }),
      requestReply: () => d.session()?.requestReply(),
      say: (instructions, purpose) => d.session()?.say(instructions, purpose),
      callerSpeaking: () => d.events.currentActivity === 'caller_speaking',
      botSpeaking: d.botSpeaking,
      handlesItself: (name) => name === END_CALL_TOOL || name === TRANSFER_TOOL,
      delivered: ({ name, output }) => d.resultDelivered(name, output),
      started: ({ toolCallId, name }) => {
        d.events.publish({ type: 'tool.started', toolCallId, name });
        if (d.conversing()) d.events.setActivity('tool_running');
      },
      finished: (event) => {
        d.events.publish({ type: 'tool.finished', ...event });
        if (turns.pending === 0 && d.events.currentActivity === 'tool_running') d.events.setActivity('listening');
      },
    },
  });
  return turns;
}
