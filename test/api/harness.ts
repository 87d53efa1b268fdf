/** @module Test harness: a real embedded Homeostat on a random port and a temp data dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type HomeostatConfig, loadConfig } from '../../src/runtime/config.js';
import {
  type EmbeddedHomeostat,
  type EmbeddedOptions,
  openTokenStore,
  startEmbedded,
} from '../../src/runtime/embedded.js';
import { clusterMode, clusterOverrides, dropCluster } from '../cluster/backends.js';

export interface TestServer {
  readonly url: string;
  readonly dataDir: string;
  readonly server: EmbeddedHomeostat;
  stop(): Promise<void>;
}

function testConfig(dir: string, overrides: HomeostatConfig = {}) {
  // The cluster pass (npm run test:cluster) runs the same tests on NATS JetStream and PostgreSQL.
  const backends = clusterMode() ? clusterOverrides(dir) : {};
  return loadConfig({
    overrides: { server: { port: 0 }, dataDir: dir, logging: { level: 'silent' }, ...backends, ...overrides },
  });
}

/** The token store a test server on `dir` will use (SQLite there, or the cluster's PostgreSQL). */
export function openTestTokenStore(dir: string) {
  return openTokenStore(testConfig(dir));
}

export async function startTestServer(
  overrides: HomeostatConfig = {},
  dataDir?: string,
  options: EmbeddedOptions = {},
): Promise<TestServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'homeostat-api-'));
  const config = testConfig(dir, overrides);
  const server = await startEmbedded(config, { logger: pino({ level: 'silent' }), ...options });
  return {
    url: server.url,
    dataDir: dir,
    server,
    async stop() {
      await server.close();
      if (dataDir !== undefined) return;
      rmSync(dir, { recursive: true, force: true });
      if (clusterMode()) await dropCluster(dir);
    },
  };
}

let n = 0;
export function event(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  n += 1;
  return {
    specversion: '1.0',
    id: `t-${process.pid}-${n}`,
    source: '/test',
    type: 'test.event',
    data: { n },
    ...overrides,
  };
}

export async function post(
  url: string,
  body: unknown,
  contentType = 'application/cloudevents-batch+json',
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

export async function getJson(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
