"""The browser calculator (``icipredict serve``): routes and server (:mod:`~icipredict.web.app`), the
form (:mod:`~icipredict.web.forms`), ``/invocations`` bodies (:mod:`~icipredict.web.requests`),
rendering (:mod:`~icipredict.web.render`), and the ``templates/`` and ``static/`` assets. Flask loads
only here.

Layer 12 of docs/architecture.md: may import every layer below it (``report`` included: the
calculator shows the patient report); only ``cli`` imports it.
"""
