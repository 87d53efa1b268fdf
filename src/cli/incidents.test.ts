/** @module How `homeostat incident <id>` prints an incident: header, recovery times, hold hint, timeline. */
import { describe, expect, it } from 'vitest';
import { formatIncident } from './incidents.js';

describe('formatIncident', () => {
  it('prints the figures, the hold hint and one line per timeline entry', () => {
    const lines = formatIncident({
      id: 'inc-1',
      title: 'web: crash loop, replacements held',
      severity: 'critical',
      status: 'open',
      resource: 'instancegroup/web',
      group: 'web',
      policy: 'HealingPolicy/web',
      openedAt: '2026-01-01T12:00:00.000Z',
      details: { held: true, toActionMs: 12, toVerifiedMs: 900 },
      timeline: [
        { at: '2026-01-01T12:00:00.000Z', kind: 'event', summary: 'web-1 crashed', ref: 'ev-1' },
        { at: '2026-01-01T12:00:00.012Z', kind: 'action', summary: 'hold web', ref: 'act-1' },
      ],
    });
    expect(lines).toEqual([
      'inc-1  critical  open  web: crash loop, replacements held',
      '  resource: instancegroup/web   policy: HealingPolicy/web',
      '  opened:   2026-01-01T12:00:00.000Z',
      '  times from the first failure: to action 12 ms, to replacement healthy 900 ms',
      '  group held: resolve to release it (homeostat incident inc-1 --resolve)',
      'timeline:',
      '  2026-01-01T12:00:00.000Z  event   web-1 crashed  [ev-1]',
      '  2026-01-01T12:00:00.012Z  action  hold web  [act-1]',
    ]);
  });
});
