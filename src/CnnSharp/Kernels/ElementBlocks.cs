using System.Numerics;
using System.Runtime.InteropServices;

namespace CnnSharp.Kernels;

/// <summary>
/// Splits an element-wise pass over [0, length) into fixed blocks of <see cref="Size"/> elements and runs the blocks on the
/// worker threads (the eager path's element-wise ops and their backward).
/// </summary>
/// <remarks>
/// <para>The blocks depend only on the length, never on <see cref="Parallelism.MaxThreads"/>: block b is
/// [b·Size, (b + 1)·Size), the last block absorbs the remainder (so no block is shorter than Size), and the body is called
/// once per block whichever thread runs it. Every element therefore goes through the same kernel call, at the same
/// position in it, for any thread count, so results are bit-identical (vector width and tail handling included).</para>
/// <para>Why 16 K floats (64 KB per operand): a ReLU over 16 K floats takes a few microseconds, several times the pool's
/// ~0.5 µs hand-off, and two blocks already balance two cores. A length below 2·Size is one block run inline on the
/// caller, so small tensors never touch the pool.</para>
/// </remarks>
internal static class ElementBlocks
{
    /// <summary>Elements per block (the last block may be longer, up to 2·Size − 1).</summary>
    public const int Size = 1 << 14;

    /// <summary>Number of blocks for <paramref name="length"/> elements (at least 1).</summary>
    public static int Count(int length) => Math.Max(1, length / Size);

    /// <summary>Element range [Start, End) of block <paramref name="block"/> out of <paramref name="blocks"/>.</summary>
    public static (int Start, int End) Bounds(int block, int blocks, int length) =>
        (block * Size, block == blocks - 1 ? length : (block + 1) * Size);

    /// <summary>Calls <paramref name="body"/>(start, end) once per block of [0, <paramref name="length"/>), in parallel when there are two or more blocks.</summary>
    public static void For(int length, Action<int, int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (length <= 0) return;
        int blocks = Count(length);
        if (blocks == 1)
        {
            body(0, length);
            return;
        }
        Parallelism.For(blocks, (b0, b1) =>
        {
            for (int b = b0; b < b1; b++)
            {
                var (start, end) = Bounds(b, blocks, length);
                body(start, end);
            }
        });
    }

    /// <summary>A kernel <c>y = f(x)</c> over one block.</summary>
    public delegate void UnaryKernel(ReadOnlySpan<float> input, Span<float> output);

    /// <summary>A backward kernel <c>gradInput += f(saved, gradOutput)</c> over one block (saved: the op's input or output).</summary>
    public delegate void GradientKernel(ReadOnlySpan<float> saved, ReadOnlySpan<float> gradOutput, Span<float> gradInput);

    /// <summary>Runs <paramref name="kernel"/> block by block over equal-length <paramref name="input"/> and <paramref name="output"/>.</summary>
    public static void Map(float[] input, float[] output, UnaryKernel kernel)
    {
        CheckLengths(input.Length, output.Length);
        For(output.Length, (s, e) => kernel(input.AsSpan(s, e - s), output.AsSpan(s, e - s)));
    }

    /// <summary>Runs <paramref name="kernel"/> block by block over equal-length arrays.</summary>
    public static void MapGradient(float[] saved, float[] gradOutput, float[] gradInput, GradientKernel kernel)
    {
        CheckLengths(saved.Length, gradInput.Length);
        CheckLengths(gradOutput.Length, gradInput.Length);
        For(gradInput.Length, (s, e) => kernel(saved.AsSpan(s, e - s), gradOutput.AsSpan(s, e - s), gradInput.AsSpan(s, e - s)));
    }

    private static void CheckLengths(int a, int b)
    {
        if (a != b) throw new ArgumentException($"ElementBlocks: operands of {a} and {b} values");
    }

    /// <summary>Zero-fills <paramref name="buffer"/> (in parallel when large).</summary>
    public static void Clear(float[] buffer) => For(buffer.Length, (s, e) => buffer.AsSpan(s, e - s).Clear());

    /// <summary><c>destination += source</c> element-wise (in parallel when large).</summary>
    public static void Accumulate(float[] destination, float[] source)
    {
        if (destination.Length != source.Length)
            throw new ArgumentException($"ElementBlocks.Accumulate: {source.Length} values added into {destination.Length}", nameof(source));
        For(destination.Length, (s, e) =>
        {
            var d = destination.AsSpan(s, e - s);
            System.Numerics.Tensors.TensorPrimitives.Add(d, source.AsSpan(s, e - s), d);
        });
    }

    /// <summary>
    /// Sum of <paramref name="values"/> whose rounding depends only on the values and their count: lane j of the vector
    /// accumulators takes the elements at index ≡ j (mod lane count) from the span's start, the lanes are added in order,
    /// then the scalar tail. (TensorPrimitives.Sum aligns to the buffer's address, so its bits depend on where the data lie.)
    /// </summary>
    public static float Sum(ReadOnlySpan<float> values)
    {
        float total = 0f;
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= 2 * Vector<float>.Count)
        {
            var v = MemoryMarshal.Cast<float, Vector<float>>(values);
            Vector<float> acc0 = Vector<float>.Zero, acc1 = Vector<float>.Zero;
            int k = 0;
            for (; k + 1 < v.Length; k += 2)
            {
                acc0 += v[k];
                acc1 += v[k + 1];
            }
            if (k < v.Length) acc0 += v[k];
            var acc = acc0 + acc1;
            for (int lane = 0; lane < Vector<float>.Count; lane++) total += acc[lane];
            i = v.Length * Vector<float>.Count;
        }
        for (; i < values.Length; i++) total += values[i];
        return total;
    }
}
