"""The patient report: its content (:mod:`~icipredict.report.content`), HTML page
(:mod:`~icipredict.report.html`), figures (:mod:`~icipredict.report.figures`), the progression-free
curve in words (:mod:`~icipredict.report.curve`) and drawn (:mod:`~icipredict.report.curve_figure`), and
the end-to-end ``patient_report`` (:mod:`~icipredict.report.patient`).

Layer 11 of docs/architecture.md: may import the layers below it, ``serve`` (a report starts with a
prediction) and ``plots`` included; not ``fitting``.
"""
