// The status page of a Causeway gateway: reads the gateway's own /v1 API with a bearer token
// and follows its event stream. No framework, nothing loaded from elsewhere (the page's CSP
// allows only this origin), and every value is written with textContent, never as HTML.
//
// The token: EventSource cannot send an Authorization header, so the event stream is read with
// fetch() and a stream reader. The token comes from the form or from the URL's fragment
// (#token=...; a fragment is never sent to a server nor logged), is kept in this tab's
// sessionStorage only, and the fragment is removed from the address bar at once.
"use strict";

(function () {
  const KEY = "causeway-token";
  const RECENT = 100; // recent status changes kept on the page
  const state = { token: null, lanes: [], chains: [], recent: [], lastSeq: 0, selected: null, stream: null };

  const $ = (id) => document.getElementById(id);

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function cell(row, text, cls, field) {
    const td = el("td", text === undefined || text === null ? "\u2014" : text, cls);
    if (field) td.dataset.field = field;
    row.appendChild(td);
    return td;
  }

  function ago(ms) {
    if (ms === null || ms === undefined) return null;
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  }

  function short(hex) {
    return hex && hex.length > 14 ? hex.slice(0, 8) + "\u2026" + hex.slice(-6) : hex;
  }

  function chainName(domain) {
    const c = state.chains.find((c) => c.domain === domain);
    return c ? c.name : String(domain);
  }

  class Unauthorized extends Error {}

  async function api(path, init) {
    const headers = Object.assign({ Authorization: "Bearer " + state.token }, (init && init.headers) || {});
    const res = await fetch(path, Object.assign({}, init || {}, { headers, cache: "no-store" }));
    if (res.status === 401 || res.status === 403) {
      let message = res.statusText;
      try { message = (await res.json()).message; } catch (_) { /* not JSON */ }
      throw new Unauthorized(message);
    }
    return res;
  }

  async function json(path) {
    const res = await api(path);
    if (!res.ok) {
      let message = res.status + " " + res.statusText;
      try { const b = await res.json(); message = b.message + " (" + b.hint + ")"; } catch (_) { /* not JSON */ }
      throw new Error(path + ": " + message);
    }
    return res.json();
  }

  function replaceRows(table, rows) {
    const body = $(table).tBodies[0];
    body.replaceChildren(...rows);
    $(table).dataset.rows = String(rows.length);
  }

  function renderChains() {
    replaceRows("chains", state.chains.map((c) => {
      const tr = el("tr");
      tr.dataset.chain = c.name;
      cell(tr, c.name, null, "name");
      cell(tr, c.domain, "num", "domain");
      cell(tr, c.family, null, "family");
      cell(tr, c.status, c.status === "up" ? "ok" : "bad", "status").title = c.error || "";
      cell(tr, c.head, "num", "head");
      cell(tr, c.final_height, "num", "final");
      cell(tr, c.lag, "num", "lag");
      return tr;
    }));
  }

  function renderLanes() {
    replaceRows("lanes", state.lanes.map((l) => {
      const tr = el("tr");
      tr.dataset.lane = l.name;
      const b = l.backlog;
      cell(tr, l.name + (l.paused ? " (paused)" : ""), l.paused ? "warn" : null, "name");
      cell(tr, l.origin.name + " \u2192 " + l.destination.name, null, "route");
      cell(tr, l.log_size, "num", "log_size");
      cell(tr, b.pending, "num", "pending");
      cell(tr, b.leased, "num", "leased");
      cell(tr, b.submitted, "num", "submitted");
      cell(tr, b.confirmed, "num", "confirmed");
      cell(tr, b.dead_letter, b.dead_letter > 0 ? "num bad" : "num", "dead_letter");
      cell(tr, ago(b.oldest_pending_since_ms), null, "oldest_pending");
      const cp = l.threshold_checkpoint;
      const cpCell = cell(tr, cp ? cp.size + " leaves, " + cp.signatures + " signatures" : null, null, "checkpoint");
      if (cp) { cpCell.title = "root " + cp.root; cpCell.dataset.size = String(cp.size); }
      cell(tr, ago(l.last_delivery_at_ms), null, "last_delivery");
      return tr;
    }));
    const rows = [];
    for (const l of state.lanes) {
      for (const v of l.validators) {
        const tr = el("tr");
        tr.dataset.lane = l.name;
        tr.dataset.member = v.member;
        cell(tr, l.name, null, "lane");
        cell(tr, v.member, null, "member");
        cell(tr, v.address, "mono", "address");
        cell(tr, v.checkpoints_signed, "num", "checkpoints_signed");
        cell(tr, v.last_signed_size, "num", "last_signed_size");
        cell(tr, ago(v.last_signed_at_ms), null, "last_signed");
        cell(tr, v.equivocated ? "equivocated" : "ok", v.equivocated ? "bad" : "ok", "state");
        rows.push(tr);
      }
    }
    replaceRows("validators", rows);
  }

  function renderAlerts() {
    const alerts = [];
    for (const l of state.lanes) {
      for (const v of l.validators) {
        if (v.equivocated) alerts.push(["bad", "equivocation", "Lane " + l.name + ": validator of " + v.member + " (" + v.address + ") signed two roots for one size; its signatures no longer count."]);
      }
      if (l.root_mismatches) alerts.push(["bad", "root_mismatch", "Lane " + l.name + ": " + l.root_mismatches + " member signature(s) over another root than this gateway's since it started."]);
      if (l.backlog.dead_letter > 0) alerts.push(["warn", "dead_letter", "Lane " + l.name + ": " + l.backlog.dead_letter + " dead letter(s) (retry with POST /v1/messages/{id}/retry)."]);
      if (l.paused) alerts.push(["warn", "paused", "Lane " + l.name + " is paused in the configuration."]);
    }
    for (const c of state.chains) {
      if (c.status !== "up") alerts.push(["bad", "chain", "Chain " + c.name + ": " + c.status + (c.error ? " (" + c.error + ")" : "")]);
    }
    const list = $("alerts");
    list.dataset.count = String(alerts.length);
    list.replaceChildren(...(alerts.length ? alerts.map(([cls, kind, text]) => {
      const li = el("li", text, cls);
      li.dataset.kind = kind;
      return li;
    }) : [el("li", "none", "quiet")]));
  }

  function renderRecent() {
    replaceRows("recent", state.recent.map((e) => {
      const tr = el("tr");
      tr.dataset.id = e.id;
      tr.dataset.seq = String(e.seq);
      if (state.selected === e.id) tr.className = "selected";
      cell(tr, new Date(e.at_ms).toLocaleTimeString(), null, "at");
      cell(tr, short(e.id), "mono", "id").title = e.id;
      cell(tr, chainName(e.origin) + " \u2192 " + chainName(e.destination), null, "lane");
      cell(tr, e.status + (e.reason ? " (" + e.reason + ")" : ""), e.status === "dead_letter" ? "bad" : null, "status");
      tr.addEventListener("click", () => showMessage(e.id));
      return tr;
    }));
  }

  async function showMessage(id) {
    state.selected = id;
    renderRecent();
    const m = await json("/v1/messages/" + encodeURIComponent(id));
    $("message").hidden = false;
    $("message").dataset.id = m.id;
    $("message-id").textContent = m.id;
    const facts = [
      ["Lane", chainName(m.origin) + " \u2192 " + chainName(m.destination)],
      ["State", m.state],
      ["Nonce", m.nonce],
      ["Sender", m.sender],
      ["Recipient", m.recipient],
      ["Leaf index", m.leaf_index],
      ["Attempts", m.attempts],
      ["Attested", m.attested ? "checkpoint of " + m.attested.checkpoint_size + " leaves, " + m.attested.signatures + " signatures" : "not yet"],
      ["Confirmed in block", m.confirmed_block],
      ["Last error", m.last_error],
    ];
    $("message-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", k), el("dd", v === null || v === undefined ? "\u2014" : v)]));
    $("message-history").replaceChildren(...m.history.map((h) => {
      const li = el("li", new Date(h.at_ms).toLocaleString() + " \u2014 " + h.status + (h.reason ? " (" + h.reason + ")" : ""));
      li.dataset.status = h.status;
      return li;
    }));
    $("message-history").dataset.count = String(m.history.length);
    $("proof").disabled = !m.attested;
    $("proof-note").textContent = m.attested ? "" : "no checkpoint with a quorum covers it yet";
  }

  async function downloadProof() {
    const id = state.selected;
    if (!id) return;
    const res = await api("/v1/messages/" + encodeURIComponent(id) + "/proof");
    if (!res.ok) {
      $("proof-note").textContent = "no proof: " + res.status + " " + res.statusText;
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    const a = el("a");
    a.href = url;
    a.download = "causeway-proof-" + id + ".json";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    $("proof-note").textContent = "saved; check it offline with causeway verify";
  }

  async function refresh() {
    const [chains, lanes] = await Promise.all([json("/v1/chains"), json("/v1/lanes")]);
    state.chains = chains.chains;
    state.lanes = lanes.lanes;
    renderChains();
    renderLanes();
    renderAlerts();
    renderRecent();
    document.body.dataset.refreshedAt = String(Date.now());
  }

  let refreshTimer = null;
  function refreshSoon() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      refresh().catch(showError);
    }, 500);
  }

  function setLive(on, text) {
    const b = $("live");
    b.className = "badge " + (on ? "on" : "off");
    b.dataset.state = on ? "live" : "reconnecting";
    b.textContent = text;
  }

  function onEvent(kind, data, id) {
    if (kind !== "status" || !data) return;
    let e;
    try { e = JSON.parse(data); } catch (_) { return; }
    if (id) state.lastSeq = Number(id);
    state.recent.unshift(e);
    state.recent.length = Math.min(state.recent.length, RECENT);
    document.body.dataset.lastSeq = String(state.lastSeq);
    renderRecent();
    if (state.selected === e.id) showMessage(e.id).catch(showError);
    refreshSoon();
  }

  // Server-Sent Events read with fetch (an Authorization header is possible, unlike with
  // EventSource); reconnects with Last-Event-ID and a growing delay.
  async function follow() {
    let delay = 1000;
    for (;;) {
      const controller = new AbortController();
      state.stream = controller;
      try {
        const res = await api("/v1/events", { headers: { "Last-Event-ID": String(state.lastSeq) }, signal: controller.signal });
        if (!res.ok || !res.body) throw new Error("event stream: " + res.status);
        setLive(true, "live");
        delay = 1000;
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let kind = "message", data = [], id = null;
            for (const line of block.split("\n")) {
              if (line.startsWith(":")) continue;
              const colon = line.indexOf(":");
              const field = colon < 0 ? line : line.slice(0, colon);
              const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
              if (field === "event") kind = val;
              else if (field === "data") data.push(val);
              else if (field === "id") id = val;
            }
            onEvent(kind, data.join("\n"), id);
          }
          if (buffer.length > 1 << 20) throw new Error("event stream: an event over 1 MiB");
        }
      } catch (err) {
        if (err instanceof Unauthorized) { logout(err.message); return; }
      }
      setLive(false, "reconnecting");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30000);
    }
  }

  function showError(err) {
    if (err instanceof Unauthorized) { logout(err.message); return; }
    $("error").textContent = String(err && err.message ? err.message : err);
  }

  function logout(message) {
    sessionStorage.removeItem(KEY);
    state.token = null;
    if (state.stream) state.stream.abort();
    $("status").hidden = true;
    $("forget").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    setLive(false, "signed out");
  }

  async function start() {
    $("login").hidden = true;
    $("status").hidden = false;
    $("forget").hidden = false;
    const activity = await json("/v1/activity?limit=" + RECENT);
    state.recent = activity.events;
    state.lastSeq = activity.last_seq;
    document.body.dataset.lastSeq = String(state.lastSeq);
    await refresh();
    follow();
    setInterval(() => refresh().catch(showError), 10000);
  }

  function init() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.has("token")) {
      sessionStorage.setItem(KEY, fragment.get("token"));
      history.replaceState(null, "", location.pathname + location.search);
    }
    $("token-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const t = $("token").value.trim();
      $("token").value = "";
      if (!t) return;
      sessionStorage.setItem(KEY, t);
      state.token = t;
      start().catch(showError);
    });
    $("forget").addEventListener("click", () => logout(""));
    $("proof").addEventListener("click", () => downloadProof().catch(showError));
    state.token = sessionStorage.getItem(KEY);
    if (state.token) start().catch(showError);
    else logout("");
  }

  init();
})();
