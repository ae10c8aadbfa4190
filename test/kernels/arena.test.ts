/**
 * The shared arena is capped at 1 GiB (WebAssembly memories are). A pass whose staged views would
 * not fit runs on one thread without staging, or on the JS kernels, instead of failing: the rules
 * below decide it from the lengths alone, before anything is allocated.
 */
import { describe, expect, it } from 'vitest';
import { planeKernelsAvailable, planeKernelsRun } from '../../src/kernels/norm-planes.js';
import { arenaBytes, arenaFits, stagedArenaBytes, threadsWithinArena } from '../../src/kernels/parallel/shared.js';

const GiB = 1024 ** 3;

describe('the shared arena cap', () => {
  it('fits views up to 1 GiB, each rounded up to 64 bytes', () => {
    expect(arenaFits(['float64'], [GiB / 8])).toBe(true);
    expect(arenaFits(['float64'], [GiB / 8 + 1])).toBe(false);
    // Two views of 1 GiB/8 - 1 float32 each round up to 64-byte multiples: 2 * (GiB/2 - 64 + 64).
    expect(arenaFits(['float32', 'float32'], [GiB / 8 - 1, GiB / 8 - 1])).toBe(true);
    expect(arenaFits(['float32', 'float32', 'int32'], [GiB / 8, GiB / 8, 1])).toBe(false);
  });

  it('a threaded pass that would not fit runs on one thread; one that fits keeps its threads', () => {
    expect(threadsWithinArena(2, ['float64', 'float64'], [1000, 1000])).toBe(2);
    expect(threadsWithinArena(2, ['float64', 'float64'], [GiB / 16, GiB / 16 + 8])).toBe(1);
    expect(threadsWithinArena(1, ['float64'], [GiB])).toBe(1);
  });

  it('memory estimates count the arena only where a pass stages into it', () => {
    expect(stagedArenaBytes(2, ['float64'], [1000])).toBe(arenaBytes(['float64'], [1000]));
    expect(stagedArenaBytes(1, ['float64'], [1000])).toBe(0);
    expect(stagedArenaBytes(2, ['float64'], [GiB / 8 + 1])).toBe(0);
    // Growth headroom never takes the arena past its cap.
    expect(arenaBytes(['float64'], [GiB / 8])).toBe(GiB);
  });

  it.runIf(planeKernelsAvailable())('the plane norm kernels run while backward staging (x, dout, dx) fits, the JS kernels beyond', () => {
    // x 32,64,32,32 float64: 2M values, 48 MiB staged.
    expect(planeKernelsRun(32 * 64, 32 * 32, 'float64')).toBe(true);
    // x 32,64,256,128 float64: 64 Mi values, 3 x 512 MiB staged > 1 GiB.
    expect(planeKernelsRun(32 * 64, 256 * 128, 'float64')).toBe(false);
    // The same in float32 is 3 x 256 MiB plus the per-plane statistics: it fits.
    expect(planeKernelsRun(32 * 64, 256 * 128, 'float32')).toBe(true);
  });
});
