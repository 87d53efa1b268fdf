/**
 * @module Server-Sent Events over fetch (EventSource cannot send an Authorization header): follows
 * /v1/events/stream, hands each record to `onRecord`, reconnects after a drop from the last offset
 * seen (Last-Event-ID), and stops when `close()` is called.
 */
/* global fetch, TextDecoder, AbortController, setTimeout, clearTimeout */
import { authHeaders } from './api.js';

export function followEvents(path, { onRecord, onState, from } = {}) {
  let controller;
  let lastId = from === undefined ? undefined : from - 1;
  let closed = false;
  let retry;

  const parseBlock = (block) => {
    let event = 'message';
    let id;
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (id !== undefined) lastId = Number(id);
    if (event === 'event' && data.length > 0) onRecord(JSON.parse(data.join('\n')));
  };

  const connect = async () => {
    controller = new AbortController();
    const headers = { ...authHeaders(), accept: 'text/event-stream' };
    if (lastId !== undefined) headers['last-event-id'] = String(lastId);
    try {
      const res = await fetch(path, { headers, signal: controller.signal });
      if (!res.ok || !res.body) throw new Error(`the stream answered ${res.status}`);
      onState?.('live');
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          parseBlock(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch (err) {
      if (closed) return;
      onState?.(`reconnecting (${err.message})`);
    }
    if (!closed) retry = setTimeout(connect, 2000);
  };

  void connect();
  return {
    close() {
      closed = true;
      clearTimeout(retry);
      controller?.abort();
    },
  };
}
