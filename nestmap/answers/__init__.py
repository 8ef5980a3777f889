"""The answers layer: between the analyses and the doors that show them.

    loaders -> graph -> queries -> analysis -> answers -> api -> (cli | dashboard | report)

``nestmap.analysis`` computes (queries in, rows and Arrow tables out); this package keeps what
it computed, once per dataset version, and answers every door from that: the command line
(each analysis command is ``answer`` written out by ``nestmap.output``), the Python API
``nestmap.Graph`` (and so the dashboard and the report) and the background warm-up after a
load. It owns:

- ``questions``: the list of analysis commands, their questions, and keeping an answer (read
  back, or computed under a lock);
- ``analyses``: ``answer`` (kept, cut out for one LA, or computed) and the rows the Python API
  gives;
- ``keep``: the folders kept for a graph in this user's cache, per dataset version and under
  a size cap, and the locks that make one process compute each answer;
- ``slices``: one local authority's answer cut out of a kept whole-country one;
- ``summaries``: the headline figures built on the kept answers;
- ``warm``: the background warm-up after a load.

It speaks Arrow (``arrow``), and never imports the command line, the dashboard or Streamlit
(tests/test_structure.py checks it): the warm-up asks this package, not the command line.
"""

from nestmap.answers.analyses import ANALYSES, answer, forget_other_versions, question

__all__ = ["ANALYSES", "answer", "forget_other_versions", "question"]
