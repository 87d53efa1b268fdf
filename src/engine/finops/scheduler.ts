/**
 * @module The schedule clock: cron expressions with a time zone (croner) that publish a
 * `schedule.fired` event at each fire time. The event id is made of the schedule, the action and
 * the fire time, and the last time each schedule was checked is kept in the ledger, so a restart
 * neither fires twice nor forgets a fire that fell while the process was down (the latest missed
 * one fires at start). Time comes from the injected clock; `tick(now)` does the work, and the
 * timer (`start`) only calls it, so tests drive it with a manual clock.
 */
import { Cron } from 'croner';
import type { Clock } from '../../core/clock.js';
import type { CloudEvent } from '../../core/event.js';
import type { Problem } from '../../core/errors.js';
import type { CostLedger } from '../../ports/cost-ledger.js';
import type { Publish } from '../automation/types.js';

export const SCHEDULE_SOURCE = 'homeostat/schedule';
export const SCHEDULE_FIRED = 'schedule.fired';
/** Longest wait between two timer wake-ups (a guard against clock jumps). */
const MAX_SLEEP_MS = 60 * 60_000;
/** Wait before retrying after a failed publication. */
const RETRY_MS = 5_000;

export interface ScheduleEntry {
  /** What the fire asks for, e.g. 'stop' or 'start'. */
  readonly action: string;
  /** Five or six fields (seconds first when six). */
  readonly cron: string;
}

export interface Scheduler {
  /** Adds or replaces a schedule; its check-point is loaded from (or first written to) the ledger. */
  add(name: string, entries: readonly ScheduleEntry[], timezone: string): Promise<void>;
  remove(name: string): void;
  /** Publishes the fires due at `now` (default the clock's), at most one per schedule: the latest. */
  tick(now?: number): Promise<CloudEvent[]>;
  /** The next fire of a schedule after `after` (default now), if any. */
  next(name: string, after?: number): { readonly action: string; readonly at: number } | undefined;
  /** Starts the timer (and catches up at once). */
  start(): void;
  close(): Promise<void>;
}

/** Problems with a cron expression or a time zone, for manifest validation. */
export function checkCron(cron: unknown, timezone: string, at: string): Problem[] {
  if (typeof cron !== 'string' || cron.trim() === '')
    return [{ pointer: at, message: "must be a cron expression such as '0 19 * * 1-5'" }];
  try {
    new Cron(cron, { timezone, paused: true }).nextRun(new Date(0));
    return [];
  } catch (err) {
    return [
      { pointer: at, message: `${JSON.stringify(cron)} is not a valid cron expression: ${(err as Error).message}` },
    ];
  }
}

/** True when the runtime knows the IANA time zone (e.g. Europe/Paris). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

interface Compiled {
  readonly entries: readonly (ScheduleEntry & { readonly job: Cron })[];
  readonly timezone: string;
  last: number;
}

const tickKey = (name: string): string => `schedule/${name}/tick`;

export function createScheduler(d: {
  readonly clock: Clock;
  readonly ledger: CostLedger;
  readonly publish: Publish;
  readonly onError?: (err: unknown) => void;
}): Scheduler {
  const schedules = new Map<string, Compiled>();
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  let closed = false;
  let running: Promise<CloudEvent[]> = Promise.resolve([]);

  const nextOf = (c: Compiled, after: number) => {
    let best: { action: string; at: number } | undefined;
    for (const e of c.entries) {
      const at = e.job.nextRun(new Date(after))?.getTime();
      if (at !== undefined && (best === undefined || at < best.at)) best = { action: e.action, at };
    }
    return best;
  };

  /** The latest fire in (after, now], if any. */
  function latestDue(c: Compiled, now: number): { action: string; cron: string; at: number } | undefined {
    let best: { action: string; cron: string; at: number } | undefined;
    for (const e of c.entries) {
      let t = c.last;
      for (let n = 0; n < 100_000; n++) {
        const at = e.job.nextRun(new Date(t))?.getTime();
        if (at === undefined || at > now) break;
        t = at;
      }
      if (t > c.last && (best === undefined || t >= best.at)) best = { action: e.action, cron: e.cron, at: t };
    }
    return best;
  }

  async function fire(now: number): Promise<CloudEvent[]> {
    const fired: CloudEvent[] = [];
    for (const [name, c] of schedules) {
      const due = latestDue(c, now);
      if (due === undefined) continue;
      const event: CloudEvent = {
        specversion: '1.0',
        id: `schedule-${name}-${due.action}-${new Date(due.at).toISOString()}`,
        source: SCHEDULE_SOURCE,
        type: SCHEDULE_FIRED,
        subject: `schedule/${name}`,
        time: new Date(now).toISOString(),
        datacontenttype: 'application/json',
        partitionkey: `schedule/${name}`,
        data: {
          schedule: name,
          action: due.action,
          cron: due.cron,
          timezone: c.timezone,
          fireTime: new Date(due.at).toISOString(),
          lateMs: now - due.at,
        },
      };
      await d.publish([event]);
      c.last = now;
      await d.ledger.putState(tickKey(name), now);
      fired.push(event);
    }
    return fired;
  }

  function arm(delay?: number): void {
    if (!started || closed) return;
    if (timer) clearTimeout(timer);
    const now = d.clock.now();
    const nexts = [...schedules.values()].map((c) => nextOf(c, Math.max(now, c.last))?.at ?? Infinity);
    const wait = delay ?? Math.min(MAX_SLEEP_MS, Math.max(0, Math.min(...nexts) - now));
    timer = setTimeout(() => {
      tick().then(
        () => arm(),
        (err: unknown) => {
          d.onError?.(err);
          arm(RETRY_MS);
        },
      );
    }, wait);
    timer.unref();
  }

  const tick = (now?: number): Promise<CloudEvent[]> => {
    const run = running.catch(() => []).then(() => fire(now ?? d.clock.now()));
    running = run;
    return run;
  };

  return {
    async add(name, entries, timezone) {
      const compiled = entries.map((e) => ({ ...e, job: new Cron(e.cron, { timezone, paused: true }) }));
      const stored = (await d.ledger.getState(tickKey(name))) as number | undefined;
      const last = stored ?? d.clock.now();
      if (stored === undefined) await d.ledger.putState(tickKey(name), last);
      schedules.set(name, { entries: compiled, timezone, last });
      arm();
    },
    remove(name) {
      schedules.delete(name);
      arm();
    },
    tick,
    next(name, after) {
      const c = schedules.get(name);
      return c && nextOf(c, after ?? d.clock.now());
    },
    start() {
      started = true;
      arm(0);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}
