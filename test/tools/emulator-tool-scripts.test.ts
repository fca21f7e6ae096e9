/** Emulator call scripts that call a tool and speak its result, and say what instructions quote. */
import { describe, expect, it } from 'vitest';
import { ScriptCursor } from '../../src/emulator/script-cursor.js';
import { parseCallScript } from '../../src/emulator/script.js';

const script = parseCallScript({
  name: 'tool-result',
  greeting: { audio: { toneMs: 500 }, transcript: 'Hello.' },
  turns: [
    {
      transcript: 'Where is order 4471?',
      toolCall: { name: 'get_order_status', arguments: { order_id: '4471' } },
      followUp: { audio: 'fixtures/bot/order-status.ulaw', transcript: 'Order {{output.result.order_id}} is {{output.result.status}}, arriving {{output.result.eta}}.' },
    },
  ],
});

describe('emulator tool scripts', () => {
  it('calls the scripted tool with its arguments, then speaks the result it was given', () => {
    const cursor = new ScriptCursor(script);
    cursor.planResponse(); // greeting
    cursor.callerTurnCommitted();
    const [call] = cursor.planResponse();
    expect(call).toMatchObject({ kind: 'function_call', toolCall: { name: 'get_order_status', arguments: { order_id: '4471' } } });
    cursor.registerCall('call_1', call!.kind === 'function_call' ? call!.followUp : undefined);
    cursor.toolOutput('call_1', JSON.stringify({ ok: true, result: { order_id: '4471', status: 'shipped', eta: 'Thursday' } }));
    const [reply] = cursor.planResponse();
    expect(reply).toEqual({ kind: 'audio', reply: { audio: 'fixtures/bot/order-status.ulaw', transcript: 'Order 4471 is shipped, arriving Thursday.' } });
  });

  it('says "unknown" for a missing field (an error result)', () => {
    const cursor = new ScriptCursor(script);
    cursor.planResponse();
    cursor.callerTurnCommitted();
    cursor.planResponse();
    cursor.registerCall('c', script.turns[0]!.followUp);
    cursor.toolOutput('c', JSON.stringify({ ok: false, error: { code: 'timeout' } }));
    expect(cursor.planResponse()[0]).toMatchObject({ reply: { transcript: 'Order unknown is unknown, arriving unknown.' } });
  });

  it('speaks the text a response instruction quotes (a holding phrase), else the fallback', () => {
    const cursor = new ScriptCursor(script);
    cursor.planResponse();
    expect(cursor.planResponse('Say exactly this to the caller, and nothing else: "One moment please."')[0]).toMatchObject({
      reply: { transcript: 'One moment please.' },
    });
    expect(cursor.planResponse('Say goodbye.')[0]).toMatchObject({ reply: { transcript: 'Sorry, could you say that again?' } });
  });

  it("ignores a quote in the call's persona that precedes the reply's own request", () => {
    const cursor = new ScriptCursor(script);
    cursor.planResponse();
    const persona = 'You are Anna. Keypad input arrives as a message like "The caller pressed the keypad digits: 1234".';
    expect(cursor.planResponse(`${persona}\n\nIn one short sentence, say goodbye to the caller.`)[0]).toMatchObject({
      reply: { transcript: 'Sorry, could you say that again?' },
    });
    expect(cursor.planResponse(`${persona}\n\nSay exactly this to the caller: "Goodbye."`)[0]).toMatchObject({
      reply: { transcript: 'Goodbye.' },
    });
  });
});
