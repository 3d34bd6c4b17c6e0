// The review page: one item = one question of one image. Decisions go to the server at once (it writes
// review.json atomically before answering); the page only shows a decision after the server has stored it.
"use strict";

const S = { images: [], items: [], filtered: [], index: -1, shown: new Set(), showAll: false, editing: false };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

async function api(path, body) {
  const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body) };
  const response = await fetch(path, opts);
  const doc = await response.json();
  if (!response.ok) throw new Error(doc.error || response.statusText);
  return doc;
}

function hashParams() {
  return new URLSearchParams(location.hash.slice(1));
}

async function load() {
  const state = await api("/api/state");
  $("out").textContent = state.out;
  S.images = state.images;
  S.items = [];
  for (const image of S.images) for (const q of image.questions) S.items.push({ image, q });
  for (const c of state.categories) $("f-category").append(el("option", { value: c }, c));
  for (const s of state.statuses) $("f-status").append(el("option", { value: s }, s));
  const params = hashParams();
  if (params.has("category")) $("f-category").value = params.get("category");
  if (params.has("status")) $("f-status").value = params.get("status");
  if (params.has("cmin")) $("f-conf-min").value = params.get("cmin");
  if (params.has("cmax")) $("f-conf-max").value = params.get("cmax");
  refilter(params.get("q"));
  if (params.get("q") === null) {  // a fresh start resumes at the first item nobody decided on
    const pending = S.filtered.findIndex((it) => it.q.status === "pending");
    if (pending >= 0) select(pending);
  }
}

function matches(item) {
  const category = $("f-category").value, status = $("f-status").value;
  const lo = Number($("f-conf-min").value || 0), hi = Number($("f-conf-max").value || 1);
  const conf = item.q.confidence;
  if (category && item.q.category !== category) return false;
  if (status && item.q.status !== status) return false;
  if (conf !== null && conf !== undefined && (conf < lo || conf > hi)) return false;
  return true;
}

function refilter(keepQid) {
  S.filtered = S.items.filter(matches);
  let index = S.filtered.findIndex((it) => it.q.question_id === keepQid);
  if (index < 0) index = Math.min(Math.max(S.index, 0), S.filtered.length - 1);
  renderList();
  select(index);
}

function writeHash() {
  const params = new URLSearchParams();
  const cur = S.filtered[S.index];
  if (cur) params.set("q", cur.q.question_id);
  if ($("f-category").value) params.set("category", $("f-category").value);
  if ($("f-status").value) params.set("status", $("f-status").value);
  if ($("f-conf-min").value !== "0") params.set("cmin", $("f-conf-min").value);
  if ($("f-conf-max").value !== "1") params.set("cmax", $("f-conf-max").value);
  history.replaceState(null, "", "#" + params.toString());
}

function renderCounts() {
  const counts = { pending: 0, accepted: 0, rejected: 0, flagged: 0 };
  for (const it of S.items) counts[it.q.status] += 1;
  $("counts").textContent = `${S.filtered.length} of ${S.items.length} shown · ${counts.accepted} accepted · ` +
    `${counts.rejected} rejected · ${counts.flagged} flagged · ${counts.pending} pending`;
  $("counts").dataset.pending = counts.pending;
}

function renderList() {
  const nav = $("items");
  nav.replaceChildren();
  S.filtered.forEach((it, k) => {
    const row = el("div", { class: `item s-${it.q.status}`, dataset: { qid: it.q.question_id, status: it.q.status },
      title: it.q.text[0] }, el("span", { class: "dot" }), el("span", { class: "txt" }, it.q.text[0]));
    row.addEventListener("click", () => select(k));
    nav.append(row);
  });
  renderCounts();
}

function select(index) {
  if (S.editing) closeEditor();
  S.index = index;
  for (const row of $("items").children) row.classList.toggle("current", row.dataset.qid === currentQid());
  const current = $("items").querySelector(".current");
  if (current) current.scrollIntoView({ block: "nearest" });
  const it = S.filtered[index];
  S.shown = new Set(it ? it.q.answers.map((a) => a.mask_id) : []);
  renderDetail();
  writeHash();
}

function currentQid() {
  const it = S.filtered[S.index];
  return it ? it.q.question_id : null;
}

function renderDetail() {
  const it = S.filtered[S.index];
  $("detail").classList.toggle("empty", !it);
  if (!it) {
    $("question").textContent = S.items.length ? "No question matches the filters." : "No questions in this folder.";
    for (const id of ["paraphrases", "masks", "layers"]) $(id).replaceChildren();
    $("explanation").textContent = $("meta").textContent = $("scene").textContent = "";
    $("photo").removeAttribute("src");
    return;
  }
  const { image, q } = it;
  $("meta").textContent = `${S.index + 1} / ${S.filtered.length} · image ${image.image_id} ` +
    `(${image.width}×${image.height}) · ${q.question_id}`;
  $("b-category").textContent = q.category;
  $("b-confidence").textContent = q.confidence === null ? "confidence –" : `confidence ${q.confidence}`;
  $("b-status").textContent = q.status;
  $("b-status").className = `badge st-${q.status}`;
  $("b-edited").hidden = !q.edited;
  $("question").textContent = q.text[0];
  $("paraphrases").replaceChildren(...q.text.slice(1).map((t) => el("li", {}, t)));
  $("explanation").textContent = q.explanation;
  $("scene").textContent = image.scene ? `scene: ${image.scene}` : "";
  const src = `/api/image/${encodeURIComponent(image.image_id)}`;
  if ($("photo").getAttribute("src") !== src) {
    $("photo").setAttribute("src", src);
    $("layers").replaceChildren();
    $("layers").dataset.image = image.image_id;
  }
  if (image.masks) { renderMasks(); return; }
  $("masks").replaceChildren(el("li", { class: "dim" }, "loading masks…"));
  api(`/api/masks/${encodeURIComponent(image.image_id)}`).then((masks) => {
    image.masks = masks;
    if (S.filtered[S.index] && S.filtered[S.index].image === image) renderMasks();
  }).catch((err) => showError(`could not load the masks: ${err.message}`));
}

function renderMasks() {
  const { image, q } = S.filtered[S.index];
  const labels = new Map(q.answers.map((a) => [a.mask_id, a.label]));
  const list = $("masks");
  list.replaceChildren();
  const masks = image.masks.filter((m) => labels.has(m.id) || S.showAll);
  masks.sort((a, b) => (labels.has(b.id) - labels.has(a.id)) || a.id - b.id);
  for (const m of masks) {
    const box = el("input", { type: "checkbox", dataset: { mask: m.id } });
    box.checked = S.shown.has(m.id);
    box.addEventListener("change", () => toggleMask(m.id, box.checked));
    const text = labels.has(m.id) ? `${m.id}: ${labels.get(m.id)} — ${m.description}` : `${m.id}: ${m.description}`;
    list.append(el("li", { class: labels.has(m.id) ? "answer" : "" },
      el("label", {}, box, " ", el("span", { class: "swatch", style: `background:${m.color}` }), " ", text)));
  }
  renderLayers();
}

function rerenderMasks() {
  const it = S.filtered[S.index];
  if (it && it.image.masks) renderMasks();
}

function renderLayers() {
  const layers = $("layers");
  const image = S.filtered[S.index].image;
  const present = new Map([...layers.children].map((img) => [Number(img.dataset.mask), img]));
  for (const id of S.shown) {
    if (!present.has(id)) {
      const img = el("img", { alt: `mask ${id}`, dataset: { mask: id },
        src: `/api/mask/${encodeURIComponent(image.image_id)}/${id}.png` });
      layers.append(img);
      present.set(id, img);
    }
  }
  for (const [id, img] of present) img.hidden = !S.shown.has(id);
}

function toggleMask(id, on) {
  if (on === undefined) on = !S.shown.has(id);
  if (on) S.shown.add(id); else S.shown.delete(id);
  rerenderMasks();
}

async function decide(changes, advance) {
  const it = S.filtered[S.index];
  if (!it) return;
  const nextQid = advance && S.filtered[S.index + 1] ? S.filtered[S.index + 1].q.question_id : it.q.question_id;
  $("save-state").textContent = "saving…";
  try {
    const saved = await api("/api/decision", { question_id: it.q.question_id, ...changes });
    it.q.status = saved.status;
    it.q.text = saved.text;
    it.q.edited = saved.edited;
    $("save-state").textContent = `saved ${it.q.question_id}: ${saved.status}${saved.edited ? ", edited" : ""}`;
  } catch (err) {
    $("save-state").textContent = "not saved";
    showError(`not saved: ${err.message}`);
    return;
  }
  refilter(nextQid);
}

function openEditor() {
  const it = S.filtered[S.index];
  if (!it) return;
  S.editing = true;
  $("editor").value = it.q.text.join("\n");
  $("edit-box").hidden = false;
  $("editor").focus();
}

function closeEditor() {
  S.editing = false;
  $("edit-box").hidden = true;
  $("editor").blur();
}

async function saveEditor() {
  const lines = $("editor").value.split("\n").map((t) => t.trim()).filter((t) => t);
  if (!lines.length) { showError("type the question on the first line"); return; }
  closeEditor();
  await decide({ text: lines }, false);
}

function step(delta) {
  const index = S.index + delta;
  if (index >= 0 && index < S.filtered.length) select(index);
}

const KEYS = {
  a: () => decide({ status: "accepted" }, true),
  r: () => decide({ status: "rejected" }, true),
  f: () => decide({ status: "flagged" }, true),
  u: () => decide({ status: "pending" }, false),
  e: () => openEditor(),
  j: () => step(1), ArrowRight: () => step(1), ArrowDown: () => step(1),
  k: () => step(-1), ArrowLeft: () => step(-1), ArrowUp: () => step(-1),
  m: () => { $("show-all").checked = S.showAll = !S.showAll; rerenderMasks(); },
};

document.addEventListener("keydown", (event) => {
  if (S.editing) {
    if (event.key === "Escape") { event.preventDefault(); closeEditor(); }
    else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); saveEditor(); }
    return;
  }
  const tag = (event.target.tagName || "").toLowerCase();
  if (tag === "input" || tag === "select" || tag === "textarea" || event.ctrlKey || event.metaKey || event.altKey) {
    return;
  }
  const it = S.filtered[S.index];
  if (/^[1-9]$/.test(event.key) && it) {
    const answer = it.q.answers[Number(event.key) - 1];
    if (answer) toggleMask(answer.mask_id);
    return;
  }
  const action = KEYS[event.key];
  if (action) { event.preventDefault(); action(); }
});

$("b-accept").addEventListener("click", KEYS.a);
$("b-reject").addEventListener("click", KEYS.r);
$("b-flag").addEventListener("click", KEYS.f);
$("b-edit").addEventListener("click", KEYS.e);
$("b-next").addEventListener("click", () => step(1));
$("b-prev").addEventListener("click", () => step(-1));
$("edit-save").addEventListener("click", saveEditor);
$("edit-cancel").addEventListener("click", closeEditor);
$("edit-revert").addEventListener("click", () => { closeEditor(); decide({ text: null }, false); });
$("show-all").addEventListener("change", () => { S.showAll = $("show-all").checked; rerenderMasks(); });
for (const id of ["f-category", "f-status", "f-conf-min", "f-conf-max"]) {
  $(id).addEventListener("change", () => { refilter(currentQid()); $(id).blur(); });
}

load().catch((err) => showError(`could not load the review: ${err.message}`));
