"""Write and read cnn-check layer fixtures. Copy this file next to your notebook;
it needs only numpy.

A fixture is one ``.npz`` file holding a layer's inputs, optionally the upstream
gradient ``dout``, and whatever results you want cnn-check to verify:

- ``meta``: JSON ``{"layer": "<name>", "params": {...}}`` stored as a 0-d string.
- layer names: conv, maxpool, batchnorm, layernorm, spatial_batchnorm,
  spatial_groupnorm, relu, affine, conv_relu_pool, dropout, svm_loss, softmax_loss.
- params: conv ``stride``, ``pad``; maxpool ``pool_height``, ``pool_width``,
  ``stride``; batchnorm and spatial_batchnorm ``mode`` ("train" or "test"),
  ``eps``, ``momentum``; layernorm ``eps``; spatial_groupnorm ``G``, ``eps``;
  relu and affine none; conv_relu_pool ``stride``, ``pad``, ``pool_height``,
  ``pool_width``, ``pool_stride``; dropout ``p`` (keep probability), ``mode``,
  ``seed``; svm_loss and softmax_loss none.
- inputs: ``x``, ``w``, ``b``, ``gamma``, ``beta``, ``running_mean``,
  ``running_var``, ``y`` (integer labels of the losses; the ones the layer takes).
- upstream gradient: ``dout`` (needed when any gradient is given).
- results, any subset: ``out``, ``dx``, ``dw``, ``db``, ``dgamma``, ``dbeta``,
  ``running_mean_after``, ``running_var_after``.

Example, in the cs231n ConvolutionalNetworks notebook::

    import numpy as np
    from cs231n.layers import conv_forward_naive, conv_backward_naive
    from cnn_check_fixture import save_fixture

    np.random.seed(231)
    x = np.random.randn(4, 3, 5, 5)
    w = np.random.randn(2, 3, 3, 3)
    b = np.random.randn(2,)
    conv_param = {"stride": 1, "pad": 1}
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dout = np.random.randn(*out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)
    save_fixture("my_conv.npz", "conv", conv_param,
                 x=x, w=w, b=b, out=out, dout=dout, dx=dx, dw=dw, db=db)

and then, in a shell: ``cnn-check fixture my_conv.npz``.

For batch normalization pass the inputs ``running_mean`` / ``running_var`` as
they were BEFORE the forward pass, and the values ``bn_param`` holds afterwards
as ``running_mean_after`` / ``running_var_after``. Copy them first: the cs231n
layers update ``bn_param`` in place.
"""
import json
import os

import numpy as np

__all__ = ["save_fixture", "load_fixture", "LAYERS", "ARRAY_NAMES"]

LAYERS = {
    "conv": ("stride", "pad"),
    "maxpool": ("pool_height", "pool_width", "stride"),
    "batchnorm": ("mode", "eps", "momentum"),
    "spatial_batchnorm": ("mode", "eps", "momentum"),
    "layernorm": ("eps",),
    "spatial_groupnorm": ("G", "eps"),
    "relu": (),
    "affine": (),
    "conv_relu_pool": ("stride", "pad", "pool_height", "pool_width", "pool_stride"),
    "dropout": ("p", "mode", "seed"),
    "svm_loss": (),
    "softmax_loss": (),
}

ARRAY_NAMES = (
    "x", "w", "b", "gamma", "beta", "running_mean", "running_var", "y",
    "dout",
    "out", "dx", "dw", "db", "dgamma", "dbeta", "running_mean_after", "running_var_after",
)


def _plain(value):
    """A JSON-serialisable copy of a param value (numpy scalars become Python ones)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def save_fixture(path, layer, params, force=False, **arrays):
    """Write a fixture ``.npz`` with ``np.savez``.

    path    -- file name; ``.npz`` is appended when missing (as np.savez does).
    layer   -- one of LAYERS, e.g. "conv".
    params  -- dict of the layer's params, e.g. {"stride": 1, "pad": 1}. Array
               values (cs231n keeps running_mean / running_var in bn_param) are
               skipped; any other unknown key is an error, so a typo is caught.
    force   -- overwrite an existing file; without it an existing file is an error.
    arrays  -- the inputs, dout and expected results by name (see ARRAY_NAMES).

    Returns the path written.
    """
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}: expected one of {', '.join(LAYERS)}")
    unknown = sorted(set(arrays) - set(ARRAY_NAMES))
    if unknown:
        raise ValueError(f"unknown array name(s) {unknown}: expected some of {', '.join(ARRAY_NAMES)}")
    if "x" not in arrays:
        raise ValueError("a fixture needs the input x")
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    wanted = LAYERS[layer]
    kept = {}
    for key, value in dict(params or {}).items():
        if key in wanted:
            kept[key] = _plain(value)
        elif not isinstance(value, np.ndarray):
            raise ValueError(f"unknown param {key!r} for {layer}: expected some of {', '.join(wanted) or 'none'}")
    meta = {"layer": layer, "params": kept}
    members = {}
    for name, value in arrays.items():
        a = np.asarray(value)
        if a.dtype == object:
            raise ValueError(f"{name}: object arrays cannot be read by cnn-check; pass a numeric array")
        members[name] = a
    try:
        # "x" mode creates the file or fails, with no window between check and write.
        fh = open(path, "wb" if force else "xb")
    except FileExistsError:
        raise FileExistsError(f"{path} exists: pass force=True to overwrite it") from None
    with fh:
        np.savez(fh, meta=json.dumps(meta), **members)
    return path


def load_fixture(path):
    """Read a fixture: a ``.npz`` or a directory of ``.npy`` files plus ``meta.json``.

    Returns ``(meta, arrays)``: the parsed meta dict and a dict of numpy arrays.
    Object arrays are refused (``allow_pickle=False``).
    """
    path = os.fspath(path)
    arrays = {}
    if os.path.isdir(path):
        meta_path = os.path.join(path, "meta.json")
        if not os.path.exists(meta_path):
            raise ValueError(f"{path}: missing meta.json")
        with open(meta_path, encoding="utf-8") as fh:
            meta = json.load(fh)
        for name in sorted(os.listdir(path)):
            if name.endswith(".npy"):
                arrays[name[:-4]] = np.load(os.path.join(path, name), allow_pickle=False)
        return meta, arrays
    with np.load(path, allow_pickle=False) as data:
        if "meta" not in data.files:
            raise ValueError(f"{path}: missing member 'meta'")
        for name in data.files:
            arrays[name] = data[name]
    meta = json.loads(str(arrays.pop("meta")))
    return meta, arrays
