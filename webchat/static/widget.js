/*
 * The shop's support chat widget: Rasa's Socket.IO protocol on socket.io-client.
 *
 *   connect → emit "session_request" {session_id}   (the id kept in localStorage, or none)
 *           ← "session_confirm" session_id          (kept, so a reload continues the conversation)
 *   emit "user_uttered" {message, session_id, metadata: {customer_token}}
 *           ← "bot_uttered" {text, quick_replies|buttons, attachment, agent (a person's name)}
 *
 * Configuration: window.ShopAssistantConfig (served as /config.js) says where Rasa is.
 * A logged-in shopper's signed token: window.ShopAssistant = {customerToken: "..."} or
 * data-customer-token on this script tag; it is read at every message, so it may be set late.
 */
(function () {
  "use strict";
  var config = window.ShopAssistantConfig || {};
  var script = document.currentScript;
  var KEY = "shopAssistant.";
  var storage = {
    get: function (name) { try { return window.localStorage.getItem(KEY + name); } catch (e) { return null; } },
    set: function (name, value) { try { window.localStorage.setItem(KEY + name, value); } catch (e) { /* private mode */ } }
  };

  function customerToken() {
    var api = window.ShopAssistant || {};
    return api.customerToken || (script && script.getAttribute("data-customer-token")) || null;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text; // never innerHTML: bot and user text are text
    return node;
  }

  // ---- the widget's DOM -------------------------------------------------------------
  var shopName = config.shopName || "Our shop";
  var launcher = el("button", "sa-launcher");
  launcher.setAttribute("aria-label", "Open chat");
  launcher.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 3C6.5 3 2 6.9 2 11.7c0 2.4 1.1 4.6 3 6.2-.2 1.5-.9 2.9-2 4 2.1-.1 4-.8 5.5-2 1.1.3 2.3.5 3.5.5 5.5 0 10-3.9 10-8.7S17.5 3 12 3z"/></svg>';
  var panel = el("div", "sa-panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", shopName + " support chat");
  var header = el("div", "sa-header");
  header.appendChild(el("div", "sa-avatar", shopName.charAt(0).toUpperCase()));
  var titles = el("div");
  titles.appendChild(el("div", "sa-title", shopName + " Support"));
  var status = el("div", "sa-status sa-offline", "Connecting…");
  titles.appendChild(status);
  header.appendChild(titles);
  var close = el("button", "sa-close", "×");
  close.setAttribute("aria-label", "Close chat");
  header.appendChild(close);
  var messages = el("div", "sa-messages");
  messages.setAttribute("aria-live", "polite");
  var typing = el("div", "sa-typing");
  typing.setAttribute("aria-label", "Assistant is typing");
  typing.appendChild(el("span")); typing.appendChild(el("span")); typing.appendChild(el("span"));
  var form = el("form", "sa-form");
  var input = el("input", "sa-input");
  input.type = "text";
  input.placeholder = "Type your message…";
  input.setAttribute("aria-label", "Message");
  input.autocomplete = "off";
  input.maxLength = 1000;
  var send = el("button", "sa-send", "Send");
  send.type = "submit";
  form.appendChild(input); form.appendChild(send);
  panel.appendChild(header); panel.appendChild(messages); panel.appendChild(form);
  panel.appendChild(el("div", "sa-footer", "Automated assistant · ask for a person any time"));

  // ---- transcript (kept per session so a reload shows the conversation) ----------------
  var sessionId = storage.get("sessionId");
  var transcript = [];
  function loadTranscript() {
    try { transcript = JSON.parse(storage.get("transcript." + sessionId) || "[]"); } catch (e) { transcript = []; }
  }
  function saveTranscript() {
    if (sessionId) storage.set("transcript." + sessionId, JSON.stringify(transcript.slice(-200)));
  }

  function disableOldButtons() {
    var groups = messages.querySelectorAll(".sa-buttons");
    for (var i = 0; i < groups.length; i++) {
      var buttons = groups[i].querySelectorAll("button");
      for (var j = 0; j < buttons.length; j++) buttons[j].disabled = true;
    }
  }

  function render(entry, live) {
    if (entry.from === "user") disableOldButtons();
    if (entry.text) {
      // a person from the support team (the agent inbox) is shown as such
      var message = el("div", "sa-msg sa-" + (entry.agent ? "bot sa-agent" : entry.from), entry.text);
      if (entry.agent) message.insertBefore(el("span", "sa-agent-name", entry.agent + " · support team"),
        message.firstChild);
      messages.insertBefore(message, typing);
    }
    if (entry.image) {
      var bubble = el("div", "sa-msg sa-bot");
      var img = el("img"); img.src = entry.image; img.alt = "";
      bubble.appendChild(img);
      messages.insertBefore(bubble, typing);
    }
    if (entry.buttons && entry.buttons.length) {
      var group = el("div", "sa-buttons");
      entry.buttons.forEach(function (button) {
        var b = el("button", "sa-button", button.title);
        b.type = "button";
        b.disabled = !live;
        b.addEventListener("click", function () { say(button.payload, button.title); });
        group.appendChild(b);
      });
      messages.insertBefore(group, typing);
    }
    messages.scrollTop = messages.scrollHeight;
  }

  function add(entry) {
    transcript.push(entry);
    saveTranscript();
    render(entry, true);
  }

  function renderAll() {
    while (messages.firstChild) messages.removeChild(messages.firstChild);
    messages.appendChild(typing);
    render({ from: "bot", text: "Hi! I'm " + shopName + "'s assistant. I can track an order, start a return, " +
      "cancel or change an order that hasn't shipped, or check on a refund." }, false);
    transcript.forEach(function (entry, index) { render(entry, index === transcript.length - 1); });
  }

  // ---- Socket.IO --------------------------------------------------------------------
  var socketUrl = config.socketUrl || (location.protocol + "//" + location.hostname + ":" + (config.rasaPort || 5005));
  var socket = window.io(socketUrl, { path: config.socketPath || "/socket.io", transports: ["websocket", "polling"] });
  var confirmed = false;
  var outbox = [];
  var typingTimer = null;

  function showTyping(on) {
    typing.classList.toggle("sa-visible", on);
    clearTimeout(typingTimer);
    if (on) typingTimer = setTimeout(function () { showTyping(false); }, 30000);
    messages.scrollTop = messages.scrollHeight;
  }

  function emit(text) {
    var data = { message: text, session_id: sessionId };
    var token = customerToken();
    if (token) data.metadata = { customer_token: token };
    socket.emit("user_uttered", data);
  }

  function say(payload, shown) {
    if (!payload) return;
    add({ from: "user", text: shown || payload });
    showTyping(true);
    if (confirmed) emit(payload); else outbox.push(payload);
  }

  socket.on("connect", function () {
    confirmed = false;
    socket.emit("session_request", { session_id: sessionId });
  });
  socket.on("session_confirm", function (id) {
    id = (id && id.session_id) || id;
    if (id !== sessionId) {
      var typedBeforeConfirm = sessionId ? [] : transcript;
      sessionId = id;
      storage.set("sessionId", id);
      loadTranscript();
      transcript = transcript.concat(typedBeforeConfirm);
      saveTranscript();
      renderAll();
    }
    confirmed = true;
    status.textContent = "Online · replies instantly";
    status.classList.remove("sa-offline");
    while (outbox.length) emit(outbox.shift());
  });
  socket.on("disconnect", function () {
    confirmed = false;
    status.textContent = "Reconnecting…";
    status.classList.add("sa-offline");
  });
  socket.on("bot_uttered", function (message) {
    showTyping(false);
    var buttons = message.quick_replies || message.buttons || [];
    var image = message.attachment && message.attachment.type === "image" && message.attachment.payload
      ? message.attachment.payload.src : null;
    add({
      from: "bot", agent: message.agent || null, text: message.text || "", image: image,
      buttons: buttons.map(function (b) { return { title: b.title, payload: b.payload }; })
    });
  });

  // ---- open / close / send ----------------------------------------------------------
  function setOpen(open) {
    panel.classList.toggle("sa-open", open);
    launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    storage.set("open", open ? "1" : "0");
    if (open) { messages.scrollTop = messages.scrollHeight; input.focus(); }
  }
  launcher.addEventListener("click", function () { setOpen(!panel.classList.contains("sa-open")); });
  close.addEventListener("click", function () { setOpen(false); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    input.value = "";
    say(text);
  });

  loadTranscript();
  renderAll();
  document.body.appendChild(panel);
  document.body.appendChild(launcher);
  setOpen(storage.get("open") === "1");
})();
