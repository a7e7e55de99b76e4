"""The one error type an input reader raises: the whole input is refused, for a French reason.

Readers convert every library exception (decoding, JSON, XML, zip, openpyxl, pyshp,
recursion, overflow, a limit of :class:`~lakehouse.settings.LimitsSettings` exceeded) into
:class:`InputRejected` or a subclass; the runner quarantines the file with that reason.
"""

from __future__ import annotations


class InputRejected(ValueError):
    """The whole input (file, document, payload) is refused; the message, in French, names it."""


class FormatError(InputRejected):
    """The whole file cannot be read as the expected format."""
