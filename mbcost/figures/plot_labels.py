"""Labels that do not overlap each other or the markers (the tradeoff figure's
point labels): each label tries positions around its marker, nearest first."""

from __future__ import annotations


# (unit dx, unit dy, ha, va): right, left, above, below, then the diagonals.
_DIRECTIONS = ((1, 0, "left", "center"), (-1, 0, "right", "center"), (0, 1, "center", "bottom"),
               (0, -1, "center", "top"), (0.7, 0.7, "left", "bottom"), (0.7, -0.7, "left", "top"),
               (-0.7, 0.7, "right", "bottom"), (-0.7, -0.7, "right", "top"))
_DISTANCES = (5, 9, 14, 20, 27, 35, 44, 55, 68, 82)  # points from the marker's centre
_LEADER_FROM = 14  # a thin line joins label and marker from this distance on


def _box(x0: float, y0: float, x1: float, y1: float):
    from matplotlib.transforms import Bbox

    return Bbox.from_extents(x0, y0, x1, y1)


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def line_boxes(ax, xs, ys, half_width: float = 1.5) -> list:
    """Small display-space boxes along a polyline drawn in data coordinates (a
    Pareto frontier), every 2 px: obstacles that keep labels off the line.
    ``half_width``: in points, half the line's drawn width."""
    fig = ax.figure
    r = half_width * fig.dpi / 72 + 1
    pts = [ax.transData.transform((x, y)) for x, y in zip(xs, ys)]
    boxes = []
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        steps = max(1, int(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 // 2))
        for k in range(steps + 1):
            x, y = x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps
            boxes.append(_box(x - r, y - r, x + r, y + r))
    return boxes


def place_labels(ax, items, *, markers, marker_radius: float, fontsize: float = 7.5, obstacles=()) -> list:
    """Label points without overlaps, deterministically.

    ``items``: (x, y, text, gid) in data coordinates, labelled in this order;
    ``markers``: (x, y) of every marker on the axes (labels keep off them; each
    is a square of ``marker_radius`` points around its centre); ``obstacles``:
    more display-space boxes to avoid. Each label tries, in order, the eight
    directions (right, left, above, below, diagonals) at growing distances and
    takes the first spot inside the axes that touches no marker and no label
    placed before it (1 px apart at least); far spots get a leader line. If none
    is free, the point stays unlabelled (the figures say labels are drawn where
    there is room): labels never overlap. The axes' limits and the figure's layout
    must be final (label positions are computed in display space).
    """
    from matplotlib.text import Text

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    r = marker_radius * fig.dpi / 72 + 1
    taken = list(obstacles)
    for x, y in markers:
        px, py = ax.transData.transform((x, y))
        taken.append(_box(px - r, py - r, px + r, py + r))
    placed = []
    for x, y, text, gid in items:
        ann = ax.annotate(text, (x, y), xytext=(0, 0), textcoords="offset points", fontsize=fontsize, gid=gid,
                          color="#222222", annotation_clip=False, zorder=6)
        choice = None
        for dist in _DISTANCES:
            for ux, uy, ha, va in _DIRECTIONS:
                ann.xyann = (ux * dist, uy * dist)
                ann.set_horizontalalignment(ha)
                ann.set_verticalalignment(va)
                ann.update_positions(renderer)
                bb = Text.get_window_extent(ann, renderer)
                box = _box(bb.x0 - 1, bb.y0 - 1, bb.x1 + 1, bb.y1 + 1)
                inside = area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0 and box.y1 <= area.y1
                if inside and not any(_overlap(box, t) for t in taken):
                    choice = (dist, ux, uy, ha, va, box)
                    break
            if choice:
                break
        ann.remove()
        if choice is None:  # crowded beyond the search: left unlabelled rather than written over another
            continue
        dist, ux, uy, ha, va, box = choice
        leader = {"arrowstyle": "-", "color": "#999999", "lw": 0.6, "shrinkA": 1, "shrinkB": 3}
        ann = ax.annotate(text, (x, y), xytext=(ux * dist, uy * dist), textcoords="offset points",
                          ha=ha, va=va, fontsize=fontsize, gid=gid, color="#222222", annotation_clip=False,
                          zorder=6, arrowprops=leader if dist >= _LEADER_FROM else None)
        taken.append(box)
        placed.append(ann)
    return placed
