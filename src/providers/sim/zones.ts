/** @module Zones of the simulated cloud: which are out, and where a group's next instance goes. */
import { ErrorCode, HomeostatError } from '../../core/errors.js';

export class Zones {
  private readonly down = new Set<string>();

  constructor(readonly names: readonly string[]) {}

  has(zone: string): boolean {
    return this.names.includes(zone);
  }

  isDown(zone: string): boolean {
    return this.down.size > 0 && this.down.has(zone);
  }

  /** Marks a zone out or back; returns whether that changed anything. */
  setDown(zone: string, down: boolean): boolean {
    if (!this.has(zone) || this.down.has(zone) === down) return false;
    if (down) this.down.add(zone);
    else this.down.delete(zone);
    return true;
  }

  /**
   * The zone (not out) with the fewest of the group's instances (`perZone`); ties go to the first
   * listed, so a group spreads a, b, c, a, b, c. Throws E_BACKEND when every zone is out.
   */
  place(group: string, perZone: ReadonlyMap<string, number>): string {
    let best: string | undefined;
    let fewest = Number.POSITIVE_INFINITY;
    for (const zone of this.names) {
      const n = perZone.get(zone) ?? 0;
      if (!this.down.has(zone) && n < fewest) {
        best = zone;
        fewest = n;
      }
    }
    if (best === undefined) {
      throw new HomeostatError(ErrorCode.BACKEND, `sim: every zone is out; group ${group} cannot start instances`);
    }
    return best;
  }
}
