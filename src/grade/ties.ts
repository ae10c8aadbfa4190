/**
 * Max-pool ties judged as subgradients. Where a window's maximum is taken by several elements,
 * max is not differentiable and every split of the window's `dout` over its tied maxima (shares
 * between 0 and 1 that sum to 1) is a valid gradient: the first maximum (numpy's argmax, the
 * reference's), the last, equal shares (cs231n's reshape layer). The widespread
 * `mask = (window == window.max())` gives the WHOLE dout to every tied maximum, so the window's
 * gradient sums to k * dout: wrong at exactly those windows, right everywhere else. Real-valued
 * inputs tie with probability zero, which is why notebooks never see it; ReLU zeros before a
 * pool and quantized inputs tie all the time.
 *
 * The judgement needs windows that do not overlap (stride >= the window on both axes), so that
 * each element of dx belongs to one window; the battery's tie cases are such.
 */
import type { Tensor } from '../tensor/tensor.js';
import { REL_ERROR_FLOOR } from '../tensor/compare.js';

/** How a backward splits dout at tied maxima. */
export type TieConvention = 'first maximum' | 'last maximum' | 'equal shares' | 'another split' | 'whole dout to every tied maximum';

/** What the tie judgement found for one dx. */
export interface TieJudgement {
  /** Windows whose maximum is tied. */
  tiedWindows: number;
  /** dx is a valid subgradient: every window's dout split over its maxima. */
  valid: boolean;
  /** dx gives the whole dout to every tied maximum (and is right elsewhere). */
  mask: boolean;
  /** How the tied windows are split, when valid or mask. */
  convention?: TieConvention;
  /** Where dx is not a subgradient, when neither. */
  message?: string;
}

/** The pooling params. */
export interface PoolParams {
  pool_height: number;
  pool_width: number;
  stride: number;
}

/**
 * Judge `dx` (the user's) for max-pooling x with `dout`: null when windows overlap (no
 * judgement; compare with the reference instead). `threshold` is the comparison's relative
 * tolerance (1e-6 for float64, 1e-4 for float32).
 */
export function judgeTies(x: Tensor, dout: Tensor, dx: Tensor, p: PoolParams, threshold: number): TieJudgement | null {
  const { pool_height: ph, pool_width: pw, stride } = p;
  if (stride < ph || stride < pw) return null;
  const [N, C, H, W] = x.shape;
  const Hout = Math.floor((H - ph) / stride) + 1;
  const Wout = Math.floor((W - pw) / stride) + 1;
  let scale = 0;
  for (let i = 0; i < dout.data.length; i++) scale = Math.max(scale, Math.abs(dout.data[i]));
  const zeroTol = threshold * Math.max(scale, REL_ERROR_FLOOR);
  const near = (a: number, b: number) => Math.abs(a - b) <= threshold * Math.max(REL_ERROR_FLOOR, Math.abs(a) + Math.abs(b)) || Math.abs(a - b) <= zeroTol;
  const covered = new Uint8Array(x.data.length);
  let tiedWindows = 0;
  let valid = true;
  let mask = true;
  let message: string | undefined;
  const kinds = new Set<TieConvention>();
  const fail = (text: string) => {
    valid = false;
    message ??= text;
  };
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const plane = (n * C + c) * H * W;
      for (let i = 0; i < Hout; i++) {
        for (let j = 0; j < Wout; j++) {
          const g = dout.data[((n * C + c) * Hout + i) * Wout + j];
          let max = -Infinity;
          const cells: number[] = [];
          for (let di = 0; di < ph; di++) for (let dj = 0; dj < pw; dj++) cells.push(plane + (i * stride + di) * W + j * stride + dj);
          for (const k of cells) {
            covered[k] = 1;
            if (x.data[k] > max) max = x.data[k];
          }
          const tied = cells.filter((k) => x.data[k] === max);
          let sum = 0;
          for (const k of cells) {
            if (x.data[k] === max) sum += dx.data[k];
            else if (Math.abs(dx.data[k]) > zeroTol) {
              fail(`dx at ${at(k, x.shape)} is ${dx.data[k]}, not a maximum of its window (${n}, ${c}, ${i}, ${j}): expected 0`);
              mask = false;
            }
          }
          const allWhole = tied.every((k) => near(dx.data[k], g));
          if (tied.length === 1) {
            if (!near(sum, g)) {
              fail(`dx at ${at(tied[0], x.shape)} is ${sum}, expected the window's dout ${g}`);
              mask = false;
            }
            continue;
          }
          tiedWindows++;
          if (g !== 0 && allWhole) {
            kinds.add('whole dout to every tied maximum');
            valid = false;
            message ??= `window (${n}, ${c}, ${i}, ${j}) has ${tied.length} tied maxima and dx gives each the whole dout ${g}`;
            continue;
          }
          mask &&= g === 0 && near(sum, 0);
          const shares = tied.map((k) => (g === 0 ? 0 : dx.data[k] / g));
          if (!near(sum, g) || shares.some((s) => s < -threshold || s > 1 + threshold)) {
            fail(`window (${n}, ${c}, ${i}, ${j}) has ${tied.length} tied maxima whose dx sum to ${sum}, expected a split of its dout ${g}`);
            continue;
          }
          if (g === 0) continue;
          if (near(dx.data[tied[0]], g)) kinds.add('first maximum');
          else if (near(dx.data[tied[tied.length - 1]], g)) kinds.add('last maximum');
          else if (tied.every((k) => near(dx.data[k], g / tied.length))) kinds.add('equal shares');
          else kinds.add('another split');
        }
      }
    }
  }
  for (let k = 0; k < x.data.length; k++) {
    if (!covered[k] && Math.abs(dx.data[k]) > zeroTol) {
      fail(`dx at ${at(k, x.shape)} is ${dx.data[k]}, but no window covers it: expected 0`);
      mask = false;
    }
  }
  const isMask = mask && kinds.has('whole dout to every tied maximum') && kinds.size === 1;
  if (isMask) return { tiedWindows, valid: false, mask: true, convention: 'whole dout to every tied maximum' };
  if (kinds.has('whole dout to every tied maximum')) valid = false;
  const convention: TieConvention | undefined = kinds.size === 1 ? [...kinds][0] : kinds.size > 1 ? 'another split' : undefined;
  return { tiedWindows, valid, mask: false, ...(valid && convention ? { convention } : {}), ...(valid ? {} : { message }) };
}

/** `(n, c, h, w)` of flat index `k`. */
function at(k: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(k % shape[d]);
    k = Math.floor(k / shape[d]);
  }
  return `(${idx.join(', ')})`;
}

/** The warning of a mask-style backward, in one paragraph. */
export function tieWarning(j: TieJudgement): string {
  return (
    `at ${j.tiedWindows} window${j.tiedWindows === 1 ? '' : 's'} with tied maxima your dx gives the whole dout to every tied maximum ` +
    '(mask = (window == max)), so such a window passes k * dout back instead of dout. Any split of dout over the tied maxima is a ' +
    'valid gradient (the first maximum, as np.argmax; equal shares); this one is not, at those windows only. Real-valued inputs ' +
    'never tie, but ReLU zeros before a pool and quantized inputs do: route dout to one maximum (np.argmax) or divide it among them.'
  );
}
