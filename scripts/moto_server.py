"""moto's server, handling one request at a time.

moto's backends are not thread-safe: a DynamoDB transaction it refuses restores a deep copy of
the whole table, taken when the transaction began, over whatever other threads wrote meanwhile,
and copying a table while another thread changes it fails with a 500. Real AWS makes each call
atomic; serializing the calls gives the tests that behaviour. Usage: moto_server.py HOST PORT
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def one_at_a_time(environ, start_response):
    with lock:
        return list(app(environ, start_response))


run_simple(host, port, one_at_a_time, threaded=True, request_handler=MotoRequestHandler)
