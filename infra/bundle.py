"""Build DIVA's Lambda code: pure-Python source with the import-name layout at the root.

    hub/  spoke/  diva_core/  contracts/  diva_runtime/  user_logic/   (from shared/* etc.)

Third-party dependencies (pydantic v2, Powertools) come from the AWS-published Powertools
layer, so the bundle holds our source only. Two outputs:

* a staged directory, used as a CDK asset by the stacks deployed once with bootstrap
  (the hub stack, the single stack);
* a deterministic zip (sorted entries, fixed timestamps and modes: the same tree gives the
  same bytes and SHA-256) for the StackSet spokes, whose code must sit in an S3 bucket in
  each target region. Copy it with, for every region R::

      python -m infra.bundle --zip dist/spoke.zip
      aws s3 cp dist/spoke.zip s3://<spoke_code_bucket_prefix>-R/<spoke_code_key> --region R
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

from diva_core.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
# Top-level packages shipped in the bundle, keyed by import name -> folder in the repo.
_TOP_LEVEL = ("hub", "spoke")
_SHARED = "shared"
_USER_LOGIC = "user_logic"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def source_tree(*, repo_root: Path = REPO_ROOT, event_logic_path: str | Path | None = None) -> dict[str, Path]:
    """Map import name -> source folder (or .py file) for everything the bundle contains."""
    tree: dict[str, Path] = {}
    for name in _TOP_LEVEL:
        tree[name] = repo_root / name
    shared = repo_root / _SHARED
    if shared.is_dir():
        for package in sorted(shared.iterdir()):
            if (package / "__init__.py").is_file():
                tree[package.name] = package
    if event_logic_path is not None:
        user = Path(event_logic_path).resolve()
        if not user.exists():
            raise ConfigError([f"event_logic_path: {user} does not exist"])
        name = user.stem if user.is_file() else user.name
        if name in tree:
            raise ConfigError([f"event_logic_path: {name!r} would replace DIVA's own package of that name "
                               "in the bundle; rename the file or folder"])
        tree[name] = user
    else:
        tree[_USER_LOGIC] = repo_root / _USER_LOGIC
    missing = [str(path) for path in tree.values() if not path.exists()]
    if missing:
        raise FileNotFoundError(f"cannot bundle DIVA code, missing: {', '.join(missing)}")
    return tree


def check_events_module(module: str, tree: dict[str, Path]) -> None:
    """Fail synth, naming the field, if the functions would import a module the bundle lacks
    (every tick would fail with ModuleNotFoundError)."""
    top, *rest = module.split(".")
    source = tree.get(top)
    found = source is not None and (
        not rest if source.is_file()
        else (source.joinpath(*rest).with_suffix(".py").is_file() or source.joinpath(*rest, "__init__.py").is_file())
    )
    if not found:
        raise ConfigError([f"events_module: {module!r} is not in the Lambda bundle (top-level modules: "
                           f"{', '.join(sorted(tree))}); set events_module to the module that defines "
                           "get_events(), or event_logic_path to its file"])


def _files(tree: dict[str, Path]) -> Iterator[tuple[str, Path]]:
    """(archive name, source file) pairs, sorted, without caches or compiled files."""
    entries: list[tuple[str, Path]] = []
    for name, source in tree.items():
        if source.is_file():
            entries.append((f"{name}.py" if source.suffix == ".py" else name, source))
            continue
        for path in source.rglob("*"):
            relative = path.relative_to(source)
            if path.is_dir() or _SKIP_DIRS.intersection(relative.parts) or path.suffix in _SKIP_SUFFIXES:
                continue
            entries.append(((Path(name) / relative).as_posix(), path))
    yield from sorted(entries)


def stage(dest: str | Path, *, events_module: str | None = None, **tree_options) -> Path:
    """Copy the bundle into `dest` (emptied first), ready for lambda.Code.from_asset.
    With `events_module`, first check that the bundle contains it."""
    tree = source_tree(**tree_options)
    if events_module is not None:
        check_events_module(events_module, tree)
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for archive_name, source in _files(tree):
        target = dest / archive_name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return dest


def build_zip(dest: str | Path, **tree_options) -> str:
    """Write the deterministic zip to `dest`; return its SHA-256 (hex)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for archive_name, source in _files(source_tree(**tree_options)):
            info = zipfile.ZipInfo(archive_name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 & 0xFFFF) << 16  # regular file, rw-r--r--
            info.create_system = 3  # unix, so the mode above is honoured on every host
            archive.writestr(info, source.read_bytes())
    return hashlib.sha256(dest.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.bundle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--zip", dest="zip_path", default="dist/spoke.zip", help="zip to write")
    parser.add_argument("--stage", dest="stage_dir", help="also stage the tree into this directory")
    parser.add_argument("--event-logic-path", help="bundle this file/package instead of user_logic/")
    args = parser.parse_args(argv)
    options = {"event_logic_path": args.event_logic_path}
    digest = build_zip(args.zip_path, **options)
    if args.stage_dir:
        stage(args.stage_dir, **options)
    print(f"{args.zip_path} sha256={digest}")
    print("copy it to every spoke region R: aws s3 cp "
          f"{args.zip_path} s3://<spoke_code_bucket_prefix>-R/<spoke_code_key> --region R")
    return 0


if __name__ == "__main__":
    sys.exit(main())
