#!/usr/bin/env python3
"""Run candor-cli and compare what it prints with a file, byte for byte.

Usage: check-cli-output.py EXPECTED CANDOR_CLI ARG...
Paths in EXPECTED and ARG may start with @testdata/, resolved against $CANDOR_TESTDATA;
when a test-data file is missing the test is skipped (exit 77), as the suite promises.
"""
import os
import subprocess
import sys


def resolve(arg):
    if not arg.startswith('@testdata/'):
        return arg
    base = os.environ.get('CANDOR_TESTDATA', '../shared/testdata')
    path = os.path.join(base, arg[len('@testdata/'):])
    if not os.path.exists(path):
        print(f'skipping: {path} is not there')
        sys.exit(77)
    return path


def main():
    expected_path, command = resolve(sys.argv[1]), [resolve(a) for a in sys.argv[2:]]
    with open(expected_path, 'rb') as f:
        expected = f.read()
    result = subprocess.run(command, capture_output=True, timeout=600)
    sys.stderr.buffer.write(result.stderr)
    if result.returncode != 0:
        print(f'{command[0]} exited with {result.returncode}')
        return 1
    if result.stdout != expected:
        got = result.stdout
        at = next((i for i in range(min(len(got), len(expected))) if got[i] != expected[i]),
                  min(len(got), len(expected)))
        print(f'output differs from {expected_path} at byte {at} '
              f'({len(got)} bytes printed, {len(expected)} expected)')
        print('printed: ' + got[max(0, at - 40):at + 40].decode('utf-8', 'replace'))
        print('wanted:  ' + expected[max(0, at - 40):at + 40].decode('utf-8', 'replace'))
        return 1
    print(f'{len(expected)} bytes, identical')
    return 0


if __name__ == '__main__':
    sys.exit(main())
