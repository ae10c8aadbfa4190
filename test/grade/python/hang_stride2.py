"""conv_backward_naive loops forever at stride 2 (the notebook's forward case); right elsewhere."""
from _correct import *  # noqa: F401,F403
from _correct import conv_backward_naive as _right


def conv_backward_naive(dout, cache):
    while cache[3]["stride"] == 2:
        pass
    return _right(dout, cache)
