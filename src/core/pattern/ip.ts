/** @module IPv4/IPv6 parsing for `cidr` and for comparing IP strings in their canonical form. */

/** An address as 4 (IPv4) or 16 (IPv6) bytes. */
export type IpBytes = Uint8Array;

function parseIpv4(text: string): IpBytes | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const groups: number[] = [];
  for (const g of text.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    groups.push(parseInt(g, 16));
  }
  return groups;
}

function parseIpv6(text: string): IpBytes | undefined {
  let body = text;
  let tail: IpBytes | undefined;
  const lastColon = body.lastIndexOf(':');
  if (lastColon >= 0 && body.indexOf('.', lastColon) > 0) {
    tail = parseIpv4(body.slice(lastColon + 1));
    if (!tail) return undefined;
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

/** Parses an IPv4 or IPv6 address; undefined when `text` is not one. */
export function parseIp(text: string): IpBytes | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

/** True when `text` could be an IPv6 address (cheap pre-check before parsing). */
export function mayBeIpv6(text: string): boolean {
  return text.length >= 2 && text.length <= 45 && text.includes(':');
}

/**
 * The canonical text of an IP address string (IPv6: eight lower-case groups without leading
 * zeros), or the text itself when it is not an IPv6 address. IPv4 is accepted only in its
 * canonical dotted-decimal form, so it needs no rewriting.
 */
export function canonicalIp(text: string): string {
  if (!mayBeIpv6(text)) return text;
  const bytes = parseIpv6(text);
  if (!bytes) return text;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

export interface Cidr {
  readonly bytes: IpBytes;
  readonly prefix: number;
}

/** Parses `address/prefix`; undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const bytes = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!bytes || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bytes.length * 8) return undefined;
  return { bytes, prefix };
}

/** True when the address `ip` lies inside `cidr` (same family). */
export function cidrContains(cidr: Cidr, ip: IpBytes): boolean {
  if (ip.length !== cidr.bytes.length) return false;
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (ip[i] !== cidr.bytes[i]) return false;
  const bits = cidr.prefix & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (ip[full]! & mask) === (cidr.bytes[full]! & mask);
}
