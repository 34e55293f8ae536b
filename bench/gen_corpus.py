#!/usr/bin/env python3
"""gen_corpus.py DIR NDIRS PER LO HI SEED - the benchmark corpus generator
shared by bench/run.sh and bench/alloc.sh: NDIRS folders of PER files of LO
to HI bytes (seeded, so every run builds the same tree); every fourth file is
Markdown text, which takes the UTF-8 check path too, the rest random bytes."""
import os
import random
import sys

root, ndirs, per, lo, hi, seed = sys.argv[1], *map(int, sys.argv[2:])
rng = random.Random(seed)
for d in range(ndirs):
    sub = os.path.join(root, "d%03d" % d)
    os.mkdir(sub)
    for i in range(per):
        n = rng.randint(lo, hi)
        with open(os.path.join(sub, "f%04d.%s" % (i, "md" if i % 4 == 0 else "bin")), "wb") as f:
            if i % 4 == 0:
                f.write((b"# notes %d\n" % i + b"lorem ipsum dolor sit amet " * (hi // 27 + 1))[:n])
            else:
                f.write(rng.randbytes(n))
