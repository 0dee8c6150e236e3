"""When the counselor counts as active, for the idle lock (security is core policy; the GUI
only reports what happened).

The idle lock (``security.lock_idle_minutes``) locks the case notes when the counselor has
done nothing for a while. Two things count as doing something:

- input: any key or click in the console;
- being on a call (on call or on hold): a counselor listening to a caller touches nothing
  for minutes and is not idle.

:class:`Activity` holds that policy; the console tells it about input and, on its UI timer,
whether a call is in progress, and it pushes the idle lock back through ``touch``.
"""

from __future__ import annotations

from collections.abc import Callable


class Activity:
    """The idle-lock policy, fed by the console; ``touch`` pushes the idle lock back (None
    when there is nothing to lock, e.g. a build without a case store)."""

    def __init__(self, touch: Callable[[], None] | None) -> None:
        self._touch = touch

    def input(self) -> None:
        """A key or a click."""
        if self._touch is not None:
            self._touch()

    def tick(self, in_call: bool) -> None:
        """Called on a regular timer (well under a minute apart): a call in progress is
        activity, so the lock never closes the notes during a call."""
        if in_call and self._touch is not None:
            self._touch()
