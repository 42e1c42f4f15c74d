// Comptoir operations dashboard: plain JavaScript over the admin JSON API.
// The API token is kept in sessionStorage and sent as a bearer header; it
// can also be handed over in the URL fragment (#/path&token=...), which is
// removed from the address bar at once. Every text from the API goes
// through text nodes (never innerHTML), so message contents cannot inject
// markup.
"use strict";

const TOKEN_KEY = "comptoir.token";
const app = document.getElementById("app");

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

// Token hand-over in the fragment: #/message/2&token=abc
(function takeTokenFromFragment() {
  const parts = location.hash.split("&");
  const t = parts.find((p) => p.startsWith("token="));
  if (t) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(t.slice(6)));
    const rest = parts.filter((p) => !p.startsWith("token=")).join("&") || "#/";
    history.replaceState(null, "", location.pathname + (rest.startsWith("#") ? rest : "#" + rest));
  }
})();

function token() { return sessionStorage.getItem(TOKEN_KEY); }

class AuthError extends Error {}

async function api(path, opts) {
  const headers = { Authorization: "Bearer " + (token() || "") };
  if (opts && opts.body) headers["Content-Type"] = "application/json";
  const r = await fetch(path, Object.assign({ headers }, opts || {}));
  let body = null;
  try { body = await r.json(); } catch (_) { body = null; }
  if (r.status === 401) throw new AuthError((body && body.message) || "unauthorized");
  if (!r.ok) throw new Error((body && body.message) || ("HTTP " + r.status));
  return body;
}

function toast(text) {
  const t = h("div", { class: "toast", role: "status" }, text);
  document.body.append(t);
  setTimeout(() => t.remove(), 4000);
}

function stateBadge(s) { return h("span", { class: "state state-" + s }, s); }

function fmtTime(ms) {
  if (!ms) return "";
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

function sparkline(values) {
  const w = 120, hgt = 24, n = values.length || 1;
  const max = Math.max(1, ...values);
  const el = svg("svg", { class: "spark", width: w, height: hgt, viewBox: `0 0 ${w} ${hgt}`, role: "img" });
  const title = svg("title", {});
  title.textContent = "last 24 h, per hour: " + values.join(", ");
  el.append(title);
  el.append(svg("rect", { x: 0, y: 0, width: w, height: hgt, rx: 2 }));
  const pts = values.map((v, i) => {
    const x = n === 1 ? 0 : (i * (w - 2)) / (n - 1) + 1;
    const y = hgt - 2 - (v / max) * (hgt - 4);
    return x.toFixed(1) + "," + y.toFixed(1);
  });
  el.append(svg("polyline", { points: pts.join(" ") }));
  return el;
}

async function replay(id, btn) {
  if (btn) btn.disabled = true;
  try {
    const r = await api(`/api/messages/${id}/replay`, { method: "POST" });
    toast(`message ${id}: ${r.state}${r.error ? " — " + r.error : ""}`);
    route();
  } catch (e) {
    if (e instanceof AuthError) return signIn(e.message);
    toast(`replay of ${id} failed: ${e.message}`);
    if (btn) btn.disabled = false;
  }
}

function messageTable(messages, withReplay) {
  if (!messages.length) return h("p", { class: "muted" }, "Nothing here.");
  return h("table", { class: "messages" },
    h("thead", {}, h("tr", {},
      h("th", {}, "#"), h("th", {}, "Received"), h("th", {}, "Partner"), h("th", {}, "Type"),
      h("th", {}, "Keys"), h("th", {}, "State"), h("th", {}, "Error"), withReplay ? h("th", {}, "") : null)),
    h("tbody", {}, messages.map((m) => h("tr", { "data-id": m.id, "data-state": m.state },
      h("td", {}, h("a", { href: `#/message/${m.id}` }, String(m.id))),
      h("td", {}, fmtTime(m.received_at)),
      h("td", {}, m.partner || "—"),
      h("td", {}, m.document_type || "—"),
      h("td", {}, (m.business_keys || []).join(", ")),
      h("td", {}, stateBadge(m.state)),
      h("td", { class: "error" }, (m.error || "").slice(0, 160)),
      withReplay ? h("td", {}, h("button", { class: "replay", type: "button", "data-id": m.id,
        onclick: (ev) => replay(m.id, ev.target) }, "Replay")) : null))));
}

async function viewFlows() {
  const [ov, ps, rejected, failed, held, dead] = await Promise.all([
    api("/api/overview"), api("/api/partners"),
    api("/api/messages?state=rejected&limit=20"), api("/api/messages?state=failed&limit=20"),
    api("/api/messages?state=held&limit=20"), api("/api/messages?state=dead&limit=20"),
  ]);
  const st = ov.states || {};
  const tile = (label, n, cls) => h("div", { class: "tile " + (n > 0 ? cls || "" : "") }, h("b", {}, String(n || 0)), label);
  const rows = [];
  for (const p of ps.partners) {
    const pid = p.partner || "(unknown)";
    rows.push(h("tr", { class: "partner-row", "data-partner": pid },
      h("td", {}, p.name ? `${p.name} (${pid})` : pid), h("td", {}, "all"),
      h("td", { class: "num" }, p.total), h("td", { class: "num" }, (p.states || {}).delivered || 0),
      h("td", { class: "num" }, p.errors), h("td", { class: "num" }, p.held),
      h("td", { class: "num " + (p.error_rate > 0.05 ? "rate-high" : "") }, (p.error_rate * 100).toFixed(1) + " %"),
      h("td", {}, sparkline(p.throughput_24h))));
    for (const d of p.document_types) {
      rows.push(h("tr", { class: "doctype-row", "data-partner": pid, "data-document-type": d.document_type || "" },
        h("td", {}, d.document_type || "(not mapped)"), h("td", {}, ""),
        h("td", { class: "num" }, d.total), h("td", { class: "num" }, (d.states || {}).delivered || 0),
        h("td", { class: "num" }, d.errors), h("td", { class: "num" }, d.held),
        h("td", { class: "num " + (d.error_rate > 0.05 ? "rate-high" : "") }, (d.error_rate * 100).toFixed(1) + " %"),
        h("td", {}, sparkline(d.throughput_24h))));
    }
  }
  const age = ov.oldest_unfinished_age_seconds;
  app.replaceChildren(
    h("h1", {}, "Flows"),
    h("div", { class: "tiles" },
      tile("messages", ov.total), tile("backlog", ov.backlog, "warn"),
      tile("rejected", st.rejected, "bad"), tile("failed", st.failed, "bad"),
      tile("held", st.held, "warn"), tile("dead", st.dead, "bad"),
      h("div", { class: "tile" }, h("b", {}, age == null ? "—" : age.toFixed(0) + " s"), "oldest unfinished")),
    h("table", { id: "flows" },
      h("thead", {}, h("tr", {}, h("th", {}, "Partner"), h("th", {}, "Type"), h("th", { class: "num" }, "Total"),
        h("th", { class: "num" }, "Delivered"), h("th", { class: "num" }, "Errors"), h("th", { class: "num" }, "Held"),
        h("th", { class: "num" }, "Error rate"), h("th", {}, "24 h"))),
      h("tbody", {}, rows)),
    h("h2", {}, "Errors"), h("section", { id: "queue-errors" }, messageTable(rejected.messages.concat(failed.messages), true)),
    h("h2", {}, "Held"), h("section", { id: "queue-held" }, messageTable(held.messages, true)),
    h("h2", {}, "Dead letters"), h("section", { id: "queue-dead" }, messageTable(dead.messages, true)));
}

async function viewQueue(state) {
  const r = await api(`/api/messages?state=${encodeURIComponent(state)}&limit=100`);
  app.replaceChildren(h("h1", {}, `Queue: ${state}`), h("section", { id: "queue-" + state }, messageTable(r.messages, true)),
    r.next_cursor ? h("p", { class: "muted" }, "Showing the 100 newest.") : null);
}

async function retryExport(id, btn) {
  if (btn) btn.disabled = true;
  try {
    await api(`/api/exports/${id}/retry`, { method: "POST" });
    toast(`export ${id}: pending, sent at the next pass`);
    route();
  } catch (e) {
    if (e instanceof AuthError) return signIn(e.message);
    toast(`retry of export ${id} failed: ${e.message}`);
    if (btn) btn.disabled = false;
  }
}

// Documents sent from the ERP to partners (ORDRSP, DESADV, INVOIC, INVRPT).
async function viewExports() {
  const r = await api("/api/exports?limit=200");
  const items = r.items || [];
  const body = items.length ? h("table", { class: "messages", id: "exports" },
    h("thead", {}, h("tr", {},
      h("th", {}, "#"), h("th", {}, "Updated"), h("th", {}, "Export"), h("th", {}, "Partner"),
      h("th", {}, "Kind"), h("th", {}, "Number"), h("th", {}, "State"), h("th", { class: "num" }, "Attempts"),
      h("th", {}, "File / error"), h("th", {}, ""))),
    h("tbody", {}, items.map((x) => h("tr", { "data-id": x.id, "data-state": x.state },
      h("td", {}, String(x.id)),
      h("td", {}, (x.updated_at || "").replace("T", " ").slice(0, 19)),
      h("td", {}, x.export), h("td", {}, x.partner), h("td", {}, x.kind), h("td", {}, x.number),
      h("td", {}, stateBadge(x.state)),
      h("td", { class: "num" }, String(x.attempts)),
      h("td", { class: x.error ? "error" : "" }, (x.error || x.file_name || "").slice(0, 200)),
      h("td", {}, x.state === "dead" ? h("button", { class: "retry", type: "button", "data-id": x.id,
        onclick: (ev) => retryExport(x.id, ev.target) }, "Retry") : null)))))
    : h("p", { class: "muted" }, "Nothing exported yet.");
  app.replaceChildren(h("h1", {}, "Exports to partners"), body);
}

async function viewSearch(q) {
  document.getElementById("q").value = q;
  const r = await api(`/api/messages?q=${encodeURIComponent(q)}&limit=100`);
  if (r.messages.length === 1) { location.hash = `#/message/${r.messages[0].id}`; return; }
  app.replaceChildren(h("h1", {}, `Search: ${q}`), messageTable(r.messages, true));
}

function effect(e) {
  if (!e || typeof e !== "object") return null;
  const parts = [];
  if (e.percent !== undefined) parts.push(`-${e.percent} %`);
  if (e.before !== undefined && e.after !== undefined) parts.push(`${e.before} → ${e.after}`);
  else if (e.after !== undefined) parts.push(`= ${e.after}`);
  return parts.length ? h("span", { class: "muted" }, " " + parts.join(", ")) : null;
}

function pricingExplanation(priced) {
  if (!Array.isArray(priced) || !priced.length) return h("p", { class: "muted" }, "Not priced.");
  return priced.map((doc) => h("div", { class: "pricing" },
    h("p", {}, `Client ${doc.client_id}${doc.client_group ? " (group " + doc.client_group + ")" : ""}, ${doc.currency}, priced on ${doc.pricing_date}, status ${doc.status}`),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Line"), h("th", {}, "Product"), h("th", { class: "num" }, "Qty"),
        h("th", { class: "num" }, "List"), h("th", { class: "num" }, "Net"), h("th", { class: "num" }, "Amount"), h("th", {}, "Why this price"))),
      h("tbody", {}, (doc.lines || []).map((l) => h("tr", {},
        h("td", {}, l.line_number || String(l.index + 1)), h("td", {}, l.product || ""),
        h("td", { class: "num" }, (l.quantity || "") + " " + (l.unit || "")),
        h("td", { class: "num" }, l.list_price || ""), h("td", { class: "num" }, l.net_unit_price || ""),
        h("td", { class: "num" }, l.amount || ""),
        h("td", {}, h("ul", {}, (l.trail || []).map((t) => h("li", {}, `${t.description} [${t.rule_id}]`, effect(t.effect))),
          l.reason ? h("li", { class: "error" }, l.reason) : null)))))),
    doc.totals ? h("p", {}, "Totals: " + Object.entries(doc.totals).map(([k, v]) => `${k} ${v}`).join(" · ")) : null,
    (doc.reasons || []).length ? h("p", { class: "error" }, doc.reasons.map((r) => r.message).join("; ")) : null));
}

async function viewMessage(id) {
  const m = await api(`/api/messages/${encodeURIComponent(id)}`);
  const raw = h("pre", { class: "raw", id: "raw" }, (m.raw.parts || []).map((p) => p.error
    ? h("mark", { class: "err", title: p.error, "data-line": p.line == null ? "" : p.line, "data-offset": p.offset }, p.text)
    : p.text));
  const reason = h("input", { id: "resolve-reason", type: "text", placeholder: "Reason (required to resolve)", size: 40 });
  const resolveBtn = h("button", { class: "secondary resolve", type: "button", onclick: async () => {
    if (!reason.value.trim()) { toast("a reason is required"); return; }
    try {
      await api(`/api/messages/${m.id}/resolve`, { method: "POST", body: JSON.stringify({ reason: reason.value }) });
      toast(`message ${m.id} resolved`); route();
    } catch (e) { if (e instanceof AuthError) return signIn(e.message); toast(e.message); }
  } }, "Resolve");
  const resolvable = ["held", "rejected", "failed", "dead"].includes(m.state);
  app.replaceChildren(
    h("h1", {}, `Message ${m.id} `, stateBadge(m.state)),
    h("div", { class: "actions" },
      h("button", { class: "replay", type: "button", "data-id": m.id, onclick: (ev) => replay(m.id, ev.target) }, "Replay"),
      resolvable ? [reason, resolveBtn] : null),
    h("h2", {}, "Raw content", m.errors.length ? h("span", { class: "muted" }, ` — ${m.errors.length} error(s) marked`) : null),
    h("div", { id: "errors" }, m.errors.map((e) => h("p", { class: "error located" }, (e.line ? `line ${e.line}, ` : "") + `byte ${e.offset}: ${e.message}`))),
    raw,
    h("div", { class: "grid2" },
      h("section", { class: "card" }, h("dl", { class: "meta" }, [
        ["Received", fmtTime(m.received_at)], ["Partner", m.partner || "—"], ["Source", `${m.source} ${m.source_ref || ""}`],
        ["Format", m.format || "—"], ["Document type", m.document_type || "—"], ["Business keys", (m.business_keys || []).join(", ") || "—"],
        ["Sender", m.sender || "—"], ["Interchange ref", m.interchange_ref || "—"], ["Attempts", String(m.attempts)],
        ["Bytes", `${m.raw.bytes} (${m.raw.encoding})`], ["SHA-256", m.content_sha256],
      ].map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
        m.error ? h("p", { class: "error", id: "error-text" }, m.error) : null),
      h("section", { class: "card" }, h("h2", {}, "Timeline"), h("ul", { class: "timeline" },
        m.events.map((e) => h("li", {}, h("span", { class: "muted" }, fmtTime(e.at) + " "), stateBadge(e.state), " ", e.detail || ""))),
        m.deliveries.length ? [h("h2", {}, "Deliveries"), h("ul", { class: "timeline" },
          m.deliveries.map((d) => h("li", {}, h("span", { class: "muted" }, fmtTime(d.at) + " "), `${d.sink} attempt ${d.attempt}: ${d.outcome} ${d.detail || ""}`)))] : null)),
    h("h2", {}, "Pricing explanation"), h("section", { id: "pricing" }, pricingExplanation(m.priced)),
    h("h2", {}, "Canonical JSON"), h("pre", { id: "canonical" }, m.canonical ? JSON.stringify(m.canonical, null, 2) : "—"));
  // Scroll the raw block (not the page) to the first marked error.
  const first = raw.querySelector("mark.err");
  if (first) raw.scrollTop = Math.max(0, first.offsetTop - raw.offsetTop - 80);
}

function signIn(message) {
  document.getElementById("signout").hidden = true;
  const tpl = document.getElementById("signin-tpl").content.cloneNode(true);
  app.replaceChildren(tpl);
  if (message && token()) document.getElementById("signin-error").textContent = message;
  document.getElementById("signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
    route();
  });
}

async function route() {
  if (!token()) return signIn();
  document.getElementById("signout").hidden = false;
  const path = (location.hash.replace(/^#/, "").split("&")[0]) || "/";
  const seg = path.split("/").filter(Boolean);
  try {
    if (seg[0] === "message" && seg[1]) await viewMessage(seg[1]);
    else if (seg[0] === "queue" && seg[1]) await viewQueue(seg[1]);
    else if (seg[0] === "exports") await viewExports();
    else if (seg[0] === "search" && seg[1]) await viewSearch(decodeURIComponent(seg.slice(1).join("/")));
    else await viewFlows();
    document.body.setAttribute("data-ready", "1");
  } catch (e) {
    if (e instanceof AuthError) return signIn(e.message);
    app.replaceChildren(h("p", { class: "error", id: "load-error" }, "Could not load: " + e.message));
  }
}

document.getElementById("search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = document.getElementById("q").value.trim();
  if (q) location.hash = "#/search/" + encodeURIComponent(q);
});
document.getElementById("signout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  route();
});
window.addEventListener("hashchange", route);
route();
