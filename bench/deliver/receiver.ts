/** @module The webhook receiver the benchmark's http target posts to: records when each event arrived. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Receiver {
  readonly url: string;
  /** Arrival time (`performance.now()`, this process) of each event id, first arrival only. */
  readonly arrivals: ReadonlyMap<string, number>;
  /** Requests received, repeats included. */
  readonly requests: number;
  /** Requests that repeated an event id already received. */
  readonly repeats: number;
  /** Forgets the arrivals recorded so far (between scenarios), keeping the counters. */
  clear(): void;
  close(): Promise<void>;
}

/**
 * Starts the receiver on 127.0.0.1 (a free port). The arrival time is taken when the request's
 * headers have been parsed (the event id travels in `Homeostat-Event-Id`), before the body is read;
 * the answer is 204 once the body has been consumed.
 */
export async function startReceiver(): Promise<Receiver> {
  let arrivals = new Map<string, number>();
  let requests = 0;
  let repeats = 0;
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const at = performance.now();
    requests++;
    const id = req.headers['homeostat-event-id'];
    if (typeof id === 'string') {
      if (arrivals.has(id)) repeats++;
      else arrivals.set(id, at);
    }
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    get arrivals() {
      return arrivals;
    },
    get requests() {
      return requests;
    },
    get repeats() {
      return repeats;
    },
    clear() {
      arrivals = new Map();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
