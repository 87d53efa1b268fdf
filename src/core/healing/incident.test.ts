/** @module The incident record: timeline order and cap, escalation, resolution. */
import { describe, expect, it } from 'vitest';
import { hasCode } from '../errors.js';
import { appendTimeline, escalate, newIncidentId, openIncident, resolveIncident, withDetails } from './incident.js';
import { MAX_TIMELINE } from './types.js';

const base = () =>
  openIncident({
    id: 'inc-1',
    title: 'web: web-1 crashed',
    severity: 'warning',
    resource: 'instancegroup/web',
    group: 'web',
    policy: 'HealingPolicy/web',
    at: 1_000,
    timeline: [{ at: 1_000, kind: 'event', summary: 'web-1 crashed', ref: 'e1' }],
  });

describe('incident record', () => {
  it('opens with status open and its first entries', () => {
    const i = base();
    expect(i).toMatchObject({ status: 'open', openedAt: 1_000, severity: 'warning', group: 'web' });
    expect(i.timeline).toHaveLength(1);
    expect(Object.isFrozen(i)).toBe(true);
  });

  it('keeps the timeline in time order when an entry arrives late', () => {
    const i = appendTimeline(base(), [
      { at: 3_000, kind: 'action', summary: 'c' },
      { at: 2_000, kind: 'note', summary: 'b' },
      { at: 3_000, kind: 'note', summary: 'd' },
    ]);
    expect(i.timeline.map((e) => e.at)).toEqual([1_000, 2_000, 3_000, 3_000]);
    expect(i.timeline.map((e) => e.summary).slice(1)).toEqual(['b', 'c', 'd']);
  });

  it('caps the timeline, keeping the first ten entries and the newest, and counts what it dropped', () => {
    const many = Array.from({ length: MAX_TIMELINE + 50 }, (_, n) => ({
      at: 2_000 + n,
      kind: 'note' as const,
      summary: `n${n}`,
    }));
    const i = appendTimeline(base(), many);
    expect(i.timeline).toHaveLength(MAX_TIMELINE);
    expect(i.timeline[0]!.summary).toBe('web-1 crashed');
    expect(i.timeline.at(-1)!.summary).toBe(`n${MAX_TIMELINE + 49}`);
    expect(i.details.droppedEntries).toBe(51);
  });

  it('only raises the severity', () => {
    const up = escalate(base(), 'critical', { at: 2_000, kind: 'note', summary: 'loop' });
    expect(up.severity).toBe('critical');
    expect(escalate(up, 'info', { at: 3_000, kind: 'note', summary: 'x' }).severity).toBe('critical');
  });

  it('resolves once, with who and the time to resolve; a second resolve is E_CONFLICT', () => {
    const r = resolveIncident(base(), 5_000, 'cli:alice', 'resolved by cli:alice');
    expect(r).toMatchObject({ status: 'resolved', resolvedAt: 5_000, resolvedBy: 'cli:alice' });
    expect(r.details.toResolvedMs).toBe(4_000);
    expect(r.timeline.at(-1)).toMatchObject({ kind: 'note', summary: 'resolved by cli:alice' });
    let err: unknown;
    try {
      resolveIncident(r, 6_000, 'api', 'again');
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'E_CONFLICT')).toBe(true);
  });

  it('merges details and removes keys set to undefined', () => {
    const i = withDetails(withDetails(base(), { held: true, failures: 2 }), { held: undefined });
    expect(i.details).toEqual({ failures: 2 });
  });

  it('makes short ids from the time and randomness', () => {
    expect(newIncidentId(36 ** 3, () => 0)).toBe('inc-1000-0000');
    expect(newIncidentId(1, () => 0.999999)).toMatch(/^inc-1-[0-9a-z]{4}$/);
  });
});
