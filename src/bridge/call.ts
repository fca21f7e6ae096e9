/**
 * The call bridge: one AudioHook call ↔ one Realtime model session. It is the CallHandlerFactory the
 * protocol session plugs in (src/audiohook/handler.ts). It keeps the conversation — greeting, DTMF,
 * language, barge-in, the call tools, farewell, transcript, usage — and leaves the model connection to
 * the model session (src/realtime/model-session.ts: connect, retry, reconnect, renewal, replay, response
 * scheduling) and the ending to one path (ending.ts). The call's phase is data (phase.ts).
 *
 * Shape of a call:
 * - caller audio goes to the model session, which holds it (bounded) until a session is ready;
 * - model audio goes through the pacer to Genesys; barge-in drops unsent audio, sends `barge_in` and
 *   truncates the model's items to what the caller heard;
 * - end_call / transfer_to_agent / max duration: the farewell plays out, then the ending runs;
 * - once the caller has talked with the bot, losing the model for good ends the call `completed` with
 *   ESCALATION_REQUIRED=true / ESCALATION_REASON=model_unavailable and the summary so far; before any
 *   session was ready there is no context to keep: `disconnect` error (the failure path).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { CallContext, CallControl, CallHandler, CallHandlerFactory, ClientErrorInfo, CloseCause } from '../audiohook/handler.js';
import { OutboundPacer, type OutboundPacerOptions } from '../audio/pacer.js';
import { ModelSession, type ModelSessionListener, type ResilienceEnv } from '../realtime/model-session.js';
import { END_CALL_TOOL, TRANSFER_TOOL } from '../realtime/session-config.js';
import type { CallTools } from '../tools/registry.js';
import { FILLER_PURPOSE, type ToolTurns } from '../tools/tool-turns.js';
import { CallBot, createCallToolTurns, type BotRouter } from './call-tools.js';
import { systemClock, type Clock } from '../util/clock.js';
import { coalescedClock } from '../util/coalescing-clock.js';
import { TimerScope } from '../util/timers.js';
import { BargeIn } from './barge-in.js';
import { BotSpeech } from './bot-speech.js';
import type { BridgeDeps, CallMetrics } from './bridge-deps.js';
import { CallEventPublisher } from './call-publisher.js';
import { KeypadRelay } from './dtmf.js';
import { Farewell, FAREWELL_PURPOSE, MAX_DURATION_FAREWELL, toolEnding, type BotEnding } from './farewell.js';
import { greetingPrompt } from './instructions.js';
import { planEnding, runEnding, type Ending } from './ending.js';
import { CallPhaseState } from './phase.js';
import { ConversationLog } from './conversation-log.js';
import { EarlyCallerAudio } from './early-audio.js';
import { InputVariableError, resolveCallConfig, type CallConfig } from './variables.js';

export type { ResilienceEnv };
export type { BotRouter };

export interface BridgeFactory extends CallHandlerFactory {
  /** Resolves when every call's background work (summary, webhook) is done: graceful shutdown. */
  drain(): Promise<void>;
}

export function createBridgeFactory(deps: BridgeDeps): BridgeFactory {
  const background = new Set<Promise<void>>();
  const factory = ((context: CallContext, control: CallControl): CallHandler => {
    const bridge = new CallBridge(context, control, deps, (work) => {
      background.add(work);
      void work.finally(() => background.delete(work));
    });
    return bridge.handler();
  }) as BridgeFactory;
  factory.drain = async () => {
    while (background.size > 0) await Promise.allSettled([...background]);
  };
  return factory;
}

export class CallBridge {
  /** Unique per call (an AudioHook session id can be reused by a client). */
  readonly callId = randomUUID();
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly wallClock: () => Date;
  private readonly metrics: CallMetrics | undefined;
  private readonly events: CallEventPublisher;
  private readonly startedAt: Date;
  private readonly startedMs: number;
  private readonly timers: TimerScope;
  private readonly phase = new CallPhaseState();
  private readonly pacer: OutboundPacer;
  private readonly keypad: KeypadRelay;
  private readonly bargeIn: BargeIn;
  private readonly conversation: ConversationLog;
  private config: CallConfig | undefined;
  private session: ModelSession | undefined;
  /** Caller audio while the call start waits for Data Action contracts (no session yet), else undefined. */
  private earlyAudio: EarlyCallerAudio | undefined;
  /** The bot this Connector ID selected (undefined: the single bot from env), fixed for the call. */
  private readonly bot: CallBot;
  private callTools: CallTools | undefined;
  private toolTurns: ToolTurns | undefined;
  private botEnding: BotEnding | undefined;
  private readonly farewell = new Farewell();
  private readonly botSpeech: BotSpeech;
  /** The caller's last words, committed when the call closed mid-utterance (awaited before the summary). */
  private lastWords: Promise<void> | undefined;

  constructor(
    private readonly context: CallContext,
    private readonly control: CallControl,
    private readonly deps: BridgeDeps,
    private readonly track: (work: Promise<void>) => void,
  ) {
    this.bot = new CallBot(deps.bots?.route(context.connectorId));
    this.log = context.logger.child({ component: 'bridge', ...(this.bot.name !== '' ? { bot: this.bot.name } : {}) });
    this.clock = deps.clock ?? systemClock;
    this.wallClock = deps.wallClock ?? (() => new Date());
    this.metrics = deps.metrics;
    this.events = new CallEventPublisher(this.callId, deps.events, this.wallClock, this.log);
    this.startedAt = this.wallClock();
    this.startedMs = this.clock.now();
    this.timers = new TimerScope(this.clock);
    this.conversation = new ConversationLog({
      events: this.events,
      control: this.control,
      botTurnEvents: () => deps.env.BOT_TURN_EVENTS && this.phase.allows('botTurnEvents'),
    });
    this.botSpeech = new BotSpeech({
      clock: this.clock,
      events: this.events,
      phase: this.phase,
      ...(this.metrics ? { firstBotAudioSeconds: this.metrics.firstBotAudioSeconds } : {}),
    });
    const createPacer = deps.createPacer ?? ((o: OutboundPacerOptions) => new OutboundPacer(o));
    this.pacer = createPacer({
      // Shared by every call's pacer: frames due in the same 10 ms go out in one wake-up (coalescing-clock.ts).
      clock: coalescedClock(this.clock),
      send: (frame) => {
        const sent = this.control.sendAudio(frame);
        if (sent) this.botSpeech.frameSent();
        return sent;
      },
      onOverflow: (info) => this.log.warn(info, 'outbound audio queue full; oldest audio dropped'),
    });
    this.keypad = new KeypadRelay({
      clock: this.clock,
      interDigitTimeoutMs: deps.env.DTMF_INTER_DIGIT_TIMEOUT_MS,
      model: () => this.session,
      accepting: () => this.phase.allows('dtmf'),
      onEntry: (count) => this.events.publish({ type: 'dtmf', count }),
      log: this.log,
    });
    this.bargeIn = new BargeIn({
      pacer: this.pacer,
      transcript: this.conversation.transcript,
      control: this.control,
      model: () => this.session,
      log: this.log,
      ...(this.metrics ? { metrics: this.metrics } : {}),
    });
    this.start();
  }

  handler(): CallHandler {
    const guard =
      <A extends unknown[]>(name: string, fn: (...args: A) => void) =>
      (...args: A): void => {
        try {
          fn(...args);
        } catch (err) {
          this.log.error({ err, callback: name }, 'bridge callback failed');
        }
      };
    return {
      onAudio: guard('onAudio', (ulaw: Uint8Array) => {
        // Once the bot is ending the call, caller audio could only start new turns that cut the farewell.
        if (!this.phase.allows('callerAudio')) return;
        if (this.session) this.session.appendAudio(ulaw);
        else this.earlyAudio?.append(ulaw);
      }),
      onDtmf: guard('onDtmf', (digit: string) => this.keypad.push(digit)),
      onPlaybackStarted: guard('onPlaybackStarted', () => this.pacer.playbackStarted()),
      onPlaybackCompleted: guard('onPlaybackCompleted', () => this.pacer.playbackCompleted()),
      // A 429's hold is the protocol session's (it refuses our audio meanwhile): here it is only logged.
      onClientError: guard('onClientError', (error: ClientErrorInfo) =>
        this.log.warn({ code: error.code, retryAfterMs: error.retryAfterMs }, 'Genesys reported an error'),
      ),
      // A Genesys pause (e.g. secure pause for card numbers): no relaying, and a half-utterance never becomes a turn.
      onPaused: guard('onPaused', () => {
        this.log.info('stream paused by Genesys; caller audio not relayed');
        if (this.session) this.session.pauseInput();
        else this.earlyAudio?.pause();
      }),
      onResumed: guard('onResumed', () => {
        this.log.info('stream resumed');
        if (this.session) this.session.resumeInput();
        else this.earlyAudio?.resume();
      }),
      onUpdate: guard('onUpdate', (params: { language?: string }) => this.onLanguageUpdate(params.language)),
      onShutdown: async () => {
        try {
          // Already ending (caller hung up, error, or the bot's summary in progress): that ending disconnects.
          if (this.isEnding) return;
          this.log.info('server shutdown: ending the call with escalation');
          await this.end({ kind: 'shutdown' });
        } catch (err) {
          this.log.error({ err }, 'bridge onShutdown failed');
        }
      },
      onClose: (cause: CloseCause) => {
        try {
          // Mid-utterance: the caller's last words go into the conversation before the summary is asked for.
          if (!this.isEnding) this.lastWords = this.session?.commitCallerSpeech();
          this.stopCallWork();
          if (this.isEnding) return;
          this.log.info({ cause }, 'call closed by Genesys');
          // Returns at once: the summary and the record continue in the background.
          this.background(this.end({ kind: 'closed', cause }));
        } catch (err) {
          this.log.error({ err }, 'bridge onClose failed');
        }
      },
    };
  }

  // ---------------------------------------------------------------- start-up

  /** On Azure the deployment decides the model (OPENAI_MODEL / AI_MODEL are not used there). */
  private get modelName(): string {
    const connect = this.deps.connect;
    if (!(connect instanceof Error) && connect.azure) return `azure:${connect.azure.deployment}`;
    return this.config?.settings.model ?? this.deps.env.OPENAI_MODEL;
  }

  private start(): void {
    const c = this.context;
    this.events.publish({
      type: 'call.started',
      sessionId: c.sessionId,
      conversationId: c.conversationId,
      connectorId: c.connectorId,
      bot: this.bot.name,
      instance: this.deps.instance ?? `${hostname()}/${process.pid}`,
    });
    this.events.setActivity('connecting');
    if (this.bot.refusal !== undefined) {
      // Refused at the upgrade already; only a reload between the upgrade and `open` gets here.
      this.fail(this.bot.refusal);
      return;
    }
    try {
      this.config = resolveCallConfig(this.context.inputVariables, this.deps.env, this.context.language, this.bot.profile);
    } catch (err) {
      if (err instanceof InputVariableError) {
        this.log.warn({ variable: err.variable }, 'invalid input variable; ending the call');
        this.fail(err.message);
        return;
      }
      throw err;
    }
    if (this.deps.connect instanceof Error) {
      this.fail(this.deps.connect.message);
      return;
    }
    // Immediate unless Data Action contracts must be read (one Platform API round trip, bounded).
    const tools = this.bot.openTools(this.config.dataActions, this.log);
    if (tools instanceof Promise) {
      // The caller talks meanwhile: held for the model session (bounded), nothing lost to the wait.
      this.earlyAudio = new EarlyCallerAudio();
      void tools.then((t) => this.startModel(t));
    } else this.startModel(tools);
  }

  private startModel(tools?: CallTools): void {
    const connect = this.deps.connect;
    // Ended while the tools were resolved (hang-up), or refused in start().
    if (this.isEnding || connect instanceof Error) {
      tools?.release();
      this.earlyAudio?.drop();
      this.earlyAudio = undefined;
      return;
    }
    this.callTools = tools;
    const config = this.config!;
    const settings = tools && tools.definitions.length > 0 ? { ...config.settings, tools: tools.definitions } : config.settings;
    this.config = { ...config, settings };
    if (tools) {
      this.toolTurns = createCallToolTurns({
        tools,
        clock: this.clock,
        fillerAfterMs: this.deps.env.TOOL_FILLER_AFTER_MS ?? 1200,
        ...(config.language !== undefined ? { language: config.language } : {}),
        ...(this.bot.profile?.holdingPhrase !== undefined ? { holdingPhrase: this.bot.profile.holdingPhrase } : {}),
        session: () => this.session,
        events: this.events,
        botSpeaking: () => this.pacer.isPlaying(),
        conversing: () => this.phase.phase === 'conversing',
        resultDelivered: (name, output) => this.conversation.transcript.toolResult(name, output),
        log: this.log,
      });
    }
    this.log.info(
      {
        model: this.modelName,
        voice: settings.voice,
        vad: settings.vad.type,
        greeting: config.greeting.kind,
        tools: settings.tools?.length ?? 0,
      },
      'call bridge started',
    );
    this.session = new ModelSession({
      connect: { ...connect, model: settings.model },
      settings,
      env: this.deps.env,
      logger: this.log,
      listener: this.modelListener(),
      conversation: () => ({ turns: this.conversation.transcript.replayTurns(), toolReplyPending: this.toolTurns?.owesReply ?? false }),
      botAudioOutstanding: () => this.pacer.isPlaying(),
      clock: this.clock,
      ...(this.deps.connectModel ? { connectModel: this.deps.connectModel } : {}),
      ...(this.deps.random ? { random: this.deps.random } : {}),
      ...(this.metrics ? { metrics: this.metrics } : {}),
    });
    const maxSeconds = this.deps.env.MAX_CALL_DURATION;
    if (maxSeconds !== undefined) this.timers.after(maxSeconds * 1000, () => this.onMaxCallDuration());
    const early = this.earlyAudio;
    if (early) {
      // Before the session opens: it holds this audio, in order, ahead of what comes next.
      this.log.info({ heldMs: early.heldMs, droppedMs: early.droppedMs }, 'caller audio of the tools wait handed to the model session');
      early.handOver(this.session);
      this.earlyAudio = undefined;
    }
    this.session.start();
  }

  // ---------------------------------------------------------------- model → conversation

  private modelListener(): ModelSessionListener {
    return {
      ready: ({ purpose }) => {
        if (purpose === 'initial') this.greet();
        else {
          this.events.publish({ type: 'model.reconnected', purpose });
          this.toolTurns?.sessionReady();
        }
        // After the greeting's request: keys pressed before the session was ready are answered after it.
        this.keypad.modelReady();
        if (this.events.currentActivity === 'connecting') this.events.setActivity('listening');
      },
      reconnecting: ({ unfinished }) => {
        this.toolTurns?.sessionReplaced();
        // The old session's responses can no longer finish: their unsent audio must not play into the gap,
        // and a reply cut before its end is marked so the replay says so.
        this.pacer.dropAll();
        for (const item of this.pacer.playingItems()) {
          if (unfinished.has(item.responseId)) this.conversation.transcript.markTruncated(item.itemId);
        }
        for (const id of unfinished) this.botSpeech.stopped(id);
      },
      unavailable: ({ cause, everReady, fatal }) => this.onModelUnavailable(cause, everReady, fatal),
      responseCreated: ({ responseId, purpose }) => this.farewell.responseCreated(responseId, purpose),
      audio: ({ responseId, itemId, audio }) => {
        if (this.bargeIn.isDiscarded(responseId) || !this.phase.allows('botAudio')) return;
        this.botSpeech.audioQueued(responseId);
        this.pacer.enqueue(responseId, itemId, audio);
      },
      botTranscript: (event, purpose) =>
        this.conversation.botTranscript(event.item_id, event.transcript, this.bargeIn.wasCut(event.response_id, event.item_id), purpose === FILLER_PURPOSE),
      itemAdded: ({ itemId, previousItemId, role }) => this.conversation.transcript.itemAdded(itemId, previousItemId, role),
      inputCommitted: (event) => this.conversation.transcript.itemAdded(event.item_id, event.previous_item_id, 'caller'),
      callerTranscript: (event) => this.conversation.callerTranscript(event.item_id, event.transcript, event.usage),
      speechStarted: () => {
        this.botSpeech.callerStartedSpeaking();
        this.events.publish({ type: 'caller.speech_started' });
        if (this.phase.phase === 'conversing') this.events.setActivity('caller_speaking');
        if (this.phase.allows('bargeIn')) {
          const interrupted = this.bargeIn.onCallerSpeech();
          if (interrupted) {
            this.events.publish({ type: 'barge_in', ...(interrupted.responseId !== undefined ? { responseId: interrupted.responseId } : {}) });
            for (const id of interrupted.responseIds) this.botSpeech.stopped(id);
          }
        }
      },
      speechStopped: () => {
        this.botSpeech.callerStoppedSpeaking();
        this.events.publish({ type: 'caller.speech_stopped' });
        if (this.phase.phase === 'conversing') this.events.setActivity('listening');
      },
      toolCall: ({ name, callId, arguments: args }) => this.onToolCall(name, callId, args),
      turnDone: ({ response, outOfBand }) => {
        this.conversation.responseDone(response.usage);
        if (outOfBand || !response.id) return;
        this.toolTurns?.responseDone(response.status ?? 'completed');
        this.pacer.endResponse(response.id);
        this.botSpeech.stopped(response.id);
        this.farewell.responseDone(response.id);
      },
    };
  }

  private greet(): void {
    const text = greetingPrompt(this.config!.greeting);
    if (text === undefined) return;
    this.session!.addItem({ type: 'message', role: 'system', content: [{ type: 'input_text', text }] });
    this.session!.requestReply();
    this.events.setActivity('greeting');
  }

  /** AudioHook `update` with a new language: re-send the session with that language's instructions. */
  private onLanguageUpdate(language: string | undefined): void {
    if (!language || !this.config || !this.phase.allows('languageUpdate')) return;
    let next: CallConfig;
    try {
      next = resolveCallConfig(this.context.inputVariables, this.deps.env, language, this.bot.profile);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'language update not applied');
      return;
    }
    // The call keeps the tools it started with.
    if (this.config.settings.tools) next = { ...next, settings: { ...next.settings, tools: this.config.settings.tools } };
    this.config = next;
    this.log.info({ language }, 'language updated');
    // A session being (re)opened picks the new settings up.
    this.session?.updateSettings(next.settings);
  }

  // ---------------------------------------------------------------- the bot ends the call

  private onToolCall(name: string, callId: string, rawArguments: string): void {
    if (this.toolTurns?.handles(name)) {
      // Runs off the model-event path: this returns at once (src/tools/tool-turns.ts).
      if (this.phase.allows('tools')) this.toolTurns.toolCall({ callId, name, arguments: rawArguments });
      return;
    }
    if (name !== END_CALL_TOOL && name !== TRANSFER_TOOL) {
      // The model waits for an output: give it the error and ask it to go on, or the caller hears nothing
      // until they speak again.
      // The name is the model's (a caller can steer it): cut it before it reaches a log line or the model.
      const shownName = name.slice(0, 64);
      this.log.warn({ tool: shownName }, 'model called an unknown tool');
      this.session?.sendToolResult(callId, { error: `unknown tool ${shownName}: no such function is available` }, true);
      return;
    }
    if (!this.phase.allows('botMayEnd')) return;
    this.log.info({ tool: name }, 'model requested the end of the call');
    this.session?.sendToolResult(callId, { ok: true });
    const { ending, instructions } = toolEnding(name === TRANSFER_TOOL, rawArguments);
    this.sayFarewell(ending, instructions);
  }

  /** MAX_CALL_DURATION reached: a polite goodbye, then `completed` with outputs. */
  private onMaxCallDuration(): void {
    if (!this.phase.allows('botMayEnd')) return;
    this.log.info({ seconds: this.deps.env.MAX_CALL_DURATION }, 'maximum call duration reached; ending the call');
    this.sayFarewell({ kind: 'bot_ended', reason: 'max_call_duration', detail: 'max_call_duration' }, MAX_DURATION_FAREWELL);
  }

  /** Asks for the farewell, then ends the call once it has played (or at once if the model is unusable). */
  private sayFarewell(ending: BotEnding, instructions: string): void {
    if (!this.phase.moveTo('farewell')) return;
    this.botEnding = ending;
    this.keypad.stop();
    this.session?.windDown();
    this.farewell.begin();
    // The reply's instructions replace the session's: keep the call's own (persona, language) in them.
    if (this.session?.isReady) this.session.say(`${this.config!.settings.instructions}\n\n${instructions}`, FAREWELL_PURPOSE);
    else this.farewell.abandon();
    this.background(this.finishBotEnded(ending));
  }

  private async finishBotEnded(ending: BotEnding): Promise<void> {
    const { farewellHeard, drained } = await this.farewell.played(this.clock, () => this.pacer.whenDrained(), this.deps.env.FAREWELL_TIMEOUT_MS);
    if (!farewellHeard || !drained) this.log.warn({ farewellHeard, drained }, 'farewell did not finish in time');
    // The caller hung up or the model failed meanwhile: that ending reports (end() refuses a second one).
    await this.end(ending);
  }

  // ---------------------------------------------------------------- endings

  /**
   * The model is gone. While the farewell plays, a lost session just ends the farewell. Otherwise: after a
   * conversation, `completed` with escalation; before any session was ready, the failure path.
   */
  private onModelUnavailable(cause: string, everReady: boolean, fatal: boolean): void {
    if (this.isEnding) return;
    if (this.phase.phase === 'farewell' && !fatal) {
      this.farewell.abandon();
      return;
    }
    if (!everReady) {
      this.fail(cause);
      return;
    }
    this.log.warn({ cause }, 'model unavailable mid-call; ending with escalation');
    this.background(this.end({ kind: 'model_unavailable', cause }));
  }

  private fail(info: string): void {
    if (this.isEnding) return;
    this.log.warn({ info }, 'ending the call with an error');
    this.background(this.end({ kind: 'failure', info }));
  }

  /** The ending runs or ran: later endings are ignored. */
  private get isEnding(): boolean {
    return this.phase.phase === 'ending' || this.phase.phase === 'ended';
  }

  /** The one ending path (ending.ts). A second ending while one runs is ignored: the first one reports. */
  private end(ending: Ending): Promise<void> {
    if (!this.phase.moveTo('ending')) return Promise.resolve();
    this.events.setActivity('ending');
    const pending = this.botEnding?.kind === 'escalated' ? this.botEnding.reason : undefined;
    const plan = planEnding(ending, { summaryTimeoutMs: this.deps.env.SUMMARY_TIMEOUT_MS, ...(pending !== undefined ? { pendingEscalation: pending } : {}) });
    return runEnding(
      {
        callId: this.callId,
        log: this.log,
        clock: this.clock,
        wallClock: this.wallClock,
        context: this.context,
        control: this.control,
        transcript: this.conversation.transcript,
        usage: () => this.conversation.usage,
        startedAt: this.startedAt,
        startedMs: this.startedMs,
        model: this.modelName,
        bot: this.bot.name,
        tools: () => this.callTools?.records ?? [],
        sink: this.deps.sink,
        stopCallWork: () => this.stopCallWork(),
        summarize: async (request, timeoutMs) => {
          if (!this.session) return { outcome: 'unavailable' as const };
          // The caller's last words (committed at hang-up) first: bounded by the session, counted in the timeout.
          const startedAt = this.clock.now();
          await this.lastWords;
          return this.session.summarize(request, Math.max(0, timeoutMs - (this.clock.now() - startedAt)));
        },
        closeModel: () => this.session?.close(),
        background: (work) => this.background(work),
        finished: (record, delivery) => {
          this.phase.moveTo('ended');
          this.events.publish({ type: 'call.ended', record, ...(delivery ? { delivery } : {}) });
          this.deps.onCallFinished?.(record, delivery);
        },
      },
      ending,
      plan,
    );
  }

  /**
   * The call is ending: no more audio, digits, retries or timers (summary waits use their own bounded
   * timers). A model connection attempt in progress is abandoned; a ready session stays for the summary.
   */
  private stopCallWork(): void {
    this.keypad.stop();
    this.pacer.stop();
    this.timers.clear();
    this.earlyAudio?.drop();
    this.session?.stop();
    this.farewell.abandon();
    // Hang-up (or any ending): running tools are cancelled, their results dropped; records say so.
    this.toolTurns?.close();
    this.callTools?.release();
  }

  private background(work: Promise<void>): void {
    this.track(work.catch((err: unknown) => this.log.error({ err }, 'call ending failed')));
  }
}
