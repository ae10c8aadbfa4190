/**
 * How long a suite entry is expected to take, before it runs: for the estimate a suite prints
 * first, for balancing shards (`--shard i/n`) and for `--max-time`. From the same model auto
 * mode uses (modes.ts): the forward work of the layer at its shapes, the forward passes each
 * check mode makes, and rough rates of each kind of implementation on one core. An estimate,
 * good to a small factor; nothing passes or fails on it.
 */
import { forwardWork, planInput } from '../gradcheck/modes.js';
import { implNames, REFERENCE_IMPL } from '../layers/types.js';
import { AUTO_DIRECTIONS, DEFAULT_DIRECTIONS, DEFAULT_SAMPLES } from '../settings/schema.js';
import { size } from '../tensor/tensor.js';
import type { CheckRequest } from '../request/request.js';

/**
 * Rough forward-pass rates in operations per second (flops, or the 8-per-element estimate of
 * layers that count none): the naive TypeScript loops run at 0.3-0.8 GFLOP/s, the fast layers
 * several GFLOP/s, a user's module anything from Python loops (~1e7) to a tuned library.
 */
export const RATES = { naive: 3e8, fast: 3e9, external: 3e7 } as const;
/** Seconds every check costs whatever its size: setup, drawing inputs, the report. */
export const CHECK_OVERHEAD_SECONDS = 0.02;
/** Seconds to compare one fixture, plus its bytes at this many bytes a second. */
export const FIXTURE_SECONDS = 0.05;
export const FIXTURE_BYTES_PER_SECOND = 2e8;

/** Forward passes the numeric side makes for one implementation at these settings (localization excluded). */
function forwardPasses(req: CheckRequest): { passes: number; budgetBound: boolean } {
  const { spec, shapes, params, settings: s } = req;
  let passes = 2; // the checked forward and backward themselves, counted as forwards
  let budgetBound = false;
  for (const input of spec.inputs.filter((i) => i.grad)) {
    const n = size(shapes[input.name]);
    const plan = planInput(s.checkMode, spec, shapes, params, input.name);
    if (plan === 'full') passes += 2 * n;
    else if (plan === 'sampled') passes += 2 * Math.min(n, s.samples ?? DEFAULT_SAMPLES);
    else if (plan === 'directional') passes += 2 * (s.directions ?? DEFAULT_DIRECTIONS);
    else {
      // auto at large shapes: directions, then samples until the budget is spent.
      passes += 2 * (s.directions ?? AUTO_DIRECTIONS);
      budgetBound = true;
    }
  }
  return { passes, budgetBound };
}

/** Estimated seconds of one layer check request. */
export function estimateCheckSeconds(req: CheckRequest): number {
  const { spec, shapes, params, settings: s } = req;
  const work = forwardWork(spec, shapes, params);
  const { passes, budgetBound } = forwardPasses(req);
  let names = s.impls ?? implNames(spec);
  // auto mode leaves the naive loops out where it does not check in full (check-layer.ts).
  if (!s.impls && budgetBound && spec.impls.fast) names = names.filter((n) => n !== REFERENCE_IMPL);
  const rates: number[] = names.map((n) => (n === REFERENCE_IMPL ? RATES.naive : RATES.fast));
  if (s.impl !== undefined) rates.push(RATES.external);
  let seconds = CHECK_OVERHEAD_SECONDS;
  for (const rate of rates) {
    const passSeconds = work / rate;
    const check = (passes + 2 * s.repeat) * passSeconds;
    // A budget-bound check stops its optional work at its share of the budget.
    seconds += budgetBound ? Math.min(check + s.budget / rates.length, s.budget / rates.length + 4 * passSeconds) : check;
  }
  return seconds;
}

/** Estimated seconds of comparing a fixture of `bytes` bytes. */
export function estimateFixtureSeconds(bytes: number): number {
  return FIXTURE_SECONDS + bytes / FIXTURE_BYTES_PER_SECOND;
}
