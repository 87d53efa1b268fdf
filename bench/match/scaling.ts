/**
 * @module Rule-count scaling: events/second against 10 ... 100,000 rules built from real events
 * of the data set. Rule mix (round robin): exact MAPBLKLOT; STREET + ST_TYPE + LOT_NUM (three
 * fields); prefix on BLKLOT (its first 6 characters); numeric "=" on
 * geometry.firstCoordinates.x; exact BLOCK_NUM with anything-but FROM_ST.
 *
 * Two sets: 'cannot-match' keeps the first 10 rules as they are and changes one value in every
 * other rule so that it cannot match (multi-field rules keep their other, shared values: STREET
 * "UNION" stays), so the matches per event stay constant and the figure shows what rules that
 * cannot match cost; 'drawn' uses every rule as drawn, so matches grow with the rule count.
 */
import { createMatcher, type Matcher, parsePattern } from '../../src/core/pattern/index.js';

interface Lot {
  readonly properties: Record<string, string>;
  readonly geometry: { readonly firstCoordinates: { readonly x: number } };
}

/** Makes a string value unmatchable while keeping its shape. */
const spoil = (v: string | undefined) => `${v ?? ''}~`;

function ruleFor(i: number, lot: Lot, cannotMatch: boolean): unknown {
  const p = cannotMatch ? spoiled(i, lot.properties) : lot.properties;
  const x = lot.geometry.firstCoordinates.x + (cannotMatch ? 1e-9 : 0);
  switch (i % 5) {
    case 0:
      return { properties: { MAPBLKLOT: [p.MAPBLKLOT] } };
    case 1:
      return { properties: { STREET: [p.STREET], ST_TYPE: [p.ST_TYPE], LOT_NUM: [p.LOT_NUM] } };
    case 2:
      return { properties: { BLKLOT: [{ prefix: (p.BLKLOT ?? '').slice(0, 6) }] } };
    case 3:
      return { geometry: { firstCoordinates: { x: [{ numeric: ['=', x] }] } } };
    default:
      return { properties: { BLOCK_NUM: [p.BLOCK_NUM], FROM_ST: [{ 'anything-but': [p.FROM_ST] }] } };
  }
}

/** The properties with the one value rule `i` of its kind uses to tell events apart spoiled. */
function spoiled(i: number, p: Record<string, string>): Record<string, string> {
  const field = ['MAPBLKLOT', 'LOT_NUM', 'BLKLOT', '', 'BLOCK_NUM'][i % 5]!;
  if (field === 'BLKLOT') return { ...p, BLKLOT: `~${p.BLKLOT ?? ''}` };
  return field === '' ? p : { ...p, [field]: spoil(p[field]) };
}

export type ScalingSet = 'cannot-match' | 'drawn';

/** A matcher with `count` rules built from events spread over the data set. */
export function scalingMatcher(events: readonly unknown[], count: number, set: ScalingSet): Matcher<number> {
  const matcher = createMatcher<number>();
  const stride = Math.max(1, Math.floor(events.length / count));
  for (let i = 0; i < count; i++) {
    const lot = events[(i * stride + (i % 7)) % events.length] as Lot;
    matcher.set(i, parsePattern(ruleFor(i, lot, set === 'cannot-match' && i >= 10)));
  }
  return matcher;
}
