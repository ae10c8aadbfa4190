"""Fixtures saved from the mistake modules the way a notebook saves them (cnn_check.save_fixture),
for `cnn-check compare`: python3 make_fixtures.py OUT_DIR. One per module, plus the fixture mistake
of saving bn_param's running_mean after the forward pass updated it in place."""
import importlib
import os
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [here, os.path.join(here, "..", "..", "..", "python")]
from cnn_check import save_fixture  # noqa: E402

out_dir = sys.argv[1]

# module, layer, params, the cs231n call
CASES = [
    ("cs231n.layers", "conv", {"stride": 1, "pad": 1}),
    ("bug_dx_crop", "conv", {"stride": 1, "pad": 0}),
    ("bug_no_bias", "conv", {"stride": 1, "pad": 1}),
    ("bug_db_averaged", "conv", {"stride": 1, "pad": 1}),
    ("bug_dw_not_accumulated", "conv", {"stride": 1, "pad": 1}),
    ("bug_stride_w", "conv", {"stride": 2, "pad": 1}),
    ("bug_flipped", "conv", {"stride": 1, "pad": 1}),
    ("bug_sbn_reshape", "spatial_batchnorm", {"mode": "train", "eps": 1e-5, "momentum": 0.9}),
    ("bug_gn_interleaved", "spatial_groupnorm", {"G": 2, "eps": 1e-5}),
    ("bug_ddof", "batchnorm", {"mode": "train", "eps": 1e-5, "momentum": 0.9}),
    ("bug_test_mode", "batchnorm", {"mode": "test", "eps": 1e-5, "momentum": 0.9}),
]

SHAPES = {
    "conv": (4, 3, 5, 5),
    "spatial_batchnorm": (2, 3, 4, 5),
    "spatial_groupnorm": (2, 6, 4, 5),
    "batchnorm": (4, 5),
}


def case(module_name, layer, params, name, saved_after=False):
    m = importlib.import_module(module_name)
    np.random.seed(231)
    x = np.random.randn(*SHAPES[layer])
    arrays = {"x": x}
    if layer == "conv":
        w = np.random.randn(2, 3, 3, 3)
        b = np.random.randn(2)
        out, cache = m.conv_forward_naive(x, w, b, dict(params))
        dout = np.random.randn(*out.shape)
        dx, dw, db = m.conv_backward_naive(dout, cache)
        arrays.update(w=w, b=b, out=out, dout=dout, dx=dx, dw=dw, db=db)
    else:
        C = x.shape[1]
        gshape = (1, C, 1, 1) if layer == "spatial_groupnorm" else (C,)
        gamma = 1 + 0.1 * np.random.randn(*gshape)
        beta = 0.1 * np.random.randn(*gshape)
        arrays.update(gamma=gamma, beta=beta)
        if layer == "spatial_groupnorm":
            out, cache = m.spatial_groupnorm_forward(x, gamma, beta, params["G"], {"eps": params["eps"]})
        else:
            rm, rv = 0.1 * np.random.randn(C), 1 + 0.1 * np.random.rand(C)
            bn_param = dict(params, running_mean=rm.copy(), running_var=rv.copy())
            arrays.update(running_mean=rm, running_var=rv)
            forward = m.batchnorm_forward if layer == "batchnorm" else m.spatial_batchnorm_forward
            out, cache = forward(x, gamma, beta, bn_param)
            arrays.update(running_mean_after=bn_param["running_mean"], running_var_after=bn_param["running_var"])
            if saved_after:
                arrays.update(running_mean=bn_param["running_mean"], running_var=bn_param["running_var"])
        dout = np.random.randn(*out.shape)
        backward = getattr(m, f"{layer}_backward")
        dx, dgamma, dbeta = backward(dout, cache)
        arrays.update(out=out, dout=dout, dx=dx, dgamma=dgamma, dbeta=dbeta)
    save_fixture(os.path.join(out_dir, name + ".npz"), layer, params, force=True, **arrays)


for module_name, layer, params in CASES:
    case(module_name, layer, params, module_name.replace("cs231n.layers", "correct"))
case("cs231n.layers", "batchnorm", {"mode": "train", "eps": 1e-5, "momentum": 0.9}, "bn_saved_after", saved_after=True)
print("ok")
