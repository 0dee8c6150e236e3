"""Drives ``faro demo``'s chat line in this process (run as a child by
tests/console/test_demo_chat.py): the demo with no call for an hour, the person at a fast pace;
the offer is accepted with F5 as a counselor would, the counselor answers (a typed line and a
canned response), and what each side saw is printed as one JSON line at the end.

    python tests/support/demo_chat_driver.py SCENARIO.toml PACE SECONDS
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

REPLY = "Te leo. Aquí estoy contigo, escribe a tu ritmo."


def main(scenario: str, pace: float, seconds: float) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from console.commands.demo import run_demo

    seen: dict[str, Any] = {"steps": []}
    state: dict[str, Any] = {"step": "offer", "t0": time.monotonic()}

    def step(name: str) -> None:
        seen["steps"].append((name, round(time.monotonic() - state["t0"], 1)))
        state["step"] = name

    def shown(parts: Any) -> None:
        window, sup = parts.window, parts.supervisor
        panel = window.chat
        seen["chat_panel"] = panel is not None
        seen["chat_line"] = parts.chat is not None
        timer = QTimer()
        state["timer"] = timer
        agent = sup.session.service("escalation").supervisor

        def tick() -> None:
            if panel is None or parts.chat is None:
                QApplication.instance().quit()
                return
            person = parts.chat.person
            queue = agent.chat_queue.summary()
            seen["max_waiting"] = max(seen.get("max_waiting", 0), queue[0])
            seen["max_open"] = max(seen.get("max_open", 0), queue[1])
            if sup.window.chat_queue.isVisible():
                seen["sup_label"] = sup.window.chat_queue.text()
            s = state["step"]
            if s in ("replied", "answered"):  # a chat in progress keeps calls from ringing
                seen["call_panel"] = window.state_label.text()
                seen["chip"] = window.status_area.availability.text()
                row = agent.board.counselors.get("demo-counselor")
                seen.setdefault("board_statuses", []).append(row.status if row else None)
            if s == "offer" and panel.banner.isVisible():
                seen["banner"] = panel.banner.label.text()
                window.shortcut_actions["F5"].trigger()  # the console's own accept key
                step("accepted")
            elif s == "accepted" and panel.current is not None and panel.current.view.count() >= 2:
                seen["first_lines"] = [panel.current.view.item(i).text() for i in range(2)]
                panel.composer.setPlainText(REPLY)
                panel.send_composer()
                step("replied")
            elif s == "replied" and REPLY in person.heard and panel.current.view.count() >= 4:
                view = panel.current.view
                seen["after_reply"] = [view.item(i).text() for i in range(view.count())]
                seen["person_said"] = len(person.said)
                step("answered")
            elif s == "answered":
                view = panel.current.view
                texts = [view.item(i).text() for i in range(view.count())]
                mine = [t for t in texts if REPLY in t]
                if mine and "✓✓" in mine[0]:
                    seen["reply_line"] = mine[0]
                    # a canned response, through the console: into the composer, then sent
                    panel.canned_box.activated.emit(1)
                    seen["canned_text"] = panel.composer.toPlainText()
                    panel.send_composer()
                    state["answered_n"] = view.count()
                    step("canned")
            elif s == "canned" and panel.current is not None:
                view = panel.current.view
                if panel.wrap.isVisible():  # the person said goodbye and left: the wrap-up
                    seen["lines"] = view.count()
                    seen["person_said"] = len(person.said)
                    seen["heard"] = len(person.heard)
                    seen["ended_text"] = panel.ended.text()
                    panel.disposition.setCurrentIndex(1)
                    window.shortcut_actions["F9"].trigger()
                    step("wrap_up")
                elif view.count() > state["answered_n"] and view.item(
                    view.count() - 1
                ).text().startswith(view.item(0).text().split(" · ")[0]):
                    state["answered_n"] = view.count() + 1
                    panel.send_text("Gracias por contarme.")
            elif s == "wrap_up" and panel.current is None:
                seen["phase"] = person.phase
                now = sup.session.clock.now()
                hour = agent.callbacks.service_level.hour(now, "chat")
                seen["sup_answered"] = hour.answered
                if hour.answered >= 1:
                    # the account's password is in the encrypted store only: no file has it
                    secret = parts.chat.password.encode()
                    seen["password_in_clear"] = [
                        str(f)
                        for f in parts.home.rglob("*")
                        if f.is_file() and secret in f.read_bytes()
                    ]
                    step("done")
                    QTimer.singleShot(300, QApplication.instance().quit)
            if panel.typing_label.isVisible() and panel.typing_label.text():
                seen["typing_seen"] = True
                seen["typing_text"] = panel.typing_label.text()
            seen["elapsed_s"] = round(time.monotonic() - state["t0"], 1)

        timer.timeout.connect(tick)
        timer.start(100)

    code = run_demo(scenario, quit_after_s=seconds, on_shown=shown, chat_pace=pace)
    seen["exit"] = code
    print(json.dumps(seen, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3])))
