"""The JSON Schema validator of the report (docs/report.schema.json), shared by
the Python tests. Importing it re-runs the test with Debian's python3 when the
interpreter at hand lacks the jsonschema module (package python3-jsonschema)."""
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit("%s: the jsonschema module is missing: apt-get install python3-jsonschema"
             % os.path.basename(sys.argv[0]))


def validator(schema_path):
    """Returns a Draft 2020-12 validator for the schema file at schema_path."""
    with open(schema_path) as f:
        return jsonschema.Draft202012Validator(json.load(f))
