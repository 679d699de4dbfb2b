// The web chat page: rooms, live messages over a WebSocket, threads, the bot's buttons,
// reactions and the direct conversation with the bot. Plain JavaScript, no build step.
// Its words come from the server in the page's language (the `#words` block), never from here.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const WORDS = JSON.parse($("words").textContent);

  // A message in the page's language, its `{name}` parameters filled in.
  function t(key, params = {}) {
    return WORDS[key].replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
  }

  // A message that follows a count: the catalog's form for one, or for many.
  function counted(key, n) {
    const [one, other] = WORDS.counted[key];
    const form = new Intl.PluralRules(WORDS.lang).select(n) === "one" ? one : other;
    return form.replace("{n}", n.toLocaleString(WORDS.lang));
  }
  const PAGE = 500; // the API returns at most this many messages per request
  const REACTION = "👍";
  const REACTION_LABEL = "+1"; // words, not the emoji: not every device has an emoji font

  const state = {
    mode: "open",
    user: null,
    token: null,
    bot: "community-bot",
    room: null,
    extraRooms: new Set(),
    thread: null,
    feed: null,
    dm: null,
    unread: 0,
  };

  // --- talking to the API -------------------------------------------------------------

  function headers() {
    const h = { "content-type": "application/json" };
    if (state.token) h.authorization = "Bearer " + state.token;
    return h;
  }

  function query(params) {
    const q = new URLSearchParams(params);
    if (state.mode === "open") q.set("user", state.user);
    return q.toString();
  }

  async function call(method, path, body) {
    const options = { method, headers: headers() };
    if (body !== undefined) {
      if (state.mode === "open") body.user = state.user;
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `the server answered ${response.status}`);
    return data;
  }

  function say(text) {
    $("status").textContent = text;
  }

  // --- a room's messages, kept live -----------------------------------------------------

  class Feed {
    constructor(room, onMessage) {
      this.room = room;
      this.onMessage = onMessage;
      this.messages = new Map();
      this.last = 0;
      this.ws = null;
      this.retry = 0;
      this.closed = false;
    }

    async open() {
      for (;;) {
        const data = await call("GET", "/api/chat/messages?" + query({ room: this.room, after: this.last }));
        data.messages.forEach((m) => this.add(m, false));
        if (data.messages.length < PAGE) break;
      }
      if (!this.closed) this.connect();
    }

    connect() {
      const params = { room: this.room, after: this.last };
      if (state.token) params.token = state.token;
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(`${scheme}://${location.host}/api/chat/ws?${query(params)}`);
      this.ws = ws;
      ws.onopen = () => {
        this.retry = 0;
        if (this === state.feed) say("");
      };
      ws.onmessage = (e) => this.receive(JSON.parse(e.data));
      ws.onclose = () => {
        if (this.closed) return;
        const delay = Math.min(1000 * 2 ** this.retry, 10000);
        this.retry += 1;
        if (this === state.feed) say(t("reconnecting"));
        setTimeout(() => { if (!this.closed) this.connect(); }, delay);
      };
    }

    receive(event) {
      if (event.type === "message" || event.type === "edit") this.add(event.message, true);
      else if (event.type === "room") addRoom(event.room, event.title);
    }

    add(m, live) {
      const id = Number(m.id);
      const known = this.messages.has(id);
      this.messages.set(id, m);
      this.last = Math.max(this.last, id);
      this.onMessage(this, m, known, live);
    }

    close() {
      this.closed = true;
      if (this.ws) this.ws.close();
    }
  }

  // --- rendering ----------------------------------------------------------------------

  function linkify(parent, text) {
    const parts = text.split(/(https?:\/\/[^\s<>"']+)/);
    parts.forEach((part, i) => {
      if (i % 2 === 1) {
        const a = document.createElement("a");
        a.href = part;
        a.textContent = part;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        parent.append(a);
      } else if (part) {
        parent.append(part);
      }
    });
  }

  // The bot's own light markup, `code`, *emphasis* and **strong**, built as elements around
  // text nodes; members' messages are only linkified. Nothing is ever parsed as HTML.
  const MARKUP = /`([^`\n]+)`|\*\*(?=\S)([^*\n]+?)\*\*|\*(?=[^\s*])([^*\n]+?)\*/;

  function markup(parent, text) {
    let rest = text;
    for (let found = MARKUP.exec(rest); found; found = MARKUP.exec(rest)) {
      linkify(parent, rest.slice(0, found.index));
      if (found[1] !== undefined) {
        const code = document.createElement("code");
        code.textContent = found[1];
        parent.append(code);
      } else {
        const el = document.createElement(found[2] !== undefined ? "strong" : "em");
        markup(el, found[2] !== undefined ? found[2] : found[3]);
        parent.append(el);
      }
      rest = rest.slice(found.index + found[0].length);
    }
    linkify(parent, rest);
  }

  function render(parent, m) {
    if (m.user === state.bot) markup(parent, m.text);
    else linkify(parent, m.text);
  }

  // Screen readers hear a message that arrives while the page is open (not the history
  // loaded with a room), through a polite live region that keeps only the latest few.
  function announce(text) {
    const live = $("live");
    const p = document.createElement("p");
    p.textContent = text;
    live.append(p);
    while (live.childElementCount > 3) live.firstElementChild.remove();
  }

  function button(label, className, onClick, attrs = {}) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = className;
    b.textContent = label;
    for (const [k, v] of Object.entries(attrs)) b.setAttribute(k, v);
    b.addEventListener("click", onClick);
    return b;
  }

  function messageElement(m) {
    const li = document.createElement("li");
    li.id = "m-" + m.id;
    li.className = "msg";
    if (m.user === state.bot) li.classList.add("from-bot");
    if (m.user === state.user) li.classList.add("mine");

    const meta = document.createElement("div");
    meta.className = "meta";
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = m.user === state.bot ? t("bot_author", { name: m.user }) : m.user;
    const time = document.createElement("time");
    time.dateTime = m.ts;
    time.textContent = new Date(m.ts).toLocaleTimeString(WORDS.lang, { hour: "2-digit", minute: "2-digit" });
    meta.append(author, " ", time);

    const text = document.createElement("div");
    text.className = "text";
    render(text, m);
    li.append(meta, text);

    if (m.buttons && m.buttons.length) {
      const group = document.createElement("div");
      group.className = "choices";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", t("choices_by", { name: m.user }));
      m.buttons.forEach((b) => {
        const attrs = b.form ? { "aria-haspopup": "dialog" } : {};
        group.append(button(b.label, "choice", (e) => press(m, b, e.currentTarget), attrs));
      });
      li.append(group);
    }

    const actions = document.createElement("div");
    actions.className = "actions";
    actions.append(button(REACTION_LABEL, "react", (e) => react(m, e.currentTarget),
      { "aria-pressed": "false", "aria-label": t("react", { name: m.user }) }));
    if (!m.thread) {
      actions.append(button(t("reply"), "reply", () => enterThread(m),
        { "aria-label": t("reply_to", { name: m.user }) }));
      const replies = document.createElement("ol");
      replies.className = "thread";
      replies.setAttribute("aria-label", t("replies_to", { name: m.user }));
      li.append(actions, replies);
    } else {
      li.append(actions);
    }

    return li;
  }

  function countReplies(root) {
    const n = root.querySelectorAll(":scope > .thread > .msg").length;
    const reply = root.querySelector(":scope > .actions > .reply");
    if (reply) reply.textContent = n ? t("reply_count", { n: n.toLocaleString(WORDS.lang) }) : t("reply");
    root.classList.toggle("has-replies", n > 0);
  }

  function show(m, known) {
    const list = $("messages");
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    const existing = document.getElementById("m-" + m.id);
    if (known && existing) {
      const text = existing.querySelector(":scope > .text");
      text.textContent = "";
      render(text, m);
      return;
    }
    if (existing) return;
    const el = messageElement(m);
    const root = m.thread && document.getElementById("m-" + m.thread);
    if (root && root.parentElement === list) {
      root.querySelector(":scope > .thread").append(el);
      countReplies(root);
    } else {
      if (m.thread) {  // its thread's first message is not loaded: say where it belongs
        el.classList.add("orphan-reply");
        el.querySelector(":scope > .meta").append(" · ", t("in_thread"));
      }
      list.append(el);
    }
    if (nearBottom || m.user === state.user) list.scrollTop = list.scrollHeight;
  }

  function onRoomMessage(feed, m, known, live) {
    if (feed !== state.feed) return;
    show(m, known);
    if (live && !known && m.user !== state.user) announce(t("said", { name: m.user, text: m.text }));
  }

  function onDirectMessage(feed, m, known, live) {
    if (feed === state.feed) return onRoomMessage(feed, m, known, live);
    if (live && !known && m.user !== state.user) {
      state.unread += 1;
      renderRooms();
      announce(t("new_from", { name: m.user }));
    }
  }

  // --- rooms --------------------------------------------------------------------------

  function directRoom() {
    return "@" + state.user;
  }

  let knownRooms = [];
  const titles = new Map(); // a breakout group's room has a title as well as a name

  function roomLabel(room) {
    return room === directRoom() ? t("direct", { bot: state.bot }) : "# " + (titles.get(room) || room);
  }

  async function loadRooms() {
    try {
      const data = await call("GET", "/api/chat/rooms?" + query({}));
      knownRooms = data.rooms.map((r) => r.room);
      data.rooms.forEach((r) => titles.set(r.room, r.title));
    } catch (err) {
      say(t("no_rooms", { error: err.message }));
    }
    renderRooms();
  }

  function addRoom(room, title) {
    if (!knownRooms.includes(room)) knownRooms.push(room);
    if (title) titles.set(room, title);
    renderRooms();
  }

  function renderRooms() {
    const list = $("room-list");
    const others = [...new Set([...knownRooms, ...state.extraRooms])];
    const rooms = [directRoom(), ...others.filter((r) => r !== directRoom())];
    list.replaceChildren(...rooms.map((room) => {
      const li = document.createElement("li");
      const b = button(roomLabel(room), "room", () => selectRoom(room, true));
      if (room === state.room) b.setAttribute("aria-current", "true");
      if (room === directRoom() && state.unread && room !== state.room) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = counted("unread", state.unread);
        const name = document.createElement("span");  // shortened before the badge is
        name.className = "room-name";
        name.textContent = b.textContent;
        b.replaceChildren(name, " ", badge);
      }
      li.append(b);
      return li;
    }));
    const unread = state.unread && state.room !== directRoom();
    $("rooms-toggle").textContent = unread ? counted("rooms_unread", state.unread) : WORDS.rooms;
  }

  async function selectRoom(room, fromList) {
    if (state.feed && state.feed !== state.dm) state.feed.close();
    state.room = room;
    localStorage.setItem("cb.room", room);
    leaveThread();
    $("messages").replaceChildren();
    $("room-title").textContent = roomLabel(room);
    $("text").placeholder = room === directRoom()
      ? t("write_to_bot", { bot: state.bot })
      : t("write_to_room", { room: titles.get(room) || room });
    if (room === directRoom()) {
      state.unread = 0;
      state.feed = state.dm;
      state.dm.messages.forEach((m) => show(m, false));
    } else {
      if (!knownRooms.includes(room)) state.extraRooms.add(room);
      state.feed = new Feed(room, onRoomMessage);
      say("");
      state.feed.open().catch((err) => say(err.message));
    }
    renderRooms();
    toggleRooms(false);
    if (fromList) $("text").focus();
  }

  function toggleRooms(open) {
    const toggle = $("rooms-toggle");
    const show = open === undefined ? toggle.getAttribute("aria-expanded") !== "true" : open;
    toggle.setAttribute("aria-expanded", String(show));
    $("sidebar").classList.toggle("open", show);
  }

  // --- acting -------------------------------------------------------------------------

  function enterThread(m) {
    state.thread = m.id;
    const quote = m.text.length > 80 ? m.text.slice(0, 79) + "…" : m.text;
    $("thread-quote").textContent = t("replying", { quote });
    $("thread-bar").hidden = false;
    $("text").focus();
  }

  function leaveThread() {
    state.thread = null;
    $("thread-bar").hidden = true;
  }

  async function send(event) {
    event.preventDefault();
    const box = $("text");
    const text = box.value;
    if (!text.trim()) return;
    const body = { room: state.room, text };
    if (state.thread) body.thread = state.thread;
    try {
      await call("POST", "/api/chat/messages", body);
      box.value = "";
      fit(box);
      say("");
    } catch (err) {
      say(t("not_sent", { error: err.message }));
    }
  }

  async function press(m, b, el) {
    if (b.form) return openForm(m, b, el);
    try {
      await call("POST", "/api/chat/buttons",
        { room: m.room, message: m.id, action: b.action, value: b.value });
      say(t("chose", { label: b.label }));
    } catch (err) {
      say(t("failed", { error: err.message }));
    }
  }

  // A button with a form asks for text first, in a modal dialog; the text goes to the bot
  // with the press and is never posted as a message.
  const form = { message: null, button: null, opener: null };

  function openForm(m, b, el) {
    Object.assign(form, { message: m, button: b, opener: el });
    $("form-title").textContent = b.form.title;
    $("form-label").textContent = b.form.label;
    $("form-text").maxLength = b.form.max;
    $("form-text").value = "";
    $("form-error").textContent = "";
    $("form-dialog").showModal();
    $("form-text").focus();
  }

  async function submitForm(e) {
    e.preventDefault();
    const text = $("form-text").value;
    if (!text.trim()) return;
    const { message: m, button: b } = form;
    try {
      await call("POST", "/api/chat/buttons",
        { room: m.room, message: m.id, action: b.action, value: b.value, text });
      $("form-dialog").close();
      say(t("sent_to_bot"));
    } catch (err) {
      $("form-error").textContent = t("not_sent", { error: err.message });
    }
  }

  async function react(m, el) {
    try {
      await call("POST", "/api/chat/reactions", { room: m.room, message: m.id, key: REACTION });
      el.setAttribute("aria-pressed", "true");
    } catch (err) {
      say(t("failed", { error: err.message }));
    }
  }

  function fit(box) {
    box.style.height = "auto";
    box.style.height = Math.min(box.scrollHeight, 160) + "px";
  }

  // --- starting -----------------------------------------------------------------------

  async function start(user) {
    state.user = user;
    $("signin").hidden = true;
    $("app").hidden = false;
    $("me").textContent = t("you_are", { name: user });
    $("change-name").hidden = state.mode !== "open";
    state.dm = new Feed(directRoom(), onDirectMessage);
    await loadRooms();
    const dmReady = state.dm.open().catch((err) => say(err.message));
    const saved = localStorage.getItem("cb.room");
    const room = saved && (!saved.startsWith("@") || saved === directRoom()) ? saved : "main";
    if (room === directRoom()) await dmReady;
    await selectRoom(room, false);
    $("text").focus();
  }

  function askName() {
    $("app").hidden = true;
    $("signin").hidden = false;
    $("name-form").hidden = false;
    $("name-input").focus();
  }

  function wire() {
    $("name-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const name = $("name-input").value.trim();
      if (!name) return;
      if (name === state.bot) {
        $("name-input").setCustomValidity(t("bots_name"));
        $("name-input").reportValidity();
        return;
      }
      localStorage.setItem("cb.name", name);
      start(name);
    });
    $("name-input").addEventListener("input", (e) => e.target.setCustomValidity(""));
    $("join-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const room = $("join-input").value.trim();
      if (!room) return;
      $("join-input").value = "";
      selectRoom(room, true);
    });
    $("composer").addEventListener("submit", send);
    $("form-form").addEventListener("submit", submitForm);
    $("form-cancel").addEventListener("click", () => $("form-dialog").close());
    $("form-dialog").addEventListener("close", () => { if (form.opener) form.opener.focus(); });
    $("text").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        $("composer").requestSubmit();
      } else if (e.key === "Escape" && state.thread) {
        leaveThread();
      }
    });
    $("text").addEventListener("input", (e) => fit(e.target));
    $("thread-cancel").addEventListener("click", () => { leaveThread(); $("text").focus(); });
    $("rooms-toggle").addEventListener("click", () => {
      toggleRooms();
      if ($("sidebar").classList.contains("open")) $("room-list").querySelector("button").focus();
    });
    $("sidebar").addEventListener("keydown", (e) => {
      if (e.key === "Escape" && $("sidebar").classList.contains("open")) {
        toggleRooms(false);
        $("rooms-toggle").focus();
      }
    });
    $("change-name").addEventListener("click", () => {
      localStorage.removeItem("cb.name");
      location.reload();
    });
  }

  async function main() {
    wire();
    const params = new URLSearchParams(location.search);
    if (params.has("token")) {
      sessionStorage.setItem("cb.token", params.get("token"));
      history.replaceState(null, "", location.pathname);
    }
    state.token = sessionStorage.getItem("cb.token");
    let me;
    try {
      me = await call("GET", "/api/chat/me");
    } catch (err) {
      $("signin").hidden = false;
      $("token-needed").hidden = false;
      $("token-needed").textContent = t("link_expired");
      return;
    }
    state.mode = me.mode;
    state.bot = me.bot;
    document.querySelectorAll(".bot-name").forEach((el) => { el.textContent = me.bot; });
    if (me.mode === "token") {
      if (me.user) return start(me.user);
      $("signin").hidden = false;
      $("token-needed").hidden = false;
      $("token-needed").textContent = t("link_needed");
      return;
    }
    const name = localStorage.getItem("cb.name");
    if (name) start(name);
    else askName();
  }

  main();
})();
