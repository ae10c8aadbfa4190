"""batchnorm's test mode normalizes with the running statistics but forgets gamma and beta."""
import numpy as np

from _correct import *  # noqa: F401,F403
from _correct import batchnorm_forward as _train


def batchnorm_forward(x, gamma, beta, bn_param):
    if bn_param["mode"] == "train":
        return _train(x, gamma, beta, bn_param)
    eps = bn_param.get("eps", 1e-5)
    xhat = (x - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + eps)
    return xhat, (xhat, gamma, np.sqrt(bn_param["running_var"] + eps), "test")
