/**
 * GET /v1/resources with paging and filters, on a fleet of a few thousand simulated instances: every
 * resource is on exactly one page, in kind-then-name order; filters narrow the set; without paging
 * parameters the answer is the whole list, as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet, startFleet } from '../dashboard/fleet.js';
import { getJson } from './harness.js';

interface Res {
  kind: string;
  name: string;
  status?: { group?: string; phase?: string; healthy?: boolean };
  tags: Record<string, string>;
}
interface Page {
  resources: Res[];
  total: number;
  next: string | null;
}

let fleet: Fleet;
const get = async (path: string): Promise<Page> => {
  const r = await getJson(fleet.server.url, path);
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as Page;
};

beforeAll(async () => {
  fleet = await startFleet({ alpha: 1_800, beta: 1_200 });
}, 120_000);

afterAll(async () => {
  await fleet?.server.stop();
});

describe('GET /v1/resources paging', () => {
  it('returns every resource exactly once across pages, in kind then natural name order', async () => {
    const all = await get('/v1/resources');
    expect(all.next).toBeNull();
    expect(all.resources.length).toBe(all.total);
    expect(all.total).toBeGreaterThanOrEqual(3_002);

    const seen: Res[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page: Page = await get(`/v1/resources?limit=700${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      expect(page.total).toBe(all.total);
      expect(page.resources.length).toBeLessThanOrEqual(700);
      seen.push(...page.resources);
      after = page.next;
      pages += 1;
    } while (after !== null && pages < 100);
    expect(pages).toBe(Math.ceil(all.total / 700));
    const keys = seen.map((r) => `${r.kind}/${r.name}`);
    expect(new Set(keys).size).toBe(all.total);
    expect(keys.slice(0, 2)).toEqual(['InstanceGroup/alpha', 'InstanceGroup/beta']);
    // Natural order: alpha-2 comes before alpha-10 when both exist.
    const alphas = seen.filter((r) => r.kind === 'Instance' && r.name.startsWith('alpha-')).map((r) => r.name);
    const numbers = alphas.map((n) => Number(/(\d+)$/.exec(n)?.[1]));
    expect(numbers.length).toBe(1_800);
    expect([...numbers].sort((a, b) => a - b)).toEqual(numbers);
  });

  it('filters by kind, group, state and name substring', async () => {
    const beta = await get('/v1/resources?kind=instance&group=beta&limit=50');
    expect(beta.total).toBe(1_200);
    expect(beta.resources).toHaveLength(50);
    expect(beta.resources.every((r) => r.kind === 'Instance' && r.status?.group === 'beta')).toBe(true);

    const groups = await get('/v1/resources?kind=InstanceGroup');
    expect(groups.resources.map((r) => r.name).sort()).toEqual(['alpha', 'beta']);

    const running = await get('/v1/resources?state=running&limit=1000');
    expect(running.resources.every((r) => r.kind === 'Instance' && r.status?.phase === 'running')).toBe(true);

    const name = beta.resources[0]!.name;
    const byName = await get(`/v1/resources?q=${encodeURIComponent(name.toUpperCase())}`);
    expect(byName.resources.map((r) => r.name)).toContain(name);
    expect(byName.resources.every((r) => r.name.toLowerCase().includes(name.toLowerCase()))).toBe(true);
  });

  it('rejects an unknown state or a malformed cursor with a pointer to the parameter', async () => {
    const state = await getJson(fleet.server.url, '/v1/resources?state=sleepy');
    expect(state.status).toBe(400);
    expect(state.body.error.problems[0].pointer).toBe('?state');
    const cursor = await getJson(fleet.server.url, '/v1/resources?after=nonsense');
    expect(cursor.status).toBe(400);
    expect(cursor.body.error.problems[0].pointer).toBe('?after');
    const limit = await getJson(fleet.server.url, '/v1/resources?limit=0');
    expect(limit.status).toBe(400);
  });
});
