/** `homeostat apply/get/delete` with policies against a real server process. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, requireBuild, type RunningServer, runCli, startServer, tempDir } from './helpers.js';

let dir: string;
let server: RunningServer;
const POLICY = join('examples', 'policies', 'no-open-ssh.yaml');

beforeAll(async () => {
  requireBuild();
  dir = await tempDir('policies');
  server = await startServer(join(dir, 'data'));
});

afterAll(async () => {
  await server?.stop();
  await removeDir(dir);
});

describe('homeostat with policies', () => {
  it('applies a policy, lists it with the rules it compiles to, shows it, and deletes it', async () => {
    const url = ['--url', server.url];
    const applied = await runCli(['apply', '-f', POLICY, ...url]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout.trim()).toBe(
      'CompliancePolicy/no-open-ssh created (rules: compliancepolicy.no-open-ssh.change)',
    );
    expect((await runCli(['apply', '-f', POLICY, ...url])).stdout).toContain('unchanged');

    const list = await runCli(['get', 'policies', ...url]);
    expect(list.stdout).toMatch(/CompliancePolicy\/no-open-ssh\s+compliancepolicy\.no-open-ssh\.change/);
    const rules = await runCli(['get', 'rules', '--json', ...url]);
    expect(JSON.parse(rules.stdout).rules).toContainEqual(
      expect.objectContaining({
        name: 'compliancepolicy.no-open-ssh.change',
        managedBy: 'CompliancePolicy/no-open-ssh',
      }),
    );
    const shown = await runCli(['get', 'policy', 'CompliancePolicy/no-open-ssh', '-o', 'json', ...url]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ ref: 'CompliancePolicy/no-open-ssh', status: expect.any(Object) });

    const refused = await runCli(['delete', 'rule', 'compliancepolicy.no-open-ssh.change', ...url]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('CompliancePolicy/no-open-ssh');

    const deleted = await runCli(['delete', 'policy', 'CompliancePolicy/no-open-ssh', ...url]);
    expect(deleted.stdout.trim()).toBe('CompliancePolicy/no-open-ssh deleted');
    expect((await runCli(['get', 'rules', ...url])).stdout).not.toContain('compliancepolicy.no-open-ssh');
    const again = await runCli(['delete', 'policy', 'CompliancePolicy/no-open-ssh', ...url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no CompliancePolicy named');
  });

  it('reports an invalid policy with file:line:col and the pointer, and a bad reference as a usage error', async () => {
    const bad = join(dir, 'bad.yaml');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      bad,
      'apiVersion: homeostat/v1\nkind: ScalingPolicy\nmetadata: { name: web }\nspec:\n  target: 42\n',
    );
    const res = await runCli(['apply', '-f', bad, '--url', server.url]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/bad\.yaml:5:\d+: \/spec\/target/);
    const usage = await runCli(['get', 'policy', 'web/', '--url', server.url]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('<Kind>/<name>');
  });
});
