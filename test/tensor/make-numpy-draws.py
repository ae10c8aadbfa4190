#!/usr/bin/env python3
"""Write test/tensor/numpy-draws.json: reference values from numpy's legacy
global generator and np.linspace, for test/tensor/numpy-rng.test.ts.

    python3 test/tensor/make-numpy-draws.py

Needs only numpy. The output is deterministic for a given numpy build and libm.

About the logarithm: numpy's legacy Gaussian (legacy_gauss) calls the C
library's log(), which on glibc is not correctly rounded for roughly 0.07% of
arguments. The TypeScript port uses a correctly rounded log, so it agrees with
numpy bit for bit except on those draws. To make that testable, this script
re-implements legacy_gauss in Python twice: once with math.log (the same libm
log numpy calls; checked to reproduce numpy exactly) and once with a
correctly rounded log computed with the decimal module. Draws where the two
differ are listed under "libm_dependent" with the correctly rounded value.
"""
import decimal
import json
import math
import os
import platform

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "numpy-draws.json")
decimal.getcontext().prec = 50


def enc(v):
    """A float as JSON: plain number, or a string for the values JSON lacks."""
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0 and math.copysign(1.0, v) < 0:
        return "-0"
    return v


def encs(a):
    return [enc(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def cr_log(x):
    return float(decimal.Decimal(x).ln())


class Replica:
    """numpy's legacy double + legacy_gauss on top of np.random's own MT19937
    stream (raw 32-bit words taken from randint), with a pluggable log."""

    def __init__(self, words, log):
        self.words = iter(words)
        self.log = log
        self.cached = None

    def double(self):
        a = int(next(self.words)) >> 5
        b = int(next(self.words)) >> 6
        return (a * 67108864.0 + b) / 9007199254740992.0

    def gauss(self):
        if self.cached is not None:
            v, self.cached = self.cached, None
            return v
        while True:
            x1 = 2.0 * self.double() - 1.0
            x2 = 2.0 * self.double() - 1.0
            r2 = x1 * x1 + x2 * x2
            if r2 < 1.0 and r2 != 0.0:
                break
        f = math.sqrt(-2.0 * self.log(r2) / r2)
        self.cached = f * x1
        return f * x2


def raw_words(seed, count):
    np.random.seed(seed)
    # randint over the full uint32 range takes one raw MT19937 output per value.
    return np.random.randint(0, 2**32, size=count, dtype=np.uint32)


def randn_stream(seed, count):
    """numpy's randn draws plus the draws whose value depends on libm's log."""
    np.random.seed(seed)
    drawn = np.random.randn(count)
    words = raw_words(seed, 4 * count + 4096)
    libm = Replica(words, math.log)
    exact = Replica(iter(words.tolist()), cr_log)
    dependent = []
    for i in range(count):
        a, b = libm.gauss(), exact.gauss()
        assert a == drawn[i], "Python replica with math.log does not reproduce numpy"
        if a != b:
            dependent.append({"index": i, "numpy": enc(a), "correctly_rounded_log": enc(b)})
    return drawn, dependent


def main():
    doc = {
        "generator": "test/tensor/make-numpy-draws.py",
        "numpy_version": np.__version__,
        "platform": f"{platform.system()} {platform.machine()} {platform.libc_ver()[0]} {platform.libc_ver()[1]}",
        "seeds": [],
        "array_seeds": [],
        "long_streams": [],
        "interleaved": [],
        "linspace": [],
        "log_reference": [],
    }

    for seed in [0, 1, 231, 2**32 - 1]:
        entry = {"seed": seed}
        entry["uint32_first"] = [int(v) for v in raw_words(seed, 20)]
        drawn, dep = randn_stream(seed, 50)
        entry["randn_first"] = encs(drawn)
        entry["randn_first_libm_dependent"] = dep
        np.random.seed(seed)
        entry["rand_first"] = encs(np.random.rand(50))
        np.random.seed(seed)
        shaped = np.random.randn(2, 3, 4, 5)
        entry["randn_shape"] = {"shape": list(shaped.shape), "data": encs(shaped)}
        np.random.seed(seed)
        shaped = np.random.rand(2, 3, 4, 5)
        entry["rand_shape"] = {"shape": list(shaped.shape), "data": encs(shaped)}
        doc["seeds"].append(entry)

    for key in [[0], [1, 2, 3], [231, 4294967295, 7]]:
        np.random.seed(key)
        u = np.random.rand(10)
        n = np.random.randn(10)
        doc["array_seeds"].append({"key": key, "rand_then_randn": encs(np.concatenate([u, n]))})

    # Long enough to contain draws where glibc's log is not correctly rounded.
    for seed, count in [(0, 1000), (231, 2000)]:
        drawn, dep = randn_stream(seed, count)
        doc["long_streams"].append({"seed": seed, "randn": encs(drawn), "libm_dependent": dep})

    # Interleaved rand/randn (rand does not touch the cached Gaussian), and
    # re-seeding with a cached Gaussian pending (seed() discards it).
    ops_list = [
        (231, ["randn", "rand", "randn", "randn", "rand", "rand", "randn", "randn", "randn", "rand", "randn"]),
        (0, ["randn", "seed:0", "randn", "randn", "rand", "seed:1", "randn", "rand", "randn", "randn"]),
        (1, ["rand", "rand", "rand", "randn", "rand", "randn", "randn", "rand", "randn", "rand", "rand", "randn"]),
    ]
    for seed, ops in ops_list:
        np.random.seed(seed)
        steps = []
        for op in ops:
            if op.startswith("seed:"):
                np.random.seed(int(op[5:]))
                steps.append({"op": op})
            elif op == "rand":
                steps.append({"op": op, "value": enc(np.random.rand())})
            else:
                steps.append({"op": op, "value": enc(np.random.randn())})
        doc["interleaved"].append({"seed": seed, "steps": steps})

    def lin(lo, hi, shape, note):
        num = int(np.prod(shape))
        with np.errstate(over="ignore", invalid="ignore"):
            y = np.linspace(lo, hi, num=num).reshape(shape)
        doc["linspace"].append({"lo": enc(lo), "hi": enc(hi), "shape": list(shape), "note": note, "data": encs(y)})

    # From the cs231n ConvolutionalNetworks notebook and layer tests.
    lin(-0.1, 0.5, (2, 3, 4, 4), "conv_forward_naive x")
    lin(-0.2, 0.3, (3, 3, 4, 4), "conv_forward_naive w")
    lin(-0.1, 0.2, (3,), "conv_forward_naive b")
    lin(-0.3, 0.4, (2, 3, 4, 4), "max_pool_forward_naive x")
    lin(-0.1, 0.5, (2, 4, 5, 6), "affine_forward x")
    lin(-0.2, 0.3, (120, 3), "affine_forward w")
    lin(-0.3, 0.1, (3,), "affine_forward b")
    lin(-0.5, 0.5, (10,), "relu_forward x, first row of linspace(-0.5, 0.5, 12)")
    lin(-0.5, 0.5, (3, 4), "relu_forward x")
    # Edge cases.
    lin(-0.1, 0.5, (1,), "num=1: only lo")
    lin(-0.1, 0.5, (), "num=1 via a 0-d shape")
    lin(-0.1, 0.5, (0,), "num=0: empty")
    lin(-0.1, 0.5, (2,), "num=2: exactly lo, hi")
    lin(0.5, -0.1, (7,), "decreasing")
    lin(0.25, 0.25, (5,), "lo == hi")
    lin(0.0, 1.0, (11,), "step 0.1")
    lin(1.0, 1e-300, (9,), "large relative range")
    lin(0.0, 5e-324, (10,), "step underflows to 0: numpy's divide-first branch")
    lin(-1e308, 1e308, (5,), "hi - lo overflows to inf")
    lin(0.0, -1.0, (1,), "num=1 with negative delta: 0*delta is -0, -0 + 0 is +0")
    lin(-0.0, -1.0, (1,), "num=1 from -0 with negative delta stays -0")

    # Correctly rounded natural logs (decimal module, 50 digits) for the
    # TypeScript accurateLog: arguments like the r2 of legacy_gauss, values near
    # 1, and the whole normal and subnormal range.
    rs = np.random.RandomState(12345)
    xs = np.concatenate([
        rs.rand(150) ** 2 + rs.rand(150) ** 2,
        1.0 + rs.uniform(-1e-3, 1e-3, 50),
        np.exp(rs.uniform(-744.0, 709.0, 80)),
        [5e-324, 1e-310, 2.2250738585072014e-308, 1.7976931348623157e308, 0.5, 2.0,
         1.0000000000000002, 0.9999999999999999, 0.7071067811865476, 1.4142135623730951,
         1.4142135623730954, 2.0 ** -104],
    ])
    xs = [float(x) for x in xs if 0.0 < x < math.inf]
    doc["log_reference"] = [{"x": enc(x), "log": enc(cr_log(x))} for x in xs]

    with open(OUT, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    total = sum(len(s["libm_dependent"]) for s in doc["long_streams"])
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes); libm-dependent draws in long streams: {total}")


if __name__ == "__main__":
    main()
