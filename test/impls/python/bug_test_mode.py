"""batchnorm normalizes with the batch statistics in test mode too (and updates the running ones)."""
from cs231n.layers import batchnorm_backward  # noqa: F401
from cs231n.layers import batchnorm_forward as _forward


def batchnorm_forward(x, gamma, beta, bn_param):
    return _forward(x, gamma, beta, dict(bn_param, mode="train")) if False else _train(x, gamma, beta, bn_param)


def _train(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    bn_param["mode"] = "train"
    try:
        return _forward(x, gamma, beta, bn_param)
    finally:
        bn_param["mode"] = mode
