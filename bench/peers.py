#!/usr/bin/env python3
"""Compare cnn-check's timings with numpy and PyTorch on the same shapes.

One run: this script calls `node bin/cnn-check.js bench LAYERS --json ...` (build first:
`npm run build`), times the same cases here and prints one table of ratios cnn-check / peer
(below 1 means cnn-check is faster). The fast implementations are timed in --rounds
alternating rounds (cnn-check, then numpy, then torch) and each side reports the median of
its round medians, so load from other processes that comes and goes hits every side alike.

Peers, per case and dtype:
  numpy fast   the cs231n fast layers' method: conv as im2col through as_strided + one matrix
               product (OpenBLAS) per pass, col2im as HH*WW strided slice-adds; max-pool by
               reshape when the windows tile the input; batchnorm as the vectorized forward and
               the closed-form backward (batchnorm_backward_alt), spatial batchnorm through the
               channels-last transpose, group norm on the (N, G, C/G*H*W) view.
  numpy naive  the cs231n naive loops (a Python loop per output), timed on a small batch and
               scaled linearly to the full batch, as `cnn-check bench` does for its naive rows
               (conv and max-pool only: the norms have no loop version in cs231n).
  torch        torch.nn.functional conv2d / max_pool2d / batch_norm / group_norm with
               autograd (forward, then out.backward(dout)).

PyTorch: imported normally when it is installed for this Python; otherwise from --torch-path
(default: Debian's /usr/lib/python3/dist-packages, where `apt-get install python3-torch` puts
it), appended to the END of sys.path so this Python's own numpy stays first. Debian's torch is
built against numpy 1.x; with numpy 2 its numpy bridge is off (a warning on import, silenced),
which the torch peer does not need: its inputs are made with torch.randn. Pass --no-torch to
leave it out.

OpenBLAS: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from this process's environment
before numpy loads (OpenBLAS then picks its kernels for this CPU itself); pass
--keep-openblas-env to keep them. numpy, torch and cnn-check all use --threads threads.

Usage: python3 bench/peers.py [--layers L1,L2,...] [--threads N] [--repeat R] [--rounds K]
                              [--dtype float64|float32|both] [--naive-budget SECONDS] [--no-naive]
                              [--torch-path DIR | --no-torch] [--json] [--keep-openblas-env]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The layers compared by default: every layer with a PyTorch and a cs231n numpy counterpart.
LAYERS = ["conv", "maxpool", "batchnorm", "spatial_batchnorm", "spatial_groupnorm"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for cnn-check and numpy (default: all cores)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per case (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds of the fast timings (default 3)")
    p.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    p.add_argument("--naive-budget", type=float, default=10.0, help="seconds a naive run may take before it is estimated from a smaller batch")
    p.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    p.add_argument("--keep-openblas-env", action="store_true", help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE")
    p.add_argument("--layers", default=",".join(LAYERS), help=f"layers to compare (default {','.join(LAYERS)})")
    p.add_argument("--no-naive", action="store_true", help="skip the naive rows (cnn-check's and numpy's loops)")
    p.add_argument("--torch-path", default="/usr/lib/python3/dist-packages",
                   help="where to look for torch when it is not importable (appended to sys.path)")
    p.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    return p.parse_args()


ARGS = parse_args()
if not ARGS.keep_openblas_env:
    # Must happen before numpy (and its OpenBLAS) is imported.
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        os.environ.pop(var, None)
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import as_strided  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_import import import_torch, torch_blas as _torch_blas  # noqa: E402

if ARGS.no_torch:
    torch, TORCH_SOURCE = None, "left out (--no-torch)"
else:
    torch, TORCH_SOURCE = import_torch(ARGS.torch_path, ARGS.threads)
if torch is not None:
    import torch.nn.functional as TF  # noqa: E402


def torch_blas():
    return _torch_blas(torch)


# --- numpy peers: the cs231n fast layers -------------------------------------------------------

def conv_forward_im2col(x, w, b, stride, pad):
    """cs231n conv_forward_strides: im2col by as_strided, then one matrix product."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    H += 2 * pad
    W += 2 * pad
    Hout = (H - HH) // stride + 1
    Wout = (W - WW) // stride + 1
    s = xp.itemsize
    cols = as_strided(xp, shape=(C, HH, WW, N, Hout, Wout),
                      strides=(H * W * s, W * s, s, C * H * W * s, stride * W * s, stride * s))
    x_cols = np.ascontiguousarray(cols).reshape(C * HH * WW, N * Hout * Wout)
    res = w.reshape(F, -1).dot(x_cols) + b.reshape(-1, 1)
    out = np.ascontiguousarray(res.reshape(F, N, Hout, Wout).transpose(1, 0, 2, 3))
    return out, (x.shape, w, stride, pad, x_cols)


def conv_backward_im2col(dout, cache):
    """cs231n conv_backward_strides, with col2im as HH*WW strided slice-adds instead of Cython."""
    (N, C, H, W), w, stride, pad, x_cols = cache
    F, _, HH, WW = w.shape
    _, _, Hout, Wout = dout.shape
    db = dout.sum(axis=(0, 2, 3))
    dout_r = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    dw = dout_r.dot(x_cols.T).reshape(w.shape)
    dx_cols = w.reshape(F, -1).T.dot(dout_r).reshape(C, HH, WW, N, Hout, Wout)
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dout.dtype)
    for di in range(HH):
        for dj in range(WW):
            dxp[:, :, di:di + stride * Hout:stride, dj:dj + stride * Wout:stride] += dx_cols[:, di, dj].transpose(1, 0, 2, 3)
    dx = dxp[:, :, pad:pad + H, pad:pad + W] if pad else dxp
    return np.ascontiguousarray(dx), dw, db


def maxpool_forward_fast(x, ph, pw, stride):
    """cs231n max_pool_forward_fast: reshape when the windows tile the input, else im2col-free loops over the window."""
    N, C, H, W = x.shape
    if ph == pw == stride and H % ph == 0 and W % pw == 0:
        xr = x.reshape(N, C, H // ph, ph, W // pw, pw)
        out = xr.max(axis=3).max(axis=4)
        return out, ("reshape", x, xr, out)
    Hout = (H - ph) // stride + 1
    Wout = (W - pw) // stride + 1
    s = x.itemsize
    win = as_strided(x, shape=(N, C, Hout, Wout, ph, pw), strides=(C * H * W * s, H * W * s, stride * W * s, stride * s, W * s, s))
    flat = win.reshape(N, C, Hout, Wout, ph * pw)
    arg = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    return out, ("general", x, arg, (ph, pw, stride))


def maxpool_backward_fast(dout, cache):
    kind, x, a, b = cache
    if kind == "reshape":
        xr, out = a, b
        dxr = np.zeros_like(xr)
        mask = xr == out[:, :, :, None, :, None]
        dob, _ = np.broadcast_arrays(dout[:, :, :, None, :, None], dxr)
        dxr[mask] = dob[mask]
        dxr /= np.sum(mask, axis=(3, 5), keepdims=True)
        return dxr.reshape(x.shape)
    arg, (ph, pw, stride) = a, b
    N, C, H, W = x.shape
    Hout, Wout = arg.shape[2:]
    dx = np.zeros_like(x)
    di, dj = np.divmod(arg, pw)
    n, c, i, j = np.indices(arg.shape)
    np.add.at(dx, (n, c, i * stride + di, j * stride + dj), dout)
    return dx


def batchnorm_forward(x, gamma, beta, running_mean, running_var, mode, eps, momentum):
    """cs231n batchnorm_forward: batch statistics (biased variance), running averages updated."""
    if mode == "train":
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        std = np.sqrt(var + eps)
        xhat = (x - mu) / std
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        std = np.sqrt(running_var + eps)
        xhat = (x - running_mean) / std
    out = gamma * xhat + beta
    return out, (mode, xhat, gamma, std)


def batchnorm_backward_alt(dout, cache):
    """cs231n batchnorm_backward_alt: the closed form."""
    mode, xhat, gamma, std = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    if mode != "train":
        return dout * (gamma / std), dgamma, dbeta
    dx = (gamma / std / N) * (N * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def spatial_batchnorm_forward(x, gamma, beta, running_mean, running_var, mode, eps, momentum):
    """cs231n spatial_batchnorm_forward: channels last, batchnorm, back."""
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma.reshape(C), beta.reshape(C),
                                   running_mean, running_var, mode, eps, momentum)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward_alt(dout.transpose(0, 2, 3, 1).reshape(-1, C), cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, eps):
    """cs231n spatial_groupnorm_forward: statistics per (sample, group) on the (N, G, C/G, H, W) view."""
    N, C, H, W = x.shape
    xg = x.reshape(N, G, -1)
    mu = xg.mean(axis=2, keepdims=True)
    std = np.sqrt(xg.var(axis=2, keepdims=True) + eps)
    xhat = ((xg - mu) / std).reshape(N, C, H, W)
    return gamma * xhat + beta, (xhat, gamma, std, G)


def spatial_groupnorm_backward(dout, cache):
    xhat, gamma, std, G = cache
    N, C, H, W = dout.shape
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * xhat).sum(axis=(0, 2, 3), keepdims=True)
    dxhat = (dout * gamma).reshape(N, G, -1)
    xh = xhat.reshape(N, G, -1)
    M = xh.shape[2]
    dx = (1 / std / M) * (M * dxhat - dxhat.sum(axis=2, keepdims=True) - xh * (dxhat * xh).sum(axis=2, keepdims=True))
    return dx.reshape(N, C, H, W), dgamma, dbeta


# --- numpy peers: the cs231n naive loops -------------------------------------------------------

def conv_forward_naive(x, w, b, stride, pad):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    Hout = (H + 2 * pad - HH) // stride + 1
    Wout = (W + 2 * pad - WW) // stride + 1
    out = np.zeros((N, F, Hout, Wout), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(Hout):
                for j in range(Wout):
                    out[n, f, i, j] = np.sum(xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] * w[f]) + b[f]
    return out, (xp, w, stride, pad)


def conv_backward_naive(dout, cache):
    xp, w, stride, pad = cache
    F, _, HH, WW = w.shape
    N, _, Hout, Wout = dout.shape
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(Hout):
                for j in range(Wout):
                    g = dout[n, f, i, j]
                    win = (n, slice(None), slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW))
                    dw[f] += xp[win] * g
                    dxp[win] += w[f] * g
    H, W = xp.shape[2] - 2 * pad, xp.shape[3] - 2 * pad
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db


def maxpool_forward_naive(x, ph, pw, stride):
    N, C, H, W = x.shape
    Hout = (H - ph) // stride + 1
    Wout = (W - pw) // stride + 1
    out = np.zeros((N, C, Hout, Wout), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(Hout):
                for j in range(Wout):
                    out[n, c, i, j] = np.max(x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw])
    return out, (x, ph, pw, stride)


def maxpool_backward_naive(dout, cache):
    x, ph, pw, stride = cache
    N, C, Hout, Wout = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Hout):
                for j in range(Wout):
                    win = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    a, b = np.unravel_index(np.argmax(win), win.shape)
                    dx[n, c, i * stride + a, j * stride + b] += dout[n, c, i, j]
    return dx


# --- timing ------------------------------------------------------------------------------------

def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def time_passes(forward, backward, make_inputs, warmup, repeat):
    """Median forward and backward milliseconds; dout drawn once outside the timed region."""
    inputs = make_inputs()
    fwd, bwd, dout = [], [], None
    for r in range(warmup + repeat):
        t0 = time.perf_counter()
        out, cache = forward(*inputs)
        t1 = time.perf_counter()
        if dout is None:
            dout = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
        t2 = time.perf_counter()
        backward(dout, cache)
        t3 = time.perf_counter()
        if r >= warmup:
            fwd.append((t1 - t0) * 1e3)
            bwd.append((t3 - t2) * 1e3)
    return median(fwd), median(bwd)


def time_naive(forward, backward, make_inputs_at, N, warmup, repeat, budget):
    """Naive loops: probe batch 1, then time the largest batch that fits the budget and scale."""
    f1, b1 = time_passes(forward, backward, lambda: make_inputs_at(1), 0, 1)
    per_pass = (f1 + b1) / 1e3
    batch = N
    if per_pass * N * (warmup + repeat) > budget:
        batch = max(1, min(N, int(budget / ((warmup + repeat) * per_pass))))
    f, b = time_passes(forward, backward, lambda: make_inputs_at(batch), warmup, repeat)
    return f * N / batch, b * N / batch, batch


def torch_passes(layer, shapes, params, dtype, warmup, repeat):
    td = torch.float64 if dtype == "float64" else torch.float32
    g = torch.Generator().manual_seed(0)
    x = torch.randn(*shapes["x"], dtype=td, generator=g, requires_grad=True)
    if layer == "conv":
        w = torch.randn(*shapes["w"], dtype=td, generator=g, requires_grad=True)
        b = torch.randn(*shapes["b"], dtype=td, generator=g, requires_grad=True)
        fwd_fn = lambda: TF.conv2d(x, w, b, stride=params["stride"], padding=params["pad"])  # noqa: E731
    elif layer == "maxpool":
        fwd_fn = lambda: TF.max_pool2d(x, (params["pool_height"], params["pool_width"]), stride=params["stride"])  # noqa: E731
    elif layer in ("batchnorm", "spatial_batchnorm"):
        C = shapes["x"][1]
        gamma = torch.randn(C, dtype=td, generator=g, requires_grad=True)
        beta = torch.randn(C, dtype=td, generator=g, requires_grad=True)
        rm, rv = torch.zeros(C, dtype=td), torch.ones(C, dtype=td)
        # torch's momentum weighs the batch statistic: cs231n's momentum m is torch's 1 - m.
        fwd_fn = lambda: TF.batch_norm(x, rm, rv, gamma, beta, training=params["mode"] == "train",  # noqa: E731
                                       momentum=1 - params["momentum"], eps=params["eps"])
    elif layer == "spatial_groupnorm":
        C = shapes["x"][1]
        gamma = torch.randn(C, dtype=td, generator=g, requires_grad=True)
        beta = torch.randn(C, dtype=td, generator=g, requires_grad=True)
        fwd_fn = lambda: TF.group_norm(x, params["G"], gamma, beta, eps=params["eps"])  # noqa: E731
    else:
        raise ValueError(f"no torch peer for {layer}")
    fwd, bwd, dout = [], [], None
    for r in range(warmup + repeat):
        t0 = time.perf_counter()
        out = fwd_fn()
        t1 = time.perf_counter()
        if dout is None:
            dout = torch.randn(out.shape, dtype=td, generator=g)
        t2 = time.perf_counter()
        out.backward(dout)
        t3 = time.perf_counter()
        if r >= warmup:
            fwd.append((t1 - t0) * 1e3)
            bwd.append((t3 - t2) * 1e3)
    return median(fwd), median(bwd)


def numpy_case(layer, shapes, params, dtype):
    """(forward, backward, make inputs at batch n) of the numpy fast and naive peers of a case."""
    rng = np.random.default_rng(231)
    dt = np.float64 if dtype == "float64" else np.float32

    def arr(shape):
        return rng.standard_normal(shape).astype(dt)

    if layer == "conv":
        s, p = params["stride"], params["pad"]

        def inputs_at(n):
            return (arr([n] + shapes["x"][1:]), arr(shapes["w"]), arr(shapes["b"]), s, p)

        return (conv_forward_im2col, conv_backward_im2col), (conv_forward_naive, conv_backward_naive), inputs_at
    if layer in ("batchnorm", "spatial_batchnorm"):
        C = shapes["x"][1]
        fwd = batchnorm_forward if layer == "batchnorm" else spatial_batchnorm_forward
        bwd = batchnorm_backward_alt if layer == "batchnorm" else spatial_batchnorm_backward

        def bn_inputs_at(n):
            return (arr([n] + shapes["x"][1:]), arr([C]), arr([C]), np.zeros(C, dt), np.ones(C, dt),
                    params["mode"], params["eps"], params["momentum"])

        return (fwd, bwd), None, bn_inputs_at
    if layer == "spatial_groupnorm":
        C = shapes["x"][1]

        def gn_inputs_at(n):
            return (arr([n] + shapes["x"][1:]), arr([1, C, 1, 1]), arr([1, C, 1, 1]), params["G"], params["eps"])

        return (spatial_groupnorm_forward, spatial_groupnorm_backward), None, gn_inputs_at
    ph, pw, s = params["pool_height"], params["pool_width"], params["stride"]

    def pool_inputs_at(n):
        return (arr([n] + shapes["x"][1:]), ph, pw, s)

    return (maxpool_forward_fast, maxpool_backward_fast), (maxpool_forward_naive, maxpool_backward_naive), pool_inputs_at


# --- the run -----------------------------------------------------------------------------------

LAYER_LIST = [name.strip() for name in ARGS.layers.split(",") if name.strip()]


def cnn_check_results(impl):
    cli = os.path.join(ROOT, "bin", "cnn-check.js")
    if not os.path.exists(os.path.join(ROOT, "dist", "cli", "main.js")):
        sys.exit("peers.py: dist/ is missing; run `npm run build` first")
    cmd = ["node", cli, "bench", *LAYER_LIST, "--json", "--impls", impl, "--dtype", ARGS.dtype, "--threads", str(ARGS.threads),
           "--repeat", str(ARGS.repeat), "--warmup", str(ARGS.warmup), "--naive-budget", str(ARGS.naive_budget)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"peers.py: {' '.join(cmd[1:])} failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def case_key(r):
    return (r["layer"], json.dumps(r["shapes"]), json.dumps(r["params"], sort_keys=True), r["dtype"])


def cpu_pressure():
    """Linux PSI: the share of the last 10 s in which some runnable task waited for a CPU (None elsewhere)."""
    try:
        with open("/proc/pressure/cpu") as f:
            return float(f.readline().split()[1].split("=")[1])
    except (OSError, IndexError, ValueError):
        return None


def main():
    load_start = os.getloadavg()
    pressure_start = cpu_pressure()
    rows = {}
    machine = None

    def row_for(r):
        key = case_key(r)
        if key not in rows:
            rows[key] = {"layer": r["layer"], "shapes": r["shapes"], "params": r["params"], "dtype": r["dtype"],
                         "rounds": {"cnn_fast": [], "numpy_fast": [], "torch": []}}
        return rows[key]

    for _ in range(ARGS.rounds):
        report = cnn_check_results("fast")
        machine = report["machine"]
        for r in report["results"]:
            row_for(r)["rounds"]["cnn_fast"].append([r["forwardMs"]["median"], r["backwardMs"]["median"]])
            if r.get("algorithm"):
                row_for(r)["algorithm"] = r["algorithm"]
        for row in rows.values():
            fast, _, inputs_at = numpy_case(row["layer"], row["shapes"], row["params"], row["dtype"])
            row["rounds"]["numpy_fast"].append(list(time_passes(*fast, lambda: inputs_at(row["shapes"]["x"][0]), ARGS.warmup, ARGS.repeat)))
            if torch is not None:
                row["rounds"]["torch"].append(list(torch_passes(row["layer"], row["shapes"], row["params"], row["dtype"], ARGS.warmup, ARGS.repeat)))
    if not ARGS.no_naive:
        for r in cnn_check_results("naive")["results"]:
            row = row_for(r)
            row["cnn_naive_ms"] = [r["forwardMs"]["median"], r["backwardMs"]["median"]]
            if "estimatedFrom" in r:
                row["cnn_naive_batch"] = r["estimatedFrom"]["batch"]
    for row in rows.values():
        _, naive, inputs_at = numpy_case(row["layer"], row["shapes"], row["params"], row["dtype"])
        if naive and not ARGS.no_naive:
            vf, vb, vbatch = time_naive(*naive, inputs_at, row["shapes"]["x"][0], ARGS.warmup, ARGS.repeat, ARGS.naive_budget)
            row["numpy_naive_ms"], row["numpy_naive_batch"] = [vf, vb], vbatch
        for side, key in (("cnn_fast", "cnn_fast_ms"), ("numpy_fast", "numpy_fast_ms"), ("torch", "torch_ms")):
            got = row["rounds"][side]
            if got:
                row[key] = [median([g[0] for g in got]), median([g[1] for g in got])]
    machine = dict(machine, numpy=np.__version__, blas=blas_name(), torch=getattr(torch, "__version__", None),
                   torch_source=TORCH_SOURCE, torch_blas=torch_blas() if torch is not None else None,
                   python=platform.python_version(), threads=ARGS.threads, rounds=ARGS.rounds, repeat=ARGS.repeat,
                   openblas_env="kept" if ARGS.keep_openblas_env else "unset", load_start=load_start, load=os.getloadavg(),
                   cpu_pressure=[pressure_start, cpu_pressure()])
    if ARGS.json:
        print(json.dumps({"machine": machine, "rows": list(rows.values())}, indent=2))
    else:
        print_table(machine, list(rows.values()))


def blas_name():
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older numpy without mode="dicts"
        return "unknown"


def fmt(ms):
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 1 else f"{ms:.3f}"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


def print_table(machine, rows):
    print(f"cnn-check vs peers: {machine['cpu']}, {machine['cores']} cores, threads {machine['threads']}, node {machine['node']} "
          f"(GEMM {machine['gemm']}), numpy {machine['numpy']} ({machine['blas']}, OpenBLAS env {machine['openblas_env']}), "
          f"torch {machine['torch'] + ' (' + machine['torch_source'] + ', BLAS ' + machine['torch_blas'] + ')' if machine['torch'] else machine['torch_source']}; "
          f"load average {' '.join(f'{v:.2f}' for v in machine['load_start'])} at the start, {' '.join(f'{v:.2f}' for v in machine['load'])} at the end"
          + (f"; CPU pressure (PSI some avg10) {machine['cpu_pressure'][0]:.0f}% at the start, {machine['cpu_pressure'][1]:.0f}% at the end" if None not in machine["cpu_pressure"] else ""))
    print(f"times: ms forward / backward, medians of {machine['repeat']} runs (fast: median over {machine['rounds']} alternating rounds); "
          "ratio = cnn-check / peer on forward + backward (< 1: cnn-check faster)")
    head = ["case", "dtype", "cnn fast", "numpy fast", "fast ratio", "cnn naive", "numpy naive", "naive ratio", "cnn fast/naive"]
    if machine["torch"]:
        head += ["torch", "fast/torch"]
    head += ["cnn-check algorithm"]
    table = [head]
    for r in rows:
        shapes = " ".join(f"{k} {','.join(map(str, v))}" for k, v in r["shapes"].items() if k in ("x", "w"))
        params = " ".join(f"{k}={v}" for k, v in r["params"].items())
        cf, cn = r.get("cnn_fast_ms"), r.get("cnn_naive_ms")
        nf, nv = r["numpy_fast_ms"], r.get("numpy_naive_ms")
        line = [
            f"{r['layer']} {shapes} {params}", r["dtype"],
            f"{fmt(cf[0])} / {fmt(cf[1])}" if cf else "-",
            f"{fmt(nf[0])} / {fmt(nf[1])}",
            ratio(sum(cf), sum(nf)) if cf else "-",
            (f"{fmt(cn[0])} / {fmt(cn[1])}" + (f" (est. N={r['cnn_naive_batch']})" if "cnn_naive_batch" in r else "")) if cn else "-",
            (f"{fmt(nv[0])} / {fmt(nv[1])}" + (f" (est. N={r['numpy_naive_batch']})" if r["numpy_naive_batch"] != r["shapes"]["x"][0] else "")) if nv else "-",
            ratio(sum(cn), sum(nv)) if cn and nv else "-",
            f"{sum(cn) / sum(cf):.0f}x" if cf and cn else "-",
        ]
        if machine["torch"]:
            t = r["torch_ms"]
            line += [f"{fmt(t[0])} / {fmt(t[1])}", ratio(sum(cf), sum(t)) if cf else "-"]
        line += [r.get("algorithm", "-")]
        table.append(line)
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    for k, row in enumerate(table):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
