/* The agent inbox page: log in, pick a waiting conversation, read it, reply, hand it back.
 * Customer text is untrusted: it is only ever set as textContent, never as HTML. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var BASE = "/webhooks/inbox/";
  var selected = null;
  var timer = null;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function call(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: { "X-Inbox-Request": "1" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(BASE + path, options).then(function (reply) {
      return reply.json().catch(function () { return {}; }).then(function (data) {
        if (reply.status === 401 && path !== "login") showLogin();
        if (!reply.ok) throw new Error(data.message || ("HTTP " + reply.status));
        return data;
      });
    });
  }

  function when(seconds) {
    return seconds ? new Date(seconds * 1000).toLocaleTimeString() : "";
  }

  function showLogin() {
    clearInterval(timer);
    $("login").hidden = false; $("inbox").hidden = true; $("logout").hidden = true; $("who").textContent = "";
  }

  function showInbox(staff) {
    $("login").hidden = true; $("inbox").hidden = false; $("logout").hidden = false;
    $("who").textContent = "Signed in as " + staff;
    refresh();
    clearInterval(timer);
    timer = setInterval(refresh, 2000);
  }

  function refresh() {
    call("GET", "api/conversations").then(renderQueue).catch(function () {});
    if (selected) call("GET", "api/conversation?id=" + encodeURIComponent(selected)).then(renderConversation)
      .catch(function () {});
  }

  function renderQueue(data) {
    var list = $("waiting");
    list.textContent = "";
    $("waiting-count").textContent = "(" + data.waiting.length + ")";
    $("queue-empty").hidden = data.waiting.length > 0;
    data.waiting.forEach(function (item) {
      var button = el("button", item.conversation_id === selected ? "selected" : "");
      button.type = "button";
      button.appendChild(el("strong", "", "Ref " + item.reference));
      button.appendChild(el("span", "meta", item.reason.replace(/_/g, " ") + " · " + (item.channel || "") +
        (item.order_id ? " · order " + item.order_id : "")));
      if (item.last_customer_message) button.appendChild(el("span", "", item.last_customer_message.text));
      button.addEventListener("click", function () { select(item.conversation_id); });
      list.appendChild(el("li")).appendChild(button);
    });
  }

  function select(id) {
    selected = id;
    $("conversation").hidden = false; $("details").hidden = false;
    refresh();
  }

  function renderConversation(data) {
    if (data.conversation_id !== selected) return;
    $("conversation-title").textContent = "Conversation " + data.conversation_id.slice(0, 12) +
      (data.paused ? " · waiting for you" : " · with the assistant");
    $("hand-back").disabled = !data.paused;
    var list = $("transcript");
    var atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 5;
    list.textContent = "";
    data.transcript.forEach(function (row) {
      var who = row.who === "agent" ? row.agent + " (you)" : row.who;
      var item = el("li", row.who, row.text);
      item.title = who + " " + when(row.time);
      if (row.who !== "system") item.insertBefore(el("span", "meta", who + " · " + when(row.time)), item.firstChild);
      list.appendChild(item);
    });
    if (atBottom) list.scrollTop = list.scrollHeight;
    var customer = $("customer");
    customer.textContent = "";
    if (data.customer) {
      customer.appendChild(el("div", "", data.customer.name || data.customer.id));
      customer.appendChild(el("div", "meta", (data.customer.email || "") + " · verified by " + data.verified_via));
    } else {
      customer.appendChild(el("div", "meta", "Not verified"));
    }
    var orders = $("orders");
    orders.textContent = "";
    (data.orders || []).forEach(function (order) {
      var items = (order.items || []).map(function (item) { return item.name; }).join(", ");
      orders.appendChild(el("li", "", "#" + order.order_id + " · " + order.status + " · " + order.total + " " +
        (order.currency || "") + (items ? " · " + items : "")));
    });
    var ledger = $("ledger");
    ledger.textContent = "";
    if (!data.ledger.length) ledger.appendChild(el("li", "meta", "Nothing staged or done"));
    data.ledger.forEach(function (row) {
      ledger.appendChild(el("li", "", row.summary + " — " + row.status.replace(/_/g, " ")));
    });
  }

  $("login").addEventListener("submit", function (event) {
    event.preventDefault();
    $("login-error").textContent = "";
    call("POST", "login", { name: $("login-name").value, password: $("login-password").value })
      .then(function (data) { $("login-password").value = ""; showInbox(data.staff); })
      .catch(function (error) { $("login-error").textContent = error.message; });
  });
  $("logout").addEventListener("click", function () { call("POST", "logout", {}).then(showLogin); });
  $("reply").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("reply-text").value;
    call("POST", "api/reply", { conversation_id: selected, text: text })
      .then(function (data) {
        $("reply-text").value = "";
        $("reply-status").textContent = data.delivered === "pushed" ? "Delivered" :
          "Saved: the customer sees it with their next message";
        refresh();
      })
      .catch(function (error) { $("reply-status").textContent = error.message; });
  });
  $("hand-back").addEventListener("click", function () {
    call("POST", "api/hand-back", { conversation_id: selected }).then(function () {
      $("reply-status").textContent = "Handed back to the assistant";
      refresh();
    }).catch(function (error) { $("reply-status").textContent = error.message; });
  });

  call("GET", "api/me").then(function (data) { showInbox(data.staff); }).catch(showLogin);
})();
