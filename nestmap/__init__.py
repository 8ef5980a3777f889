"""nestmap: a service-mapping and gap-analysis knowledge graph.

    import nestmap
    with nestmap.Graph("region.lbug") as g:
        g.load(nestmap.seed())
        g.gaps().to_pandas()

``Graph`` and ``seed`` are imported on first use, so ``import nestmap`` stays cheap (the
command line imports this package for every command).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Graph", "Table", "Tables", "seed"]

if TYPE_CHECKING:
    from nestmap.api import Graph, Table, Tables, seed


def __getattr__(name: str) -> Any:
    if name in __all__:
        from nestmap import api

        return getattr(api, name)
    raise AttributeError(f"module 'nestmap' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
