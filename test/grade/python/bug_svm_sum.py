"""svm_loss sums the loss and dx over the batch instead of averaging them."""
import numpy as np

from _correct import *  # noqa: F401,F403


def svm_loss(x, y):
    N = x.shape[0]
    correct = x[np.arange(N), y][:, None]
    margins = np.maximum(0, x - correct + 1.0)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins)
    dx = (margins > 0).astype(x.dtype)
    dx[np.arange(N), y] = -np.sum(dx, axis=1)
    return loss, dx
