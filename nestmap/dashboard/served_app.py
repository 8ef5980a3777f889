"""The dashboard as ``nestmap dashboard`` and ``nestmap demo`` serve it: ``app.py`` behind the
Host check (``nestmap.serve.HostCheck``), which refuses every HTTP request and WebSocket
handshake whose ``Host`` is not this computer's loopback names or one of ``NESTMAP_ALLOWED_HOSTS``
(the names the server was started on, and the operator's ``--allow-host``).

``streamlit run`` finds the ``app`` below and serves it (Streamlit's ``st.App``); the pages are
``app.py``'s, unchanged.
"""

import os

import streamlit as st
from starlette.middleware import Middleware

from nestmap.dashboard import APP_PATH
from nestmap.serve import HOSTS_ENV, LOOPBACK_NAMES, HostCheck, parse_names

names = sorted(LOOPBACK_NAMES | set(parse_names(os.environ.get(HOSTS_ENV, ""))))
app = st.App(APP_PATH, middleware=[Middleware(HostCheck, names=names)])
