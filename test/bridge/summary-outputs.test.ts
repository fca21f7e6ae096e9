import { describe, expect, it } from 'vitest';
import {
  buildSummaryRequest,
  fallbackSummary,
  isSummaryResponse,
  parseSummaryText,
  responseText,
} from '../../src/bridge/summary.js';
import { buildOutputVariables } from '../../src/bridge/outputs.js';
import { emptyUsage } from '../../src/bridge/usage.js';
import type { RealtimeResponse } from 'openai/resources/realtime/realtime';

describe('summary request', () => {
  it('is an out-of-band text response tagged by metadata', () => {
    const ev = buildSummaryRequest('conv-1', 'bot_ended');
    expect(ev.type).toBe('response.create');
    expect(ev.response).toMatchObject({
      conversation: 'none',
      output_modalities: ['text'],
      metadata: { purpose: 'call_summary', call: 'conv-1', end_reason: 'bot_ended' },
    });
    expect(ev.response?.instructions).toContain('JSON');
    expect(isSummaryResponse({ metadata: ev.response!.metadata! })).toBe(true);
    expect(isSummaryResponse({ metadata: null })).toBe(false);
  });
});

describe('parseSummaryText', () => {
  it('parses JSON, also inside a code fence', () => {
    const json = { summary: 'Caller asked for balance.', sentiment: 'positive', resolved: true, follow_ups: ['none'] };
    expect(parseSummaryText(JSON.stringify(json))).toEqual({ ...json, source: 'model' });
    expect(parseSummaryText('```json\n' + JSON.stringify(json) + '\n```')?.source).toBe('model');
  });
  it('keeps non-JSON text as an unstructured model summary', () => {
    expect(parseSummaryText('The caller wanted a refund.')).toEqual({
      summary: 'The caller wanted a refund.',
      sentiment: 'neutral',
      resolved: false,
      follow_ups: [],
      source: 'model_text',
    });
  });
  it('treats JSON with a bad shape as text, and empty text as nothing', () => {
    expect(parseSummaryText('{"summary": 3}')?.source).toBe('model_text');
    expect(parseSummaryText('  ')).toBeUndefined();
  });
  it('reads text from a finished response', () => {
    const response = {
      output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: '{"a":' }, { type: 'output_text', text: '1}' }] }],
    } as unknown as RealtimeResponse;
    expect(responseText(response)).toBe('{"a":1}');
  });
});

describe('fallbackSummary', () => {
  it('says it is a fallback and is never empty', () => {
    const empty = fallbackSummary([], { endReason: 'caller_hangup' });
    expect(empty.source).toBe('fallback');
    expect(empty.summary).toContain('caller_hangup');
    const s = fallbackSummary(
      [
        { role: 'caller', itemId: 'u', text: 'I want a manager' },
        { role: 'bot', itemId: 'b', text: 'Transferring you now.' },
      ],
      { endReason: 'escalated', escalationReason: 'asked for manager' },
    );
    expect(s.summary).toContain('I want a manager');
    expect(s.escalation_reason).toBe('asked for manager');
  });
});

describe('buildOutputVariables', () => {
  it('gives string outputs with escalation from the tool call only', () => {
    const out = buildOutputVariables({
      summary: { summary: 'x'.repeat(5000), sentiment: 'negative', resolved: false, follow_ups: ['call back'], source: 'model' },
      escalation: { reason: 'asked for supervisor' },
      durationMs: 61_400,
      usage: { ...emptyUsage(), inputTokens: 10, cachedTokens: 4, outputAudioTokens: 7 },
    });
    for (const v of Object.values(out)) expect(typeof v).toBe('string');
    expect(out.CONVERSATION_SUMMARY).toHaveLength(2000);
    expect(out).toMatchObject({
      CONVERSATION_SENTIMENT: 'negative',
      ESCALATION_REQUIRED: 'true',
      ESCALATION_REASON: 'asked for supervisor',
      CONVERSATION_DURATION: '61',
      TOTAL_INPUT_TOKENS: '10',
      TOTAL_CACHED_TOKENS: '4',
      TOTAL_OUTPUT_AUDIO_TOKENS: '7',
      CONVERSATION_FOLLOW_UPS: 'call back',
    });
    expect(JSON.stringify(out).length).toBeLessThan(8000);
    const plain = buildOutputVariables({
      summary: { summary: 's', sentiment: 'neutral', resolved: true, escalation_reason: 'x', follow_ups: [], source: 'fallback' },
      durationMs: 0,
      usage: emptyUsage(),
    });
    expect(plain.ESCALATION_REQUIRED).toBe('false');
    expect(plain.ESCALATION_REASON).toBe('');
  });
});
