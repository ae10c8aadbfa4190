"""group norm with interleaved groups: reshape(N, C // G, G, H, W), statistics over axes 1, 3, 4."""
import numpy as np

from _correct import *  # noqa: F401,F403


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N, C // G, G, H, W)
    mu = xg.mean(axis=(1, 3, 4), keepdims=True)
    std = np.sqrt(xg.var(axis=(1, 3, 4), keepdims=True) + eps)
    xhat = ((xg - mu) / std).reshape(N, C, H, W)
    return gamma.reshape(1, C, 1, 1) * xhat + beta.reshape(1, C, 1, 1), (xhat, gamma, std, G)


def spatial_groupnorm_backward(dout, cache):
    xhat, gamma, std, G = cache
    N, C, H, W = dout.shape
    dbeta = dout.sum(axis=(0, 2, 3)).reshape(gamma.shape)
    dgamma = (dout * xhat).sum(axis=(0, 2, 3)).reshape(gamma.shape)
    dxhat = (dout * gamma.reshape(1, C, 1, 1)).reshape(N, C // G, G, H, W)
    xh = xhat.reshape(N, C // G, G, H, W)
    M = (C // G) * H * W
    ax = (1, 3, 4)
    dx = (M * dxhat - dxhat.sum(axis=ax, keepdims=True) - xh * (dxhat * xh).sum(axis=ax, keepdims=True)) / (M * std)
    return dx.reshape(N, C, H, W), dgamma, dbeta
