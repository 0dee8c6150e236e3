"""The router against a real Prosody with real slixmpp peers (docs/chat.md "Routing")."""

from __future__ import annotations

import time

from chat import protocol as p
from tests.support.chat_peers import CounselorPeer, GuestPeer, RouterThread
from tests.support.escalation_proxy import Relay


def test_a_chat_is_queued_offered_accepted_and_relayed_both_ways(server, router, peers, hooks):
    guest = GuestPeer(peers, server).connect().hello()
    st = guest.expect("state", state="waiting")
    assert st["position"] == "1"
    alba = CounselorPeer(peers, server, "c-alba", "pw-alba").connect().ready(capacity=2)
    offer = alba.expect("offer")
    chat = offer["chat"]
    assert offer["lang"] == "es" and float(offer["expires_s"]) > 0
    alba.accept(chat)
    alba.expect("assigned", chat=chat)
    guest.expect("state", state="connected")
    assert hooks.of("answered") == [chat]
    mid = guest.say("hola, <b>necesito</b> hablar https://example.org")
    got = alba.expect("msg", chat=chat, mid=mid)
    assert got.body == "hola, <b>necesito</b> hablar https://example.org"
    assert got["seq"] == "1" and got["at"].endswith("Z")
    guest.expect("receipt", mid=mid)  # only once the console said received
    alba.read(chat, mid)
    guest.expect("displayed", mid=mid)
    alba.typing(chat, True)
    guest.expect("typing", state="composing")
    guest.typing(True)
    alba.expect("typing", chat=chat, state="composing")
    out = alba.say(chat, "Aquí estoy. ¿Estás a salvo para seguir escribiendo?")
    back = guest.expect("msg", mid=out)
    assert back.body.startswith("Aquí estoy")
    alba.expect("received", chat=chat, mid=out)
    guest.read(out)
    alba.expect("read", chat=chat, mid=out)
    alba.end(chat)
    guest.expect("state", state="closed", reason="by_counselor")
    alba.expect("ended", chat=chat, reason="by_counselor")
    assert router.snapshot()["chats"] == 0 and router.snapshot()["held"] == 0


def _connected(server, peers, counselor="c-alba", capacity=2, guest=None):
    guest = guest or GuestPeer(peers, server).connect().hello()
    c = CounselorPeer(peers, server, counselor, f"pw-{counselor[2:]}").connect().ready(capacity)
    chat = c.expect("offer")["chat"]
    c.accept(chat)
    c.expect("assigned", chat=chat)
    guest.expect("state", state="connected")
    return guest, c, chat


def _first_offer(*counselors, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for c in counselors:
            got = c.taken("offer")
            if got:
                return c, got
        time.sleep(0.05)
    raise TimeoutError("no offer")


def test_offers_go_to_one_counselor_at_a_time_decline_and_timeout_pass_it_on(server, peers, hooks):
    with RouterThread(server, hooks, offer_timeout_s=1.5, alert_after_s=600):
        alba = CounselorPeer(peers, server, "c-alba", "pw-alba").connect().ready(2)
        beto = CounselorPeer(peers, server, "c-beto", "pw-beto").connect().ready(2)
        guest = GuestPeer(peers, server).connect().hello()
        first, offers = _first_offer(alba, beto)
        other = beto if first is alba else alba
        assert len(offers) == 1
        chat = offers[0]["chat"]
        assert other.none("offer", wait=0.3)
        first.decline(chat)  # declined: the other one
        assert other.expect("offer")["chat"] == chat
        # no answer within the offer time: withdrawn, and back to the first (everyone was
        # offered it: an alert)
        other.expect("withdrawn", chat=chat, reason="expired", timeout=5)
        assert hooks.of("alert") == [chat]
        first.expect("offer", chat=chat, timeout=5)
        first.accept(chat)
        first.expect("assigned", chat=chat)
        guest.expect("state", state="connected")
        other.accept(chat)  # too late
        other.expect("withdrawn", chat=chat, reason="taken")


def test_fewest_open_chats_first_and_the_queue_is_fifo_with_positions(server, router, peers):
    alba = CounselorPeer(peers, server, "c-alba", "pw-alba").connect().ready(3)
    g1 = GuestPeer(peers, server).connect().hello()
    chat1 = alba.expect("offer")["chat"]
    alba.accept(chat1)
    g1.expect("state", state="connected")
    alba.ready(3, busy=True)  # on a phone call: no offers
    g2 = GuestPeer(peers, server).connect().hello()
    g3 = GuestPeer(peers, server).connect().hello()
    g2.expect("state", state="waiting", position="1")
    g3.expect("state", state="waiting", position="2")
    assert alba.none("offer", wait=0.5)
    beto = CounselorPeer(peers, server, "c-beto", "pw-beto").connect().ready(3)
    offer = beto.expect("offer")  # the head of the queue
    beto.accept(offer["chat"])
    g2.expect("state", state="connected")
    g3.expect("state", state="waiting", position="1")
    chat3 = beto.expect("offer")["chat"]
    beto.accept(chat3)
    g3.expect("state", state="connected")
    alba.ready(3, busy=False)
    time.sleep(0.5)
    # alba has one open chat, beto two: a new chat goes to alba
    GuestPeer(peers, server).connect().hello()
    alba.expect("offer")
    assert beto.none("offer", wait=0.3)


def test_a_person_who_leaves_before_an_answer_is_abandoned(server, router, peers, hooks):
    g = GuestPeer(peers, server).connect().hello()
    g.expect("state", state="waiting")
    g.bye()
    g.expect("state", state="closed", reason="by_person")
    g2 = GuestPeer(peers, server).connect().hello()
    g2.expect("state", state="waiting")
    g2.kill()  # tab closed without a goodbye: abandoned after the grace time
    deadline = time.monotonic() + 15
    while len(hooks.of("abandoned")) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(hooks.of("abandoned")) == 2
    assert router.snapshot()["chats"] == 0


def test_bye_during_a_chat_ends_it_for_the_counselor(server, router, peers):
    guest, alba, chat = _connected(server, peers)
    guest.bye("quick_exit")
    alba.expect("ended", chat=chat, reason="quick_exit")


def test_server_restart_mid_conversation_loses_nothing_and_duplicates_nothing(
    server, router, peers
):
    guest, alba, chat = _connected(server, peers)
    first_jid = guest.jid_text
    sent_in = [guest.say(f"antes {i}") for i in range(3)]
    sent_out = [alba.say(chat, f"respuesta {i}") for i in range(3)]
    for mid in sent_in:
        alba.expect("msg", mid=mid)
    for mid in sent_out:
        guest.expect("msg", mid=mid)
    # receipts of the last ones may or may not have made it before the restart
    server.stop()
    # written while the server is down: kept by their senders, resent with the same ids
    down_in = [guest.say(f"durante {i}") for i in range(3)]
    down_out = [alba.say(chat, f"mientras {i}") for i in range(3)]
    server.start()
    router.wait_online()
    guest.wait_online()
    alba.wait_online()
    assert guest.jid_text != first_jid  # a new anonymous JID, the same session
    for mid in down_in:
        alba.expect("msg", mid=mid, timeout=20)
    for mid in down_out:
        guest.expect("msg", mid=mid, timeout=20)
    after = guest.say("después")
    alba.expect("msg", mid=after, timeout=20)
    guest.expect("receipt", mid=after, timeout=20)
    for mid in down_out:
        alba.expect("received", mid=mid, timeout=20)
    time.sleep(0.5)
    # nothing twice in either inbox, and in each sender's order
    assert not alba.taken("msg") and not guest.taken("msg")
    assert not guest.outbox and not alba.outbox
    assert router.snapshot()["held"] == 0
    assert router.snapshot()["connected"] == 1  # the same chat, not reassigned


def test_order_is_kept_by_seq(server, router, peers):
    guest, alba, chat = _connected(server, peers)
    mids = [guest.say(f"m{i}") for i in range(8)]
    got = [alba.expect("msg", mid=m) for m in mids]
    assert [int(g["seq"]) for g in got] == sorted(int(g["seq"]) for g in got)
    assert [g.body for g in got] == [f"m{i}" for i in range(8)]


def test_a_counselors_console_killed_mid_chat_reassigns_without_history(server, router, peers):
    guest, alba, chat = _connected(server, peers)
    mid = guest.say("lo que ya leyó")
    alba.expect("msg", mid=mid)
    guest.expect("receipt", mid=mid)
    beto = CounselorPeer(peers, server, "c-beto", "pw-beto").connect().ready(2)
    alba.kill()
    guest.expect("state", state="reassigning", reason="counselor_lost", timeout=15)
    offer = beto.expect("offer", chat=chat, timeout=15)
    pending = guest.say("¿sigues ahí?")  # written while nobody has the chat
    beto.accept(offer["chat"])
    beto.expect("assigned", chat=chat)
    guest.expect("state", state="connected")
    got = beto.expect("msg", chat=chat)
    assert got["mid"] == pending  # only what was never receipted; no history
    assert beto.none("msg", wait=0.5)


def test_a_flood_from_one_person_is_refused_too_fast_and_the_router_answers(server, peers):
    with RouterThread(server, burst=5, rate_per_min=6) as router:
        guest, alba, chat = _connected(server, peers)
        mids = [guest.say(f"flood {i}") for i in range(12)]
        refused = [guest.expect("refused", reason="too_fast") for _ in range(6)]
        assert {r["mid"] for r in refused} <= set(mids[5:])
        for mid in mids[:5]:
            alba.expect("msg", mid=mid)
        # the router still answers another chat at once
        other = GuestPeer(peers, server).connect().hello()
        other.expect("state", state="waiting")
        assert router.snapshot()["refused"] >= 6


def test_a_flood_of_new_chats_meets_the_queue_limit(server, peers):
    with RouterThread(server, queue_limit=5):
        guests = [GuestPeer(peers, server).connect().hello() for _ in range(8)]
        states = [g.expect("state") for g in guests]
        closed = [s for s in states if s["state"] == "closed"]
        assert len(closed) == 3 and {s["reason"] for s in closed} == {"queue_full"}
        t0 = time.monotonic()
        alba = CounselorPeer(peers, server, "c-alba", "pw-alba").connect().ready(1)
        alba.expect("offer")
        assert time.monotonic() - t0 < 15


def test_oversized_or_binary_messages_are_refused_whole_and_not_relayed(server, router, peers):
    guest, alba, chat = _connected(server, peers)
    long = "a" * (p.MAX_BODY + 1)
    guest.say_raw(long, "mid-long")
    guest.expect("refused", mid="mid-long", reason="too_long")
    # C1 controls (a binary payload that XML still carries; C0 ones other than tab and
    # newline cannot travel in XML at all: Prosody closes such a stream)
    guest.say_raw("bin\x7f\x85\x9bary", "mid-bin")
    guest.expect("refused", mid="mid-bin", reason="not_text")
    mid = alba.say(chat, "b" * (p.MAX_BODY + 5))
    alba.expect("refused", mid=mid, reason="too_long")
    ok = guest.say("<script>alert(1)</script> & https://x.test/?a=1")
    got = alba.expect("msg", mid=ok)
    assert got.body == "<script>alert(1)</script> & https://x.test/?a=1"
    assert alba.none("msg", wait=0.3) and guest.none("msg", wait=0.1)


def test_two_tabs_of_one_session_the_newer_takes_over(server, router, peers):
    tab1, alba, chat = _connected(server, peers)
    tab2 = GuestPeer(peers, server, session=tab1.session).connect().hello()
    tab1.expect("state", state="elsewhere")
    tab2.expect("state", state="connected")
    out = alba.say(chat, "hola")
    tab2.expect("msg", mid=out)
    assert tab1.none("msg", wait=0.3)
    mid = tab2.say("desde la otra pestaña")
    alba.expect("msg", mid=mid)


def test_nothing_but_account_files_is_stored_after_a_conversation(server, router, peers):
    guest, alba, chat = _connected(server, peers)
    for i in range(3):
        alba.expect("msg", mid=guest.say(f"secreto {i} palabra-clave-unica"))
        guest.expect("msg", mid=alba.say(chat, f"respuesta {i} otra-clave-unica"))
    alba.end(chat)
    guest.expect("state", state="closed")
    alba.close()
    guest.close()
    time.sleep(0.5)
    data = server.workdir / "data"
    files = sorted(str(f.relative_to(data)) for f in data.rglob("*") if f.is_file())
    assert all("/accounts/" in f or f.endswith("prosody.pid") for f in files), files
    for f in data.rglob("*"):
        if f.is_file():
            assert b"clave-unica" not in f.read_bytes()
    assert b"clave-unica" not in (server.workdir / "prosody.log").read_bytes()


def test_router_settings_come_from_toml_and_a_private_secret_file(tmp_path):
    import pytest

    from chat.router import load_settings
    from core.errors import ConfigError

    secret = tmp_path / "router.secret"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    conf = tmp_path / "router.toml"
    conf.write_text(
        '[router]\ndomain = "chat.example.org"\nsecret_file = "router.secret"\n'
        "offer_timeout_s = 20\nqueue_limit = 50\n"
    )
    s = load_settings(conf)
    assert s.secret == "s3cret" and s.offer_timeout_s == 20.0 and s.queue_limit == 50
    assert s.jid == "router.chat.example.org" and "s3cret" not in repr(s)
    secret.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_settings(conf)
    secret.chmod(0o600)
    conf.write_text('[router]\ndomain = "d"\nsecret_file = "router.secret"\nsecret = "x"\n')
    with pytest.raises(ConfigError, match="secret_file"):
        load_settings(conf)
    conf.write_text('[router]\ndomain = "d"\nsecret_file = "router.secret"\nqueue = 3\n')
    with pytest.raises(ConfigError, match="Unknown"):
        load_settings(conf)


def test_a_router_setting_of_the_wrong_type_is_named(tmp_path):
    import pytest

    from chat.router import load_settings
    from core.errors import ConfigError

    secret = tmp_path / "s"
    secret.write_text("x")
    secret.chmod(0o600)
    conf = tmp_path / "r.toml"
    conf.write_text('[router]\ndomain = "d"\nsecret_file = "s"\noffer_timeout_s = "soon"\n')
    with pytest.raises(ConfigError, match="offer_timeout_s"):
        load_settings(conf)


def test_a_ready_that_crosses_an_accept_does_not_take_the_chat_away(server, router, peers):
    guest = GuestPeer(peers, server).connect().hello()
    guest.expect("state", state="waiting")
    alba = CounselorPeer(peers, server, "c-alba", "pw-alba").connect().ready(2)
    chat = alba.expect("offer")["chat"]
    alba.accept(chat)
    alba.ready(2, busy=True)  # sent before ``assigned`` arrived: it does not list the chat
    alba.expect("assigned", chat=chat)
    guest.expect("state", state="connected")
    assert guest.none("state", wait=0.5)  # no "reassigning"
    mid = guest.say("sigo aquí")
    alba.expect("msg", mid=mid)


def test_a_chat_waiting_longer_than_the_threshold_raises_one_alert(server, peers, hooks):
    with RouterThread(server, hooks, alert_after_s=1.0):
        guest = GuestPeer(peers, server).connect().hello()
        guest.expect("state", state="waiting")
        deadline = time.monotonic() + 10
        while not hooks.of("alert") and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)
        assert len(hooks.of("alert")) == 1
        waited = [w for k, _c, w in hooks.calls if k == "alert"][0]
        assert waited >= 1.0


def test_server_config_command_writes_what_the_tests_run(tmp_path, capsys):
    from console.cli import main

    secret = tmp_path / "router.secret"
    secret.write_text("abc123\n")
    secret.chmod(0o600)
    out = tmp_path / "prosody.cfg.lua"
    args = ["chat", "server-config", "--domain", "chat.example.org", "--cert", "c.pem"]
    args += ["--key", "k.pem", "--secret-file", str(secret), "--out", str(out)]
    assert main(args) == 0
    text = out.read_text()
    assert 'component_secret = "abc123"' in text and '"mam"' in text
    assert oct(out.stat().st_mode & 0o777) == "0o640"
    secret.chmod(0o644)
    assert main(args) == 78  # a secret others may read is refused
    assert "chmod 600" in capsys.readouterr().err


def test_an_offer_is_withdrawn_when_the_counselor_becomes_busy(server, router, peers):
    """A call starts ringing while a chat is offered: the offer goes to the next counselor at
    once, and back to the first, untried, when they are free again."""
    guest = GuestPeer(peers, server).connect().hello()
    guest.expect("state", state="waiting")
    alba = CounselorPeer(peers, server, "c-alba", "pw-alba").connect().ready(capacity=1)
    chat = alba.expect("offer")["chat"]
    alba.ready(capacity=1, busy=True)  # her phone rings
    alba.expect("withdrawn", chat=chat, reason="busy")
    beto = CounselorPeer(peers, server, "c-beto", "pw-beto").connect().ready(capacity=1)
    assert beto.expect("offer")["chat"] == chat
    beto.decline(chat)
    alba.ready(capacity=1, busy=False)  # the call ended: she may be offered it again
    assert alba.expect("offer", chat=chat)["chat"] == chat


def test_a_stream_dropped_before_the_handshake_is_tried_again(server, peers):
    # slixmpp retries only connections that fail to open; one that opens and is closed
    # before the handshake used to leave the router offline for good
    relay = Relay(server.component_port, refuse_first=2)
    try:
        with RouterThread(server, port=relay.port) as router:
            assert (relay.refused, relay.connections) == (2, 1)
            guest, alba, chat = _connected(server, peers)
            guest.expect("msg", mid=alba.say(chat, "hola"))
            assert router.snapshot()["connected"] == 1
    finally:
        relay.close()
