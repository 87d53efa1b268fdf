/** @module The example workflows and rules in examples/workflows validate against the real actions. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createTargetRegistry } from '../../src/actions/registry.js';
import { systemClock } from '../../src/core/clock.js';
import { parseRuleManifest } from '../../src/core/rules/manifest.js';
import { parseWorkflowManifest } from '../../src/core/workflow/manifest.js';
import { createWorkflowTarget } from '../../src/engine/workflow/target.js';
import { ruleValidationContext } from '../../src/engine/rule-service.js';
import type { Target } from '../../src/ports/target.js';

const DIR = fileURLToPath(new URL('../../examples/workflows/', import.meta.url));

const registry = new Map<string, Target>(
  createTargetRegistry({
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    publish: async () => [],
    exec: { allow: { deploy: { command: '/usr/local/bin/deploy', maxOutputBytes: 65_536 } } },
  }),
);
registry.set(
  'workflow',
  createWorkflowTarget(async () => ({ run: {}, created: true })),
);
const context = ruleValidationContext(registry);

describe('examples/workflows', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));

  it('has examples', () => expect(files.length).toBeGreaterThanOrEqual(3));

  for (const file of files) {
    it(`${file} validates`, () => {
      for (const doc of parseAllDocuments(readFileSync(`${DIR}${file}`, 'utf8'))) {
        const manifest = doc.toJS() as { kind: string };
        if (manifest.kind === 'Workflow')
          expect(parseWorkflowManifest(manifest, context).steps.length).toBeGreaterThan(0);
        else expect(parseRuleManifest(manifest, context).targets.length).toBeGreaterThan(0);
      }
    });
  }
});
