import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadUrl, type RunningServer, removeDir, requireBuild, runCli, startServer, tempDir } from './helpers.js';

describe('homeostat emit and events', () => {
  let dir: string;
  let server: RunningServer;

  beforeAll(async () => {
    requireBuild();
    dir = await tempDir('emit');
    server = await startServer(join(dir, 'data'));
  });

  afterAll(async () => {
    await server?.stop();
    await removeDir(dir);
  });

  it('emits an event from flags that events --json then finds', async () => {
    const type = `test.emit.${randomUUID().slice(0, 8)}`;
    const emitted = await runCli([
      'emit',
      '--url',
      server.url,
      '--type',
      type,
      '--subject',
      'web-1',
      '--data',
      '{"cpu":97}',
      '--ext',
      'team=web',
    ]);
    expect(emitted.stderr).toBe('');
    expect(emitted.code).toBe(0);
    expect(emitted.stdout).toMatch(/^accepted \S+ at offset \d+/);

    const found = await runCli(['events', '--url', server.url, '--type', type, '--json']);
    expect(found.code).toBe(0);
    const records = found.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records).toHaveLength(1);
    expect(records[0].event).toMatchObject({ type, subject: 'web-1', data: { cpu: 97 }, team: 'web' });
    expect(records[0].event.source).toMatch(/^cli:\/\//);
  });

  it('sends a JSON-lines file, names the bad lines and exits 1', async () => {
    const type = `test.file.${randomUUID().slice(0, 8)}`;
    const good = (id: string) => JSON.stringify({ specversion: '1.0', id, source: '/test', type });
    const lines = [good('a'), '', '{not json', good('b'), JSON.stringify({ specversion: '1.0', id: 'c', type })];
    const file = join(dir, 'events.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);

    const res = await runCli(['emit', '--url', server.url, '--file', file]);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('accepted 2, duplicates 0, rejected 2');
    expect(res.stderr).toMatch(/^line 3: .*not valid JSON/m);
    expect(res.stderr).toMatch(/^line 5: .*source/m);
    expect(res.stderr).toMatch(/^homeostat: 2 event\(s\) rejected, on line\(s\) 3, 5$/m);

    const again = await runCli(['emit', '--url', server.url, '--file', '-'], { input: `${good('a')}\n` });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('accepted 0, duplicates 1, rejected 0');
  });

  it('says the server is unreachable and exits 1 when nothing listens at --url', async () => {
    const url = await deadUrl();
    const res = await runCli(['emit', '--url', url, '--type', 'x.y']);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(
      `homeostat: cannot reach Homeostat at ${url}: is it running? (start it with \`homeostat up\`)`,
    );
  });

  it('exits 2 with one line for usage errors', async () => {
    const missing = await runCli(['emit', '--url', server.url]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^homeostat: .*--type/);

    const badJson = await runCli(['emit', '--url', server.url, '--type', 'x.y', '--data', '{oops']);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/^homeostat: --data: not valid JSON/);

    const unknown = await runCli(['emti']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^homeostat: unknown command 'emti'/);
  });

  it('shows the server error message and problems for a rejected event', async () => {
    const res = await runCli(['emit', '--url', server.url, '--type', 'x.y', '--time', 'yesterday']);
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^homeostat: .*time/);
  });

  it('pages through every event with --all', async () => {
    const type = `test.page.${randomUUID().slice(0, 8)}`;
    const lines = Array.from({ length: 7 }, (_, i) =>
      JSON.stringify({ specversion: '1.0', id: `p${i}`, source: '/test', type }),
    );
    expect((await runCli(['emit', '--url', server.url, '--file', '-'], { input: lines.join('\n') })).code).toBe(0);
    const res = await runCli(['events', '--url', server.url, '--type', type, '--limit', '3', '--all', '--json']);
    expect(res.code).toBe(0);
    expect(res.stdout.trim().split('\n')).toHaveLength(7);
    const table = await runCli(['events', '--url', server.url, '--type', type, '--limit', '3']);
    expect(table.stdout.split('\n')[0]).toMatch(/^OFFSET\s+TIME\s+TYPE/);
    expect(table.stderr).toMatch(/more events: add --after \d+/);
  });
});
