"""The one exception type for bad user input."""


class InputError(ValueError):
    """Bad input from a user: a file, a parameter or an array that cannot be used.

    The message is one line that names the file or key and says what is wrong; the
    command-line interface prints it as it is and exits with status 2. It is raised
    before any output is written.
    """
