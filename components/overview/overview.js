// emolens overview: a time x emotion heatmap of every emotion drawn on a canvas (no plotly), so the first chart of
// Explore appears as soon as its data arrives, before plotly.js (~4.7 MB) has loaded. Rows top to bottom by mean
// score, the absolute 0-1 score scale, a speaker band on top, hover shows the cell, a click opens its first segment.
// The media player (components/media_sync) draws its playhead and selection band on it through the data-* geometry.

const M = { r: 56, b: 40 }; // margins: colour bar, time axis (the row names' margin, st.ml, fits the longest name)
const BAND = 12; // speaker band height (px) and gap below it
const FONT = '"Source Sans Pro", "Source Sans 3", sans-serif';

function decode(b64) {
  const bin = atob(b64 || "");
  const out = new Uint16Array(bin.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8);
  return out;
}

function niceTicks(lo, hi, n) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(+v.toFixed(6));
  return out;
}

function cellAt(edges, x) {
  // the last edge at or before x (binary search), -1 outside
  if (x < edges[0] || x > edges[edges.length - 1]) return -1;
  let lo = 0, hi = edges.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (edges[mid] <= x) lo = mid; else hi = mid - 1;
  }
  return lo;
}

function draw(st) {
  const g = st.grid;
  const root = st.root;
  const width = Math.max(300, Math.floor(root.clientWidth || 800));
  st.title.textContent = g.title || "";
  if (g.empty) {
    st.canvas.style.display = "none";
    st.note.textContent = g.empty;
    root.dataset.drawn = "true";
    return;
  }
  st.note.textContent = "";
  st.canvas.style.display = "block";
  const rows = g.rows, edges = g.edges, n = edges.length - 1;
  const band = g.speakers && g.speakers.length > 1;
  const height = g.height || 10 * rows.length + 130;
  const top = st.title.offsetHeight + 6;
  const canvasH = height - top;
  const y0 = band ? BAND + 4 : 4; // the heatmap's top inside the canvas
  const c = st.canvas;
  const plotH0 = Math.max(20, canvasH - y0 - M.b);
  const fontPx = Math.min(11, Math.max(7, plotH0 / rows.length - 1));
  const measure = c.getContext("2d");
  measure.font = `${fontPx}px ${FONT}`;
  st.ml = Math.ceil(Math.max(measure.measureText("speaker").width, ...rows.map((r) => measure.measureText(r).width))) + 10;
  const plotW = Math.max(50, width - st.ml - M.r);
  const plotH = plotH0;
  const dpr = window.devicePixelRatio || 1;
  c.width = Math.round(width * dpr);
  c.height = Math.round(canvasH * dpr);
  c.style.width = `${width}px`;
  c.style.height = `${canvasH}px`;
  const ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, canvasH);
  const x0 = edges[0], x1 = edges[n];
  const toPx = (v) => ((v - x0) / (x1 - x0 || 1)) * plotW;
  // one image column per screen pixel: each pixel takes the cell under its centre (cells may be uneven)
  const img = ctx.createImageData(plotW, rows.length);
  const colors = (g.colors || []).map((h) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)]);
  const z = st.z;
  const colCell = new Int32Array(plotW);
  for (let px = 0; px < plotW; px++) colCell[px] = cellAt(edges, x0 + ((px + 0.5) / plotW) * (x1 - x0));
  for (let r = 0; r < rows.length; r++) {
    for (let px = 0; px < plotW; px++) {
      const cell = colCell[px];
      const v = cell < 0 ? 65535 : z[r * n + cell];
      const o = 4 * (r * plotW + px);
      if (v === 65535) { img.data[o + 3] = 0; continue; }
      const rgb = colors[Math.min(255, Math.round((v / 1000) * 255))] || [0, 0, 0];
      img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2]; img.data[o + 3] = 255;
    }
  }
  const tmp = document.createElement("canvas");
  tmp.width = plotW; tmp.height = rows.length;
  tmp.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, st.ml, y0, plotW, plotH);
  if (band) {
    for (let i = 0; i < n; i++) {
      const s = g.speaker[i];
      if (s == null || s < 0) continue;
      const a = toPx(edges[i]), b = toPx(edges[i + 1]);
      ctx.fillStyle = g.speaker_colors[s % g.speaker_colors.length];
      ctx.fillRect(st.ml + a, 0, Math.max(1, b - a), BAND);
    }
  }
  // row names (every one, as the plotly version), the time axis and the colour bar
  ctx.fillStyle = "#31333F";
  const rowH = plotH / rows.length;
  ctx.font = `${fontPx}px ${FONT}`;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  rows.forEach((name, r) => ctx.fillText(name, st.ml - 5, y0 + (r + 0.5) * rowH));
  if (band) ctx.fillText("speaker", st.ml - 5, BAND / 2);
  ctx.font = `12px ${FONT}`;
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  ctx.strokeStyle = "#999";
  for (const t of niceTicks(x0, x1, Math.max(2, Math.floor(plotW / 90)))) {
    const px = st.ml + toPx(t);
    ctx.beginPath(); ctx.moveTo(px, y0 + plotH); ctx.lineTo(px, y0 + plotH + 4); ctx.stroke();
    ctx.fillText(String(t), px, y0 + plotH + 6);
  }
  ctx.fillText(g.xlabel || "", st.ml + plotW / 2, y0 + plotH + 22);
  const cbX = st.ml + plotW + 14, cbW = 12;
  for (let i = 0; i < plotH; i++) {
    const rgb = colors[Math.round((1 - i / plotH) * 255)] || [0, 0, 0];
    ctx.fillStyle = `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
    ctx.fillRect(cbX, y0 + i, cbW, 1.5);
  }
  ctx.fillStyle = "#31333F"; ctx.textAlign = "left"; ctx.textBaseline = "middle"; ctx.font = `11px ${FONT}`;
  for (const v of [0, 0.2, 0.4, 0.6, 0.8, 1]) ctx.fillText(v.toFixed(1), cbX + cbW + 4, y0 + (1 - v) * plotH);
  ctx.textBaseline = "top";
  ctx.fillText("score", cbX - 4, y0 + plotH + 6);
  // geometry for the player's playhead and selection band (px relative to the root, axis range in x units)
  Object.assign(root.dataset, {
    x0: String(x0), x1: String(x1), left: String(st.ml), width: String(plotW),
    top: String(top + y0), height: String(plotH), rows: String(rows.length), drawn: "true",
  });
  st.geom = { top, y0, plotW, plotH, rowH, x0, x1, n };
}

function hit(st, ev) {
  const gm = st.geom;
  if (!gm || st.grid.empty) return null;
  const box = st.canvas.getBoundingClientRect();
  const px = ev.clientX - box.left - st.ml, py = ev.clientY - box.top - gm.y0;
  if (px < 0 || px > gm.plotW || py < 0 || py > gm.plotH) return null;
  const x = gm.x0 + (px / gm.plotW) * (gm.x1 - gm.x0);
  const cell = cellAt(st.grid.edges, x);
  const r = Math.min(st.grid.rows.length - 1, Math.floor(py / gm.rowH));
  return cell < 0 ? null : { cell, r, px, py };
}

function onMove(st, ev) {
  const h = hit(st, ev);
  const tip = st.tip;
  if (!h) { tip.style.display = "none"; return; }
  const g = st.grid, e = g.edges;
  const v = st.z[h.r * (e.length - 1) + h.cell];
  const where = g.timed ? `${e[h.cell].toFixed(1)}–${e[h.cell + 1].toFixed(1)} s` : `segment ${h.cell + 1}`;
  const spk = g.speakers && g.speakers.length > 1 && g.speaker[h.cell] >= 0 ? ` · ${g.speakers[g.speaker[h.cell]]}` : "";
  tip.textContent = `${g.rows[h.r]} @ ${where}${spk}: ${v === 65535 ? "no segment" : (v / 1000).toFixed(3)}`;
  tip.style.display = "block";
  const left = Math.min(st.ml + h.px + 12, st.root.clientWidth - tip.offsetWidth - 4);
  tip.style.left = `${Math.max(0, left)}px`;
  tip.style.top = `${st.geom.top + st.geom.y0 + h.py + 12}px`;
}

function preload(name) {
  // the rest of the page draws plotly charts: fetch and compile Streamlit's plotly chunk (a file next to its main
  // script) while the server runs the page again, instead of after the first plotly chart has arrived
  const main = document.querySelector('script[type="module"][src*="/static/js/index."]');
  if (!name || !main || document.querySelector("link[data-emolens-preload]")) return;
  const link = document.createElement("link");
  link.rel = "modulepreload";
  link.href = new URL(name, main.src).href;
  link.dataset.emolensPreload = "true";
  document.head.appendChild(link);
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let st = parentElement.__emolensOverview;
  if (!st) {
    st = parentElement.__emolensOverview = {};
    const root = document.createElement("div");
    root.className = "emolens-overview";
    root.dataset.testid = "emolens-overview";
    st.title = document.createElement("div");
    st.title.className = "emolens-overview-title";
    st.note = document.createElement("div");
    st.note.className = "emolens-overview-note";
    st.canvas = document.createElement("canvas");
    st.tip = document.createElement("div");
    st.tip.className = "emolens-overview-tip";
    root.append(st.title, st.note, st.canvas, st.tip);
    parentElement.appendChild(root);
    st.root = root;
    st.canvas.addEventListener("mousemove", (ev) => onMove(st, ev));
    st.canvas.addEventListener("mouseleave", () => { st.tip.style.display = "none"; });
    st.canvas.addEventListener("click", (ev) => {
      const h = hit(st, ev);
      if (!h) return;
      const e = st.grid.edges;
      st.setTriggerValue("pick", { x0: e[h.cell], x1: e[h.cell + 1] });
    });
    st.resize = new ResizeObserver(() => {
      const w = Math.floor(root.clientWidth);
      if (st.grid && w && w !== st.width) { st.width = w; draw(st); }
    });
    st.resize.observe(root);
  }
  st.setTriggerValue = setTriggerValue;
  const g = data || {};
  if (g !== st.grid && JSON.stringify([g.z, g.rows, g.edges, g.title]) !== st.sig) {
    st.sig = JSON.stringify([g.z, g.rows, g.edges, g.title]);
    st.grid = g;
    st.z = decode(g.z);
    st.width = Math.floor(st.root.clientWidth);
    try {
      draw(st);
    } finally {
      // a light first page (notify): once this chart is on screen, ask for the rest of the page; after the paint,
      // so the charts that follow (and plotly.js) never delay this one
      if (g.notify) requestAnimationFrame(() => setTimeout(() => { st.setTriggerValue("drawn", true); preload(g.preload); }, 0));
    }
  } else {
    st.grid = g;
  }
  return () => {};
}
