"""Run by the system's Python (it has pyatspi, the AT-SPI client Orca itself uses): wait for
an application named Faro on the accessibility bus and print its tree as JSON lines
(depth, role, name, states), as a screen reader would meet it.

    python3 tests/support/atspi_probe.py [SECONDS]
"""

import json
import sys
import time

import pyatspi


def walk(node, depth, out):
    try:
        states = node.getState()
        out.append(
            {
                "depth": depth,
                "role": node.getRoleName(),
                "name": node.name,
                "showing": states.contains(pyatspi.STATE_SHOWING),
                "focusable": states.contains(pyatspi.STATE_FOCUSABLE),
            }
        )
        for i in range(node.childCount):
            walk(node.getChildAtIndex(i), depth + 1, out)
    except Exception:  # a node that went away while walking
        pass


def main() -> int:
    deadline = time.monotonic() + float(sys.argv[1] if len(sys.argv) > 1 else 20)
    while time.monotonic() < deadline:
        desktop = pyatspi.Registry.getDesktop(0)
        for i in range(desktop.childCount):
            app = desktop.getChildAtIndex(i)
            if app is not None and app.name == "Faro":
                frames = [app.getChildAtIndex(k) for k in range(app.childCount)]
                if any(f is not None and "counselor" in (f.name or "") for f in frames):
                    time.sleep(1.0)  # the window's panels are built
                    out = []
                    walk(app, 0, out)
                    for row in out:
                        print(json.dumps(row))
                    return 0
        time.sleep(0.5)
    print(json.dumps({"error": "no Faro application on the accessibility bus"}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
