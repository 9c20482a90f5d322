// One study: summary, workers, and tabs (leaderboard, history, curves, parallel, importance,
// slice/contour). A cheap version marker is polled every second; when it changes, the summary,
// the leaderboard page and the open tab are fetched again, so new trials and epochs show up live.
"use strict";

(function () {
  const sid = Number(location.pathname.split("/")[2]);
  const api = (path) => `/api/studies/${sid}${path}`;
  const main = document.getElementById("main");
  const $ = (id) => document.getElementById(id);
  const view = { sort: "value", desc: null, page: 1, pageSize: 25, states: ["COMPLETE"], ranges: {}, choices: {},
                 selected: new Set(), tab: location.hash.slice(1) || "leaderboard", study: null, version: null };
  const TABS = [["leaderboard", "Leaderboard"], ["history", "History"], ["curves", "Learning curves"],
                ["parallel", "Parallel coordinates"], ["importance", "Importance"], ["slice", "Slice / contour"]];

  main.replaceChildren(
    hpo.el("div", { id: "summary", class: "summary" }),
    hpo.el("h2", {}, "Workers"), hpo.el("table", { id: "workers" }),
    hpo.el("nav", { class: "tabs" }, TABS.map(([key, label]) =>
      hpo.el("button", { "data-tab": key, onclick: () => show(key) }, label))),
    ...TABS.map(([key]) => hpo.el("section", { id: `panel-${key}`, class: "panel" })));

  // ------------------------------------------------------------------ summary and workers
  function renderSummary(s) {
    document.title = `hpo · ${s.name}`;
    const metric = s.metric || "value";
    $("summary").replaceChildren(
      hpo.el("span", {}, hpo.el("b", {}, s.name), ` · ${s.direction} ${metric}`),
      hpo.el("span", {}, "sampler ", hpo.el("b", {}, s.sampler)),
      hpo.el("span", {}, "model ", hpo.el("b", {}, s.family)),
      hpo.el("span", { id: "counts" }, hpo.counts(s.counts)),
      hpo.el("span", { id: "best" }, "best ", hpo.el("b", {}, hpo.num(s.best_value, 6)),
        s.best_number === null ? "" : [" (", hpo.el("a", { href: `/studies/${sid}/trials/${s.best_number}` }, "#" + s.best_number), ")"]),
      hpo.el("span", { class: "muted" }, "last activity " + hpo.ago(s.last_activity)));
  }

  async function refreshWorkers() {
    const data = await hpo.get(api("/workers"));
    const rows = data.workers.map((w) => hpo.el("tr", {},
      hpo.el("td", {}, w.worker), hpo.el("td", { title: w.last_heard || "" },
        w.seconds_ago === null ? "-" : `${Math.round(w.seconds_ago)} s ago`),
      hpo.el("td", { class: "num" }, w.running), hpo.el("td", { class: "num" }, w.recent_trials)));
    $("workers").replaceChildren(hpo.el("thead", {}, hpo.el("tr", {},
      ["worker", "last heard from", "running", "trials (recent)"].map((h, i) => hpo.el("th", { class: i > 1 ? "num" : null }, h)))),
      hpo.el("tbody", {}, rows.length ? rows : hpo.el("tr", {}, hpo.el("td", { colspan: 4, class: "muted" }, "No worker has claimed a trial yet."))));
  }

  // ------------------------------------------------------------------ leaderboard
  function filters(study) {
    const states = hpo.el("fieldset", {}, hpo.el("legend", {}, "state"),
      ["COMPLETE", "PRUNED", "FAILED", "RUNNING", "WAITING"].map((state) => hpo.el("label", {},
        hpo.el("input", { type: "checkbox", value: state, checked: view.states.includes(state), onchange: (e) => {
          view.states = e.target.checked ? [...view.states, state] : view.states.filter((s) => s !== state);
          view.page = 1; refreshTrials();
        } }), " ", state.toLowerCase(), " ")));
    const params = Object.entries(study.space).map(([name, spec]) => {
      if (spec.type === "Categorical") {
        if (!spec.choices.every((c) => typeof c === "string")) return null;
        return hpo.el("fieldset", {}, hpo.el("legend", {}, name), spec.choices.map((choice) => hpo.el("label", {},
          hpo.el("input", { type: "checkbox", value: choice, onchange: (e) => {
            const now = new Set(view.choices[name] || []);
            e.target.checked ? now.add(choice) : now.delete(choice);
            if (now.size) view.choices[name] = [...now]; else delete view.choices[name];
            view.page = 1; refreshTrials();
          } }), " ", choice, " ")));
      }
      const bound = (which) => hpo.el("input", { type: "number", step: "any", placeholder: which === 0 ? `≥ ${spec.low}` : `≤ ${spec.high}`,
        "data-param": name, "data-bound": which ? "high" : "low", onchange: (e) => {
          const range = view.ranges[name] || ["", ""];
          range[which] = e.target.value;
          if (range[0] === "" && range[1] === "") delete view.ranges[name]; else view.ranges[name] = range;
          view.page = 1; refreshTrials();
        } });
      return hpo.el("fieldset", {}, hpo.el("legend", {}, name + (spec.log ? " (log)" : "")), bound(0), " – ", bound(1));
    });
    return hpo.el("div", { class: "controls" }, states, params);
  }

  function trialsUrl() {
    const q = new URLSearchParams({ sort: view.sort, page: view.page, page_size: view.pageSize });
    if (view.desc !== null) q.set("desc", view.desc ? "1" : "0");
    for (const state of view.states) q.append("state", state);
    for (const [name, [low, high]] of Object.entries(view.ranges)) q.set(`range.${name}`, `${low}:${high}`);
    for (const [name, values] of Object.entries(view.choices)) q.set(`choice.${name}`, values.join(","));
    return api("/trials?" + q);
  }

  function sortBy(key) {
    if (view.sort === key) view.desc = !(view.desc ?? (key === "value" && view.study.direction === "maximize"));
    else { view.sort = key; view.desc = null; }
    view.page = 1; refreshTrials();
  }

  async function refreshTrials(prefetched) {
    const t0 = performance.now();
    const data = prefetched || await hpo.get(trialsUrl());
    const study = view.study;
    const metrics = [];
    for (const t of data.trials) for (const k of Object.keys(t.metrics)) if (!metrics.includes(k) && k !== "duration_s") metrics.push(k);
    const columns = [["number", "#", "number"], ["value", study.metric || "value", "value"],
      ...Object.keys(study.space).map((p) => [`param:${p}`, p, null]),
      ...metrics.map((m) => [`metric:${m}`, m, null])];
    const head = hpo.el("tr", {}, hpo.el("th", { title: "select for learning curves" }, "curve"),
      hpo.el("th", {}, "state"),
      columns.map(([key, label]) => hpo.el("th", { class: ["sortable", "num", view.sort === key ? "sorted" : "", view.sort === key && !data.descending ? "asc" : ""].join(" "),
        "data-sort": key, onclick: () => sortBy(key) }, label)),
      hpo.el("th", { class: "num" }, "time"), hpo.el("th", {}, "worker"), hpo.el("th", {}, "error"));
    const rows = data.trials.map((t) => hpo.el("tr", { "data-number": t.number, class: t.number === data.best_number ? "best" : null },
      hpo.el("td", {}, hpo.el("input", { type: "checkbox", checked: view.selected.has(t.number), onchange: (e) => {
        e.target.checked ? view.selected.add(t.number) : view.selected.delete(t.number); } })),
      hpo.el("td", {}, hpo.state(t.state)),
      hpo.el("td", { class: "num" }, hpo.el("a", { href: `/studies/${sid}/trials/${t.number}` }, "#" + t.number)),
      hpo.el("td", { class: "num value" }, hpo.num(t.value, 6)),
      Object.keys(study.space).map((p) => hpo.el("td", { class: "num" }, hpo.param(t.params[p]))),
      metrics.map((m) => hpo.el("td", { class: "num" }, hpo.num(t.metrics[m]))),
      hpo.el("td", { class: "num" }, hpo.duration(t.duration_s)), hpo.el("td", {}, t.worker || "-"),
      hpo.el("td", { class: "wrap error", title: t.error || "" }, t.error || "")));
    const pager = hpo.el("div", { class: "pager" },
      hpo.el("button", { disabled: data.page <= 1, onclick: () => { view.page -= 1; refreshTrials(); } }, "‹ prev"),
      hpo.el("span", { id: "page-info" }, `page ${data.page} of ${data.pages} · ${data.total} trials match`),
      hpo.el("button", { disabled: data.page >= data.pages, onclick: () => { view.page += 1; refreshTrials(); } }, "next ›"),
      hpo.el("select", { onchange: (e) => { view.pageSize = Number(e.target.value); view.page = 1; refreshTrials(); } },
        [25, 50, 100, 250].map((n) => hpo.el("option", { value: n, selected: n === view.pageSize }, `${n} per page`))),
      hpo.el("button", { onclick: () => show("curves") }, "Learning curves of selected"));
    $("leaderboard-table").replaceChildren(hpo.el("thead", {}, head), hpo.el("tbody", {}, rows.length ? rows :
      hpo.el("tr", {}, hpo.el("td", { colspan: columns.length + 5, class: "muted" }, "No trial matches."))));
    $("leaderboard-pager").replaceChildren(pager);
    window.hpoTimings = { readyAt: performance.now(), ...(window.hpoTimings || {}), leaderboardMs: performance.now() - t0 };
    document.body.dataset.ready = "1";
  }

  // ------------------------------------------------------------------ plots
  async function drawHistory() {
    const h = await hpo.get(api("/history"));
    const node = $("history-plot");
    const label = view.study.metric || "value";
    const traces = [
      { x: h.complete.x, y: h.complete.y, mode: "markers", type: "scatter", name: `complete (${h.complete.n})`,
        marker: { color: hpo.colors.COMPLETE, size: 5, opacity: 0.6 } },
      { x: h.pruned.x, y: h.pruned.y, mode: "markers", type: "scatter", name: `pruned (${h.pruned.n}), last value`,
        marker: { color: hpo.colors.PRUNED, size: 6, symbol: "triangle-down" } },
      { x: h.best.x, y: h.best.y, mode: "lines", line: { shape: "hv", color: hpo.colors.best, width: 2 }, name: "best so far" },
      { x: h.failed.x, y: h.failed.x.map(() => 0), yaxis: "y2", mode: "markers", type: "scatter", name: `failed (${h.failed.n})`,
        marker: { color: hpo.colors.FAILED, symbol: "x", size: 7 } }];
    await hpo.plot(node, traces, {
      xaxis: { title: { text: "trial number" }, anchor: "y2", zeroline: false },
      yaxis: { title: { text: label }, domain: [0.12, 1] },
      yaxis2: { domain: [0, 0.06], showticklabels: false, showgrid: false, zeroline: false, fixedrange: true,
                title: { text: "failed", font: { size: 10 } } },
      legend: { orientation: "h", y: 1.08 } });
    $("history-note").textContent = h.downsampled
      ? `${h.total} finished trials; ${h.shown} drawn (per bucket of trial numbers the lowest and highest value, every improvement of the best kept).`
      : `${h.total} finished trials, all drawn.`;
  }

  async function drawCurves() {
    const numbers = [...view.selected].join(",");
    const top = $("curves-top").value || 10;
    const curves = await hpo.get(api(`/curves?top=${top}&numbers=${numbers}`));
    const traces = [];
    const palette = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#ff7f0e", "#d62728"];
    for (const [i, c] of curves.entries()) {
      const color = palette[i % palette.length];
      const dash = c.state === "PRUNED" ? "dash" : c.state === "RUNNING" ? "dot" : "solid";
      traces.push({ x: c.curve.steps, y: c.curve.values, mode: "lines", name: `#${c.number} ${c.state.toLowerCase()}`,
                    line: { dash, color, width: c.state === "COMPLETE" ? 2 : 1.5 }, legendgroup: String(c.number) });
      if (c.best_epoch !== null && c.best_epoch !== undefined) {
        const at = c.curve.steps.indexOf(c.best_epoch);
        if (at >= 0) traces.push({ x: [c.best_epoch], y: [c.curve.values[at]], mode: "markers", showlegend: false,
          legendgroup: String(c.number), marker: { symbol: "star", size: 12, color, line: { width: 1, color: "#333" } },
          hovertext: `#${c.number}: early stopping kept epoch ${c.best_epoch}`, hoverinfo: "text" });
      }
    }
    await hpo.plot($("curves-plot"), traces, { xaxis: { title: { text: "epoch (step)" } },
      yaxis: { title: { text: view.study.metric || "value" } } });
    $("curves-note").textContent = (view.selected.size ? `Selected trials ${numbers}. ` : `Top ${top} complete, running and recent pruned trials. `) +
      "Pruned: dashed; running: dotted; ★ the epoch early stopping kept.";
  }

  async function drawParallel() {
    const p = await hpo.get(api("/parallel"));
    const dims = p.axes.map((a) => ({ label: a.label, values: a.values, tickvals: a.tickvals, ticktext: a.ticktext, range: a.range }));
    dims.push({ label: view.study.metric || "value", values: p.value });
    await hpo.plot($("parallel-plot"), [{ type: "parcoords", dimensions: dims,
      line: { color: p.value, colorscale: "Viridis", reversescale: p.direction === "minimize", showscale: true } }],
      { margin: { l: 70, r: 70, t: 60, b: 30 } });
    $("parallel-note").textContent = `${p.shown} of ${p.total} complete trials (the best fifth and an even spread of the rest). ` +
      "Log parameters are drawn on a log axis and labelled with their values.";
  }

  async function drawImportance() {
    const imp = await hpo.get(api("/importance"));
    $("importance-note").textContent = `${imp.method} Fitted on ${imp.n_trials} complete trials.` + (imp.message ? " " + imp.message : "");
    await hpo.plot($("importance-plot"), [{ type: "bar", orientation: "h", x: [...imp.importance].reverse(), y: [...imp.names].reverse(),
      marker: { color: hpo.colors.best } }], { xaxis: { title: { text: "share of importance" }, rangemode: "tozero" }, margin: { l: 140 } });
  }

  async function drawSlice() {
    const x = $("slice-x").value, y = $("slice-y").value;
    const s = await hpo.get(api(`/slice?x=${encodeURIComponent(x)}&y=${encodeURIComponent(y)}`));
    const label = view.study.metric || "value";
    const pad = (r) => [r[0] - 0.04 * (r[1] - r[0]), r[1] + 0.04 * (r[1] - r[0])];  // edge points stay whole
    const axis = (a, extra) => ({ title: { text: a.label }, tickvals: a.tickvals, ticktext: a.ticktext, range: pad(a.range), ...extra });
    const marker = { color: s.value, colorscale: "Viridis", reversescale: s.direction === "minimize", size: 5, opacity: 0.7 };
    const traces = [
      { x: s.x_axis.values, y: s.value, mode: "markers", type: "scatter", marker, xaxis: "x", yaxis: "y", name: x, text: s.numbers.map((n) => "#" + n) },
      { x: s.y_axis.values, y: s.value, mode: "markers", type: "scatter", marker, xaxis: "x2", yaxis: "y2", name: y, text: s.numbers.map((n) => "#" + n) },
      { x: s.grid.x, y: s.grid.y, z: s.grid.z, type: "contour", xaxis: "x3", yaxis: "y3", colorscale: "Viridis",
        reversescale: s.direction === "minimize", connectgaps: true, contours: { coloring: "heatmap" }, colorbar: { title: { text: label } }, name: "best per cell" },
      { x: s.x_axis.values, y: s.y_axis.values, mode: "markers", type: "scatter", xaxis: "x3", yaxis: "y3",
        marker: { color: "rgba(0,0,0,0.45)", size: 3 }, name: "trials", text: s.numbers.map((n) => "#" + n) }];
    await hpo.plot($("slice-plot"), traces, { showlegend: false, height: 460,
      xaxis: axis(s.x_axis, { domain: [0, 0.28] }), yaxis: { title: { text: label } },
      xaxis2: axis(s.y_axis, { domain: [0.36, 0.64] }), yaxis2: { anchor: "x2" },
      xaxis3: axis(s.x_axis, { domain: [0.72, 1] }), yaxis3: axis(s.y_axis, { anchor: "x3" }) });
    $("slice-note").textContent = `Left: ${label} against ${x}; middle: against ${y}; right: the best ${label} per cell of a 24×24 grid over (${x}, ${y}), ${s.shown} trials.`;
  }

  const draw = { history: drawHistory, curves: drawCurves, parallel: drawParallel, importance: drawImportance, slice: drawSlice,
                 leaderboard: refreshTrials };

  function buildPanels(study) {
    $("panel-leaderboard").replaceChildren(filters(study), hpo.el("div", { id: "leaderboard-pager" }),
      hpo.el("div", { style: "overflow-x:auto" }, hpo.el("table", { id: "leaderboard-table" })));
    for (const key of ["history", "curves", "parallel", "importance"]) {
      const controls = key === "curves" ? hpo.el("div", { class: "controls" }, hpo.el("label", {}, "top k ",
        hpo.el("input", { id: "curves-top", type: "number", min: 1, max: 50, value: 10, onchange: drawCurves })),
        hpo.el("button", { onclick: () => { view.selected.clear(); drawCurves(); } }, "clear selection")) : null;
      $(`panel-${key}`).replaceChildren(...[controls, hpo.el("p", { id: `${key}-note`, class: "note" }),
        hpo.el("div", { id: `${key}-plot`, class: "plot" })].filter(Boolean));
    }
    const names = Object.keys(study.space);
    const pick = (id, chosen) => hpo.el("select", { id, onchange: drawSlice }, names.map((n) => hpo.el("option", { value: n, selected: n === chosen }, n)));
    $("panel-slice").replaceChildren(hpo.el("div", { class: "controls" }, hpo.el("label", {}, "x ", pick("slice-x", names[0])),
      hpo.el("label", {}, "y ", pick("slice-y", names[1] || names[0]))), hpo.el("p", { id: "slice-note", class: "note" }),
      hpo.el("div", { id: "slice-plot", class: "plot" }));
  }

  async function show(tab, { skipLeaderboard = false } = {}) {
    view.tab = tab;
    history.replaceState(null, "", "#" + tab);
    for (const b of document.querySelectorAll(".tabs button")) b.classList.toggle("active", b.dataset.tab === tab);
    for (const p of document.querySelectorAll(".panel")) p.classList.toggle("active", p.id === `panel-${tab}`);
    if (view.study && !(skipLeaderboard && tab === "leaderboard")) await draw[tab]();
  }

  // ------------------------------------------------------------------ start and live loop
  async function start() {
    view.version = (await hpo.get(api("/version"))).version;  // before the data: no change is missed
    const [study, trials] = await Promise.all([hpo.get(api("")), hpo.get(trialsUrl())]);
    view.study = study;
    hpo.header([hpo.el("a", { href: `/studies/${sid}` }, study.name)]);
    renderSummary(study);
    buildPanels(study);
    await refreshTrials(trials);
    if (!TABS.some(([k]) => k === view.tab)) view.tab = "leaderboard";
    await show(view.tab, { skipLeaderboard: true });
  }

  // A refresh that took T ms waits min(3T, 2 s) before the next one, so on a huge study the
  // page keeps the server (and the writers sharing its machine) busy at most a quarter of the
  // time while updates stay within a few seconds; on an ordinary study that is one a second.
  let nextRefresh = 0;
  start().then(() => {
    hpo.live(async () => {
      if (performance.now() < nextRefresh) return;
      const { version } = await hpo.get(api("/version"));
      if (version === view.version) return;
      const t0 = performance.now();
      view.version = version;
      view.study = await hpo.get(api(""));
      renderSummary(view.study);
      if (view.tab !== "leaderboard") await refreshTrials();
      await draw[view.tab]();
      nextRefresh = performance.now() + Math.min(3 * (performance.now() - t0), 2000);
    }, 1000);
    refreshWorkers();
    setInterval(() => { if (!document.hidden) refreshWorkers().catch(() => {}); }, 2000);
  }).catch((error) => main.replaceChildren(hpo.el("p", { class: "error" }, error.message)));
})();
