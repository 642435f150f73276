#!/usr/bin/env python3
"""Fail the build if an engine source includes GTK, GDK, GSK or libadwaita.

Loom is a library for the app, candor-cli and the tests alike; it must build and run
without a display stack. Usage: check-engine-includes.py STAMP SOURCE...
"""
import re
import sys

FORBIDDEN = re.compile(r'^\s*#\s*include\s*[<"](gtk|gdk|gsk|adwaita|libadwaita)[/.]', re.M)


def main():
    stamp, sources = sys.argv[1], sys.argv[2:]
    bad = []
    for path in sources:
        with open(path, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                if FORBIDDEN.match(line):
                    bad.append(f'{path}:{number}: {line.strip()}')
    if bad:
        print('The engine must not include GTK (see DESIGN.md):', file=sys.stderr)
        print('\n'.join(bad), file=sys.stderr)
        return 1
    with open(stamp, 'w', encoding='utf-8') as f:
        f.write('/* Generated: every engine source was checked to include no GTK. */\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
