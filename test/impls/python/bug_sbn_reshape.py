"""spatial batchnorm reshapes x to (-1, C) without moving C last first."""
from cs231n.layers import batchnorm_backward_alt, batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(x.reshape(-1, C), gamma.reshape(C), beta.reshape(C), bn_param)
    return out.reshape(N, C, H, W), (cache, gamma.shape)


def spatial_batchnorm_backward(dout, cache):
    cache, gshape = cache
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward_alt(dout.reshape(-1, C), cache)
    return dx.reshape(N, C, H, W), dgamma.reshape(gshape), dbeta.reshape(gshape)
