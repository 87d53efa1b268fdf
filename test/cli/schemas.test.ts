import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, removeDir, requireBuild, runCli, startServer, tempDir } from './helpers.js';

describe('homeostat schemas', () => {
  let dir: string;
  let server: RunningServer;
  const cli = (...args: string[]) => runCli([...args, '--url', server.url]);

  beforeAll(async () => {
    requireBuild();
    dir = await tempDir('schemas');
    server = await startServer(join(dir, 'data'));
  });

  afterAll(async () => {
    await server?.stop();
    await removeDir(dir);
  });

  it('puts a YAML schema, lists it, gets it and enforces it', async () => {
    const type = `test.schema.${randomUUID().slice(0, 8)}`;
    const file = join(dir, 'v1.yaml');
    await writeFile(file, 'type: object\nproperties:\n  cpu: { type: number }\nrequired: [cpu]\n');

    const put = await cli('schemas', 'put', type, '-f', file);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    expect(put.stdout).toContain(`registered ${type} version 1`);

    const list = await cli('schemas', 'list', '--json');
    expect(JSON.parse(list.stdout).schemas).toContainEqual(
      expect.objectContaining({ type, version: 1, mode: 'enforce' }),
    );

    const get = await cli('schemas', 'get', type);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ required: ['cpu'] });

    const bad = await cli('emit', '--type', type, '--data', '{"cpu":"high"}');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^homeostat: .*cpu/);
  });

  it('refuses an incompatible version and names the broken rule', async () => {
    const type = `test.compat.${randomUUID().slice(0, 8)}`;
    const v1 = join(dir, 'c1.json');
    const v2 = join(dir, 'c2.json');
    await writeFile(v1, JSON.stringify({ type: 'object', properties: { a: { type: 'string' } } }));
    await writeFile(
      v2,
      JSON.stringify({ type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' } }, required: ['b'] }),
    );
    expect((await cli('schemas', 'put', type, '-f', v1)).code).toBe(0);

    const res = await cli('schemas', 'put', type, '-f', v2);
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^homeostat: .*required/);
    expect(res.stderr).toContain('b');

    const forced = await cli('schemas', 'put', type, '-f', v2, '--force', '--mode', 'warn');
    expect(forced.code).toBe(0);
    const versions = await cli('schemas', 'versions', type, '--json');
    expect(JSON.parse(versions.stdout).versions).toHaveLength(2);
    const deleted = await cli('schemas', 'delete', type, '--version', '2');
    expect(deleted.stdout).toContain('deleted 1');
  });

  it('rejects an unknown --mode as a usage error', async () => {
    const res = await cli('schemas', 'put', 'x.y', '-f', join(dir, 'nope.json'), '--mode', 'strict');
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^homeostat: .*--mode/);
  });
});
