"""cs231n's layer_utils.py: sandwich layers from the layers module, imported relatively."""
from .layers import *  # noqa: F401,F403


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    a, conv_cache = conv_forward_naive(x, w, b, conv_param)  # noqa: F405
    s, relu_cache = relu_forward(a)  # noqa: F405
    out, pool_cache = max_pool_forward_naive(s, pool_param)  # noqa: F405
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_naive(dout, pool_cache)  # noqa: F405
    da = relu_backward(ds, relu_cache)  # noqa: F405
    return conv_backward_naive(da, conv_cache)  # noqa: F405
