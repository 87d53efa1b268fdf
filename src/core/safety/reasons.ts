/** @module The sentences a refusal carries: which rail, the counts, the limit and when it frees up. Pure. */
import { formatDuration } from '../rules/manifest-reader.js';

/** A rough, readable length of time: 250ms, 18s, 7m, 2.5h. */
export function approx(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.ceil(ms))}ms`;
  if (ms < 120_000) return `${Math.ceil(ms / 1_000)}s`;
  if (ms < 7_200_000) return `${Math.ceil(ms / 60_000)}m`;
  return `${Math.round(ms / 360_000) / 10}h`;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** "; <what> at <time> (in <n>)". */
function frees(now: number, retryAt: number, what = 'it can run again'): string {
  return `; ${what} at ${iso(retryAt)} (in ${approx(retryAt - now)})`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export const UNFREEZE_HINT =
  'unfreeze it with `homeostat actions unfreeze --policy <policy> --resource <resource>` or POST /v1/actions/unfreeze';

export function cooldownReason(
  policy: string,
  resource: string,
  last: { readonly action: string; readonly at: number },
  cooldownMs: number,
  now: number,
): string {
  return (
    `cooldown: ${policy} acted on ${resource} ${approx(now - last.at)} ago (${last.action}) and its cooldown is ` +
    `${formatDuration(cooldownMs)}${frees(now, last.at + cooldownMs, 'the next action on it can run')}`
  );
}

export function rateReason(policy: string, count: number, max: number, perMs: number, now: number, retryAt: number) {
  return (
    `rate limit: ${policy} ran ${plural(count, 'action')} in the last ${formatDuration(perMs)} ` +
    `(limit ${max} per ${formatDuration(perMs)})${frees(now, retryAt, 'the next one can run')}`
  );
}

export function blastResourcesReason(
  policy: string,
  count: number,
  max: number,
  perMs: number,
  now: number,
  retryAt: number,
): string {
  return (
    `blast radius: ${policy} acted on ${plural(count, 'distinct resource')} in the last ${formatDuration(perMs)} ` +
    `(limit ${max})${frees(now, retryAt, 'a new resource can be acted on')}`
  );
}

export function blastPercentReason(
  policy: string,
  group: string,
  count: number,
  groupSize: number,
  maxPercent: number,
  cap: number,
  perMs: number,
  now: number,
  retryAt: number,
): string {
  return (
    `blast radius: ${policy} acted on ${count} of the ${plural(groupSize, 'instance')} of group ${group} in the last ` +
    `${formatDuration(perMs)}; the cap is ${maxPercent}% of the group (${plural(cap, 'instance')})` +
    `${frees(now, retryAt, 'another instance can be acted on')}`
  );
}

export function flapReason(
  policy: string,
  resource: string,
  previous: string,
  next: string,
  reversals: number,
  max: number,
  withinMs: number,
  freezes: boolean,
): string {
  const outcome = freezes
    ? `${resource} is frozen for ${policy} until unfrozen; ${UNFREEZE_HINT}`
    : `dry-run: ${resource} would be frozen for ${policy}`;
  return (
    `flap: ${policy} would reverse its own action on ${resource} (${next} after ${previous}) for the ` +
    `${ordinal(reversals)} time in ${formatDuration(withinMs)} (limit ${max} reversals); ${outcome}`
  );
}

export function loopReason(
  policy: string,
  other: string,
  resource: string,
  reversals: number,
  max: number,
  withinMs: number,
  freezes: boolean,
): string {
  const outcome = freezes
    ? `both policies are frozen on ${resource} until unfrozen; ${UNFREEZE_HINT}`
    : `dry-run: both policies would be frozen on ${resource}`;
  return (
    `loop: ${policy} and ${other} would undo each other's actions on ${resource} for the ${ordinal(reversals)} ` +
    `time in ${formatDuration(withinMs)} (limit ${max} reversals); ${outcome}`
  );
}

export function frozenReason(policy: string, resource: string, since: number, why: string): string {
  return `frozen: ${policy} may not act on ${resource} since ${iso(since)} (${why.split(';')[0]}); ${UNFREEZE_HINT}`;
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}
