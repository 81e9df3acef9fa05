#!/usr/bin/env python3
"""Derives and verifies the Winograd F(2x2, 5x5) and F(4x4, 3x3) transform matrices used by
src/CnnSharp/Kernels/Direct/WinogradConv2d.cs and WinogradTiles.cs, in exact rational arithmetic.

Toom-Cook construction (Lavin & Gray 2015, "Fast Algorithms for Convolutional Neural Networks", section 4),
interpolation points 0, 1, -1, 2, -2 and infinity (n = m + r - 1 = 6 points for both (m, r) = (2, 5) and (4, 3)):

  * Linear convolution c = g * h (g of length r, h of length m) is c = V_n^{-1} [(V_r g) . (V_m h)], where V_k is
    the n x k evaluation matrix (row i = [a_i^0 .. a_i^(k-1)], the infinity row = [0 .. 0 1]) and V_n^{-1}
    interpolates the product polynomial from its n values.
  * Correlation (what a convolution layer computes) is its transpose:
        y = V_m^T [(V_r g) . (V_n^{-T} d)],  so  A^T = V_m^T,  G = V_r,  B^T = V_n^{-T}.
  * A diagonal D can move between G and B^T (G' = D G, B^T' = D^{-1} B^T) without changing the product. We pick D so
    that B^T has the smallest integer entries: then the input transform, which runs in float on every tile, only
    adds small integer multiples (exact for the products, one rounding per add), and every fraction sits in G,
    which the weight transform applies in double precision once per step before rounding U to float once.

Both variants share the points and hence B^T (same n, same D): the kernels run one input transform for both; G
differs only in how many coefficients of the filter polynomial it evaluates, and A^T in how many output powers it keeps.

Run: python3 tests/reference/derive_winograd.py   (prints the matrices and checks them; exit code 0 = ok)
"""
from fractions import Fraction as F
from math import lcm
import random
import sys

POINTS = [F(0), F(1), F(-1), F(2), F(-2)]  # plus infinity


def derive(M, R, rng):
    """Builds A^T, G, B^T for F(M, R), checks them exactly and prints them."""
    N = M + R - 1

    def vander(k):
        """n x k evaluation matrix at the finite points, then the infinity row (leading coefficient)."""
        rows = [[p ** j for j in range(k)] for p in POINTS]
        rows.append([F(0)] * (k - 1) + [F(1)])
        return rows

    def transpose(a):
        return [list(r) for r in zip(*a)]

    def matmul(a, b):
        return [[sum(a[i][t] * b[t][j] for t in range(len(b))) for j in range(len(b[0]))] for i in range(len(a))]

    def inverse(a):
        n = len(a)
        aug = [list(r) + [F(int(i == j)) for j in range(n)] for i, r in enumerate(a)]
        for c in range(n):
            p = next(r for r in range(c, n) if aug[r][c] != 0)
            aug[c], aug[p] = aug[p], aug[c]
            piv = aug[c][c]
            aug[c] = [v / piv for v in aug[c]]
            for r in range(n):
                if r != c and aug[r][c] != 0:
                    f = aug[r][c]
                    aug[r] = [x - f * y for x, y in zip(aug[r], aug[c])]
        return [r[n:] for r in aug]

    AT = transpose(vander(M))                 # 2 x 6
    G = vander(R)                             # 6 x 5
    BT = transpose(inverse(vander(N)))        # 6 x 6

    # Scale row i of B^T by s_i (and row i of G by 1/s_i) so that B^T is integral with coprime entries, sign chosen so
    # the first non-zero entry is positive.
    for i in range(N):
        den = lcm(*[v.denominator for v in BT[i]])
        s = F(den)
        first = next(v for v in BT[i] if v != 0)
        if first * s < 0:
            s = -s
        BT[i] = [v * s for v in BT[i]]
        G[i] = [v / s for v in G[i]]

    def correlate_1d(d, g):
        return [sum(d[i + j] * g[j] for j in range(R)) for i in range(M)]

    def winograd_1d(d, g):
        u = [sum(G[i][j] * g[j] for j in range(R)) for i in range(N)]
        v = [sum(BT[i][j] * d[j] for j in range(N)) for i in range(N)]
        return [sum(AT[k][i] * u[i] * v[i] for i in range(N)) for k in range(M)]

    def winograd_2d(d, g):
        u = matmul(matmul(G, g), transpose(G))
        v = matmul(matmul(BT, d), transpose(BT))
        w = [[u[i][j] * v[i][j] for j in range(N)] for i in range(N)]
        return matmul(matmul(AT, w), transpose(AT))

    def correlate_2d(d, g):
        return [[sum(d[y + i][x + j] * g[i][j] for i in range(R) for j in range(R)) for x in range(M)] for y in range(M)]

    def rand_rat(rng):
        return F(rng.randint(-1000, 1000), rng.randint(1, 97))

    for _ in range(200):
        d = [rand_rat(rng) for _ in range(N)]
        g = [rand_rat(rng) for _ in range(R)]
        assert winograd_1d(d, g) == correlate_1d(d, g), f"F({M}, {R}): 1-D identity failed"
    for _ in range(30):
        d = [[rand_rat(rng) for _ in range(N)] for _ in range(N)]
        g = [[rand_rat(rng) for _ in range(R)] for _ in range(R)]
        assert winograd_2d(d, g) == correlate_2d(d, g), f"F({M}, {R}): 2-D identity failed"
    # Exactness on basis vectors too (the identity is bilinear, so this is a proof, not a sample).
    for a in range(N):
        for b in range(R):
            d = [F(int(i == a)) for i in range(N)]
            g = [F(int(j == b)) for j in range(R)]
            assert winograd_1d(d, g) == correlate_1d(d, g), f"F({M}, {R}): basis identity failed"

    def show(name, a):
        print(f"{name} ({len(a)}x{len(a[0])}):")
        for r in a:
            print("  [" + ", ".join(f"{str(v):>6}" for v in r) + "]")

    print(f"F({M}x{M}, {R}x{R}):")
    show("A^T", AT)
    show("G", G)
    show("B^T", BT)
    print(f"verified F({M}, {R}): A^T [(G g) . (B^T d)] == correlation, exactly (1-D on a basis, 1-D and 2-D on random rationals)")
    return AT, G, BT


def main():
    rng = random.Random(2015)
    _, g5, bt5 = derive(2, 5, rng)
    at3, g3, bt3 = derive(4, 3, rng)
    # One input transform serves both kernels: the same B^T.
    assert bt5 == bt3, "B^T differs between F(2, 5) and F(4, 3)"
    # G of F(4, 3) is G of F(2, 5) evaluating a 3-coefficient polynomial: same row scales, leading coefficient last.
    for i in range(5):
        assert g3[i] == g5[i][:3], f"G row {i}: F(4, 3) is not the truncated F(2, 5) row"
    assert g3[5] == [F(0), F(0), F(1)]
    print("verified: both variants share B^T; G(4, 3) row i = first 3 entries of G(2, 5) row i (i < 5), last row picks g2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
