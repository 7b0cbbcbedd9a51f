"""Errors a user can cause: the CLI prints them on one line and exits with status 2."""


class UserError(Exception):
    """Bad input or a missing optional part; the message names the file and the fix."""
