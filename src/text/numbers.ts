/** How numbers are written in every output (re-exported by report/format.ts, used below it too). */

/** `1.23e-9`; `inf`/`nan` spelled out. */
export function fmtErr(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return v === 0 ? '0' : v.toExponential(2);
}

/** A value shown with enough digits to see a difference. */
export function fmtVal(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number(v.toPrecision(8)).toString();
}

/** A plain number, in exponent form when small: 1e-5. */
export function fmtNum(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v);
}
