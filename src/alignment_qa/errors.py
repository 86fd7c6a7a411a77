"""The error tree of the core.

Core code raises these; only the edges (CLI, UI, bot) turn them into friendly messages.
Anything else that escapes is a bug and may show a traceback.
"""


class AlignmentQAError(Exception):
    """Base class of every error meant for a user: the message says what to do."""


class ConfigError(AlignmentQAError):
    """A setting, config file or environment variable is invalid."""


class MissingExtraError(AlignmentQAError):
    """An optional dependency group (extra) is not installed."""


class IndexMismatchError(AlignmentQAError):
    """The index was built with another embedding model or chunker than the one configured."""


class StoreUnavailableError(AlignmentQAError):
    """The store (Chroma) cannot be opened, reached or read."""


class ModelLoadError(AlignmentQAError):
    """A model (embedding, reranker, judge or GGUF) cannot be found or loaded."""


class InputPathError(AlignmentQAError):
    """A path given on the command line does not exist or cannot be used."""


class InvalidQuestionError(AlignmentQAError):
    """A question is empty, too long or asks for impossible settings."""


class NoIndexError(AlignmentQAError):
    """There is no index to answer from yet."""
