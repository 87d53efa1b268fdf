import { describe, expect, it } from 'vitest';
import { createSseParser } from '../../src/cli/sse.js';

describe('createSseParser', () => {
  it('assembles messages across arbitrary chunk boundaries and skips comments', () => {
    const text =
      ': heartbeat\n\nid: 4\nevent: event\ndata: {"a":\ndata: 1}\n\nid: 5\r\nevent: event\r\ndata: x\r\n\r\n';
    const parser = createSseParser();
    const messages = [...text].flatMap((ch) => parser.push(ch));
    expect(messages).toEqual([
      { id: '4', event: 'event', data: '{"a":\n1}' },
      { id: '5', event: 'event', data: 'x' },
    ]);
  });

  it('keeps the last id for messages without one and defaults the event name', () => {
    const parser = createSseParser();
    expect(parser.push('id: 9\ndata: a\n\ndata: b\n\n')).toEqual([
      { id: '9', event: 'message', data: 'a' },
      { id: '9', event: 'message', data: 'b' },
    ]);
  });
});
