"""The browser calculator (``icipredict serve``): routes, form and upload parsing, rendering, and
its ``templates/`` and ``static/`` assets. Flask loads only here.

May import every layer below it (``report`` included: the calculator shows the patient report).
"""
