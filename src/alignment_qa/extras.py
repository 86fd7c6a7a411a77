"""Import optional dependencies with an error that names the extra to install.

Only the import is done here; what the module is used for stays with the caller.
"""

import importlib
from types import ModuleType

from alignment_qa.errors import MissingExtraError


def require_extra(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise ``MissingExtraError`` telling how to install ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{purpose} needs the optional dependency '{module}', which is not installed. "
            f"Install it with: pip install 'alignment-qa[{extra}]'"
        ) from exc
