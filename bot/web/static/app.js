// Naast demo page: plain JavaScript, no build step. It only shows what the web transport sends
// and sends what a persona types; everything the bot says comes from the handlers.
"use strict";

(() => {
  const I18N = {
    nl: {
      title: "Naast — speeltuin",
      intro: "Probeer Naast uit: een ouder, het maatje en de regisseur naast elkaar. Alles loopt via dezelfde code als in Telegram.",
      skip: "Naar de gesprekken",
      reset: "Opnieuw beginnen",
      confirm_reset: "Alle demo-gesprekken wissen en opnieuw beginnen?",
      role_parent: "Ouder",
      role_maatje: "Maatje",
      role_regisseur: "Regisseur",
      role_coordinator: "Coördinator",
      switch_parent: "Kies een ouder",
      switch_staff: "Kies regisseur of coördinator",
      threads: "Gesprekken per gezin",
      thread_all: "Alle gezinnen",
      message_label: "Jouw bericht",
      send: "Versturen",
      enter_hint: "Enter verstuurt, Shift+Enter maakt een nieuwe regel.",
      enter_hint_maatje: "Enter verstuurt. Escape stopt met beantwoorden.",
      cancel_reply: "Niet meer beantwoorden",
      replying_to: "Je antwoordt aan {family}: “{snippet}”",
      reply: "Beantwoorden",
      reply_aria: "Beantwoorden: {snippet}",
      you: "Jij",
      bot: "Naast",
      quote: "Antwoord op: {snippet}",
      copy: "📎 Kopie van een eerder bericht",
      new_count: "{n} nieuw",
      announce: "Nieuw bericht voor {who}: {text}",
      announce_alert: "Melding voor {who}: {text}",
      announce_other: "Nieuw bericht voor {who}.",
      announce_alert_other: "Nieuwe melding voor {who}.",
      announce_buttons: "Knoppen: {labels}.",
      connecting: "Verbinden…",
      connected: "Verbonden",
      disconnected: "Verbinding kwijt. Opnieuw verbinden…",
      not_connected: "Niet verbonden: je bericht is niet verstuurd.",
      reset_done: "De demo begint opnieuw.",
      reset_failed: "Opnieuw beginnen lukte niet.",
      load_failed: "De demo kon niet laden. Draait `naast demo` nog?",
      err_too_large: "Je bericht is te groot om te versturen.",
      err_not_ready: "De bot start nog. Probeer het zo nog eens.",
      err_not_accepted: "De bot kon dit bericht niet aannemen. Probeer het nog eens.",
      err_other: "Dit bericht kon niet verstuurd worden.",
      empty_parent: "Typ hieronder een bericht. Het gaat naar het maatje van dit gezin.",
      empty_maatje: "Hier komen de berichten van je gezinnen. Klik op ‘Beantwoorden’ bij een bericht om in de draad van dat gezin te antwoorden.",
      empty_staff: "Hier komen meldingen over veiligheid binnen, met knoppen om ze op te pakken.",
      footer: "Dit is een oefenomgeving op je eigen computer. Gebruik geen echte namen of gegevens.",
      lang_switch: "English",
    },
    en: {
      title: "Naast — playground",
      intro: "Try Naast: a parent, their maatje (volunteer buddy) and the regisseur side by side. Everything runs through the same code as on Telegram.",
      skip: "Skip to the conversations",
      reset: "Start over",
      confirm_reset: "Wipe all demo conversations and start over?",
      role_parent: "Parent",
      role_maatje: "Maatje",
      role_regisseur: "Regisseur",
      role_coordinator: "Coordinator",
      switch_parent: "Choose a parent",
      switch_staff: "Choose regisseur or coordinator",
      threads: "Conversations per family",
      thread_all: "All families",
      message_label: "Your message",
      send: "Send",
      enter_hint: "Enter sends, Shift+Enter starts a new line.",
      enter_hint_maatje: "Enter sends. Escape stops replying.",
      cancel_reply: "Stop replying",
      replying_to: "You are replying to {family}: “{snippet}”",
      reply: "Reply",
      reply_aria: "Reply: {snippet}",
      you: "You",
      bot: "Naast",
      quote: "In reply to: {snippet}",
      copy: "📎 Copy of an earlier message",
      new_count: "{n} new",
      announce: "New message for {who}: {text}",
      announce_alert: "Alert for {who}: {text}",
      announce_other: "New message for {who}.",
      announce_alert_other: "New alert for {who}.",
      announce_buttons: "Buttons: {labels}.",
      connecting: "Connecting…",
      connected: "Connected",
      disconnected: "Connection lost. Reconnecting…",
      not_connected: "Not connected: your message was not sent.",
      reset_done: "The demo starts over.",
      reset_failed: "Starting over did not work.",
      load_failed: "The demo could not load. Is `naast demo` still running?",
      err_too_large: "Your message is too large to send.",
      err_not_ready: "The bot is still starting. Try again in a moment.",
      err_not_accepted: "The bot could not take this message. Please try again.",
      err_other: "This message could not be sent.",
      empty_parent: "Type a message below. It goes to this family's maatje.",
      empty_maatje: "Messages from your families arrive here. Click ‘Reply’ on a message to answer in that family's thread.",
      empty_staff: "Safety alerts arrive here, with buttons to pick them up.",
      footer: "This is a practice space on your own computer. Don't use real names or data.",
      lang_switch: "Nederlands",
    },
  };

  let lang = localStorage.getItem("naast-demo-lang") === "en" ? "en" : "nl";
  const state = { org: null, messages: [], byRef: new Map(), socket: null, retry: 0 };
  const panes = {};
  const $ = (root, sel) => root.querySelector(sel);

  function tr(key, params = {}) {
    const text = I18N[lang][key] ?? I18N.nl[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
  }

  function el(tag, attrs = {}, text = null) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    if (text !== null) node.textContent = text; // never innerHTML: texts come from people
    return node;
  }

  const snippet = (text, n = 60) => {
    const flat = (text || "").replace(/\s+/g, " ").trim();
    return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
  };
  const persona = (user) => state.org?.personas.find((p) => p.user === user);
  const familyAlias = (id) => state.org?.families.find((f) => f.id === id)?.alias ?? "";
  // The family thread a reply to this message goes to (what the bot knows), and the family it is shown
  // under: that thread, or the family the maatje chose when the bot asked "for which family?" ("filed").
  const threadOf = (m) => m.family_id || (m.reply_to && state.byRef.get(m.reply_to)?.family_id) || null;
  const familyOf = (m) => threadOf(m) || m.filed || null;
  // A safety alert for staff: it carries the alert's own buttons ("Ik pak dit op", "Afgehandeld").
  const isAlert = (m) => (m.buttons || []).some((row) => row.some((b) => /^esc:(ack|done):/.test(b.data)));

  // --- keyboard focus across re-renders ------------------------------------------------------
  // Panes are redrawn when a thread, persona or family filing changes; a control that had focus is
  // then found again in the new drawing by its data attributes, so keyboard users keep their place.
  const FOCUS_KEYS = ["data-testid", "data-family-id", "data-callback"];
  function focusSelector(node) {
    if (!node || node === document.body) return null;
    const own = FOCUS_KEYS.filter((a) => node.hasAttribute(a)).map((a) => `[${a}="${CSS.escape(node.getAttribute(a))}"]`);
    if (!own.length) return null;
    const item = node.closest("[data-ref]");
    return `${item ? `[data-ref="${CSS.escape(item.dataset.ref)}"] ` : ""}${node.tagName.toLowerCase()}${own.join("")}`;
  }
  function keepingFocus(pane, redraw) {
    const active = document.activeElement;
    const inside = active && pane.el.contains(active);
    const selector = inside ? focusSelector(active) : null;
    redraw();
    if (!inside || active.isConnected) return;
    const again = selector && pane.el.querySelector(selector);
    const list = $(pane.el, ".messages");
    (again || (list.hidden ? $(pane.el, "textarea") : list)).focus({ preventScroll: Boolean(again) });
  }

  // --- screen reader announcements -----------------------------------------------------------
  // Each pane has a polite live region (the staff pane also an assertive one for safety alerts).
  // Only messages that arrive live are announced: history and redraws fill the lists, not these.
  function announce(pane, m) {
    const alert = pane.key === "staff" && isAlert(m);
    const region = $(pane.el, alert ? ".announce-alert" : ".announce");
    if (!region) return;
    region.append(el("p", {}, announcement(pane, m, alert)));
    while (region.children.length > (alert ? 1 : 3)) region.firstElementChild.remove();
  }
  function announcement(pane, m, alert) {
    const name = persona(m.chat)?.name ?? m.chat;
    if (m.chat !== pane.current) return tr(alert ? "announce_alert_other" : "announce_other", { who: name });
    const fam = familyOf(m);
    const labels = (m.buttons || []).flat().map((b) => b.label);
    const text = [snippet(m.text || tr("copy"), 300), labels.length ? tr("announce_buttons", { labels: labels.join(", ") }) : ""];
    const who = fam && pane.key !== "parent" && !(m.text || "").includes(familyAlias(fam)) ? `${name} (${familyAlias(fam)})` : name;
    return tr(alert ? "announce_alert" : "announce", { who, text: text.filter(Boolean).join(" ") });
  }

  // --- status line -----------------------------------------------------------------------
  let statusKey = "connecting";
  function setStatus(key, isError = false) {
    statusKey = key;
    const node = document.getElementById("status");
    node.textContent = tr(key);
    node.classList.toggle("error", isError);
  }

  // --- panes -----------------------------------------------------------------------------
  function setupPanes() {
    for (const section of document.querySelectorAll("[data-pane]")) {
      const key = section.dataset.pane;
      const pane = (panes[key] ??= { key, el: section, current: null, thread: "all", replyTo: null, unread: new Map() });
      pane.roles = section.dataset.roles.split(" ");
      pane.personas = state.org.personas.filter((p) => pane.roles.includes(p.role));
      if (!pane.personas.some((p) => p.user === pane.current)) pane.current = pane.personas[0]?.user ?? null;
      if (!state.org.families.some((f) => f.id === pane.thread)) pane.thread = "all";
      pane.replyTo = null;
    }
    renderAll();
  }

  function renderAll() {
    for (const pane of Object.values(panes)) renderPane(pane);
  }

  function renderPane(pane) {
    keepingFocus(pane, () => drawPane(pane));
  }

  function drawPane(pane) {
    const who = persona(pane.current);
    $(pane.el, ".role").textContent = who ? tr(`role_${who.role}`) : "";
    $(pane.el, ".who").textContent = who ? (who.family_id ? `${who.name} (${familyAlias(who.family_id)})` : who.name) : "";
    renderSwitch(pane);
    if (pane.key === "maatje") renderThreads(pane);
    renderReplying(pane);
    const list = $(pane.el, ".messages");
    list.replaceChildren(...state.messages.filter((m) => visibleIn(pane, m)).map((m) => messageEl(pane, m)));
    list.hidden = list.children.length === 0;
    $(pane.el, ".empty").hidden = !list.hidden;
    list.scrollTop = list.scrollHeight;
  }

  function visibleIn(pane, m) {
    if (m.chat !== pane.current) return false;
    if (pane.key !== "maatje" || pane.thread === "all") return true;
    const fam = familyOf(m);
    return !fam || fam === pane.thread; // unaddressed messages (a family question) show in every thread
  }

  function renderSwitch(pane) {
    const box = $(pane.el, ".switch");
    if (!box) return;
    box.hidden = pane.personas.length < 2;
    box.replaceChildren(
      ...pane.personas.map((p) => {
        const unread = pane.unread.get(p.user) || 0;
        const button = el("button", { type: "button", "aria-pressed": p.user === pane.current ? "true" : "false", "data-testid": `switch-${p.user}` }, p.name);
        if (unread) button.append(" ", el("span", { class: "badge" }, tr("new_count", { n: unread })));
        button.addEventListener("click", () => {
          pane.current = p.user;
          pane.unread.delete(p.user);
          pane.replyTo = null;
          renderPane(pane);
          $(pane.el, "textarea").focus();
        });
        return button;
      }),
    );
  }

  function renderThreads(pane) {
    const box = $(pane.el, ".threads");
    const mine = state.messages.filter((m) => m.chat === pane.current);
    const tabs = [{ id: "all", label: tr("thread_all") }, ...state.org.families.map((f) => ({ id: f.id, label: f.alias }))];
    box.replaceChildren(
      ...tabs.map((tab) => {
        const count = tab.id === "all" ? mine.length : mine.filter((m) => familyOf(m) === tab.id).length;
        const button = el("button", { type: "button", "aria-pressed": tab.id === pane.thread ? "true" : "false", "data-testid": "thread-tab", "data-family-id": tab.id }, tab.label);
        button.append(" ", el("span", { class: "count" }, `(${count})`));
        button.addEventListener("click", () => {
          pane.thread = tab.id;
          renderPane(pane);
        });
        return button;
      }),
    );
  }

  function renderReplying(pane) {
    const box = $(pane.el, ".replying");
    if (!box) return;
    const target = pane.replyTo && state.byRef.get(pane.replyTo);
    box.hidden = !target;
    if (target) $(box, ".replying-text").textContent = tr("replying_to", { family: familyAlias(familyOf(target)), snippet: snippet(target.text, 80) });
  }

  function messageEl(pane, m) {
    const fam = familyOf(m);
    const li = el("li", { class: `msg ${m.own ? "own" : "bot"}`, "data-testid": "message", "data-ref": m.ref, "data-family-id": fam, "data-own": m.own ? "true" : "false" });
    const meta = el("p", { class: "meta" });
    meta.append(el("span", { class: "from" }, m.own ? tr("you") : tr("bot")));
    if (fam && pane.key !== "parent") meta.append(" ", el("span", { class: "tag" }, familyAlias(fam)));
    li.append(meta);
    if (m.reply_to && state.byRef.has(m.reply_to)) li.append(el("p", { class: "quote" }, tr("quote", { snippet: snippet(state.byRef.get(m.reply_to).text) })));
    if (m.copy_of) li.append(el("p", { class: "copy" }, tr("copy")));
    if (m.text) li.append(el("p", { class: "text", "data-testid": "message-text" }, m.text));
    if (m.buttons?.length) {
      const group = el("div", { class: "buttons", role: "group" });
      for (const row of m.buttons) {
        const line = el("div", { class: "button-row" });
        for (const b of row) {
          const button = el("button", { type: "button", "data-testid": "inline-button", "data-callback": b.data }, b.label);
          button.addEventListener("click", () => {
            if (send(pane, { callback: b.data })) pane.choosing = m.ref; // see onFiled: the thread follows
          });
          line.append(button);
        }
        group.append(line);
      }
      li.append(group);
    }
    if (pane.key === "maatje" && !m.own && threadOf(m)) {
      const button = el("button", { type: "button", class: "reply", "data-testid": "reply-button", "aria-label": tr("reply_aria", { snippet: snippet(m.text, 40) }) }, tr("reply"));
      button.addEventListener("click", () => {
        pane.replyTo = m.ref;
        renderReplying(pane);
        $(pane.el, "textarea").focus();
      });
      li.append(button);
    }
    return li;
  }

  function addMessage(m) {
    state.messages.push(m);
    state.byRef.set(m.ref, m);
    for (const pane of Object.values(panes)) {
      if (!pane.personas.some((p) => p.user === m.chat)) continue;
      if (m.chat !== pane.current) {
        pane.unread.set(m.chat, (pane.unread.get(m.chat) || 0) + 1);
        keepingFocus(pane, () => renderSwitch(pane));
        if (!m.own) announce(pane, m);
        continue;
      }
      if (!m.own) announce(pane, m);
      if (pane.key === "maatje") keepingFocus(pane, () => renderThreads(pane));
      if (!visibleIn(pane, m)) continue;
      const list = $(pane.el, ".messages");
      list.append(messageEl(pane, m)); // append only: keeps keyboard focus where it is
      list.hidden = false;
      $(pane.el, ".empty").hidden = true;
      list.scrollTop = list.scrollHeight;
    }
  }

  // The maatje picked a family for a message the bot asked about: show it in that family's thread.
  // The pane where the button was pressed follows it there, so the conversation stays in view.
  function onFiled(frame) {
    for (const ref of frame.refs) {
      const m = state.byRef.get(ref);
      if (m && m.chat === frame.chat) m.filed = frame.family_id;
    }
    for (const pane of Object.values(panes)) {
      if (pane.current !== frame.chat) continue;
      if (pane.key === "maatje" && frame.refs.includes(pane.choosing)) {
        pane.choosing = null;
        if (pane.thread !== "all") pane.thread = frame.family_id;
      }
      renderPane(pane);
    }
  }

  // --- sending ---------------------------------------------------------------------------
  function send(pane, payload) {
    const ws = state.socket;
    if (!ws || ws.readyState !== WebSocket.OPEN || !pane.current) {
      setStatus("not_connected", true);
      return false;
    }
    ws.send(JSON.stringify({ as: pane.current, text: null, reply_to: null, callback: null, ...payload }));
    return true;
  }

  function wireComposer(section) {
    const form = $(section, "form");
    const input = $(section, "textarea");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const pane = panes[section.dataset.pane];
      const text = input.value.trim();
      if (!pane || !text) return;
      if (send(pane, { text, reply_to: pane.replyTo })) {
        input.value = "";
        pane.replyTo = null;
        renderReplying(pane);
      }
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      } else if (event.key === "Escape" && panes[section.dataset.pane]?.replyTo) {
        panes[section.dataset.pane].replyTo = null;
        renderReplying(panes[section.dataset.pane]);
      }
    });
    const cancel = $(section, ".cancel-reply");
    cancel?.addEventListener("click", () => {
      const pane = panes[section.dataset.pane];
      pane.replyTo = null;
      renderReplying(pane);
      input.focus();
    });
  }

  // --- connection ------------------------------------------------------------------------
  async function loadOrg() {
    const response = await fetch("/api/demo", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    state.org = await response.json();
    setupPanes();
  }

  function onFrame(frame) {
    if (frame.type === "history") {
      state.messages = [];
      state.byRef.clear();
      for (const m of frame.messages) {
        state.messages.push(m);
        state.byRef.set(m.ref, m);
      }
      renderAll();
    } else if (frame.type === "message") {
      addMessage(frame);
    } else if (frame.type === "filed") {
      onFiled(frame);
    } else if (frame.type === "reset") {
      state.org = frame.demo;
      state.messages = [];
      state.byRef.clear();
      for (const pane of Object.values(panes)) {
        pane.unread.clear();
        for (const region of pane.el.querySelectorAll(".announce, .announce-alert")) region.replaceChildren();
      }
      setupPanes();
      setStatus("reset_done");
    } else if (frame.type === "error") {
      setStatus(`err_${frame.code}` in I18N.nl ? `err_${frame.code}` : "err_other", true);
    }
  }

  function connect() {
    setStatus("connecting");
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    state.socket = ws;
    ws.addEventListener("open", () => {
      state.retry = 0;
      setStatus("connected");
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (state.org) onFrame(frame);
    });
    ws.addEventListener("close", () => {
      if (state.socket !== ws) return;
      setStatus("disconnected", true);
      retryLater();
    });
  }

  function retryLater() {
    const wait = Math.min(5000, 500 * 2 ** state.retry++);
    setTimeout(start, wait);
  }

  async function start() {
    try {
      await loadOrg();
    } catch {
      setStatus("load_failed", true);
      retryLater();
      return;
    }
    connect();
  }

  function applyLang() {
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = tr(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-aria]")) node.setAttribute("aria-label", tr(node.dataset.i18nAria));
    const toggle = document.getElementById("lang");
    toggle.textContent = tr("lang_switch");
    toggle.lang = lang === "nl" ? "en" : "nl";
    document.title = tr("title");
    setStatus(statusKey, document.getElementById("status").classList.contains("error"));
    if (state.org) renderAll();
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const section of document.querySelectorAll("[data-pane]")) wireComposer(section);
    document.getElementById("lang").addEventListener("click", () => {
      lang = lang === "nl" ? "en" : "nl";
      localStorage.setItem("naast-demo-lang", lang);
      applyLang();
    });
    document.getElementById("reset").addEventListener("click", async () => {
      if (!window.confirm(tr("confirm_reset"))) return;
      try {
        const response = await fetch("/api/reset", { method: "POST", headers: { "X-Naast-Demo": "reset" } });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
      } catch {
        setStatus("reset_failed", true);
      }
    });
    applyLang();
    start();
  });
})();
