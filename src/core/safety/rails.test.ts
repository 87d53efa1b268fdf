import { describe, expect, it } from 'vitest';
import { DEFAULT_SAFETY } from './parse.js';
import { createRails, type Rails } from './rails.js';
import type { ActionDirection, RailRequest, SafetySpec, Verdict } from './types.js';

const T0 = Date.UTC(2026, 0, 1);
const S = 1_000;
const M = 60_000;

function spec(over: Partial<SafetySpec> = {}): SafetySpec {
  return { ...DEFAULT_SAFETY, ...over };
}

function req(resource: string, over: Partial<RailRequest> = {}): RailRequest {
  return { action: 'scale', resource, ...over };
}

/** Checks and, when allowed, records as executed; returns the verdict. */
function act(rails: Rails, policy: string, s: SafetySpec, r: RailRequest, now: number): Verdict {
  const v = rails.check(policy, s, r, now);
  if (v.allow) rails.record(policy, r, now, (r.mode ?? s.mode) === 'dry-run' ? 'dry-run' : 'executed');
  return v;
}

function refusal(v: Verdict): Extract<Verdict, { allow: false }> {
  if (v.allow) throw new Error('expected a refusal');
  return v;
}

describe('cooldown', () => {
  it('refuses a second action on the same resource within the cooldown and says when it frees up', () => {
    const rails = createRails();
    const s = spec({ cooldownMs: 30 * S });
    expect(act(rails, 'P', s, req('instancegroup/web'), T0).allow).toBe(true);
    const v = refusal(act(rails, 'P', s, req('instancegroup/web'), T0 + 12 * S));
    expect(v.rail).toBe('cooldown');
    expect(v.retryAt).toBe(T0 + 30 * S);
    expect(v.reason).toBe(
      'cooldown: P acted on instancegroup/web 12s ago (scale) and its cooldown is 30s; the next action on it can run ' +
        'at 2026-01-01T00:00:30.000Z (in 18s)',
    );
    expect(act(rails, 'P', s, req('instancegroup/other'), T0 + 12 * S).allow).toBe(true);
    expect(act(rails, 'P', s, req('instancegroup/web'), T0 + 30 * S).allow).toBe(true);
  });

  it('is per policy: another policy may act on the resource', () => {
    const rails = createRails();
    const s = spec({ cooldownMs: 30 * S });
    act(rails, 'P', s, req('instancegroup/web'), T0);
    expect(act(rails, 'Q', s, req('instancegroup/web'), T0 + S).allow).toBe(true);
  });
});

describe('rate limit', () => {
  it('allows at most max actions per window and frees up when the oldest leaves it', () => {
    const rails = createRails();
    const s = spec({ rateLimit: { max: 3, perMs: M } });
    for (let i = 0; i < 3; i++) expect(act(rails, 'P', s, req(`instance/i-${i}`), T0 + i * S).allow).toBe(true);
    const v = refusal(act(rails, 'P', s, req('instance/i-9'), T0 + 10 * S));
    expect(v.rail).toBe('rate-limit');
    expect(v.retryAt).toBe(T0 + M);
    expect(v.reason).toBe(
      'rate limit: P ran 3 actions in the last 1m (limit 3 per 1m); the next one can run at 2026-01-01T00:01:00.000Z (in 50s)',
    );
    expect(rails.check('P', s, req('instance/i-9'), T0 + M - 1).allow).toBe(false);
    expect(rails.check('P', s, req('instance/i-9'), T0 + M).allow).toBe(true);
  });

  it('counts failed actions but not refused ones', () => {
    const rails = createRails();
    const s = spec({ rateLimit: { max: 2, perMs: M } });
    rails.record('P', req('instance/a'), T0, 'executed').fail();
    act(rails, 'P', s, req('instance/b'), T0);
    expect(act(rails, 'P', s, req('instance/c'), T0).allow).toBe(false);
    expect(act(rails, 'P', s, req('instance/c'), T0).allow).toBe(false);
    expect(act(rails, 'P', s, req('instance/c'), T0 + M).allow).toBe(true);
  });
});

describe('blast radius', () => {
  it('caps the distinct resources per window; acting again on one already counted is allowed', () => {
    const rails = createRails();
    const s = spec({ blastRadius: { maxResources: 2, maxPercent: 100, perMs: 10 * M } });
    act(rails, 'P', s, req('instance/a'), T0);
    act(rails, 'P', s, req('instance/b'), T0 + M);
    expect(act(rails, 'P', s, req('instance/a'), T0 + 2 * M).allow).toBe(true);
    const v = refusal(act(rails, 'P', s, req('instance/c'), T0 + 3 * M));
    expect(v.rail).toBe('blast-radius');
    // b's last action (T0 + 1m) leaves the window first.
    expect(v.retryAt).toBe(T0 + 11 * M);
    expect(v.reason).toContain('blast radius: P acted on 2 distinct resources in the last 10m (limit 2)');
    expect(v.reason).toContain('a new resource can be acted on at 2026-01-01T00:11:00.000Z (in 8m)');
  });

  it('caps the share of a group, and never below one instance', () => {
    const rails = createRails();
    const s = spec({ blastRadius: { maxResources: 100, maxPercent: 25, perMs: 10 * M } });
    const inst = (n: number, size: number) =>
      req(`instance/web-${n}`, { action: 'replace', group: 'web', groupSize: size });
    expect(act(rails, 'P', s, inst(1, 10), T0).allow).toBe(true);
    expect(act(rails, 'P', s, inst(2, 10), T0).allow).toBe(true);
    const v = refusal(act(rails, 'P', s, inst(3, 10), T0 + S));
    expect(v.reason).toContain(
      'P acted on 2 of the 10 instances of group web in the last 10m; the cap is 25% of the group (2 instances)',
    );
    // Scaling the group itself is not an instance of it.
    expect(act(rails, 'P', s, req('instancegroup/web', { group: 'web', groupSize: 10 }), T0 + S).allow).toBe(true);
    // A group of 2 at 25% still allows one instance.
    const small = createRails();
    const one = (n: number) => req(`instance/api-${n}`, { group: 'api', groupSize: 2 });
    expect(act(small, 'P', s, one(1), T0).allow).toBe(true);
    expect(act(small, 'P', s, one(2), T0).allow).toBe(false);
  });
});

describe('flap detection', () => {
  const s = spec({ flap: { maxReversals: 2, withinMs: 10 * M } });
  const dir = (d: ActionDirection) => req('instancegroup/web', { direction: d });

  it('freezes a resource a policy keeps reversing, refusing the reversal past the cap', () => {
    const rails = createRails();
    expect(act(rails, 'P', s, dir('up'), T0).allow).toBe(true);
    expect(act(rails, 'P', s, dir('down'), T0 + M).allow).toBe(true);
    expect(act(rails, 'P', s, dir('up'), T0 + 2 * M).allow).toBe(true);
    const v = refusal(act(rails, 'P', s, dir('down'), T0 + 3 * M));
    expect(v.rail).toBe('flap');
    expect(v.froze).toEqual(['P']);
    expect(v.reason).toMatch(
      /^flap: P would reverse its own action on instancegroup\/web \(down after up\) for the 3rd time in 10m \(limit 2 reversals\); instancegroup\/web is frozen for P until unfrozen/,
    );
    expect(rails.frozen()).toEqual([{ policy: 'P', resource: 'instancegroup/web', since: T0 + 3 * M, why: v.reason }]);
    // Frozen: even a same-direction action is refused, long after the window.
    const f = refusal(act(rails, 'P', s, dir('up'), T0 + 60 * M));
    expect(f.rail).toBe('frozen');
    expect(f.reason).toContain('frozen: P may not act on instancegroup/web since 2026-01-01T00:03:00.000Z');
    expect(act(rails, 'Q', s, req('instancegroup/web'), T0 + 60 * M).allow).toBe(true);
  });

  it('unfreezing lifts the freeze and forgets the reversals counted so far', () => {
    const rails = createRails();
    for (const [i, d] of (['up', 'down', 'up', 'down'] as const).entries()) act(rails, 'P', s, dir(d), T0 + i * S);
    expect(rails.isFrozen('P', 'instancegroup/web')).toBeDefined();
    expect(rails.unfreeze('P', 'instancegroup/web')).toBe(true);
    expect(rails.unfreeze('P', 'instancegroup/web')).toBe(false);
    expect(act(rails, 'P', s, dir('down'), T0 + 10 * S).allow).toBe(true);
    expect(act(rails, 'P', s, dir('up'), T0 + 11 * S).allow).toBe(true);
    expect(act(rails, 'P', s, dir('down'), T0 + 12 * S).allow).toBe(true);
    expect(act(rails, 'P', s, dir('up'), T0 + 13 * S).allow).toBe(false);
  });

  it('counts only reversals inside the window', () => {
    const rails = createRails();
    act(rails, 'P', s, dir('up'), T0);
    act(rails, 'P', s, dir('down'), T0 + M);
    act(rails, 'P', s, dir('up'), T0 + 2 * M);
    // 12 minutes later the first two reversals are out of the 10 minute window.
    expect(act(rails, 'P', s, dir('down'), T0 + 14 * M).allow).toBe(true);
  });

  it('does not count failed actions, nor actions without a direction', () => {
    const rails = createRails();
    act(rails, 'P', s, dir('up'), T0);
    rails.record('P', dir('down'), T0 + S, 'executed').fail();
    act(rails, 'P', s, req('instancegroup/web', { action: 'restart' }), T0 + 2 * S);
    act(rails, 'P', s, dir('up'), T0 + 3 * S);
    // Counted, the failed down would make this the 3rd reversal (up, down, up, down).
    expect(rails.check('P', s, dir('down'), T0 + 4 * S).allow).toBe(true);
    const control = createRails();
    act(control, 'P', s, dir('up'), T0);
    act(control, 'P', s, dir('down'), T0 + S);
    act(control, 'P', s, dir('up'), T0 + 3 * S);
    expect(control.check('P', s, dir('down'), T0 + 4 * S).allow).toBe(false);
  });

  it('detects two policies undoing each other and freezes both', () => {
    const rails = createRails();
    const patch = req('securityrule/ssh', { action: 'patch', direction: 'change' });
    const revert = req('securityrule/ssh', { action: 'revert', direction: 'revert' });
    expect(act(rails, 'A', s, patch, T0).allow).toBe(true);
    expect(act(rails, 'B', s, revert, T0 + S).allow).toBe(true);
    expect(act(rails, 'A', s, patch, T0 + 2 * S).allow).toBe(true);
    const v = refusal(act(rails, 'B', s, revert, T0 + 3 * S));
    expect(v.rail).toBe('flap');
    expect(v.froze).toEqual(['B', 'A']);
    expect(v.reason).toMatch(
      /^loop: B and A would undo each other's actions on securityrule\/ssh for the 3rd time in 10m \(limit 2 reversals\); both policies are frozen/,
    );
    expect(
      rails
        .frozen()
        .map((f) => f.policy)
        .sort(),
    ).toEqual(['A', 'B']);
    expect(refusal(rails.check('A', s, patch, T0 + 4 * S)).rail).toBe('frozen');
  });

  it('in dry-run refuses like enforce would but freezes nothing, and dry-run actions do not hold back real ones', () => {
    const rails = createRails();
    const dry = { ...s, mode: 'dry-run' as const };
    for (const [i, d] of (['up', 'down', 'up'] as const).entries())
      expect(act(rails, 'P', dry, dir(d), T0 + i * S).allow).toBe(true);
    const v = refusal(act(rails, 'P', dry, dir('down'), T0 + 3 * S));
    expect(v.reason).toContain('dry-run: instancegroup/web would be frozen for P');
    expect(v.froze).toBeUndefined();
    expect(rails.frozen()).toEqual([]);
    expect(rails.check('P', s, dir('down'), T0 + 3 * S).allow).toBe(true);
  });
});

describe('forget', () => {
  it('drops a deleted policy’s actions and freezes', () => {
    const rails = createRails();
    const s = spec({ cooldownMs: M });
    act(rails, 'P', s, req('instancegroup/web'), T0);
    rails.freeze('P', 'instance/x', T0, 'test');
    rails.forget('P');
    expect(rails.frozen()).toEqual([]);
    expect(rails.check('P', s, req('instancegroup/web'), T0 + S).allow).toBe(true);
  });
});
