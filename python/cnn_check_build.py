"""A PEP 517 build backend using only the standard library, so ``pip install ./python`` needs
nothing from a package index (setuptools builds wheels only with the ``wheel`` package, which a
fresh virtualenv lacks). It builds one pure-Python wheel of the modules in MODULES, an editable
install (``pip install -e ./python``) and an sdist, with the metadata of pyproject.toml's
[project] table (name, version, description, requires-python, dependencies, readme)."""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = ["cnn_check.py", "cnn_check_fixture.py"]
SDIST_FILES = MODULES + ["cnn_check_build.py", "pyproject.toml", "README.md"]


def _project():
    """[project] of pyproject.toml: the string values and the dependency list (a small parser for
    this one file, since tomllib is Python 3.11+)."""
    with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as fh:
        text = fh.read()
    table = text.split("[project]", 1)[1].split("\n[", 1)[0]
    meta = dict(re.findall(r'^([\w-]+)\s*=\s*"([^"]*)"', table, re.M))
    deps = re.search(r"^dependencies\s*=\s*\[([^\]]*)\]", table, re.M)
    meta["dependencies"] = re.findall(r'"([^"]+)"', deps.group(1)) if deps else []
    return meta


def _dist_name(meta):
    return re.sub(r"[-_.]+", "_", meta["name"]).lower()


def _metadata(meta):
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {meta['name']}",
        f"Version: {meta['version']}",
        f"Summary: {meta.get('description', '')}",
    ]
    if "requires-python" in meta:
        lines.append(f"Requires-Python: {meta['requires-python']}")
    lines += [f"Requires-Dist: {d}" for d in meta["dependencies"]]
    readme = meta.get("readme")
    body = ""
    if readme and os.path.exists(os.path.join(HERE, readme)):
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(HERE, readme), encoding="utf-8") as fh:
            body = "\n" + fh.read()
    return ("\n".join(lines) + "\n" + body).encode("utf-8")


def _wheel(directory, files):
    meta = _project()
    name = _dist_name(meta)
    info = f"{name}-{meta['version']}.dist-info"
    filename = f"{name}-{meta['version']}-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(os.path.join(directory, filename), "w", zipfile.ZIP_DEFLATED) as zf:

        def add(arcname, data):
            zf.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            records.append(f"{arcname},sha256={digest},{len(data)}")

        for arcname, data in files:
            add(arcname, data)
        add(f"{info}/METADATA", _metadata(meta))
        add(f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: cnn_check_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        records.append(f"{info}/RECORD,,")
        zf.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
    return filename


def _read(name):
    with open(os.path.join(HERE, name), "rb") as fh:
        return fh.read()


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, [(m, _read(m)) for m in MODULES])


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """A wheel holding a .pth file that puts this directory on sys.path."""
    return _wheel(wheel_directory, [("cnn_check.pth", (HERE + "\n").encode("utf-8"))])


def build_sdist(sdist_directory, config_settings=None):
    meta = _project()
    base = f"{_dist_name(meta)}-{meta['version']}"
    filename = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as tf:

        def add(arcname, data):
            ti = tarfile.TarInfo(f"{base}/{arcname}")
            ti.size = len(data)
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data))

        for name in SDIST_FILES:
            add(name, _read(name))
        add("PKG-INFO", _metadata(meta))
    return filename
