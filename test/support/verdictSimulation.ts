/**
 * Monte Carlo of the measured verdict (src/engine/experiment/aggregate.ts `measuredVerdict`) on curves with
 * known true disagreement rates: how often each verdict is said, and how often that is an error the rule
 * promises to keep at or under δ. Shared by test/unit/decisionRule.test.ts and scripts/simulate-verdicts.ts.
 *
 * Items are paired across k as in a real run (the same held-out items answer at every k), with a realistic
 * correlation: item i has a difficulty u_i ~ U(0, 1); at each k its outcome draws U = u_i with probability
 * `correlation`, else a fresh U(0, 1), and it disagrees when U < r(k). Each k's disagreement rate is exactly
 * r(k); with correlation 1 an item that agrees at some k agrees at every k with a lower r, with 0 the k are
 * independent.
 */
import { measuredVerdict, type AgreementSample } from '../../src/engine/experiment/aggregate';
import { wilsonInterval } from '../../src/engine/compare/statistics';
import type { MeasuredVerdictKind } from '../../src/engine/experiment/report';
import { seededRandom } from '../../src/engine/random';

/** A decision rule under test: the verdict's kind and the k it names. */
export type Rule = (samples: readonly AgreementSample[], epsilon: number, delta: number) => { kind: MeasuredVerdictKind; k: number | null };

/** The rule the product uses. */
export const CURRENT_RULE: Rule = (samples, epsilon, delta) => measuredVerdict(samples, epsilon, delta, 'exact match');

/**
 * The rule before issue 7, for comparison only: a Wilson interval at 1 − δ per k, "suffices" at the first k whose
 * upper end is ≤ ε, else at the lowest rate: lower end > ε → "still improving" if that is the largest k and it fell
 * from the k before (point estimates), otherwise "fine-tune"; else undecided.
 */
export const PREVIOUS_RULE: Rule = (samples, epsilon, delta) => {
  const points = samples.map((sample) => {
    const n = sample.agreed.size;
    const agreements = [...sample.agreed.values()].filter(Boolean).length;
    const interval = wilsonInterval(agreements, n, 1 - delta);
    return { k: sample.k, rate: 1 - agreements / n, low: 1 - interval.high, high: 1 - interval.low };
  });
  const suffices = points.find((point) => point.high <= epsilon);
  if (suffices) return { kind: 'prompting-suffices', k: suffices.k };
  const best = points.reduce((a, b) => (b.rate < a.rate ? b : a));
  const last = points[points.length - 1]!;
  const previous = points[points.length - 2];
  if (best.low > epsilon) {
    const stillFalling = best === last && previous !== undefined && last.rate < previous.rate;
    return { kind: stillFalling ? 'still-improving' : 'fine-tune', k: best.k };
  }
  return { kind: 'undecided', k: best.k };
};

export interface Scenario {
  name: string;
  /** True disagreement r(k) at each shot count of `shots`. */
  rates: readonly number[];
  shots: readonly number[];
  /** Held-out items per k. */
  n: number;
}

export interface SimulationSettings {
  /** The rule to simulate; the product's unless given. */
  rule?: Rule;
  epsilon: number;
  delta: number;
  replications: number;
  seed: number;
  correlation: number;
}

export interface SimulationResult {
  scenario: Scenario;
  /** Share of replications that ended in each verdict. */
  shares: Record<Exclude<MeasuredVerdictKind, 'not-run'>, number>;
  /** Share that said "prompting suffices" at a k whose true r(k) ≥ ε. */
  falseSuffices: number;
  /** Share that said "still improving" although r(largest) ≥ r of the two k before it (the end did not fall). */
  falseStillImproving: number | null;
  /** Share that said "fine-tune" although some measured k has r(k) ≤ ε. */
  falseFineTune: number | null;
}

export const DEFAULT_SHOTS = [0, 1, 2, 4, 8, 16, 32] as const;

/** The curves of the README's table: ε = 0.1 in mind, the default grid and n = 50 unless named otherwise. */
export function standardScenarios(epsilon: number): Scenario[] {
  const grid = (name: string, rates: number[]): Scenario => ({ name, rates, shots: DEFAULT_SHOTS, n: 50 });
  return [
    grid('flat just above ε (ε + 0.01)', DEFAULT_SHOTS.map(() => epsilon + 0.01)),
    grid('flat at ε', DEFAULT_SHOTS.map(() => epsilon)),
    { name: 'flat at ε, n = 400', rates: DEFAULT_SHOTS.map(() => epsilon), shots: DEFAULT_SHOTS, n: 400 },
    grid('flat', DEFAULT_SHOTS.map(() => 0.3)),
    grid('rising', [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]),
    grid('falls, then flat for the last 3 k', [0.6, 0.45, 0.35, 0.3, 0.3, 0.3, 0.3]),
    grid('falls to ε at the largest k', [0.6, 0.5, 0.4, 0.3, 0.2, 0.15, epsilon]),
    grid('falls steadily, above ε throughout', [0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]),
    grid('falls well within ε', [0.5, 0.3, 0.15, 0.05, 0.02, 0.02, 0.02]),
    { name: 'issue 7\'s flat curve', rates: [0.3, 0.3, 0.3, 0.3], shots: [0, 1, 2, 4], n: 20 },
    { name: 'issue 7\'s falling curve', rates: [0.6, 0.5, 0.4, 0.3], shots: [0, 1, 2, 4], n: 20 },
  ];
}

export function simulate(scenario: Scenario, settings: SimulationSettings): SimulationResult {
  const { epsilon, delta, replications, correlation } = settings;
  const { rates, shots, n } = scenario;
  if (rates.length !== shots.length) throw new RangeError(`${scenario.name}: ${rates.length} rates for ${shots.length} shot counts.`);
  const random = seededRandom(settings.seed);
  const counts = { 'prompting-suffices': 0, 'still-improving': 0, 'fine-tune': 0, 'undecided': 0 };
  let falseSuffices = 0;
  let falseStillImproving = 0;
  let falseFineTune = 0;
  const m = rates.length;
  const endDidNotFall = m >= 2 && rates.slice(Math.max(0, m - 3), m - 1).every((rate) => rates[m - 1]! >= rate);
  const someWithinEpsilon = rates.some((rate) => rate <= epsilon);
  const difficulty = new Float64Array(n);
  for (let replication = 0; replication < replications; replication++) {
    for (let i = 0; i < n; i++) difficulty[i] = random();
    const samples: AgreementSample[] = shots.map((k, index) => {
      const agreed = new Map<number, boolean>();
      for (let i = 0; i < n; i++) {
        const u = random() < correlation ? difficulty[i]! : random();
        agreed.set(i + 1, u >= rates[index]!);
      }
      return { k, agreed };
    });
    const verdict = (settings.rule ?? CURRENT_RULE)(samples, epsilon, delta);
    if (verdict.kind === 'not-run') throw new Error('the simulation measured nothing');
    counts[verdict.kind]++;
    if (verdict.kind === 'prompting-suffices' && rates[shots.indexOf(verdict.k!)]! >= epsilon) falseSuffices++;
    if (verdict.kind === 'still-improving' && endDidNotFall) falseStillImproving++;
    if (verdict.kind === 'fine-tune' && someWithinEpsilon) falseFineTune++;
  }
  const share = (count: number): number => count / replications;
  return {
    scenario,
    shares: {
      'prompting-suffices': share(counts['prompting-suffices']), 'still-improving': share(counts['still-improving']),
      'fine-tune': share(counts['fine-tune']), 'undecided': share(counts['undecided']),
    },
    falseSuffices: share(falseSuffices),
    falseStillImproving: endDidNotFall ? share(falseStillImproving) : null,
    falseFineTune: someWithinEpsilon ? share(falseFineTune) : null,
  };
}
