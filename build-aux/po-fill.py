#!/usr/bin/env python3
"""Merge translations kept as a Python dict into a .po file made from the template.

Usage: po-fill.py TEMPLATE.pot TRANSLATIONS.py OUT.po
TRANSLATIONS.py defines HEADER (extra header lines) and T, a dict from msgid (or
(msgctxt, msgid)) to msgstr, or for a message with a plural to the list of its msgstr,
one for each form that HEADER's Plural-Forms names. Every message of the template must
have a translation, so a complete language stays complete; the script fails and lists
what is missing. Flags such as c-format are kept, so that msgfmt -c checks the
placeholders of each translation.
"""
import re
import runpy
import sys


def unquote(lines):
    return ''.join(re.match(r'^(?:msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)?\s*"(.*)"$', l).group(1)
                   .encode('utf-8').decode('unicode_escape').encode('latin-1').decode('utf-8')
                   for l in lines)


def quote(text):
    escaped = text.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
    return f'"{escaped}"'


def entries(pot):
    block = []
    for line in pot.splitlines() + ['']:
        if line.strip():
            block.append(line)
        elif block:
            yield block
            block = []


def parse(block):
    comments, fields, current = [], {}, None
    for line in block:
        if line.startswith('#'):
            comments.append(line)
            continue
        m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s', line)
        if m:
            current = m.group(1)
            fields[current] = [line]
        else:
            fields[current].append(line)
    ctx = unquote(fields['msgctxt']) if 'msgctxt' in fields else None
    plural = unquote(fields['msgid_plural']) if 'msgid_plural' in fields else None
    return comments, ctx, unquote(fields['msgid']), plural


def main():
    pot_path, table_path, out_path = sys.argv[1:4]
    table = runpy.run_path(table_path)
    translations, header = table['T'], table['HEADER']
    nplurals = next((int(m.group(1)) for h in header
                     for m in [re.match(r'^Plural-Forms:\s*nplurals=(\d+);', h)] if m), 2)
    out, missing = [], []
    with open(pot_path, encoding='utf-8') as f:
        pot = f.read()
    for block in entries(pot):
        comments, ctx, msgid, plural = parse(block)
        if msgid == '' and ctx is None:
            out.append('\n'.join(['msgid ""', 'msgstr ""'] + [quote(h + '\n') for h in header]))
            continue
        key = (ctx, msgid) if ctx is not None and (ctx, msgid) in translations else msgid
        forms = translations.get(key)
        if plural is not None and isinstance(forms, str):
            forms = [forms]
        if forms is None or (plural is not None and len(forms) != nplurals):
            missing.append(msgid if forms is None
                           else f'{msgid} (needs {nplurals} plural forms, has {len(forms)})')
            continue
        lines = [c for c in comments if not c.startswith('#,')]
        flags = [f for c in comments if c.startswith('#,')
                 for f in c[2:].replace(',', ' ').split() if f != 'fuzzy']
        if flags:
            lines.append('#, ' + ', '.join(flags))
        if ctx is not None:
            lines.append(f'msgctxt {quote(ctx)}')
        lines.append(f'msgid {quote(msgid)}')
        if plural is None:
            lines.append(f'msgstr {quote(forms)}')
        else:
            lines.append(f'msgid_plural {quote(plural)}')
            lines += [f'msgstr[{i}] {quote(form)}' for i, form in enumerate(forms)]
        out.append('\n'.join(lines))
    if missing:
        print('Untranslated:\n  ' + '\n  '.join(missing), file=sys.stderr)
        return 1
    with open(out_path, 'w', encoding='utf-8') as f:
        f.write('# Simplified Chinese translation of Candor.\n'
                '# This file is distributed under the same license as the candor package.\n')
        f.write('\n\n'.join(out) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
