#!/usr/bin/env python3
"""Turns the dashboard template into C: the bytes before and after the line
holding the data marker become msx_dashboard_head and msx_dashboard_tail
(declared in dashboard.h). A line "/*MEMSCOPE-INCLUDE NAME*/" is replaced by
the file NAME beside the template (the page's script in parts, each file under
800 lines). Usage: embed.py TEMPLATE OUTPUT.c"""
import os
import re
import sys

MARKER = b"<!--MEMSCOPE-DATA-->"
INCLUDE = re.compile(rb"^/\*MEMSCOPE-INCLUDE ([A-Za-z0-9_.-]+)\*/\n", re.M)


def c_array(name, data):
    """C definition of a const char array and its length."""
    rows = []
    for i in range(0, len(data), 16):
        rows.append("    " + ", ".join(str(b) for b in data[i:i + 16]) + ",")
    return ("const char %s[] = {\n%s\n};\nconst size_t %s_len = %d;\n"
            % (name, "\n".join(rows), name, len(data)))


def main():
    src, out = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        text = f.read()

    def include(m):
        with open(os.path.join(os.path.dirname(src), m.group(1).decode()), "rb") as g:
            part = g.read()
        if MARKER in part or INCLUDE.search(part):
            sys.exit("%s: no marker may be in an included file" % m.group(1).decode())
        return part if part.endswith(b"\n") else part + b"\n"
    text = INCLUDE.sub(include, text)
    at = text.find(MARKER)
    if at < 0 or text.find(MARKER, at + 1) >= 0:
        sys.exit("%s: needs exactly one %s line" % (src, MARKER.decode()))
    head = text[:at]
    tail = text[at + len(MARKER):]
    if tail.startswith(b"\n"):
        tail = tail[1:]
    with open(out, "w") as f:
        f.write("/* Generated from dashboard.html by embed.py: do not edit. */\n")
        f.write('#include "dashboard.h"\n\n')
        f.write(c_array("msx_dashboard_head", head))
        f.write(c_array("msx_dashboard_tail", tail))


if __name__ == "__main__":
    main()
