import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLoopback, loadConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'homeostat-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('loadConfig', () => {
  it('applies defaults: loopback, port 8420, no auth, units in ms and bytes', () => {
    const c = loadConfig({ cwd: '/srv' });
    expect(c.server).toEqual({ host: '127.0.0.1', port: 8420 });
    expect(c.dataDir).toBe('/srv/.homeostat');
    expect(c.authRequired).toBe(false);
    expect(c.log).toMatchObject({ fsync: 'normal', partitions: 16, dedupWindowMs: 86_400_000 });
    expect(c.ingest).toMatchObject({ maxEventBytes: 262_144, maxRequestBytes: 1_048_576, maxDepth: 64 });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('layers file < environment < flags', () => {
    const path = file('layers.yaml', 'server: { host: 127.0.0.2, port: 9000 }\nlog: { fsync: always }\n');
    const c = loadConfig({
      file: path,
      env: { HOMEOSTAT_PORT: '9100', HOMEOSTAT_DATA_DIR: '/data' },
      overrides: { server: { port: 9200 } },
    });
    expect(c.server).toEqual({ host: '127.0.0.2', port: 9200 });
    expect(c.dataDir).toBe('/data');
    expect(c.log.fsync).toBe('always');
  });

  it('requires auth when binding a non-loopback address', () => {
    expect(loadConfig({ overrides: { server: { host: '0.0.0.0' } } }).authRequired).toBe(true);
    expect(loadConfig({ overrides: { auth: { required: true } } }).authRequired).toBe(true);
    expect(isLoopback('127.0.0.5')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
  });

  it('reports unknown and invalid settings with file:line:column', () => {
    const path = file('bad.yaml', 'server:\n  port: 70000\nlogg: {}\n');
    try {
      loadConfig({ file: path });
      expect.unreachable();
    } catch (err: any) {
      expect(err.code).toBe('E_CONFIG_INVALID');
      expect(err.message).toContain(`${path}:2:9 (/server/port)`);
      expect(err.message).toContain("unknown setting 'logg'");
    }
  });

  it('reports YAML syntax errors with a position', () => {
    const path = file('syntax.yaml', 'server: [\n');
    expect(() => loadConfig({ file: path })).toThrow(/syntax.yaml:\d+:\d+/);
  });

  it('rejects a bad unit and a bad port variable naming them', () => {
    expect(() => loadConfig({ overrides: { log: { dedupWindow: 'forever' } } })).toThrow(/log.dedupWindow/);
    expect(() => loadConfig({ env: { HOMEOSTAT_PORT: 'http' } })).toThrow(/HOMEOSTAT_PORT/);
  });

  it('leaves the exec allowlist empty by default', () => {
    expect(loadConfig({}).actions.exec.allow).toEqual({});
  });

  it('reads the exec allowlist with maxOutput in bytes (default 64 KiB)', () => {
    const path = file(
      'exec.yaml',
      'actions:\n  exec:\n    allow:\n      terraform: { command: /usr/bin/terraform }\n      echo: { command: /bin/echo, maxOutput: 1KiB }\n',
    );
    const c = loadConfig({ file: path });
    expect(c.actions.exec.allow).toEqual({
      terraform: { command: '/usr/bin/terraform', maxOutputBytes: 65_536 },
      echo: { command: '/bin/echo', maxOutputBytes: 1_024 },
    });
    expect(Object.isFrozen(c.actions.exec.allow)).toBe(true);
  });

  it('rejects an exec command that is not an absolute path, naming the config key', () => {
    expect(() => loadConfig({ overrides: { actions: { exec: { allow: { tf: { command: 'terraform' } } } } } })).toThrow(
      /actions\.exec\.allow\.tf\.command: 'terraform' is not an absolute path/,
    );
  });

  it('rejects unknown fields and a missing command in an exec entry with file:line:column', () => {
    const path = file('exec-bad.yaml', 'actions:\n  exec:\n    allow:\n      tf: { cmd: /bin/tf }\n');
    try {
      loadConfig({ file: path });
      expect.unreachable();
    } catch (err: any) {
      expect(err.code).toBe('E_CONFIG_INVALID');
      expect(err.message).toContain("unknown setting 'cmd'");
      expect(err.message).toContain("must have required property 'command'");
      expect(err.message).toContain(`${path}:4:`);
    }
  });

  it('rejects a bad exec maxOutput naming the field', () => {
    const overrides = { actions: { exec: { allow: { e: { command: '/bin/echo', maxOutput: 'lots' } } } } };
    expect(() => loadConfig({ overrides })).toThrow(/actions\.exec\.allow\.e\.maxOutput/);
  });

  it('configures no Prometheus scrape sources by default', () => {
    expect(loadConfig({}).sources.prometheus).toEqual([]);
  });

  it('reads Prometheus scrape sources with defaults: 1s interval, timeout = interval, latency unit from the name', () => {
    const path = file(
      'prom.yaml',
      [
        'sources:',
        '  prometheus:',
        '    - name: web-metrics',
        '      url: http://127.0.0.1:9100/metrics',
        '      group: web',
        '      metrics:',
        '        requests: http_requests_total',
        "        errors: { metric: http_requests_total, label: code, match: '^5' }",
        '        latency: http_request_duration_seconds',
        '        inFlight: http_requests_in_flight',
        '    - name: api',
        '      url: https://api.internal/metrics',
        '      interval: 30s',
        '      group: api',
        '      metrics: { errors: api_errors_total, latency: api_latency_ms, memory: process_resident_memory_bytes }',
        '',
      ].join('\n'),
    );
    const [web, api] = loadConfig({ file: path }).sources.prometheus;
    expect(web).toEqual({
      name: 'web-metrics',
      url: 'http://127.0.0.1:9100/metrics',
      group: 'web',
      intervalMs: 1000,
      timeoutMs: 1000,
      metrics: {
        requests: 'http_requests_total',
        errors: { metric: 'http_requests_total', label: 'code', match: '^5' },
        latency: { metric: 'http_request_duration_seconds', unit: 'seconds' },
        inFlight: 'http_requests_in_flight',
      },
    });
    expect(api).toMatchObject({
      intervalMs: 30_000,
      timeoutMs: 10_000,
      metrics: { errors: { metric: 'api_errors_total' }, latency: { metric: 'api_latency_ms', unit: 'milliseconds' } },
    });
    expect(Object.isFrozen(web)).toBe(true);
    expect(Object.isFrozen(web!.metrics)).toBe(true);
  });

  it('rejects bad Prometheus source values, naming each config key and the fix', () => {
    const good = { name: 'a', url: 'http://127.0.0.1:1/metrics', group: 'web', metrics: { requests: 'r_total' } };
    const prometheus = [
      good,
      {
        name: 'a',
        url: 'ftp://x/metrics',
        group: 'Web_1',
        interval: '1s',
        timeout: '2s',
        metrics: { requests: 'bad-name', errors: { metric: 'e_total', label: 'code', match: '([' } },
      },
      { ...good, name: 'c', interval: '10ms', metrics: { errors: { metric: 'e_total', match: '^5' } } },
      { ...good, name: 'd', metrics: {} },
    ];
    try {
      loadConfig({ overrides: { sources: { prometheus } } });
      expect.unreachable();
    } catch (err: any) {
      expect(err.code).toBe('E_CONFIG_INVALID');
      const byKey = Object.fromEntries(err.problems.map((p: any) => [p.pointer, p.message]));
      expect(byKey['sources.prometheus[1].name']).toBe("'a' is used by another source; names must be unique");
      expect(byKey['sources.prometheus[1].url']).toMatch(/'ftp:\/\/x\/metrics' is not an http\(s\) URL/);
      expect(byKey['sources.prometheus[1].group']).toMatch(/'Web_1' is not an InstanceGroup name/);
      expect(byKey['sources.prometheus[1].timeout']).toBe('2000ms must be above 0 and at most the interval (1000ms)');
      expect(byKey['sources.prometheus[1].metrics.requests']).toMatch(/'bad-name' is not a Prometheus metric name/);
      expect(byKey['sources.prometheus[1].metrics.errors.match']).toMatch(/'\(\[' is not a regular expression/);
      expect(byKey['sources.prometheus[2].interval']).toBe('10ms is too short; use at least 50ms');
      expect(byKey['sources.prometheus[2].metrics.errors.match']).toMatch(/needs 'label'/);
      expect(byKey['sources.prometheus[3].metrics']).toBe(
        'maps no metric; name at least one of requests, errors, latency, inFlight, cpu, memory, instances',
      );
      expect(err.message).toContain('sources.prometheus[1].url');
    }
  });

  it('rejects a bad Prometheus interval unit naming the key', () => {
    const prometheus = [{ name: 'a', url: 'http://h/m', group: 'web', interval: 'often', metrics: { inFlight: 'x' } }];
    expect(() => loadConfig({ overrides: { sources: { prometheus } } })).toThrow(
      /sources\.prometheus\[0\]\.interval: "often" is not a valid value/,
    );
  });

  it('rejects unknown and missing Prometheus source fields with file:line:column', () => {
    const path = file(
      'prom-bad.yaml',
      'sources:\n  prometheus:\n    - name: a\n      url: http://h/m\n      metrics: {}\n      intervall: 1s\n',
    );
    try {
      loadConfig({ file: path });
      expect.unreachable();
    } catch (err: any) {
      expect(err.code).toBe('E_CONFIG_INVALID');
      expect(err.message).toContain("must have required property 'group'");
      expect(err.message).toContain("unknown setting 'intervall'");
      expect(err.message).toContain(`${path}:3:7 (/sources/prometheus/0)`);
    }
  });
});

describe('providers', () => {
  it('sets the local metrics interval and enables the simulated cloud only when asked', () => {
    const defaults = loadConfig({ overrides: {} });
    expect(defaults.providers).toEqual({ local: { metricsIntervalMs: 1000 } });
    const set = loadConfig({
      overrides: { providers: { local: { metricsInterval: '250ms' }, sim: { enabled: true, seed: 3 } } },
    });
    expect(set.providers).toEqual({ local: { metricsIntervalMs: 250 }, sim: { seed: 3, speed: 1 } });
  });

  it('rejects an unknown provider setting naming it', () => {
    expect(() => loadConfig({ overrides: { providers: { sim: { enabeld: true } } } as never })).toThrow(/enabeld/);
  });
});
