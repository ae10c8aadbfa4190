"""batchnorm with a backward for train mode only (cs231n asks for no other), and no batchnorm_backward_alt."""
from _correct import batchnorm_forward  # noqa: F401
from _correct import batchnorm_backward as _right


def batchnorm_backward(dout, cache):
    if len(cache) == 4:
        raise NotImplementedError("train mode only")
    return _right(dout, cache)
