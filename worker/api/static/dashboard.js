// wirewatch dashboard: reads the /v1 API (with the token from localStorage when reads need it)
"use strict";
const body = document.body;
const openReads = body.dataset.openReads === "true";
const pollMs = Number(body.dataset.pollMs) || 3000;
const tokenInput = document.getElementById("token");
tokenInput.value = localStorage.getItem("wirewatch-token") || "";
document.getElementById("save-token").onclick = () => {
  localStorage.setItem("wirewatch-token", tokenInput.value.trim());
  refresh();
};

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const t = localStorage.getItem("wirewatch-token");
  if (t) h["Authorization"] = "Bearer " + t;
  return h;
}

async function api(path, options) {
  const r = await fetch(path, Object.assign({}, options, {headers: headers((options || {}).headers)}));
  const data = await r.json();
  if (!r.ok) throw new Error((data.error && data.error.message) || r.statusText);
  return data;
}

function esc(s) {
  return String(s == null ? "" : s).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}
function when(t) { return t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) : "–"; }
function status(msg, bad) {
  const el = document.getElementById("status");
  el.textContent = msg; el.className = bad ? "bad" : "";
}
function fill(id, rows) {
  const tb = document.querySelector("#" + id + " tbody");
  if (tb) tb.innerHTML = rows.join("") || '<tr><td colspan="5" class="muted">none</td></tr>';
}

// -- the story list and side panels (/)
const seen = new Map();  // story id -> last development seen: a changed row flashes
async function refreshIndex() {
  const f = new FormData(document.getElementById("filter"));
  const params = new URLSearchParams({limit: "100"});
  if (f.get("q").trim()) params.set("q", f.get("q").trim());
  if (f.get("developed")) params.set("developed", "true");
  const {stories} = await api("/v1/stories?" + params);
  fill("stories", stories.map(s => {
    const last = s.last_development_at || s.created_at;
    const fresh = seen.has(s.id) && seen.get(s.id) !== last;
    seen.set(s.id, last);
    return `<tr data-story-id="${esc(s.id)}" class="${fresh ? "fresh" : ""}"><td><a href="/stories/${encodeURIComponent(s.id)}">${esc(s.title || s.id)}</a> <span class="muted">${esc(s.id)}</span></td>` +
      `<td>${s.article_count}</td><td>${s.development_count}</td><td>${when(last)}</td></tr>`;
  }));
  const [rej, feeds, dels] = await Promise.all([
    api("/v1/rejections?limit=20"), api("/v1/feeds"), api("/v1/webhooks/deliveries?limit=20")]);
  fill("rejections", rej.rejections.map(r =>
    `<tr><td>${esc(r.input)}</td><td class="bad">${esc(r.reason)}</td><td>${esc(r.message)}</td><td>${when(r.created_at)}</td></tr>`));
  fill("feeds", feeds.feeds.map(f =>
    `<tr><td>${esc(f.title || f.url)}</td><td class="${f.status === "ok" ? "ok" : f.status === "new" ? "muted" : "bad"}">${esc(f.status)}</td>` +
    `<td>${when(f.last_success_at)}</td><td>${esc(f.last_error || "")}</td></tr>`));
  fill("deliveries", dels.deliveries.map(d =>
    `<tr><td>${esc(d.event_id)}</td><td>${esc(d.endpoint_id)}</td><td class="${d.status === "delivered" ? "ok" : d.status === "failed" ? "bad" : ""}">${esc(d.status)}</td>` +
    `<td>${d.attempts.length}</td><td>${esc(d.last_status || d.last_error || "")}</td></tr>`));
}

// -- one story's timeline (/stories/{id})
function highlight(text, units) {
  // one pass, longest unit first: "Russian President Vladimir Putin" wins over "Russia"
  const list = units.filter(u => u.text).sort((a, b) => b.text.length - a.text.length);
  if (!list.length) return esc(text);
  const kinds = new Map(list.map(u => [u.text, u.kind]));
  const re = new RegExp(list.map(u => u.text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  let out = "", last = 0;
  for (const m of text.matchAll(re)) {
    out += esc(text.slice(last, m.index)) + `<mark class="${esc(kinds.get(m[0]))}">${esc(m[0])}</mark>`;
    last = m.index + m[0].length;
  }
  return out + esc(text.slice(last));
}

async function refreshStory(id) {
  const [{story}, {events}] = await Promise.all([
    api("/v1/stories/" + encodeURIComponent(id)),
    api("/v1/events?limit=1000&story_id=" + encodeURIComponent(id))]);
  const byArticle = new Map(events.map(e => [e.article.id, e]));
  document.getElementById("story-title").textContent = story.title || story.id;
  document.getElementById("story-meta").innerHTML =
    `<span class="muted">${esc(story.id)}</span> · ${story.articles.length} articles · last development ${when(story.last_development_at || story.created_at)}`;
  document.getElementById("timeline").innerHTML = story.articles.map(a => {
    const ev = byArticle.get(a.id);
    const facts = (ev && a.status !== "duplicate") ? a.added_facts : [];
    const lacked = ev && ev.compared_with && ev.compared_with.length
      ? `<div class="lacked">lacking in earlier articles: ${ev.compared_with.map(esc).join(", ")}</div>` : "";
    return `<li class="${esc(a.status)}" data-article-id="${esc(a.id)}"><div class="art-head">${esc(a.title || a.input)}` +
      `<span class="badge">${esc(a.status)}</span>${a.novelty != null ? `<span class="badge">novelty ${Number(a.novelty).toFixed(2)}</span>` : ""}</div>` +
      `<div class="muted">${esc(a.id)} · ${esc(a.source || "")} ${when(a.ingested_at)}</div>` +
      (facts.length ? `<ul class="facts">${facts.map(f => `<li>${highlight(f.text, f.new_units)}</li>`).join("")}</ul>` : "") +
      lacked + `<div class="actions">` +
      (ev && ev.type === "story.new_development" && a.status === "development"
        ? `<button class="not-new" data-event-id="${esc(ev.id)}">not new</button>` : "") +
      (story.articles.length > 1 ? `<button class="split" data-article-id="${esc(a.id)}">split into own story</button>` : "") +
      "</div></li>";
  }).join("");
}

// -- operator actions (POST, need the token)
async function act(path, payload) {
  return api(path, {method: "POST", headers: {"Content-Type": "application/json"},
                    body: JSON.stringify(payload || {})});
}
document.addEventListener("click", async e => {
  const b = e.target;
  try {
    if (b.matches("button.not-new")) {
      await act(`/v1/events/${encodeURIComponent(b.dataset.eventId)}/not-new`);
      await refresh(); status("marked not new");
    } else if (b.matches("button.split")) {
      const r = await act(`/v1/articles/${encodeURIComponent(b.dataset.articleId)}/split`);
      await refresh(); status("split into " + r.story);
    }
  } catch (err) { status(String(err.message || err), true); }
});
const mergeForm = document.getElementById("merge");
if (mergeForm) mergeForm.onsubmit = async e => {
  e.preventDefault();
  const f = new FormData(mergeForm);
  try {
    const r = await act("/v1/stories/merge", {source: f.get("source").trim(), target: f.get("target").trim()});
    mergeForm.reset(); await refresh(); status(`merged ${r.source} into ${r.target}`);
  } catch (err) { status(String(err.message || err), true); }
};

const filterForm = document.getElementById("filter");
if (filterForm) {  // the list follows the filter as it is typed, not only on the next tick
  filterForm.onsubmit = e => { e.preventDefault(); refresh(); };
  filterForm.oninput = () => refresh();
}

async function refresh() {
  if (!openReads && !localStorage.getItem("wirewatch-token")) {
    status("reads need the API token", true);
    return;
  }
  try {
    const el = document.getElementById("story");
    if (el) await refreshStory(el.dataset.storyId); else await refreshIndex();
    status("updated " + new Date().toLocaleTimeString());
  } catch (err) {
    status(String(err.message || err), true);
  }
}
refresh();
setInterval(refresh, pollMs);
