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
    """Import what every page imports (pandas, pyarrow, plotly and the dashboard's modules:
    0.7 s) while the new server waits for its first visitor, whose first page would otherwise
    wait for them. Nothing is read or run: only modules imported, as the page would."""
    with contextlib.suppress(Exception):  # the page imports them again, and says what failed
        import pandas  # noqa: F401
        import plotly.graph_objects  # noqa: F401
        import pyarrow.compute  # noqa: F401

        from nestmap.dashboard import figures, layout, network, state, tables  # noqa: F401


threading.Thread(target=_preload, name="nestmap-preload", daemon=True).start()
