/**
 * The README's table of the measured verdict's error rates, by seeded simulation (test/support/verdictSimulation.ts).
 *
 *   npm run simulate [-- --replications 4000 --correlation 0.5 --seed 20261202]
 *
 * ε = 0.1 and δ = 0.05; for each curve, the share of replications ending in each verdict, and the share that is an
 * error the rule bounds by δ (false "suffices", "still improving" on an end that did not fall, "fine-tune" when some
 * k is within ε), with its Monte Carlo standard error; then the verdicts' shares under the rule before issue 7, on
 * the same seeded draws.
 */
import { parseArgs } from 'node:util';
import { PREVIOUS_RULE, simulate, standardScenarios, type SimulationResult } from '../test/support/verdictSimulation';

const EPSILON = 0.1;
const DELTA = 0.05;

const { values } = parseArgs({
  options: { replications: { type: 'string', default: '4000' }, correlation: { type: 'string', default: '0.5' }, seed: { type: 'string', default: '20261202' } },
});
const replications = Number(values.replications);
const correlation = Number(values.correlation);
const seed = Number(values.seed);
if (!Number.isInteger(replications) || replications < 1 || !(correlation >= 0 && correlation <= 1) || !Number.isInteger(seed)) {
  process.stderr.write('simulate-verdicts: --replications must be a positive integer, --correlation in [0, 1], --seed an integer.\n');
  process.exit(2);
}

const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;

function errors(result: SimulationResult): string {
  const parts: string[] = [];
  const add = (name: string, share: number | null): void => {
    if (share === null) return;
    const standardError = Math.sqrt((share * (1 - share)) / replications);
    parts.push(`${name} ${percent(share)} ± ${percent(standardError)}`);
  };
  add('false suffices', result.falseSuffices);
  add('still improving', result.falseStillImproving);
  add('fine-tune', result.falseFineTune);
  return parts.join('; ');
}

function shares(result: SimulationResult): string {
  const { shares: of } = result;
  return [of['prompting-suffices'], of['still-improving'], of['fine-tune'], of['undecided']].map(percent).join(' / ');
}

const lines = [
  `ε = ${EPSILON}, δ = ${DELTA}, ${replications} replications per curve, correlation ${correlation} between an item's outcomes at different k, seed ${seed}.`,
  '',
  '| true disagreement r(k) | k | n | suffices | still improving | fine-tune | undecided | errors the rule bounds by δ | rule before issue 7: suffices / still improving / fine-tune / undecided |',
  '|---|---|---|---|---|---|---|---|---|',
];
for (const scenario of standardScenarios(EPSILON)) {
  const result = simulate(scenario, { epsilon: EPSILON, delta: DELTA, replications, seed, correlation });
  const before = simulate(scenario, { rule: PREVIOUS_RULE, epsilon: EPSILON, delta: DELTA, replications, seed, correlation });
  const rates = scenario.rates.map((rate) => `${Math.round(rate * 100)}`).join(', ');
  lines.push(`| ${scenario.name}: ${rates} (%) | ${scenario.shots.join(', ')} | ${scenario.n} | ${percent(result.shares['prompting-suffices'])} | ` +
    `${percent(result.shares['still-improving'])} | ${percent(result.shares['fine-tune'])} | ${percent(result.shares['undecided'])} | ${errors(result)} | ${shares(before)} |`);
}
process.stdout.write(lines.join('\n') + '\n');
