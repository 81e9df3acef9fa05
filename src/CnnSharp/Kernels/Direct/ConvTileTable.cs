using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels.Direct;

/// <summary>
/// Function pointers to the <see cref="ConvTiles"/> instantiations a plan needs, chosen at plan time from runtime tile
/// sizes (each switch arm names one generic instantiation; only the ones used are ever compiled).
/// </summary>
internal static unsafe class ConvTileTable
{
    /// <summary>Weight-gradient tile for <paramref name="path"/> with <paramref name="rh"/> x <paramref name="rw"/> rows (rh 1..7, rw 1..16, product at most 28), <paramref name="nv"/> vectors and pixel stride <paramref name="s"/>.</summary>
    public static delegate*<float*, nint, float*, nint, int, int, nint, nint, float*, nint, nint, int, nint, nint, void> WeightGrad(IsaLevel path, int rh, int rw, int nv, int s) => path switch
    {
        IsaLevel.V512 => Table<V512Ops, Vector512<float>>.WeightGrad(rh, rw, nv, s),
        IsaLevel.V256 => Table<V256Ops, Vector256<float>>.WeightGrad(rh, rw, nv, s),
        IsaLevel.V128 => Table<V128Ops, Vector128<float>>.WeightGrad(rh, rw, nv, s),
        _ => Table<ScalarOps, float>.WeightGrad(rh, rw, nv, s),
    };

    /// <summary>Forward tile (<see cref="ConvTiles.Forward{TOps, TV, TR, TC, TNV, TS}"/>) for <paramref name="path"/> with <paramref name="rows"/> (1..7) rows of <paramref name="cols"/> (1..28) pixels, at most 28 accumulators, <paramref name="nv"/> vectors (1, 2) and pixel stride <paramref name="s"/> (1, 16).</summary>
    public static delegate*<float*, float*, float*, float*, nint, int, nint, nint, int, int*, float*, float*, bool, nint, void> Forward(IsaLevel path, int rows, int cols, int nv, int s) => path switch
    {
        IsaLevel.V512 => Table<V512Ops, Vector512<float>>.Forward(rows, cols, nv, s),
        IsaLevel.V256 => Table<V256Ops, Vector256<float>>.Forward(rows, cols, nv, s),
        IsaLevel.V128 => Table<V128Ops, Vector128<float>>.Forward(rows, cols, nv, s),
        _ => Table<ScalarOps, float>.Forward(rows, cols, nv, s),
    };

    private static class Table<TOps, TV> where TOps : struct, IVecOps<TV> where TV : struct
    {
        public static delegate*<float*, float*, float*, float*, nint, int, nint, nint, int, int*, float*, float*, bool, nint, void> Forward(int rows, int cols, int nv, int s)
        {
            if ((uint)(nv - 1) > 1 || (s != 1 && s != 16) || rows < 1 || rows > 7 || cols < 1 || cols > 28 || rows * cols * nv > 28)
                throw new ArgumentOutOfRangeException(nameof(rows), $"no forward tile with {rows}x{cols} pixels, {nv} vectors, stride {s}");
            switch (rows)
            {
                case 1: return Fb<C1>(cols, nv, s);
                case 2: return Fb<C2>(cols, nv, s);
                case 3: return Fb<C3>(cols, nv, s);
                case 4: return Fb<C4>(cols, nv, s);
                case 5: return Fb<C5>(cols, nv, s);
                case 6: return Fb<C6>(cols, nv, s);
                case 7: return Fb<C7>(cols, nv, s);
                default: throw new ArgumentOutOfRangeException(nameof(rows));
            }
        }

        private static delegate*<float*, float*, float*, float*, nint, int, nint, nint, int, int*, float*, float*, bool, nint, void> Fb<TR>(int cols, int nv, int s) where TR : struct, IConst
        {
            switch (cols)
            {
                case 1: return Fb<TR, C1>(nv, s);
                case 2: return Fb<TR, C2>(nv, s);
                case 3: return Fb<TR, C3>(nv, s);
                case 4: return Fb<TR, C4>(nv, s);
                case 5: return Fb<TR, C5>(nv, s);
                case 6: return Fb<TR, C6>(nv, s);
                case 7: return Fb<TR, C7>(nv, s);
                case 8: return Fb<TR, C8>(nv, s);
                case 9: return Fb<TR, C9>(nv, s);
                case 10: return Fb<TR, C10>(nv, s);
                case 11: return Fb<TR, C11>(nv, s);
                case 12: return Fb<TR, C12>(nv, s);
                case 13: return Fb<TR, C13>(nv, s);
                case 14: return Fb<TR, C14>(nv, s);
                case 15: return Fb<TR, C15>(nv, s);
                case 16: return Fb<TR, C16>(nv, s);
                case 17: return Fb<TR, C17>(nv, s);
                case 18: return Fb<TR, C18>(nv, s);
                case 19: return Fb<TR, C19>(nv, s);
                case 20: return Fb<TR, C20>(nv, s);
                case 21: return Fb<TR, C21>(nv, s);
                case 22: return Fb<TR, C22>(nv, s);
                case 23: return Fb<TR, C23>(nv, s);
                case 24: return Fb<TR, C24>(nv, s);
                case 25: return Fb<TR, C25>(nv, s);
                case 26: return Fb<TR, C26>(nv, s);
                case 27: return Fb<TR, C27>(nv, s);
                case 28: return Fb<TR, C28>(nv, s);
                default: throw new ArgumentOutOfRangeException(nameof(cols));
            }
        }

        private static delegate*<float*, float*, float*, float*, nint, int, nint, nint, int, int*, float*, float*, bool, nint, void> Fb<TR, TC>(int nv, int s) where TR : struct, IConst where TC : struct, IConst
        {
            if (nv == 1) return s == 1 ? &ConvTiles.Forward<TOps, TV, TR, TC, C1, C1> : &ConvTiles.Forward<TOps, TV, TR, TC, C1, C16>;
            return s == 1 ? &ConvTiles.Forward<TOps, TV, TR, TC, C2, C1> : &ConvTiles.Forward<TOps, TV, TR, TC, C2, C16>;
        }

        public static delegate*<float*, nint, float*, nint, int, int, nint, nint, float*, nint, nint, int, nint, nint, void> WeightGrad(int rh, int rw, int nv, int s)
        {
            if ((uint)(nv - 1) > 1 || (s != 1 && s != 16) || rh < 1 || rh > 7 || rw < 1 || rw > 16 || rh * rw * nv > 28 || (nv == 2 && rh * rw > 14))
                throw new ArgumentOutOfRangeException(nameof(rw), $"no weight-gradient tile with {rh}x{rw} rows, {nv} vectors, stride {s}");
            switch (rh)
            {
                case 1: return Wg<C1>(rw, nv, s);
                case 2: return Wg<C2>(rw, nv, s);
                case 3: return Wg<C3>(rw, nv, s);
                case 4: return Wg<C4>(rw, nv, s);
                case 5: return Wg<C5>(rw, nv, s);
                case 6: return Wg<C6>(rw, nv, s);
                case 7: return Wg<C7>(rw, nv, s);
                default: throw new ArgumentOutOfRangeException(nameof(rh));
            }
        }

        private static delegate*<float*, nint, float*, nint, int, int, nint, nint, float*, nint, nint, int, nint, nint, void> Wg<TRH>(int rw, int nv, int s) where TRH : struct, IConst
        {
            switch (rw)
            {
                case 1: return Wg<TRH, C1>(nv, s);
                case 2: return Wg<TRH, C2>(nv, s);
                case 3: return Wg<TRH, C3>(nv, s);
                case 4: return Wg<TRH, C4>(nv, s);
                case 5: return Wg<TRH, C5>(nv, s);
                case 6: return Wg<TRH, C6>(nv, s);
                case 7: return Wg<TRH, C7>(nv, s);
                case 8: return Wg<TRH, C8>(nv, s);
                case 9: return Wg<TRH, C9>(nv, s);
                case 10: return Wg<TRH, C10>(nv, s);
                case 11: return Wg<TRH, C11>(nv, s);
                case 12: return Wg<TRH, C12>(nv, s);
                case 13: return Wg<TRH, C13>(nv, s);
                case 14: return Wg<TRH, C14>(nv, s);
                case 15: return Wg<TRH, C15>(nv, s);
                case 16: return Wg<TRH, C16>(nv, s);
                default: throw new ArgumentOutOfRangeException(nameof(rw));
            }
        }

        private static delegate*<float*, nint, float*, nint, int, int, nint, nint, float*, nint, nint, int, nint, nint, void> Wg<TRH, TRW>(int nv, int s) where TRH : struct, IConst where TRW : struct, IConst
        {
            if (nv == 1) return s == 1 ? &ConvTiles.WeightGrad<TOps, TV, TRH, TRW, C1, C1> : &ConvTiles.WeightGrad<TOps, TV, TRH, TRW, C1, C16>;
            return s == 1 ? &ConvTiles.WeightGrad<TOps, TV, TRH, TRW, C2, C1> : &ConvTiles.WeightGrad<TOps, TV, TRH, TRW, C2, C16>;
        }
    }
}
