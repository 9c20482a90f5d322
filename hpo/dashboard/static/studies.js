// The list of every study in the storage, refreshed every 2 s; tick two or more to compare them.
"use strict";

(function () {
  const main = document.getElementById("main");
  const table = hpo.el("table", { id: "studies" });
  const compare = hpo.el("button", { id: "compare", disabled: true, onclick: () => {
    const ids = [...table.querySelectorAll("input:checked")].map((box) => box.value);
    location.href = "/compare?ids=" + ids.join(",");
  } }, "Compare selected on one history plot");
  main.replaceChildren(hpo.el("h2", {}, "Studies"), table, hpo.el("p", {}, compare));
  hpo.header([]);

  function render(studies) {
    const checked = new Set([...table.querySelectorAll("input:checked")].map((box) => box.value));
    const head = hpo.el("tr", {}, ["", "name", "direction", "sampler", "model family", "trials", "best", "best #", "last activity"]
      .map((h) => hpo.el("th", { class: h.startsWith("best") ? "num" : null }, h)));
    const rows = studies.map((s) => hpo.el("tr", { "data-id": s.id },
      hpo.el("td", {}, hpo.el("input", { type: "checkbox", value: s.id, checked: checked.has(String(s.id)),
        onchange: update })),
      hpo.el("td", {}, hpo.el("a", { href: `/studies/${s.id}` }, s.name)),
      hpo.el("td", {}, s.direction), hpo.el("td", {}, s.sampler), hpo.el("td", {}, s.family),
      hpo.el("td", {}, hpo.counts(s.counts)),
      hpo.el("td", { class: "num" }, hpo.num(s.best_value, 6)),
      hpo.el("td", { class: "num" }, s.best_number === null ? "-" :
        hpo.el("a", { href: `/studies/${s.id}/trials/${s.best_number}` }, "#" + s.best_number)),
      hpo.el("td", { title: s.last_activity || "" }, hpo.ago(s.last_activity))));
    table.replaceChildren(hpo.el("thead", {}, head), hpo.el("tbody", {}, rows.length ? rows :
      hpo.el("tr", {}, hpo.el("td", { colspan: 9, class: "muted" }, "No studies in this storage yet."))));
    update();
  }

  function update() { compare.disabled = table.querySelectorAll("input:checked").length < 2; }

  hpo.live(async () => render(await hpo.get("/api/studies")), 2000);
})();
