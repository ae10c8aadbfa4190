/**
 * The one report model every output format renders (report/formats.ts): what a command ran and
 * found, as plain data. A layer command reports one check, a suite many, `compare` fixtures,
 * `bench` timings, `grade` a module's report card; each format renders the parts a run has.
 */
import type { LayerCheckReport } from '../gradcheck/check-layer.js';
import type { FixtureReport } from '../fixtures/compare.js';
import type { BenchReport } from '../bench/run.js';
import type { BaselineComparison } from '../bench/baseline.js';
import type { GradeReport } from '../grade/grade.js';

/** One check to report: a layer command's report under a name (a suite entry, or the command itself). */
export interface ReportedCheck {
  name: string;
  report: LayerCheckReport;
  /** Wall-clock seconds of the check, when measured. */
  seconds?: number;
}

/** A fixture that could not be read or is invalid (exit 2 for it, the others still report). */
export interface InvalidFixture {
  path: string;
  /** Its name in a suite, when it has one other than its path. */
  name?: string;
  pass: false;
  error: string;
}

/** A fixture compared, as the formats receive it: the comparison, with a name and time in a suite. */
export type ReportedFixture = FixtureReport & { name?: string; seconds?: number };

/** A check a run did not start, and why. */
export interface NotRun {
  name: string;
  reason: string;
}

/** What a run of a command found, for every output format. */
export interface RunReport {
  /** The page's and the annotations' title: `cnn-check conv stride=2 pad=1`. */
  title: string;
  /** The whole run's name in JUnit: `cnn-check suite suite.json`. */
  runName: string;
  /** Overall outcome; null when the run has none (a benchmark without baseline). */
  pass: boolean | null;
  /** Lines under the title: when it was generated, the machine. */
  meta: string[];
  /** Gradient checks: one for a layer command, many for a suite (`summary` shows the summary table). */
  checks?: { title: string; items: ReportedCheck[]; summary: boolean };
  /** Fixtures compared with the reference. */
  fixtures?: { title: string; items: ReportedFixture[]; invalid: InvalidFixture[] };
  /** Checks not started (`suite --max-time`). */
  notRun?: NotRun[];
  /** A benchmark and its baseline comparison. */
  bench?: { title: string; report: BenchReport; comparison?: BaselineComparison };
  /** A module graded against the battery (`cnn-check grade`); annotations point at `file`, the module. */
  grade?: GradeReport;
  /** The line where each function of a graded module is defined (annotations point at it). */
  gradeLines?: Record<string, number>;
  /** The file annotations point at (a suite file). */
  file?: string;
}
