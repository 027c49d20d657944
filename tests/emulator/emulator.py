"""Entry point of the Clappform API emulator: parses options, loads data, serves until stopped."""
import argparse
import os
import signal
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from clappemu import fixtures  # noqa: E402
from clappemu.faults import Faults, SettingsError, Stats  # noqa: E402
from clappemu.jwt_util import Tokens  # noqa: E402
from clappemu.server import Emulator, Server  # noqa: E402
from clappemu.store import Store  # noqa: E402

DEMO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "demo.json")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="emulator", description=(
        "Serve a Clappform-compatible HTTP API for tests. Prints one line "
        "'listening on http://HOST:PORT' once it accepts connections."))
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument("--db", default=":memory:",
                   help="sqlite file to persist to (default :memory:, lost at exit)")
    p.add_argument("--user", action="append", default=[], metavar="EMAIL:PASSWORD",
                   help="create this user when absent (repeatable)")
    p.add_argument("--token-ttl", type=int, default=3600, metavar="SECONDS",
                   help="lifetime of access tokens (default 3600)")
    p.add_argument("--seed", action="append", default=[], metavar="FILE",
                   help="load a JSON fixture (repeatable)")
    p.add_argument("--demo", action="store_true", help="load the demo fixture (US presidents)")
    p.add_argument("--generate", action="append", default=[], metavar="APP/COLLECTION:N",
                   help="fill a collection with N generated records (repeatable)")
    p.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    p.add_argument("--tls-key", help="PEM private key for --tls-cert")
    p.add_argument("--quiet", action="store_true", help="no access log (the default)")
    p.add_argument("--verbose", action="store_true", help="access log and errors to stderr")
    p.add_argument("--latency-ms", type=int, default=0, help="delay every API answer")
    p.add_argument("--fail-rate", type=float, default=0.0,
                   help="chance (0..1) that an API request fails with a --fail-statuses status")
    p.add_argument("--fail-statuses", default="502,503,504",
                   help="comma-separated statuses for injected failures (default 502,503,504)")
    p.add_argument("--fail-every", type=int, default=0,
                   help="every Nth API request fails (deterministic)")
    p.add_argument("--stall-ms", type=int, default=0, help="sleep of a stalled request")
    p.add_argument("--stall-every", type=int, default=0, help="every Nth API request stalls")
    p.add_argument("--fail-routes", action="append", default=[], metavar="PREFIX",
                   help="only paths starting with PREFIX (with or without /api) get faults")
    p.add_argument("--bad-body", default=None, metavar="MODE",
                   help="spoil successful answers: html, truncated, wrong_type, missing_data "
                        "or missing_fields")
    p.add_argument("--bad-every", type=int, default=0,
                   help="spoil every Nth answer --bad-routes picks (default: all)")
    p.add_argument("--bad-routes", action="append", default=[], metavar="PREFIX",
                   help="only paths starting with PREFIX get --bad-body (default: all)")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.token_ttl < 1:
        p.error("--token-ttl must be at least 1")
    return args


def build(args):
    """Store, tokens, faults and the loaded data, as the options ask."""
    store = Store(args.db)
    secret = None
    if args.db != ":memory:":
        # Tokens survive a restart on a persisted database, as with a real server.
        saved = store.meta_get("jwt_secret")
        secret = bytes.fromhex(saved) if saved else None
    tokens = Tokens(secret, args.token_ttl)
    if args.db != ":memory:" and secret is None:
        store.meta_set("jwt_secret", tokens.secret.hex())
    faults = Faults()
    faults.update({"latency_ms": args.latency_ms, "fail_rate": args.fail_rate,
                   "fail_statuses": args.fail_statuses, "fail_every": args.fail_every,
                   "stall_ms": args.stall_ms, "stall_every": args.stall_every,
                   "fail_routes": args.fail_routes, "bad_body": args.bad_body,
                   "bad_every": args.bad_every, "bad_routes": args.bad_routes})
    if args.demo:
        fixtures.load_seed_file(store, DEMO)
    for path in args.seed:
        fixtures.load_seed_file(store, path)
    for spec in args.user:
        fixtures.ensure_user(store, spec)
    for spec in args.generate:
        fixtures.generate(store, spec)
    return Emulator(store, tokens, faults, Stats(), verbose=args.verbose and not args.quiet)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        emu = build(args)
    except (fixtures.FixtureError, SettingsError) as exc:
        print("emulator: %s" % exc, file=sys.stderr)
        return 2
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            print("emulator: cannot load the TLS certificate: %s" % exc, file=sys.stderr)
            return 2
    try:
        server = Server((args.host, args.port), emu, context)
    except OSError as exc:
        print("emulator: cannot listen on %s:%d: %s" % (args.host, args.port, exc),
              file=sys.stderr)
        return 2

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    host = "[%s]" % args.host if ":" in args.host else args.host
    scheme = "https" if context else "http"
    # The socket listens already (bound in the constructor): connections queue from now on.
    print("listening on %s://%s:%d" % (scheme, host, server.server_address[1]), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        emu.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
