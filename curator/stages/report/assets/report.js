// curator report: a static page over window.REPORT (data.js); no network, no dependencies.
// Filters and the page number live in the URL hash (#status=edited&q=blur&page=2) so a view can be linked.
(function () {
  "use strict";
  var R = window.REPORT, PER = 48, FIELDS = ["domain", "criterion", "template", "status", "review", "reason", "split"];
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function table(node, header, rows) {
    var head = node.tHead || node.createTHead(), body = node.tBodies[0] || node.createTBody();
    if (header) { head.innerHTML = ""; var tr = head.insertRow(); header.forEach(function (h) { tr.appendChild(el("th", {}, h)); }); }
    body.innerHTML = "";
    rows.forEach(function (r) { var tr = body.insertRow(); r.forEach(function (c) { tr.appendChild(el("td", {}, String(c))); }); });
  }
  $("title").textContent = R.project + " — benchmark build report";
  $("subtitle").textContent = R.items.length + " items; generated " + R.generated;
  table($("funnel"), ["domain / criterion"].concat(R.steps), R.funnel.map(function (f) { return [f.key].concat(f.counts); }));
  table($("drops"), null, R.drops.map(function (d) { return [d.step, d.reason, d.items]; }));
  var v = $("validity");
  Object.keys(R.validity).forEach(function (k) { v.appendChild(el("p", {}, k + ": " + R.validity[k])); });
  R.plots.forEach(function (p) { $("plots").appendChild(el("img", { src: p, alt: "distribution plot " + p, loading: "lazy" })); });
  var form = $("filters"), state = { page: 1 };
  FIELDS.forEach(function (f) {
    var s = form.elements[f], seen = {};
    s.appendChild(el("option", { value: "" }, "all"));
    R.items.forEach(function (it) { var x = it[f]; if (x && !seen[x]) seen[x] = 1; });
    Object.keys(seen).sort().forEach(function (x) { s.appendChild(el("option", { value: x }, x)); });
  });
  function readHash() {
    var h = {}; location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      if (!kv) return; var i = kv.indexOf("="); h[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1));
    });
    FIELDS.concat(["q"]).forEach(function (f) { form.elements[f].value = h[f] || ""; });
    state.page = Math.max(1, parseInt(h.page || "1", 10) || 1);
    state.view = h.view || "";
  }
  function writeHash() {
    var parts = [];
    FIELDS.concat(["q"]).forEach(function (f) { var x = form.elements[f].value; if (x) parts.push(f + "=" + encodeURIComponent(x)); });
    if (state.page > 1) parts.push("page=" + state.page);
    if (state.view) parts.push("view=" + state.view);
    history.replaceState(null, "", "#" + parts.join("&"));
  }
  function matches(it) {
    for (var i = 0; i < FIELDS.length; i++) { var f = FIELDS[i], want = form.elements[f].value; if (want && it[f] !== want) return false; }
    var q = form.elements.q.value.trim().toLowerCase();
    return !q || it.text.indexOf(q) >= 0;
  }
  function card(it) {
    var a = el("article", { "class": "item", tabindex: "0", "data-id": it.id, "aria-label": it.criterion + ": " + it.question });
    a.appendChild(el("img", { src: it.thumb, alt: "image for " + it.criterion_name + ": " + it.question, loading: "lazy", width: "256" }));
    a.appendChild(el("div", { "class": "path" }, it.path + " · " + it.template + (it.split ? " · " + it.split : "")));
    a.appendChild(el("p", { "class": "question" }, it.question));
    var ol = el("ol", { type: "A" });
    it.options.forEach(function (o, i) { ol.appendChild(el("li", i === it.answer_index ? { "class": "right" } : {}, o + (i === it.answer_index ? " ✓" : ""))); });
    a.appendChild(ol);
    a.appendChild(el("span", { "class": "status" }, it.status + (it.reason ? " (" + it.reason + ")" : "")
      + (it.review && it.review !== it.status ? " · reviewers: " + it.review : "")));
    if (it.model_question && it.model_question !== it.question) a.appendChild(el("p", { "class": "orig" }, "model wrote: " + it.model_question));
    if (it.model_answer_text && it.model_answer_text !== it.options[it.answer_index]) a.appendChild(el("p", { "class": "orig" }, "model's answer: " + it.model_answer_text));
    var meta = [];
    if (it.judge) meta.push("judge " + it.judge);
    if (it.blind) meta.push("blind " + it.blind);
    if (it.difficulty) meta.push("difficulty " + it.difficulty);
    if (it.reviews) meta.push("reviewers: " + it.reviews);
    if (meta.length) a.appendChild(el("p", { "class": "meta" }, meta.join(" · ")));
    return a;
  }
  function render() {
    var shown = R.items.filter(matches), pages = Math.max(1, Math.ceil(shown.length / PER));
    state.page = Math.min(state.page, pages);
    var g = $("gallery"), frag = document.createDocumentFragment();
    shown.slice((state.page - 1) * PER, state.page * PER).forEach(function (it) { frag.appendChild(card(it)); });
    g.innerHTML = ""; g.appendChild(frag);
    $("count").textContent = shown.length + " of " + R.items.length + " items";
    $("count").setAttribute("data-count", String(shown.length));
    $("page").textContent = "page " + state.page + " of " + pages;
    $("prev").disabled = state.page <= 1; $("next").disabled = state.page >= pages;
    writeHash();
  }
  form.addEventListener("input", function () { state.page = 1; render(); });
  $("prev").addEventListener("click", function () { state.page--; render(); });
  $("next").addEventListener("click", function () { state.page++; render(); });
  document.addEventListener("keydown", function (e) {
    if (/INPUT|SELECT|TEXTAREA/.test(e.target.tagName)) return;
    if (e.key === "ArrowRight" && !$("next").disabled) { state.page++; render(); }
    if (e.key === "ArrowLeft" && !$("prev").disabled) { state.page--; render(); }
  });
  window.addEventListener("hashchange", function () { readHash(); render(); });
  readHash(); render();
  if (state.view === "gallery") {  // the gallery alone, e.g. for a screenshot or a link to the items
    ["funnel-h", "validity-h"].forEach(function (id) { $(id).parentNode.hidden = true; });
  }
  document.body.setAttribute("data-ready", "1");
  document.body.setAttribute("data-render-ms", String(Math.round(performance.now())));  // for benchmarks/report.py
})();
