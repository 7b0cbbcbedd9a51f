"""The server's routes, one Flask Blueprint per group (docs/api.md).

Each module holds one group and a ``bp`` Blueprint (and optionally ``init(app)``, called once
after registering it, for work that starts with the server); :data:`BUILTIN` lists the modules
:func:`seeen_ext.server.create_app` registers, in order. A new group is a new module here with its
own ``bp``, added to :data:`BUILTIN`. Views reach the bundle, store and jobs through
:func:`seeen_ext.routes.context.ctx`; packages outside this one add groups through the
``pixplot.server`` entry points instead (see :data:`seeen_ext.server.SERVER_EXTENSIONS`).
"""

from __future__ import annotations

#: Built-in route modules (under ``seeen_ext.routes``), each exposing ``bp``. ``static`` last: its
#: catch-all path would otherwise be the first thing a reader looks for.
BUILTIN = ("annotations", "exports", "uploads", "recognize", "find", "static")
