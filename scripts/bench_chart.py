#!/usr/bin/env python3
"""Draws docs/bench.svg from the comparison benchmark's CSV (stdlib only).

    python3 scripts/bench_chart.py [target/bench-compare.csv] [docs/bench.svg]

Each row of the CSV's table (a workload against one server, over ws:// or
wss://) is a group of bars, one per library: the median of its cost (CPU
time, or heap bytes per connection) relative to the best median of the
other libraries, so 1.0 is the best peer and lower is better. Bars past
the top of the axis are cut and labelled with their value. Under each
group: the workload's letter, the server (core: wsock's core, one write
per read; tws: tokio-websockets, one write per message) and the scheme.
"""

import csv
import sys
from xml.sax.saxutils import escape

SRC = sys.argv[1] if len(sys.argv) > 1 else "target/bench-compare.csv"
DST = sys.argv[2] if len(sys.argv) > 2 else "docs/bench.svg"
LIBS = ["wsock", "tokio-tungstenite", "tokio-websockets", "fastwebsockets"]
COLORS = ["#d9480f", "#5c7cfa", "#20c997", "#868e96"]
TOP = 2.5  # axis maximum (relative cost)

rows = list(csv.DictReader(open(SRC, newline="")))


def key(r):
    return (r["workload"], r["server"], r["transport"])


workloads = []
for r in rows:
    if key(r) not in [w for w, _ in workloads]:
        workloads.append((key(r), r["what"]))

rel = {}
for w, _ in workloads:
    # Lower is better for every kind: CPU ms, or bytes per connection.
    by = {r["lib"]: float(r["median"]) for r in rows if key(r) == w}
    best_peer = min(v for lib, v in by.items() if lib != "wsock")
    for lib, v in by.items():
        rel[(w, lib)] = v / best_peer

W, H = max(900, 70 * len(workloads) + 80), 440
left, right, top, bottom = 60, 20, 50, 110
plot_w, plot_h = W - left - right, H - top - bottom
group_w = plot_w / len(workloads)
bar_w = group_w * 0.8 / len(LIBS)


def y(v):
    return top + plot_h * (1 - min(v, TOP) / TOP)


out = [
    f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
    f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
    f'<rect width="{W}" height="{H}" fill="white"/>',
    f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15">'
    "Client cost relative to the best peer (lower is better)</text>",
]
for i in range(int(TOP * 2) + 1):
    v = i / 2
    out.append(
        f'<line x1="{left}" x2="{W - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
        f'stroke="{"#495057" if v == 1 else "#dee2e6"}"/>'
    )
    out.append(
        f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>'
    )
for g, (w, what) in enumerate(workloads):
    x0 = left + g * group_w + group_w * 0.1
    for k, lib in enumerate(LIBS):
        v = rel.get((w, lib))
        if v is None:
            continue
        x = x0 + k * bar_w
        out.append(
            f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{bar_w - 2:.1f}" '
            f'height="{top + plot_h - y(v):.1f}" fill="{COLORS[k]}">'
            f"<title>{escape(lib)}: {v:.2f}</title></rect>"
        )
        label = f"{v:.2f}" if v < TOP else f"{v:.1f}\u2191"
        out.append(
            f'<text x="{x + bar_w / 2 - 1:.1f}" y="{y(v) - 3:.1f}" '
            f'text-anchor="middle" font-size="9">{label}</text>'
        )
    cx = left + g * group_w + group_w / 2
    out.append(
        f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
        f'font-weight="bold">{escape(w[0])}</text>'
    )
    lines = [escape(w[1]), escape(w[2])]
    for n, line in enumerate(lines):
        out.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 31 + 13 * n}" '
            f'text-anchor="middle" fill="#495057">{line}</text>'
        )
lx = left
for k, lib in enumerate(LIBS):
    out.append(
        f'<rect x="{lx}" y="{H - 22}" width="12" height="12" fill="{COLORS[k]}"/>'
    )
    out.append(f'<text x="{lx + 16}" y="{H - 12}">{escape(lib)}</text>')
    lx += 40 + 8 * len(lib)
out.append("</svg>")
open(DST, "w").write("\n".join(out) + "\n")
print(f"wrote {DST}")
