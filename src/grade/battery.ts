/**
 * The battery `cnn-check grade` runs, as data: for every registered layer, its cases, each a
 * named, reproducible check (docs/grade.md lists them case by case, and a test holds the page to
 * this table). A case says its params, the shapes of the inputs a user sets, how every array is
 * filled (in the order numpy draws them after `np.random.seed(seed)`), its dtype, and why it is
 * there. Cases marked `notebook` rebuild the cs231n notebooks' own inputs exactly (NumpyRng is
 * numpy's legacy generator draw for draw; `np.linspace` bit for bit), so a student's numbers match
 * the ones in their notebook. The others are the edge cases the notebooks skip. `quick` marks the
 * cases `--quick` runs: the notebook cases and one edge case per layer.
 */
import type { ParamValue, Shapes } from '../layers/types.js';

/** How one array of a case is filled. Draws come from one numpy generator, in the case's order. */
export type Fill =
  /** `scale * np.random.randn(*shape) + shift`. */
  | { kind: 'randn'; scale?: number; shift?: number }
  /** `np.linspace(lo, hi, num=size).reshape(shape)` (draws nothing). */
  | { kind: 'linspace'; lo: number; hi: number }
  /** `np.random.randint(lo, hi + 1, size=shape)`: integers from lo to hi. */
  | { kind: 'randint'; lo: number; hi: number }
  /** `lo + (hi - lo) * np.random.rand(*shape)`. */
  | { kind: 'uniform'; lo: number; hi: number }
  /** `np.random.randint(C, size=N)`: class labels of the losses. */
  | { kind: 'labels' }
  /** A constant (draws nothing): `np.ones`, `np.zeros`, `np.full`. */
  | { kind: 'constant'; value: number }
  /** Given values, in C order (draws nothing). */
  | { kind: 'values'; values: number[] };

/** One case of a layer's battery. */
export interface GradeCase {
  /** Short and unique within the layer: `notebook`, `pad=0`, `stride=3`. */
  name: string;
  /** What the case is there for, in one line. */
  about: string;
  /** The notebook cell whose inputs the case rebuilds exactly. */
  notebook?: string;
  /** Params other than the layer's defaults. */
  params?: Record<string, ParamValue>;
  /** Shapes of the inputs a user sets (x, w); the others follow from them. */
  shapes: Shapes;
  /** gamma and beta as (C,) or as cs231n's (1,C,1,1) (spatial layers; default: the layer's). */
  perChannel?: 'C' | '1C11';
  /** `np.random.seed(seed)` before the draws (default 231, the notebooks'). */
  seed?: number;
  /** How arrays are filled, by name (`dout` too); the others as the layer's inputs are generated (randn, labels, zeros). */
  fill?: Record<string, Fill>;
  /** float32 inputs (default float64). */
  dtype?: 'float32';
  /** One of the cases `--quick` runs. */
  quick?: true;
  /** The gradient check's mode (default: full when two forward calls per element stay below FULL_CALLS, else sampled). */
  mode?: 'full' | 'sampled';
  /**
   * Batchnorm: this many train-mode forward passes first, each on fresh x (same fill), their
   * running statistics carried to the next; then this case's forward (test mode) with them.
   */
  trainSteps?: number;
  /** Max-pool windows with ties: judged as subgradients (grade/ties.ts). */
  ties?: true;
}

/** The shape and params a layer's functions are timed at (a mid shape: seconds, not minutes, for naive loops). */
export interface TimingCase {
  shapes: Shapes;
  params?: Record<string, ParamValue>;
}

/** A layer's battery. */
export interface LayerBattery {
  layer: string;
  cases: GradeCase[];
  timing: TimingCase;
}

/** The notebooks' seed. */
export const NOTEBOOK_SEED = 231;
/** Largest number of forward calls of a full gradient check in the battery; above it a case is checked on sampled elements. */
export const FULL_CALLS = 200;
/** Elements per input of a sampled check. */
export const GRADE_SAMPLES = 32;

const randn = (scale = 1, shift = 0): Fill => ({ kind: 'randn', ...(scale !== 1 ? { scale } : {}), ...(shift !== 0 ? { shift } : {}) });
const linspace = (lo: number, hi: number): Fill => ({ kind: 'linspace', lo, hi });
const randint = (lo: number, hi: number): Fill => ({ kind: 'randint', lo, hi });
const uniform = (lo: number, hi: number): Fill => ({ kind: 'uniform', lo, hi });
const constant = (value: number): Fill => ({ kind: 'constant', value });
const values = (v: number[]): Fill => ({ kind: 'values', values: v });

const CNN = 'ConvolutionalNetworks.ipynb';
const BN = 'BatchNormalization.ipynb';

export const BATTERY: readonly LayerBattery[] = [
  {
    layer: 'conv',
    timing: { shapes: { x: [4, 3, 16, 16], w: [8, 3, 3, 3] }, params: { stride: 1, pad: 1 } },
    cases: [
      {
        name: 'notebook-forward',
        about: "the notebook's forward check: linspace inputs, stride 2, pad 1",
        notebook: `${CNN}: conv_forward_naive`,
        quick: true,
        params: { stride: 2, pad: 1 },
        shapes: { x: [2, 3, 4, 4], w: [3, 3, 4, 4] },
        fill: { x: linspace(-0.1, 0.5), w: linspace(-0.2, 0.3), b: linspace(-0.1, 0.2) },
      },
      {
        name: 'notebook',
        about: "the notebook's gradient check: randn x, w, b, dout after np.random.seed(231)",
        notebook: `${CNN}: conv_backward_naive`,
        quick: true,
        params: { stride: 1, pad: 1 },
        shapes: { x: [4, 3, 5, 5], w: [2, 3, 3, 3] },
      },
      {
        name: 'pad=0',
        about: 'no padding: the dxp[:, :, pad:-pad, pad:-pad] crop is empty',
        quick: true,
        params: { stride: 1, pad: 0 },
        shapes: { x: [2, 3, 5, 5], w: [2, 3, 3, 3] },
      },
      {
        name: 'pad=2',
        about: 'padding wider than 1: offsets written as 1 instead of pad',
        params: { stride: 1, pad: 2 },
        shapes: { x: [2, 2, 4, 4], w: [2, 2, 3, 3] },
      },
      {
        name: 'stride=2',
        about: 'stride 2 with a floor output size ((6 + 2 - 3) / 2 = 2.5 -> Hout 3)',
        params: { stride: 2, pad: 1 },
        shapes: { x: [2, 3, 6, 6], w: [2, 3, 3, 3] },
      },
      {
        name: 'stride=3',
        about: 'stride 3, floor output sizes, the last rows and columns unused',
        params: { stride: 3, pad: 1 },
        shapes: { x: [2, 2, 7, 8], w: [3, 2, 3, 3] },
      },
      {
        name: 'rectangular',
        about: 'H != W and HH != WW: H and W (or HH and WW) swapped somewhere',
        params: { stride: 1, pad: 1 },
        shapes: { x: [2, 3, 5, 7], w: [2, 3, 3, 2] },
      },
      {
        name: 'stride=2 rectangular',
        about: 'stride 2 over a rectangular input and kernel: a stride ignored along one axis',
        params: { stride: 2, pad: 0 },
        shapes: { x: [2, 2, 7, 9], w: [2, 2, 3, 2] },
      },
      {
        name: 'N=C=F=1',
        about: 'one sample, one channel, one filter: squeezed axes, sums over the wrong axis',
        params: { stride: 1, pad: 1 },
        shapes: { x: [1, 1, 4, 4], w: [1, 1, 3, 3] },
      },
      {
        name: '1x1 kernel',
        about: 'a 1x1 kernel, pad 0: window arithmetic at its smallest',
        params: { stride: 1, pad: 0 },
        shapes: { x: [2, 3, 4, 4], w: [4, 3, 1, 1] },
      },
      {
        name: 'float32',
        about: "the notebook's gradient case in float32 (judged with float32's tolerance)",
        dtype: 'float32',
        params: { stride: 1, pad: 1 },
        shapes: { x: [4, 3, 5, 5], w: [2, 3, 3, 3] },
      },
      {
        name: 'large',
        about: 'more samples and filters, checked on sampled elements',
        params: { stride: 1, pad: 1 },
        shapes: { x: [4, 3, 8, 8], w: [4, 3, 3, 3] },
        seed: 7,
      },
    ],
  },
  {
    layer: 'maxpool',
    timing: { shapes: { x: [4, 3, 16, 16] }, params: { pool_height: 2, pool_width: 2, stride: 2 } },
    cases: [
      {
        name: 'notebook-forward',
        about: "the notebook's forward check: linspace x, 2x2 windows, stride 2",
        notebook: `${CNN}: max_pool_forward_naive`,
        quick: true,
        params: { pool_height: 2, pool_width: 2, stride: 2 },
        shapes: { x: [2, 3, 4, 4] },
        fill: { x: linspace(-0.3, 0.4) },
      },
      {
        name: 'notebook',
        about: "the notebook's gradient check: randn x and dout after np.random.seed(231)",
        notebook: `${CNN}: max_pool_backward_naive`,
        quick: true,
        params: { pool_height: 2, pool_width: 2, stride: 2 },
        shapes: { x: [3, 2, 8, 8] },
      },
      {
        name: 'overlap',
        about: 'windows that overlap (3x3, stride 1): a window stepping by its size, not the stride',
        quick: true,
        params: { pool_height: 3, pool_width: 3, stride: 1 },
        shapes: { x: [2, 2, 5, 5] },
      },
      {
        name: 'overlap stride=2',
        about: 'overlapping 3x3 windows at stride 2 (AlexNet)',
        params: { pool_height: 3, pool_width: 3, stride: 2 },
        shapes: { x: [2, 3, 7, 7] },
      },
      {
        name: 'not tiling',
        about: 'windows that do not tile the input: the last row and column belong to no window',
        params: { pool_height: 2, pool_width: 2, stride: 2 },
        shapes: { x: [2, 2, 5, 7] },
      },
      { name: 'rectangular', about: 'H != W and pool_height != pool_width', params: { pool_height: 2, pool_width: 3, stride: 2 }, shapes: { x: [2, 2, 6, 8] } },
      {
        name: 'stride=3',
        about: 'stride larger than the window: gaps between windows',
        params: { pool_height: 2, pool_width: 2, stride: 3 },
        shapes: { x: [1, 2, 8, 9] },
      },
      { name: 'N=C=1', about: 'one sample, one channel', params: { pool_height: 2, pool_width: 2, stride: 2 }, shapes: { x: [1, 1, 4, 4] } },
      {
        name: 'ties',
        about: 'integer x in 0..2: windows with tied maxima, judged as subgradients',
        ties: true,
        params: { pool_height: 2, pool_width: 2, stride: 2 },
        shapes: { x: [2, 2, 4, 4] },
        fill: { x: randint(0, 2) },
      },
      {
        name: 'float32',
        about: "the notebook's gradient case in float32",
        dtype: 'float32',
        params: { pool_height: 2, pool_width: 2, stride: 2 },
        shapes: { x: [3, 2, 8, 8] },
      },
    ],
  },
  {
    layer: 'relu',
    timing: { shapes: { x: [64, 512] } },
    cases: [
      {
        name: 'notebook-forward',
        about: "the notebook's forward check: linspace x (3, 4)",
        notebook: 'two_layer_net.ipynb: relu_forward',
        quick: true,
        shapes: { x: [3, 4] },
        fill: { x: linspace(-0.5, 0.5) },
      },
      {
        name: 'notebook',
        about: "the notebook's gradient check: randn x (10, 10) and dout",
        notebook: 'two_layer_net.ipynb: relu_backward',
        quick: true,
        shapes: { x: [10, 10] },
      },
      { name: '4-d', about: 'an (N,C,H,W) input: relu takes any shape', quick: true, shapes: { x: [2, 3, 4, 5] } },
      { name: 'float32', about: "the notebook's gradient case in float32", dtype: 'float32', shapes: { x: [10, 10] } },
    ],
  },
  {
    layer: 'affine',
    timing: { shapes: { x: [64, 3, 8, 8], w: [192, 100] } },
    cases: [
      {
        name: 'notebook-forward',
        about: "the notebook's forward check: linspace x (2, 4, 5, 6), w (120, 3), b (3,)",
        notebook: 'two_layer_net.ipynb: affine_forward',
        quick: true,
        shapes: { x: [2, 4, 5, 6], w: [120, 3] },
        fill: { x: linspace(-0.1, 0.5), w: linspace(-0.2, 0.3), b: linspace(-0.3, 0.1) },
      },
      {
        name: 'notebook',
        about: "the notebook's gradient check: randn x (10, 2, 3), w (6, 5), b, dout",
        notebook: 'two_layer_net.ipynb: affine_backward',
        quick: true,
        shapes: { x: [10, 2, 3], w: [6, 5] },
      },
      { name: '2-d', about: 'x already (N, D): nothing to flatten', quick: true, shapes: { x: [4, 6], w: [6, 3] } },
      { name: '4-d', about: 'x (N, C, H, W) flattened per sample: dx reshaped back to x.shape', shapes: { x: [3, 2, 3, 4], w: [24, 5] } },
      { name: 'N=1 M=1', about: 'one sample, one output: squeezed axes', shapes: { x: [1, 2, 3], w: [6, 1] } },
      { name: 'float32', about: "the notebook's gradient case in float32", dtype: 'float32', shapes: { x: [10, 2, 3], w: [6, 5] } },
    ],
  },
  {
    layer: 'batchnorm',
    timing: { shapes: { x: [64, 256] } },
    cases: [
      {
        name: 'notebook',
        about: "the notebook's gradient check: x = 5 * randn(4, 5) + 12, randn gamma, beta, dout",
        notebook: `${BN}: batchnorm_backward`,
        quick: true,
        params: { mode: 'train' },
        shapes: { x: [4, 5] },
        fill: { x: randn(5, 12) },
      },
      {
        name: 'running stats',
        about: 'train mode from non-zero running statistics: running = momentum * running + (1 - momentum) * batch',
        params: { mode: 'train' },
        shapes: { x: [6, 4] },
        fill: { running_mean: randn(), running_var: uniform(0.5, 2) },
      },
      {
        name: 'momentum, eps',
        about: 'momentum 0.5 and eps 1e-2 read from bn_param, not written in as 0.9 and 1e-5',
        params: { mode: 'train', momentum: 0.5, eps: 1e-2 },
        shapes: { x: [5, 3] },
        fill: { x: randn(0.2), running_var: uniform(0.5, 2) },
      },
      {
        name: 'test after train',
        about: '5 train-mode passes, then test mode with the running statistics they left, random gamma and beta',
        quick: true,
        params: { mode: 'test' },
        trainSteps: 5,
        shapes: { x: [8, 4] },
        fill: { x: randn(2.3, 13) },
      },
      {
        name: 'test mode',
        about: 'test mode on given running statistics: out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta',
        params: { mode: 'test' },
        shapes: { x: [4, 5] },
        fill: { running_mean: randn(), running_var: uniform(0.5, 2) },
      },
      { name: 'N=2', about: 'the smallest batch with a variance', params: { mode: 'train' }, shapes: { x: [2, 3] } },
      {
        name: 'x*1e3',
        about: 'large inputs: 1e3 * randn (cancellation in the variance)',
        params: { mode: 'train' },
        shapes: { x: [4, 5] },
        fill: { x: randn(1e3) },
      },
      {
        name: 'float32',
        about: "the notebook's gradient case in float32",
        dtype: 'float32',
        params: { mode: 'train' },
        shapes: { x: [4, 5] },
        fill: { x: randn(5, 12) },
      },
    ],
  },
  {
    layer: 'layernorm',
    timing: { shapes: { x: [64, 256] } },
    cases: [
      {
        name: 'notebook',
        about: "the notebook's gradient check: x = 5 * randn(4, 5) + 12, randn gamma, beta, dout",
        notebook: `${BN}: layernorm_backward`,
        quick: true,
        shapes: { x: [4, 5] },
        fill: { x: randn(5, 12) },
      },
      { name: 'eps', about: 'eps 1e-2 read from ln_param', quick: true, params: { eps: 1e-2 }, shapes: { x: [3, 4] }, fill: { x: randn(0.2) } },
      { name: 'N != D', about: 'more features than samples: statistics over axis 1, not 0', shapes: { x: [3, 7] } },
      { name: 'N=1', about: 'one sample', shapes: { x: [1, 6] } },
      { name: 'x*1e3', about: 'large inputs: 1e3 * randn', shapes: { x: [4, 5] }, fill: { x: randn(1e3) } },
      { name: 'float32', about: "the notebook's gradient case in float32", dtype: 'float32', shapes: { x: [4, 5] }, fill: { x: randn(5, 12) } },
    ],
  },
  {
    layer: 'spatial_batchnorm',
    timing: { shapes: { x: [8, 8, 16, 16] } },
    cases: [
      {
        name: 'notebook',
        about: "the notebook's gradient check: x = 5 * randn(2, 3, 4, 5) + 12, randn gamma, beta (C,), dout",
        notebook: `${CNN}: spatial_batchnorm_backward`,
        quick: true,
        params: { mode: 'train' },
        shapes: { x: [2, 3, 4, 5] },
        fill: { x: randn(5, 12) },
      },
      {
        name: 'notebook test after train',
        about: "the notebook's test-time check: 50 train passes on 2.3 * randn(10, 4, 11, 12) + 13, gamma 1, beta 0, then test mode",
        notebook: `${CNN}: spatial_batchnorm_forward (test-time)`,
        params: { mode: 'test' },
        trainSteps: 50,
        shapes: { x: [10, 4, 11, 12] },
        fill: { x: randn(2.3, 13), gamma: constant(1), beta: constant(0) },
      },
      {
        name: 'test after train',
        about: '5 train-mode passes, then test mode with random gamma and beta (gamma = 1, beta = 0 hides forgetting them)',
        quick: true,
        params: { mode: 'test' },
        trainSteps: 5,
        shapes: { x: [3, 2, 3, 4] },
        fill: { x: randn(2.3, 13) },
      },
      {
        name: 'gamma (1,C,1,1)',
        about: 'gamma and beta of shape (1, C, 1, 1); dgamma, dbeta come back in that shape',
        params: { mode: 'train' },
        perChannel: '1C11',
        shapes: { x: [2, 3, 3, 4] },
      },
      { name: 'N=1', about: 'one sample: statistics over H and W too, not over N alone', params: { mode: 'train' }, shapes: { x: [1, 3, 4, 4] } },
      { name: 'x*1e3', about: 'large inputs: 1e3 * randn', params: { mode: 'train' }, shapes: { x: [2, 3, 4, 5] }, fill: { x: randn(1e3) } },
      {
        name: 'float32',
        about: "the notebook's gradient case in float32",
        dtype: 'float32',
        params: { mode: 'train' },
        shapes: { x: [2, 3, 4, 5] },
        fill: { x: randn(5, 12) },
      },
    ],
  },
  {
    layer: 'spatial_groupnorm',
    timing: { shapes: { x: [8, 8, 16, 16] }, params: { G: 4 } },
    cases: [
      {
        name: 'notebook',
        about: "the notebook's gradient check: x = 5 * randn(2, 6, 4, 5) + 12, G = 2, randn gamma, beta (1, C, 1, 1), dout",
        notebook: `${CNN}: spatial_groupnorm_backward`,
        quick: true,
        params: { G: 2 },
        shapes: { x: [2, 6, 4, 5] },
        fill: { x: randn(5, 12) },
      },
      {
        name: 'G=3',
        about: 'three groups of two channels: groups contiguous, channel c in group c // (C // G)',
        quick: true,
        params: { G: 3 },
        shapes: { x: [2, 6, 2, 3] },
      },
      { name: 'G=1', about: 'one group: layer normalization over (C, H, W)', params: { G: 1 }, shapes: { x: [2, 4, 3, 3] } },
      { name: 'G=C', about: 'one channel per group: instance normalization', params: { G: 4 }, shapes: { x: [2, 4, 3, 3] } },
      { name: 'gamma (C,)', about: 'gamma and beta of shape (C,)', params: { G: 2 }, perChannel: 'C', shapes: { x: [2, 4, 3, 3] } },
      { name: 'x*1e3', about: 'large inputs: 1e3 * randn', params: { G: 2 }, shapes: { x: [2, 4, 3, 3] }, fill: { x: randn(1e3) } },
      {
        name: 'float32',
        about: "the notebook's gradient case in float32",
        dtype: 'float32',
        params: { G: 2 },
        shapes: { x: [2, 6, 4, 5] },
        fill: { x: randn(5, 12) },
      },
    ],
  },
  {
    layer: 'conv_relu_pool',
    timing: { shapes: { x: [2, 3, 16, 16], w: [4, 3, 3, 3] } },
    cases: [
      {
        name: 'notebook',
        about: "the notebook's gradient check: randn x (2, 3, 16, 16), w, b, dout, checked on sampled elements",
        notebook: `${CNN}: conv_relu_pool_backward`,
        quick: true,
        shapes: { x: [2, 3, 16, 16], w: [3, 3, 3, 3] },
        mode: 'sampled',
      },
      {
        name: 'relu zeros windows',
        about: "filter 0's bias -50: ReLU zeros its whole maps, every pool window of them a tie at 0 (nothing to check there)",
        shapes: { x: [2, 2, 6, 6], w: [2, 2, 3, 3] },
        fill: { b: values([-50, 0.5]) },
      },
      {
        name: 'stride=2 pad=0',
        about: 'conv stride 2 without padding, then 2x2 pooling',
        quick: true,
        params: { stride: 2, pad: 0, pool_height: 2, pool_width: 2, pool_stride: 2 },
        shapes: { x: [2, 3, 9, 9], w: [2, 3, 3, 3] },
      },
      { name: 'float32', about: 'a small conv-relu-pool in float32', dtype: 'float32', shapes: { x: [2, 2, 6, 6], w: [2, 2, 3, 3] } },
    ],
  },
  {
    layer: 'dropout',
    timing: { shapes: { x: [64, 512] }, params: { p: 0.5, mode: 'train', seed: 123 } },
    cases: [
      {
        name: 'notebook',
        about: "the notebook's gradient check: x = randn(10, 10) + 10, p 0.2, seed 123",
        notebook: 'Dropout.ipynb: dropout_backward',
        quick: true,
        params: { p: 0.2, mode: 'train', seed: 123 },
        shapes: { x: [10, 10] },
        fill: { x: randn(1, 10) },
      },
      {
        name: 'test mode',
        about: 'test mode is the identity (inverted dropout scales in train mode only)',
        quick: true,
        params: { p: 0.3, mode: 'test', seed: 123 },
        shapes: { x: [4, 5] },
      },
      { name: 'p=0.75', about: 'p is the probability of keeping a unit', params: { p: 0.75, mode: 'train', seed: 7 }, shapes: { x: [6, 5] } },
      { name: 'p=1', about: 'keep every unit: the identity', params: { p: 1, mode: 'train', seed: 7 }, shapes: { x: [3, 4] } },
      { name: '4-d', about: 'an (N,C,H,W) input: the mask has x.shape', params: { p: 0.5, mode: 'train', seed: 3 }, shapes: { x: [2, 3, 4, 5] } },
      {
        name: 'float32',
        about: "the notebook's gradient case in float32",
        dtype: 'float32',
        params: { p: 0.2, mode: 'train', seed: 123 },
        shapes: { x: [10, 10] },
        fill: { x: randn(1, 10) },
      },
    ],
  },
  {
    layer: 'svm_loss',
    timing: { shapes: { x: [256, 10] } },
    cases: [
      {
        name: 'notebook',
        about: "the notebook's check: x = 0.001 * randn(50, 10), y = randint(10, size=50)",
        notebook: 'two_layer_net.ipynb: svm_loss',
        quick: true,
        shapes: { x: [50, 10] },
        fill: { x: randn(0.001) },
        mode: 'sampled',
      },
      { name: 'margins', about: 'scores 2 * randn: some margins positive, some not', quick: true, shapes: { x: [8, 5] }, fill: { x: randn(2) } },
      { name: 'N=1 C=2', about: 'one sample, two classes', shapes: { x: [1, 2] }, fill: { x: randn(0.3) } },
      { name: 'float32', about: 'the margins case in float32', dtype: 'float32', shapes: { x: [8, 5] }, fill: { x: randn(2) } },
    ],
  },
  {
    layer: 'softmax_loss',
    timing: { shapes: { x: [256, 10] } },
    cases: [
      {
        name: 'notebook',
        about: "the notebook's check: x = 0.001 * randn(50, 10), y = randint(10, size=50)",
        notebook: 'two_layer_net.ipynb: softmax_loss',
        quick: true,
        shapes: { x: [50, 10] },
        fill: { x: randn(0.001) },
        mode: 'sampled',
      },
      { name: 'scores', about: 'scores 5 * randn: confident and wrong predictions', quick: true, shapes: { x: [8, 5] }, fill: { x: randn(5) } },
      { name: 'N=1 C=2', about: 'one sample, two classes', shapes: { x: [1, 2] } },
      { name: 'float32', about: 'the scores case in float32', dtype: 'float32', shapes: { x: [8, 5] }, fill: { x: randn(5) } },
    ],
  },
];

/** The battery of `layer` (a registered name). */
export function batteryOf(layer: string): LayerBattery | undefined {
  return BATTERY.find((b) => b.layer === layer);
}

/** The cases `grade` runs for `layer`: all, or with `quick` the notebook cases and one edge case. */
export function casesOf(layer: string, quick: boolean): GradeCase[] {
  const b = batteryOf(layer);
  if (!b) return [];
  return quick ? b.cases.filter((c) => c.quick) : b.cases;
}
