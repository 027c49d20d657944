"""SQLite storage: resources as exact JSON documents, records as stored texts in insertion order."""
import contextlib
import os
import sqlite3
import threading
import time

from . import jsontext

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (kind TEXT PRIMARY KEY, next INTEGER NOT NULL);
-- Every resource kind (app, collection, query, actionflow, questionnaire, user,
-- import, file) lives here; k1/k2 form its key (a collection: app, slug).  pos
-- gives the listing order (creation order).  doc is the full resource as JSON
-- text; secret holds what is never returned (a user's password hash).
CREATE TABLE IF NOT EXISTS resources (
  pos INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  k1 TEXT NOT NULL,
  k2 TEXT NOT NULL DEFAULT '',
  doc TEXT NOT NULL,
  secret TEXT,
  UNIQUE (kind, k1, k2)
);
-- Records: cid is the collection's numeric id; seq (the rowid) only grows, so
-- ordering a collection by seq is insertion order and appends land at its end.
-- text is the stored record (UTF-8 JSON, _id first) returned byte for byte.
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY,
  cid INTEGER NOT NULL,
  oid TEXT NOT NULL,
  text BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_oid ON records (cid, oid);
CREATE INDEX IF NOT EXISTS records_order ON records (cid, seq);
"""

# Offsets below this are read with a plain OFFSET; deeper ones start from a checkpoint.
_DIRECT_OFFSET = 4096
# One checkpoint (the seq found at that position) every this many records.
_CHECKPOINT_EVERY = 256


class Conflict(Exception):
    """A unique key is taken; the message names it."""


class _PageIndex:
    """Cached count and position checkpoints of one collection.

    Contract: count is exact; checkpoints[i] is the seq of the record at position
    i * _CHECKPOINT_EVERY (filled in on demand), valid as long as no record before
    it was deleted.
    Appends keep both valid (count is bumped); deletes and replaces drop the cache.
    """

    __slots__ = ("count", "checkpoints")

    def __init__(self, count):
        self.count = count
        self.checkpoints = None


class ObjectIds:
    """MongoDB-style ids: 8 hex of epoch seconds + 10 hex random per process + 6 hex counter."""

    def __init__(self):
        self._lock = threading.Lock()
        self._random = os.urandom(5).hex()
        self._counter = int.from_bytes(os.urandom(3), "big")

    def new(self):
        with self._lock:
            self._counter = (self._counter + 1) & 0xFFFFFF
            counter = self._counter
        return "%08x%s%06x" % (int(time.time()) & 0xFFFFFFFF, self._random, counter)


class Store:
    """All persistent state behind one sqlite connection guarded by one lock.

    The lock makes every public method atomic; sqlite releases the GIL while it
    works, so request parsing in other threads still proceeds in parallel.
    """

    def __init__(self, path=":memory:"):
        self.path = path
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)
        self.oids = ObjectIds()
        self._pages = {}

    def close(self):
        with self.lock:
            self.conn.close()

    # -- small helpers -------------------------------------------------------

    def _tx(self):
        return _Transaction(self)

    @contextlib.contextmanager
    def atomic(self):
        """All the store calls of the block or none: one transaction under the lock (other
        threads wait), rolled back when the block raises. Page caches of collections are
        dropped, since a rollback may undo what they counted."""
        with self.lock:
            try:
                with self._tx():
                    yield
            except BaseException:
                self._pages.clear()
                raise

    def meta_get(self, key):
        with self.lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def meta_set(self, key, value):
        with self.lock:
            self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def next_id(self, kind):
        """Allocate the next numeric id of a kind (1, 2, ...); never reused."""
        with self.lock, self._tx():
            row = self.conn.execute("SELECT next FROM counters WHERE kind=?", (kind,)).fetchone()
            value = row[0] if row else 1
            self.conn.execute("INSERT OR REPLACE INTO counters (kind, next) VALUES (?, ?)",
                              (kind, value + 1))
        return value

    def bump_id(self, kind, used):
        """Make sure next_id(kind) returns more than an id a fixture chose itself."""
        with self.lock, self._tx():
            row = self.conn.execute("SELECT next FROM counters WHERE kind=?", (kind,)).fetchone()
            if not row or row[0] <= used:
                self.conn.execute("INSERT OR REPLACE INTO counters (kind, next) VALUES (?, ?)",
                                  (kind, used + 1))

    # -- resources -----------------------------------------------------------

    def get(self, kind, k1, k2=""):
        """The document of one resource (parsed), or None."""
        with self.lock:
            row = self.conn.execute("SELECT doc FROM resources WHERE kind=? AND k1=? AND k2=?",
                                    (kind, k1, k2)).fetchone()
        return jsontext.loads(row[0]) if row else None

    def get_secret(self, kind, k1, k2=""):
        with self.lock:
            row = self.conn.execute("SELECT secret FROM resources WHERE kind=? AND k1=? AND k2=?",
                                    (kind, k1, k2)).fetchone()
        return row[0] if row else None

    def list(self, kind, k1=None):
        """Documents of a kind in creation order; with k1, only those whose k1 matches."""
        with self.lock:
            if k1 is None:
                rows = self.conn.execute("SELECT doc FROM resources WHERE kind=? ORDER BY pos",
                                         (kind,)).fetchall()
            else:
                rows = self.conn.execute(
                    "SELECT doc FROM resources WHERE kind=? AND k1=? ORDER BY pos",
                    (kind, k1)).fetchall()
        return [jsontext.loads(r[0]) for r in rows]

    def count(self, kind, k1):
        with self.lock:
            return self.conn.execute("SELECT COUNT(*) FROM resources WHERE kind=? AND k1=?",
                                     (kind, k1)).fetchone()[0]

    def insert(self, kind, k1, k2, doc, secret=None):
        """Create a resource; Conflict when the key is taken."""
        with self.lock:
            try:
                self.conn.execute(
                    "INSERT INTO resources (kind, k1, k2, doc, secret) VALUES (?, ?, ?, ?, ?)",
                    (kind, k1, k2, jsontext.dumps(doc), secret))
            except sqlite3.IntegrityError:
                raise Conflict("%s %s already exists" % (kind, k1 if not k2 else k1 + "/" + k2))

    def update(self, kind, k1, k2, doc, secret=None):
        """Replace a resource's document (and its secret when one is given); False if absent."""
        with self.lock:
            if secret is None:
                cur = self.conn.execute("UPDATE resources SET doc=? WHERE kind=? AND k1=? AND k2=?",
                                        (jsontext.dumps(doc), kind, k1, k2))
            else:
                cur = self.conn.execute(
                    "UPDATE resources SET doc=?, secret=? WHERE kind=? AND k1=? AND k2=?",
                    (jsontext.dumps(doc), secret, kind, k1, k2))
        return cur.rowcount > 0

    def delete(self, kind, k1, k2=""):
        with self.lock:
            cur = self.conn.execute("DELETE FROM resources WHERE kind=? AND k1=? AND k2=?",
                                    (kind, k1, k2))
        return cur.rowcount > 0

    # -- records -------------------------------------------------------------

    def _index(self, cid):
        idx = self._pages.get(cid)
        if idx is None:
            n = self.conn.execute("SELECT COUNT(*) FROM records WHERE cid=?", (cid,)).fetchone()[0]
            idx = self._pages[cid] = _PageIndex(n)
        return idx

    def record_count(self, cid):
        with self.lock:
            return self._index(cid).count

    def _seek(self, cid, idx, offset):
        """(seq to start from, rows to skip after it) for a position in the collection.

        Checkpoints are extended on demand, each from the previous one with an
        OFFSET of _CHECKPOINT_EVERY, so reading page after page costs a couple of
        short index walks per page, and a jump to any offset costs offset/256 of them.
        """
        cps = idx.checkpoints
        if cps is None:
            cps = idx.checkpoints = []
        slot = offset // _CHECKPOINT_EVERY
        while len(cps) <= slot:
            if cps:
                row = self.conn.execute(
                    "SELECT seq FROM records WHERE cid=? AND seq>=? ORDER BY seq LIMIT 1 OFFSET ?",
                    (cid, cps[-1], _CHECKPOINT_EVERY)).fetchone()
            else:
                row = self.conn.execute(
                    "SELECT seq FROM records WHERE cid=? ORDER BY seq LIMIT 1", (cid,)).fetchone()
            if row is None:
                break
            cps.append(row[0])
        slot = min(slot, len(cps) - 1)
        return cps[slot], offset - slot * _CHECKPOINT_EVERY

    def record_page(self, cid, offset, limit):
        """(total, [stored texts]) of the records at positions offset..offset+limit-1.

        Deep offsets start from the nearest checkpoint so a page costs at most
        _CHECKPOINT_EVERY skipped index entries instead of `offset` of them.
        """
        with self.lock:
            idx = self._index(cid)
            if offset >= idx.count:
                return idx.count, []
            if offset < _DIRECT_OFFSET:
                rows = self.conn.execute(
                    "SELECT text FROM records WHERE cid=? ORDER BY seq LIMIT ? OFFSET ?",
                    (cid, limit, offset)).fetchall()
                return idx.count, [r[0] for r in rows]
            start, skip = self._seek(cid, idx, offset)
            rows = self.conn.execute(
                "SELECT text FROM records WHERE cid=? AND seq>=? ORDER BY seq LIMIT ? OFFSET ?",
                (cid, start, limit, skip)).fetchall()
            return idx.count, [r[0] for r in rows]

    def record_all(self, cid):
        """Every stored text of a collection, in order."""
        with self.lock:
            rows = self.conn.execute("SELECT text FROM records WHERE cid=? ORDER BY seq",
                                     (cid,)).fetchall()
        return [r[0] for r in rows]

    def record_get(self, cid, oid):
        with self.lock:
            row = self.conn.execute("SELECT text FROM records WHERE cid=? AND oid=?",
                                    (cid, oid)).fetchone()
        return row[0] if row else None

    def record_exists(self, cid, oid):
        with self.lock:
            return self.conn.execute("SELECT 1 FROM records WHERE cid=? AND oid=?",
                                     (cid, oid)).fetchone() is not None

    def _insert_rows(self, cid, rows):
        """Insert (oid, text) rows inside an open transaction; Conflict names a taken _id."""
        try:
            self.conn.executemany("INSERT INTO records (cid, oid, text) VALUES (?, ?, ?)",
                                  ((cid, oid, text) for oid, text in rows))
        except sqlite3.IntegrityError:
            seen = set()
            for oid, _ in rows:
                if oid in seen:
                    raise Conflict("Record with _id %s given twice" % oid)
                seen.add(oid)
            taken = [oid for oid, _ in rows
                     if self.conn.execute("SELECT 1 FROM records WHERE cid=? AND oid=?",
                                          (cid, oid)).fetchone()]
            raise Conflict("Record with _id %s already exists" % (taken[0] if taken else "?"))

    def record_insert(self, cid, rows):
        """Append (oid, text) rows atomically: all of them or, on a taken _id, none."""
        with self.lock:
            idx = self._index(cid)
            with self._tx():
                self._insert_rows(cid, rows)
            idx.count += len(rows)

    def record_replace(self, cid, rows):
        """Replace every record of a collection by rows, atomically."""
        with self.lock:
            self._pages.pop(cid, None)
            with self._tx():
                self.conn.execute("DELETE FROM records WHERE cid=?", (cid,))
                self._insert_rows(cid, rows)

    def record_update(self, cid, oid, text):
        """Replace one record's text in place (its position is kept); False if absent."""
        with self.lock:
            cur = self.conn.execute("UPDATE records SET text=? WHERE cid=? AND oid=?",
                                    (text, cid, oid))
        return cur.rowcount > 0

    def record_delete(self, cid, oids):
        """Delete the records with these _ids; returns how many existed."""
        with self.lock:
            self._pages.pop(cid, None)
            with self._tx():
                n = 0
                for oid in oids:
                    n += self.conn.execute("DELETE FROM records WHERE cid=? AND oid=?",
                                           (cid, oid)).rowcount
        return n

    def record_clear(self, cid):
        with self.lock:
            self._pages.pop(cid, None)
            cur = self.conn.execute("DELETE FROM records WHERE cid=?", (cid,))
        return cur.rowcount

    def record_bulk(self, cid, batches):
        """Insert many generated rows (an iterable of (oid, text) lists) in one transaction.

        Ids already present are skipped (INSERT OR IGNORE) so that generating into a
        persisted database twice is harmless.
        """
        with self.lock:
            self._pages.pop(cid, None)
            with self._tx():
                for batch in batches:
                    self.conn.executemany(
                        "INSERT OR IGNORE INTO records (cid, oid, text) VALUES (?, ?, ?)",
                        ((cid, oid, text) for oid, text in batch))


class _Transaction:
    """BEGIN ... COMMIT, or ROLLBACK when the block raises (the connection is in autocommit).

    Inside a transaction already open (Store.atomic around calls that open their own), it
    is a savepoint instead: released on success, rolled back to when the block raises, so
    the outer block still decides for everything.
    """

    def __init__(self, store):
        self.conn = store.conn
        self.nested = False

    def __enter__(self):
        self.nested = self.conn.in_transaction
        self.conn.execute("SAVEPOINT inner" if self.nested else "BEGIN")
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.nested:
            if exc_type:
                self.conn.execute("ROLLBACK TO inner")
            self.conn.execute("RELEASE inner")
        else:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        return False
