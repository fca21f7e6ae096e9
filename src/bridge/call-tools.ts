/**
 * The call's side of tool turns (src/tools/tool-turns.ts): its port onto the model session's verbs and
 * the call events, so CallBridge only forwards tool calls and response ends.
 */
import type { Logger } from 'pino';
import type { ModelSession } from '../realtime/model-session.js';
import { END_CALL_TOOL, TRANSFER_TOOL } from '../realtime/session-config.js';
import type { CallTools } from '../tools/registry.js';
import { ToolTurns } from '../tools/tool-turns.js';
import type { Clock } from '../util/clock.js';
import type { CallEventPublisher } from './call-publisher.js';

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
      requestReply: () => d.session()?.requestReply(),
      say: (instructions, purpose) => d.session()?.say(instructions, purpose),
      callerSpeaking: () => d.events.currentActivity === 'caller_speaking',
      botSpeaking: d.botSpeaking,
      handlesItself: (name) => name === END_CALL_TOOL || name === TRANSFER_TOOL,
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
