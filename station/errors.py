"""Errors a user sees as one line: what went wrong and which file, port or field."""


class StationError(Exception):
    """A problem with input, a device or a file, reported in one line without a traceback."""
