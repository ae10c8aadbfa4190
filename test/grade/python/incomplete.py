"""Half-way through the assignment: conv_forward_naive written, conv_backward_naive not yet; relu done."""
from _correct import relu_backward, relu_forward  # noqa: F401
from _correct import conv_forward_naive  # noqa: F401
