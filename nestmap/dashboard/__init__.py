"""The Streamlit dashboard: ``app.py`` plus one file per page under ``views/`` (not ``pages/``:
beside the main script that name switches Streamlit to its older multipage mode).

It holds no analysis logic: every figure comes from ``nestmap.Graph`` (``nestmap.analysis``),
through one cached call in ``state.py``; pages only lay figures out. Run it with
``nestmap dashboard`` or ``streamlit run nestmap/dashboard/app.py`` with ``NESTMAP_DB`` set.
"""

from pathlib import Path

APP_PATH = Path(__file__).with_name("app.py")
