#!/usr/bin/env python3
"""The checker's own speed: whole gradient checks of conv, cnn-check against the checkers people use.

Checkers, each timed in-process (no interpreter or Node start-up in the times; medians of --repeat):
  cnn-check   gradCheck of the fast conv from dist/ (bench/gradcheck.mjs), modes full, directional, auto
  torch       torch.autograd.gradcheck on F.conv2d through a torch.autograd.Function whose backward is
              the correct one (aten.convolution_backward, F.conv2d's own) or a buggy one; full
              (fast_mode=False: the whole numerical and analytical Jacobians) and fast_mode=True (one
              random projection each side); float64, eps 1e-6, atol 1e-5, rtol 1e-3 (its defaults)
  numpy       the cs231n loop: eval_numerical_gradient_array (two forward passes per element of every
              input) on the naive conv forward, compared with the backward by the notebooks'
              rel_error; a bug counts as caught when any rel_error exceeds 1e-7 (cnn-check's conv
              tolerance; the notebooks say errors should be around 1e-8 or less)

Cases: cs231n (x 4,3,5,5, w 2,3,3,3, stride 1, pad 1: the assignment's check) in every mode, and the
mid-size layer (x 32,64,32,32, w 64,64,3,3) in cnn-check's auto and directional modes against torch's
fast_mode; a full check there (2.2M inputs) is estimated from one forward pass rather than run.

Every checker also runs against five injected bugs (the same five on every side): db averaged
instead of summed, dx with the wrong sign, dw with the kernel flipped, dw missing the last output
row, one element of dx off by 1e-3 relative. A bug is caught when the checker fails the check.
torch's fast_mode is not run on the bugs at the mid shape: when it fails, torch 1.13 recomputes the
failing Jacobian in slow mode for its error message, 2.1M forward passes (it grew past 9 GB here).

Usage: python3 bench/gradcheck.py [--repeat R] [--threads N] [--cases cs231n,mid] [--json]
       (build first: npm run build; torch from --torch-path when not installed, see bench/torch_import.py)
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--repeat", type=int, default=5, help="timed runs per check (median; default 5)")
p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
p.add_argument("--cases", default="cs231n,mid")
p.add_argument("--torch-path", default="/usr/lib/python3/dist-packages")
p.add_argument("--json", action="store_true")
ARGS = p.parse_args()
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)

import numpy as np  # noqa: E402
from torch_import import import_torch  # noqa: E402

torch, TORCH_SOURCE = import_torch(ARGS.torch_path, ARGS.threads)
if torch is not None:
    import torch.nn.functional as TF  # noqa: E402

CASES = {
    "cs231n": dict(x=(4, 3, 5, 5), w=(2, 3, 3, 3), stride=1, pad=1),
    "mid": dict(x=(32, 64, 32, 32), w=(64, 64, 3, 3), stride=1, pad=1),
}
BUGS = ["db averaged instead of summed", "dx with the wrong sign", "dw with the kernel flipped",
        "dw missing the last output row", "dx off by 1e-3 relative in one element"]
NUMPY_THRESHOLD = 1e-7


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]


def timed(fn, repeat):
    """Median seconds of `repeat` calls after one warm-up, and the last result."""
    fn()
    ts, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return median(ts), out


# --- the bugs, applied to correct gradients (every side) ----------------------------------------

def apply_bug(bug, dx, dw, db, dout, recompute_dw):
    """The buggy (dx, dw, db) from the correct ones; numpy or torch arrays alike."""
    if bug is None:
        return dx, dw, db
    if bug == "db averaged instead of summed":
        n, _, ho, wo = dout.shape
        return dx, dw, db / (n * ho * wo)
    if bug == "dx with the wrong sign":
        return -dx, dw, db
    if bug == "dw with the kernel flipped":
        return dx, dw[:, :, ::-1, ::-1].copy() if isinstance(dw, np.ndarray) else dw.flip(2, 3), db
    if bug == "dw missing the last output row":
        cut = dout.copy() if isinstance(dout, np.ndarray) else dout.clone()
        cut[:, :, -1, :] = 0
        return dx, recompute_dw(cut), db
    if bug == "dx off by 1e-3 relative in one element":
        dx = dx.copy() if isinstance(dx, np.ndarray) else dx.clone()
        flat = dx.reshape(-1)
        flat[flat.shape[0] // 2 + 1] *= 1 + 1e-3
        return dx, dw, db
    raise ValueError(bug)


# --- torch ----------------------------------------------------------------------------------------

def torch_conv(bug, stride, pad):
    class Conv(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, b):
            ctx.save_for_backward(x, w)
            return TF.conv2d(x, w, b, stride=stride, padding=pad)

        @staticmethod
        def backward(ctx, dout):
            x, w = ctx.saved_tensors

            def grads(d):
                # NOTE: the native conv backward (what F.conv2d's autograd runs); torch.nn.grad.conv2d_weight
                # repeats dout C times (1 GB at the mid shape) and ran out of memory in fast_mode.
                return torch.ops.aten.convolution_backward(d, x, w, [w.shape[0]], [stride, stride], [pad, pad], [1, 1],
                                                           False, [0, 0], 1, [True, True, True])

            dx, dw, db = grads(dout)
            return apply_bug(bug, dx, dw, db, dout, lambda d: grads(d)[1])

    return Conv.apply


def torch_check(case, fast_mode, bug, repeat):
    c = CASES[case]
    g = torch.Generator().manual_seed(231)
    inputs = tuple(torch.randn(*s, dtype=torch.float64, generator=g, requires_grad=True) for s in (c["x"], c["w"], (c["w"][0],)))
    fn = torch_conv(bug, c["stride"], c["pad"])
    check = lambda: torch.autograd.gradcheck(fn, inputs, fast_mode=fast_mode, raise_exception=False)  # noqa: E731
    seconds, ok = timed(check, repeat if bug is None else 1)
    return {"seconds": seconds, "pass": bool(ok)}


# --- numpy: the cs231n loop -------------------------------------------------------------------------

def conv_forward_naive(x, w, b, stride, pad):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    Ho = (H + 2 * pad - HH) // stride + 1
    Wo = (W + 2 * pad - WW) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] * w[f]) + b[f]
    return out


def conv_backward_naive(dout, x, w, stride, pad):
    F, _, HH, WW = w.shape
    N, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")

    def dw_of(d):
        dw = np.zeros_like(w)
        for n in range(N):
            for f in range(F):
                for i in range(Ho):
                    for j in range(Wo):
                        dw[f] += xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] * d[n, f, i, j]
        return dw

    dxp = np.zeros_like(xp)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    dxp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += w[f] * dout[n, f, i, j]
    H, W = x.shape[2], x.shape[3]
    return dxp[:, :, pad:pad + H, pad:pad + W], dw_of(dout), dout.sum(axis=(0, 2, 3)), dw_of


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """cs231n's gradient_check.eval_numerical_gradient_array."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = f(x).copy()
        x[ix] = old - h
        neg = f(x).copy()
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def rel_error(x, y):
    """cs231n's rel_error."""
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))


def numpy_check(case, bug, repeat):
    c = CASES[case]
    rng = np.random.default_rng(231)
    x, w, b = rng.standard_normal(c["x"]), rng.standard_normal(c["w"]), rng.standard_normal(c["w"][0])
    s, pd = c["stride"], c["pad"]
    dout = rng.standard_normal(conv_forward_naive(x, w, b, s, pd).shape)

    def check():
        dx_num = eval_numerical_gradient_array(lambda v: conv_forward_naive(v, w, b, s, pd), x, dout)
        dw_num = eval_numerical_gradient_array(lambda v: conv_forward_naive(x, v, b, s, pd), w, dout)
        db_num = eval_numerical_gradient_array(lambda v: conv_forward_naive(x, w, v, s, pd), b, dout)
        dx, dw, db, dw_of = conv_backward_naive(dout, x, w, s, pd)
        dx, dw, db = apply_bug(bug, dx, dw, db, dout, dw_of)
        errors = [rel_error(dx, dx_num), rel_error(dw, dw_num), rel_error(db, db_num)]
        return max(errors) <= NUMPY_THRESHOLD, errors

    seconds, (ok, errors) = timed(check, repeat if bug is None else 1)
    return {"seconds": seconds, "pass": bool(ok), "rel_errors": [float(e) for e in errors]}


def numpy_full_estimate(case):
    """Seconds the cs231n loop would take: two naive forwards per input element (timed on one)."""
    c = CASES[case]
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(c["x"]), rng.standard_normal(c["w"]), rng.standard_normal(c["w"][0])
    t0 = time.perf_counter()
    conv_forward_naive(x[:1], w, b, c["stride"], c["pad"])
    per_forward = (time.perf_counter() - t0) * c["x"][0]
    elements = int(np.prod(c["x"]) + np.prod(c["w"]) + c["w"][0])
    return 2 * elements * per_forward


def torch_full_estimate(case):
    """Seconds torch's full gradcheck would take: at least two forwards per input element (timed on one)."""
    c = CASES[case]
    g = torch.Generator().manual_seed(0)
    x, w, b = (torch.randn(*s, dtype=torch.float64, generator=g) for s in (c["x"], c["w"], (c["w"][0],)))
    TF.conv2d(x, w, b, stride=c["stride"], padding=c["pad"])
    t0 = time.perf_counter()
    TF.conv2d(x, w, b, stride=c["stride"], padding=c["pad"])
    per_forward = time.perf_counter() - t0
    elements = x.numel() + w.numel() + b.numel()
    return 2 * elements * per_forward


# --- cnn-check ---------------------------------------------------------------------------------------

def cnn_check(case, mode):
    cmd = ["node", os.path.join(ROOT, "bench", "gradcheck.mjs"), case, mode, "--repeat", str(ARGS.repeat), "--threads", str(ARGS.threads)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"gradcheck.py: {' '.join(cmd[1:])} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


# --- the run ------------------------------------------------------------------------------------------

def main():
    load_start = os.getloadavg()
    rows = []
    for case in [c.strip() for c in ARGS.cases.split(",") if c.strip()]:
        modes = ["full", "directional", "auto"] if case == "cs231n" else ["auto", "directional"]
        for mode in modes:
            r = cnn_check(case, mode)
            rows.append({"case": case, "checker": "cnn-check", "mode": mode, "seconds": r["correct"]["seconds"],
                         "pass": r["correct"]["pass"], "caught": [b["caught"] for b in r["bugs"]], "detail": r["correct"]["rows"]})
        if torch is not None:
            torch_modes = [("full", False), ("fast_mode", True)] if case == "cs231n" else [("fast_mode", True)]
            for name, fast in torch_modes:
                ok = torch_check(case, fast, None, ARGS.repeat)
                # NOTE: when fast_mode fails, torch 1.13 recomputes the failing Jacobian in slow mode for its
                # message (_run_slow_mode_and_get_error): at the mid shape that is 2.1M forward passes and
                # grew past 9 GB, so the bugs run on the small case only.
                caught = [not torch_check(case, fast, bug, 1)["pass"] for bug in BUGS] if case == "cs231n" else None
                rows.append({"case": case, "checker": "torch.autograd.gradcheck", "mode": name, "seconds": ok["seconds"], "pass": ok["pass"], "caught": caught})
            if case != "cs231n":
                rows.append({"case": case, "checker": "torch.autograd.gradcheck", "mode": "full", "seconds": torch_full_estimate(case), "estimated": True})
        if case == "cs231n":
            ok = numpy_check(case, None, ARGS.repeat)
            caught = [not numpy_check(case, bug, 1)["pass"] for bug in BUGS]
            rows.append({"case": case, "checker": "cs231n eval_numerical_gradient_array", "mode": "full", "seconds": ok["seconds"], "pass": ok["pass"], "caught": caught,
                         "detail": ok["rel_errors"]})
        else:
            rows.append({"case": case, "checker": "cs231n eval_numerical_gradient_array", "mode": "full", "seconds": numpy_full_estimate(case), "estimated": True})
    machine = {"threads": ARGS.threads, "repeat": ARGS.repeat, "numpy": np.__version__, "torch": getattr(torch, "__version__", None),
               "torch_source": TORCH_SOURCE, "load_start": load_start, "load": os.getloadavg()}
    if ARGS.json:
        print(json.dumps({"machine": machine, "bugs": BUGS, "rows": rows}, indent=2))
        return
    print(f"gradient checks of conv, in-process, medians of {ARGS.repeat}; threads {ARGS.threads}; numpy {np.__version__}; "
          f"torch {machine['torch'] or TORCH_SOURCE} ({TORCH_SOURCE}); load average {' '.join(f'{v:.2f}' for v in load_start)} "
          f"at the start, {' '.join(f'{v:.2f}' for v in machine['load'])} at the end")
    print("bugs: " + "; ".join(f"{i + 1} {b}" for i, b in enumerate(BUGS)))
    ref = {(r["case"], r["mode"]): r["seconds"] for r in rows if r["checker"] == "torch.autograd.gradcheck" and not r.get("estimated")}
    head = ["case", "checker", "mode", "seconds", "correct passes", "bugs caught", "vs torch full", "vs torch fast_mode"]
    table = [head]
    for r in rows:
        est = r.get("estimated")
        secs = f"~{r['seconds']:.3g} (estimated)" if est else f"{r['seconds']:.4g}"
        if est:
            caught = ""
        elif r["caught"] is None:
            caught = "not run (see --help)"
        else:
            caught = f"{sum(r['caught'])}/{len(BUGS)}" + ("" if all(r["caught"]) else " (missed " + ",".join(str(i + 1) for i, c in enumerate(r["caught"]) if not c) + ")")
        tf, tfm = ref.get((r["case"], "full")), ref.get((r["case"], "fast_mode"))
        table.append([r["case"], r["checker"], r["mode"], secs, "" if est else str(r["pass"]), caught,
                      f"{r['seconds'] / tf:.3g}x" if tf and not est else "", f"{r['seconds'] / tfm:.3g}x" if tfm and not est else ""])
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    for k, row in enumerate(table):
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
