"""``icipredict serve``: the browser calculator (Flask loads only when this command runs).
"""

from __future__ import annotations

import logging

from icipredict.web.app import serve


def cmd_serve(args) -> int:
    if args.quiet:  # the access log (method, path, status) is werkzeug's
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return serve(args.model, host=args.host, port=args.port)
