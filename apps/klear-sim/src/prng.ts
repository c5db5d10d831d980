// Stateless hashing of small integer tuples: every simulated value is a pure function of
// (seed, salt, indices), so any page of any cycle can be generated alone, in any order.

/** murmur3's 32-bit finalizer: a cheap, well-distributed bijection on uint32. */
export function mix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function step(h: number, part: number): number {
  return mix32((h ^ mix32(part + 0x9e3779b9)) + 0x7f4a7c15);
}

/** Uint32 hash of a tuple of integers (each taken modulo 2^32). */
export function hashInts(seed: number, salt: number, a = 0, b = 0, c = 0): number {
  let h = mix32(seed ^ 0x2545f491);
  h = step(h, salt);
  h = step(h, a);
  h = step(h, b);
  return step(h, c);
}

/** Uniform float in [0, 1) from a uint32 hash; for probabilities, never for money. */
export function unitInterval(hash: number): number {
  return hash / 0x1_0000_0000;
}

/** Uint32 hash of a string (FNV-1a, then mixed), used to key state such as withdrawal ids. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

export function hex8(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}

/** Salts keep the value streams apart. */
export const Salt = {
  basePrice: 1,
  price: 2,
  activity: 3,
  position: 4,
  feeRate: 5,
  marginRate: 6,
  correction: 7,
  obligationId: 8,
  withdrawalId: 9,
  withdrawalFailure: 10,
  fault: 11,
  funding: 12,
  feed: 13,
} as const;
