"""softmax_loss without subtracting the row maximum: fine at the scores a network sees."""
import numpy as np

from _correct import *  # noqa: F401,F403


def softmax_loss(x, y):
    N = x.shape[0]
    e = np.exp(x)
    probs = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).sum() / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    return loss, dx / N
