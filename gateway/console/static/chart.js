// The dashboard's volume and sentiment chart, drawn as plain SVG.
//
// One bar per bucket (its negative mentions in red at the bottom) on the left axis, and the
// mean sentiment score (-1 to 1) as a line with a point per bucket that has analysed
// mentions, on the right axis. Each bucket's figures are on its <g> as data-* attributes and
// in a <title> tooltip, so tests and people read the same numbers.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const HEIGHT = 240;
const MARGIN = { top: 16, right: 48, bottom: 28, left: 48 };

/** Replace `container`'s content with a chart of `points` (Dashboard.volume). */
export function drawVolumeChart(container, points) {
  const svg = element("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": "Mentions per hour and mean sentiment",
    class: "volume-chart",
  });
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const most = Math.max(1, ...points.map((point) => point.total));
  const step = plotWidth / Math.max(1, points.length);
  const y = (count) => MARGIN.top + plotHeight * (1 - count / most);
  const ySentiment = (score) => MARGIN.top + (plotHeight * (1 - score)) / 2;

  svg.append(
    line(MARGIN.left, y(0), WIDTH - MARGIN.right, y(0), "axis"),
    label(MARGIN.left - 6, y(most) + 4, String(most), "end"),
    label(MARGIN.left - 6, y(0), "0", "end"),
    label(WIDTH - MARGIN.right + 6, ySentiment(1) + 4, "+1", "start"),
    label(WIDTH - MARGIN.right + 6, ySentiment(0) + 4, "0", "start"),
    label(WIDTH - MARGIN.right + 6, ySentiment(-1), "−1", "start"),
    line(MARGIN.left, ySentiment(0), WIDTH - MARGIN.right, ySentiment(0), "zero"),
  );

  const sentimentPath = [];
  points.forEach((point, index) => {
    const x = MARGIN.left + index * step;
    const start = new Date(point.start);
    const score = point.averageSentimentScore;
    const bucket = element("g", {
      class: "bucket",
      "data-start": point.start,
      "data-total": point.total,
      "data-negative": point.negative,
      "data-sentiment": score ?? "",
    });
    const tip = element("title");
    tip.textContent =
      `${start.toLocaleString()}: ${point.total} mentions, ${point.negative} negative` +
      (score === null ? "" : `, mean sentiment ${score.toFixed(2)}`);
    bucket.append(tip);
    if (point.total > 0) {
      const barWidth = Math.max(1, step * 0.7);
      bucket.append(
        rect(x + step * 0.15, y(point.total), barWidth, y(0) - y(point.total), "bar-total"),
        rect(x + step * 0.15, y(point.negative), barWidth, y(0) - y(point.negative), "bar-neg"),
      );
    }
    if (score !== null) {
      const cx = x + step / 2;
      const cy = ySentiment(score);
      sentimentPath.push(`${cx.toFixed(1)},${cy.toFixed(1)}`);
      bucket.append(element("circle", { cx, cy, r: 3.5, class: "sentiment-point" }));
    }
    if (index % 6 === 0) {
      const hour = start.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      bucket.append(label(x + step / 2, HEIGHT - 8, hour, "middle"));
    }
    svg.append(bucket);
  });
  if (sentimentPath.length > 1) {
    const path = element("polyline", { points: sentimentPath.join(" "), class: "sentiment-line" });
    svg.insertBefore(path, svg.querySelector(".bucket"));
  }
  container.replaceChildren(svg);
}

function element(name, attributes = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

function line(x1, y1, x2, y2, kind) {
  return element("line", { x1, y1, x2, y2, class: kind });
}

function rect(x, y, width, height, kind) {
  return element("rect", { x, y, width, height: Math.max(0, height), class: kind });
}

function label(x, y, text, anchor) {
  const node = element("text", { x, y, "text-anchor": anchor, class: "label" });
  node.textContent = text;
  return node;
}
