"""chart.py: an SVG bar chart of the benchmark's times (clappfs and baseline per scenario),
written with the standard library only, next to the JSON results."""
from xml.sax.saxutils import escape

ROW_H = 34
BAR_H = 12
LEFT = 300
WIDTH = 1200
PLOT_W = 470
COLORS = {"clappfs": "#2f6db5", "baseline": "#b0b0b0"}
RESULT_COLORS = {"PASS": "#1a7f37", "MISS": "#cf222e", "FAILED": "#cf222e"}


def _fmt(t):
    if t is None:
        return "-"
    return "%.2f s" % t if t < 10 else "%.1f s" % t


def _times(row):
    """(clappfs seconds, baseline seconds) of a row; the memory row shows its listing."""
    if row.get("unit") == "MiB":
        return row.get("listing_time_s"), None
    return row.get("time"), row.get("baseline_time")


def render_svg(rows, title):
    """The chart's SVG text: a row per scenario, bars on one linear scale of seconds."""
    longest = max([t for r in rows for t in _times(r) if t] or [1.0])
    height = 70 + ROW_H * len(rows) + 40
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (WIDTH, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="22" font-size="15" font-weight="bold">%s</text>' % escape(title)]
    x = LEFT
    for label, color in (("clappfs", COLORS["clappfs"]), ("baseline", COLORS["baseline"])):
        out.append('<rect x="%d" y="34" width="12" height="12" fill="%s"/>' % (x, color))
        out.append('<text x="%d" y="45">%s</text>' % (x + 16, label))
        x += 100
    out.append('<text x="%d" y="45" fill="#555">ratio, target result</text>'
               % (LEFT + PLOT_W + 60))
    for i, row in enumerate(rows):
        y = 62 + ROW_H * i
        t, b = _times(row)
        name = row["scenario"]
        if row.get("unit") == "MiB":
            name += " (listing)"
        out.append('<text x="10" y="%d">%s</text>' % (y + 16, escape(name)))
        for j, (value, color) in enumerate(((t, COLORS["clappfs"]), (b, COLORS["baseline"]))):
            if value is None:
                continue
            w = max(1.0, PLOT_W * value / longest)
            yy = y + 2 + j * (BAR_H + 2)
            out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>'
                       % (LEFT, yy, w, BAR_H, color))
            out.append('<text x="%.1f" y="%d" font-size="10">%s</text>'
                       % (LEFT + w + 4, yy + 10, _fmt(value)))
        result = row.get("result") or "-"
        ratio = "%.2fx" % row["ratio"] if row.get("ratio") is not None else "-"
        detail = " (%s)" % row["target_detail"] if row.get("target_detail") else ""
        out.append('<text x="%d" y="%d">%s&#160;&#160;<tspan fill="#555">%s</tspan>&#160;&#160;'
                   '<tspan fill="%s" font-weight="bold">%s</tspan>%s</text>'
                   % (LEFT + PLOT_W + 60, y + 16, ratio, escape(row.get("target") or "-"),
                      RESULT_COLORS.get(result, "#333"), escape(result), escape(detail)))
    out.append('<line x1="%d" y1="56" x2="%d" y2="%d" stroke="#888"/>'
               % (LEFT, LEFT, 62 + ROW_H * len(rows)))
    out.append('<text x="10" y="%d" fill="#555" font-size="11">medians; bars share one '
               'linear scale (longest %s); ratio = clappfs / baseline</text>'
               % (height - 14, _fmt(longest)))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_svg(rows, path, title):
    with open(path, "w", encoding="utf-8") as f:
        f.write(render_svg(rows, title))
