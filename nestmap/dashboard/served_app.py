"""The dashboard as ``nestmap dashboard`` and ``nestmap demo`` serve it: ``app.py`` behind the
Host check (``nestmap.serve.HostCheck``), which refuses every HTTP request and WebSocket
handshake whose ``Host`` is not this computer's loopback names or one of ``NESTMAP_ALLOWED_HOSTS``
(the names the server was started on, and the operator's ``--allow-host``).

``streamlit run`` finds the ``app`` below and serves it (Streamlit's ``st.App``); the pages are
``app.py``'s, unchanged.
"""

import contextlib
import os
import threading

import streamlit as st
from starlette.middleware import Middleware

from nestmap.dashboard import APP_PATH
from nestmap.serve import HOSTS_ENV, LOOPBACK_NAMES, HostCheck, parse_names

names = sorted(LOOPBACK_NAMES | set(parse_names(os.environ.get(HOSTS_ENV, ""))))
app = st.App(APP_PATH, middleware=[Middleware(HostCheck, names=names)])


def _preload() -> None:
    """While the new server waits for its first visitor: import what every page imports
    (pandas, pyarrow, plotly and the dashboard's modules: 0.7 s), read the lookups every page
    starts from (the dataset's facts, the local authorities' and the services' names: about
    0.8 s at national scale) into the same process-wide caches the pages read, then import what
    the Network page draws with (pyvis and networkx: 0.5 s). The first page would otherwise
    wait for them. Nothing is computed that a page would not compute."""
    with contextlib.suppress(Exception):  # a page does the same again, and says what failed
        import pandas  # noqa: F401
        import plotly.graph_objects  # noqa: F401
        import pyarrow.compute  # noqa: F401

        from nestmap.dashboard import figures, layout, network, state, tables  # noqa: F401

        if state.has_graph():
            state.info()
            state.area_names()
            state.local_authority_codes()
            state.service_names()
        import pyvis.network  # noqa: F401


threading.Thread(target=_preload, name="nestmap-preload", daemon=True).start()
