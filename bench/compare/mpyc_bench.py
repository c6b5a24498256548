"""Mosaik side-by-side benchmark (issue 7): the MPyC party program.

Run by bench/compare/run.ts as three processes on localhost:
    python3 mpyc_bench.py -M3 -I<i> -B <base port> [--ssl]
with the MPyC package on PYTHONPATH (MPYC_PATH) and the workload in environment variables:
    MOSAIK_CMP_WORKLOAD  mul | lt | lt32 | meanvar | groupsum
    MOSAIK_CMP_N         number of elements (rows)
    MOSAIK_CMP_REPS      timed repetitions (best is reported)
    MOSAIK_CMP_DATA      for meanvar/groupsum: file of n little-endian int64 x values, then n keys
Every party prints one line 'RESULT {json}' with its timings.

What is measured (the same as for the other systems): inputs are secret-shared first by party 0
(not timed); then, between two synchronisation points, one vectorised operation on whole secure
NumPy arrays (MPyC's fastest form):
    mul       z = x * y                 SecInt(64): 64-bit integers in a prime field of 96 bits
    lt        z = x < y                 SecInt(64), inputs 63-bit signed; MPyC's comparison leaks
                                        with probability 2^-30 (statistical security parameter k=30)
    lt32      z = x < y                 SecInt(32)
    meanvar   S = sum(x), Q = x @ x (SecInt(64)); S and Q revealed (n is public: that is what
              mean = S/n and variance = Q/n - mean^2 reveal)
    groupsum  SecInt(32); the ten sums of x per key value, revealed. Default ('poly'): the key's
              one-hot vector through Lagrange polynomials over the prime field (8 vector products
              for key^2..key^9, then one matrix product); MOSAIK_CMP_VARIANT=eq: MPyC's secure
              equality, 10 x n tests [key == k], then E @ x
A run ends when this party holds its shares of the result (mul/lt), or the revealed aggregates.
MPyC: Shamir secret sharing over a prime field, threshold t = 1 of 3 parties (honest majority),
semi-honest (passive) security; PRSS for shared randomness.
"""
import json
import os
import sys
import time

import numpy as np
import mpyc
import mpyc.gmpy
from mpyc.runtime import mpc

W = os.environ.get('MOSAIK_CMP_WORKLOAD', 'mul')
N = int(os.environ.get('MOSAIK_CMP_N', '1024'))
REPS = int(os.environ.get('MOSAIK_CMP_REPS', '1'))
DATA = os.environ.get('MOSAIK_CMP_DATA', '')
VARIANT = os.environ.get('MOSAIK_CMP_VARIANT', 'poly')  # groupsum: 'poly' (default) or 'eq'
GROUPS = 10
WARM = min(N, 64)  # warm-up run on a small batch (code paths, caches), not timed


def rand_signed(rng, n, bits):
    """n uniform signed integers of `bits` <= 63 bits, as a NumPy object array of Python ints."""
    lo = -(1 << (bits - 1))
    return np.array(rng.integers(lo, -lo, size=n, dtype=np.int64).tolist(), dtype=object)


def lagrange(p, G):
    """Coefficients C[g][j] (mod p) of L_g(t) = prod_{j != g} (t - j)/(g - j), so L_g(key) = [key == g]."""
    rows = []
    for g in range(G):
        poly, den = [1], 1
        for j in range(G):
            if j != g:
                poly = [(a - j * b) % p for a, b in zip([0] + poly, poly + [0])]
                den = den * (g - j) % p
        inv = pow(den, -1, p)
        rows.append([c * inv % p for c in poly])
    return rows


async def sync():
    """All three parties exchange a message: nobody times before everybody is ready."""
    await mpc.output(mpc.input(mpc.SecInt(16)(0), senders=0))


async def main():
    await mpc.start()
    pid = mpc.pid
    timings = []
    result = None
    if W in ('mul', 'lt', 'lt32'):
        secint = mpc.SecInt(32 if W == 'lt32' else 64)
        rng = np.random.default_rng(12345)
        in_bits = 32 if W == 'lt32' else 63

        def shared(n):
            vals = rand_signed(rng, n, in_bits) if pid == 0 else np.zeros(n, dtype=object)
            return mpc.input(secint.array(vals), senders=0)

        async def op(n):
            x, y = shared(n), shared(n)
            await mpc.gather(x, y)
            await sync()
            t0 = time.perf_counter()
            z = x * y if W == 'mul' else x < y
            await mpc.gather(z)
            t = time.perf_counter() - t0
            return t, z

        await op(WARM)
        for _ in range(REPS):
            t, z = await op(N)
            timings.append(t)
        # Correctness spot check on the last run: reveal the first 8 results.
        result = [int(v) for v in await mpc.output(z[:8])]
    elif W in ('meanvar', 'groupsum'):
        raw = np.fromfile(DATA, dtype='<i8') if pid == 0 else None
        if pid == 0 and raw.size != 2 * N:
            raise SystemExit(f'{DATA}: expected {2 * N} int64 values, found {raw.size}')

        if W == 'meanvar':
            secint = mpc.SecInt(64)
            xs = np.array(raw[:N].tolist(), dtype=object) if pid == 0 else np.zeros(N, dtype=object)
            x = mpc.input(secint.array(xs), senders=0)
            key = None
            await mpc.gather(x)

            async def op(x, key):
                await sync()
                t0 = time.perf_counter()
                n = x.shape[0]
                s = mpc.np_sum(x)
                q = x @ x  # one inner product: one resharing
                s, q = await mpc.output([s, q])
                mean = int(s) / n
                return time.perf_counter() - t0, [mean, int(q) / n - mean * mean]
        else:
            secint = mpc.SecInt(32)  # x < 1000, key < 10, each group sum < 2^32 for n <= 2^22
            xs = np.array(raw[:N].tolist(), dtype=object) if pid == 0 else np.zeros(N, dtype=object)
            ks = np.array(raw[N:].tolist(), dtype=object) if pid == 0 else np.zeros(N, dtype=object)
            x = mpc.input(secint.array(xs), senders=0)
            key = mpc.input(secint.array(ks), senders=0)
            await mpc.gather(x, key)
            C = lagrange(secint.field.order, GROUPS)

            async def op(x, key):
                await sync()
                t0 = time.perf_counter()
                if VARIANT == 'eq':
                    # MPyC's own secure equality: 10 x n tests (broadcast against a public column).
                    e = key == np.arange(GROUPS).reshape(GROUPS, 1)
                    sums = e @ x
                else:
                    # One-hot of the key through Lagrange polynomials over the prime field:
                    # sum_g = sum_j C[g][j] * T_j, T_j = sum_i key_i^j * x_i; key powers by a
                    # depth-4 product tree (8 vector products), T_0..T_9 in one matrix product.
                    k2 = key * key
                    k3, k4 = k2 * key, k2 * k2
                    k5, k6, k7, k8 = k4 * key, k4 * k2, k4 * k3, k4 * k4
                    k9 = k8 * key
                    ones = secint.array(np.ones(key.shape[0], dtype=object))  # public: no communication
                    P = np.vstack([ones, key, k2, k3, k4, k5, k6, k7, k8, k9])  # 10 x n
                    T = P @ x  # 10 inner products, one resharing
                    sums = secint.field.array(C) @ T  # public 10 x 10 matrix: local
                out = await mpc.output(sums)
                return time.perf_counter() - t0, [int(v) for v in out]

        await op(x[:WARM], None if key is None else key[:WARM])
        for _ in range(REPS):
            t, result = await op(x, key)
            timings.append(t)
    else:
        raise SystemExit(f'unknown workload {W}')
    await mpc.shutdown()
    info = {
        'party': pid, 'workload': W, 'n': N, 'seconds': timings, 'result': result,
        'mpyc': mpyc.__version__, 'gmpy2': mpyc.gmpy.version(),
        'numpy': np.__version__, 'python': sys.version.split()[0], 'threshold': mpc.threshold,
        'ssl': bool(mpc.options.ssl),
    }
    print('RESULT ' + json.dumps(info), flush=True)


if __name__ == '__main__':
    mpc.run(main())
