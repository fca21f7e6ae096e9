/**
 * Session-level metrics: the server counts every AudioHook session exactly once, when it finishes, from the
 * session's own outcome (what Genesys and the Architect flow saw). That makes the server the single owner of
 * `audiohook_sessions_total` and `audiohook_genesys_rate_limited_total`: it sees every session, also the ones
 * no call logic ever handled (probes, protocol errors before a call, shutdown before `open`).
 */
import type { SessionObserver, SessionOutcome } from '../audiohook/handler.js';
import type { Metrics, SessionEndReason } from './metrics.js';

/**
 * The `reason` label for a finished session. Precedence: a probe is a probe; a live call ended by the
 * server's shutdown is `shutdown` (however it then closed); otherwise our `disconnect` decides (completed,
 * escalated when its outputs asked the flow to transfer, else error); otherwise the client's `close`
 * (`end` is the caller hanging up); a dropped socket or a session that never opened is an error. This is the
 * same mapping the bridge uses for its call records (CallRecord.end_reason).
 */
export function sessionEndReason(outcome: SessionOutcome): SessionEndReason {
  if (outcome.probe) return 'probe';
  if (outcome.shutdown) return 'shutdown';
  if (outcome.disconnect) {
    if (outcome.disconnect.reason !== 'completed') return 'error';
    return outcome.disconnect.escalation ? 'escalated' : 'completed';
  }
  if (outcome.closeReason !== undefined && outcome.closeReason !== 'error') return 'caller_hangup';
  return 'error';
}

/** The observer the server gives each session: open → opened latency, Genesys 429s, end reason. */
export function sessionMetricsObserver(metrics: Metrics): SessionObserver {
  return {
    onOpened: ({ latencyMs }) => metrics.openToOpenedSeconds.observe(latencyMs / 1000),
    onClientError: ({ code }) => {
      if (code === 429) metrics.genesysRateLimited.inc();
    },
    onEnded: (outcome) => metrics.sessions.inc(sessionEndReason(outcome)),
  };
}
