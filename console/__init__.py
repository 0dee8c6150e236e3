"""The console: the `faro` command, the counselor and supervisor windows and their
widgets, and the one bridge that brings core events onto the GUI thread."""
