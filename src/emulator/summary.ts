/**
 * Deterministic out-of-band text answers. A request whose instructions ask for a summary or JSON gets a JSON
 * call summary built from the conversation the emulator holds; anything else gets a fixed short text.
 */
export interface TranscriptLine {
  role: 'user' | 'assistant';
  text: string;
}

export interface CallSummary {
  summary: string;
  caller_requests: string[];
  sentiment: 'positive' | 'neutral' | 'negative';
  resolved: boolean;
  escalated: boolean;
  tools_called: string[];
  turns: { caller: number; assistant: number };
}

const NEGATIVE = ['angry', 'terrible', 'awful', 'upset', 'frustrated', 'ridiculous', 'complaint', 'manager', 'unacceptable', 'worst'];
const POSITIVE = ['thank', 'thanks', 'great', 'perfect', 'wonderful', 'excellent', 'appreciate', 'helpful'];
const ESCALATION_TOOL = /transfer|escalat|agent|human/i;

export function wantsSummary(instructions: string | undefined): boolean {
  return instructions !== undefined && /summar|json/i.test(instructions);
}

function countWords(lines: readonly TranscriptLine[], words: readonly string[]): number {
  let n = 0;
  for (const line of lines) {
    const lower = line.text.toLowerCase();
    for (const w of words) if (lower.includes(w)) n += 1;
  }
  return n;
}

export function buildCallSummary(lines: readonly TranscriptLine[], toolsCalled: readonly string[]): CallSummary {
  const caller = lines.filter((l) => l.role === 'user' && l.text.trim() !== '');
  const assistant = lines.filter((l) => l.role === 'assistant' && l.text.trim() !== '');
  const score = countWords(caller, POSITIVE) - countWords(caller, NEGATIVE);
  const escalated = toolsCalled.some((t) => ESCALATION_TOOL.test(t));
  const resolved = !escalated && toolsCalled.length > 0;
  const first = caller[0]?.text;
  const outcome = escalated ? 'The call was escalated to a human agent.' : resolved ? 'The request was handled and the call ended.' : 'The call ended without a recorded resolution.';
  return {
    summary: `${first ? `The caller said: "${first}". ` : 'The caller did not speak. '}${caller.length} caller turn(s), ${assistant.length} assistant turn(s). ${outcome}`,
    caller_requests: caller.map((l) => l.text),
    sentiment: score > 0 ? 'positive' : score < 0 ? 'negative' : 'neutral',
    resolved,
    escalated,
    tools_called: [...toolsCalled],
    turns: { caller: caller.length, assistant: assistant.length },
  };
}

export function textAnswer(instructions: string | undefined, lines: readonly TranscriptLine[], toolsCalled: readonly string[]): string {
  if (wantsSummary(instructions)) return JSON.stringify(buildCallSummary(lines, toolsCalled));
  return 'OK (emulated text response).';
}
