"""spatial batchnorm takes its statistics per channel and position over N alone (x.mean(axis=0))."""
import numpy as np

from _correct import *  # noqa: F401,F403


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, C, H, W = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(C))
    running_var = bn_param.get("running_var", np.zeros(C))
    g, b = gamma.reshape(1, C, 1, 1), beta.reshape(1, C, 1, 1)
    if mode == "train":
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        std = np.sqrt(var + eps)
        xhat = (x - mu) / std
        running_mean = momentum * running_mean + (1 - momentum) * mu.mean(axis=(1, 2))
        running_var = momentum * running_var + (1 - momentum) * var.mean(axis=(1, 2))
        cache = (xhat, g, std, gamma.shape)
    else:
        std = np.sqrt(running_var.reshape(1, C, 1, 1) + eps)
        xhat = (x - running_mean.reshape(1, C, 1, 1)) / std
        cache = (xhat, g, std, gamma.shape)
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return g * xhat + b, cache


def spatial_batchnorm_backward(dout, cache):
    xhat, g, std, gshape = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=(0, 2, 3)).reshape(gshape)
    dgamma = (dout * xhat).sum(axis=(0, 2, 3)).reshape(gshape)
    dxhat = dout * g
    dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * std)
    return dx, dgamma, dbeta
