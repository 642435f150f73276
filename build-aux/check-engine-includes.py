#!/usr/bin/env python3
"""Fail the build if an engine source includes GTK, GDK, GSK or libadwaita.

Loom is a library for the app, candor-cli and the tests alike; it must build and run
without a display stack. Usage: check-engine-includes.py STAMP SOURCE...
With --self-test, checks that a clean file passes and an offending one fails.
"""
import os
import re
import subprocess
import sys
import tempfile

FORBIDDEN = re.compile(r'^\s*#\s*include\s*[<"](gtk|gdk|gsk|adwaita|libadwaita)[/.]', re.M)


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        def run(text):
            source = os.path.join(tmp, 'probe.c')
            with open(source, 'w', encoding='utf-8') as f:
                f.write(text)
            return subprocess.run([sys.executable, __file__, os.path.join(tmp, 'stamp.h'), source],
                                  capture_output=True, text=True)
        clean = run('#include <glib.h>\n#include "loom.h"\n/* #include <gtk/gtk.h> in a comment */\n')
        bad = [run(f'#include {header}\n') for header in
               ('<gtk/gtk.h>', '<adwaita.h>', '"gdk/gdk.h"', '<gsk/gsk.h>')]
    ok = clean.returncode == 0 and all(
        b.returncode == 1 and 'must not include GTK' in b.stderr for b in bad)
    print('ok' if ok else f'FAILED: clean={clean.returncode} bad={[b.returncode for b in bad]}')
    return 0 if ok else 1


def main():
    if sys.argv[1:] == ['--self-test']:
        return self_test()
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
