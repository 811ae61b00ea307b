"""Figures of the report as inline SVG strings (matplotlib's SVG canvas; no pyplot, no GUI).

Speed: tick creation dominates matplotlib's cost, so each figure kind is built once and reused:
between plots only the data artists are removed (``_reset``), keeping axes and ticks. Size: text
stays text (``svg.fonttype = none``), path coordinates are rounded to 0.01 pt and long curves
are thinned to an envelope of at most ``MAX_LINE_POINTS`` points, keeping every local extreme
that matters for a CDF-difference panel. Ids: each SVG gets its own ``svg.hashsalt`` so inline
SVGs never share clip-path or marker ids in one HTML page.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from initspec import registry

from .experiments_view import Curve
from .model import SampleGroup, is_number, numbers

#: Colour of each backend (initspec.registry; Okabe-Ito, colour-blind safe); others cycle through ``PALETTE``.
BACKEND_COLORS = registry.colors()
#: Okabe-Ito without its yellow (weak on white), then Paul Tol's "muted" colours: 13 distinct hues.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#332288", "#882255", "#44AA99", "#999933", "#AA4499", "#117733")
#: Line styles that tell backends apart when colour encodes the scheme.
LINESTYLES = ("-", "--", ":", "-.")
SPEC_COLOR = "#222222"
BAND_COLOR = "#e3e3e3"
#: Most points drawn per curve (the envelope of the rest).
MAX_LINE_POINTS = 240
#: Decimal places kept in SVG path coordinates (points).
SVG_DECIMALS = 2
FIG_WIDTH_IN = 7.6
#: Right edge of the axes when the legend sits beside them (fraction of the figure width).
LEGEND_RIGHT = 0.82
PANEL_HEIGHT_IN = 2.5
FONT_SIZE = 8
#: Matplotlib settings shared by every figure.
RC = {
    "svg.fonttype": "none",  # text as <text>: small, searchable, crisp in print
    "text.parse_math": False,  # labels come from results: '$' is not mathtext
    "text.usetex": False,
    "font.size": FONT_SIZE,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": FONT_SIZE - 1,
    "path.simplify": True,
    "axes.titley": 1.0,  # a fixed title position skips matplotlib's costly auto-placement
    "axes.titlepad": 4.0,
    "xtick.minor.visible": False,
    "ytick.minor.visible": False,
}
#: Most major ticks on a linear axis (every tick is costly to lay out).
MAX_TICKS = 6
#: Log-axis labels within 10^-k..10^k are written plainly (0.01, 100), others as 1e-05.
PLAIN_DECADES = 2
#: A log axis spanning at most this many decades also gets ticks at 2x and 5x.
FEW_DECADES = 1.5


def ks_halfwidth(n: int, alpha: float) -> float | None:
    """Asymptotic Kolmogorov-Smirnov critical distance ``sqrt(-ln(alpha/2) / (2n))``: the
    half-width of the band that an empirical CDF stays inside with probability ``1 - alpha``."""
    if n <= 0 or not 0 < alpha < 1:
        return None
    return math.sqrt(-math.log(alpha / 2.0) / (2.0 * n))


def thin(x: Sequence[float], y: Sequence[float], max_points: int = MAX_LINE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points of ``(x, y)``: per bucket of consecutive points, the ones with
    the smallest and largest ``y`` (in x order), so peaks survive thinning."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = min(len(xa), len(ya))
    xa, ya = xa[:n], ya[:n]
    if n <= max_points:
        return xa, ya
    nb = max(1, max_points // 2)
    size = -(-n // nb)  # ceil: points per bucket
    pad = nb * size - n
    yb = np.concatenate([ya, np.full(pad, np.nan)]).reshape(nb, size)
    filled_lo = np.where(np.isnan(yb), np.inf, yb)
    filled_hi = np.where(np.isnan(yb), -np.inf, yb)
    base = np.arange(nb) * size
    lo, hi = base + filled_lo.argmin(axis=1), base + filled_hi.argmax(axis=1)
    idx = np.unique(np.clip(np.concatenate([lo, hi]), 0, n - 1))
    return xa[idx], ya[idx]


_PATH_D = re.compile(r' d="([^"]*)"')
_NUMBER = re.compile(r"(-?\d+\.\d{%d})\d+" % SVG_DECIMALS)
_GROUP_ID = re.compile(r'<g id="[^"]*"')
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_SIZE = re.compile(r'<svg([^>]*?) width="[^"]*" height="[^"]*"')


def step_xy(edges: np.ndarray, heights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of a histogram outline (closed to 0 at both ends) from bin edges and heights."""
    x = np.repeat(edges, 2)
    y = np.concatenate([[0.0], np.repeat(heights, 2), [0.0]])
    return x, y


def clean_svg(svg: str, label: str) -> str:
    """Matplotlib's SVG made fit for inlining: no XML prologue/metadata, no ``<g>`` ids, rounded
    path data, responsive width and an accessible name (``label`` is escaped here)."""
    from markupsafe import escape

    svg = svg[svg.index("<svg"):]
    svg = _METADATA.sub("", svg)
    svg = _GROUP_ID.sub("<g", svg)
    svg = _PATH_D.sub(lambda m: ' d="' + _NUMBER.sub(r"\1", m.group(1)) + '"', svg)
    return _SIZE.sub(rf'<svg\1 role="img" aria-label="{escape(label)}" class="plot"', svg, count=1)


def log_label(value: float, _pos: Any = None) -> str:
    """A log-axis tick label as plain text: '0.01', '1', '100', '1e-05', '1e+06'."""
    if not value > 0 or not math.isfinite(value):
        return ""
    exp = math.floor(math.log10(value) + 1e-9)
    if -PLAIN_DECADES <= exp <= PLAIN_DECADES:
        return f"{value:g}"
    mant = value / 10.0**exp
    return f"1e{exp:+d}" if abs(mant - 1.0) < 1e-6 else f"{value:.0e}"


def color_for(key: str, keys: Sequence[str]) -> str:
    """A stable colour per ``key``: the backend colour, else by position in ``keys``."""
    if key in BACKEND_COLORS:
        return BACKEND_COLORS[key]
    return PALETTE[keys.index(key) % len(PALETTE)] if key in keys else PALETTE[0]


class Plotter:
    """Builds the report's figures; one reusable matplotlib figure per kind."""

    def __init__(self) -> None:
        # No pyplot and no matplotlib.use(): a bare Figure never touches a GUI or the caller's
        # chosen backend; savefig(format="svg") renders through matplotlib's SVG canvas.
        from matplotlib.figure import Figure

        self._Figure = Figure
        self._figs: dict[str, Any] = {}
        self._count = 0

    # -- figure reuse ------------------------------------------------------------------------
    def _figure(self, kind: str, ncols: int, log_y: bool, right: float = 0.98) -> tuple[Any, list[Any]]:
        """The figure of ``kind`` (created on first use) with its data artists removed."""
        import matplotlib as mpl

        from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

        if kind not in self._figs:
            with mpl.rc_context(RC):
                fig = self._Figure(figsize=(FIG_WIDTH_IN, PANEL_HEIGHT_IN))
                axes = list(np.atleast_1d(fig.subplots(1, ncols)))
                fig.subplots_adjust(left=0.08, right=right, bottom=0.19, top=0.88, wspace=0.28)
                for ax in axes:
                    if log_y:
                        ax.set_yscale("log", nonpositive="mask")
                        ax.yaxis.set_major_locator(LogLocator(numticks=MAX_TICKS))
                        ax.yaxis.set_minor_locator(NullLocator())
                        ax.yaxis.set_major_formatter(FuncFormatter(log_label))  # no mathtext
                    else:
                        ax.yaxis.set_major_locator(MaxNLocator(MAX_TICKS))
                    ax.xaxis.set_major_locator(MaxNLocator(MAX_TICKS))
            self._figs[kind] = (fig, axes)
        fig, axes = self._figs[kind]
        for leg in list(fig.legends):
            leg.remove()
        for ax in axes:
            self._reset(ax)
        return fig, axes

    @staticmethod
    def _reset(ax: Any) -> None:
        for artist in [*ax.lines, *ax.patches, *ax.collections, *ax.texts]:
            artist.remove()
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        ax.set_title("")

    def _svg(self, fig: Any, axes: Iterable[Any], label: str) -> str:
        import matplotlib as mpl

        for ax in axes:
            ax.relim()
            ax.autoscale_view()
        self._count += 1
        buf = io.StringIO()
        with mpl.rc_context({**RC, "svg.hashsalt": f"fig{self._count}"}):
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        return clean_svg(buf.getvalue(), label)

    # -- plots -------------------------------------------------------------------------------
    def distribution(self, group: SampleGroup) -> str:
        """Histograms (density) of each backend over the spec density, and the empirical-minus-
        spec CDF with the KS acceptance band."""
        import matplotlib as mpl

        with mpl.rc_context(RC):
            fig, (ax_h, ax_c) = self._figure("distribution", 2, log_y=False)
            labels = [s["label"] for s in group.samples]
            spec_drawn = False
            for s in group.samples:
                color = color_for(str(s.get("backend")), labels) if s.get("subject") != "native" else \
                    color_for(s["label"], labels)
                edges, cnts = numbers(s.get("hist_edges")), numbers(s.get("hist_counts"))
                if len(edges) == len(cnts) + 1 and cnts:
                    e, c = np.asarray(edges), np.nan_to_num(np.asarray(cnts))
                    total = max(float(s.get("n") or c.sum()), 1.0)
                    # a step line, not ax.stairs: a patch's data limits cost ~10x more to compute
                    ax_h.plot(*step_xy(e, c / (total * np.diff(e))), color=color, lw=1.1, label=s["label"])
                if not spec_drawn and s.get("pdf_x") and s.get("pdf_y"):
                    px, py = thin(numbers(s["pdf_x"]), numbers(s["pdf_y"]))
                    ax_h.plot(px, py, color=SPEC_COLOR, lw=1.0, ls="--", label="spec density")
                    spec_drawn = True
                cx, cy = numbers(s.get("cdf_diff_x")), numbers(s.get("cdf_diff_y"))
                if cx and cy:
                    ax_c.plot(*thin(cx, cy), color=color, lw=1.0, label=s["label"])
                for b in s.get("bounds") or []:
                    if is_number(b):
                        ax_h.axvline(float(b), color=SPEC_COLOR, lw=0.7, ls=":")
            half = ks_halfwidth(group.n, group.alpha) if group.alpha else None
            band = ""
            if half is not None:
                ax_c.axhspan(-half, half, color=BAND_COLOR, lw=0, zorder=0)
                band = f", grey: KS α={group.alpha:.2g}"
            ax_c.axhline(0.0, color=SPEC_COLOR, lw=0.6)
            ax_h.set_title(f"{group.scheme} {group.dtype}: density", loc="left")
            ax_c.set_title(f"ECDF − spec CDF{band}", loc="left")
            ax_h.legend(loc="upper right")
            return self._svg(fig, (ax_h, ax_c), f"Histograms and CDF difference for {group.title}")

    @staticmethod
    def _log_ticks(ax: Any, curves: Sequence[Curve]) -> None:
        """Decade ticks on a log axis, plus 2x and 5x ones when the data spans few decades."""
        from matplotlib.ticker import LogLocator

        ys = np.concatenate([np.asarray(c.y, dtype=float) for c in curves]) if curves else np.array([])
        ys = ys[np.isfinite(ys) & (ys > 0)]
        span = math.log10(ys.max() / ys.min()) if ys.size else 0.0
        subs = (1.0,) if span > FEW_DECADES else (1.0, 2.0, 5.0)
        ax.yaxis.set_major_locator(LogLocator(subs=subs, numticks=MAX_TICKS))

    def _curves(self, ax: Any, curves: Sequence[Curve], colors: Sequence[str], styles: Sequence[str]) -> None:
        self._log_ticks(ax, curves)
        for c in curves:
            x, y = thin(c.x, c.y)
            ax.plot(x, y, color=color_for(c.color_key, colors), ls=LINESTYLES[styles.index(c.style_key) % len(LINESTYLES)],
                    lw=1.1, label=c.label)

    @staticmethod
    def _key_legend(fig: Any, colors: Sequence[str], styles: Sequence[str]) -> None:
        """One compact legend right of the axes: colour = scheme, line style = backend."""
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=color_for(c, colors), lw=1.5, label=c) for c in colors]
        if len(styles) > 1:
            handles += [Line2D([], [], color="#666", ls=LINESTYLES[i % len(LINESTYLES)], label=s)
                        for i, s in enumerate(styles)]
        fig.legend(handles=handles, loc="center right", borderaxespad=0.3)

    def depth(self, activation: str, act: Sequence[Curve], grad: Sequence[Curve]) -> str:
        """Activation std and gradient norm vs depth (log y) for one activation."""
        import matplotlib as mpl

        colors = list(dict.fromkeys(c.color_key for c in [*act, *grad]))
        styles = list(dict.fromkeys(c.style_key for c in [*act, *grad]))
        with mpl.rc_context(RC):
            fig, (ax_a, ax_g) = self._figure("depth", 2, log_y=True, right=LEGEND_RIGHT)
            self._curves(ax_a, act, colors, styles)
            self._curves(ax_g, grad, colors, styles)
            ax_a.set_xlabel("layer")
            ax_g.set_xlabel("layer")
            ax_a.set_title(f"{activation}: activation std vs depth", loc="left")
            ax_g.set_title(f"{activation}: gradient norm vs depth", loc="left")
            self._key_legend(fig, colors, styles)
            return self._svg(fig, (ax_a, ax_g), f"Activation std and gradient norm vs depth, {activation}")

    def loss(self, title: str, curves: Sequence[Curve]) -> str:
        """Loss curves (log y), colour = scheme, style = backend."""
        import matplotlib as mpl

        colors = list(dict.fromkeys(c.color_key for c in curves))
        styles = list(dict.fromkeys(c.style_key for c in curves))
        with mpl.rc_context(RC):
            fig, (ax,) = self._figure("loss", 1, log_y=True, right=LEGEND_RIGHT)
            self._curves(ax, curves, colors, styles)
            ax.set_xlabel("step")
            ax.set_title(title, loc="left")
            self._key_legend(fig, colors, styles)
            return self._svg(fig, (ax,), title)

    def close(self) -> None:
        """Drop the cached figures."""
        self._figs.clear()

