"""conv forward and backward ignore the stride along W (the window starts at column j, not j*stride)."""
import numpy as np

from _correct import *  # noqa: F401,F403


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Hout = 1 + (H + 2 * pad - HH) // stride
    Wout = 1 + (W + 2 * pad - WW) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, Hout, Wout))
    for n in range(N):
        for f in range(F):
            for i in range(Hout):
                for j in range(Wout):
                    out[n, f, i, j] = np.sum(xp[n, :, i * stride : i * stride + HH, j : j + WW] * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Hout, Wout = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(Hout):
                for j in range(Wout):
                    dw[f] += xp[n, :, i * stride : i * stride + HH, j : j + WW] * dout[n, f, i, j]
                    dxp[n, :, i * stride : i * stride + HH, j : j + WW] += w[f] * dout[n, f, i, j]
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, db
