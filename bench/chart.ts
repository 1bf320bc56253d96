import type { WayResult } from "./measure";
import type { Scenario } from "./scenarios";
import { WAY_LABELS, type WayName } from "./ways";

/**
 * The README's chart, drawn as plain SVG: completion lag (median bar, p99 tick, log scale) and
 * upstream requests per prediction, for each scenario and way. No chart library.
 */
const WAYS: WayName[] = ["route", "official", "seed"];
const COLORS: Record<string, string> = { route: "#2563eb", official: "#d97706", seed: "#6b7280" };
const WIDTH = 1000;
const PANEL_HEIGHT = 260;
const LEFT = 70;
const RIGHT = 20;
const TOP = 100;
const GAP = 110;
const SCALE_FONT = 'font-family="system-ui, sans-serif" font-size="11"';

interface Panel {
  title: string;
  top: number;
  /** Value to height fraction 0..1. */
  scale: (value: number) => number;
  ticks: number[];
  tickLabel: (value: number) => string;
}

export function renderChart(scenarios: Scenario[], results: WayResult[], subtitle: string): string {
  const shown = scenarios.filter((s) => WAYS.some((w) => s.ways.includes(w)));
  const find = (way: WayName, scenario: Scenario) => results.find((r) => r.way === way && r.scenario === scenario.id);
  const groupWidth = (WIDTH - LEFT - RIGHT) / shown.length;
  const barWidth = (groupWidth * 0.7) / WAYS.length;
  const barX = (g: number, w: number) => LEFT + g * groupWidth + groupWidth * 0.15 + w * barWidth;

  const lags = results.flatMap((r) => [r.lagMs.median, r.lagMs.p99]).filter((v): v is number => v !== null);
  const lagTop = 10 ** Math.max(1, Math.ceil(Math.log10(Math.max(1, ...lags))));
  const lagPanel: Panel = {
    title: "Completion lag: answer received minus prediction finished (log scale; bar and label = median, tick = p99)",
    top: TOP,
    scale: (v) => Math.log10(Math.max(1, v)) / Math.log10(lagTop),
    ticks: Array.from({ length: Math.log10(lagTop) + 1 }, (_, i) => 10 ** i),
    tickLabel: (v) => (v >= 1000 ? `${v / 1000} s` : `${v} ms`),
  };
  const calls = results.filter((r) => WAYS.includes(r.way)).map((r) => r.upstream.perPrediction);
  const callTop = niceCeiling(Math.max(2, ...calls));
  const callPanel: Panel = {
    title: "Upstream requests to Replicate per prediction (429s and retries included)",
    top: TOP + PANEL_HEIGHT + GAP,
    scale: (v) => v / callTop,
    ticks: Array.from({ length: 5 }, (_, i) => (callTop * i) / 4),
    tickLabel: (v) => String(Math.round(v * 10) / 10),
  };

  const parts: string[] = [];
  for (const panel of [lagPanel, callPanel]) {
    parts.push(axes(panel));
    shown.forEach((scenario, g) => {
      const label = scenario.title.split(", ");
      label.forEach((text, i) => {
        parts.push(text_(LEFT + g * groupWidth + groupWidth / 2, panel.top + PANEL_HEIGHT + 16 + i * 13, text, "middle"));
      });
      WAYS.forEach((way, w) => {
        const result = scenario.ways.includes(way) ? find(way, scenario) : undefined;
        if (!result) return;
        const x = barX(g, w);
        if (panel === lagPanel) parts.push(lagBar(panel, x, barWidth, result));
        else
          parts.push(bar(panel, x, barWidth, result.upstream.perPrediction, COLORS[way], String(result.upstream.perPrediction)));
        if (result.successRate < 1) {
          const note = `${Math.round(result.successRate * 100)}%`;
          parts.push(text_(x + barWidth / 2, panel.top + PANEL_HEIGHT + 60, note, "middle", "#b91c1c"));
        }
      });
    });
  }

  const legend = WAYS.map((way, i) => {
    const x = LEFT + i * 240;
    return `<rect x="${x}" y="34" width="12" height="12" fill="${COLORS[way]}"/>${text_(x + 18, 44, WAY_LABELS[way])}`;
  }).join("");
  const height = callPanel.top + PANEL_HEIGHT + 75;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="20" font-family="system-ui, sans-serif" font-size="15" font-weight="600">${escapeXml(subtitle)}</text>`,
    legend,
    `<text x="${LEFT}" y="66" ${SCALE_FONT} fill="#b91c1c">Red %: share of calls that succeeded, where not all did (a failed call has no lag; its upstream calls still count).</text>`,
    ...parts,
    `</svg>`,
  ].join("\n");
}

function axes(panel: Panel): string {
  const bottom = panel.top + PANEL_HEIGHT;
  const lines = panel.ticks.map((tick) => {
    const y = bottom - panel.scale(tick) * PANEL_HEIGHT;
    return `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>${text_(LEFT - 6, y + 4, panel.tickLabel(tick), "end")}`;
  });
  return [
    `<text x="${LEFT}" y="${panel.top - 12}" font-family="system-ui, sans-serif" font-size="13" font-weight="600">${escapeXml(panel.title)}</text>`,
    ...lines,
    `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${bottom}" y2="${bottom}" stroke="#111827"/>`,
  ].join("");
}

function lagBar(panel: Panel, x: number, width: number, result: WayResult): string {
  const bottom = panel.top + PANEL_HEIGHT;
  if (result.lagMs.median === null) return text_(x + width / 2, bottom - 6, "failed", "middle", "#b91c1c");
  const color = COLORS[result.way];
  const { median, p99 } = result.lagMs;
  // The median's label goes above the p99 tick, where no line crosses it.
  const labelAt = Math.max(median, p99 ?? median);
  const parts = [bar(panel, x, width, median, color, "")];
  if (p99 !== null) {
    const y = round(bottom - panel.scale(p99) * PANEL_HEIGHT);
    const barTop = round(bottom - panel.scale(median) * PANEL_HEIGHT);
    parts.push(
      `<line x1="${round(x + 2)}" x2="${round(x + width - 4)}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="2"/>`,
    );
    parts.push(
      `<line x1="${round(x + width / 2 - 1)}" x2="${round(x + width / 2 - 1)}" y1="${y}" y2="${barTop}" stroke="${color}"/>`,
    );
  }
  parts.push(text_(x + width / 2 - 1, bottom - panel.scale(labelAt) * PANEL_HEIGHT - 5, compact(median), "middle"));
  return parts.join("");
}

function bar(panel: Panel, x: number, width: number, value: number, color: string, label: string): string {
  const bottom = panel.top + PANEL_HEIGHT;
  const height = Math.max(1, panel.scale(value) * PANEL_HEIGHT);
  return (
    `<rect x="${round(x)}" y="${round(bottom - height)}" width="${round(width - 2)}" height="${round(height)}" fill="${color}" opacity="0.85"/>` +
    (label ? text_(x + width / 2 - 1, bottom - height - 4, label, "middle") : "")
  );
}

function text_(x: number, y: number, content: string, anchor: "start" | "middle" | "end" = "start", fill = "#111827"): string {
  return `<text x="${round(x)}" y="${round(y)}" text-anchor="${anchor}" ${SCALE_FONT} fill="${fill}">${escapeXml(content)}</text>`;
}

function compact(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10}s` : `${Math.round(ms)}`;
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((s) => s * magnitude >= value)!;
  return step * magnitude;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
