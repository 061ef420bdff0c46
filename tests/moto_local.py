#!/usr/bin/env python3
"""moto's DynamoDB API server for the asyncdesk tests and local stack, made to tell the truth.

    python tests/moto_local.py --host 127.0.0.1 --port PORT

Serves the same app as `moto_server` (all services, the /moto-api/ endpoints), with
two changes:

1. Linearizable. `moto_server` handles requests on many threads and moto's backends
   take no locks, so concurrent conditional writes interleave (two PutItems with
   attribute_not_exists(pk) on one key can both win; ADD updates get lost). Here
   connections are still served on threads (so a slow or idle client never holds
   up the others), but moto runs each request under one global lock: it sees one
   request at a time, in order. (As with moto_server, werkzeug answers every
   request with "Connection: close"; HTTP clients simply reconnect.)

2. TransactWriteItems (moto 5.2.5 only, see MOTO_VERSION). moto deep-copies every
   table a transaction names, stream records included, and on cancellation swaps
   the copy in. That costs time and memory that grow with the table (and the
   copies pile up), and it replaces the table's stream shard, so every shard
   iterator opened before a cancelled transaction never sees another record. The
   patch snapshots only the items the transaction names, restores exactly those on
   failure, and emits stream records only when the transaction commits, one per
   changed item, as DynamoDB does.

On another moto version the transaction patch is skipped with a warning on stderr;
requests are still serialized.
"""

import argparse
import copy
import functools
import importlib.metadata
import inspect
import io
import logging
import os
import signal
import sys
import threading

# The moto release the transaction patch was written against (and read from).
MOTO_VERSION = "5.2.5"


def say(msg):
    print(f"asyncdesk: {msg}", file=sys.stderr, flush=True)


# --- 1. one request at a time ------------------------------------------------------


class Serialized:
    """WSGI middleware: runs the wrapped app, response body included, under one lock.

    The request body is read first, outside the lock, so a client that sends slowly
    (or connects and sends nothing) holds up only its own thread."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        stream = environ["wsgi.input"]
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug ends the stream
            data = stream.read()
        else:
            length = environ.get("CONTENT_LENGTH") or ""
            data = stream.read(int(length)) if length.isdigit() else b""
        environ["wsgi.input"] = io.BytesIO(data)
        with self.lock:
            body = self.app(environ, start_response)
            try:
                return [b"".join(body)]
            finally:
                if hasattr(body, "close"):
                    body.close()


# --- 2. TransactWriteItems without whole-table copies ----------------------------


def patch_transactions():
    """Patches DynamoDBBackend.transact_write_items; returns False (and warns) if
    this moto is not the one the patch was written for."""
    fallback = (
        "transactions fall back to moto's own (slow, memory-hungry) implementation"
    )
    version = importlib.metadata.version("moto")
    if version != MOTO_VERSION:
        say(f"moto {version} is not the version this launcher patches ({MOTO_VERSION}); {fallback}")
        return False

    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import StreamShard, Table

    def params(fn):
        return list(inspect.signature(fn).parameters) if callable(fn) else None

    expected = [
        (DynamoDBBackend, "transact_write_items", ["self", "transact_items"]),
        (DynamoDBBackend, "get_table", ["self", "table_name"]),
        (Table, "get_item", ["self", "hash_key", "range_key", "projection_expression"]),
        (StreamShard, "add", ["self", "old", "new"]),
    ]
    for cls, name, want in expected:
        if params(getattr(cls, name, None)) != want:
            say(f"moto {version}: {cls.__name__}.{name} is not as expected; {fallback}")
            return False
    # The trick below relies on moto copying tables with plain copy.deepcopy.
    if "__deepcopy__" in vars(Table):
        say(f"moto {version}: Table defines __deepcopy__; {fallback}")
        return False

    original = DynamoDBBackend.transact_write_items

    def named_items(backend, transact_items):
        """{(table, hash, range): copy of the item as it is now, or None}, for every
        item the transaction names. Ops moto will reject anyway (unknown table,
        missing key) are skipped: moto writes nothing for them."""
        before = {}
        for entry in transact_items:
            for op in entry.values():
                try:
                    table = backend.get_table(op["TableName"])
                    key = op["Item"] if "Item" in op else op["Key"]
                    hash_key = DynamoType(key[table.hash_key_attr])
                    range_key = (
                        DynamoType(key[table.range_key_attr])
                        if table.range_key_attr
                        else None
                    )
                    slot = (table, hash_key, range_key)
                    if slot not in before:
                        # Update modifies the stored Item in place: copy it.
                        before[slot] = copy.deepcopy(table.get_item(hash_key, range_key))
                except Exception:
                    continue
        return before

    def put_back(table, hash_key, range_key, item):
        """Stores `item` (None: no item) under the key, emitting no stream record."""
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        elif item is not None:
            table.items[hash_key][range_key] = item
        elif hash_key in table.items:
            table.items[hash_key].pop(range_key, None)
            if not table.items[hash_key]:
                del table.items[hash_key]

    @functools.wraps(original)
    def transact_write_items(self, transact_items):
        before = named_items(self, transact_items)
        # Mute the streams of the tables involved while moto applies the ops one by
        # one (a cancelled transaction must emit nothing; an Update that creates an
        # item would emit two INSERTs).
        shards = {}
        for table, _, _ in before:
            if table.stream_shard is not None:
                shards[table] = table.stream_shard
                table.stream_shard = None
        # moto backs up each table with copy.deepcopy(table) and, on failure, puts
        # the "copy" back in self.tables; while we run, that copy is the table
        # itself, so the backup costs nothing and the restore is a no-op.
        Table.__deepcopy__ = lambda table, memo: table
        try:
            original(self, transact_items)
        except BaseException:
            for (table, hash_key, range_key), item in before.items():
                put_back(table, hash_key, range_key, item)
            raise
        finally:
            del Table.__deepcopy__
            for table, shard in shards.items():
                table.stream_shard = shard
        # Committed: one stream record per item that changed, in the order named.
        for (table, hash_key, range_key), old in before.items():
            if table.stream_shard is None:
                continue
            new = table.get_item(hash_key, range_key)
            if old is None and new is None:
                continue
            if old is not None and new is not None and old.to_json() == new.to_json():
                continue  # DynamoDB writes no stream record for an unchanged item
            table.stream_shard.add(old, new)

    DynamoDBBackend.transact_write_items = transact_write_items
    return True


# --- server ----------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()

    # As moto_server does: some moto services build URLs that point back at us.
    os.environ.setdefault("MOTO_PORT", str(args.port))

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    patched = patch_transactions()

    # No per-request log lines; errors (500s with tracebacks) still reach stderr.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # as moto_server
    server = make_server(
        args.host,
        args.port,
        Serialized(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )

    def stop(signum, frame):
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    version = importlib.metadata.version("moto")
    say(
        f"moto {version} on http://{args.host}:{server.port} "
        f"(serialized, transactions {'patched' if patched else 'NOT patched'})"
    )
    server.serve_forever()  # closes the socket when it returns or raises


if __name__ == "__main__":
    main()
