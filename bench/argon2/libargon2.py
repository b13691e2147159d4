"""libargon2 (the reference C implementation, through argon2-cffi): Argon2id
hashes per second with one thread per core (the call releases the GIL).
Prints `argon2_hashes_per_sec <rate>`.

Usage: python3 libargon2.py SECONDS MEMORY_KIB ITERATIONS PARALLELISM
"""

import os
import sys
import threading
import time

from argon2.low_level import Type, hash_secret_raw

seconds, memory, iterations, parallelism = (int(a) for a in sys.argv[1:5])
counts = [0] * (os.cpu_count() or 1)
until = time.monotonic() + seconds


def work(i):
    salt = bytes([i]) * 16
    while time.monotonic() < until:
        hash_secret_raw(b"ceiling password", salt, iterations, memory, parallelism, 32, Type.ID)
        counts[i] += 1


started = time.monotonic()
threads = [threading.Thread(target=work, args=(i,)) for i in range(len(counts))]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"argon2_hashes_per_sec {sum(counts) / (time.monotonic() - started):.1f}")
