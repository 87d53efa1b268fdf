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
});
