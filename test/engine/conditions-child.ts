/**
 * @module The engine process of the condition crash test (conditions-crash.test.ts), run with
 * `node --import tsx conditions-child.ts <data dir> <sink url>`. It serves the rules below on the
 * data dir and answers JSON commands, one per stdin line, with one JSON line on stdout:
 * `send` (append events, wait until they are routed and their firings are on the log), `save`
 * (save the condition states now), `commit` (the router commits as far as it may), `firings`
 * (the fired event ids on the log). States are saved and offsets committed only when told (both
 * intervals are an hour), so the test decides what a SIGKILL loses.
 */
import { createInterface } from 'node:readline';
import type { CloudEvent } from '../../src/core/event.js';
import { CONDITION_FIRED_TYPE } from '../../src/core/rules/types.js';
import { startEngine } from './harness.js';

const [dir, sinkUrl] = process.argv.slice(2);
if (!dir || !sinkUrl) throw new Error('usage: conditions-child.ts <data dir> <sink url>');

const CRASH_RULES = [
  {
    metadata: { name: 'five' },
    spec: {
      match: { type: ['test.tick'] },
      when: { count: { atLeast: 5, within: '1h' }, groupBy: 'subject' },
      targets: [{ name: 'hook', action: 'http', with: { url: `${sinkUrl}/five` } }],
    },
  },
];

const HOUR = 3_600_000;
const t = await startEngine(dir, CRASH_RULES, {
  conditionOptions: { snapshotIntervalMs: HOUR },
  commitIntervalMs: HOUR,
});
const router = t.engine.router as typeof t.engine.router & { finalCommit(): Promise<void> };

interface Command {
  readonly cmd: 'send' | 'save' | 'commit' | 'firings';
  readonly events?: Partial<CloudEvent>[];
}

async function run(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'send':
      await t.publish(c.events ?? []);
      await t.engine.tickConditions();
      return { ok: true };
    case 'save':
      await t.engine.conditions.flush();
      return { ok: true };
    case 'commit':
      await router.finalCommit();
      return { committed: await t.log.committedOffset('router'), position: router.position };
    case 'firings': {
      const records = await t.log.query({ types: [CONDITION_FIRED_TYPE], limit: 1000 });
      return { ids: records.map((r) => r.event.id) };
    }
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  run(JSON.parse(line) as Command).then(
    (reply) => process.stdout.write(`${JSON.stringify(reply)}\n`),
    (err: unknown) => process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`),
  );
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
