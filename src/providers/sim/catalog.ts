/** @module The simulated cloud's instance types (size, price, boot time, capacity) and zones. */

/** One instance type of the simulated cloud. Prices are made up but in the range of real clouds. */
export interface SimInstanceType {
  readonly name: string;
  readonly vcpu: number;
  readonly memoryMiB: number;
  /** USD per hour. */
  readonly pricePerHour: number;
  /** Median time from start to ready (each boot varies by up to ±10%). */
  readonly bootMs: number;
  /** Requests per second one instance serves before latency degrades sharply (utilisation 1). */
  readonly capacityRps: number;
  /** Latency of one request on an idle instance. */
  readonly serviceMs: number;
  /** Memory a freshly booted instance uses. */
  readonly baseMemoryMiB: number;
}

const TYPES: readonly SimInstanceType[] = [
  {
    name: 'sim.small',
    vcpu: 1,
    memoryMiB: 2_048,
    pricePerHour: 0.021,
    bootMs: 20_000,
    capacityRps: 50,
    serviceMs: 40,
    baseMemoryMiB: 180,
  },
  {
    name: 'sim.medium',
    vcpu: 2,
    memoryMiB: 4_096,
    pricePerHour: 0.042,
    bootMs: 25_000,
    capacityRps: 100,
    serviceMs: 30,
    baseMemoryMiB: 220,
  },
  {
    name: 'sim.large',
    vcpu: 4,
    memoryMiB: 8_192,
    pricePerHour: 0.084,
    bootMs: 30_000,
    capacityRps: 200,
    serviceMs: 25,
    baseMemoryMiB: 300,
  },
  {
    name: 'sim.xlarge',
    vcpu: 8,
    memoryMiB: 16_384,
    pricePerHour: 0.168,
    bootMs: 40_000,
    capacityRps: 400,
    serviceMs: 20,
    baseMemoryMiB: 450,
  },
];

/** The instance types by name. */
export const SIM_INSTANCE_TYPES: Readonly<Record<string, SimInstanceType>> = Object.freeze(
  Object.fromEntries(TYPES.map((t) => [t.name, Object.freeze(t)])),
);

/** Zones instances are spread over unless the provider is given others. */
export const SIM_DEFAULT_ZONES: readonly string[] = Object.freeze(['a', 'b', 'c']);

/** Hourly price of a sim load balancer (like a managed L7 balancer's base fee). */
export const SIM_LOAD_BALANCER_PRICE_PER_HOUR = 0.0225;

/** The type named `name`, or undefined. */
export function simInstanceType(name: string): SimInstanceType | undefined {
  return Object.hasOwn(SIM_INSTANCE_TYPES, name) ? SIM_INSTANCE_TYPES[name] : undefined;
}
