/**
 * Axis conventions shared by sampled checks and error localization, and the stratified order
 * in which sampled checks visit elements.
 *
 * Axes by rank (NCHW, cs231n): rank 1 (C,) -> every element is a channel; rank 2 (N,D) ->
 * samples on axis 0, channels (features) on axis 1; rank 3 (N,C,L) -> samples, channels, one
 * spatial axis; rank >= 4 (N,C,H,W) -> samples on axis 0, channels on axis 1, the last two axes
 * spatial. A weight (F,C,HH,WW) reads the same way: filters on axis 0, kernel rows/columns spatial.
 * An element is on the **border** when any spatial index is the first or last of its axis; the
 * rest is the **interior** (a spatial axis of size <= 2 is all border).
 */
import type { Rng } from '../tensor/rng.js';
import { size, strides } from '../tensor/tensor.js';

/** Which axes hold samples, channels and space; -1 when the rank has none. */
export interface AxisLayout {
  sample: number;
  channel: number;
  spatial: number[];
}

/** The axis layout of a tensor of `shape` (see the module comment). */
export function axisLayout(shape: readonly number[]): AxisLayout {
  const r = shape.length;
  if (r === 0) return { sample: -1, channel: -1, spatial: [] };
  if (r === 1) return { sample: -1, channel: 0, spatial: [] };
  if (r === 2) return { sample: 0, channel: 1, spatial: [] };
  if (r === 3) return { sample: 0, channel: 1, spatial: [2] };
  return { sample: 0, channel: 1, spatial: [r - 2, r - 1] };
}

/** True when the multi-index lies on the border of the spatial axes. */
export function onBorder(index: readonly number[], shape: readonly number[], layout: AxisLayout): boolean {
  for (const a of layout.spatial) if (index[a] === 0 || index[a] === shape[a] - 1) return true;
  return false;
}

/** True when the spatial axes have an interior (every spatial axis has size >= 3). */
export function hasInterior(shape: readonly number[], layout: AxisLayout): boolean {
  return layout.spatial.length > 0 && layout.spatial.every((a) => shape[a] >= 3);
}

/** Spatial positions on the border of dims `dims` (ring of a plane, both ends of a line). */
function borderCount(dims: number[]): number {
  const all = dims.reduce((a, b) => a * b, 1);
  const inner = dims.reduce((a, b) => a * Math.max(0, b - 2), 1);
  return all - inner;
}

/**
 * `count` distinct flat indices of a tensor of `shape`, drawn from `rng` in stratified order:
 * strata are (channel, border or interior); rounds visit every channel in a shuffled order,
 * alternating border and interior, so the first C draws cover every channel and both position
 * classes, and the first 2C every (channel, class) pair. Within a stratum the other indices
 * (sample, position) are uniform. `count >= size` returns every index in order.
 */
export function stratifiedSample(shape: readonly number[], count: number, rng: Rng): number[] {
  const total = size(shape);
  if (count >= total) return Array.from({ length: total }, (_, i) => i);
  const layout = axisLayout(shape);
  const st = strides(shape);
  const C = layout.channel >= 0 ? shape[layout.channel] : 1;
  const spatialDims = layout.spatial.map((a) => shape[a]);
  const nBorder = layout.spatial.length ? borderCount(spatialDims) : 0;
  const nPositions = spatialDims.reduce((a, b) => a * b, 1);
  const classes: ('border' | 'interior')[] = !layout.spatial.length ? ['interior'] : nBorder === nPositions ? ['border'] : ['border', 'interior'];
  const classSize = (cls: string) => (total / C / nPositions) * (!layout.spatial.length ? 1 : cls === 'border' ? nBorder : nPositions - nBorder);
  const order: number[] = [];
  const used = new Set<number>();
  const usedIn = new Map<string, number>();
  const randInt = (n: number) => Math.min(n - 1, Math.floor(rng.uniform() * n));

  /** A random index of stratum (c, cls), possibly already used. */
  const draw = (c: number, cls: string): number => {
    let flat = 0;
    for (let a = 0; a < shape.length; a++) {
      if (a === layout.channel || layout.spatial.includes(a)) continue;
      flat += randInt(shape[a]) * st[a];
    }
    if (layout.channel >= 0) flat += c * st[layout.channel];
    if (layout.spatial.length) {
      // Rejection: the border of a large plane is small, but never vanishing (>= 4/H of it).
      for (;;) {
        let onB = false;
        let off = 0;
        for (const a of layout.spatial) {
          const i = randInt(shape[a]);
          if (i === 0 || i === shape[a] - 1) onB = true;
          off += i * st[a];
        }
        if (onB === (cls === 'border')) return flat + off;
      }
    }
    return flat;
  };

  /** Every unused index of stratum (c, cls), for strata nearly exhausted. */
  const remaining = (c: number, cls: string): number[] => {
    const out: number[] = [];
    const idx = new Array<number>(shape.length).fill(0);
    for (let flat = 0; flat < total; flat++) {
      let r = flat;
      for (let a = shape.length - 1; a >= 0; a--) {
        idx[a] = r % shape[a];
        r = Math.floor(r / shape[a]);
      }
      if (layout.channel >= 0 && idx[layout.channel] !== c) continue;
      if (layout.spatial.length && onBorder(idx, shape, layout) !== (cls === 'border')) continue;
      if (!used.has(flat)) out.push(flat);
    }
    return out;
  };

  const take = (c: number, cls: string): boolean => {
    const key = `${c}:${cls}`;
    const n = usedIn.get(key) ?? 0;
    if (n >= classSize(cls)) return false;
    let flat = -1;
    for (let attempt = 0; attempt < 32 && flat < 0; attempt++) {
      const f = draw(c, cls);
      if (!used.has(f)) flat = f;
    }
    if (flat < 0) {
      const left = remaining(c, cls);
      flat = left[randInt(left.length)];
    }
    used.add(flat);
    usedIn.set(key, n + 1);
    order.push(flat);
    return true;
  };

  const channels = Array.from({ length: C }, (_, i) => i);
  for (let i = C - 1; i > 0; i--) {
    const j = randInt(i + 1);
    [channels[i], channels[j]] = [channels[j], channels[i]];
  }
  for (let round = 0; order.length < count; round++) {
    let progressed = false;
    for (let k = 0; k < C && order.length < count; k++) {
      const c = channels[k];
      const first = classes[(round + k) % classes.length];
      const second = classes[(round + k + 1) % classes.length];
      if (take(c, first) || (second !== first && take(c, second))) progressed = true;
    }
    if (!progressed) break;
  }
  return order;
}
