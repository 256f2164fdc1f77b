/**
 * A small seeded pseudo-random generator (mulberry32). Splits, example selection and bootstrap
 * resampling all take a seed, so the same settings give the same report on every machine.
 */
export type Random = () => number;

/** Uniform numbers in [0, 1). */
export function seededRandom(seed: number): Random {
  const words = seededWords(seed);
  return (): number => words() / 4294967296;
}

/** The raw unsigned 32-bit words of the same generator (the test models' weights are drawn from these). */
export function seededWords(seed: number): () => number {
  let state = seed >>> 0;
  return (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Derives an independent seed from a base seed and a label, so that streams do not overlap. */
export function deriveSeed(seed: number, label: string): number {
  let hash = seed >>> 0 ^ 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Fisher–Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const copy = items.slice();
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
