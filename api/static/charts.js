/* Small inline-SVG charts (no library): horizontal bars and a half-circle gauge. */
"use strict";

window.NLCharts = (function () {
  const SVG = "http://www.w3.org/2000/svg";
  let serial = 0;

  function el(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** An <svg role="img"> with a <title> and <desc> that name it for assistive technology. */
  function frame(width, height, title, desc) {
    serial += 1;
    const ids = { title: "chart-title-" + serial, desc: "chart-desc-" + serial };
    const svg = el("svg", {
      viewBox: "0 0 " + width + " " + height,
      width: "100%",
      role: "img",
      "aria-labelledby": ids.title + " " + ids.desc,
      class: "svg-chart",
      preserveAspectRatio: "xMinYMin meet",
    });
    svg.append(el("title", { id: ids.title }, title), el("desc", { id: ids.desc }, desc));
    return svg;
  }

  /** Roughly how wide a label is drawn at 14px: CJK characters are about twice as wide. */
  function textWidth(text) {
    let width = 0;
    for (const ch of String(text)) width += /[\u2e80-\u9fff\uff00-\uffef]/.test(ch) ? 14 : 8;
    return width;
  }

  /**
   * Horizontal bars. items: [{label, value, display?, highlight?}];
   * options: {title, unit, max?, empty?}. Replaces the container's content.
   */
  function bars(container, items, options) {
    const opts = Object.assign({ unit: "", empty: "无数据 No data" }, options);
    // Drawn at the container's own width, so text keeps its size on every screen.
    const width = Math.max(300, Math.round(container.clientWidth || 640));
    const row = 32;
    const top = 8;
    const labelWidth = Math.min(300, Math.max(60, ...items.map((item) => textWidth(item.label))) + 12);
    const valueRoom = 70;
    const height = top * 2 + Math.max(1, items.length) * row;
    const description = items.length ? items.map((item) => item.label + ": " + (item.display || item.value + opts.unit)).join("; ") : opts.empty;
    const svg = frame(width, height, opts.title, description);
    if (!items.length) {
      svg.append(el("text", { x: width / 2, y: height / 2 + 5, "text-anchor": "middle", class: "chart-empty" }, opts.empty));
      container.replaceChildren(svg);
      return svg;
    }
    const max = opts.max || Math.max(...items.map((item) => item.value || 0)) || 1;
    const span = width - labelWidth - valueRoom;
    items.forEach((item, index) => {
      const y = top + index * row;
      const length = Math.max(item.value > 0 ? 2 : 0, (span * (item.value || 0)) / max);
      const group = el("g", { class: "bar" + (item.highlight ? " highlight" : "") });
      group.append(
        el("text", { x: labelWidth - 8, y: y + row / 2 + 4, "text-anchor": "end", class: "chart-label" }, item.label),
        el("rect", { x: labelWidth, y: y + 5, width: length.toFixed(1), height: row - 10, rx: 3 }),
        el("text", { x: labelWidth + length + 6, y: y + row / 2 + 4, class: "chart-value" }, item.display || item.value + opts.unit),
      );
      svg.append(group);
    });
    svg.append(el("line", { x1: labelWidth, x2: labelWidth, y1: top, y2: height - top, class: "chart-axis" }));
    container.replaceChildren(svg);
    return svg;
  }

  function point(cx, cy, r, fraction) {
    const angle = Math.PI * (1 - fraction);
    return [cx + r * Math.cos(angle), cy - r * Math.sin(angle)];
  }

  function arc(cx, cy, r, from, to) {
    const [x1, y1] = point(cx, cy, r, from);
    const [x2, y2] = point(cx, cy, r, to);
    return "M" + x1.toFixed(2) + " " + y1.toFixed(2) + " A" + r + " " + r + " 0 0 1 " + x2.toFixed(2) + " " + y2.toFixed(2);
  }

  /** A half-circle gauge for a fraction 0..1 (null: no data). options: {title, good, fair}. */
  function gauge(container, fraction, options) {
    const opts = Object.assign({ good: 0.95, fair: 0.8, empty: "无数据 No data" }, options);
    const width = 240;
    const height = 150;
    const cx = width / 2;
    const cy = 120;
    const r = 90;
    const known = typeof fraction === "number" && Number.isFinite(fraction);
    const value = known ? Math.min(1, Math.max(0, fraction)) : 0;
    const text = known ? (value * 100).toFixed(1) + "%" : opts.empty;
    const svg = frame(width, height, opts.title, opts.title + ": " + text);
    svg.append(el("path", { d: arc(cx, cy, r, 0, 1), class: "gauge-track" }));
    if (known && value > 0) {
      const level = value >= opts.good ? "good" : value >= opts.fair ? "fair" : "poor";
      svg.append(el("path", { d: arc(cx, cy, r, 0, Math.min(value, 0.9999)), class: "gauge-value " + level }));
    }
    svg.append(
      el("text", { x: cx, y: cy - 10, "text-anchor": "middle", class: known ? "gauge-text" : "chart-empty" }, text),
      el("text", { x: cx - r, y: cy + 22, "text-anchor": "middle", class: "chart-value" }, "0%"),
      el("text", { x: cx + r, y: cy + 22, "text-anchor": "middle", class: "chart-value" }, "100%"),
    );
    container.replaceChildren(svg);
    return svg;
  }

  return { bars, gauge };
})();
