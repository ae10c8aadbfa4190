/**
 * Sharding a suite across the machines of a CI matrix (`suite --shard i/n`): every check goes
 * to exactly one shard, deterministically, with the shards balanced by estimated cost (not by
 * count: one large check can weigh as much as fifty small ones). Longest estimate first, each to
 * the shard with the least estimated time so far (ties: the lower shard, then the earlier
 * check); within a shard the checks keep the suite's order.
 */
import { UsageError } from '../errors.js';
import { clip } from '../text/escape.js';
import type { SuiteCheck } from './schema.js';

/** Most shards: a CI matrix wider than this is a mistake. */
export const MAX_SHARDS = 1000;

/** A shard: `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** Parse `i/n` (1 <= i <= n); throws UsageError naming `label`. */
export function parseShard(text: string, label = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || count > MAX_SHARDS || index < 1 || index > count) {
    throw new UsageError(`${label}: expected i/n with 1 <= i <= n <= ${MAX_SHARDS}, such as 2/3, got '${clip(text)}'`);
  }
  return { index, count };
}

/** The shard (0-based) of every check, by index. */
export function assignShards(checks: readonly SuiteCheck[], count: number): number[] {
  const load = new Array<number>(count).fill(0);
  const owner = new Array<number>(checks.length).fill(0);
  const order = checks.map((_c, k) => k).sort((a, b) => checks[b].estimate - checks[a].estimate || a - b);
  for (const k of order) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s] < load[best]) best = s;
    owner[k] = best;
    load[best] += checks[k].estimate;
  }
  return owner;
}

/** The checks of `shard`, in suite order. */
export function shardChecks(checks: readonly SuiteCheck[], shard: Shard): SuiteCheck[] {
  const owner = assignShards(checks, shard.count);
  return checks.filter((_, k) => owner[k] === shard.index - 1);
}
