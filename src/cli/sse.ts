/** @module A Server-Sent Events parser over a fetch body stream (WHATWG event-stream format). */

/** One dispatched SSE message. */
export interface SseMessage {
  /** The last event id seen on the stream (it persists across messages, per the spec). */
  readonly id?: string;
  /** The `event:` field, 'message' when absent. */
  readonly event: string;
  readonly data: string;
}

/** An incremental parser: feed it text in any chunking, get the completed messages. */
export interface SseParser {
  push(text: string): SseMessage[];
}

export function createSseParser(): SseParser {
  let buffer = '';
  let lastId: string | undefined;
  let event = '';
  let data: string[] = [];
  const onLine = (line: string, done: SseMessage[]) => {
    if (line === '') {
      if (data.length > 0) done.push({ id: lastId, event: event || 'message', data: data.join('\n') });
      event = '';
      data = [];
      return;
    }
    const field = parseField(line);
    if (field?.name === 'data') data.push(field.value);
    else if (field?.name === 'event') event = field.value;
    else if (field?.name === 'id' && !field.value.includes('\0')) lastId = field.value;
  };
  return {
    push(text) {
      buffer += text;
      const done: SseMessage[] = [];
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        onLine(buffer.slice(0, nl).replace(/\r$/, ''), done);
        buffer = buffer.slice(nl + 1);
      }
      return done;
    },
  };
}

function parseField(line: string): { name: string; value: string } | undefined {
  if (line.startsWith(':')) return undefined;
  const colon = line.indexOf(':');
  if (colon < 0) return { name: line, value: '' };
  const value = line.slice(colon + 1);
  return { name: line.slice(0, colon), value: value.startsWith(' ') ? value.slice(1) : value };
}

/** Yields messages from a response body as they complete; comments (heartbeats) are skipped. */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  const parser = createSseParser();
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    yield* parser.push(decoder.decode(chunk, { stream: true }));
  }
}
