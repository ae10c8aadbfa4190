"""The correct cs231n layers of test/impls/python/cs231n/layers.py, for the grade tests' buggy
copies: each bug_*.py here is that whole layers file (from _correct import *) with one function
rewritten the way a student gets it wrong."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "impls", "python"))

from cs231n.layers import *  # noqa: E402,F401,F403
