/* Faro's chat widget: the page a person in crisis writes from (docs/chat.md "The widget").
 *
 * Wire contract: chat/protocol.py. The person's side, over XMPP on a WebSocket, logged in
 * anonymously on guest.<domain>, talking only to the router component router.<domain>:
 *   hello (session, lang, version) -> state (waiting|connected|reassigning|closed|elsewhere);
 *   text: <message type="chat" id=X><body/> + origin-id X + receipt request + <faro seq/>;
 *   <received id=X/> (XEP-0184) and <displayed id=X/> (XEP-0333) both ways;
 *   typing: XEP-0085 composing/paused/active; refused (mid, reason); bye (reason).
 *
 * Rules kept here: message text is only ever put in the page with textContent (never
 * innerHTML), links stay text; nothing goes to the console; the session lives in this tab's
 * sessionStorage only (gone when the tab closes); the quick exit clears it and leaves with
 * location.replace so Back does not come back.
 */
(function () {
  "use strict";

  var NS = "urn:faro:chat:1";
  var NS_RECEIPTS = "urn:xmpp:receipts";
  var NS_MARKERS = "urn:xmpp:chat-markers:0";
  var NS_STATES = "http://jabber.org/protocol/chatstates";
  var NS_SID = "urn:xmpp:sid:0";
  var VERSION = "1";
  var MAX_BODY = 2000; // chat/protocol.py MAX_BODY, in characters (code points)
  var WARN_AT = 1800; // the counter shows from here on
  var STORE = "faro.chat"; // sessionStorage key
  var CHANNEL = "faro.chat"; // BroadcastChannel between this origin's tabs

  var TEXTS = {
    es: {
      title: "Chat de apoyo",
      exit: "Salida rápida",
      exit_hint: "Sale de esta página de inmediato. También puedes pulsar Esc dos veces.",
      safety:
        "Esta conversación es confidencial. Si alguien puede ver tu pantalla, usa el botón " +
        "«Salida rápida» (o pulsa Esc dos veces): la página se cierra y se borra.",
      emergency: "Si estás en peligro ahora, llama al {number}.",
      intro:
        "Aquí puedes escribir a una persona que te escucha. No necesitas dar tu nombre. " +
        "Cuando quieras, empieza.",
      begin: "Empezar a escribir",
      log_title: "Conversación",
      input_label: "Tu mensaje",
      send: "Enviar",
      end: "Terminar conversación",
      again: "Empezar una conversación nueva",
      here: "Seguir en esta pestaña",
      connecting: "Conectando…",
      waiting: "Estás en la fila; una persona te atenderá pronto.",
      position: "Tu lugar en la fila: {position}.",
      waited_min: "Llevas {minutes} min en la fila; no cierres esta página.",
      connected: "Ya estás hablando con una persona del equipo.",
      reassigning:
        "Se perdió la conexión con quien te atendía; te estamos pasando con otra persona.",
      closed: "La conversación terminó.",
      closed_by_counselor: "La conversación terminó: quien te atendía la cerró.",
      closed_by_person: "Terminaste la conversación.",
      closed_quick_exit: "La conversación terminó.",
      closed_idle: "La conversación se cerró porque no hubo mensajes por un tiempo.",
      closed_server: "La conversación se cerró por un problema del servicio.",
      closed_queue_full:
        "En este momento no hay lugar en la fila. Intenta de nuevo en unos minutos.",
      elsewhere: "Esta conversación sigue en otra pestaña.",
      offline: "Sin conexión a internet. Tus mensajes se enviarán al volver la conexión.",
      reconnecting: "Se perdió la conexión. Reconectando…",
      unavailable: "El servicio no responde ahora. Seguimos intentando…",
      you: "Tú",
      them: "Equipo de apoyo",
      sending: "enviando",
      sent: "enviado",
      received: "recibido",
      read: "leído",
      not_sent: "no enviado",
      typing: "Te están escribiendo…",
      counter: "{count} de {max} caracteres",
      too_long:
        "El mensaje es demasiado largo ({count} de {max} caracteres). Divídelo en partes; " +
        "no se envió nada.",
      too_fast: "Estás enviando muy rápido. Espera unos segundos y vuelve a enviarlo.",
      not_text: "Ese mensaje no se puede enviar: solo se admite texto.",
      refused: "Este mensaje no se entregó.",
      empty: "Escribe algo antes de enviar.",
    },
    en: {
      title: "Support chat",
      exit: "Quick exit",
      exit_hint: "Leaves this page at once. You can also press Esc twice.",
      safety:
        "This conversation is confidential. If someone can see your screen, use the " +
        "“Quick exit” button (or press Esc twice): the page closes and is cleared.",
      emergency: "If you are in danger now, call {number}.",
      intro:
        "Here you can write to a person who will listen. You do not need to give your name. " +
        "Start whenever you are ready.",
      begin: "Start writing",
      log_title: "Conversation",
      input_label: "Your message",
      send: "Send",
      end: "End conversation",
      again: "Start a new conversation",
      here: "Continue in this tab",
      connecting: "Connecting…",
      waiting: "You are in the queue; a person will be with you soon.",
      position: "Your place in the queue: {position}.",
      waited_min: "You have waited {minutes} min; please keep this page open.",
      connected: "You are now talking with a person from the team.",
      reassigning:
        "The connection with the person helping you was lost; we are passing you to someone else.",
      closed: "The conversation has ended.",
      closed_by_counselor: "The conversation has ended: the person helping you closed it.",
      closed_by_person: "You ended the conversation.",
      closed_quick_exit: "The conversation has ended.",
      closed_idle: "The conversation was closed because there were no messages for a while.",
      closed_server: "The conversation was closed because of a problem with the service.",
      closed_queue_full: "The queue is full right now. Please try again in a few minutes.",
      elsewhere: "This conversation continues in another tab.",
      offline: "No internet connection. Your messages will be sent when it is back.",
      reconnecting: "The connection was lost. Reconnecting…",
      unavailable: "The service is not answering right now. We keep trying…",
      you: "You",
      them: "Support team",
      sending: "sending",
      sent: "sent",
      received: "received",
      read: "read",
      not_sent: "not sent",
      typing: "Writing to you…",
      counter: "{count} of {max} characters",
      too_long:
        "The message is too long ({count} of {max} characters). Split it into parts; " +
        "nothing was sent.",
      too_fast: "You are sending too fast. Wait a few seconds and send it again.",
      not_text: "That message cannot be sent: only text is allowed.",
      refused: "This message was not delivered.",
      empty: "Write something before sending.",
    },
  };

  // -- small helpers ---------------------------------------------------------------------
  function $(id) {
    return document.getElementById(id);
  }

  function randomId(length) {
    var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    var bytes = new Uint8Array(length);
    crypto.getRandomValues(bytes);
    var out = "";
    for (var i = 0; i < length; i++) out += alphabet[bytes[i] & 63];
    return out;
  }

  function codePoints(text) {
    return Array.from(text).length;
  }

  /** The same rules as chat/protocol.py clean_text: [text, ""] or [null, reason]. */
  function cleanText(text) {
    text = String(text).normalize("NFC");
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/.test(text)) return [null, "not_text"];
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text))
      return [null, "not_text"];
    if (!text.trim()) return [null, "empty"];
    if (codePoints(text) > MAX_BODY) return [null, "too_long"];
    return [text, ""];
  }

  function chooseLang() {
    var asked = new URLSearchParams(location.search).get("lang");
    if (asked === "en" || asked === "es") return asked;
    var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
    return /^en\b/i.test(langs[0] || "") ? "en" : "es";
  }

  // -- state -----------------------------------------------------------------------------
  var config = null;
  var lang = chooseLang();
  var T = TEXTS[lang];
  var conn = null;
  var wanted = false; // we want to be connected (false after closed/elsewhere/exit)
  var backoff = 1;
  var reconnectTimer = null;
  var lastState = null;
  var reassigned = false; // the counselor was lost and nobody has answered again yet
  var typingTimer = null;
  var myTyping = "active";
  var myTypingTimer = null;
  var escAt = 0;
  var leaving = false;
  var channel = null;
  // the conversation, kept in this tab's sessionStorage (survives a reload, not a closed tab)
  var S = null; // {token, seq, items: [{id, dir, text, status, reason}], seen: [ids]}

  function t(key, vars) {
    var text = (config && config.texts && config.texts[lang] && config.texts[lang][key]) || T[key] || key;
    if (vars) {
      Object.keys(vars).forEach(function (k) {
        text = text.split("{" + k + "}").join(String(vars[k]));
      });
    }
    return text;
  }

  function load() {
    try {
      var raw = sessionStorage.getItem(STORE);
      return raw ? JSON.parse(raw) : null;
    } catch (e) {
      return null;
    }
  }

  function save() {
    if (leaving || !S) return;
    try {
      sessionStorage.setItem(STORE, JSON.stringify(S));
    } catch (e) {
      /* storage full or disabled: the conversation still works in this page */
    }
  }

  function newSession() {
    return { token: randomId(24), seq: 0, items: [], seen: [] };
  }

  function routerJid() {
    return config.router || "router." + config.domain;
  }

  function guestDomain() {
    return config.guest_domain || "guest." + config.domain;
  }

  function websocketUrl() {
    if (config.websocket) return config.websocket;
    return (location.protocol === "http:" ? "ws://" : "wss://") + location.host + "/xmpp-websocket";
  }

  // -- rendering -------------------------------------------------------------------------
  function setStatus(text) {
    var el = $("status");
    if (el.textContent !== text) el.textContent = text;
  }

  function renderTexts() {
    document.documentElement.lang = lang === "en" ? "en" : "es-MX";
    document.title = t("title");
    $("title").textContent = config.organisation || t("title");
    $("exit").textContent = t("exit");
    $("exit-hint").textContent = t("exit_hint");
    $("safety").textContent = t("safety");
    var number = config.emergency_number || "911";
    var em = $("emergency");
    em.textContent = "";
    var parts = t("emergency").split("{number}");
    em.appendChild(document.createTextNode(parts[0]));
    var a = document.createElement("a");
    a.href = "tel:" + number.replace(/[^0-9+]/g, "");
    a.textContent = number;
    em.appendChild(a);
    em.appendChild(document.createTextNode(parts.slice(1).join(number)));
    $("intro").textContent = t("intro");
    $("begin").textContent = t("begin");
    $("log-title").textContent = t("log_title");
    $("input-label").textContent = t("input_label");
    $("send").textContent = t("send");
    $("end").textContent = t("end");
    $("again").textContent = t("again");
    $("here").textContent = t("here");
  }

  function tickWords(item) {
    if (item.status === "refused") return t("not_sent") + ": " + t(item.reason || "refused");
    return t(item.status);
  }

  function tickGlyph(status) {
    return { sending: "○", sent: "✓", received: "✓✓", read: "✓✓" }[status] || "!";
  }

  function renderItem(item) {
    var li = document.getElementById("m-" + item.id);
    if (!li) {
      li = document.createElement("li");
      li.id = "m-" + item.id;
      li.className = "msg " + (item.dir === "out" ? "out" : "in");
      var who = document.createElement("span");
      who.className = "who visually-hidden";
      who.textContent = (item.dir === "out" ? t("you") : t("them")) + ": ";
      var body = document.createElement("p");
      body.className = "body";
      body.textContent = item.text; // plain text, always
      li.appendChild(who);
      li.appendChild(body);
      if (item.dir === "out") {
        var tick = document.createElement("p");
        tick.className = "tick";
        var glyph = document.createElement("span");
        glyph.className = "glyph";
        glyph.setAttribute("aria-hidden", "true");
        var words = document.createElement("span");
        words.className = "words";
        tick.appendChild(glyph);
        tick.appendChild(words);
        li.appendChild(tick);
      }
      var log = $("log");
      var atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
      log.appendChild(li);
      // follow the conversation, unless the person scrolled up to read (their own always)
      if (atEnd || item.dir === "out") log.scrollTop = log.scrollHeight;
    }
    if (item.dir === "out") {
      li.dataset.status = item.status;
      li.querySelector(".glyph").textContent = tickGlyph(item.status);
      li.querySelector(".words").textContent = tickWords(item);
    }
  }

  function renderAll() {
    $("log").textContent = "";
    S.items.forEach(renderItem);
  }

  function showChat() {
    document.body.classList.add("chatting");
    $("start").hidden = true;
    $("chat").hidden = false;
  }

  function setComposerEnabled(on) {
    $("input").disabled = !on;
    $("send").disabled = !on;
  }

  function showProblem(text) {
    $("problem").textContent = text || "";
  }

  function updateCounter() {
    var n = codePoints($("input").value);
    var el = $("counter");
    if (n >= WARN_AT) {
      el.textContent = t("counter", { count: n, max: MAX_BODY });
      el.classList.toggle("over", n > MAX_BODY);
    } else {
      el.textContent = "";
      el.classList.remove("over");
    }
  }

  // -- the connection ----------------------------------------------------------------------
  function connect() {
    if (leaving) return;
    wanted = true;
    clearTimeout(reconnectTimer);
    if (conn) {
      try {
        conn.reset();
      } catch (e) {
        /* an old connection already gone */
      }
    }
    if (!lastState) setStatus(t("connecting"));
    conn = new Strophe.Connection(websocketUrl(), { protocol: "wss" });
    var mine = conn;
    conn.addHandler(function (stanza) {
      if (mine === conn) onMessage(stanza);
      return true;
    }, null, "message");
    conn.addHandler(function (stanza) {
      if (mine === conn) onPresence(stanza);
      return true;
    }, null, "presence");
    conn.connect(guestDomain(), null, function (status) {
      if (mine !== conn) return;
      onStatus(status);
    });
  }

  function onStatus(status) {
    var St = Strophe.Status;
    if (status === St.CONNECTED) {
      backoff = 1;
      sayHello();
      resendPending();
    } else if (
      status === St.DISCONNECTED ||
      status === St.CONNFAIL ||
      status === St.AUTHFAIL ||
      status === St.ERROR
    ) {
      if (status === St.DISCONNECTED) conn = null;
      if (wanted && !leaving) scheduleReconnect();
    }
  }

  function sayHello() {
    // hello as a directed presence: the server also tells the router when this tab is gone
    conn.send(
      $pres({ to: routerJid() }).c("faro", {
        xmlns: NS,
        kind: "hello",
        session: S.token,
        lang: lang,
        version: VERSION,
      })
    );
  }

  function onPresence(stanza) {
    var from = Strophe.getBareJidFromJid(stanza.getAttribute("from") || "");
    if (from === routerJid() && !stanza.getAttribute("type") && !child(stanza, "faro", NS)) {
      // the router is back after a restart (or does not know this tab): who we are, and
      // what it has not receipted
      if (connected() && lastState !== "closed" && lastState !== "elsewhere") {
        sayHello();
        resendPending();
      }
      return;
    }
    onFaro(stanza);
  }

  function scheduleReconnect() {
    clearTimeout(reconnectTimer);
    setStatus(navigator.onLine === false ? t("offline") : t("reconnecting"));
    setComposerEnabled(true); // writing goes on; messages wait and are sent on reconnect
    var delay = Math.min(backoff, 15) * (0.75 + Math.random() * 0.5);
    backoff = Math.min(backoff * 2, 15);
    reconnectTimer = setTimeout(connect, delay * 1000);
  }

  function connected() {
    return conn && conn.connected && !conn.disconnecting;
  }

  function sendStanza(stanza) {
    if (!connected()) return false;
    conn.send(stanza);
    return true;
  }

  function textStanza(item) {
    return $msg({ to: routerJid(), type: "chat", id: item.id })
      .c("body")
      .t(item.text)
      .up()
      .c("request", { xmlns: NS_RECEIPTS })
      .up()
      .c("origin-id", { xmlns: NS_SID, id: item.id })
      .up()
      .c("faro", { xmlns: NS, seq: String(item.seq) })
      .up()
      .c("active", { xmlns: NS_STATES });
  }

  function resendPending() {
    // not receipted yet: sent again with the same id (the router drops a duplicate id),
    // in the order they were written
    S.items.forEach(function (item) {
      if (item.dir === "out" && (item.status === "sending" || item.status === "sent")) {
        if (sendStanza(textStanza(item))) item.status = "sent";
        renderItem(item);
      }
    });
    save();
  }

  // -- what arrives --------------------------------------------------------------------
  function child(stanza, name, ns) {
    var list = stanza.getElementsByTagName(name);
    for (var i = 0; i < list.length; i++) {
      if (list[i].namespaceURI === ns && list[i].parentNode === stanza) return list[i];
    }
    return null;
  }

  function findItem(id) {
    for (var i = S.items.length - 1; i >= 0; i--) if (S.items[i].id === id) return S.items[i];
    return null;
  }

  var RANK = { sending: 0, sent: 1, received: 2, read: 3 };

  function advance(id, status) {
    var item = findItem(id);
    if (!item || item.dir !== "out" || item.status === "refused") return;
    if (RANK[status] > RANK[item.status]) {
      item.status = status;
      // a read marker also means everything before it was read (XEP-0333)
      if (status === "read") {
        S.items.forEach(function (other) {
          if (other.dir === "out" && other !== item && RANK[other.status] === 2) {
            other.status = "read";
            renderItem(other);
          }
        });
      }
      renderItem(item);
      save();
    }
  }

  function onMessage(stanza) {
    if (stanza.getAttribute("type") === "error") return; // the message stays pending; resent later
    var from = Strophe.getBareJidFromJid(stanza.getAttribute("from") || "");
    if (from && from !== routerJid()) return; // only the router speaks to this page
    onFaro(stanza);
    var received = child(stanza, "received", NS_RECEIPTS);
    if (received) advance(received.getAttribute("id"), "received");
    var displayed = child(stanza, "displayed", NS_MARKERS);
    if (displayed) advance(displayed.getAttribute("id"), "read");
    var body = child(stanza, "body", Strophe.NS.CLIENT) || stanza.getElementsByTagName("body")[0];
    if (body) {
      onText(stanza, body.textContent);
    } else if (child(stanza, "composing", NS_STATES)) {
      showTyping(true);
    } else if (
      child(stanza, "paused", NS_STATES) ||
      child(stanza, "active", NS_STATES) ||
      child(stanza, "inactive", NS_STATES) ||
      child(stanza, "gone", NS_STATES)
    ) {
      showTyping(false);
    }
  }

  function onText(stanza, text) {
    var origin = child(stanza, "origin-id", NS_SID);
    var id = (origin && origin.getAttribute("id")) || stanza.getAttribute("id") || randomId(12);
    if (child(stanza, "request", NS_RECEIPTS)) {
      sendStanza($msg({ to: routerJid(), type: "chat" }).c("received", { xmlns: NS_RECEIPTS, id: id }));
    }
    showTyping(false);
    if (S.seen.indexOf(id) !== -1) return; // a resend after a reconnect: shown once
    S.seen.push(id);
    if (S.seen.length > 2000) S.seen.splice(0, S.seen.length - 2000);
    var item = { id: "i" + id, dir: "in", text: text, xid: id, marked: false };
    S.items.push(item);
    renderItem(item);
    save();
    markRead();
  }

  function markRead() {
    // a read marker for the newest message from the team, when the page is in view
    if (document.visibilityState !== "visible") return;
    for (var i = S.items.length - 1; i >= 0; i--) {
      var item = S.items[i];
      if (item.dir !== "in") continue;
      if (item.marked) return;
      if (sendStanza($msg({ to: routerJid(), type: "chat" }).c("displayed", { xmlns: NS_MARKERS, id: item.xid }))) {
        item.marked = true;
        save();
      }
      return;
    }
  }

  function onFaro(stanza) {
    var faro = child(stanza, "faro", NS);
    if (!faro) return;
    var kind = faro.getAttribute("kind");
    if (kind === "state") onState(faro);
    else if (kind === "refused") onRefused(faro.getAttribute("mid"), faro.getAttribute("reason"));
    // other kinds: ignored (forward compatible)
  }

  function onRefused(mid, reason) {
    var item = findItem(mid);
    if (!item || item.dir !== "out") return;
    item.status = "refused";
    item.reason = ["too_long", "too_fast", "not_text"].indexOf(reason) !== -1 ? reason : "refused";
    renderItem(item);
    showProblem(t(item.reason, { count: codePoints(item.text), max: MAX_BODY }));
    save();
  }

  function onState(faro) {
    var state = faro.getAttribute("state");
    lastState = state;
    S.state = state;
    save();
    $("again").hidden = true;
    $("here").hidden = true;
    $("end").hidden = false;
    if (state !== "waiting") reassigned = state === "reassigning";
    if (state === "waiting") {
      // back in the queue after losing the counselor: that stays said until someone answers
      var words = [reassigned ? t("reassigning") : t("waiting")];
      var position = parseInt(faro.getAttribute("position") || "", 10);
      if (position > 0) words.push(t("position", { position: position }));
      // wait_s is how long this chat has waited so far (the router makes no forecast)
      var wait = parseInt(faro.getAttribute("wait_s") || "", 10);
      if (wait >= 60) words.push(t("waited_min", { minutes: Math.floor(wait / 60) }));
      setStatus(words.join(" "));
      setComposerEnabled(true);
    } else if (state === "connected") {
      setStatus(t("connected"));
      setComposerEnabled(true);
      markRead();
    } else if (state === "reassigning") {
      setStatus(t("reassigning"));
      setComposerEnabled(true);
      showTyping(false);
    } else if (state === "closed") {
      var reason = faro.getAttribute("reason") || "";
      showClosed(T["closed_" + reason] ? t("closed_" + reason) : t("closed"));
    } else if (state === "elsewhere") {
      setStatus(t("elsewhere"));
      stop();
      setComposerEnabled(false);
      $("end").hidden = true;
      $("here").hidden = false;
    }
    if (state === "waiting" || state === "connected" || state === "reassigning") resendPending();
  }

  function showClosed(words) {
    setStatus(words);
    stop();
    setComposerEnabled(false);
    $("end").hidden = true;
    $("here").hidden = true;
    $("again").hidden = false;
  }

  function stop() {
    wanted = false;
    clearTimeout(reconnectTimer);
    showTyping(false);
    if (conn) {
      var old = conn;
      conn = null;
      try {
        old.disconnect();
      } catch (e) {
        /* already gone */
      }
    }
  }

  function showTyping(on) {
    clearTimeout(typingTimer);
    $("typing").textContent = on ? t("typing") : "";
    // a lost "paused" must not leave the indicator on for ever
    if (on) typingTimer = setTimeout(function () { showTyping(false); }, 30000);
  }

  // -- what the person does ----------------------------------------------------------------
  function begin() {
    if (!S) {
      S = newSession();
      save();
    }
    showChat();
    connect();
    $("input").focus();
  }

  function send(event) {
    event.preventDefault();
    var raw = $("input").value;
    var cleaned = cleanText(raw);
    if (!cleaned[0]) {
      showProblem(t(cleaned[1], { count: codePoints(raw), max: MAX_BODY }));
      $("input").focus();
      return; // what was written stays in the box
    }
    showProblem("");
    S.seq += 1;
    var item = { id: randomId(16), dir: "out", text: cleaned[0], status: "sending", seq: S.seq };
    S.items.push(item);
    save();
    if (sendStanza(textStanza(item))) item.status = "sent";
    renderItem(item);
    save();
    $("input").value = "";
    myTyping = "active";
    updateCounter();
    $("input").focus();
  }

  function typing() {
    updateCounter();
    if (myTyping !== "composing" && $("input").value) {
      myTyping = "composing";
      sendStanza($msg({ to: routerJid(), type: "chat" }).c("composing", { xmlns: NS_STATES }));
    }
    clearTimeout(myTypingTimer);
    myTypingTimer = setTimeout(function () {
      if (myTyping === "composing") {
        myTyping = "paused";
        sendStanza($msg({ to: routerJid(), type: "chat" }).c("paused", { xmlns: NS_STATES }));
      }
    }, 5000);
  }

  function end() {
    sendStanza($msg({ to: routerJid(), type: "chat" }).c("faro", { xmlns: NS, kind: "bye", session: S.token, reason: "by_person" }));
    setStatus(t("closed_by_person"));
    setComposerEnabled(false);
    $("end").hidden = true;
    $("again").hidden = false;
    if (conn) conn.flush();
    setTimeout(stop, 300);
  }

  function again() {
    stop();
    S = newSession();
    save();
    lastState = null;
    renderAll();
    showProblem("");
    setComposerEnabled(true);
    $("again").hidden = true;
    $("end").hidden = false;
    connect();
    $("input").focus();
  }

  function here() {
    // take the conversation back from the other tab
    S = load() || S;
    renderAll();
    $("here").hidden = true;
    $("end").hidden = false;
    setComposerEnabled(true);
    connect();
  }

  function quickExit() {
    if (leaving) return;
    leaving = true;
    var url = (config && config.exit_url) || "https://www.google.com/";
    try {
      if (connected() && S) {
        conn.send($msg({ to: routerJid(), type: "chat" }).c("faro", { xmlns: NS, kind: "bye", session: S.token, reason: "quick_exit" }));
        conn.flush();
      }
    } catch (e) {
      /* leaving matters more than saying goodbye */
    }
    try {
      sessionStorage.clear();
    } catch (e) {
      /* nothing stored */
    }
    if (channel) channel.close();
    S = null;
    document.body.textContent = ""; // the conversation leaves the page before the page leaves
    document.title = "";
    if (window.top !== window) {
      // in an iframe on the helpline's site: the whole tab leaves, not just the frame (allowed
      // from a click or a key press; the frame's sandbox needs
      // allow-top-navigation-by-user-activation)
      try {
        window.top.location.replace(url);
        return;
      } catch (e) {
        /* not allowed: at least this frame leaves */
      }
    }
    location.replace(url);
  }

  function onKey(event) {
    if (event.key !== "Escape") return;
    var now = Date.now();
    if (now - escAt < 1500) quickExit();
    escAt = now;
  }

  // -- a second tab ----------------------------------------------------------------------
  // A tab opened later in the same browser (same origin) asks the open tabs for their
  // conversation over a BroadcastChannel (nothing written to disk) and carries it on: the
  // router gives the newer tab the chat and tells the older one "elsewhere".
  function openChannel() {
    if (typeof BroadcastChannel === "undefined") return;
    channel = new BroadcastChannel(CHANNEL);
    channel.onmessage = function (event) {
      var data = event.data || {};
      if (data.t === "who" && S && wanted) {
        channel.postMessage({ t: "session", s: S });
      }
    };
  }

  function askOtherTabs(done) {
    if (!channel) return done(null);
    var answered = false;
    var listener = function (event) {
      var data = event.data || {};
      if (data.t === "session" && data.s && data.s.token && !answered) {
        answered = true;
        channel.removeEventListener("message", listener);
        done(data.s);
      }
    };
    channel.addEventListener("message", listener);
    channel.postMessage({ t: "who" });
    setTimeout(function () {
      if (!answered) {
        answered = true;
        channel.removeEventListener("message", listener);
        done(null);
      }
    }, 400);
  }

  // -- start ---------------------------------------------------------------------------
  function start(cfg) {
    config = cfg || {};
    config.domain = config.domain || location.hostname;
    if (config.lang === "en" && !new URLSearchParams(location.search).get("lang")) {
      lang = "en";
      T = TEXTS.en;
    }
    renderTexts();
    openChannel();
    $("begin").addEventListener("click", begin);
    $("begin").disabled = false;
    $("composer").addEventListener("submit", send);
    $("input").addEventListener("input", typing);
    $("input").addEventListener("keydown", function (event) {
      // Enter sends, Shift+Enter is a new line (a phone keyboard's Enter is a new line too)
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && matchMedia("(pointer: fine)").matches) {
        send(event);
      }
    });
    $("end").addEventListener("click", end);
    $("again").addEventListener("click", again);
    $("here").addEventListener("click", here);
    document.addEventListener("visibilitychange", markRead);
    window.addEventListener("focus", markRead);
    window.addEventListener("online", function () {
      if (wanted && !connected()) connect();
    });
    window.addEventListener("offline", function () {
      if (wanted) setStatus(t("offline"));
    });
    S = load();
    if (S && S.token) {
      // a reload of this tab: the same conversation goes on (or stays closed)
      showChat();
      renderAll();
      if (S.state === "closed") showClosed(t("closed"));
      else connect();
      return;
    }
    askOtherTabs(function (other) {
      // only while nothing has started here: a late answer never replaces this tab's own
      if (other && !S && $("chat").hidden) {
        S = other;
        save();
        showChat();
        renderAll();
        connect();
      }
    });
  }

  // strophe.js logs its connection steps to the console: only a fatal error goes there now
  // (it never logs stanzas' text at any level; still, nothing about a conversation belongs
  // in a shared device's console)
  Strophe.setLogLevel(Strophe.LogLevel.FATAL);

  // the quick exit works from the first moment, before the configuration has arrived
  $("exit").addEventListener("click", quickExit);
  document.addEventListener("keydown", onKey);
  window.faroWidget = { quickExit: quickExit }; // for the page's own links and the tests
  fetch("config.json", { cache: "no-store", credentials: "omit" })
    .then(function (r) {
      return r.ok ? r.json() : {};
    })
    .catch(function () {
      return {};
    })
    .then(start);
})();
