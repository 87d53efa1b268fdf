/** @module The machine lines every benchmark report starts with. */
import { cpus, loadavg, release, totalmem } from 'node:os';

/** `machine:`, `node:` and `load avg:` lines. */
export function machineLines(): string[] {
  const cpuList = cpus();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return [
    `machine:   ${cpuList.length} × ${cpuList[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}`,
    `node:      ${process.version}`,
    `load avg:  ${load} (1/5/15 min) at start`,
  ];
}
