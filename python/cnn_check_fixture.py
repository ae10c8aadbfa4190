"""The former name of cnn_check: ``from cnn_check_fixture import save_fixture`` keeps working.

New code imports ``cnn_check`` (``pip install ./python``, or copy ``cnn_check.py``), which
also has ``compare``; see its docstring for the layers, params and array names.
"""
from cnn_check import ARRAY_NAMES, LAYERS, compare, load_fixture, save_fixture  # noqa: F401

__all__ = ["save_fixture", "load_fixture", "compare", "LAYERS", "ARRAY_NAMES"]
__doc__ = __doc__ + "\n" + (__import__("cnn_check").__doc__ or "")
