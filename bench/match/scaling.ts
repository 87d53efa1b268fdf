/**
 * @module Rule-count scaling: events/second against 10 ... 100,000 rules drawn from the data set,
 * so that a realistic share of events matches some rule at every size. Rule mix (round robin):
 * exact MAPBLKLOT; STREET + ST_TYPE + LOT_NUM (three fields); prefix on BLKLOT (its first 6
 * characters); numeric "=" on geometry.firstCoordinates.x; anything-but on FROM_ST with an exact
 * BLOCK_NUM.
 */
import { createMatcher, type Matcher, parsePattern } from '../../src/core/pattern/index.js';

interface Lot {
  readonly properties: Record<string, string>;
  readonly geometry: { readonly firstCoordinates: { readonly x: number } };
}

function ruleFor(i: number, lot: Lot): unknown {
  const p = lot.properties;
  switch (i % 5) {
    case 0:
      return { properties: { MAPBLKLOT: [p.MAPBLKLOT] } };
    case 1:
      return { properties: { STREET: [p.STREET], ST_TYPE: [p.ST_TYPE], LOT_NUM: [p.LOT_NUM] } };
    case 2:
      return { properties: { BLKLOT: [{ prefix: (p.BLKLOT ?? '').slice(0, 6) }] } };
    case 3:
      return { geometry: { firstCoordinates: { x: [{ numeric: ['=', lot.geometry.firstCoordinates.x] }] } } };
    default:
      return { properties: { BLOCK_NUM: [p.BLOCK_NUM], FROM_ST: [{ 'anything-but': [p.FROM_ST] }] } };
  }
}

/** A matcher with `count` rules built from events spread over the data set. */
export function scalingMatcher(events: readonly unknown[], count: number): Matcher<number> {
  const matcher = createMatcher<number>();
  const stride = Math.max(1, Math.floor(events.length / count));
  for (let i = 0; i < count; i++) {
    const lot = events[(i * stride + (i % 7)) % events.length] as Lot;
    matcher.set(i, parsePattern(ruleFor(i, lot)));
  }
  return matcher;
}
