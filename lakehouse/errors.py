"""Errors of the lake core. Messages are in French: they reach agents and admins as-is."""


class LakehouseError(Exception):
    """Base class of every error raised by the lake core."""


class SettingsError(LakehouseError):
    """A setting is missing or wrong; ``variable`` names the environment variable to fix."""

    def __init__(self, variable: str, message: str):
        self.variable = variable
        super().__init__(f"{variable} : {message}")


class StorageError(LakehouseError):
    """The object store refused or could not be reached; ``variable`` names what to fix, if known."""

    def __init__(self, message: str, variable: str | None = None):
        self.variable = variable
        super().__init__(f"{variable} : {message}" if variable else message)


class ObjectNotFound(StorageError, FileNotFoundError):
    """The key does not exist in the lake."""
