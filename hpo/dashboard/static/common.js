// Helpers every page uses: JSON fetch, formatting, safe DOM building, live polling, plotly.
"use strict";

const hpo = {
  async get(url) {
    const response = await fetch(url, { cache: "no-store" });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  },

  // plotly.js (4.6 MB, from the plotly wheel) loads on the first plot, so tables paint first.
  plotly() {
    if (!hpo._plotly) {
      hpo._plotly = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = "/assets/plotly.min.js";
        script.onload = () => resolve(window.Plotly);
        script.onerror = () => reject(new Error("could not load /assets/plotly.min.js"));
        document.head.append(script);
      });
    }
    return hpo._plotly;
  },

  num(value, digits = 4) {
    if (value === null || value === undefined) return "-";
    if (typeof value === "boolean") return String(value);
    if (typeof value !== "number") return String(value);
    if (Number.isInteger(value)) return String(value);
    return Number(value.toPrecision(digits)).toString();
  },

  param(value) {
    if (Array.isArray(value)) return value.every(Number.isInteger) ? value.join("-") : "(" + value.map(hpo.param).join(", ") + ")";
    return typeof value === "number" ? hpo.num(value, 3) : value === undefined || value === null ? "-" : String(value);
  },

  duration(seconds) {
    if (seconds === null || seconds === undefined) return "-";
    if (seconds < 10) return seconds.toFixed(2) + "s";
    if (seconds < 60) return seconds.toFixed(1) + "s";
    const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
    return m < 60 ? `${m}m${String(s).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
  },

  ago(iso) {
    if (!iso) return "-";
    const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (seconds < 90) return `${Math.round(seconds)} s ago`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
    return new Date(iso).toLocaleString();
  },

  // el("td", {class: "num"}, "text", child, ...): text is always set as text, never as HTML.
  el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  },

  state(state) { return hpo.el("span", { class: `state state-${state}` }, state.toLowerCase()); },

  counts(counts) {
    const parts = [];
    for (const state of ["COMPLETE", "PRUNED", "FAILED", "RUNNING", "WAITING"]) {
      if (counts[state]) parts.push(hpo.el("span", { class: `state-${state}` }, `${counts[state]} ${state.toLowerCase()}`));
    }
    if (!parts.length) return hpo.el("span", { class: "muted" }, "no trials yet");
    return hpo.el("span", {}, parts.flatMap((p, i) => (i ? [", ", p] : [p])));
  },

  async header(crumbs) {
    const info = await hpo.get("/api/info");
    document.getElementById("where").textContent = `${info.storage} · read-only`;
    const node = document.getElementById("crumbs");
    node.replaceChildren(...crumbs.flatMap((c) => [" / ", c]));
  },

  // Calls tick() every `ms` while the tab is visible; the header says when data last arrived.
  live(tick, ms = 1000) {
    const live = document.getElementById("live");
    let busy = false;
    const run = async () => {
      if (busy || document.hidden) return;
      busy = true;
      try {
        await tick();
        live.textContent = "live · updated " + new Date().toLocaleTimeString();
        live.classList.remove("stale");
      } catch (error) {
        live.textContent = "not updating: " + error.message;
        live.classList.add("stale");
      } finally { busy = false; }
    };
    run();
    return setInterval(run, ms);
  },

  async plot(node, traces, layout, config = {}) {
    const Plotly = await hpo.plotly();
    const base = { margin: { l: 60, r: 20, t: 30, b: 50 }, hovermode: "closest",
                   font: { family: "system-ui, sans-serif", size: 12 }, uirevision: "keep" };
    await Plotly.react(node, traces, { ...base, ...layout }, { displaylogo: false, responsive: true, ...config });
    node.dataset.rendered = String(traces.length);
  },

  colors: { COMPLETE: "#2e7d32", PRUNED: "#d9822b", FAILED: "#c62828", RUNNING: "#00838f", best: "#2f6fdf" },
};
