import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deadUrl,
  type RunningServer,
  removeDir,
  requireBuild,
  runCli,
  spawnCli,
  startServer,
  stopProcess,
  tempDir,
} from './helpers.js';

describe('homeostat tail', () => {
  let dir: string;
  let server: RunningServer;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    requireBuild();
    dir = await tempDir('tail');
    server = await startServer(join(dir, 'data'));
  });

  afterAll(async () => {
    await Promise.all(children.map(stopProcess));
    await server?.stop();
    await removeDir(dir);
  });

  /** Resolves with the first stdout line of `child`. */
  function firstLine(child: ChildProcess): Promise<string> {
    return new Promise((resolve, reject) => {
      let buffered = '';
      child.stdout?.on('data', (d: Buffer) => {
        buffered += d.toString();
        const nl = buffered.indexOf('\n');
        if (nl >= 0) resolve(buffered.slice(0, nl));
      });
      child.on('exit', (code) => reject(new Error(`tail exited with ${code}`)));
    });
  }

  it('receives an event emitted after it started', async () => {
    const type = `test.tail.${randomUUID().slice(0, 8)}`;
    const tail = spawnCli(['tail', '--url', server.url, '--type', type, '--json']);
    children.push(tail);
    const line = firstLine(tail);
    let received: string | undefined;
    void line.then((l) => {
      received = l;
    });
    // The stream subscribes asynchronously: emit until the tail has seen one (usually the first).
    for (let i = 0; i < 40 && received === undefined; i++) {
      const res = await runCli(['emit', '--url', server.url, '--type', type, '--data', `{"n":${i}}`]);
      expect(res.code).toBe(0);
      await Promise.race([line, sleep(250)]);
    }
    const record = JSON.parse(await line);
    expect(record.event).toMatchObject({ type });
    expect(typeof record.offset).toBe('number');

    const exited = new Promise<number | null>((resolve) => tail.once('exit', (code) => resolve(code)));
    tail.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('fails with the reachability message when the server is down at start', async () => {
    const url = await deadUrl();
    const res = await runCli(['tail', '--url', url]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(
      `homeostat: cannot reach Homeostat at ${url}: is it running? (start it with \`homeostat up\`)`,
    );
  });
});
