"""The patient report: its content, HTML page, figures, and the end-to-end ``patient_report``.

May import the layers below it (``serve`` included: a report starts with a prediction).
"""
