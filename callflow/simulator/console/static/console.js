// callflow console: places simulated calls against the App this server runs.
// Plain JavaScript, no framework, no build. Text from the App (Say text, URLs, XML) is only
// ever set with textContent or attributes, never parsed as HTML.
"use strict";

(() => {
  const API = "/_console/api";
  const KEYS = "0123456789*#";
  const PROBLEM_EVENTS = new Set(["error", "fallback", "fetch-failed", "warning"]);

  const $ = (id) => document.getElementById(id);
  let call = null; // the call running now: {id, next}
  let listening = null; // what the running command listens for, or null
  let ringing = null; // the Dial target ringing, or null
  let map = { nodes: [], marked: [] };
  let documentCount = 0;

  // -- small helpers --------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  async function api(method, path, body) {
    const options = { method, headers: {} };
    if (body !== undefined) {
      options.headers["content-type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(API + path, options);
    let data = {};
    try {
      data = await response.json();
    } catch (ignored) {
      data = {};
    }
    if (!response.ok) {
      const error = new Error(data.error || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // "1 flow", "2 flows": a count with its noun.
  function count(number, noun) {
    return `${number} ${noun}${number === 1 ? "" : "s"}`;
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function setStatus(text, kind) {
    const status = $("status");
    status.textContent = text;
    status.className = "status" + (kind ? " " + kind : "");
  }

  function scrollDown(list) {
    list.scrollTop = list.scrollHeight;
  }

  // -- the XML of a document, highlighted ------------------------------------------------

  const TOKEN = /<!--[\s\S]*?(?:-->|$)|<\?[\s\S]*?(?:\?>|$)|<!\[CDATA\[[\s\S]*?(?:\]\]>|$)|<[^>]*>?|[^<]+/g;
  const TAG = /^(<\/?)([^\s/>]*)([\s\S]*?)(\/?>)?$/;
  const ATTRIBUTE = /(\s+)|([^\s=]+)(\s*=\s*)?("[^"]*"?|'[^']*'?)?|([\s\S])/g;

  function span(parent, className, text) {
    if (text) parent.append(el("span", className, text));
  }

  function highlightTag(parent, text) {
    const parts = TAG.exec(text);
    if (!parts) {
      span(parent, "x-text", text);
      return;
    }
    span(parent, "x-punct", parts[1]);
    span(parent, "x-tag", parts[2]);
    for (const a of parts[3].matchAll(ATTRIBUTE)) {
      if (a[1]) parent.append(a[1]);
      else if (a[5]) span(parent, "x-punct", a[5]);
      else {
        span(parent, "x-attr", a[2]);
        span(parent, "x-punct", a[3]);
        span(parent, "x-value", a[4]);
      }
    }
    span(parent, "x-punct", parts[4]);
  }

  // A document in canonical form is one line: lay it out one element a line, leaving text
  // inside an element (a Say's) where it is. A document with line breaks of its own is shown
  // as it came, so lint's line numbers match.
  function laidOut(text) {
    const tokens = Array.from(text.matchAll(TOKEN), (m) => m[0]);
    const body = text.replace(/^<\?[\s\S]*?\?>\s*/, "");
    if (body.includes("\n")) return tokens;
    const out = [];
    let depth = 0;
    let previous = "";
    for (const token of tokens) {
      const isTag = token.startsWith("<");
      if (!isTag && !token.trim()) continue;
      const closing = token.startsWith("</");
      const opening = isTag && !closing && !token.startsWith("<?") && !token.startsWith("<!") && !token.endsWith("/>");
      if (closing) depth = Math.max(0, depth - 1);
      const afterText = previous && !previous.startsWith("<");
      const afterOpen = previous.startsWith("<") && !previous.startsWith("</") && !previous.endsWith("/>") && !previous.startsWith("<?");
      const breakHere = isTag && previous && !afterText && !(closing && afterOpen);
      if (breakHere) out.push("\n" + "  ".repeat(depth));
      out.push(token);
      if (opening) depth += 1;
      previous = token;
    }
    return out;
  }

  function highlightXml(text) {
    const pre = el("pre", "xml");
    const code = el("code");
    for (const token of laidOut(text)) {
      if (token.startsWith("\n")) code.append(token);
      else if (token.startsWith("<!--")) span(code, "x-comment", token);
      else if (token.startsWith("<?")) span(code, "x-pi", token);
      else if (token.startsWith("<![CDATA[")) span(code, "x-text", token);
      else if (token.startsWith("<")) highlightTag(code, token);
      else span(code, "x-text", token);
    }
    pre.append(code);
    return pre;
  }

  // -- the map ------------------------------------------------------------------------------

  const SVG_NS = "http://www.w3.org/2000/svg";
  const SVG_ELEMENTS = new Set([
    "svg", "g", "path", "polygon", "polyline", "ellipse", "circle", "rect", "line", "text",
    "tspan", "title", "defs", "marker", "a",
  ]);
  const SVG_ATTRIBUTES = new Set([
    "id", "class", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "rx", "ry", "width",
    "height", "viewBox", "points", "d", "transform", "fill", "stroke", "stroke-width",
    "stroke-dasharray", "stroke-linecap", "stroke-linejoin", "font-family", "font-size",
    "font-weight", "font-style", "text-anchor", "dominant-baseline", "preserveAspectRatio",
    "opacity", "fill-opacity", "stroke-opacity", "marker-end", "markerWidth", "markerHeight",
    "refX", "refY", "orient",
  ]);

  // Copy the allowed elements and attributes of a parsed SVG into fresh nodes: whatever the
  // drawing holds, no script, event handler, link or foreign content reaches the page.
  function cleanSvg(node) {
    if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.nodeValue);
    if (node.nodeType !== Node.ELEMENT_NODE || node.namespaceURI !== SVG_NS) return null;
    const name = node.localName;
    if (!SVG_ELEMENTS.has(name)) return null;
    const copy = document.createElementNS(SVG_NS, name === "a" ? "g" : name);
    for (const attribute of node.attributes) {
      const value = attribute.value;
      if (SVG_ATTRIBUTES.has(attribute.name) && !/url\s*\(\s*['"]?\s*(?!#)/i.test(value)) {
        copy.setAttribute(attribute.name, value);
      }
    }
    for (const child of node.childNodes) {
      const cleaned = cleanSvg(child);
      if (cleaned) copy.append(cleaned);
    }
    return copy;
  }

  async function loadMap() {
    const box = $("map");
    let data;
    try {
      data = await api("GET", "/map");
    } catch (error) {
      data = { available: false, reason: error.message, nodes: [] };
    }
    map.nodes = data.nodes || [];
    box.replaceChildren();
    let drawn = null;
    if (data.available && data.svg) {
      const parsed = new DOMParser().parseFromString(data.svg, "image/svg+xml");
      const root = parsed.documentElement;
      drawn = root && root.localName === "svg" ? cleanSvg(root) : null;
    }
    if (drawn) {
      box.append(drawn);
      box.dataset.state = "drawn";
    } else {
      box.append(el("p", "muted", "Map unavailable: " + (data.reason || "the drawing could not be read")));
      box.dataset.state = "unavailable";
    }
    const findings = data.findings || [];
    if (findings.length) {
      const list = el("ul", "map-findings");
      for (const f of findings) {
        list.append(el("li", null, [f.code, f.message].filter(Boolean).join(" ")));
      }
      box.append(el("p", "muted", `${count(findings.length, "explore finding")}:`), list);
    }
    $("map-panel").dataset.nodes = String(map.nodes.length);
  }

  function mapGroup(id) {
    const svg = $("map").querySelector("svg");
    return svg ? svg.querySelector(`g[id="cf-${CSS.escape(id)}"]`) : null;
  }

  // Mark ``nodes`` as the current step: the steps before stay marked as visited, and the
  // edges from them to it as taken (graphviz titles an edge "SOURCE->TARGET").
  function moveTo(nodes) {
    const svg = $("map").querySelector("svg");
    for (const id of map.marked) {
      const g = mapGroup(id);
      if (g) g.classList.replace("cf-current", "cf-visited");
    }
    if (svg) {
      for (const edge of svg.querySelectorAll("g.edge")) {
        const title = edge.querySelector("title");
        const [from, to] = title ? title.textContent.split("->") : [];
        if (map.marked.includes(from) && nodes.some((n) => n.id === to)) edge.classList.add("cf-taken");
      }
    }
    map.marked = nodes.map((n) => n.id);
    for (const id of map.marked) {
      const g = mapGroup(id);
      if (g) g.classList.add("cf-current");
    }
  }

  function markStep(documentEvent) {
    const nodes = map.nodes.filter(
      (n) => n.path && (n.path === documentEvent.path || (documentEvent.flow && n.path === documentEvent.flow))
    );
    moveTo(nodes);
    const where = documentEvent.flow ? `${documentEvent.path} (flow ${documentEvent.flow})` : documentEvent.path;
    $("map-step").textContent = nodes.length
      ? `Current step: ${nodes.map((n) => n.label || n.path).join(", ")}`
      : `Current step: ${where} (not on the map)`;
  }

  // The start of the call: the map's call node to the number called, when exactly one is.
  function markStart(called) {
    const digits = (text) => text.replace(/\D/g, "");
    const wanted = digits(called);
    const starts = map.nodes.filter(
      (n) => n.kind === "call" && wanted && digits(n.label.split(" to ").pop()).endsWith(wanted)
    );
    if (starts.length === 1) moveTo(starts);
  }

  // The end of the call: the map's end node of that name, when exactly one has it.
  function markEnd(reason) {
    const ends = map.nodes.filter((n) => n.kind === "end" && n.label === reason);
    if (ends.length !== 1) return;
    moveTo(ends);
    $("map-step").textContent = `Ended: ${reason}`;
  }

  // -- what the page shows of a call ------------------------------------------------------

  function hear(what, content, className) {
    const item = el("li", className);
    item.append(el("span", "what", what));
    if (content instanceof Node) item.append(content);
    else item.append(el("span", "say", content));
    $("transcript").append(item);
    scrollDown($("transcript"));
    return item;
  }

  function speak(text, lang) {
    if (!$("speak").checked || !("speechSynthesis" in window)) return;
    const utterance = new SpeechSynthesisUtterance(text);
    if (lang) utterance.lang = lang;
    window.speechSynthesis.speak(utterance);
  }

  function playable(url) {
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (ignored) {
      return null;
    }
  }

  function onTrace(event) {
    const item = el("li", "ev-" + event.type, event.text);
    if (PROBLEM_EVENTS.has(event.type)) item.classList.add("problem");
    $("trace").append(item);
    scrollDown($("trace"));
    const data = event.event || {};
    switch (event.type) {
      case "say": {
        const text = String(data.text || "").split(/\s+/).join(" ").trim();
        const times = data.loop > 1 ? ` (×${data.loop})` : "";
        hear("Say", text + times, "said");
        speak(text, data.lang);
        break;
      }
      case "play": {
        const source = data.url ? playable(data.url) : null;
        if (source) {
          const audio = el("audio");
          audio.controls = true;
          audio.preload = "none";
          audio.src = source;
          audio.setAttribute("aria-label", "Play " + data.url);
          const box = el("span");
          box.append(audio, el("span", "muted", " " + data.url));
          hear("Play", box);
        } else {
          hear("Play", data.url || `recording ${data.record}`);
        }
        break;
      }
      case "pause":
        hear("Pause", event.text);
        break;
      case "tone":
        hear("Tone", event.text);
        break;
      case "dial":
        hear("Dial", event.text);
        break;
      case "record":
        hear("Record", event.text);
        break;
      case "hold":
        hear("Hold", event.text);
        break;
      case "fallback":
      case "fetch-failed":
        hear("Problem", event.text, "end");
        break;
      case "hangup":
        hear("Hangup", event.text, "end");
        markEnd(data.reason);
        break;
      default:
        break;
    }
  }

  function onDocument(doc) {
    documentCount += 1;
    const box = $("documents");
    if (documentCount === 1) box.replaceChildren();
    for (const old of box.querySelectorAll("details[open]")) old.open = false;
    const details = el("details", "document");
    details.open = true;
    details.dataset.path = doc.path;
    const summary = el("summary");
    summary.append(el("code", null, doc.path));
    summary.append(` ${doc.purpose}, HTTP ${doc.status}`);
    if (doc.flow) summary.append(`, flow ${doc.flow}`);
    const problems = doc.problems || [];
    const findings = doc.findings || [];
    if (problems.length) summary.append(el("span", "badge bad", `invalid: ${count(problems.length, "problem")}`));
    else summary.append(el("span", "badge", "valid"));
    if (findings.length) summary.append(el("span", "badge warn", count(findings.length, "lint finding")));
    details.append(summary);
    details.append(el("p", "doc-url muted", doc.url));
    if (problems.length || findings.length) {
      const list = el("ul");
      for (const p of problems) list.append(el("li", "problem", `line ${p.line}:${p.column}: ${p.message}`));
      for (const f of findings) list.append(el("li", "finding", `line ${f.line}:${f.column}: ${f.code} ${f.message} (${f.hint})`));
      details.append(list);
    }
    details.append(highlightXml(doc.xml + (doc.truncated ? "\n… (cut here)" : "")));
    box.append(details);
    markStep(doc);
  }

  function setListening(ask) {
    listening = ask;
    $("entry").textContent = "";
    for (const button of $("keypad").querySelectorAll("button")) button.disabled = !ask;
    $("no-input").disabled = !ask;
    if (!ask) return;
    if (ask.command === "Pause") {
      setStatus(`Pause listening: press ${ask.dtmf_stop} to end it early, or let it run.`, "listening");
    } else {
      const stop = ask.dtmf_stop ? `, then ${ask.dtmf_stop}` : "";
      const attempt = ask.attempts > 1 ? ` (attempt ${ask.attempt} of ${ask.attempts})` : "";
      setStatus(`Listening: press up to ${count(ask.dtmf_length, "key")}${stop}${attempt}.`, "listening");
    }
  }

  function setRinging(target) {
    ringing = target;
    const box = $("dial-outcomes");
    const hadFocus = box.contains(document.activeElement);
    box.hidden = !target;
    if (!target) {
      if (hadFocus) $("keypad").focus(); // not lost on a hidden button
      return;
    }
    $("dial-question").textContent = `Dial ${target} is ringing: how does it answer?`;
    setStatus(`Dial ${target} is ringing.`, "ringing");
    box.querySelector("button").focus();
  }

  function onEvent(event) {
    switch (event.kind) {
      case "trace":
        onTrace(event);
        break;
      case "document":
        onDocument(event);
        break;
      case "listen":
        setListening(event);
        break;
      case "key":
        $("entry").textContent += event.keys;
        break;
      case "input":
        setListening(null);
        hear("You", event.keys === null ? "(no input)" : `pressed ${event.keys}`, "you");
        setStatus("The call goes on…");
        break;
      case "ring":
        setRinging(event.target);
        break;
      case "dialed":
        setRinging(null);
        hear("Dial", `${event.target}: ${event.outcome}`, "you");
        setStatus("The call goes on…");
        break;
      case "ended":
        // A call that ended by itself said so with its Hangup event already.
        if (event.by !== "call") hear("Ended", `${event.reason}${event.detail ? " (" + event.detail + ")" : ""}`, "end");
        setStatus(`Call ended: ${event.reason}${event.failed ? " (it did not run as written)" : ""}.`);
        break;
      default:
        break;
    }
  }

  // -- placing a call ------------------------------------------------------------------------

  function callEnded() {
    call = null;
    setListening(null);
    setRinging(null);
    $("call").disabled = false;
    $("hangup").disabled = true;
    document.body.dataset.call = "ended";
    if ("speechSynthesis" in window) window.speechSynthesis.cancel();
  }

  async function poll(current) {
    while (call === current) {
      let data;
      try {
        data = await api("GET", `/calls/${encodeURIComponent(current.id)}/events?after=${current.next}`);
      } catch (error) {
        showError("Lost the call: " + error.message);
        if (call === current) callEnded();
        return;
      }
      for (const event of data.events) onEvent(event);
      current.next = data.next;
      if (data.ended) {
        if (call === current) callEnded();
        return;
      }
    }
  }

  async function placeCall(submitted) {
    submitted.preventDefault();
    if (call) return;
    showError("");
    const form = {
      from: $("from").value,
      to: $("to").value,
      at: $("at").value,
      tz: $("tz").value,
      location: $("location").value,
    };
    $("call").disabled = true;
    try {
      const placed = await api("POST", "/calls", form);
      $("transcript").replaceChildren();
      $("trace").replaceChildren();
      $("documents").replaceChildren(el("p", "muted", "Fetching the first document…"));
      documentCount = 0;
      map.marked = [];
      for (const g of $("map").querySelectorAll(".cf-current, .cf-visited, .cf-taken")) {
        g.classList.remove("cf-current", "cf-visited", "cf-taken");
      }
      $("map-step").textContent = "";
      markStart(form.to || $("to").value);
      call = { id: placed.id, next: 0 };
      document.body.dataset.call = "running";
      $("hangup").disabled = false;
      // Out of the form, so that typed keys go to the keypad.
      $("keypad").focus();
      setStatus("Calling…");
      poll(call);
    } catch (error) {
      $("call").disabled = false;
      showError(error.message);
    }
  }

  async function act(action, body) {
    if (!call) return null;
    try {
      return await api("POST", `/calls/${encodeURIComponent(call.id)}/${action}`, body || {});
    } catch (error) {
      showError(error.status === 409 ? `Not now: ${error.message}.` : error.message);
      return null;
    }
  }

  function press(key) {
    const button = $("keypad").querySelector(`button[data-key="${CSS.escape(key)}"]`);
    if (button) {
      button.classList.add("pressed");
      setTimeout(() => button.classList.remove("pressed"), 150);
    }
    if (!listening) {
      showError(`Nothing is listening for keys now (pressed ${key}).`);
      return;
    }
    showError("");
    sendKey(key);
  }

  // Keys go one request at a time, in the order pressed: requests in flight together could
  // arrive in any order.
  let sending = Promise.resolve();

  function sendKey(key) {
    sending = sending.then(() => postKey(key));
  }

  async function postKey(key) {
    if (!call) return;
    try {
      const reply = await api("POST", `/calls/${encodeURIComponent(call.id)}/keys`, { keys: key });
      if (reply.ignored) showError(`Not heard: ${reply.ignored} (the command had its keys).`);
    } catch (error) {
      // The command stopped listening before the key arrived (it had all its keys).
      showError(error.status === 409 ? `Not heard: ${key} (nothing is listening now).` : error.message);
    }
  }

  function hangUp() {
    if (!call) return;
    act("hangup");
    setStatus("Hanging up…");
  }

  // -- start ---------------------------------------------------------------------------------

  async function start() {
    $("call-form").addEventListener("submit", placeCall);
    $("hangup").addEventListener("click", hangUp);
    $("no-input").addEventListener("click", () => act("no-input"));
    for (const button of $("keypad").querySelectorAll("button")) {
      button.disabled = true;
      button.addEventListener("click", () => press(button.dataset.key));
    }
    for (const button of $("dial-outcomes").querySelectorAll("button")) {
      button.addEventListener("click", () => {
        if (ringing) act("dial", { outcome: button.dataset.outcome });
      });
    }
    document.addEventListener("keydown", (event) => {
      const typing = event.target.closest && event.target.closest("input, textarea, select");
      if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key.length === 1 && KEYS.includes(event.key)) {
        event.preventDefault();
        press(event.key);
      }
    });
    // A page that goes away hangs its call up (the server also notices it stopped polling).
    window.addEventListener("pagehide", () => {
      if (!call) return;
      fetch(`${API}/calls/${encodeURIComponent(call.id)}/hangup`, {
        method: "POST",
        keepalive: true,
        headers: { "content-type": "application/json" },
        body: "{}",
      });
    });
    if (!("speechSynthesis" in window)) {
      $("speak").disabled = true;
      $("speak").parentElement.title = "This browser has no speech synthesis";
    }
    try {
      const info = await api("GET", "/app");
      $("from").value = info.from;
      $("to").value = info.to;
      $("tz").value = info.time_zone;
      const zones = $("time-zones");
      for (const zone of info.time_zones) {
        const option = document.createElement("option");
        option.value = zone;
        zones.append(option);
      }
      const flows = info.flows.length;
      const documents = info.documents.length;
      $("app-info").textContent =
        `Simulated calls against the App this server runs: ${count(flows, "flow")}, ${count(documents, "hosted document")}, webhook ${info.webhook}.`;
    } catch (error) {
      showError("Could not read the App: " + error.message);
    }
    document.body.dataset.ready = "true";
    loadMap();
  }

  start();
})();
