"""max-pool windows step by the window's size instead of the stride (the notebook's 2x2 windows at stride 2 cannot tell)."""
import numpy as np

from _correct import *  # noqa: F401,F403


def max_pool_forward_naive(x, pool_param):
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Hout = 1 + (H - ph) // stride
    Wout = 1 + (W - pw) // stride
    out = np.zeros((N, C, Hout, Wout))
    for i in range(Hout):
        for j in range(Wout):
            out[:, :, i, j] = x[:, :, i * ph : i * ph + ph, j * pw : j * pw + pw].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    N, C, Hout, Wout = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Hout):
                for j in range(Wout):
                    window = x[n, c, i * ph : i * ph + ph, j * pw : j * pw + pw]
                    k = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * ph + k[0], j * pw + k[1]] += dout[n, c, i, j]
    return dx
