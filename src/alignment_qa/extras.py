"""Import optional dependencies, or check that they are installed, with an error that names the extra to install.

Only the import (or the check) is done here; what the module is used for stays with the caller.
"""

import importlib
import importlib.util
from types import ModuleType

from alignment_qa.errors import MissingExtraError


def require_extra(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise ``MissingExtraError`` telling how to install ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise _missing(module, extra, purpose) from exc


def check_extra(module: str, extra: str, purpose: str) -> None:
    """Like ``require_extra``, without importing ``module`` (for one that is slow to import and used later)."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise _missing(module, extra, purpose)


def _missing(module: str, extra: str, purpose: str) -> MissingExtraError:
    return MissingExtraError(
        f"{purpose} needs the optional dependency '{module}', which is not installed. "
        f"Install it with: pip install 'alignment-qa[{extra}]'"
    )
