import { describe, expect, it } from 'vitest';
import type { ConversationEntry } from '../../src/emulator/conversation.js';
import { deleteItem, retrieveItem, truncateItem } from '../../src/emulator/item-edits.js';

const conversation = (): ConversationEntry[] => [
  { id: 'item_user', type: 'message', role: 'user', text: 'hello', audioMs: null, truncatedAtMs: null },
  { id: 'item_bot', type: 'message', role: 'assistant', text: 'one two three four', audioMs: 2000.4, truncatedAtMs: null },
];

describe("the client's edits to conversation items", () => {
  it('answers retrieve and delete with their events, item_not_found for an unknown id', () => {
    const items = conversation();
    expect(retrieveItem(items, 'item_user', null)).toMatchObject({ ok: true, event: { type: 'conversation.item.retrieved' } });
    expect(retrieveItem(items, 'nope', 'ev1')).toMatchObject({ ok: false, error: { code: 'item_not_found', event_id: 'ev1' } });
    expect(deleteItem(items, 'item_user', null)).toEqual({ ok: true, event: { type: 'conversation.item.deleted', item_id: 'item_user' } });
    expect(items.map((e) => e.id)).toEqual(['item_bot']);
    expect(deleteItem(items, 'item_user', null)).toMatchObject({ ok: false, error: { code: 'item_not_found' } });
  });

  it('truncates an assistant audio item to what was heard, and its text in proportion', () => {
    const items = conversation();
    const result = truncateItem(items, { itemId: 'item_bot', contentIndex: 0, audioEndMs: 1000 }, null);
    expect(result).toEqual({ ok: true, event: { type: 'conversation.item.truncated', item_id: 'item_bot', content_index: 0, audio_end_ms: 1000 } });
    expect(items[1]).toMatchObject({ truncatedAtMs: 1000 });
    expect(items[1]!.text.length).toBeLessThan('one two three four'.length);
  });

  it('refuses to truncate a user item, or past the audio that exists, and changes nothing', () => {
    const items = conversation();
    expect(truncateItem(items, { itemId: 'item_user', contentIndex: 0, audioEndMs: 10 }, null)).toMatchObject({ ok: false, error: { code: 'invalid_value', param: 'item_id' } });
    expect(truncateItem(items, { itemId: 'item_bot', contentIndex: 0, audioEndMs: 2001 }, null)).toMatchObject({
      ok: false,
      error: { code: 'invalid_value', param: 'audio_end_ms', message: 'Audio content of 2000ms is already shorter than 2001ms' },
    });
    expect(items[1]).toMatchObject({ truncatedAtMs: null, text: 'one two three four' });
  });
});
