"""Load the user's events: a package, a `user_logic.py` / `event_logic.py` file, or a module.

Seed and upstream files run unchanged: they only need a `get_events()` function.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from contracts.options import EventOptions, parse_events
from diva_core.errors import ConfigError

CANDIDATE_FILES = ("user_logic.py", "event_logic.py")


def _load_file(path: Path) -> ModuleType:
    module_name = f"diva_user_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError([f"cannot load events from {path}"])
    module = importlib.util.module_from_spec(spec)
    # Let the user's file import its neighbours, as it would inside the Lambda package.
    folder = str(path.parent.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def load_module(source: str) -> ModuleType:
    path = Path(source)
    try:
        if path.is_dir():
            if (path / "__init__.py").exists():
                parent = str(path.resolve().parent)
                if parent not in sys.path:
                    sys.path.insert(0, parent)
                return importlib.import_module(path.resolve().name)
            for candidate in CANDIDATE_FILES:
                if (path / candidate).exists():
                    return _load_file(path / candidate)
            raise ConfigError([f"--events {source}: no __init__.py, user_logic.py or event_logic.py in that folder"])
        if path.suffix == ".py":
            if not path.exists():
                raise ConfigError([f"--events {source}: file not found"])
            return _load_file(path)
        return importlib.import_module(source)
    except ConfigError:
        raise
    except ModuleNotFoundError as exc:
        raise ConfigError([f"--events {source}: cannot import it ({exc})"]) from exc
    except Exception as exc:  # the user's module failed while importing
        raise ConfigError([f"--events {source}: importing it raised {type(exc).__name__}: {exc}"]) from exc


def load_events(source: str) -> dict[str, EventOptions]:
    module = load_module(source)
    get_events = getattr(module, "get_events", None)
    if not callable(get_events):
        raise ConfigError([f"--events {source}: defines no get_events() function"])
    try:
        raw: Any = get_events()
    except Exception as exc:
        raise ConfigError([f"--events {source}: get_events() raised {type(exc).__name__}: {exc}"]) from exc
    return parse_events(raw)
