"""``matrix --png FILE``: the overlap map (and C, Cᵀ when shown) as an image, with matplotlib.

matplotlib is an optional extra, imported only here; :func:`need_matplotlib` fails in one line before
anything is computed. The object-oriented API (Figure + the Agg canvas) is used, never pyplot, so no
window system or global state is touched.
"""

import numpy as np

from ..errors import InputError

MAX_ANNOTATED = 24  # cells per side that get their number written in
MAX_SLICES = 4  # 3-D overlap maps: the first few depth slices


def need_matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError:
        raise InputError("--png needs matplotlib: pip install matplotlib") from None


def _panels(result):
    """(title, 2-D array, annotate) for each picture: the overlap map (per depth slice in 3-D), C, Cᵀ."""
    counts = np.asarray(result.overlap)
    span = f"{result.overlap_min}..{result.overlap_max}"
    risk = "checkerboard risk" if result.checkerboard else "even inside"
    if counts.ndim == 1:
        panels = [(f"overlap: taps per output ({span}, {risk})", counts[None, :])]
    elif counts.ndim == 2:
        panels = [(f"overlap: taps per output ({span}, {risk})", counts)]
    else:
        panels = [(f"overlap, depth {d} ({span}, {risk})", counts[d]) for d in range(min(len(counts), MAX_SLICES))]
    if result.conv_matrix is not None:
        c = np.asarray(result.conv_matrix)
        panels.append((f"C: the conv as a matrix ({c.shape[0]}×{c.shape[1]})", c))
        panels.append((f"Cᵀ: the transposed conv ({c.shape[1]}×{c.shape[0]})", np.asarray(result.transpose_matrix)))
    return panels


def write_png(result, path):
    """Draw the panels of a MatrixResult into ``path`` (PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = _panels(result)
    heights = [min(max(a.shape[0] / 6, 1.2), 8) for _, a in panels]
    figure = Figure(figsize=(8, sum(heights) + 0.9 * len(panels)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, (title, values) in zip(axes, panels):
        image = ax.imshow(values, cmap="viridis", interpolation="nearest", aspect="auto")
        ax.set_title(title, fontsize=10)
        figure.colorbar(image, ax=ax)
        if max(values.shape) <= MAX_ANNOTATED:
            middle = (values.min() + values.max()) / 2 if values.size else 0
            for (i, j), v in np.ndenumerate(values):
                ax.text(j, i, str(int(v)), ha="center", va="center", fontsize=7,
                        color="white" if v < middle else "black")
    figure.suptitle(f"{result.framework} {result.layer}: {'x'.join(map(str, result.input))} -> "
                    f"{'x'.join(map(str, result.output))}", fontsize=11)
    figure.savefig(path, format="png", dpi=100)
