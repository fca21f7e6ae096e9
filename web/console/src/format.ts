/** Display formatting (plain strings; the DOM helpers put them in as text). */

export function clock(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** 83_000 → "1:23"; an hour or more → "1:02:03". */
export function duration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export const ACTIVITY_LABELS: Record<string, string> = {
  connecting: 'connecting',
  greeting: 'greeting',
  listening: 'listening',
  caller_speaking: 'caller speaking',
  bot_speaking: 'bot speaking',
  tool_running: 'tool running',
  ending: 'ending',
};

export const ENDING_LABELS: Record<string, string> = {
  bot_ended: 'bot ended',
  escalated: 'escalated',
  caller_hangup: 'caller hung up',
  error: 'error',
  shutdown: 'server shutdown',
  // Fleet mode: the console lost track of a call of another instance (its outcome is in the webhook record).
  instance_lost: 'instance lost',
  ending_missed: 'ending not received',
};

/** DTMF is shown as a count of masked digits, never the digits (the server never has them either). */
export function maskedDigits(count: number): string {
  const shown = Math.min(count, 8);
  return '•'.repeat(shown) + (count > shown ? `+${count - shown}` : '');
}
