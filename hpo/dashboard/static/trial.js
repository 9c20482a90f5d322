// One trial: state, value, params, metrics, learning curve, timing, worker, error, retry chain.
// Refreshed every second while the trial is waiting or running.
"use strict";

(function () {
  const [, , sid, , number] = location.pathname.split("/").map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const main = document.getElementById("main");
  let lastKey = null;

  function kv(pairs) {
    return hpo.el("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [hpo.el("dt", {}, k), hpo.el("dd", {}, v)]));
  }

  async function render(study, t) {
    const label = study.metric || "value";
    const tests = Object.entries(t.metrics).filter(([k]) => k.startsWith("test_"));
    const info = kv([["state", hpo.state(t.state)], [label, hpo.el("b", { id: "trial-value" }, hpo.num(t.value, 6))],
      ...tests.map(([k, v]) => [k.replace("_", " "), hpo.num(v, 6)]),
      ["duration", hpo.duration(t.duration_s)], ["started", t.started_at || "-"], ["finished", t.finished_at || "-"],
      ["last heartbeat", t.heartbeat_at ? `${t.heartbeat_at} (${hpo.ago(t.heartbeat_at)})` : "-"],
      ["worker", t.worker || "-"], ["retry of", t.retry_of === null ? "-" : hpo.el("a", { href: `/studies/${sid}/trials/${t.retry_of}` }, "#" + t.retry_of)]]);
    const params = kv(Object.entries(t.params).map(([k, v]) => [k, hpo.param(v)]));
    const metrics = kv(Object.entries(t.metrics).map(([k, v]) => [k, hpo.num(v, 6)]));
    const chain = t.retry_chain.length ? hpo.el("table", { id: "retry-chain" }, hpo.el("tr", {}, ["trial", "state", "worker", "error"].map((h) => hpo.el("th", {}, h))),
      t.retry_chain.map((r) => hpo.el("tr", { class: r.number === t.number ? "best" : null },
        hpo.el("td", {}, hpo.el("a", { href: `/studies/${sid}/trials/${r.number}` }, "#" + r.number)), hpo.el("td", {}, hpo.state(r.state)),
        hpo.el("td", {}, r.worker || "-"), hpo.el("td", { class: "wrap" }, r.error || "")))) : hpo.el("p", { class: "muted" }, "Not retried, and not a retry.");
    main.replaceChildren(
      hpo.el("div", { class: "two" },
        hpo.el("div", {}, hpo.el("h2", {}, `Trial #${t.number} of ${study.name}`), info, hpo.el("h2", {}, "Parameters"), params,
          hpo.el("h2", {}, "Metrics"), Object.keys(t.metrics).length ? metrics : hpo.el("p", { class: "muted" }, "none stored")),
        hpo.el("div", {}, hpo.el("h2", {}, "Learning curve"), hpo.el("div", { id: "curve-plot", class: "plot" }),
          hpo.el("h2", {}, "Retry chain"), chain)),
      t.error ? [hpo.el("h2", {}, "Error"), hpo.el("pre", { class: "error", id: "trial-error" }, t.error)] : []);
    const best = t.metrics.best_epoch;
    const traces = [{ x: t.curve.steps, y: t.curve.values, mode: "lines+markers", name: label,
      line: { dash: t.state === "PRUNED" ? "dash" : "solid" } }];
    const at = t.curve.steps.indexOf(best);
    if (at >= 0) traces.push({ x: [best], y: [t.curve.values[at]], mode: "markers", name: `epoch kept (${best})`,
      marker: { symbol: "star", size: 13, color: "#d9822b" } });
    await hpo.plot(document.getElementById("curve-plot"), traces, { xaxis: { title: { text: "epoch (step)" } },
      yaxis: { title: { text: label } }, showlegend: traces.length > 1,
      annotations: t.curve.steps.length ? [] : [{ text: "no intermediate values reported", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }] });
  }

  async function start() {
    const study = await hpo.get(`/api/studies/${sid}`);
    hpo.header([hpo.el("a", { href: `/studies/${sid}` }, study.name), `trial #${number}`]);
    document.title = `hpo · ${study.name} #${number}`;
    hpo.live(async () => {
      const t = await hpo.get(`/api/studies/${sid}/trials/${number}`);
      const key = JSON.stringify([t.state, t.curve.steps.length, t.heartbeat_at, t.retry_chain.length]);
      if (key === lastKey) return;
      lastKey = key;
      await render(study, t);
    }, 1000);
  }

  start().catch((error) => main.replaceChildren(hpo.el("p", { class: "error" }, error.message)));
})();
