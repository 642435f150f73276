#!/usr/bin/env python3
"""candor-cli's image commands as a user runs them: write a small random SD 2.x model in
a diffusers folder (with CLIP's tokenizer), generate a PNG from it, then refine that PNG
(img2img), and check the files: a valid PNG of the asked size whose XMP (an iTXt chunk
right after IHDR), "parameters" text chunk and printed JSON record say how it was made.

Usage: check-image-cli.py CANDOR_CLI
Generating needs CLIP's merges from $CANDOR_TESTDATA (clip-bpe/); skipped (exit 77)
without them, after checking make-image-model's options that need no download.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib


def run(command):
    result = subprocess.run(command, capture_output=True, timeout=600, text=True)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        sys.exit(f'{command[1]} failed with {result.returncode}')
    return result.stdout


def read_png(path):
    """Chunks of a PNG, CRCs checked: (width, height, text chunks); the chunks before
    the image data must be IHDR, the XMP, then "parameters"."""
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    pos, text, size, order = 8, {}, None, []
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack('>I', data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f'bad CRC in {kind}'
        order.append(kind)
        if kind == b'IHDR':
            size = struct.unpack('>II', body[:8])
        elif kind == b'tEXt':
            key, value = body.split(b'\0', 1)
            text[key.decode('latin-1')] = value.decode('latin-1')
            order[-1] += b' ' + key
        elif kind == b'iTXt':
            # Not compressed, no language tag or translated keyword.
            key, rest = body.split(b'\0', 1)
            assert rest[:4] == b'\0\0\0\0', rest[:4]
            text[key.decode('latin-1')] = rest[4:].decode('utf-8')
            order[-1] += b' ' + key
        pos += 12 + length
    assert order[:3] == [b'IHDR', b'iTXt XML:com.adobe.xmp', b'tEXt parameters'], order
    return size, text


def check_make_options(cli, tmp):
    """make-image-model's --prediction and --merges-stand-in, which need no download: the
    scheduler says v_prediction, the stand-in has the form of CLIP's file (a version line,
    then 48894 distinct merges of two symbols) and gives CLIP's 49408-token vocabulary,
    and a single SD 1.x file, which cannot say v prediction, is refused."""
    model = os.path.join(tmp, 'sd1-v')
    stand_in = os.path.join(tmp, 'stand-in.txt')
    run([cli, 'make-image-model', model, '--layout', 'diffusers', '--prediction', 'v',
         '--merges-stand-in', stand_in])
    with open(os.path.join(model, 'scheduler', 'scheduler_config.json')) as f:
        assert json.load(f)['prediction_type'] == 'v_prediction'
    with open(stand_in, encoding='utf-8') as f:
        lines = f.read().splitlines()
    assert lines[0] == '#version: 0.2', lines[0]
    assert len(lines) == 1 + 48894 and len(set(lines[1:])) == 48894, len(lines)
    assert all(len(line.split(' ')) == 2 for line in lines[1:])
    with open(os.path.join(model, 'tokenizer', 'vocab.json')) as f:
        assert len(json.load(f)) == 49408
    refused = subprocess.run([cli, 'make-image-model', os.path.join(tmp, 'sd1-v.safetensors'),
                              '--prediction', 'v'], capture_output=True, text=True)
    assert refused.returncode == 2 and 'v prediction' in refused.stderr, refused


def main():
    cli = sys.argv[1]
    base = os.environ.get('CANDOR_TESTDATA', '../shared/testdata')
    merges = os.path.join(base, 'clip-bpe', 'bpe_simple_vocab_16e6.txt.gz')
    with tempfile.TemporaryDirectory() as tmp:
        check_make_options(cli, tmp)
    if not os.path.exists(merges):
        print(f'skipping: {merges} is not there')
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, 'sd2')
        run([cli, 'make-image-model', model, '--family', 'sd2', '--layout', 'diffusers',
             '--merges', merges])
        with open(os.path.join(model, 'scheduler', 'scheduler_config.json')) as f:
            assert json.load(f)['prediction_type'] == 'epsilon'   # the default
        out = os.path.join(tmp, 'out.png')
        record = json.loads(run([cli, 'image', model, '--prompt', 'a (red:1.2) fox',
                                 '--negative', 'blur', '--steps', '2', '--cfg', '5',
                                 '--seed', '7', '--sampler', 'euler', '-W', '32', '-H', '48',
                                 '--out', out, '--json']))
        size, text = read_png(out)
        assert size == (32, 48), size
        assert record['prompt'] == 'a (red:1.2) fox' and record['seed'] == 7, record
        assert record['mode'] == 'txt2img' and len(record['model_sha256']) == 64, record
        parameters = text['parameters']
        assert parameters.startswith('a (red:1.2) fox\nNegative prompt: blur\n'), parameters
        assert 'Steps: 2, Sampler: Euler, CFG scale: 5, Seed: 7, Size: 32x48' in parameters, \
            parameters
        assert record['model_sha256'][:10] in parameters, parameters
        xmp = text['XML:com.adobe.xmp']
        for expected in ['<xmp:CreatorTool>candor-cli ',
                         '<Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/'
                         'digitalsourcetype/trainedAlgorithmicMedia<',
                         '<Iptc4xmpExt:AISystemVersionUsed>' + record['model_sha256'][:10] + '<',
                         '<Iptc4xmpExt:AIPromptInformation>a (red:1.2) fox\n'
                         'Negative prompt: blur<',
                         '<plus:DataMining>http://ns.useplus.org/ldf/vocab/'
                         'DMI-PROHIBITED-AIMLTRAINING<']:
            assert expected in xmp, (expected, xmp)

        refined = os.path.join(tmp, 'refined.png')
        record = json.loads(run([cli, 'image', model, '--prompt', 'a fox', '--init', out,
                                 '--strength', '0.5', '--steps', '4', '--out', refined,
                                 '--json']))
        size, text = read_png(refined)
        assert size == (32, 48), size
        assert record['mode'] == 'img2img' and record['strength'] == 0.5, record
        assert 'Denoising strength: 0.5' in text['parameters'], text['parameters']
    print('ok')


if __name__ == '__main__':
    main()
