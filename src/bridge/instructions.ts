/**
 * The model's instructions for a phone call: a persona (default or from Architect / env) plus the
 * call-control guidance the end_call / transfer_to_agent tools rely on, language and caller context.
 */
import { END_CALL_TOOL, TRANSFER_TOOL } from '../realtime/session-config.js';
import type { Greeting } from './variables.js';

export const DEFAULT_PERSONA =
  'You are [AGENT_NAME], a friendly and efficient voice assistant answering phone calls for [COMPANY_NAME]. ' +
  'Help the caller with their request accurately. If you do not know something, say so; never invent facts.';

/** Always appended: the tools only work if the model knows when to use them. */
export const CALL_CONTROL_GUIDANCE = [
  'This is a live phone call. Speak naturally and briefly: one or two short sentences per turn, no lists, no markdown, no emojis.',
  'Ask one question at a time. If you did not understand the caller, ask them to repeat.',
  'Never read out or repeat back full card numbers, PINs or passwords.',
  `When the caller's request is handled and they have nothing else, or they say goodbye, call ${END_CALL_TOOL} with a short reason, then say a brief farewell.`,
  `Call ${TRANSFER_TOOL} with a short reason when the caller asks for a human, an agent, a manager or a supervisor; ` +
    'when they are clearly frustrated, angry or upset (strong negative sentiment) or repeat a complaint; ' +
    'or when they need something you cannot do. Then tell them briefly that you are transferring them.',
  'Keypad input arrives as a message like "The caller pressed the keypad digits: 1234".',
].join('\n');

export interface InstructionParts {
  /** Persona or system prompt; [AGENT_NAME] / [COMPANY_NAME] placeholders are filled. */
  persona: string;
  agentName?: string;
  companyName?: string;
  /** Language to speak, e.g. "en-US" or "German". */
  language?: string;
  /** Caller context from CUSTOMER_DATA. */
  customerData?: ReadonlyArray<readonly [string, string]>;
}

export function fillPlaceholders(text: string, agentName: string | undefined, companyName: string | undefined): string {
  // Neutral fallbacks so the model never speaks a literal "[AGENT_NAME]".
  return text
    .replaceAll('[AGENT_NAME]', agentName ?? 'the virtual assistant')
    .replaceAll('[COMPANY_NAME]', companyName ?? 'our company');
}

export function composeInstructions(parts: InstructionParts): string {
  const sections = [fillPlaceholders(parts.persona, parts.agentName, parts.companyName).trim(), CALL_CONTROL_GUIDANCE];
  if (parts.language) {
    sections.push(`Speak ${parts.language} unless the caller clearly uses another language; then answer in theirs.`);
  }
  if (parts.customerData && parts.customerData.length > 0) {
    const lines = parts.customerData.map(([k, v]) => `- ${k}: ${v}`).join('\n');
    sections.push(`Known information about this caller (use it to help them; do not read it all out):\n${lines}`);
  }
  return sections.join('\n\n');
}

/** What the model is told when the caller is connected; undefined when the caller speaks first. */
export function greetingPrompt(greeting: Greeting): string | undefined {
  if (greeting.kind === 'none') return undefined;
  return greeting.kind === 'text'
    ? `The caller has just been connected. Greet them by saying exactly: "${greeting.text}"`
    : 'The caller has just been connected. Greet them briefly and ask how you can help.';
}
