// Several studies' best-so-far lines on one history plot (?ids=1,2,3), refreshed every 2 s.
"use strict";

(function () {
  const ids = new URLSearchParams(location.search).get("ids") || "";
  const main = document.getElementById("main");
  const note = hpo.el("p", { class: "note" });
  const plot = hpo.el("div", { id: "compare-plot", class: "plot" });
  main.replaceChildren(hpo.el("h2", {}, "Best value so far, by trial number"), note, plot);
  hpo.header(["compare"]);

  hpo.live(async () => {
    const lines = await hpo.get(`/api/compare?ids=${encodeURIComponent(ids)}`);
    const directions = new Set(lines.map((l) => l.direction));
    note.replaceChildren(...lines.flatMap((l, i) => [i ? " · " : "", hpo.el("a", { href: `/studies/${l.id}` }, l.name),
      ` (${l.direction}, ${l.n} complete)`]), directions.size > 1 ? " — these studies do not share a direction." : "");
    await hpo.plot(plot, lines.map((l) => ({ x: l.x, y: l.y, name: l.name, mode: "lines", line: { shape: "hv", width: 2 } })),
      { xaxis: { title: { text: "trial number" } }, yaxis: { title: { text: "best value so far" } }, legend: { orientation: "h", y: 1.1 } });
  }, 2000);
})();
