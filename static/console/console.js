// Cirrostack VM console: noVNC over the portal's console WebSocket (compute.consumers.ConsoleConsumer).
//
// The page (templates/compute/console.html) holds no ticket: before every connection this script POSTs to
// data-ticket-url for a single-use ticket and opens data-ws-path?token=... with it. The one exception is the
// first connection of a page opened with ?token= (CloudStack's console URL), which uses that ticket once.
//
// We open the WebSocket ourselves and hand it to noVNC, so its close code tells us what to do next:
//   4000 (the VM moved), 4001 (its VNC server went away), 1006 (refused handshake, network) and anything
//   unexpected: fetch a new ticket and reconnect, with growing pauses, giving up after MAX_FAILURES attempts
//   in a row that never got connected;
//   4401 (signed out), 4403 (no permission), 4404 (VM stopped), 4408 (idle): final, the reason is shown with
//   a Reconnect button.
// A ticket request refused with a 4xx (not running, no permission, signed out) is final too: its message is
// shown. noVNC is loaded with import() from data-rfb-module, the {% static %} URL of its core/rfb.js.

const FINAL_CODES = [4401, 4403, 4404, 4408];
const MAX_FAILURES = 10;
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 8000;
const SERIAL_POLL_MS = 1000;
const XK_RETURN = 0xff0d;
const XK_TAB = 0xff09;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u; // typed as nothing, except newline and tab
const PASTE_CHUNK = 64; // key presses sent per animation frame: long pastes do not freeze the page

const root = document.getElementById("console");
const screen = document.getElementById("console-screen");
const statusText = document.getElementById("console-status-text");
const buttons = {
  cad: document.getElementById("console-cad"),
  scale: document.getElementById("console-scale"),
  fullscreen: document.getElementById("console-fullscreen"),
  reconnect: document.getElementById("console-reconnect"),
  paste: document.getElementById("console-paste-send"),
};
const strings = {};
document.querySelectorAll("#console-strings [data-key]").forEach((item) => {
  strings[item.dataset.key] = item.textContent.trim();
});

let RFB = null; // the noVNC class, once loaded
let rfb = null; // the current RFB object
let rfbDone = false; // it has disconnected (noVNC objects are single-use: a new one per connection)
let socket = null; // the WebSocket of the current attempt; events of older ones are ignored
let attempt = 0; // bumped by every teardown: an attempt still waiting for its ticket then gives up
let failures = 0; // attempts in a row that did not get connected
let retryTimer = null;
let scale = true;
// A ticket handed over in the URL serves the first connection only; it is taken out of the address bar so
// a reload or a copied link does not try to spend it again.
const url = new URL(window.location.href);
let handedToken = url.searchParams.get("token");
if (handedToken !== null) {
  url.searchParams.delete("token");
  window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
}

function setState(state, text) {
  root.dataset.state = state;
  statusText.textContent = text;
  const connected = state === "connected";
  buttons.cad.disabled = !connected;
  buttons.paste.disabled = !connected;
  buttons.reconnect.hidden = !(state === "disconnected" || state === "reconnecting");
}

class TicketError extends Error {
  constructor(message, final) {
    super(message);
    this.final = final;
  }
}

function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : root.dataset.csrf;
}

async function postJson(target) {
  let response;
  try {
    response = await fetch(target, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    });
  } catch (error) {
    throw new TicketError(strings.network, false);
  }
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    body = null; // not JSON: e.g. Django's CSRF failure page, or a proxy's error page
  }
  if (!response.ok) {
    const message = (body && body.error) || strings.ticket_failed;
    // 4xx: asking again will not help (signed out, not allowed, VM not running); 5xx may pass.
    throw new TicketError(message, response.status >= 400 && response.status < 500);
  }
  return body || {};
}

function socketUrl(path, token) {
  const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  return `${scheme}${window.location.host}${path}?token=${encodeURIComponent(token)}`;
}

function teardown() {
  attempt += 1;
  clearTimeout(retryTimer);
  retryTimer = null;
  socket = null; // from now on the old socket's close event is not ours to act on
  if (rfb !== null) {
    const old = rfb;
    rfb = null;
    if (!rfbDone) {
      old.disconnect();
    }
  }
}

function stop(message) {
  teardown();
  failures = 0;
  setState("disconnected", message ? `${strings.disconnected}: ${message}` : strings.disconnected);
}

function retry() {
  teardown();
  failures += 1;
  if (failures >= MAX_FAILURES) {
    stop(strings.gave_up);
    return;
  }
  const delay = Math.min(FIRST_DELAY_MS * 2 ** (failures - 1), MAX_DELAY_MS);
  setState("reconnecting", strings.reconnecting);
  retryTimer = setTimeout(connect, delay);
}

async function connect() {
  teardown();
  setState(failures ? "reconnecting" : "connecting", failures ? strings.reconnecting : strings.connecting);
  const mine = attempt;
  let token = handedToken;
  let path = root.dataset.wsPath;
  handedToken = null;
  if (token === null) {
    try {
      const ticket = await postJson(root.dataset.ticketUrl);
      token = ticket.token;
      path = ticket.websocket || path;
    } catch (error) {
      if (mine !== attempt) {
        return; // superseded meanwhile (Reconnect clicked)
      }
      if (error.final) {
        stop(error.message);
      } else {
        retry();
      }
      return;
    }
    if (mine !== attempt) {
      return; // superseded meanwhile: this ticket is left to expire unused
    }
  }
  const ws = new WebSocket(socketUrl(path, token));
  socket = ws;
  const session = new RFB(screen, ws, { shared: true });
  rfb = session;
  rfbDone = false;
  session.scaleViewport = scale;
  session.addEventListener("connect", () => {
    if (ws === socket) {
      failures = 0;
      // How many sessions this page has had: tells a reconnection (after a migration) from the first one.
      root.dataset.connections = String(Number(root.dataset.connections || 0) + 1);
      setState("connected", strings.connected);
      session.focus();
    }
  });
  session.addEventListener("disconnect", () => {
    if (session === rfb) {
      rfbDone = true;
    }
  });
  // Added after noVNC's own handler, so noVNC has wound the session down when this runs.
  ws.addEventListener("close", (event) => closed(ws, event));
}

function closed(ws, event) {
  if (ws !== socket) {
    return; // an attempt we abandoned ourselves (Reconnect, teardown)
  }
  if (FINAL_CODES.includes(event.code)) {
    stop(strings[`close_${event.code}`]);
    return;
  }
  retry(); // 4000 moved, 4001 VNC lost, 1006 refused or cut, anything else: try again with a new ticket
}

// --- toolbar ----------------------------------------------------------------------------------------------

buttons.cad.addEventListener("click", () => {
  if (rfb !== null) {
    rfb.sendCtrlAltDel();
    rfb.focus();
  }
});

function showScale() {
  buttons.scale.setAttribute("aria-pressed", scale ? "true" : "false");
}

buttons.scale.addEventListener("click", () => {
  scale = !scale;
  showScale();
  if (rfb !== null) {
    rfb.scaleViewport = scale;
  }
});

buttons.fullscreen.addEventListener("click", () => {
  if (document.fullscreenElement) {
    document.exitFullscreen();
  } else if (root.requestFullscreen) {
    root.requestFullscreen().then(() => rfb && rfb.focus()).catch((error) => {
      console.warn("full screen was refused:", error); // e.g. not from a click; the page works on as it was
    });
  }
});
if (!document.fullscreenEnabled) {
  buttons.fullscreen.hidden = true;
}

buttons.reconnect.addEventListener("click", () => {
  failures = 0;
  connect();
});

// Paste: each character becomes a key press. Latin-1 characters are their own keysyms; any other Unicode
// character is 0x01000000 + its code point (X11's Unicode keysyms); a newline is Return, a tab Tab.
function keysymOf(character) {
  const point = character.codePointAt(0);
  if (character === "\n") {
    return XK_RETURN;
  }
  if (character === "\t") {
    return XK_TAB;
  }
  if ((point >= 0x20 && point <= 0x7e) || (point >= 0xa0 && point <= 0xff)) {
    return point;
  }
  return 0x01000000 + point;
}

// QEMU turns a keysym into the scan code of its key and leaves modifiers to the client, so "A" or ">" sent
// alone arrive as "a" and ".": Shift is held around the characters a US keyboard types with it (QEMU's
// default keymap, and the layout guests are installed with unless told otherwise).
const US_SHIFTED = '~!@#$%^&*()_+{}|:"<>?';
const XK_SHIFT_L = 0xffe1;

function needsShift(character) {
  return (character >= "A" && character <= "Z") || US_SHIFTED.includes(character);
}

function typeCharacter(target, character) {
  const shift = needsShift(character);
  if (shift) {
    target.sendKey(XK_SHIFT_L, "ShiftLeft", true);
  }
  target.sendKey(keysymOf(character), null);
  if (shift) {
    target.sendKey(XK_SHIFT_L, "ShiftLeft", false);
  }
}

document.getElementById("console-paste-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const area = document.getElementById("console-paste-text");
  const characters = Array.from(area.value.replace(/\r\n?/g, "\n"))
    .filter((c) => c === "\n" || c === "\t" || !CONTROL.test(c));
  const target = rfb;
  let index = 0;
  function typeSome() {
    if (target === null || target !== rfb) {
      return; // the connection changed while typing: stop rather than type into another session
    }
    const end = Math.min(index + PASTE_CHUNK, characters.length);
    for (; index < end; index += 1) {
      typeCharacter(target, characters[index]);
    }
    if (index < characters.length) {
      window.requestAnimationFrame(typeSome);
    } else {
      document.getElementById("console-paste-result").textContent =
        strings.pasted.replace("%(count)s", String(characters.length));
      target.focus();
    }
  }
  typeSome();
});

// --- serial console ----------------------------------------------------------------------------------------

const serial = document.getElementById("console-serial");
const serialButton = document.getElementById("console-serial-read");
if (serialButton !== null) {
  const serialStatus = document.getElementById("console-serial-status");
  const serialText = document.getElementById("console-serial-text");

  const poll = async (resultUrl) => {
    let body;
    try {
      const response = await fetch(resultUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      body = await response.json();
      if (!response.ok) {
        throw new TicketError(body.error || strings.serial_failed, true);
      }
    } catch (error) {
      serialStatus.textContent = error instanceof TicketError ? error.message : strings.serial_failed;
      serialButton.disabled = false;
      return;
    }
    if (body.status === "pending") {
      window.setTimeout(() => poll(resultUrl), SERIAL_POLL_MS);
      return;
    }
    serialButton.disabled = false;
    if (body.status === "succeeded") {
      serialText.hidden = false;
      serialText.textContent = body.text || strings.serial_empty;
      serialText.scrollTop = serialText.scrollHeight;
      serialStatus.textContent = strings.serial_done;
    } else {
      serialStatus.textContent = body.error || strings.serial_failed;
    }
  };

  serialButton.addEventListener("click", async () => {
    serialButton.disabled = true;
    serialStatus.textContent = strings.serial_reading;
    try {
      const job = await postJson(serial.dataset.serialUrl);
      poll(job.result || `${serial.dataset.serialUrl}${job.jobid}/`);
    } catch (error) {
      serialStatus.textContent = error.message;
      serialButton.disabled = false;
    }
  });
}

// --- start ------------------------------------------------------------------------------------------------

showScale();
import(root.dataset.rfbModule).then(
  (module) => {
    RFB = module.default;
    connect();
  },
  () => setState("disconnected", strings.load_failed),
);
