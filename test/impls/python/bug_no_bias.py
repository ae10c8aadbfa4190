"""conv_forward_naive forgets the bias; the backward is right."""
import numpy as np
from cs231n.layers import conv_backward_naive  # noqa: F401


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
                    out[n, f, i, j] = np.sum(xp[n, :, i * stride : i * stride + HH, j * stride : j * stride + WW] * w[f])
    return out, (x, w, b, conv_param)
