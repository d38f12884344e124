"""The patient report: its content (:mod:`~icipredict.report.content`), HTML page
(:mod:`~icipredict.report.html`), figures (:mod:`~icipredict.report.figures`), and the end-to-end
``patient_report`` (:mod:`~icipredict.report.patient`).

Layer 11 of docs/architecture.md: may import the layers below it, ``serve`` (a report starts with a
prediction) and ``plots`` included; not ``fitting``.
"""
