"""Import PyTorch for the benchmark scripts: normally when it is installed for this Python, else from
Debian's /usr/lib/python3/dist-packages (`apt-get install python3-torch`), appended to the END of
sys.path so this Python's own numpy stays first. Debian's torch is built against numpy 1.x; with
numpy 2 its numpy bridge is off (a warning and a traceback on import, silenced here), which the
benchmarks do not need: their torch inputs are made in torch."""
import os
import sys
import warnings

DEBIAN_PATH = "/usr/lib/python3/dist-packages"


def import_torch(path=DEBIAN_PATH, threads=None):
    """(torch, where it came from), or (None, why not)."""
    try:
        import torch  # noqa: F401
        if threads:
            torch.set_num_threads(threads)
        return torch, "installed"
    except ImportError:
        pass
    if not path or not os.path.isdir(os.path.join(path, "torch")):
        return None, f"not importable (none in {path} either)"
    sys.path.append(path)
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import torch
                if threads:
                    torch.set_num_threads(threads)
                torch.zeros(1) + 1  # first use: torch reports its numpy bridge here
    except ImportError as err:
        return None, f"not importable from {path}: {err}"
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return torch, f"from {path}"


def torch_blas(torch):
    """The BLAS torch was built with (its float64 conv runs on it; float32 conv on oneDNN)."""
    try:
        cfg = torch.__config__.show()
        blas = [part.split("=", 1)[1] for part in cfg.replace(",", " ").split() if part.startswith("BLAS_INFO=")]
        return blas[0] if blas else "unknown"
    except Exception:
        return "unknown"
