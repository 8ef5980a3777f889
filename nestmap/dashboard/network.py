"""The referral network drawn with pyvis: services as nodes, referral links as edges.

Offline: vis-network is inlined (``cdn_resources="in_line"``) and the Bootstrap links pyvis's
template always adds are removed. Safe with user data: tooltips are our own HTML with every
value escaped, and vis-network is made to render string tooltips as HTML (it would otherwise
show the escapes as text); labels are drawn on a canvas (never parsed as HTML) and reach the
page through Jinja's ``tojson``, which escapes ``<``, ``>`` and ``&``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nestmap import provenance, units
from nestmap.analysis.extra import service_row
from nestmap.dashboard.figures import LEVEL_COLOURS
from nestmap.dashboard.kept import keepable
from nestmap.dashboard.text import esc, name_of, shorten
from nestmap.vocabulary import COUNT_BASES, DEFAULT_COUNT_BASIS, LEVEL_RANK

Row = dict[str, Any]

MAX_NODES = 400
MAX_EDGES = 2000
# Above this many services the layout is computed here, once per drawing (kept with it), and
# the browser only draws: vis-network's physics on 400 services and 2,000 curved links kept
# the page busy for seconds on every visit. Below it the physics stays (nodes spring back).
LAYOUT_HERE_ABOVE = 150
# Misdirected links: to a dead end (red, ending in a bar) or to a service that can pass the
# family on to specialised help ("no wrong door": purple, a normal arrow).
MISDIRECTED_COLOUR = "#d62728"
ONWARD_COLOUR = "#9467bd"
REASON_COLOURS = {
    "parent_infant_relationship": "#17becf",
    "perinatal_mental_health": "#8c564b",
    "parenting": "#bcbd22",
    "safeguarding": "#7f7f7f",
    "other": "#c7c7c7",
}
_CDN_TAG = re.compile(r"<(?:link|script)\b[^>]*\bhttps?://[^>]*>(?:\s*</script>)?", re.IGNORECASE)
_TOOLTIP_AS_TEXT = "this.frame.innerText=t"
_TOOLTIP_AS_HTML = "this.frame.innerHTML=t"


@keepable
@dataclass(frozen=True)
class Selection:
    nodes: list[Row]
    edges: list[Row]

    @property
    def too_large(self) -> bool:
        return len(self.nodes) > MAX_NODES or len(self.edges) > MAX_EDGES


@keepable
@dataclass(frozen=True)
class Shown:
    """What the network draws of a selection, and how much it left out."""

    selection: Selection
    services: int  # in the whole selection
    links: int

    @property
    def complete(self) -> bool:
        drawn = self.selection
        return len(drawn.nodes) == self.services and len(drawn.edges) == self.links


def shown_of(
    catalogue: Any,
    links: Any,
    *,
    la: str | None = None,
    level: str | None = None,
    focus: str | None = None,
    stage: str | None = None,
    reasons: list[str] | None = None,
    include_inactive: bool = False,
    linked_only: bool = False,
    max_nodes: int | None = None,
    max_edges: int | None = None,
    rows: Callable[[list[str]], list[Row]] | None = None,
) -> Shown:
    """What the network draws for the filters: the services passing them (``passing``) and
    the links between two of them with one of ``reasons`` (``linked_only``: only services
    with such a link); beyond ``max_nodes`` services or ``max_edges`` links, the services
    receiving the most referrals a year on those links (then the most survey mentions, then
    the most links; then by id, so the same filters always draw the same) and the links
    between two of them, the links with the largest counts first. The services come in id
    order (ranked, when some are left out), the links by from, to and reason (by count first,
    when some are left out).

    Both are ``pyarrow`` tables: ``catalogue`` the services sorted by id, with id, status,
    covers, stages and offers (``extra.network_services_table``, or the whole rows of
    ``Graph.arrow("services")``), ``links`` (from_service, to_service, reason, count,
    count_basis, source; in any order). ``rows``: the whole rows of the services drawn, given
    their ids (``extra.services_by_id``); without it they are the catalogue's. The work is on
    integer positions in the catalogue: only the services and links drawn become rows (a
    national dataset has 50,000 services and a million links, a drawing at most 400 and
    2,000)."""
    import numpy as np

    max_nodes = MAX_NODES if max_nodes is None else max_nodes
    max_edges = MAX_EDGES if max_edges is None else max_edges
    size = catalogue.num_rows
    if size == 0:
        return Shown(Selection([], []), 0, 0)
    # A service's position in the catalogue is its rank by id; ``size`` stands for a service
    # not in it (another LA's, when the catalogue is one LA's), which never passes.
    nodes = np.append(_numpy(passing(catalogue, la, level, focus, stage, include_inactive)), False)
    ends = _ends(links, catalogue.column("id"), size)
    between = nodes[ends[0]] & nodes[ends[1]]
    if reasons is not None and links.num_rows:
        between &= _numpy(_in(links.column("reason"), reasons))
    chosen = np.flatnonzero(between)
    if linked_only:
        linked = np.zeros(size + 1, dtype=bool)
        linked[ends[0][chosen]] = True
        linked[ends[1][chosen]] = True
        nodes &= linked
    services_in, links_in = int(nodes.sum()), int(chosen.size)
    drawn = np.flatnonzero(nodes)  # in id order
    if services_in > max_nodes or links_in > max_edges:
        drawn = _most_referred_to(links, ends[1], chosen, drawn, size)[:max_nodes]
        within = np.zeros(size + 1, dtype=bool)
        within[drawn] = True
        chosen = chosen[within[ends[0][chosen]] & within[ends[1][chosen]]]
    order = _link_order(links, ends, chosen, by_count=chosen.size > max_edges)
    chosen = chosen[order][:max_edges]
    if rows is None:
        nodes_drawn = [service_row(row) for row in catalogue.take(drawn).to_pylist()]
    else:
        nodes_drawn = rows(catalogue.column("id").take(drawn).to_pylist())
    edges_drawn = links.take(chosen).to_pylist()
    return Shown(Selection(nodes_drawn, edges_drawn), services_in, links_in)


def _numpy(flags: Any) -> Any:
    """A boolean Arrow array (or chunked array) as numpy, null as False."""
    import numpy as np
    import pyarrow.compute as pc

    return np.asarray(pc.fill_null(flags, False).to_numpy(zero_copy_only=False), dtype=bool)


def _in(values: Any, wanted: list[str]) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.is_in(values, value_set=pa.array(list(wanted), pa.string()))


def _ends(links: Any, ids: Any, size: int) -> tuple[Any, Any]:
    """Each link's two services as positions in ``ids`` (``size``: not among them)."""
    import numpy as np
    import pyarrow.compute as pc

    if links.num_rows == 0:
        nothing = np.zeros(0, dtype=np.int64)
        return nothing, nothing
    return tuple(  # type: ignore[return-value]
        np.asarray(
            pc.fill_null(pc.index_in(links.column(end), value_set=ids), size).to_numpy(),
            dtype=np.int64,
        )
        for end in ("from_service", "to_service")
    )


def _most_referred_to(links: Any, targets: Any, chosen: Any, nodes: Any, size: int) -> Any:
    """``nodes`` (positions) ranked by what they receive on the ``chosen`` links in each unit
    in turn (referrals a year, then survey mentions: never added together), then by the
    number of those links, then by id."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    # Over whole columns, then picked: taking a million texts is slower than reading them.
    volumes = np.asarray(pc.fill_null(links.column("count"), 0).to_numpy(), dtype=np.int64)
    bases = pc.fill_null(links.column("count_basis"), DEFAULT_COUNT_BASIS)
    unit = pc.index_in(bases, value_set=pa.array(COUNT_BASES, pa.string()))
    unit = np.asarray(pc.fill_null(unit, -1).to_numpy(), dtype=np.int64)[chosen]
    volumes, to = volumes[chosen], targets[chosen]
    keys = [nodes]  # the last tie-break: the id (a position is the id's rank)
    keys.append(-np.bincount(to, minlength=size + 1)[nodes])
    for index in reversed(range(len(COUNT_BASES))):
        received = np.zeros(size + 1, dtype=np.int64)
        np.add.at(received, to[unit == index], volumes[unit == index])
        keys.append(-received[nodes])
    return nodes[np.lexsort(keys)]


def _link_order(links: Any, ends: tuple[Any, Any], chosen: Any, by_count: bool) -> Any:
    """The order of the ``chosen`` links: by from, to and reason; ``by_count``: the largest
    count first (blank as 0), then so."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if chosen.size == 0:
        return chosen
    reasons = links.column("reason").take(chosen)
    known = sorted(value for value in pc.unique(reasons).to_pylist() if value is not None)
    rank = pc.fill_null(pc.index_in(reasons, value_set=pa.array(known, pa.string())), -1)
    keys = [np.asarray(rank.to_numpy(), dtype=np.int64), ends[1][chosen], ends[0][chosen]]
    if by_count:
        counts = pc.fill_null(links.column("count").take(chosen), 0)
        keys.append(-np.asarray(counts.to_numpy(), dtype=np.int64))
    return np.lexsort(keys)


def passing(
    catalogue: Any,
    la: str | None,
    level: str | None,
    focus: str | None,
    stage: str | None,
    include_inactive: bool,
) -> Any:
    """Which services of ``catalogue`` (``Graph.arrow("services")``) pass the filters: active
    (unless ``include_inactive``), covering ``la``, at ``stage``, with an offer at ``level``
    and of ``focus`` (of that level's offer, with both). A boolean Arrow array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keeps = pa.repeat(pa.scalar(True), catalogue.num_rows)
    if not include_inactive:
        keeps = pc.and_(keeps, pc.fill_null(pc.equal(catalogue.column("status"), "active"), False))
    for column, wanted in (("covers", la), ("stages", stage)):
        if wanted:
            lists = catalogue.column(column).combine_chunks()
            keeps = pc.and_(keeps, _any_of(lists, pc.equal(pc.list_flatten(lists), wanted)))
    if level or focus:
        offers = catalogue.column("offers").combine_chunks()
        pairs = pc.list_flatten(offers)
        levels, focuses = pc.list_element(pairs, 0), pc.list_element(pairs, 1)
        offered = pc.is_valid(levels)  # (a service with no offer has one [null, null])
        if level:
            offered = pc.and_(offered, pc.equal(levels, level))
        if focus:
            offered = pc.and_(offered, pc.equal(focuses, focus))
        keeps = pc.and_(keeps, _any_of(offers, offered))
    return keeps


def _any_of(lists: Any, hits: Any) -> Any:
    """Per row of the list column ``lists``: is any of its items a hit (``hits``, one per item
    of the flattened column; null is not)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = pc.list_parent_indices(lists).filter(pc.fill_null(hits, False))
    found = np.zeros(len(lists), dtype=bool)
    found[np.asarray(rows)] = True
    return pa.array(found)


def highest_level(offers: dict[str, str]) -> str:
    return max(offers, key=LEVEL_RANK.__getitem__)


def _node_title(service: Row, dead_end: bool) -> str:
    offers = "<br>".join(
        f"&nbsp;&nbsp;{level}: {focus.replace('_', '-')}"
        for level, focus in service["offers"].items()
    )
    lines = [
        f"<b>{esc(service['name'])}</b>",
        f"id: {esc(service['id'])}",
        f"provider: {esc(service.get('provider'))}",
        f"sector: {esc(service.get('sector'))} · status: {esc(service['status'])}",
        f"offers:<br>{offers}",
        f"stages: {esc(', '.join(service['stages']))}",
        f"threshold: {esc(service.get('threshold'))}",
        f"source: {esc(shorten(str(service.get('source') or ''), 240))}",
    ]
    if dead_end:
        lines.append("<b>dead end</b>: no referral chain to specialised help from here")
    return "<br>".join(lines)


def _edge_title(
    link: Row, names: dict[str, str], problems: list[str] | None, onward: bool = False
) -> str:
    count = units.counted(link["count"], link.get("count_basis"))  # "not recorded" when blank
    if link["count"] is not None and provenance.link_is_illustrative(link):
        count += " (illustrative: a placeholder)"
    elif link["count"] is not None and provenance.count_is_split(link):
        count += " (illustrative: an assumed share of the source's total)"
    lines = [
        f"{esc(name_of(link['from_service'], names))} → {esc(name_of(link['to_service'], names))}",
        f"reason: {esc(link['reason'])} · {esc(count)}",
        f"source: {esc(shorten(str(link.get('source') or ''), 240))}",
    ]
    if problems is not None:
        route = (
            "the target can pass the family on to specialised help (onward)"
            if onward
            else "a dead end: no referral chain on to specialised help"
        )
        lines.insert(0, f"<b>misdirected</b>: {esc(', '.join(problems))}; {route}")
    return "<br>".join(lines)


def network_html(
    selection: Selection,
    names: dict[str, str],
    misdirected: dict[tuple[str, str, str], list[str]],
    dead_ends: set[str],
    height: int = 680,
    font_size: int = 14,
    onward: set[tuple[str, str, str]] | None = None,
) -> str:
    """A self-contained HTML page drawing the selection (no network access needed).
    ``onward``: the misdirected links whose target can pass the family on."""
    onward = onward or set()
    from pyvis.network import Network

    net = Network(
        height=f"{height}px",
        width="100%",
        directed=True,
        cdn_resources="in_line",
        bgcolor="#ffffff",
    )
    positions = _positions(selection) if len(selection.nodes) > LAYOUT_HERE_ABOVE else {}
    for service in selection.nodes:
        dead_end = service["id"] in dead_ends
        where = positions.get(service["id"])
        placed = {"x": where[0], "y": where[1], "physics": False} if where else {}
        label = shorten(service["name"], 30)
        if service["status"] != "active":
            label += f" ({service['status'].replace('_', ' ')})"
        if dead_end:
            label += "\n⚠ dead end"
        net.add_node(
            service["id"],
            label=label,
            title=_node_title(service, dead_end),
            color={
                "background": LEVEL_COLOURS[highest_level(service["offers"])],
                "border": "#000000" if dead_end else "#444444",
            },
            shape="diamond" if service.get("specialised") else "dot",
            size=26 if service.get("specialised") else 20,
            borderWidth=4 if dead_end else 1,
            shapeProperties={"borderDashes": [6, 3] if dead_end else False},
            opacity=1.0 if service["status"] == "active" else 0.45,
            font={"size": font_size},
            **placed,
        )
    for link in selection.edges:
        key = (link["from_service"], link["to_service"], link["reason"])
        problems = misdirected.get(key)
        passes_on = key in onward
        style: dict[str, Any] = {"color": REASON_COLOURS[link["reason"]]}
        if problems is not None and passes_on:
            style = {"color": ONWARD_COLOUR}
        elif problems is not None:
            ends_in_a_bar = {"to": {"enabled": True, "type": "bar"}}
            style = {"color": MISDIRECTED_COLOUR, "arrows": ends_in_a_bar}
        net.add_edge(
            link["from_service"],
            link["to_service"],
            title=_edge_title(link, names, problems, passes_on),
            width=1 + min(5.0, math.log2(1 + (link["count"] or 0))),
            dashes=problems is None and link["count"] is None,
            **style,
        )
    options = _OPTIONS if not positions else _PLACED_OPTIONS
    net.set_options(json.dumps(options))
    return _offline(net.generate_html())


def _positions(selection: Selection) -> dict[str, tuple[float, float]]:
    """Node positions (pixels) from a force-directed layout of the drawn links, the same on
    every run (seeded): linked services close, unlinked ones spread around them."""
    import numpy as np

    ids = [service["id"] for service in selection.nodes]
    at = {service: index for index, service in enumerate(ids)}
    size = len(ids)
    # One more node, last: a hidden centre every service is weakly pulled towards (as
    # vis-network's gravity); without it, services with no drawn link drift far out and
    # squeeze the rest together.
    weights = np.zeros((size + 1, size + 1))
    weights[size, :size] = weights[:size, size] = 0.02
    for link in selection.edges:
        one, other = at[link["from_service"]], at[link["to_service"]]
        if one != other:
            weights[one, other] = weights[other, one] = 1.0
    found = spring_layout(weights, k=1.5 / math.sqrt(size), seed=0, iterations=100)
    # Pixels: room for a node and its label each (the view then zooms to fit, as after
    # vis-network's own layout); a national drawing is about 5,000 across.
    scale = 120.0 * math.sqrt(size)
    return {
        service: (round(float(found[i, 0]) * scale, 1), round(float(found[i, 1]) * scale, 1))
        for i, service in enumerate(ids)
    }


def spring_layout(weights: Any, k: float, seed: int, iterations: int) -> Any:
    """Fruchterman-Reingold positions for the nodes of the symmetric weight matrix
    ``weights``, centred and scaled into [-1, 1]: what ``networkx.spring_layout`` gives for
    fewer than 500 nodes (the same random start for ``seed``, the same steps and cooling),
    written over the two coordinates apart instead of a nodes x nodes x 2 array: about five
    times faster for the network's 400 services. An (n, 2) array."""
    import numpy as np

    size = len(weights)
    pos = np.random.RandomState(seed).rand(size, 2)
    # The largest step allowed, about a tenth of the area; stepped down linearly each round.
    heat = max(np.ptp(pos[:, 0]), np.ptp(pos[:, 1])) * 0.1
    cooling = heat / (iterations + 1)
    for _ in range(iterations):
        dx = pos[:, 0, None] - pos[None, :, 0]
        dy = pos[:, 1, None] - pos[None, :, 1]
        distance = np.sqrt(dx * dx + dy * dy)
        np.clip(distance, 0.01, None, out=distance)
        # Every pair repels (k^2 / d); linked pairs attract (weight x d^2 / k).
        force = k * k / distance**2 - weights * distance / k
        moves = np.stack(((dx * force).sum(axis=1), (dy * force).sum(axis=1)), axis=1)
        length = np.clip(np.sqrt((moves * moves).sum(axis=1)), 0.01, None)
        step = moves * (heat / length)[:, None]
        pos += step
        heat -= cooling
        if np.sqrt((step * step).sum()) / size < 1e-4:
            break
    pos -= pos.mean(axis=0)
    widest = np.abs(pos).max()
    return pos / widest if widest > 0 else pos


_OPTIONS: dict[str, Any] = {
    "edges": {
        "arrows": {"to": {"enabled": True, "scaleFactor": 0.6}},
        "smooth": {"type": "dynamic"},
    },
    "interaction": {"hover": True, "tooltipDelay": 120, "navigationButtons": False},
    "physics": {
        "solver": "forceAtlas2Based",
        "forceAtlas2Based": {
            "gravitationalConstant": -80,
            "springLength": 90,
            "avoidOverlap": 0.4,
        },
        "stabilization": {"iterations": 250, "fit": True},
    },
}


# Positions given: straight links (a curved one is a hidden node for the physics to move) and
# no physics; dragging a node still works.
_PLACED_OPTIONS: dict[str, Any] = {
    "edges": {**_OPTIONS["edges"], "smooth": False},
    "interaction": _OPTIONS["interaction"],
    "physics": {"enabled": False},
    "layout": {"improvedLayout": False},
}


def _offline(page: str) -> str:
    """No CDN tags, and tooltips rendered as (our escaped) HTML."""
    page = _CDN_TAG.sub("", page)
    return page.replace(_TOOLTIP_AS_TEXT, _TOOLTIP_AS_HTML)


def legend_html() -> str:
    """What the edge colours and node shapes mean (our own text: nothing from the dataset)."""
    swatch = (
        '<span style="display:inline-block;width:1.6em;height:0.35em;margin:0 0.3em 0.15em 0;'
        'background:{colour};vertical-align:middle"></span>{label}'
    )
    edges = [
        swatch.format(colour=colour, label=reason.replace("_", " "))
        for reason, colour in REASON_COLOURS.items()
    ]
    edges.append(
        swatch.format(
            colour=MISDIRECTED_COLOUR,
            label="misdirected to a dead end (any reason; the arrow ends in a bar ⊣)",
        )
    )
    edges.append(
        swatch.format(
            colour=ONWARD_COLOUR,
            label="misdirected, but the target can pass the family on to specialised help",
        )
    )
    return (
        '<div style="font-size:0.85em;line-height:1.8">'
        "<b>Link colour, the referral's reason:</b> " + " · ".join(edges) + "<br>"
        "<b>Shapes:</b> ◆ offers specialised parent-infant relationship work · ● does not · "
        "thick dashed border: a dead-end entry point · dashed link: no referral count recorded · "
        "thicker link: a larger count (referrals a year or survey mentions, as the link says)</div>"
    )
