"""summary: adds up meson's test logs and pytest's JUnit XML reports into one closing line."""
import json
import sys
import xml.etree.ElementTree as ET


def meson_counts(path):
    passed = failed = skipped = 0
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                result = json.loads(line).get("result")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                else:
                    failed += 1
    except FileNotFoundError:
        failed += 1
        print(f"summary: no meson test log at {path}", file=sys.stderr)
    return passed, failed, skipped


def pytest_counts(path):
    try:
        root = ET.parse(path).getroot()
    except (FileNotFoundError, ET.ParseError):
        print(f"summary: no pytest report at {path}", file=sys.stderr)
        return 0, 1, 0
    suites = [root] if root.tag == "testsuite" else list(root)
    tests = failures = errors = skipped = 0
    for s in suites:
        tests += int(s.get("tests", 0))
        failures += int(s.get("failures", 0))
        errors += int(s.get("errors", 0))
        skipped += int(s.get("skipped", 0))
    return tests - failures - errors - skipped, failures + errors, skipped


def label(path):
    """A short name of a result file: its build directory and kind."""
    parts = path.replace("\\", "/").split("/")
    build = parts[-3] if len(parts) >= 3 and parts[-2] == "meson-logs" else \
        (parts[-2] if len(parts) >= 2 else "")
    return f"{build}/{parts[-1]}" if build else parts[-1]


def main():
    """summary.py RESULT...: each a meson JSON test log (.json) or a pytest JUnit report
    (.xml); one line per file, then the total "N passed, N failed, N skipped"."""
    paths = sys.argv[1:]
    if not paths:
        print("usage: summary.py MESON_LOG.json|PYTEST.xml ...", file=sys.stderr)
        return 2
    total_p = total_f = total_s = 0
    for path in paths:
        if path.endswith(".xml"):
            p, f, s = pytest_counts(path)
            kind = "Python"
        else:
            p, f, s = meson_counts(path)
            kind = "C"
        print(f"{kind} ({label(path)}): {p} passed, {f} failed, {s} skipped")
        total_p, total_f, total_s = total_p + p, total_f + f, total_s + s
    print(f"{total_p} passed, {total_f} failed, {total_s} skipped")
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
