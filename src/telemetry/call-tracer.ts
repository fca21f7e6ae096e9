/**
 * Call milestones (src/bridge/call-events.ts) as OpenTelemetry spans, one trace per call:
 *
 *   call                       call.started → call.ended (bot, Connector ID, conversation id, ending)
 *   ├─ model.connect           activity `connecting` → the first other activity (the model is ready)
 *   ├─ model.turn              caller end of speech → first bot audio of the reply
 *   ├─ tool.call               tool.started → tool.finished (name and outcome, never arguments)
 *   ├─ call.summary            activity `ending` → the call record handed to the webhook (summary,
 *   │                          output variables, disconnect), or call.ended without a webhook
 *   └─ webhook.deliver         the delivery with its retries
 *      └─ POST                 one HTTP attempt, carrying W3C `traceparent`
 *
 * No caller data: no number, no transcript, no DTMF, no tool arguments, no webhook URL (it may hold a
 * token). Spans are started and ended with the events' own times. Memory is bounded: at most
 * `maxOpenCalls` calls are tracked (the oldest is ended as abandoned beyond it), and a call's spans are
 * released when it ends.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE } from '@opentelemetry/semantic-conventions';
import type { CallEvent, CallEventListener } from '../bridge/call-events.js';
import type { CallRecord, CallRecordSink } from '../bridge/webhook.js';

/** Attribute names of our own (no semantic convention covers a contact-center call). */
export const CALL_ATTRIBUTES = {
  bot: 'audiohook.bot',
  connectorId: 'audiohook.connector_id',
  conversationId: 'audiohook.conversation_id',
  sessionId: 'audiohook.session_id',
  instance: 'audiohook.instance',
  ending: 'audiohook.call.ending',
  escalated: 'audiohook.call.escalated',
  responseId: 'audiohook.response_id',
  replied: 'audiohook.turn.replied',
  toolName: 'audiohook.tool.name',
  toolOutcome: 'audiohook.tool.outcome',
  deliveryAttempts: 'audiohook.webhook.attempts',
  delivered: 'audiohook.webhook.delivered',
  idempotencyKey: 'audiohook.webhook.idempotency_key',
} as const;

/** Tool calls open at once per call beyond which new ones are not traced (a runaway model). */
const MAX_OPEN_TOOLS = 32;
/** Ended calls remembered so a late webhook delivery (shutdown, spool retry) still joins its trace. */
const RECENTLY_ENDED = 1024;

interface CallTrace {
  callId: string;
  sessionId: string;
  span: Span;
  context: Context;
  connect?: Span;
  turn?: Span;
  summary?: Span;
  tools: Map<string, Span>;
}

export interface CallTracerOptions {
  maxOpenCalls?: number;
}

/** The W3C trace-context header for a span: `00-<trace id>-<span id>-<flags>`. */
export function traceparentOf(spanContext: SpanContext): string {
  return `00-${spanContext.traceId}-${spanContext.spanId}-${(spanContext.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

export class CallTracer implements CallEventListener {
  private readonly calls = new Map<string, CallTrace>();
  /** sessionId → call id of an open call (the call record names the session, not our call id). */
  private readonly openBySession = new Map<string, string>();
  /**
   * sessionId → the trace context of a recently ended call (ids only, no span kept alive), so a late webhook
   * delivery (shutdown, spool retry) still joins its trace. At most RECENTLY_ENDED.
   */
  private readonly endedBySession = new Map<string, Context>();
  /** idempotency key → the delivery span in progress (the HTTP attempts join it). */
  private readonly deliveries = new Map<string, Span>();
  /** tool call id → its span while it runs (an HTTP tool sends the id as its Idempotency-Key). */
  private readonly runningTools = new Map<string, Span>();
  private readonly maxOpenCalls: number;

  constructor(
    private readonly tracer: Tracer,
    options: CallTracerOptions = {},
  ) {
    this.maxOpenCalls = options.maxOpenCalls ?? 10_000;
  }

  /** Calls being traced now (for tests and a bound check). */
  get openCalls(): number {
    return this.calls.size;
  }

  onCallEvent(event: CallEvent): void {
    if (event.type === 'call.started') {
      this.start(event);
      return;
    }
    const call = this.calls.get(event.callId);
    if (!call) return;
    const at = event.at;
    switch (event.type) {
      case 'activity':
        if (event.activity === 'connecting') {
          call.connect ??= this.child(call, 'model.connect', at, SpanKind.CLIENT);
        } else if (call.connect) {
          // Straight to ending: the model never became ready (refused, unavailable, bad input variable).
          if (event.activity === 'ending') call.connect.setStatus({ code: SpanStatusCode.ERROR, message: 'model not ready' });
          call.connect.end(at);
          delete call.connect;
        }
        if (event.activity === 'ending' && !call.summary) {
          this.endTurn(call, at, false);
          call.summary = this.child(call, 'call.summary', at);
        }
        break;
      case 'caller.speech_stopped':
        // A new end of speech before any reply: the caller went on talking; the model's turn starts again.
        this.endTurn(call, at, false);
        call.turn = this.child(call, 'model.turn', at);
        break;
      case 'bot.speech_started':
        if (call.turn) {
          call.turn.setAttribute(CALL_ATTRIBUTES.responseId, event.responseId);
          this.endTurn(call, at, true);
        }
        break;
      case 'tool.started':
        if (call.tools.size < MAX_OPEN_TOOLS && !call.tools.has(event.toolCallId)) {
          const span = this.child(call, 'tool.call', at);
          span.setAttribute(CALL_ATTRIBUTES.toolName, event.name);
          call.tools.set(event.toolCallId, span);
          this.runningTools.set(event.toolCallId, span);
        }
        break;
      case 'tool.finished': {
        const span = call.tools.get(event.toolCallId);
        if (!span) break;
        call.tools.delete(event.toolCallId);
        this.runningTools.delete(event.toolCallId);
        span.setAttribute(CALL_ATTRIBUTES.toolOutcome, event.outcome);
        if (event.outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: event.outcome });
        span.end(at);
        break;
      }
      case 'model.reconnected':
        call.span.addEvent('model.reconnected', { 'audiohook.model.purpose': event.purpose }, at);
        break;
      case 'barge_in':
        call.span.addEvent('barge_in', {}, at);
        break;
      case 'call.ended':
        this.end(call, event.record, at);
        break;
      default:
        // transcript, dtmf, caller.speech_started, bot.speech_stopped: nothing to trace (or personal data).
        break;
    }
  }

  /**
   * Headers for an outgoing HTTP request of a running tool call (`traceparent` of its span), so the
   * tool's server joins the call's trace. Empty when the call or tool is not traced.
   */
  toolRequestHeaders(callId: string, toolCallId: string): Record<string, string> {
    const span = this.calls.get(callId)?.tools.get(toolCallId);
    return span ? { traceparent: traceparentOf(span.spanContext()) } : {};
  }

  /** Wraps the call-record sink: each delivery becomes a `webhook.deliver` span in the call's trace. */
  wrapSink(inner: CallRecordSink): CallRecordSink {
    return {
      deliver: async (record) => {
        const openId = this.openBySession.get(record.session_id);
        const call = openId === undefined ? undefined : this.calls.get(openId);
        const parent = call?.context ?? this.endedBySession.get(record.session_id) ?? ROOT_CONTEXT;
        const now = Date.now();
        if (call?.summary) {
          call.summary.end(now);
          delete call.summary;
        }
        const span = this.tracer.startSpan('webhook.deliver', { startTime: now, attributes: { [CALL_ATTRIBUTES.idempotencyKey]: record.idempotency_key } }, parent);
        this.deliveries.set(record.idempotency_key, span);
        try {
          const result = await inner.deliver(record);
          span.setAttributes({ [CALL_ATTRIBUTES.deliveryAttempts]: result.attempts, [CALL_ATTRIBUTES.delivered]: result.delivered });
          if (result.status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, result.status);
          if (!result.delivered) span.setStatus({ code: SpanStatusCode.ERROR, message: result.error ?? `status ${result.status ?? 'none'}` });
          return result;
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          this.deliveries.delete(record.idempotency_key);
          span.end();
        }
      },
    };
  }

  /**
   * Wraps `fetch` for the webhook sender and HTTP tools: a request whose `idempotency-key` header belongs to
   * a delivery in progress, or to a running tool call, becomes a client span under it and carries its
   * `traceparent`. Other requests pass untouched.
   */
  wrapFetch(inner: typeof fetch): typeof fetch {
    return async (input, init) => {
      const headers = new Headers(init?.headers);
      const key = headers.get('idempotency-key');
      const parent = key === null ? undefined : (this.deliveries.get(key) ?? this.runningTools.get(key));
      if (!parent) return inner(input, init);
      const method = (init?.method ?? 'GET').toUpperCase();
      const span = this.tracer.startSpan(method, { kind: SpanKind.CLIENT, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method } }, trace.setSpan(ROOT_CONTEXT, parent));
      headers.set('traceparent', traceparentOf(span.spanContext()));
      try {
        const response = await inner(input, { ...init, headers });
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
        if (response.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
        return response;
      } catch (err) {
        span.setAttribute(ATTR_ERROR_TYPE, (err as Error).name);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    };
  }

  private start(event: Extract<CallEvent, { type: 'call.started' }>): void {
    if (this.calls.has(event.callId)) return;
    if (this.calls.size >= this.maxOpenCalls) {
      const oldest = this.calls.values().next().value;
      if (oldest) this.abandon(oldest, event.at);
    }
    const span = this.tracer.startSpan(
      'call',
      {
        kind: SpanKind.SERVER,
        startTime: event.at,
        attributes: {
          [CALL_ATTRIBUTES.bot]: event.bot,
          [CALL_ATTRIBUTES.connectorId]: event.connectorId,
          [CALL_ATTRIBUTES.conversationId]: event.conversationId,
          [CALL_ATTRIBUTES.sessionId]: event.sessionId,
          [CALL_ATTRIBUTES.instance]: event.instance,
        },
      },
      ROOT_CONTEXT,
    );
    const context = trace.setSpan(ROOT_CONTEXT, span);
    this.calls.set(event.callId, { callId: event.callId, sessionId: event.sessionId, span, context, tools: new Map() });
    this.openBySession.set(event.sessionId, event.callId);
  }

  private child(call: CallTrace, name: string, at: number, kind: SpanKind = SpanKind.INTERNAL): Span {
    return this.tracer.startSpan(name, { kind, startTime: at }, call.context);
  }

  private endTurn(call: CallTrace, at: number, replied: boolean): void {
    if (!call.turn) return;
    call.turn.setAttribute(CALL_ATTRIBUTES.replied, replied);
    call.turn.end(at);
    delete call.turn;
  }

  private end(call: CallTrace, record: CallRecord, at: number): void {
    this.endOpenChildren(call, at, 'call ended');
    call.span.setAttributes({ [CALL_ATTRIBUTES.ending]: record.end_reason, [CALL_ATTRIBUTES.escalated]: record.escalation.required });
    if (record.end_reason === 'error') call.span.setStatus({ code: SpanStatusCode.ERROR, message: 'call ended with an error' });
    call.span.end(at);
    this.forget(call);
  }

  private abandon(call: CallTrace, at: number): void {
    this.endOpenChildren(call, at, 'not tracked any more');
    call.span.setStatus({ code: SpanStatusCode.ERROR, message: 'abandoned: too many calls open' });
    call.span.end(at);
    this.forget(call);
  }

  private endOpenChildren(call: CallTrace, at: number, why: string): void {
    if (call.connect) {
      call.connect.setStatus({ code: SpanStatusCode.ERROR, message: `model not ready: ${why}` });
      call.connect.end(at);
      delete call.connect;
    }
    this.endTurn(call, at, false);
    if (call.summary) {
      call.summary.end(at);
      delete call.summary;
    }
    for (const [id, span] of call.tools) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: why });
      span.end(at);
      this.runningTools.delete(id);
    }
    call.tools.clear();
  }

  /** Forgets an ended call's spans; keeps only its ids for a late webhook delivery. */
  private forget(call: CallTrace): void {
    this.calls.delete(call.callId);
    if (this.openBySession.get(call.sessionId) === call.callId) this.openBySession.delete(call.sessionId);
    this.endedBySession.delete(call.sessionId);
    this.endedBySession.set(call.sessionId, trace.setSpanContext(ROOT_CONTEXT, call.span.spanContext()));
    if (this.endedBySession.size > RECENTLY_ENDED) {
      const oldest = this.endedBySession.keys().next().value;
      if (oldest !== undefined) this.endedBySession.delete(oldest);
    }
  }
}
