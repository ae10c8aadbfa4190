"""affine_backward returns dx flattened to (N, D) instead of x's shape."""
from _correct import *  # noqa: F401,F403


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = dout.sum(axis=0)
    return dx, dw, db
