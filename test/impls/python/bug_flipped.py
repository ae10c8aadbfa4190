"""A true convolution: the kernel flipped in the forward pass and, consistently, in the backward."""
from cs231n.layers import conv_backward_naive as _backward
from cs231n.layers import conv_forward_naive as _forward


def conv_forward_naive(x, w, b, conv_param):
    out, _ = _forward(x, w[:, :, ::-1, ::-1], b, conv_param)
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    dx, dwf, db = _backward(dout, (x, w[:, :, ::-1, ::-1], b, conv_param))
    return dx, dwf[:, :, ::-1, ::-1], db
