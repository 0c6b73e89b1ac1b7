"""moto's server, one request at a time, so that the local moto engine is atomic per item.

moto 5.2.1 serves each request on a thread of its own and evaluates a conditional write's
condition and applies its update without a lock: two writers holding the same expected version
can both pass the check before either writes. Measured: 20 concurrent conditional UpdateItems
with the same expected version gave 13 winners over 10 trials instead of 10. DynamoDB applies
each item's writes atomically, and so does the local dynalite (single-threaded), so this wrapper
runs moto's own WSGI application behind one lock: connections are still accepted concurrently,
but requests are handled one after another, which moto at ~150 requests a second makes no slower
in practice.

Usage (what local/engine runs instead of the bare moto_server, with moto's interpreter):
    python3 local/moto_server.py -H 127.0.0.1 -p PORT
"""

import argparse
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class Serialized:
    """A WSGI application that runs app for one request at a time, its answer included."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            answer = self.app(environ, start_response)
            try:
                # The body may be produced lazily: produce all of it while holding the lock.
                return [b"".join(answer)]
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("-p", "--port", type=int, required=True, help="port to listen on")
    args = parser.parse_args(argv)

    # As moto_server does: a TERM (Engine.Stop) or an interrupt ends the server cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, Serialized(app), threaded=True)


if __name__ == "__main__":
    main(sys.argv[1:])
