"""The Streamlit dashboard: ``app.py`` plus one file per page under ``pages/``.

It holds no query logic: every figure comes from ``nestmap.analysis`` (and the loaded dataset's
tables from ``nestmap.interop``). Run it with ``nestmap dashboard`` or
``streamlit run nestmap/dashboard/app.py`` with ``NESTMAP_DB`` set.
"""

from pathlib import Path

APP_PATH = Path(__file__).with_name("app.py")
