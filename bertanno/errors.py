"""The one exception type the command line turns into a sentence instead of a traceback."""


class BertannoError(Exception):
    """An error caused by input or environment, with a message written for the user."""

    exit_code = 1
