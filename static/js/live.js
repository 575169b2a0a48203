// Cirrostack live updates: job and VM changes pushed by the server over the WebSocket /ws/jobs/
// (portal/consumers.py). No polling: the page changes when a message arrives, and only then.
//
// The DOM contract (templates mark what may change; this file knows no page):
//   #job-tray[data-ws-path]           the running-jobs tray (templates/ui/_job_tray.html). Without it, no socket.
//                                     Its data-state says "connecting", "open" or "closed".
//   script#live-labels                 translated labels, rendered by the server in the page's language:
//                                     {"vm": {state: label}, "job": {status: label}, "cmd": {cmd: label}}
//   [data-vm-state="<vm uuid>"]       text = the state's label, class state-<state in lower case> (a badge)
//   [data-job-status="<job uuid>"]    text = the status's label, class job-<status code> (a badge)
//   [data-job-progress="<job uuid>"]  a role="progressbar" (aria-valuenow and its .progress-bar's width),
//                                     or any other element, whose text becomes "<progress>%"
//   [data-job-pending="<job uuid>"]   shown only while the job is pending (spinners, "running" notices)
// Every job message is also dispatched on document.body as a CustomEvent "cirrostack:job", and every VM
// state change as "cirrostack:vm", with the job or VM as its detail, so an htmx partial can refresh itself:
//   hx-trigger="cirrostack:vm from:body"
(function () {
  "use strict";

  var tray = document.getElementById("job-tray");
  if (!tray || !("WebSocket" in window) || window.cirrostackLive) {
    return;
  }
  var list = tray.querySelector(".job-tray-list");
  var labels = { vm: {}, job: {}, cmd: {} };
  var labelScript = document.getElementById("live-labels");
  if (labelScript) {
    try {
      labels = JSON.parse(labelScript.textContent);
    } catch (error) {
      // Keep the raw state names: better than no updates at all.
    }
  }

  var SHOW_DONE_MS = 4000; // a finished job stays in the tray this long, then fades out
  var FADE_MS = 600; // matches the transition in static/css/live.css
  var FIRST_RETRY_MS = 1000;
  var MAX_RETRY_MS = 30000;
  var retryMs = FIRST_RETRY_MS;
  var socket = null;
  var retryTimer = null;
  var leaving = false;

  function label(kind, key) {
    return (labels[kind] && labels[kind][key]) || key;
  }

  function marked(attribute, id) {
    var value = window.CSS && CSS.escape ? CSS.escape(id) : id;
    return document.querySelectorAll("[" + attribute + '="' + value + '"]');
  }

  function replaceClass(element, pattern, name) {
    Array.prototype.slice.call(element.classList).forEach(function (existing) {
      if (pattern.test(existing)) {
        element.classList.remove(existing);
      }
    });
    element.classList.add(name);
  }

  function setProgress(element, job) {
    if (element.getAttribute("role") === "progressbar") {
      element.setAttribute("aria-valuenow", String(job.progress));
      var bar = element.querySelector(".progress-bar");
      if (bar) {
        bar.style.width = job.progress + "%";
        replaceClass(bar, /^job-\d+$/, "job-" + job.status_code);
      }
    } else {
      element.textContent = job.progress + "%";
    }
  }

  function dispatch(name, detail) {
    document.body.dispatchEvent(new CustomEvent(name, { detail: detail, bubbles: true }));
  }

  // --- the tray -----------------------------------------------------------------------------------------

  function trayItem(job) {
    var item = list.querySelector('[data-tray-job="' + job.id + '"]');
    if (item) {
      return item;
    }
    item = document.createElement("li");
    item.className = "job-tray-item";
    item.setAttribute("data-tray-job", job.id);
    var link = document.createElement("a");
    link.className = "job-tray-link";
    var what = document.createElement("span");
    what.className = "job-tray-cmd";
    var object = document.createElement("span");
    object.className = "job-tray-object";
    link.appendChild(what);
    link.appendChild(document.createTextNode(" "));
    link.appendChild(object);
    var status = document.createElement("span");
    status.className = "badge job-tray-status";
    var progress = document.createElement("div");
    progress.className = "progress job-tray-progress";
    progress.setAttribute("role", "progressbar");
    progress.setAttribute("aria-valuemin", "0");
    progress.setAttribute("aria-valuemax", "100");
    var bar = document.createElement("div");
    bar.className = "progress-bar";
    progress.appendChild(bar);
    item.appendChild(link);
    item.appendChild(status);
    item.appendChild(progress);
    list.insertBefore(item, list.firstChild);
    return item;
  }

  function removeItem(item) {
    if (item.parentNode) {
      item.parentNode.removeChild(item);
    }
    tray.hidden = !list.querySelector(".job-tray-item");
  }

  function fadeOut(item) {
    item.classList.add("fading");
    item.fadeTimer = window.setTimeout(function () {
      removeItem(item);
    }, FADE_MS);
  }

  function showInTray(job) {
    var item = trayItem(job);
    window.clearTimeout(item.fadeTimer);
    item.classList.remove("fading");
    var link = item.querySelector(".job-tray-link");
    link.href = job.url;
    link.querySelector(".job-tray-cmd").textContent = label("cmd", job.cmd);
    link.querySelector(".job-tray-object").textContent = job.instance_name || "";
    var status = item.querySelector(".job-tray-status");
    status.textContent = label("job", job.status);
    replaceClass(status, /^job-\d+$/, "job-" + job.status_code);
    setProgress(item.querySelector(".job-tray-progress"), job);
    item.title = job.error || "";
    var done = job.status !== "pending";
    item.classList.toggle("done", done);
    item.setAttribute("data-status", job.status);
    tray.hidden = false;
    if (done) {
      item.fadeTimer = window.setTimeout(function () {
        fadeOut(item);
      }, SHOW_DONE_MS);
    }
  }

  // --- messages -------------------------------------------------------------------------------------------

  function applyJob(job) {
    marked("data-job-status", job.id).forEach(function (element) {
      element.textContent = label("job", job.status);
      replaceClass(element, /^job-\d+$/, "job-" + job.status_code);
    });
    marked("data-job-progress", job.id).forEach(function (element) {
      setProgress(element, job);
    });
    marked("data-job-pending", job.id).forEach(function (element) {
      element.hidden = job.status !== "pending";
    });
    showInTray(job);
    dispatch("cirrostack:job", job);
  }

  // The state each VM on the page was last shown in, so "cirrostack:vm" fires only when it moved (the
  // server may repeat a state: messages are states, not changes).
  var shownVmStates = {};

  function applyVm(vm) {
    var state = vm.state.toLowerCase();
    var elements = marked("data-vm-state", vm.id);
    if (!(vm.id in shownVmStates)) {
      shownVmStates[vm.id] = null;
      Array.prototype.slice.call(elements).forEach(function (element) {
        if (element.classList.contains("state-" + state)) {
          shownVmStates[vm.id] = state; // rendered so by the server already
        }
      });
    }
    elements.forEach(function (element) {
      element.textContent = label("vm", vm.state);
      replaceClass(element, /^state-/, "state-" + state);
      element.classList.add("badge");
    });
    if (shownVmStates[vm.id] !== state) {
      shownVmStates[vm.id] = state;
      dispatch("cirrostack:vm", vm);
    }
  }

  function applySnapshot(jobs) {
    var pending = {};
    jobs.forEach(function (job) {
      pending[job.id] = true;
    });
    // After a reconnect: a job the tray still shows as running ended while the socket was down.
    Array.prototype.slice.call(list.querySelectorAll(".job-tray-item:not(.done)")).forEach(function (item) {
      if (!pending[item.getAttribute("data-tray-job")]) {
        removeItem(item);
      }
    });
    jobs.slice().reverse().forEach(applyJob); // oldest first, so the newest ends on top
  }

  function onMessage(event) {
    var message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (message.type === "job" && message.job) {
      applyJob(message.job);
    } else if (message.type === "vm" && message.vm) {
      applyVm(message.vm);
    } else if (message.type === "snapshot" && message.jobs) {
      applySnapshot(message.jobs);
    }
  }

  // --- the socket -----------------------------------------------------------------------------------------

  function setState(state) {
    tray.setAttribute("data-state", state);
  }

  function connect() {
    retryTimer = null;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    setState("connecting");
    socket = new WebSocket(scheme + window.location.host + tray.getAttribute("data-ws-path"));
    socket.onopen = function () {
      retryMs = FIRST_RETRY_MS;
      setState("open");
    };
    socket.onmessage = onMessage;
    socket.onclose = function () {
      socket = null;
      setState("closed");
      if (leaving) {
        return;
      }
      // Back off (with jitter, so a restarted server is not hit by every tab at once).
      var wait = retryMs / 2 + Math.random() * retryMs / 2;
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      retryTimer = window.setTimeout(connect, wait);
    };
  }

  window.addEventListener("pagehide", function () {
    leaving = true;
    if (socket) {
      socket.close();
    }
  });
  window.addEventListener("pageshow", function (event) {
    // Back/forward cache: the page comes back without its socket.
    if (event.persisted && !socket && !retryTimer) {
      leaving = false;
      connect();
    }
  });

  window.cirrostackLive = { applyJob: applyJob, applyVm: applyVm };
  connect();
})();
