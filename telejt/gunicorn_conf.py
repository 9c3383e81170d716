"""gunicorn settings of the web process (the Procfile's ``web:``, as
``--config python:telejt.gunicorn_conf``, so the installed wheel carries them too);
flags given on the command line win over these.

One worker per instance: Flask-SocketIO cannot share sockets between workers without
sticky sessions; scale with instances behind a sticky balancer, joined by Redis.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = 1
worker_class = "gthread"
#: every open socket holds a thread in threading mode; the threads beyond
#: TELEJT_SOCKETS_MAX (the socket gate's ceiling) are the reserve that keeps pages,
#: webhooks and probes answering whatever the socket load
HTTP_RESERVE = 100
threads = int(os.environ.get("TELEJT_SOCKETS_MAX", "500")) + HTTP_RESERVE
#: connections a gevent worker accepts at once (sockets and HTTP alike)
worker_connections = 4000
#: SIGTERM: finish requests in flight for this long, then stop
graceful_timeout = 10
timeout = 60
keepalive = 5
