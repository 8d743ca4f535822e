// emolens media sync: an HTML5 audio/video element that seeks to the selected segment (sub-second), plays a
// segment, draws a playhead on the named plotly charts, marks the transcript word being played, answers the
// keyboard (left/right: previous/next segment, space: play the segment), and reports its position on pause.
// Components v2 run in the page (no iframe), so the playhead and the word marking need no round trip to Python.

function axisOf(key) {
  // the x axis of a chart: a plotly chart (its laid-out axis) or the canvas overview (its data-* geometry);
  // {gd, offset, length, l2p (x value -> px from offset), top, h}, or null when not drawn yet
  const gd = document.querySelector(`.st-key-${key} .js-plotly-plot, .st-key-${key} .emolens-overview`);
  if (!gd) return null;
  if (gd.classList.contains("emolens-overview")) {
    const d = gd.dataset;
    if (d.drawn !== "true" || d.x0 === undefined) return null;
    const x0 = parseFloat(d.x0), x1 = parseFloat(d.x1), width = parseFloat(d.width);
    return { gd, offset: parseFloat(d.left), length: width, l2p: (t) => ((t - x0) / (x1 - x0 || 1)) * width,
             top: parseFloat(d.top), h: parseFloat(d.height) };
  }
  if (!gd._fullLayout || !gd._fullLayout.xaxis) return null;
  const xa = gd._fullLayout.xaxis;
  const size = gd._fullLayout._size;
  return { gd, offset: xa._offset, length: xa._length, l2p: (t) => xa.l2p(t), top: size.t, h: size.h };
}

function overlay(gd, cls) {
  let el = gd.querySelector(`:scope > .${cls}`);
  if (!el) {
    el = document.createElement("div");
    el.className = cls;
    gd.appendChild(el);
  }
  return el;
}

function drawPlayhead(st, t) {
  for (const key of st.data.charts || []) {
    const ax = axisOf(key);
    if (!ax) continue;
    const line = overlay(ax.gd, "emolens-playhead");
    const px = ax.offset + ax.l2p(t);
    const inside = t != null && px >= ax.offset - 1 && px <= ax.offset + ax.length + 1;
    line.style.display = inside ? "block" : "none";
    line.style.left = `${px}px`;
    line.style.top = `${ax.top}px`;
    line.style.height = `${ax.h}px`;
    line.dataset.time = t.toFixed(3);
  }
}

function drawSelection(st) {
  // the selected segment shaded on each chart: drawn here so that selecting a segment never rebuilds a figure
  const sel = st.data.selected;
  for (const key of st.data.charts || []) {
    const ax = axisOf(key);
    if (!ax) continue;
    const band = overlay(ax.gd, "emolens-selband");
    if (!sel || sel.begin == null) { band.style.display = "none"; continue; }
    const x0 = ax.offset + ax.l2p(sel.begin);
    const x1 = Math.max(x0 + 3, ax.offset + ax.l2p(sel.end ?? sel.begin));
    const lo = Math.max(x0, ax.offset), hi = Math.min(x1, ax.offset + ax.length);
    band.style.display = hi > lo ? "block" : "none";
    band.style.left = `${lo}px`;
    band.style.width = `${hi - lo}px`;
    band.style.top = `${ax.top}px`;
    band.style.height = `${ax.h}px`;
    band.dataset.begin = String(sel.begin);
  }
}

function markWord(st, t) {
  const root = document.querySelector("[data-testid='emolens-transcript']");
  if (!root) return;
  const stale = !st.spans || (st.spans.length && !st.spans[0][2].isConnected);
  if (stale || st.spansRoot !== root || st.spansCount !== root.childElementCount) {
    st.spans = Array.from(root.querySelectorAll("span[data-b]")).map((el) => [
      parseFloat(el.dataset.b), parseFloat(el.dataset.e), el]);
    st.spansRoot = root;
    st.spansCount = root.childElementCount;
  }
  // binary search: the last span starting at or before t
  let lo = 0, hi = st.spans.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (st.spans[mid][0] <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
  }
  const el = found >= 0 && t <= st.spans[found][1] + 0.05 ? st.spans[found][2] : null;
  if (st.nowEl && st.nowEl !== el) st.nowEl.classList.remove("emolens-now");
  // a rerun may rewrite the span's class attribute: re-add the mark whenever it is missing
  if (el && !el.classList.contains("emolens-now")) {
    el.classList.add("emolens-now");
    const box = root.getBoundingClientRect();
    const onScreen = box.top < window.innerHeight && box.bottom > 0;
    // follow playback inside the transcript only while the reader is looking at it
    if (!st.media.paused && el !== st.nowEl && onScreen) el.scrollIntoView({ block: "nearest", inline: "nearest" });
  }
  st.nowEl = el;
}

function quietPause(st) {
  // pause without reporting the position; the flag is cleared by the pause event, which comes after pause()
  // returns (and only when the element was playing, so a paused one never leaves the flag set)
  if (st.media.paused) return;
  st.quiet = true;
  st.media.pause();
}

function tick(st) {
  drawSelection(st);
  const m = st.media;
  if (!m) return;
  let t = m.currentTime;
  if (st.stopAt != null && t >= st.stopAt) {
    // a busy page may see the first frame past the end late: go back to the segment's end, so the playhead and
    // the marked word show the segment that played, not what came after it
    const end = st.stopAt;
    st.stopAt = null;
    quietPause(st); // the end of a played segment is not a position the user chose
    if (t > end) m.currentTime = Math.max(st.playFrom ?? 0, end - 0.02);
    t = m.currentTime;
  }
  drawPlayhead(st, t);
  markWord(st, t);
  st.clock.textContent = `${t.toFixed(2)} s`;
  st.root.dataset.position = t.toFixed(3);
  st.root.dataset.playing = m.paused ? "false" : "true";
  if (!m.paused) st.raf = requestAnimationFrame(() => tick(st));
}

function playSegment(st) {
  const sel = st.data.selected;
  const m = st.media;
  if (!m || !sel || sel.begin == null) return;
  m.currentTime = sel.begin;
  st.playFrom = sel.begin;
  st.stopAt = sel.end != null && sel.end > sel.begin ? sel.end : null;
  const p = m.play();
  if (p && p.catch) p.catch(() => {});
}

function build(parent, st) {
  const root = document.createElement("div");
  root.className = "emolens-media-sync";
  root.dataset.testid = "emolens-media-sync";
  const slot = document.createElement("div");
  slot.className = "emolens-media-slot";
  const bar = document.createElement("div");
  bar.className = "emolens-media-bar";
  const mk = (label, title, fn) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.title = title;
    b.addEventListener("click", fn);
    bar.appendChild(b);
    return b;
  };
  st.prev = mk("◀ Prev", "Previous segment (←)", () => st.setTriggerValue("step", -1));
  st.play = mk("▶ Play segment", "Play this segment (space)", () => playSegment(st));
  st.next = mk("Next ▶", "Next segment (→)", () => st.setTriggerValue("step", 1));
  st.clock = document.createElement("span");
  st.clock.className = "emolens-clock";
  bar.appendChild(st.clock);
  root.appendChild(slot);
  root.appendChild(bar);
  parent.appendChild(root);
  st.root = root;
  st.slot = slot;
}

function setMedia(st, data) {
  if (st.src === data.src) return;
  st.src = data.src;
  st.slot.innerHTML = "";
  st.media = null;
  if (!data.src) {
    st.play.disabled = true;
    return;
  }
  const m = document.createElement(data.kind === "video" ? "video" : "audio");
  m.controls = true;
  m.preload = "metadata"; // seeking needs only the metadata (range requests); "auto" fetched an hour of audio
  m.src = data.src;
  m.className = "emolens-media";
  m.addEventListener("play", () => { cancelAnimationFrame(st.raf); tick(st); });
  m.addEventListener("seeked", () => tick(st));
  m.addEventListener("loadedmetadata", () => {
    const sel = st.data.selected;
    if (sel && sel.begin != null) m.currentTime = sel.begin;
    tick(st);
  });
  m.addEventListener("pause", () => {
    tick(st);
    // report where playback stopped: the dashboard opens the segment playing at that moment
    if (!st.quiet) st.setStateValue("position", Math.round(m.currentTime * 1000) / 1000);
    st.quiet = false;
  });
  st.slot.appendChild(m);
  st.media = m;
  st.play.disabled = false;
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let st = parentElement.__emolens;
  if (!st) {
    st = parentElement.__emolens = {};
    build(parentElement, st);
  }
  st.data = data || {};
  st.setStateValue = setStateValue;
  st.setTriggerValue = setTriggerValue;
  setMedia(st, st.data);
  st.prev.disabled = !st.data.has_prev;
  st.next.disabled = !st.data.has_next;
  const sel = st.data.selected;
  const m = st.media;
  if (m && sel && sel.begin != null && st.selKey !== sel.key) {
    st.selKey = sel.key;
    // seek to a newly selected segment unless playback is already inside it (a pause reported it)
    const t = m.currentTime;
    if (!(t >= sel.begin - 0.01 && t <= (sel.end ?? sel.begin) + 0.05) && m.readyState > 0) {
      quietPause(st);
      m.currentTime = sel.begin;
    }
  }
  if (st.data.play_nonce && st.data.play_nonce !== st.playNonce) {
    st.playNonce = st.data.play_nonce;
    playSegment(st);
  }
  requestAnimationFrame(() => tick(st));
  // reruns redraw the charts and the transcript: keep the playhead and the word mark in place while paused too
  clearInterval(st.timer);
  st.timer = setInterval(() => (!st.media || st.media.paused) && tick(st), 500);

  const onKey = (e) => {
    const t = e.target;
    const tag = (t && t.tagName) || "";
    if (["INPUT", "TEXTAREA", "SELECT", "BUTTON"].includes(tag) || (t && t.isContentEditable)) return;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === "ArrowRight" && st.data.has_next) { e.preventDefault(); st.setTriggerValue("step", 1); }
    else if (e.key === "ArrowLeft" && st.data.has_prev) { e.preventDefault(); st.setTriggerValue("step", -1); }
    else if (e.key === " " && st.media) {
      e.preventDefault();
      if (st.media.paused) playSegment(st); else st.media.pause();
    }
  };
  // one page-wide handler, whichever mount installed it last (reruns remount the component)
  if (window.__emolensKeys) document.removeEventListener("keydown", window.__emolensKeys);
  window.__emolensKeys = onKey;
  document.addEventListener("keydown", onKey);
  return () => {
    clearInterval(st.timer);
    if (window.__emolensKeys === onKey) {
      document.removeEventListener("keydown", onKey);
      window.__emolensKeys = null;
    }
  };
}
