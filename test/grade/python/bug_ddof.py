"""batchnorm updates running_var with the unbiased variance (ddof=1)."""
from _correct import *  # noqa: F401,F403
from _correct import batchnorm_forward as _forward


def batchnorm_forward(x, gamma, beta, bn_param):
    momentum = bn_param.get("momentum", 0.9)
    old = bn_param.get("running_var")
    out, cache = _forward(x, gamma, beta, bn_param)
    if bn_param["mode"] == "train":
        bn_param["running_var"] = momentum * old + (1 - momentum) * x.var(axis=0, ddof=1)
    return out, cache
