import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, removeDir, requireBuild, runCli, startServer, tempDir } from './helpers.js';

describe('homeostat tokens with auth required', () => {
  let dir: string;
  let dataDir: string;
  let config: string;
  let server: RunningServer | undefined;
  let adminToken = '';

  beforeAll(async () => {
    requireBuild();
    dir = await tempDir('tokens');
    dataDir = join(dir, 'data');
    config = join(dir, 'homeostat.yaml');
    await writeFile(config, 'auth:\n  required: true\n');
  });

  afterAll(async () => {
    await server?.stop();
    await removeDir(dir);
  });

  it('refuses to start with auth required and no tokens, saying how to create one', async () => {
    const res = await runCli(['up', '--port', '0', '--data-dir', join(dir, 'empty'), '--config', config]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^homeostat: .*tokens create/m);
  });

  it('creates a token offline that a server with auth required then accepts', async () => {
    const created = await runCli(['tokens', 'create', '--data-dir', dataDir, '--name', 'admin', '--scopes', 'admin']);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^hst_/);
    adminToken = token;
    expect(created.stderr).toContain('not shown again');

    const offlineList = await runCli(['tokens', 'list', '--data-dir', dataDir, '--json']);
    expect(JSON.parse(offlineList.stdout).tokens).toEqual([
      expect.objectContaining({ name: 'admin', scopes: ['admin'] }),
    ]);

    server = await startServer(dataDir, ['--config', config]);
    const type = `test.auth.${randomUUID().slice(0, 8)}`;
    const ok = await runCli(['emit', '--url', server.url, '--token', token, '--type', type]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);

    const viaEnv = await runCli(['events', '--url', server.url, '--type', type, '--json'], {
      env: { HOMEOSTAT_TOKEN: token },
    });
    expect(viaEnv.code).toBe(0);
    expect(viaEnv.stdout.trim().split('\n')).toHaveLength(1);

    const anonymous = await runCli(['emit', '--url', server.url, '--type', type]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr.trim().split('\n')).toHaveLength(1);
    expect(anonymous.stderr).toMatch(/^homeostat: .*--token/);
  });

  it('manages tokens over the API with an admin token', async () => {
    const env = { HOMEOSTAT_URL: server!.url, HOMEOSTAT_TOKEN: adminToken };
    const created = await runCli(['tokens', 'create', '--name', 'ci', '--scopes', 'publish,read', '--json'], { env });
    expect(created.code).toBe(0);
    const ci = JSON.parse(created.stdout);
    expect(ci).toMatchObject({ name: 'ci', scopes: ['publish', 'read'] });

    const listed = await runCli(['tokens', 'list', '--json'], { env });
    expect(
      JSON.parse(listed.stdout)
        .tokens.map((t: { name: string }) => t.name)
        .sort(),
    ).toEqual(['admin', 'ci']);

    const forbidden = await runCli(['tokens', 'list'], { env: { ...env, HOMEOSTAT_TOKEN: ci.token } });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/^homeostat: /);

    expect((await runCli(['tokens', 'revoke', ci.id], { env })).code).toBe(0);
    const revoked = await runCli(['events', '--limit', '1'], { env: { ...env, HOMEOSTAT_TOKEN: ci.token } });
    expect(revoked.code).toBe(1);

    const badScopes = await runCli(['tokens', 'create', '--name', 'x', '--scopes', 'root'], { env });
    expect(badScopes.code).toBe(2);
    expect(badScopes.stderr).toMatch(/^homeostat: --scopes/);
  });
});
