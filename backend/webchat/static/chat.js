// Web chat widget: one WebSocket to the hub. The server issues the session token (answering
// our "hello"); it lives in sessionStorage, so a reload in the same tab reconnects to the same
// conversation and shows its history, until the server says the token has expired.
(function () {
  "use strict";
  const TOKEN_KEY = "clinic-chat-token";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const sendButton = document.getElementById("send");
  const typing = document.getElementById("typing");
  const statusBox = document.getElementById("status");
  let socket = null;
  let retryDelay = 1000;
  let ready = false;
  let restarted = false; // the server started a new conversation for this tab
  let unanswered = null; // what the patient sent that has had no answer yet
  const RESTARTED_TEXT =
    "Your earlier chat has ended, so this is a new conversation. Please say again what you need.";

  function showStatus(text, isError) {
    statusBox.textContent = text;
    statusBox.classList.toggle("is-error", Boolean(isError));
    statusBox.hidden = !text;
  }

  function disableOldButtons() {
    log.querySelectorAll(".msg__buttons button").forEach((b) => { b.disabled = true; });
  }

  function addMessage(author, text, buttons) {
    const item = document.createElement("li");
    item.className = "msg msg--" + author;
    item.dataset.author = author;
    item.textContent = text;
    if (buttons && buttons.length) {
      const row = document.createElement("div");
      row.className = "msg__buttons";
      buttons.forEach((button, index) => {
        const el = document.createElement("button");
        el.type = "button";
        el.textContent = button.title;
        el.addEventListener("click", () => choose(index, button.title));
        row.appendChild(el);
      });
      item.appendChild(row);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function setTyping(on) { typing.hidden = !on; }

  function send(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN || !ready) {
      showStatus("Can't reach the assistant right now. Reconnecting…", true);
      return false;
    }
    socket.send(JSON.stringify(frame));
    return true;
  }

  function choose(index, title) {
    if (send({ type: "choice", index: index })) {
      disableOldButtons();
      addMessage("patient", title);
      unanswered = title;
    }
  }

  function handle(frame) {
    switch (frame.type) {
      case "session":
        sessionStorage.setItem(TOKEN_KEY, frame.token);
        restarted = Boolean(frame.restarted);
        break;
      case "history": {
        const midChat = ready; // the token expired while this page was open
        log.innerHTML = "";
        frame.messages.forEach((m) => addMessage(m.author, m.text, m.buttons));
        disableOldButtons();
        const last = log.lastElementChild;
        if (last) last.querySelectorAll("button").forEach((b) => { b.disabled = false; });
        // The message being answered belongs to the new conversation: keep it on screen.
        if (midChat && unanswered) addMessage("patient", unanswered);
        ready = true;
        showStatus(restarted ? RESTARTED_TEXT : "", false);
        break;
      }
      case "typing":
        setTyping(true);
        break;
      case "busy":
        showStatus(frame.text, false);
        break;
      case "bot":
        unanswered = null;
        setTyping(false);
        showStatus("");
        disableOldButtons();
        addMessage(frame.author || "bot", frame.text, frame.buttons);
        break;
      case "error":
        unanswered = null;
        setTyping(false);
        showStatus(frame.text, true);
        break;
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/chat");
    socket.addEventListener("open", () => {
      retryDelay = 1000;
      socket.send(JSON.stringify({ type: "hello", token: sessionStorage.getItem(TOKEN_KEY) }));
    });
    socket.addEventListener("message", (event) => {
      try { handle(JSON.parse(event.data)); } catch (e) { /* ignore malformed frames */ }
    });
    socket.addEventListener("close", () => {
      ready = false;
      setTyping(false);
      showStatus("Can't reach the assistant right now. Reconnecting…", true);
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (send({ type: "message", text: text })) {
      disableOldButtons();
      addMessage("patient", text);
      unanswered = text;
      input.value = "";
      showStatus("");
    }
  });

  connect();
})();
