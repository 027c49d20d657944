"""summary: adds up meson's test log and pytest's JUnit XML into one closing line."""
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


def main():
    mp, mf, ms = meson_counts(sys.argv[1])
    pp, pf, ps = pytest_counts(sys.argv[2])
    print(f"C suites: {mp} passed, {mf} failed, {ms} skipped; "
          f"Python suites: {pp} passed, {pf} failed, {ps} skipped")
    print(f"{mp + pp} passed, {mf + pf} failed, {ms + ps} skipped")
    return 1 if (mf + pf) else 0


if __name__ == "__main__":
    sys.exit(main())
