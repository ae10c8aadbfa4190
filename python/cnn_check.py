"""cnn-check for numpy code: check your layers from a shell or a notebook.

One file, needing only numpy: install it with ``pip install ./python`` (from a
cnn-check checkout or ``node_modules/cnn-check``), or copy it next to your
notebook. It holds

- ``save_fixture`` / ``load_fixture``: write and read a layer fixture (a
  ``.npz`` of inputs, ``dout`` and your results);
- ``compare``: run ``cnn-check compare`` on fixtures and return its JSON report;
- ``grade``: run ``cnn-check grade`` on your layers module and return a ``GradeResult``
  whose ``assert_ok()`` fails a pytest test with the failing cases;
- the bridge ``cnn-check <layer> --impl layers.py`` starts to call your
  functions (you never run it yourself).

Checking your functions directly, in a shell (the cs231n assignment)::

    npx cnn-check conv --impl cs231n/layers.py            # conv_forward_naive / conv_backward_naive
    npx cnn-check spatial-batchnorm --impl cs231n/layers.py
    npx cnn-check conv --impl cs231n/layers.py:my_conv_forward,my_conv_backward

Through a fixture, from the notebook (cs231n ConvolutionalNetworks)::

    import numpy as np
    from cs231n.layers import conv_forward_naive, conv_backward_naive
    from cnn_check import save_fixture, compare

    np.random.seed(231)
    x = np.random.randn(4, 3, 5, 5)
    w = np.random.randn(2, 3, 3, 3)
    b = np.random.randn(2,)
    conv_param = {"stride": 1, "pad": 1}
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dout = np.random.randn(*out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)
    save_fixture("my_conv.npz", "conv", conv_param, force=True,
                 x=x, w=w, b=b, out=out, dout=dout, dx=dx, dw=dw, db=db)
    report = compare("my_conv.npz")      # runs: cnn-check compare my_conv.npz --json
    report["pass"]

and in a shell: ``npx cnn-check compare my_conv.npz`` for the tables, heatmaps
and hints.

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

For batch normalization pass the inputs ``running_mean`` / ``running_var`` as
they were BEFORE the forward pass, and the values ``bn_param`` holds afterwards
as ``running_mean_after`` / ``running_var_after``. Copy them first: the cs231n
layers update ``bn_param`` in place, so saving ``bn_param["running_mean"]`` after
the forward pass as the input saves the updated statistics (``compare`` says so
when it sees it).
"""
import json
import os
import shutil
import subprocess
import sys

try:
    import numpy as np
except ImportError:  # the bridge reports a Python without numpy as such
    np = None

__all__ = ["save_fixture", "load_fixture", "compare", "grade", "GradeResult", "LAYERS", "ARRAY_NAMES"]

__version__ = "0.1.0"

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


def _need_numpy():
    if np is None:
        raise ImportError("cnn_check needs numpy: pip install numpy")


def _plain(value):
    """A JSON-serialisable copy of a param value (numpy scalars become Python ones)."""
    if np is not None and isinstance(value, np.generic):
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
    _need_numpy()
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
    _need_numpy()
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


def _cli_command(cli):
    """The command that runs cnn-check: ``cli`` (a list or a string), $CNN_CHECK_CLI,
    ``cnn-check`` on PATH, or ``npx --no-install cnn-check``."""
    if cli is None:
        cli = os.environ.get("CNN_CHECK_CLI")
    if cli is None:
        found = shutil.which("cnn-check")
        if found:
            return [found]
        npx = shutil.which("npx")
        if npx:
            return [npx, "--no-install", "cnn-check"]
        raise FileNotFoundError("cannot find cnn-check: install it (npm install cnn-check), or pass cli=... or set CNN_CHECK_CLI")
    return cli.split() if isinstance(cli, str) else list(cli)


def compare(*paths, max_error=None, cli=None, timeout=600):
    """Run ``cnn-check compare PATH... --json`` and return its JSON report as a dict.

    paths     -- fixture files (``.npz``) or directories, as written by save_fixture.
    max_error -- threshold on the relative error (default: cnn-check's, 1e-6 for float64).
    cli       -- how to run cnn-check, e.g. ``["node", "/path/bin/cnn-check.js"]``
                 (default: $CNN_CHECK_CLI, ``cnn-check`` on PATH, else ``npx --no-install cnn-check``).

    The report is ``{"pass": bool, "fixtures": [{"path", "layer", "params", "pass",
    "arrays": [{"name", "relError", "worst", "pass", "localization"?, ...}]}]}``;
    a failing array carries where it is wrong and the hint. Raises RuntimeError
    when cnn-check cannot read a fixture (exit code 2) or fails.
    """
    if not paths:
        raise ValueError("compare: expected at least one fixture path")
    cmd = _cli_command(cli) + ["compare", *[os.fspath(p) for p in paths], "--json"]
    if max_error is not None:
        cmd += ["--max-error", repr(float(max_error))]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode not in (0, 1) or not r.stdout.strip():
        raise RuntimeError(f"cnn-check compare exited with {r.returncode}: {r.stderr.strip() or r.stdout.strip()}")
    return json.loads(r.stdout)


class GradeResult:
    """What ``cnn-check grade --json`` reported for a module.

    ok       -- True when every case of every graded function passes (warnings pass).
    report   -- the whole JSON document: ``{"pass", "module", "layers": [{"layer",
                "functions", "pass", "summary", "cases": [{"function", "name", "params",
                "shapes", "pass", "status", "message", "hint", "mode", "shrunk"?, ...}]}]}``.
    failures -- the failing cases, each with its ``layer``.
    """

    def __init__(self, report):
        self.report = report
        self.ok = bool(report.get("pass"))
        self.failures = [dict(case, layer=layer["layer"]) for layer in report.get("layers", []) for case in layer.get("cases", []) if not case.get("pass")]

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return f"<GradeResult {self.report.get('module')}: {'pass' if self.ok else f'{len(self.failures)} failing case(s)'}>"

    def summary(self):
        """One line per layer: ``conv: 11/12 cases - fails at pad=0: dx has shape ...``."""
        return "\n".join(layer["summary"] for layer in self.report.get("layers", []))

    def assert_ok(self):
        """Raise AssertionError listing the failing cases (message, hint, smallest failing case) unless every case passes."""
        if self.ok:
            return self
        lines = [f"cnn-check grade {self.report.get('module')}: {len(self.failures)} failing case(s)", self.summary()]
        for case in self.failures:
            lines.append(f"{case['layer']} {case['function']} {case['name']}: {case['message']}")
            if case.get("hint"):
                lines.append(f"  hint: {case['hint']}")
            shrunk = case.get("shrunk") or {}
            if "shapes" in shrunk:
                shapes = ", ".join(f"{k} {tuple(v)}" for k, v in shrunk["shapes"].items())
                params = " ".join(f"{k}={v}" for k, v in shrunk.get("params", {}).items())
                lines.append(f"  smallest failing case: {shapes}{'; ' + params if params else ''}: {shrunk['message']}")
                if shrunk.get("fixture"):
                    lines.append(f"  fixture: {shrunk['fixture']}")
        raise AssertionError("\n".join(lines))


def grade(path, layers=None, quick=False, cli=None, timeout=600):
    """Run ``cnn-check grade PATH --json`` on a module of cs231n layer functions.

    path    -- your module: ``cs231n/layers.py`` (or ``layer_utils.py``).
    layers  -- grade only these layers: a list (``["conv", "maxpool"]``) or ``"conv,maxpool"``.
    quick   -- only the notebooks' cases and one edge case per layer (seconds).
    cli     -- how to run cnn-check, as for ``compare``.

    Returns a GradeResult; in a pytest test, ``grade("cs231n/layers.py").assert_ok()``.
    Raises RuntimeError when cnn-check cannot grade the module (exit code 2: no such file, a
    module that does not import, no cs231n functions).
    """
    cmd = _cli_command(cli) + ["grade", os.fspath(path), "--json"]
    if layers:
        cmd += ["--layers", layers if isinstance(layers, str) else ",".join(layers)]
    if quick:
        cmd.append("--quick")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode not in (0, 1) or not r.stdout.strip():
        raise RuntimeError(f"cnn-check grade exited with {r.returncode}: {r.stderr.strip() or r.stdout.strip()}")
    return GradeResult(json.loads(r.stdout))


# ---------------------------------------------------------------------------------------------
# The bridge. `cnn-check <layer> --impl layers.py` runs
#
#     python3 cnn_check.py --bridge fifo DIR MEMORY_MB      (named pipes DIR/requests, DIR/replies)
#     python3 cnn_check.py --bridge fds IN_FD OUT_FD MEMORY_MB   (where there are no named pipes)
#
# and sends length-prefixed frames on the requests channel, answered on the replies channel; stdout and stderr are never
# used for frames, and inside the bridge sys.stdout and sys.stderr collect the user's output,
# which travels with the replies (cnn-check prints it on its stderr, marked with the module's
# name). A frame is
#
#     u32 LE header length | u32 LE body length | header (JSON, UTF-8) | body
#
# where the body is the arrays the header lists in `arrays: [[name, nbytes], ...]`, each a
# complete .npy file (np.save / np.load; cnn-check's own reader and writer on its side). The
# first frame is the bridge's hello; then each request gets exactly one reply, in order.
# Requests: `load` (import a module, list its functions), `forward` (call a forward function
# with cs231n arguments built from the header's `args`, keep the cache; with `runs: k`, k calls
# whose arrays and results are named `name#i`, for numeric gradients), `backward` (call a
# backward function with dout and a kept cache). The layer conventions (which arguments, which
# results) live in cnn-check (src/impls/python/cs231n.ts); this side only executes them.

_MAX_LOG_LINES = 50
_CACHE_SLOTS = 8
_MAX_MESSAGE = 400


class _Reported(Exception):
    """A failure of the user's code, already described in one line."""


class _Output:
    """sys.stdout / sys.stderr inside the bridge: lines collected for the replies, at most
    _MAX_LOG_LINES per module."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self):
        self.lines = []
        self.partial = ""
        self.counts = {}
        self.owner = None

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        parts = (self.partial + s).split("\n")
        self.partial = parts.pop()
        for line in parts:
            self._add(line)
        return len(s)

    def writelines(self, lines):
        for s in lines:
            self.write(s)

    def _add(self, line):
        n = self.counts.get(self.owner, 0) + 1
        self.counts[self.owner] = n
        if n <= _MAX_LOG_LINES:
            self.lines.append(line)
        elif n == _MAX_LOG_LINES + 1:
            self.lines.append(f"(further output of {self.owner} dropped after {_MAX_LOG_LINES} lines)")

    def drain(self):
        if self.partial:
            self._add(self.partial)
            self.partial = ""
        out, self.lines = self.lines, []
        return out

    def flush(self):
        pass

    def isatty(self):
        return False

    def writable(self):
        return True

    def readable(self):
        return False


def _one_line(text):
    line = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 3] + "..."


def _kind_of(value):
    """How a returned value is named in messages: `a tuple of 3`, `None`, `a list`, `a float`."""
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    if np is not None and isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)}"
    if np is not None and isinstance(value, np.generic):
        return f"a numpy scalar ({value.dtype})"
    name = type(value).__name__
    return f"an {name}" if name[:1] in "aeiou" else f"a {name}"


class _Bridge:
    def __init__(self, in_fd, out_fd, memory_mb, output):
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.memory_mb = memory_mb
        self.output = output
        self.modules = {}
        self.caches = {}
        self.next_cache = 0
        self.bridge_file = os.path.abspath(__file__)

    # -- frames ------------------------------------------------------------------------------

    def _read_exact(self, n):
        chunks = []
        while n:
            b = os.read(self.in_fd, min(n, 1 << 24))
            if not b:
                raise EOFError
            chunks.append(b)
            n -= len(b)
        return b"".join(chunks)

    def receive(self):
        head = self._read_exact(8)
        hlen = int.from_bytes(head[:4], "little")
        blen = int.from_bytes(head[4:], "little")
        header = json.loads(self._read_exact(hlen).decode("utf-8"))
        body = memoryview(self._read_exact(blen)) if blen else memoryview(b"")
        arrays = {}
        at = 0
        for name, nbytes in header.get("arrays", []):
            arrays[name] = _load_npy(body[at : at + nbytes])
            at += nbytes
        return header, arrays

    def send(self, header, arrays=()):
        blobs = [(name, _save_npy(a)) for name, a in arrays]
        header = dict(header, arrays=[[name, len(b)] for name, b in blobs])
        text = json.dumps(header, allow_nan=False).encode("utf-8")
        body = b"".join(b for _, b in blobs)
        data = memoryview(len(text).to_bytes(4, "little") + len(body).to_bytes(4, "little") + text + body)
        while data:
            n = os.write(self.out_fd, data)
            data = data[n:]

    # -- errors ------------------------------------------------------------------------------

    def _where(self, tb, module):
        """`layers.py:12` for the innermost frame in the user's module (else in its package
        directory, else anywhere outside this file)."""
        import traceback

        frames = traceback.extract_tb(tb)
        path = getattr(module, "__file__", None) if module is not None else None
        path = os.path.abspath(path) if path else None
        directory = os.path.dirname(path) + os.sep if path else None
        chosen = None
        for test in (
            lambda f: path is not None and os.path.abspath(f) == path,
            lambda f: directory is not None and os.path.abspath(f).startswith(directory),
            lambda f: os.path.abspath(f) != self.bridge_file and not f.startswith("<"),
        ):
            hits = [fr for fr in frames if test(fr.filename)]
            if hits:
                chosen = hits[-1]
                break
        return f"{os.path.basename(chosen.filename)}:{chosen.lineno}" if chosen else None

    def describe(self, err, module, fn=None):
        """One line for an exception of the user's code: its type, message and where."""
        what = f"{fn} " if fn else ""
        if isinstance(err, MemoryError):
            return f"{what}exceeded the memory limit of {self.memory_mb} MB ({type(err).__name__}: {_one_line(err) or 'out of memory'})"
        if isinstance(err, SystemExit):
            return f"{what}called sys.exit({err.code!r})"
        text = f"{type(err).__name__}: {_one_line(err)}" if str(err) else type(err).__name__
        where = None
        if isinstance(err, SyntaxError) and err.filename and err.lineno:
            where = f"{os.path.basename(err.filename)}:{err.lineno}"
            text = f"SyntaxError: {_one_line(err.msg)}"
        where = where or self._where(err.__traceback__, module)
        return f"{what}raised {text}{f' ({where})' if where else ''}" if fn else f"{text}{f' ({where})' if where else ''}"

    # -- requests ----------------------------------------------------------------------------

    def load(self, req):
        import importlib
        import importlib.util

        path = os.path.abspath(req["path"])
        directory, filename = os.path.split(path)
        stem = os.path.splitext(filename)[0]
        self.output.owner = filename
        parts = [stem]
        root = directory
        # A module inside a package (cs231n/layers.py beside cs231n/__init__.py) is imported as
        # that package's module, so its relative imports work.
        while os.path.isfile(os.path.join(root, "__init__.py")):
            root, package = os.path.split(root)
            parts.insert(0, package)
        if root not in sys.path:
            sys.path.insert(0, root)
        try:
            if len(parts) > 1 and all(p.isidentifier() for p in parts):
                name = ".".join(parts)
                module = importlib.import_module(name)
                got = os.path.abspath(getattr(module, "__file__", "") or "")
                if got != path:
                    raise _Reported(f"the package module {name} is already imported from {got}; check one {parts[0]} package per run")
            else:
                name = stem if stem.isidentifier() else "_cnn_check_module"
                taken = sys.modules.get(name)
                k = 1
                while taken is not None and os.path.abspath(getattr(taken, "__file__", "") or "") != path:
                    k += 1
                    name = f"{stem}_{k}"
                    taken = sys.modules.get(name)
                if taken is not None:
                    module = taken
                else:
                    spec = importlib.util.spec_from_file_location(name, path)
                    module = importlib.util.module_from_spec(spec)
                    sys.modules[name] = module
                    try:
                        spec.loader.exec_module(module)
                    except BaseException:
                        del sys.modules[name]
                        raise
        except _Reported:
            raise
        except BaseException as err:  # noqa: BLE001 - any failure of the user's import is reported
            raise _Reported(self.describe(err, _FakeModule(path))) from None
        key = str(req["id"])
        self.modules[key] = module
        functions = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        return {"ok": True, "module": name, "functions": functions}, ()

    def _function(self, req):
        module = self.modules[str(req["module"])]
        fn = getattr(module, req["fn"], None)
        if not callable(fn):
            raise _Reported(f"{req['fn']} is not a function of the module")
        self.output.owner = os.path.basename(getattr(module, "__file__", "") or req["fn"])
        return module, fn

    def _array(self, value, what):
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "fiub":
                raise _Reported(f"{what} has dtype {value.dtype}: expected a float array")
            return value
        hint = " (not implemented yet?)" if value is None else ""
        raise _Reported(f"{what} is {_kind_of(value)}: expected a numpy array{hint}")

    def _build(self, spec, arrays):
        if "array" in spec:
            a = arrays[spec["array"]]
            # Labels arrive as floats holding integers; numpy indexes with integer arrays only.
            return a.astype(np.int64) if spec.get("int") else a
        if "value" in spec:
            return spec["value"]
        return {k: self._build(v, arrays) for k, v in spec["dict"].items()}

    def forward(self, req, arrays):
        module, fn = self._function(req)
        name = req["fn"]
        # Copies of the inputs the forward must not change (x, w, gamma, ...; not the running
        # statistics, which cs231n's bn_param holds to be updated).
        kept = {k: arrays[k].copy() for k in req.get("pristine", [])}
        kept_bytes = {k: a.tobytes() for k, a in kept.items()}
        args = [self._build(a, arrays) for a in req["args"]]
        from time import perf_counter

        t0 = perf_counter()
        try:
            result = fn(*args)
        except BaseException as err:  # noqa: BLE001
            raise _Reported(self.describe(err, module, name)) from None
        ms = (perf_counter() - t0) * 1000
        for k, before in kept.items():
            after = arrays[k]
            if after.shape == before.shape and after.dtype == before.dtype and after.tobytes() == kept_bytes[k]:
                continue
            if True:
                at = ""
                if after.shape == before.shape:
                    i = np.unravel_index(int(np.argmax(~((after == before) | (np.isnan(after) & np.isnan(before))))), before.shape)
                    at = f": {k}[{', '.join(str(int(j)) for j in i)}] was {float(before[i]):.8g}, is {float(after[i]):.8g}"
                raise _Reported(f"{name} modified its input {k} in place{at}; compute on a copy (x.copy(), np.pad) instead")
        if req.get("loss"):
            # A loss, svm_loss(x, y) -> (loss, dx): the loss is the output, dx the cache its backward scales.
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise _Reported(f"{name} returned {_kind_of(result)}: expected a tuple (loss, dx)")
            loss = np.asarray(result[0]) if isinstance(result[0], (float, int, np.generic)) else result[0]
            out = self._array(loss, f"{name}'s loss")
            if out.size != 1:
                raise _Reported(f"{name}'s loss has shape {out.shape}: expected a number (the mean loss over the batch)")
            out = out.reshape(())
            dx = self._array(result[1], f"{name}'s dx")
            return {"ok": True, "cache": self._keep(dx), "ms": ms}, [("out", out)]
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise _Reported(f"{name} returned {_kind_of(result)}: expected a tuple (out, cache)")
        out = self._array(result[0], f"{name}'s out")
        results = [("out", out)]
        state = req.get("state")
        if state:
            holder = args[state["arg"]]
            for key in state["keys"]:
                if key not in holder:
                    raise _Reported(f"{name} left no {key} in {state['name']}: store the updated {key} there, as cs231n does")
                results.append((f"state.{key}", self._array(holder[key], f"{state['name']}['{key}'] after {name}")))
        return {"ok": True, "cache": self._keep(result[1]), "ms": ms}, results

    def forward_runs(self, req, arrays, runs):
        """Several calls of one forward function in one request (cnn-check's numeric gradients):
        the arrays of call i are named `name#i`, and so are its results."""
        caches, ms, results = [], 0.0, []
        for i in range(runs):
            suffix = f"#{i}"
            mine = {name[: -len(suffix)]: a for name, a in arrays.items() if name.endswith(suffix)}
            reply, res = self.forward(req, mine)
            caches.append(reply["cache"])
            ms += reply["ms"]
            results.extend((name + suffix, a) for name, a in res)
        return {"ok": True, "caches": caches, "ms": ms}, results

    def _keep(self, cache):
        """Hold a forward's cache for its backward; the id the backward names it by."""
        cache_id = self.next_cache
        self.next_cache += 1
        self.caches[cache_id] = cache
        if len(self.caches) > _CACHE_SLOTS:
            del self.caches[next(iter(self.caches))]
        return cache_id

    def backward(self, req, arrays):
        module, fn = self._function(req)
        name = req["fn"]
        if req["cache"] not in self.caches:
            raise _Reported(f"{name} was called with the cache of an old forward pass (only the last {_CACHE_SLOTS} are kept)")
        from time import perf_counter

        if req.get("loss"):
            # The loss's dx scaled by the upstream gradient of the scalar loss (1 in a network).
            return {"ok": True, "ms": 0.0}, [("dx", np.asarray(arrays["dout"]) * self.caches[req["cache"]])]
        t0 = perf_counter()
        try:
            result = fn(arrays["dout"], self.caches[req["cache"]])
        except BaseException as err:  # noqa: BLE001
            raise _Reported(self.describe(err, module, name)) from None
        ms = (perf_counter() - t0) * 1000
        grads = req["grads"]
        if len(grads) == 1:
            if not isinstance(result, np.ndarray):
                raise _Reported(f"{name} returned {_kind_of(result)}: expected the array {grads[0]}" + (" (not implemented yet?)" if result is None else ""))
            values = [result]
        else:
            if not isinstance(result, (tuple, list)) or len(result) != len(grads):
                raise _Reported(f"{name} returned {_kind_of(result)}: expected a tuple ({', '.join(grads)})")
            values = list(result)
        return {"ok": True, "ms": ms}, [(g, self._array(v, f"{name}'s {g}")) for g, v in zip(grads, values)]

    def serve(self):
        while True:
            try:
                header, arrays = self.receive()
            except EOFError:
                return 0
            op = header.get("op")
            try:
                if op == "load":
                    reply, results = self.load(header)
                elif op == "forward" and "runs" in header:
                    reply, results = self.forward_runs(header, arrays, int(header["runs"]))
                elif op == "forward":
                    reply, results = self.forward(header, arrays)
                elif op == "backward":
                    reply, results = self.backward(header, arrays)
                elif op == "exit":
                    return 0
                else:
                    reply, results = {"ok": False, "error": f"unknown request {op!r}"}, ()
                # Results are encoded before the reply is sent, so an array np.save cannot write
                # fails the call rather than the frame.
                # (np.ascontiguousarray would turn a 0-d loss into shape (1,).)
                blobs = [(n, a if a.flags.c_contiguous else np.array(a, order="C")) for n, a in results]
            except _Reported as err:
                reply, blobs = {"ok": False, "error": str(err)}, []
            except MemoryError as err:
                reply, blobs = {"ok": False, "error": f"exceeded the memory limit of {self.memory_mb} MB ({_one_line(err)})"}, []
            reply["logs"] = self.output.drain()
            self.send(reply, blobs)


class _FakeModule:
    """Stands for a module that failed to import, so its frames are found by path."""

    def __init__(self, path):
        self.__file__ = path


_NPY_MAGIC = b"\x93NUMPY"


def _load_npy(blob):
    """An array from .npy bytes. cnn-check writes exactly numpy's format (version 1.0 or 2.0,
    C order, little-endian f8/f4), read here without np.load's literal_eval (70 us a call);
    anything else goes through np.load."""
    b = bytes(blob[:12])
    if b[:6] == _NPY_MAGIC and b[6] in (1, 2):
        start = 10 if b[6] == 1 else 12
        hlen = int.from_bytes(b[8:start], "little")
        header = bytes(blob[start : start + hlen]).decode("latin1")
        descr = header[header.index("'descr': '") + 10 :].split("'", 1)[0]
        fortran = "'fortran_order': True" in header
        dims = header[header.index("'shape': (") + 10 :].split(")", 1)[0]
        if descr in ("<f8", "<f4") and not fortran:
            shape = tuple(int(d) for d in dims.split(",") if d.strip())
            data = np.frombuffer(blob, dtype=descr, offset=start + hlen)
            return data.reshape(shape).copy()
    import io

    return np.load(io.BytesIO(bytes(blob)), allow_pickle=False)


def _save_npy(a):
    """.npy bytes of `a` (C order), as np.save writes them (version 1.0)."""
    if a.dtype.byteorder == ">" or not a.flags.c_contiguous:
        a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype)
    if a.dtype.hasobject:
        raise ValueError("object arrays cannot be sent")
    shape = "(" + "".join(f"{d}, " for d in a.shape)[:-2] + ("," if a.ndim == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (a.dtype.str, shape)
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * (pad if pad < 64 else 0) + "\n"
    if len(header) > 65535:
        import io

        buf = io.BytesIO()
        np.save(buf, a, allow_pickle=False)
        return buf.getvalue()
    return _NPY_MAGIC + b"\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1") + a.tobytes()


def _limit_memory(memory_mb):
    """Let the process grow by at most `memory_mb` MB of address space beyond what it uses
    now (Python and numpy loaded). Where the platform has no RLIMIT_AS, nothing is limited."""
    try:
        import resource
    except ImportError:
        return
    used = 0
    try:
        with open("/proc/self/statm") as fh:
            used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        pass
    limit = used + memory_mb * 1024 * 1024
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError, AttributeError):
        pass


def _open_channel(argv):
    """The request and reply file descriptors: `fifo DIR` (named pipes made here, replies last, so
    cnn-check opens them once both exist) or `fds IN OUT` (inherited descriptors)."""
    if argv[0] == "fifo":
        requests = os.path.join(argv[1], "requests")
        replies = os.path.join(argv[1], "replies")
        os.mkfifo(requests, 0o600)
        os.mkfifo(replies, 0o600)
        # The order cnn-check opens its ends in; each open waits for the other side.
        return os.open(requests, os.O_RDONLY), os.open(replies, os.O_WRONLY), argv[2:]
    return int(argv[1]), int(argv[2]), argv[3:]


def _die_with_parent():
    """On Linux, have the kernel kill this process when cnn-check's process ends (even by SIGKILL),
    so a call stuck in a loop never outlives it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        parent = os.getppid()
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(1)
    except Exception:  # noqa: BLE001 - best effort
        pass


def _bridge_main(argv):
    _die_with_parent()
    in_fd, out_fd, rest = _open_channel(argv)
    memory_mb = int(rest[0])
    # The script's own directory is not the user's: keep it from shadowing their modules.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    output = _Output()
    sys.stdout = output
    sys.stderr = output
    bridge = _Bridge(in_fd, out_fd, memory_mb, output)
    hello = {"ok": True, "python": sys.version.split()[0], "pid": os.getpid()}
    if np is None:
        try:
            import numpy  # noqa: F401 - to report why it failed
        except BaseException as err:  # noqa: BLE001
            bridge.send({"ok": False, "error": "numpy", "message": f"{type(err).__name__}: {_one_line(err)}", "python": hello["python"]})
            return 3
    hello["numpy"] = np.__version__
    _limit_memory(memory_mb)
    bridge.send(hello)
    return bridge.serve()


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "--bridge":
        sys.exit(_bridge_main(sys.argv[2:]))
    sys.stderr.write(
        "cnn_check.py is a library (import cnn_check) and the bridge cnn-check starts for --impl;\n"
        "check your layers with: npx cnn-check conv --impl cs231n/layers.py\n"
    )
    sys.exit(2)
